"""The emulator on a real loopback port: HTTP/1.1, keep-alive, socket-level faults."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from xml.parsers.expat import ExpatError

import anyio
import httpx
import pytest
import xmltodict

from ci_async.testing import Emulator, EmulatorServer

from ._support import error_code, parse

pytestmark = pytest.mark.anyio

PATH = "/inventorytriggerjob"


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An emulator with a few pages of jobs."""
    emulator = Emulator(seed=31)
    emulator.generate(40)
    return emulator


@pytest.fixture(name="server")
def fixture_server(emulator: Emulator) -> Iterator[EmulatorServer]:
    """The emulator on a loopback port."""
    with emulator.serve() as server:
        yield server


@pytest.fixture(name="client")
async def fixture_client(
    emulator: Emulator, server: EmulatorServer, anyio_backend: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client (its own transport, real sockets) signing with the emulator's key."""
    signer = emulator.signer()

    async def sign(request: httpx.Request) -> None:
        await signer.sign(request)

    async with httpx.AsyncClient(
        base_url=server.url, timeout=5, event_hooks={"request": [sign]}
    ) as client:
        yield client


def well_formed(body: bytes) -> bool:
    try:
        xmltodict.parse(body)
    except ExpatError:
        return False
    return True


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (state owned by the server thread) until it holds."""
    with anyio.fail_after(5):
        while not condition():  # noqa: ASYNC110 - the state lives in the server's thread
            await anyio.sleep(0.005)


async def test_serves_signed_requests(client: httpx.AsyncClient, anyio_backend: str) -> None:
    """A list over loopback answers the jobs with the service's headers."""
    response = await client.get(PATH, params={"size": "5"})
    assert (200, "tencent-ci") == (response.status_code, response.headers["server"])
    assert 5 == len(parse(response)["Response"]["JobsDetail"])


async def test_url_and_port(server: EmulatorServer, anyio_backend: str) -> None:
    """The url names the bound loopback port."""
    assert f"http://127.0.0.1:{server.port}" == server.url
    assert server.port > 0


async def test_create_with_a_body(
    emulator: Emulator, client: httpx.AsyncClient, anyio_backend: str
) -> None:
    """A POST body reaches the app over loopback."""
    body = (
        b"<Request><Name>x</Name><Type>Workflow</Type><Input><Prefix>p/</Prefix></Input>"
        b"<Operation><WorkflowIds>w1</WorkflowIds></Operation></Request>"
    )
    response = await client.post(PATH, content=body, headers={"Content-Type": "application/xml"})
    assert 200 == response.status_code, response.text
    job_id = parse(response)["Response"]["JobsDetail"][0]["JobId"]
    assert "x" == emulator.job(job_id).name


async def test_keep_alive_reuses_one_connection(
    server: EmulatorServer, client: httpx.AsyncClient, anyio_backend: str
) -> None:
    """Sequential requests share one connection."""
    for _ in range(5):
        assert 200 == (await client.get(PATH)).status_code
    stats = server.stats
    assert (1, 5) == (stats.connections_opened, stats.requests)


async def test_connections_are_counted(emulator: Emulator, anyio_backend: str) -> None:
    """server.connections goes back to 0 when the client closes its pool."""
    async with emulator.serve() as server:
        signer = emulator.signer()
        async with httpx.AsyncClient(base_url=server.url) as client:
            request = client.build_request("GET", PATH)
            await signer.sign(request)
            await client.send(request)
            assert 1 == server.connections
        await wait_until(lambda: server.connections == 0)


async def test_errors_over_loopback(
    emulator: Emulator, client: httpx.AsyncClient, anyio_backend: str
) -> None:
    """An injected 503 with Retry-After arrives as sent."""
    emulator.faults.fail_next(status=503, retry_after=2)
    response = await client.get(PATH)
    assert (503, "ServiceUnavailable", "2") == (
        response.status_code,
        error_code(response),
        response.headers["retry-after"],
    )


async def test_drop_over_loopback(
    emulator: Emulator, client: httpx.AsyncClient, anyio_backend: str
) -> None:
    """A dropped connection is a RemoteProtocolError; the next request works."""
    emulator.faults.drop_next()
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(PATH)
    assert 200 == (await client.get(PATH)).status_code


async def test_reset_over_loopback(
    emulator: Emulator, client: httpx.AsyncClient, anyio_backend: str
) -> None:
    """A reset mid-body is a transport error; the next request works."""
    emulator.faults.reset_next(after_bytes=100)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await client.get(PATH, params={"size": "50"})
    assert 200 == (await client.get(PATH)).status_code


async def test_hang_over_loopback(
    emulator: Emulator, server: EmulatorServer, client: httpx.AsyncClient, anyio_backend: str
) -> None:
    """A hang ends in the client's ReadTimeout, and the server lets the connection go."""
    emulator.faults.hang_next()
    with pytest.raises(httpx.ReadTimeout):
        await client.get(PATH, timeout=0.1)
    await wait_until(lambda: server.connections == 0)
    assert 200 == (await client.get(PATH)).status_code


async def test_trickle_over_loopback(
    emulator: Emulator, client: httpx.AsyncClient, anyio_backend: str
) -> None:
    """A trickled body arrives whole."""
    emulator.faults.trickle_next(chunk_size=512, interval=0.001)
    response = await client.get(PATH, params={"size": "3"})
    assert 3 == len(parse(response)["Response"]["JobsDetail"])


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("html_error_next", lambda r: r.status_code == 502 and b"<html>" in r.content),
        ("empty_body_next", lambda r: r.status_code == 200 and r.content == b""),
        ("truncate_next", lambda r: r.status_code == 200 and not well_formed(r.content)),
        ("malformed_next", lambda r: r.status_code == 200 and not well_formed(r.content)),
        ("wrong_root_next", lambda r: r.content.startswith(b"<Result>")),
    ],
)
async def test_body_faults_over_loopback(
    emulator: Emulator,
    client: httpx.AsyncClient,
    fault: str,
    check: Callable[[httpx.Response], bool],
    anyio_backend: str,
) -> None:
    """Body-level faults look the same over a socket."""
    getattr(emulator.faults, fault)()
    assert check(await client.get(PATH, params={"size": "20"}))


