"""AiohttpTransport: httpx semantics over aiohttp, against real loopback servers.

Two kinds of server: the emulator on a loopback port (the API as the session
uses it), and a small scripted asyncio server started by each test for what
the emulator cannot do on purpose (exact header bytes, gzip, odd status
lines). Both run on 127.0.0.1 and stop by themselves. The transport is
asyncio-only, so these tests run under asyncio only.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

import ci_async
from ci_async import AiohttpTransport
from ci_async.testing import Emulator, EmulatorServer

pytest.importorskip("aiohttp", reason="aiohttp is not installed")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Serve = Callable[[Handler], Awaitable[str]]


@pytest.fixture(name="anyio_backend")
def fixture_anyio_backend() -> str:
    """The transport is built on aiohttp, which runs on asyncio only."""
    return "asyncio"


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An emulator with a few jobs that accepts unsigned requests (the transport is under test)."""
    emulator = Emulator(verify_signatures=False, seed=3)
    emulator.generate(30)
    return emulator


@pytest.fixture(name="server")
async def fixture_server(emulator: Emulator) -> AsyncIterator[EmulatorServer]:
    """The emulator on a loopback port."""
    async with emulator.serve() as server:
        yield server


@pytest.fixture(name="transport")
async def fixture_transport() -> AsyncIterator[AiohttpTransport]:
    """A transport, closed after the test."""
    transport = AiohttpTransport(max_connections=64)
    yield transport
    await transport.aclose()


@pytest.fixture(name="client")
async def fixture_client(transport: AiohttpTransport) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client over the transport."""
    async with httpx.AsyncClient(transport=transport, timeout=5.0) as client:
        yield client


@pytest.fixture(name="serve")
async def fixture_serve() -> AsyncIterator[Serve]:
    """Start scripted loopback servers; each handler serves one connection."""
    servers: list[asyncio.Server] = []

    async def serve(handler: Handler) -> str:
        async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handler(reader, writer)
            except ConnectionError:
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(guarded, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield serve
    for server in servers:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[list[bytes], bytes] | None:
    """One request from ``reader``: its head lines and body (``None`` at end of stream)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head[:-4].split(b"\r\n")
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return lines, await reader.readexactly(length)
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return lines, body
        body += chunk[:-2]


def answer(status: bytes, body: bytes, *headers: bytes) -> bytes:
    """A complete HTTP/1.1 response with Content-Length."""
    head = [b"HTTP/1.1 " + status, b"Content-Length: " + str(len(body)).encode(), *headers]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def echo_handler(status: bytes = b"200 OK", *extra: bytes) -> Handler:
    """A keep-alive server that answers every request with its own head and body."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            lines, body = request
            writer.write(answer(status, b"\n".join(lines) + b"\n\n" + body, *extra))
            await writer.drain()

    return handler


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- requests and responses ------------------------------------------------------------


@pytest.mark.anyio
async def test_get_returns_the_emulator_answer(
    client: httpx.AsyncClient, server: EmulatorServer, emulator: Emulator
) -> None:
    """A GET describe comes back 200 with the job's XML."""
    job_id = emulator.jobs[0].job_id

    response = await client.get(f"{server.url}/inventorytriggerjob/{job_id}")

    assert 200 == response.status_code
    assert f"<JobId>{job_id}</JobId>".encode() in response.content


@pytest.mark.anyio
async def test_query_string_reaches_the_server_unchanged(
    client: httpx.AsyncClient, server: EmulatorServer, emulator: Emulator
) -> None:
    """Query parameters, percent-encoded ones included, arrive as sent."""
    params: list[tuple[str, str | int | float | bool | None]]
    params = [("size", "7"), ("states", "Running,Failed"), ("name", "a b+c/ü")]

    await client.get(f"{server.url}/inventorytriggerjob", params=params)

    assert tuple(params) == emulator.requests[-1].query


@pytest.mark.anyio
async def test_post_sends_the_body(
    client: httpx.AsyncClient, server: EmulatorServer, emulator: Emulator
) -> None:
    """A POST body arrives byte for byte (the emulator creates the job it describes)."""
    body = (
        b"<Request><Name>from-transport</Name><Type>Job</Type>"
        b"<Input><Prefix>in/</Prefix></Input><Operation><Tag>Transcode</Tag>"
        b"<JobParam><TemplateId>t1abc</TemplateId></JobParam></Operation></Request>"
    )

    response = await client.post(
        f"{server.url}/inventorytriggerjob",
        content=body,
        headers={"Content-Type": "application/xml"},
    )

    assert (200, body) == (response.status_code, emulator.requests[-1].body)


