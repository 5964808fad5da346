"""A small HTTP/1.1 server (asyncio + h11) hosting the emulator on a real loopback port.

It serves any ASGI3 app with keep-alive, and gives the emulator's
connection-level faults their socket meaning:

* :class:`~ci_async.testing._faults.DropConnection` before the response ->
  the socket is closed without an answer;
* :class:`~ci_async.testing._faults.ResetConnection` after part of the body ->
  the written bytes are flushed, then the connection is aborted with a TCP RST;
* a hang -> the app's ``receive()`` returns ``http.disconnect`` only when the
  client goes away (or the server stops);
* a trickle -> each body chunk is written (and flushed) as it comes.

:class:`EmulatorServer` runs the server on its own event loop in a daemon
thread, so sync code, asyncio and trio tests can all use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio
import attrs
import h11

from ._app import Message, Scope
from ._faults import DropConnection, ResetConnection

__all__ = ["AsyncServer", "EmulatorServer", "ServerStats"]

_logger = logging.getLogger("ci_async.testing")

ASGIApp = Callable[..., Any]

_ERROR_BODY = (
    b"<Error><Code>InternalError</Code><Message>the emulator failed</Message>"
    b"<RequestId/><TraceId/></Error>"
)
_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 1 << 20


@attrs.frozen
class ServerStats:
    """Counters of a running server (a snapshot).

    Attributes:
        open_connections: Connections open right now.
        connections_opened: Connections accepted since the start.
        connections_closed: Connections closed since the start.
        requests: Requests received since the start.
    """

    open_connections: int
    connections_opened: int
    connections_closed: int
    requests: int


class _Counters:
    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0
        self.requests = 0

    def snapshot(self) -> ServerStats:
        return ServerStats(self.opened - self.closed, self.opened, self.closed, self.requests)


class _Connection(asyncio.Protocol):
    """One client connection: h11 parsing, one request at a time, keep-alive."""

    def __init__(self, server: AsyncServer) -> None:
        self._server = server
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEADER_BYTES)
        self._transport: asyncio.Transport | None = None
        self._busy = False
        self._closed = False
        self._request: h11.Request | None = None
        self._body: list[bytes] = []
        self._body_size = 0
        self._disconnected: asyncio.Event | None = None
        self._writable: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._peer: tuple[str, int] | None = None

    # --- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self._peer = (str(peer[0]), int(peer[1])) if peer else None
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._server.connection_opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed:
            self._closed = True
            self._server.connection_closed(self)
        if self._disconnected is not None:
            self._disconnected.set()
        if self._writable is not None:
            self._writable.set()

    def data_received(self, data: bytes) -> None:
        self._h11.receive_data(data)
        if not self._busy:
            self._process()

    def eof_received(self) -> bool | None:
        self._h11.receive_data(b"")
        if not self._busy:
            self._process()
        return None  # close our side too

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.Event()
        self._writable.clear()

    def resume_writing(self) -> None:
        if self._writable is not None:
            self._writable.set()

    # --- request handling ------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (server shutdown)."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()
        if self._task is not None:
            self._task.cancel()

    def _process(self) -> None:
        conn = self._h11
        try:
            while not self._busy:
                event = conn.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    return
                if isinstance(event, h11.Request):
                    self._request = event
                    self._body = []
                    self._body_size = 0
                    if conn.they_are_waiting_for_100_continue:
                        self._write(
                            conn.send(h11.InformationalResponse(status_code=100, headers=[])) or b""
                        )
                elif isinstance(event, h11.Data):
                    self._body.append(bytes(event.data))
                    self._body_size += len(event.data)
                    if self._body_size > _MAX_BODY_BYTES:
                        self._refuse(413, b"EntityTooLarge", b"the request body is too large")
                        return
                elif isinstance(event, h11.EndOfMessage):
                    self._busy = True
                    self._server.counters.requests += 1
                    self._task = asyncio.ensure_future(self._run())
                    self._server.track(self._task)
                elif isinstance(event, h11.ConnectionClosed):
                    self._abort(graceful=True)
                    return
        except h11.RemoteProtocolError as exc:
            self._bad_request(exc)

    def _bad_request(self, exc: h11.RemoteProtocolError) -> None:
        self._refuse(exc.error_status_hint, b"InvalidRequest", b"malformed HTTP request")

    def _refuse(self, status: int, code: bytes, message: bytes) -> None:
        """Answer an error the app never sees, then close the connection."""
        conn = self._h11
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            body = b"<Error><Code>" + code + b"</Code><Message>" + message + b"</Message></Error>"
            headers = [
                ("content-type", "application/xml"),
                ("content-length", str(len(body))),
                ("server", "tencent-ci"),
                ("connection", "close"),
            ]
            with contextlib.suppress(h11.LocalProtocolError):
                data = conn.send(h11.Response(status_code=status, headers=headers)) or b""
                data += conn.send(h11.Data(data=body)) or b""
                data += conn.send(h11.EndOfMessage()) or b""
                self._write(data)
        self._abort(graceful=True)

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _abort(self, *, graceful: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if graceful:
            transport.close()
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    def _scope(self, request: h11.Request) -> Scope:
        target = bytes(request.target)
        raw_path, _, query = target.partition(b"?")
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version.decode("ascii"),
            "method": request.method.decode("ascii"),
            "scheme": "http",
            "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": [(bytes(name), bytes(value)) for name, value in request.headers],
            "server": self._server.address,
            "client": self._peer,
        }

    async def _run(self) -> None:
        request = self._request
        assert request is not None
        body = b"".join(self._body)
        self._body = []
        conn = self._h11
        received = False
        started: list[bytes] = []
        status = 0

        async def receive() -> Message:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": body, "more_body": False}
            if self._disconnected is None:
                self._disconnected = asyncio.Event()
            if self._closed:
                self._disconnected.set()
            await self._disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if self._closed:
                return
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response = h11.Response(status_code=status, headers=message.get("headers", []))
                started.append(conn.send(response) or b"")
                return
            chunk = message.get("body", b"")
            data = conn.send(h11.Data(data=chunk)) if chunk else b""
            if not message.get("more_body", False):
                data = (data or b"") + (conn.send(h11.EndOfMessage()) or b"")
            if started:
                data = started.pop() + (data or b"")
            if data:
                self._write(data)
            if self._writable is not None and not self._writable.is_set():
                await self._writable.wait()

        try:
            await self._server.app(self._scope(request), receive, send)
        except DropConnection:
            self._abort(graceful=True)
            return
        except ResetConnection:
            if started:
                self._write(started.pop())
            await self._flush()
            self._abort(graceful=False)
            return
        except asyncio.CancelledError:
            self._abort(graceful=True)
            raise
        except Exception:
            _logger.exception("the emulator app failed")
            self._fail(started_response=status != 0)
            return
        finally:
            self._task = None
        self._finish_cycle()

    def _fail(self, *, started_response: bool) -> None:
        conn = self._h11
        if started_response or conn.our_state is not h11.SEND_RESPONSE:
            self._abort(graceful=False)
            return
        headers = [
            ("content-type", "application/xml"),
            ("content-length", str(len(_ERROR_BODY))),
            ("server", "tencent-ci"),
        ]
        data = conn.send(h11.Response(status_code=500, headers=headers)) or b""
        data += conn.send(h11.Data(data=_ERROR_BODY)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
        self._write(data)
        self._finish_cycle()

    async def _flush(self) -> None:
        transport = self._transport
        for _ in range(200):
            if transport is None or transport.is_closing():
                return
            if not transport.get_write_buffer_size():
                return
            await asyncio.sleep(0.005)

    def _finish_cycle(self) -> None:
        conn = self._h11
        if self._closed:
            return
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            self._busy = False
            self._process()
        elif conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            self._abort(graceful=True)
        elif conn.our_state is not h11.DONE:
            # The app returned without a complete answer (e.g. a hang ended by a
            # disconnect): nothing more can be said on this connection.
            self._abort(graceful=True)
        else:
            self._busy = False
            self._process()


class AsyncServer:
    """The server proper, on the running asyncio loop (see :class:`EmulatorServer`).

    Args:
        app: Any ASGI3 application.
        host: The address to bind.
        port: The port to bind; 0 picks a free one.
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.address: tuple[str, int] = (host, port)
        self.counters = _Counters()
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a request handler until it ends (it may outlive its connection)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def connection_opened(self, connection: _Connection) -> None:
        self._connections.add(connection)
        self.counters.opened += 1

    def connection_closed(self, connection: _Connection) -> None:
        self._connections.discard(connection)
        self.counters.closed += 1

    async def start(self) -> None:
        """Bind and start accepting connections; sets :attr:`port` to the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.host, self.port, reuse_address=True, backlog=1024
        )
        sockname = self._server.sockets[0].getsockname()
        self.port = int(sockname[1])
        self.address = (self.host, self.port)

    async def close(self) -> None:
        """Stop accepting, close every connection and wait for the handlers to end."""
        if self._server is not None:
            self._server.close()
        connections = list(self._connections)
        for connection in connections:
            connection.close()
        # Handlers of requests whose client went away may still be running (a
        # latency fault, say): cancel them too, and wait until every one has ended.
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        # Let the closing transports run to completion.
        for _ in range(3):
            await asyncio.sleep(0)
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)
            self._server = None


class EmulatorServer:
    """An emulator served on a real loopback port from a background thread.

    Use it as a context manager, sync or async (the async form does not block
    the event loop while the thread starts or stops). It stops by itself on
    exit, closing every connection. Obtain one with
    :meth:`Emulator.serve() <ci_async.testing.Emulator.serve>`.

    Example:
        >>> from ci_async.testing import Emulator
        >>> with Emulator().serve() as server:  # doctest: +SKIP
        ...     print(server.url)
        http://127.0.0.1:54321
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self._server: AsyncServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop_requested: asyncio.Event | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        """Start serving (blocks until the port is bound) and return ``self``.

        Raises:
            RuntimeError: The server is running already, or failed to start.
            OSError: The port could not be bound.
        """
        if self._thread is not None:
            msg = "the emulator server is running already"
            raise RuntimeError(msg)
        self._ready.clear()
        self._error = None
        thread = threading.Thread(target=self._main, name="ci-emulator-server", daemon=True)
        self._thread = thread
        thread.start()
        self._ready.wait()
        error = self._take_error()
        if error is not None:
            thread.join()
            self._thread = None
            raise error
        return self

    def _take_error(self) -> BaseException | None:
        error, self._error = self._error, None
        return error

    def stop(self) -> None:
        """Stop serving and close every connection (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._stop_event_set)
        thread.join(timeout=10)
        self._thread = None
        self._server = None
        self._loop = None

    def _stop_event_set(self) -> None:
        if self._stop_requested is not None:
            self._stop_requested.set()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            if self._ready.is_set():
                _logger.exception("the emulator server stopped unexpectedly")
            else:
                self._error = exc
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._ready.set()

    async def _serve(self) -> None:
        server = AsyncServer(self._app, self._host, self._requested_port)
        self._stop_requested = asyncio.Event()
        await server.start()
        self._server = server
        self._ready.set()
        try:
            await self._stop_requested.wait()
        finally:
            await server.close()

    # --- information -----------------------------------------------------------------

    def _running(self) -> AsyncServer:
        if self._server is None or self._thread is None:
            msg = "the emulator server is not running: use it in a with block or call start()"
            raise RuntimeError(msg)
        return self._server

    @property
    def host(self) -> str:
        """The address the server is bound to."""
        return self._host

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            RuntimeError: The server is not running.
        """
        return self._running().port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``.

        Raises:
            RuntimeError: The server is not running.
        """
        host = self._host if ":" not in self._host else f"[{self._host}]"
        return f"http://{host}:{self.port}"

    @property
    def connections(self) -> int:
        """How many client connections are open right now."""
        return self._running().counters.snapshot().open_connections

    @property
    def stats(self) -> ServerStats:
        """A snapshot of the server's counters."""
        return self._running().counters.snapshot()

    # --- context managers --------------------------------------------------------------

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> EmulatorServer:
        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)

    def __repr__(self) -> str:
        state = f"url={self.url!r}" if self._server is not None and self._thread else "stopped"
        return f"<EmulatorServer {state}>"
