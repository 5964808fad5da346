"""Where the CPU time of one describe goes, layer by layer.

Two parts, both in client CPU microseconds per request (the fastest of a few
runs: the least disturbed by other processes):

1. Without a network: ``Session.get_job`` over a transport that answers at
   once with a canned describe body, and each step of its path alone
   (validating the id, building the ``httpx.Request``, signing,
   ``AsyncClient.send``, decoding).
2. Over loopback, 64 requests in flight, against a minimal server process that
   answers every request with the same describe body (so the server is never
   the bottleneck): the bare aiohttp floor, the transport called directly,
   the transport beneath ``httpx.AsyncClient``, and ``Session.get_job``.

    python -m benchmarks.bench_send_path

Not part of the targets: it explains them (see ``docs/performance.md``).
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import resource
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import xmltodict
from ci_async._transport import AiohttpTransport

import ci_async
from ci_async import _validate
from ci_async._decode import _TIME_CACHE, decode_describe
from ci_async._signing import sign_v5
from ci_async.testing import Emulator

BUCKET = "examplebucket-1250000000"
DESCRIBE = "/inventorytriggerjob/"


def describe_answer() -> tuple[str, bytes, list[tuple[bytes, bytes]]]:
    """A job id and the emulator's describe answer for it (body and headers)."""
    emulator = Emulator(seed=1)
    emulator.generate(10)
    job_id = emulator.jobs[3].job_id

    async def fetch() -> httpx.Response:
        async with emulator.session() as session:
            return await session._send("GET", DESCRIBE + job_id)

    response = asyncio.run(fetch())
    return job_id, response.content, list(response.headers.raw)


JOB_ID, BODY, HEADERS = describe_answer()
CREDENTIALS = ci_async.Credentials("AKIDbench0000", "bench-key")