@pytest.mark.anyio
async def test_put_with_a_value_less_parameter(
    client: httpx.AsyncClient, server: EmulatorServer, emulator: Emulator
) -> None:
    """PUT ``?cancel`` (no value, no body) reaches the server as the cancel call."""
    job_id = emulator.add_job(name="to-cancel").job_id

    response = await client.put(f"{server.url}/inventorytriggerjob/{job_id}?cancel")

    assert (200, (("cancel", ""),)) == (response.status_code, emulator.requests[-1].query)


@pytest.mark.anyio
async def test_error_status_is_a_response_not_an_exception(
    client: httpx.AsyncClient, server: EmulatorServer, emulator: Emulator
) -> None:
    """A 503 answer is returned as a response, body and all."""
    emulator.faults.fail_next(1, status=503)

    response = await client.get(f"{server.url}/inventorytriggerjob")

    assert (503, True) == (response.status_code, response.content.startswith(b"<"))


@pytest.mark.anyio
async def test_request_headers_are_sent_as_given(serve: Serve, client: httpx.AsyncClient) -> None:
    """Header names keep their case and order; aiohttp adds none of its own."""
    url = await serve(echo_handler())

    response = await client.get(
        url + "/x", headers={"X-Ci-Trace": "abc", "authorization": "q-sign-algorithm=sha1"}
    )

    sent = response.content.split(b"\n\n")[0].split(b"\n")[1:]
    defaults = [name + b": " + value for name, value in client.headers.raw]
    assert [
        b"Host: " + url.removeprefix("http://").encode(),
        *defaults,
        b"X-Ci-Trace: abc",
        b"authorization: q-sign-algorithm=sha1",
    ] == sent


@pytest.mark.anyio
async def test_a_post_without_content_type_gets_none(
    serve: Serve, client: httpx.AsyncClient
) -> None:
    """No automatic ``Content-Type: application/octet-stream`` from aiohttp."""
    url = await serve(echo_handler())

    response = await client.post(url + "/x", content=b"abc")

    assert b"content-type" not in response.content.lower()


@pytest.mark.anyio
async def test_a_streamed_body_is_sent_whole(serve: Serve, client: httpx.AsyncClient) -> None:
    """A request body of unknown length is sent (chunked) and arrives complete."""
    url = await serve(echo_handler())

    async def parts() -> AsyncIterator[bytes]:
        for part in (b"<Request>", b"x" * 70_000, b"</Request>"):
            yield part

    response = await client.post(url + "/x", content=parts())

    assert response.content.endswith(b"\n\n<Request>" + b"x" * 70_000 + b"</Request>")


@pytest.mark.anyio
async def test_response_headers_pass_through(serve: Serve, client: httpx.AsyncClient) -> None:
    """Response headers arrive with their original names, repeats included."""
    url = await serve(
        echo_handler(b"200 OK", b"X-Ci-Request-Id: r1", b"Set-Thing: a", b"Set-Thing: b")
    )

    response = await client.get(url + "/x")

    assert [(b"X-Ci-Request-Id", b"r1"), (b"Set-Thing", b"a"), (b"Set-Thing", b"b")] == [
        (name, value) for name, value in response.headers.raw if name != b"Content-Length"
    ]


@pytest.mark.anyio
async def test_status_and_reason_pass_through(serve: Serve, client: httpx.AsyncClient) -> None:
    """An unusual status code and reason phrase reach httpx as sent."""
    url = await serve(echo_handler(b"429 Slow Down Please", b"Retry-After: 3"))

    response = await client.get(url + "/x")

    assert (429, "Slow Down Please", "3") == (
        response.status_code,
        response.reason_phrase,
        response.headers["retry-after"],
    )


@pytest.mark.anyio
async def test_gzip_is_decoded_by_httpx_once(serve: Serve, transport: AiohttpTransport) -> None:
    """The transport hands over the compressed bytes; httpx decodes them."""
    payload = b"<Response>" + b"z" * 1000 + b"</Response>"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"200 OK", gzip.compress(payload), b"Content-Encoding: gzip"))
        await writer.drain()

    url = await serve(handler)
    raw = await transport.handle_async_request(httpx.Request("GET", url + "/x"))
    compressed = b"".join([part async for part in raw.stream])  # type: ignore[union-attr]
    await raw.aclose()

    assert payload == gzip.decompress(compressed)


