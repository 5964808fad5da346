"""Helpers for the reliability tests: loopback sessions, a scripted server, task and pool probes."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs
import httpx
import sniffio

from ci_async import AiohttpTransport, Job, RetryPolicy, Session
from ci_async.testing import Emulator, EmulatorServer

from .._xml import encode_response

BUCKET = "examplebucket-1250000000"
REGION = "ap-beijing"
#: Retries that cost (almost) no time.
FAST = RetryPolicy(backoff=0.001, max_backoff=0.002, max_retry_after=0.05)
#: A per-request timeout short enough for hang tests, long enough for a loaded CI box.
TIMEOUT = 2.0
#: The guard around every scenario: nothing may take this long.
GUARD = 20.0

Message = dict[str, Any]


@attrs.frozen
class Reply:
    """One scripted answer.

    Attributes:
        body: The body, sent in ``chunk_size`` pieces.
        status: The HTTP status.
        content_type: The ``Content-Type`` header.
        headers: More headers.
        chunk_size: Bytes per body write.
        length: The ``Content-Length`` to declare (default: the body's; -1: none,
            so the body goes chunked).
    """

    body: bytes = b""
    status: int = 200
    content_type: str = "application/xml"
    headers: tuple[tuple[str, str], ...] = ()
    chunk_size: int = 1 << 20
    length: int | None = None


@attrs.frozen
class Seen:
    """One request the scripted service received."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]

    @property
    def params(self) -> dict[str, str]:
        """The query as a dict."""
        return dict(self.query)


class ScriptedService:
    """An ASGI app answering each request with ``answer(request)``; serve it with EmulatorServer."""

    def __init__(self, answer: Callable[[Seen], Reply]) -> None:
        self.answer = answer
        self.requests: list[Seen] = []
        self.bytes_sent = 0

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body", False):
            pass
        raw_query = scope["query_string"].decode("latin-1")
        query = tuple(httpx.QueryParams(raw_query).multi_items())
        seen = Seen(scope["method"], scope["path"], query)
        self.requests.append(seen)
        reply = self.answer(seen)
        length = len(reply.body) if reply.length is None else reply.length
        headers = [
            (b"content-type", reply.content_type.encode()),
            *((name.encode(), value.encode()) for name, value in reply.headers),
        ]
        if length >= 0:
            headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        # The server runs on asyncio in its own thread; receive() now returns when the
        # client goes away, which stops the body early (as a real server would).
        gone = asyncio.ensure_future(receive())
        try:
            view = memoryview(reply.body)
            for offset in range(0, len(reply.body), reply.chunk_size):
                if gone.done():
                    return
                chunk = bytes(view[offset : offset + reply.chunk_size])
                self.bytes_sent += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await asyncio.sleep(0)  # let `gone` see a disconnect (send() may not yield)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()


def page_body(jobs: Iterable[Job], next_token: str | None = None, request_id: str = "r") -> bytes:
    """A list answer as the service writes it."""
    return encode_response(jobs, request_id=request_id, next_token=next_token)


class NullSigner:
    """A signer for scripted services, which check no signature."""

    async def sign(self, request: httpx.Request) -> None:
        """Set a placeholder Authorization header."""
        request.headers["Authorization"] = "q-sign-algorithm=sha1&q-signature=unsigned"


#: The transport of the sessions :func:`session_on` makes: ``"httpx"`` (httpx's own)
#: or ``"aiohttp"`` (:class:`ci_async.AiohttpTransport`); set per test by the
#: ``anyio_backend`` fixture of this package, so every case runs on both.
TRANSPORT = "httpx"


def session_on(url: str, emulator: Emulator | None = None, **kwargs: Any) -> Session:
    """A Session on a loopback URL, signing for ``emulator`` (or not at all)."""
    if TRANSPORT == "aiohttp" and "transport" not in kwargs and "http_client" not in kwargs:
        kwargs["transport"] = AiohttpTransport()
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("timeout", TIMEOUT)
    signer = NullSigner() if emulator is None else emulator.signer()
    kwargs.setdefault("signer", signer)
    return Session(BUCKET, REGION, endpoint=url, **kwargs)