async def test_stop_closes_open_connections(emulator: Emulator, anyio_backend: str) -> None:
    """Leaving the server's block closes idle keep-alive connections."""
    signer = emulator.signer()
    async with httpx.AsyncClient(timeout=2) as client:
        async with emulator.serve() as server:
            request = client.build_request("GET", server.url + PATH)
            await signer.sign(request)
            assert 200 == (await client.send(request)).status_code
            url = server.url
        request = client.build_request("GET", url + PATH)
        await signer.sign(request)
        with pytest.raises(httpx.TransportError):
            await client.send(request)


async def test_stop_ends_a_hanging_request(emulator: Emulator, anyio_backend: str) -> None:
    """Stopping the server releases a request that hangs."""
    emulator.faults.hang_next()
    signer = emulator.signer()
    outcome: list[BaseException] = []
    server = emulator.serve().start()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            request = client.build_request("GET", server.url + PATH)
            await signer.sign(request)

            async def hang() -> None:
                try:
                    await client.send(request)
                except httpx.TransportError as exc:
                    outcome.append(exc)

            async with anyio.create_task_group() as group:
                group.start_soon(hang)
                await wait_until(lambda: len(emulator.requests) == 1)
                await anyio.to_thread.run_sync(server.stop)
    finally:
        server.stop()
    assert 1 == len(outcome)


def test_sync_use_from_plain_code(emulator: Emulator) -> None:
    """The server works for synchronous clients too (its loop runs in a thread)."""
    emulator.verify_signatures = False
    with emulator.serve() as server, httpx.Client(base_url=server.url) as client:
        response = client.get(PATH, params={"size": "2"})
    assert 2 == len(parse(response)["Response"]["JobsDetail"])


def test_not_running_server_has_no_url(emulator: Emulator) -> None:
    """The url and port need a running server."""
    server = emulator.serve()
    with pytest.raises(RuntimeError, match="not running"):
        server.url  # noqa: B018
    assert "stopped" in repr(server)


def test_cannot_start_twice(emulator: Emulator) -> None:
    """start() on a running server is an error; stop() twice is fine."""
    server = emulator.serve()
    with server, pytest.raises(RuntimeError, match="running already"):
        server.start()
    server.stop()


def test_restart_after_stop(emulator: Emulator) -> None:
    """A stopped server can be started again."""
    server = emulator.serve()
    with server:
        first = server.port
    with server:
        assert server.port > 0
    assert first > 0


def test_port_in_use_is_reported(emulator: Emulator) -> None:
    """Binding a busy port raises OSError from start()."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError):  # noqa: PT011 - errno varies by platform
            emulator.serve(port=port).start()


def test_malformed_http_gets_400(server: EmulatorServer) -> None:
    """Garbage instead of HTTP gets a 400 and the connection is closed."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400 ")


def test_client_closing_mid_request(server: EmulatorServer, emulator: Emulator) -> None:
    """A client that sends half a request and leaves does not disturb the server."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /inventorytriggerjob HTTP/1.1\r\nHost: x\r\n")
    emulator.verify_signatures = False
    with httpx.Client(base_url=server.url) as client:
        assert 200 == client.get(PATH).status_code


def test_oversized_body_gets_413(server: EmulatorServer) -> None:
    """A body over 1 MiB is refused with 413 before the app sees it."""
    with httpx.Client(base_url=server.url) as client:
        response = client.post(PATH, content=b"x" * (2 << 20))
    assert (413, "EntityTooLarge") == (response.status_code, error_code(response))