@pytest.mark.anyio
async def test_gzip_response_reads_decoded(serve: Serve, client: httpx.AsyncClient) -> None:
    """Through httpx's client the caller sees the decoded body."""
    payload = b"<Response>" + b"z" * 1000 + b"</Response>"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"200 OK", gzip.compress(payload), b"Content-Encoding: gzip"))
        await writer.drain()

    url = await serve(handler)

    response = await client.get(url + "/x")

    assert payload == response.content


@pytest.mark.anyio
async def test_a_large_body_streams_in_pieces(serve: Serve, client: httpx.AsyncClient) -> None:
    """``client.stream`` yields a multi-megabyte body in several chunks, all bytes intact."""
    body = bytes(range(256)) * 16_384  # 4 MiB

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"200 OK", body))
        await writer.drain()

    url = await serve(handler)
    async with client.stream("GET", url + "/x") as response:
        chunks = [chunk async for chunk in response.aiter_raw()]

    assert (True, body) == (len(chunks) > 1, b"".join(chunks))


@pytest.mark.anyio
async def test_a_closed_response_frees_its_slot(
    client: httpx.AsyncClient, server: EmulatorServer
) -> None:
    """Responses closed unread give their connection slot back (no PoolTimeout later)."""
    async with httpx.AsyncClient(
        transport=AiohttpTransport(max_connections=1), timeout=httpx.Timeout(5.0, pool=0.5)
    ) as single:
        for _ in range(3):
            async with single.stream("GET", f"{server.url}/inventorytriggerjob"):
                pass
        response = await single.get(f"{server.url}/inventorytriggerjob")

    assert 200 == response.status_code


@pytest.mark.anyio
async def test_utf8_header_bytes_are_sent_unchanged(
    serve: Serve, client: httpx.AsyncClient
) -> None:
    """A header value given as UTF-8 bytes arrives as the same bytes."""
    url = await serve(echo_handler())

    response = await client.get(url + "/x", headers={b"x-ci-name": "任务".encode()})

    assert "x-ci-name: 任务".encode() in response.content


@pytest.mark.anyio
async def test_non_utf8_header_bytes_do_not_break_the_request(
    serve: Serve, client: httpx.AsyncClient
) -> None:
    """A Latin-1 header value (not UTF-8) is still sent, as its characters."""
    url = await serve(echo_handler())

    response = await client.get(url + "/x", headers={b"x-ci-name": "café".encode("latin-1")})

    assert "x-ci-name: café".encode() in response.content


@pytest.mark.anyio
async def test_many_distinct_timeouts(serve: Serve, client: httpx.AsyncClient) -> None:
    """Requests with ever-changing timeouts all go through (the timeout cache stays bounded)."""
    url = await serve(echo_handler())

    statuses = {
        (await client.get(url + "/x", timeout=httpx.Timeout(5.0 + i / 100))).status_code
        for i in range(40)
    }

    assert {200} == statuses


# --- errors ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_connection_refused_is_connect_error(client: httpx.AsyncClient) -> None:
    """Nothing listening: httpx.ConnectError."""
    with pytest.raises(httpx.ConnectError):
        await client.get(f"http://127.0.0.1:{free_port()}/x")


@pytest.mark.anyio
async def test_no_answer_in_time_is_read_timeout(
    server: EmulatorServer, emulator: Emulator, transport: AiohttpTransport
) -> None:
    """A server that never answers: httpx.ReadTimeout after the read timeout."""
    emulator.faults.hang_next(1)

    async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0, read=0.2)) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get(f"{server.url}/inventorytriggerjob")


@pytest.mark.anyio
async def test_a_stalled_body_is_read_timeout(serve: Serve, transport: AiohttpTransport) -> None:
    """Headers then silence: reading the body times out as httpx.ReadTimeout."""
    done = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await writer.drain()
        await done.wait()

    url = await serve(handler)
    async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0, read=0.2)) as c:
        try:
            with pytest.raises(httpx.ReadTimeout):
                await c.get(url + "/x")
        finally:
            done.set()


@pytest.mark.anyio
async def test_a_dropped_connection_is_remote_protocol_error(
    client: httpx.AsyncClient, server: EmulatorServer, emulator: Emulator
) -> None:
    """The server closes without answering: httpx.RemoteProtocolError."""
    emulator.faults.drop_next(1)

    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(f"{server.url}/inventorytriggerjob")


@pytest.mark.anyio
async def test_a_dropped_request_is_not_retried_by_aiohttp(
    client: httpx.AsyncClient, server: EmulatorServer, emulator: Emulator
) -> None:
    """A failed GET reached the server once: retrying is the caller's decision alone."""
    emulator.faults.drop_next(1)

    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(f"{server.url}/inventorytriggerjob")

    assert 1 == len(emulator.requests)


