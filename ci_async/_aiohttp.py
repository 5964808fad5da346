"""``AiohttpTransport``: an opt-in httpx transport that carries requests over aiohttp.

httpx stays the interface (requests, responses, timeouts and exceptions are
httpx's); this transport only changes what carries the bytes. Choose it for
many requests in flight under asyncio, where aiohttp's connection pool costs
less per request than httpx's own (figures in ``docs/performance.md``)::

    ci = ci_async.Session(transport=ci_async.AiohttpTransport())

aiohttp is an optional dependency (``pip install 'ci-async[aiohttp]'``):
importing ``ci_async`` never imports it, and constructing the transport
without it raises an :class:`ImportError` naming the extra.

What the transport guarantees, so that the session's send path works the same
over it as over httpx's own transport:

* Bytes and headers pass through untouched: no automatic decompression, no
  headers added beyond what HTTP/1.1 framing needs, no cookies, no redirects,
  no proxies from the environment (``HTTP(S)_PROXY`` are not used: pass
  ``transport=None`` for httpx's own, which honours them).
* A request whose connection broke is never sent again by aiohttp itself
  (aiohttp would silently resend an idempotent one on a reused connection).
* aiohttp and asyncio failures surface as the matching httpx exceptions
  (:class:`httpx.ConnectError`, :class:`httpx.ConnectTimeout`,
  :class:`httpx.ReadTimeout`, :class:`httpx.ReadError`,
  :class:`httpx.WriteError`, :class:`httpx.RemoteProtocolError`,
  :class:`httpx.PoolTimeout`), raised afresh: aiohttp's own exception, which
  may quote the request's headers, is not kept in the chain.
* The ``connect``, ``read`` and ``pool`` timeouts of the request's ``timeout``
  extension are honoured; aiohttp has no write timeout.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import anyio
import httpx

from ._checks import positive_int
from ._text import shown

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpTransport"]

_INSTALL_HINT: Final = (
    "AiohttpTransport needs aiohttp, which is not installed; "
    "install the extra: pip install 'ci-async[aiohttp]'"
)

# Headers aiohttp would add on its own when the request lacks them. httpx's client
# already sends the ones it wants; anything it left out stays out.
_SKIP_AUTO_HEADERS: Final = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")


class _ConnectionLostError(Exception):
    """Wraps aiohttp's "connection lost" so that aiohttp does not resend the request."""

    def __init__(self, original: BaseException) -> None:
        super().__init__()
        self.original = original


def _import_aiohttp() -> tuple[Any, Any]:
    """Aiohttp and yarl (its URL library), imported when the transport is chosen."""
    try:
        import aiohttp
        import yarl
    except ImportError:
        raise ImportError(_INSTALL_HINT) from None
    return aiohttp, yarl