class _Body(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield BODY


class CannedTransport(httpx.AsyncBaseTransport):
    """Answers every request at once with the describe body."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=HEADERS, stream=_Body())


def best(runs: list[float]) -> float:
    return min(runs)


def cpu_us(func: Callable[[], object], number: int = 3000, repeat: int = 5) -> float:
    func()
    runs = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        for _ in range(number):
            func()
        runs.append((time.process_time() - start) / number * 1e6)
    return best(runs)


async def acpu_us(
    func: Callable[[], Awaitable[object]], number: int = 3000, repeat: int = 5
) -> float:
    await func()
    runs = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        for _ in range(number):
            await func()
        runs.append((time.process_time() - start) / number * 1e6)
    return best(runs)


def report(label: str, value: float) -> None:
    print(f"  {value:8.1f} us  {label}", flush=True)


async def without_network() -> None:
    print("1. one describe, no network (canned transport)")
    url = f"http://127.0.0.1:8321{DESCRIBE}{JOB_ID}"
    client = httpx.AsyncClient(transport=CannedTransport(), timeout=10.0)
    signer = ci_async.CosSigner(CREDENTIALS)
    request = client.build_request("GET", url)

    report("_validate.job_id(job_id)", cpu_us(lambda: _validate.job_id(JOB_ID)))
    report(
        "client.build_request('GET', url_string)",
        cpu_us(lambda: client.build_request("GET", url, timeout=httpx.Timeout(10.0))),
    )
    parsed = httpx.URL(url)
    report("  of which httpx.URL(url_string)", cpu_us(lambda: httpx.URL(url)))
    report("httpx.Request('GET', httpx.URL)", cpu_us(lambda: httpx.Request("GET", parsed)))
    report("CosSigner.sign(request)", await acpu_us(lambda: signer.sign(request)))
    report("client.send(request), canned transport", await acpu_us(lambda: client.send(request)))

    class NoCookies(httpx.Cookies):
        def extract_cookies(self, response: httpx.Response) -> None:
            pass

    lean = httpx.AsyncClient(transport=CannedTransport(), timeout=10.0)
    lean._cookies = NoCookies()
    report("  same, cookie extraction skipped", await acpu_us(lambda: lean.send(request)))
    transport = CannedTransport()

    async def direct() -> None:
        response = await transport.handle_async_request(request)
        await response.aread()

    report("transport.handle_async_request + aread", await acpu_us(direct))

    def cold_decode() -> object:
        _TIME_CACHE.clear()
        return decode_describe(BODY)

    report("decode_describe(body), time cache cleared", cpu_us(cold_decode))
    report(
        "xmltodict.parse(body) (for comparison)",
        cpu_us(lambda: xmltodict.parse(BODY, force_list={"JobsDetail"})),
    )
    async with ci_async.Session(
        BUCKET,
        "ap-beijing",
        endpoint="http://127.0.0.1:8321",
        credentials=CREDENTIALS,
        transport=CannedTransport(),
    ) as session:
        report("Session.get_job(job_id), all of it", await acpu_us(lambda: session.get_job(JOB_ID)))
    await client.aclose()
    await lean.aclose()


# --- over loopback ----------------------------------------------------------------------------


_Setup = Callable[[], Awaitable[tuple[Callable[[], Awaitable[object]], Callable[[], Any]]]]


class _Canned(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._buffer = b""
        self._answer = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
            b"Content-Length: %d\r\nServer: tencent-ci\r\nx-ci-request-id: r\r\n\r\n" % len(BODY)
        ) + BODY

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            self._buffer = self._buffer[end + 4 :]
            self._transport.write(self._answer)


def _serve(sock: socket.socket) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Canned, sock=sock)
        await server.serve_forever()

    asyncio.run(main())


def over_loopback(inflight: int = 64, number: int = 4000, repeat: int = 3) -> None:
    print(f"2. {number} describes over loopback, {inflight} in flight (canned server process)")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    host = f"127.0.0.1:{sock.getsockname()[1]}"
    url = f"http://{host}"
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(sock,), daemon=True)
    server.start()
    sock.close()

    def signed(path: str) -> dict[str, str]:
        now = int(time.time())
        authorization = sign_v5(
            secret_id=CREDENTIALS.secret_id,
            secret_key=CREDENTIALS.secret_key,
            method="GET",
            path=path,
            params=(),
            headers={"host": host},
            key_time=f"{now - 60};{now + 3600}",
        )
        return {"Host": host, "Authorization": authorization}

    async def floor() -> tuple[Callable[[], Awaitable[object]], Callable[[], Any]]:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=inflight))

        async def one() -> object:
            path = DESCRIBE + JOB_ID
            async with session.get(url + path, headers=signed(path)) as response:
                body = await response.read()
            return xmltodict.parse(body, force_list={"JobsDetail"})

        return one, session.close

    async def transport_direct() -> tuple[Callable[[], Awaitable[object]], Callable[[], Any]]:
        transport = AiohttpTransport(max_connections=inflight)
        timeout = {"timeout": httpx.Timeout(10.0).as_dict()}

        async def one() -> object:
            path = DESCRIBE + JOB_ID
            request = httpx.Request("GET", url + path, headers=signed(path), extensions=timeout)
            response = await transport.handle_async_request(request)
            await response.aread()
            return decode_describe(response.content)

        return one, transport.aclose

    async def through_client() -> tuple[Callable[[], Awaitable[object]], Callable[[], Any]]:
        client = httpx.AsyncClient(transport=AiohttpTransport(max_connections=inflight))

        async def one() -> object:
            path = DESCRIBE + JOB_ID
            response = await client.get(url + path, headers=signed(path))
            return decode_describe(response.content)

        return one, client.aclose

    async def session() -> tuple[Callable[[], Awaitable[object]], Callable[[], Any]]:
        ci = ci_async.Session(BUCKET, "ap-beijing", endpoint=url, credentials=CREDENTIALS)

        async def one() -> object:
            return await ci.get_job(JOB_ID)

        return one, ci.aclose

    def measure(setup: _Setup) -> float:
        async def run() -> float:
            one, close = await setup()

            async def batch(n: int) -> None:
                pending = iter(range(n))

                async def worker() -> None:
                    for _ in pending:
                        await one()

                await asyncio.gather(*(worker() for _ in range(inflight)))

            await batch(inflight * 4)
            before = resource.getrusage(resource.RUSAGE_SELF)
            await batch(number)
            after = resource.getrusage(resource.RUSAGE_SELF)
            await close()
            used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            return used / number * 1e6

        return best([asyncio.run(run()) for _ in range(repeat)])

    try:
        report("floor: aiohttp + sign_v5 + xmltodict.parse", measure(floor))
        report("AiohttpTransport directly + decode_describe", measure(transport_direct))
        report("httpx.AsyncClient over AiohttpTransport + decode", measure(through_client))
        report("Session.get_job", measure(session))
    finally:
        server.terminate()
        server.join()


def main() -> int:
    print(f"describe body: {len(BODY)} bytes; Python {sys.version.split()[0]}")
    asyncio.run(without_network())
    over_loopback()
    return 0


if __name__ == "__main__":
    sys.exit(main())