@pytest.mark.anyio
async def test_a_body_cut_short_is_remote_protocol_error(
    client: httpx.AsyncClient, server: EmulatorServer, emulator: Emulator
) -> None:
    """The server aborts mid-body: httpx.RemoteProtocolError (an incomplete message)."""
    emulator.faults.reset_next(1)

    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await client.get(f"{server.url}/inventorytriggerjob")


@pytest.mark.anyio
async def test_a_closed_connection_mid_body_is_remote_protocol_error(
    serve: Serve, client: httpx.AsyncClient
) -> None:
    """Fewer bytes than Content-Length, then EOF: httpx.RemoteProtocolError."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<Response>")
        await writer.drain()

    url = await serve(handler)

    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(url + "/x")


@pytest.mark.anyio
async def test_a_garbled_status_line_is_remote_protocol_error(
    serve: Serve, client: httpx.AsyncClient
) -> None:
    """Something that is not HTTP: httpx.RemoteProtocolError."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()

    url = await serve(handler)

    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(url + "/x")


@pytest.mark.anyio
async def test_waiting_too_long_for_a_connection_is_pool_timeout(
    server: EmulatorServer,
) -> None:
    """All connections busy past the pool timeout: httpx.PoolTimeout."""
    timeout = httpx.Timeout(5.0, pool=0.05)
    async with (
        httpx.AsyncClient(transport=AiohttpTransport(max_connections=1), timeout=timeout) as client,
        client.stream("GET", f"{server.url}/inventorytriggerjob"),
    ):
        with pytest.raises(httpx.PoolTimeout):
            await client.get(f"{server.url}/inventorytriggerjob")


@pytest.mark.anyio
async def test_timeouts_do_not_leak_the_pool_slot(serve: Serve) -> None:
    """After a request times out, the single connection slot is free again."""
    calls = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        while (await read_request(reader)) is not None:
            calls += 1
            if calls > 1:
                writer.write(answer(b"200 OK", b"ok"))
                await writer.drain()

    url = await serve(handler)
    timeout = httpx.Timeout(5.0, read=0.1, pool=1.0)
    async with httpx.AsyncClient(
        transport=AiohttpTransport(max_connections=1), timeout=timeout
    ) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(url + "/x")
        response = await client.get(url + "/x")

    assert b"ok" == response.content


@pytest.mark.anyio
async def test_a_cancelled_request_frees_its_slot(serve: Serve) -> None:
    """Cancelling a request that waits for its answer gives the only connection slot back."""
    arrived = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await read_request(reader)) is not None:
            if not arrived.is_set():
                arrived.set()  # the first request is never answered
                continue
            writer.write(answer(b"200 OK", b"ok"))
            await writer.drain()

    url = await serve(handler)
    timeout = httpx.Timeout(5.0, pool=1.0)
    async with httpx.AsyncClient(
        transport=AiohttpTransport(max_connections=1), timeout=timeout
    ) as client:
        task = asyncio.ensure_future(client.get(url + "/x"))
        await arrived.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        response = await client.get(url + "/x")

    assert b"ok" == response.content


# --- concurrency and lifetime ----------------------------------------------------------


@pytest.mark.anyio
async def test_64_requests_in_flight(
    client: httpx.AsyncClient, server: EmulatorServer, emulator: Emulator
) -> None:
    """64 concurrent describes all succeed, each with its own job."""
    job_ids = [job.job_id for job in emulator.jobs] * 3
    job_ids = job_ids[:64]

    responses = await asyncio.gather(
        *(client.get(f"{server.url}/inventorytriggerjob/{job_id}") for job_id in job_ids)
    )

    assert [True] * 64 == [
        f"<JobId>{job_id}</JobId>".encode() in response.content
        for job_id, response in zip(job_ids, responses, strict=True)
    ]


@pytest.mark.anyio
async def test_connections_are_capped_at_max_connections(
    server: EmulatorServer, emulator: Emulator
) -> None:
    """64 requests in flight through max_connections=4 open at most 4 connections."""
    job_id = emulator.jobs[0].job_id
    async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=4)) as client:
        await asyncio.gather(
            *(client.get(f"{server.url}/inventorytriggerjob/{job_id}") for _ in range(64))
        )

    assert server.stats.connections_opened <= 4