def _exception_table(aiohttp: Any) -> list[tuple[type[BaseException], type[httpx.HTTPError]]]:
    """aiohttp/asyncio exception classes → httpx ones, most specific first."""
    table: list[tuple[type[BaseException], type[httpx.HTTPError]]] = [
        (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
        (aiohttp.ClientConnectorError, httpx.ConnectError),
        (aiohttp.ClientConnectionResetError, httpx.WriteError),
        (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
        (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
        (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
        (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
        (aiohttp.ClientOSError, httpx.ReadError),
        (aiohttp.ClientConnectionError, httpx.ReadError),
        (aiohttp.ClientError, httpx.ReadError),
        (asyncio.TimeoutError, httpx.ReadTimeout),
        (OSError, httpx.ReadError),
    ]
    return table


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An :class:`httpx.AsyncBaseTransport` that sends requests with aiohttp (asyncio only).

    Pass it to the session, which closes it: ``Session(...,
    transport=ci_async.AiohttpTransport())``. One :class:`aiohttp.ClientSession`
    is made on the first request, on the running event loop, and closed by
    :meth:`aclose`; the transport belongs to that loop from then on.

    Args:
        max_connections: Most connections open at once (and so requests in
            flight); further requests wait for a free one, up to the ``pool``
            timeout, then fail with :class:`httpx.PoolTimeout`. ``None``: no limit.
        keepalive_expiry: Seconds an idle connection is kept for reuse.
        verify: TLS verification: ``True`` (httpx's default trust store,
            certifi), ``False``, or an :class:`ssl.SSLContext`.
        ttl_dns_cache: Seconds a DNS answer is cached (``None``: for ever).

    Raises:
        ImportError: aiohttp is not installed (install ``ci-async[aiohttp]``).
        ValueError: ``max_connections`` is less than 1.
        TypeError: ``verify`` is not a bool or an :class:`ssl.SSLContext`.
    """

    def __init__(
        self,
        *,
        max_connections: int | None = 64,
        keepalive_expiry: float | None = 5.0,
        verify: ssl.SSLContext | bool = True,
        ttl_dns_cache: int | None = 300,
    ) -> None:
        self._aiohttp, self._yarl = _import_aiohttp()
        if max_connections is not None:
            positive_int(max_connections, "max_connections", minimum=1)
        given: object = verify
        if not isinstance(given, bool | ssl.SSLContext):
            msg = f"verify must be a bool or an ssl.SSLContext, not {type(given).__name__}"
            raise TypeError(msg)
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._verify = verify
        self._ttl_dns_cache = ttl_dns_cache
        self._exceptions = _exception_table(self._aiohttp)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None
        self._closed = False
        self._timeouts: dict[tuple[Any, Any], aiohttp.ClientTimeout] = {}

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._session else "idle"
        return f"<AiohttpTransport max_connections={self._max_connections} {state}>"

    async def _open(self) -> aiohttp.ClientSession:
        """The aiohttp session of this transport, made on first use on this loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            msg = "AiohttpTransport runs only under asyncio; use httpx's own transport with trio"
            raise RuntimeError(msg) from None
        if self._closed:
            msg = "AiohttpTransport is closed"
            raise RuntimeError(msg)
        if self._loop is not None and self._loop is not loop:
            msg = (
                "AiohttpTransport was first used on another event loop; "
                "create one transport (and session) per event loop"
            )
            raise RuntimeError(msg)
        self._loop = loop
        if self._opening is not None:  # another request is opening it
            await self._opening.wait()
            if self._session is None:
                msg = "AiohttpTransport could not be opened"
                raise RuntimeError(msg)
            return self._session
        self._opening = opening = asyncio.Event()
        try:
            ssl_option: ssl.SSLContext | bool = self._verify
            if ssl_option is True:
                # Loading the trust store takes ~20 ms: not on the event loop.
                ssl_option = await anyio.to_thread.run_sync(httpx.create_ssl_context)
            aiohttp = self._aiohttp
            connector = aiohttp.TCPConnector(
                limit=self._max_connections or 0,
                limit_per_host=0,
                keepalive_timeout=self._keepalive_expiry,
                ttl_dns_cache=self._ttl_dns_cache,
                use_dns_cache=True,
                ssl=ssl_option,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                auto_decompress=False,
                trust_env=False,
                raise_for_status=False,
                timeout=aiohttp.ClientTimeout(),
                middlewares=(self._no_resend,),
            )
            if self._max_connections is not None:
                self._slots = asyncio.Semaphore(self._max_connections)
        finally:
            opening.set()
        return self._session

    async def _no_resend(
        self,
        request: aiohttp.ClientRequest,
        handler: Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]],
    ) -> aiohttp.ClientResponse:
        """Middleware: a lost connection ends the request (the caller owns retries)."""
        aiohttp = self._aiohttp
        try:
            return await handler(request)
        except aiohttp.ClientConnectorError:
            raise  # never sent, and aiohttp does not resend these
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
            raise _ConnectionLostError(exc) from None

    def _client_timeout(self, timeout: Any) -> aiohttp.ClientTimeout:
        """The aiohttp timeout for httpx's ``timeout`` extension (cached: it rarely varies)."""
        key = (None, None) if timeout is None else (timeout.get("connect"), timeout.get("read"))
        found = self._timeouts.get(key)
        if found is None:
            connect, read = key
            # The pool wait is ours (a semaphore); aiohttp's ``connect`` then only
            # covers opening a connection, like httpx's ``connect``.
            found = self._aiohttp.ClientTimeout(
                total=None, connect=connect, sock_connect=connect, sock_read=read
            )
            if len(self._timeouts) >= 32:
                self._timeouts.clear()
            self._timeouts[key] = found
        return found

    def _mapped(self, exc: BaseException, request: httpx.Request) -> BaseException:
        """The httpx exception for an aiohttp/asyncio one (or ``exc`` when none matches)."""
        if isinstance(exc, _ConnectionLostError):
            exc = exc.original
        if isinstance(exc, httpx.HTTPError):
            return exc
        for kind, target in self._exceptions:
            if isinstance(exc, kind):
                mapped = target(shown(str(exc) or type(exc).__name__, 500))
                if isinstance(mapped, httpx.RequestError):
                    mapped.request = request
                os_error = getattr(exc, "os_error", None)
                if isinstance(os_error, socket.gaierror):  # a name that does not resolve
                    mapped.__cause__ = socket.gaierror(os_error.errno, os_error.strerror)
                return mapped
        return exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the response with its body still to be read.

        Args:
            request: The request, as built by :class:`httpx.AsyncClient`.

        Returns:
            The response; its stream releases the connection when closed.

        Raises:
            httpx.TransportError: The matching subclass for a connection,
                timeout or protocol failure.
            RuntimeError: Used outside asyncio, on a second event loop, or
                after :meth:`aclose`.
        """
        session = self._session
        if session is None or self._loop is not asyncio.get_running_loop():
            session = await self._open()
        timeout = request.extensions.get("timeout")
        slots = self._slots
        if slots is not None:
            await self._acquire(slots, None if timeout is None else timeout.get("pool"), request)
        failure: BaseException | None = None
        try:
            response = await session.request(
                request.method,
                # Already percent-encoded by httpx: sent exactly as it is.
                self._yarl.URL(str(request.url), encoded=True),
                headers=_headers(request),
                data=_body(request),
                allow_redirects=False,
                timeout=self._client_timeout(timeout),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except Exception as exc:
            failure = self._mapped(exc, request)
        except BaseException:
            if slots is not None:
                slots.release()
            raise
        if failure is not None:
            # Raised here, not in the except block: aiohttp's exception (which may
            # quote the request's headers) is then neither its cause nor its context.
            if slots is not None:
                slots.release()
            raise failure
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseStream(response, request, slots, self._mapped),
            extensions={
                "http_version": b"HTTP/1.1"
                if response.version is None or response.version == (1, 1)
                else f"HTTP/{response.version.major}.{response.version.minor}".encode("ascii"),
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def _acquire(
        self, slots: asyncio.Semaphore, pool_timeout: float | None, request: httpx.Request
    ) -> None:
        """Wait for a free connection slot, at most ``pool_timeout`` seconds."""
        if not slots.locked():
            await slots.acquire()
            return
        try:
            await asyncio.wait_for(slots.acquire(), pool_timeout)
        except asyncio.TimeoutError:
            msg = f"no connection free within the pool timeout ({pool_timeout}s)"
            raise httpx.PoolTimeout(msg, request=request) from None

    async def aclose(self) -> None:
        """Close the aiohttp session and every connection it holds."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _headers(request: httpx.Request) -> list[tuple[str, str]]:
    """The request's headers for aiohttp (kept out of the caller's locals: they hold secrets).

    A streamed body is framed by aiohttp itself, so its ``Transfer-Encoding`` is left out.
    """
    raw = request.headers.raw
    if _body(request) is request.stream:
        raw = [(name, value) for name, value in raw if name.lower() != b"transfer-encoding"]
    try:
        # aiohttp writes header text as UTF-8: decoding as UTF-8 round-trips the bytes.
        return [(name.decode(), value.decode()) for name, value in raw]
    except UnicodeDecodeError:
        return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]


def _body(request: httpx.Request) -> Any:
    """The body for aiohttp: bytes, ``None``, or (not read yet) the request's stream."""
    try:
        return request.content or None
    except httpx.RequestNotRead:
        return request.stream


class _ResponseStream(httpx.AsyncByteStream):
    """The body of one aiohttp response, as httpx expects it.

    Yields what aiohttp has buffered at each step and releases the connection,
    and the transport's connection slot, when closed.
    """

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        request: httpx.Request,
        slots: asyncio.Semaphore | None,
        mapped: Callable[[BaseException, httpx.Request], BaseException],
    ) -> None:
        self._response = response
        self._request = request
        self._slots = slots
        self._mapped = mapped
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while not content.at_eof():
            failure: BaseException | None = None
            try:
                chunk = await content.readany()
            except Exception as exc:
                failure = self._mapped(exc, self._request)
            if failure is not None:
                raise failure
            if chunk:
                yield chunk

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Returns the connection to the pool when the body was read to the end,
        # closes it otherwise (aiohttp decides: a half-read connection is unusable).
        self._response.release()
        if self._slots is not None:
            self._slots.release()