@asynccontextmanager
async def scripted(answer: Callable[[Seen], Reply]) -> AsyncIterator[tuple[ScriptedService, str]]:
    """Serve a ScriptedService on loopback; yields it and its URL."""
    service = ScriptedService(answer)
    async with EmulatorServer(service) as server:
        yield service, server.url


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def live_tasks() -> int:
    """How many tasks exist in the running event loop (asyncio or trio), this one included."""
    if sniffio.current_async_library() == "trio":
        import trio

        count = 0
        root = trio.lowlevel.current_root_task()
        pending = [] if root is None else [root]
        while pending:
            task = pending.pop()
            count += 1
            for nursery in task.child_nurseries:
                pending.extend(nursery.child_tasks)
        return count
    import asyncio

    return len(asyncio.all_tasks())


class CountingTransport(httpx.AsyncBaseTransport):
    """A transport wrapper counting the responses handed out and the responses closed.

    A response the library forgets to close shows as ``opened > closed`` at
    once: no garbage collection, finalizer or pool bookkeeping can hide it
    (aiohttp releases an abandoned response's connection when the response
    is collected; httpx's pool never learns of it).

    Attributes:
        inner: The wrapped transport.
        opened: Responses returned so far.
        closed: Of those, how many had their stream closed.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.opened = 0
        self.closed = 0

    @property
    def open(self) -> int:
        """Responses handed out and not closed yet."""
        return self.opened - self.closed

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The inner transport's response, its stream counted."""
        response = await self.inner.handle_async_request(request)
        self.opened += 1
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CountedStream(stream, self),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()


class _CountedStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, owner: CountingTransport) -> None:
        self._stream = stream
        self._owner = owner
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._owner.closed += 1
        await self._stream.aclose()


def counting_transport(max_connections: int) -> CountingTransport:
    """The transport of this test's variant, wrapped in a :class:`CountingTransport`.

    httpx's own is set up as the session sets up its own (no connection limit:
    the session's request slots bound what is in flight).
    """
    inner: httpx.AsyncBaseTransport
    if TRANSPORT == "aiohttp":
        inner = AiohttpTransport(max_connections=max_connections)
    else:
        inner = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=max_connections)
        )
    return CountingTransport(inner)


def checked_out(session: Session) -> int:
    """Connections of the session's clients that are serving a request right now.

    Looks inside the transports (there is no public API for this): httpcore's
    pool of each client under trio, the aiohttp connector under asyncio.
    """
    lanes = session._sender.pool._lanes
    return 0 if lanes is None else sum(_checked_out(client) for client in lanes.made)


def _checked_out(client: httpx.AsyncClient) -> int:
    transport = client._transport
    if isinstance(transport, CountingTransport):
        transport = transport.inner
    if isinstance(transport, AiohttpTransport):
        aiohttp_session = transport._session
        if aiohttp_session is None:
            return 0
        connector = aiohttp_session.connector
        assert connector is not None
        return len(connector._acquired)
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    pool = transport._pool
    return sum(not conn.is_idle() and not conn.is_closed() for conn in pool.connections)


async def wait_until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    """Poll ``condition`` (it reflects another thread's progress) until true, or fail."""
    with anyio.fail_after(limit):
        while not condition():  # noqa: ASYNC110 - no event to wait on across threads
            await anyio.sleep(0.005)


async def drain(iterator: AsyncIterator[Job], into: list[str]) -> None:
    """Append the id of every job ``iterator`` yields to ``into`` (kept if it raises)."""
    async for job in iterator:
        into.append(job.job_id)


def collect_garbage() -> None:
    """Run the collector until nothing more is freed (finalizers may free more)."""
    for _ in range(3):
        if not gc.collect():
            break


class RetryLog(logging.Handler):
    """Collects the ``ci_async`` retry records (their ``ci_*`` extras)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep retry records."""
        if hasattr(record, "ci_attempt"):
            self.records.append(record)

    @property
    def delays(self) -> list[float]:
        """The delay chosen before each retry."""
        return [float(getattr(record, "ci_delay", -1.0)) for record in self.records]