@pytest.mark.anyio
async def test_connections_are_reused(
    client: httpx.AsyncClient, server: EmulatorServer, emulator: Emulator
) -> None:
    """Sequential requests share one keep-alive connection."""
    for job in emulator.jobs[:10]:
        await client.get(f"{server.url}/inventorytriggerjob/{job.job_id}")

    assert 1 == server.stats.connections_opened


@pytest.mark.anyio
async def test_aclose_closes_every_connection(server: EmulatorServer, emulator: Emulator) -> None:
    """After the client (and so the transport) is closed, the server sees no open connection."""
    job_id = emulator.jobs[0].job_id
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        await asyncio.gather(
            *(client.get(f"{server.url}/inventorytriggerjob/{job_id}") for _ in range(16))
        )
    # The server notices the closed sockets on its own thread: wait for it (not a fixed sleep).
    for _ in range(500):
        if server.stats.open_connections == 0:
            break
        await asyncio.sleep(0.01)

    assert 0 == server.stats.open_connections


@pytest.mark.anyio
async def test_a_closed_transport_refuses_requests(transport: AiohttpTransport) -> None:
    """Using the transport after aclose() is a clear RuntimeError."""
    await transport.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:1/"))


@pytest.mark.anyio
async def test_aclose_before_any_request(transport: AiohttpTransport) -> None:
    """Closing an unused transport is fine (and idempotent)."""
    await transport.aclose()
    await transport.aclose()

    assert "closed" in repr(transport)


def test_another_event_loop_is_refused(emulator: Emulator) -> None:
    """A transport used on one loop refuses another (instead of hanging)."""
    transport = AiohttpTransport()

    async def first(url: str) -> int:
        response = await transport.handle_async_request(httpx.Request("GET", url))
        await response.aread()
        return response.status_code

    async def second(url: str) -> None:
        await transport.handle_async_request(httpx.Request("GET", url))

    loop = asyncio.new_event_loop()
    try:
        with emulator.serve() as server:
            url = f"{server.url}/inventorytriggerjob"
            assert 200 == loop.run_until_complete(first(url))
            with pytest.raises(RuntimeError, match="another event loop"):
                asyncio.run(second(url))
            loop.run_until_complete(transport.aclose())
    finally:
        loop.close()


def test_trio_is_refused() -> None:
    """Under trio the transport says it needs asyncio."""
    trio = pytest.importorskip("trio")
    transport = AiohttpTransport()

    async def main() -> None:
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:1/"))

    with pytest.raises(RuntimeError, match="asyncio"):
        trio.run(main)


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), (-1, ValueError), (True, TypeError), ("2", TypeError)]
)
def test_max_connections_must_be_a_positive_int(value: object, error: type[Exception]) -> None:
    """max_connections=0 is a ValueError (use None for no limit); a bool or a str a TypeError."""
    with pytest.raises(error, match="max_connections"):
        AiohttpTransport(max_connections=value)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_no_limit_is_allowed(server: EmulatorServer) -> None:
    """max_connections=None sends requests without a cap."""
    async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=None)) as client:
        response = await client.get(f"{server.url}/inventorytriggerjob")

    assert 200 == response.status_code


# --- with the session --------------------------------------------------------------------


@pytest.mark.anyio
async def test_session_lists_over_aiohttp_with_signatures_checked() -> None:
    """A signed Session over the transport lists every job of a verifying emulator."""
    emulator = Emulator(seed=5)
    emulator.generate(250)
    async with (
        emulator.serve() as server,
        ci_async.Session(
            emulator.bucket,
            "ap-beijing",
            endpoint=server.url,
            credentials=emulator.credentials,
            transport=AiohttpTransport(),
        ) as session,
    ):
        jobs = [job async for job in session.list_jobs(page_size=100)]

    assert 250 == len({job.job_id for job in jobs})


# --- without aiohttp ---------------------------------------------------------------------


def test_ci_async_imports_without_aiohttp_and_the_transport_names_the_extra() -> None:
    """Without aiohttp, ci_async imports; constructing the transport says which extra to install."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["aiohttp"] = None
        import ci_async
        try:
            ci_async.AiohttpTransport()
        except ImportError as exc:
            print(exc)
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert "pip install 'ci-async[aiohttp]'" in result.stdout


def test_importing_ci_async_never_imports_aiohttp() -> None:
    """Aiohttp is imported only when AiohttpTransport is chosen."""
    script = textwrap.dedent(
        """
        import sys
        import ci_async, ci_async.testing
        before = "aiohttp" in sys.modules
        ci_async.AiohttpTransport()
        print(before, "aiohttp" in sys.modules)
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert "False True" == result.stdout.strip()
