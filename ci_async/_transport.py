"""An httpx transport that carries requests over aiohttp (asyncio only).

httpx stays the interface of the library (requests, responses, timeouts and
exceptions are httpx's); this module only changes what carries the bytes.
httpx's own async transport (httpcore over anyio) slows down sharply when many
requests are in flight at once, while aiohttp's connection pool does not. The
figures and the reasoning are in ``docs/performance.md``.

aiohttp is an optional dependency (``pip install 'ci_async[aiohttp]'``): this
module imports without it, and :class:`AiohttpTransport` raises a clear
:class:`ImportError` when constructed without it. The transport runs under
asyncio only; under trio the session keeps httpx's native transport.

What the transport guarantees, so that code written against httpx's own
transport (the session's retry loop in particular) works unchanged:

* Bytes and headers pass through untouched: no automatic decompression (httpx
  decodes ``Content-Encoding`` itself), no headers added beyond what HTTP/1.1
  framing needs, no cookies, no redirects, no proxies from the environment,
  and no silent retry of a request whose connection broke.
* aiohttp and asyncio failures surface as the matching httpx exceptions:
  :class:`httpx.ConnectError`, :class:`httpx.ConnectTimeout`,
  :class:`httpx.ReadTimeout`, :class:`httpx.ReadError`,
  :class:`httpx.WriteError`, :class:`httpx.RemoteProtocolError` and
  :class:`httpx.PoolTimeout`.
* The ``connect``, ``read`` and ``pool`` timeouts of
  ``request.extensions["timeout"]`` (what :class:`httpx.Timeout` puts there)
  are honoured; aiohttp has no write timeout, so ``write`` is not.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import httpx

if TYPE_CHECKING:
    import aiohttp
    import multidict
    import yarl
else:  # pragma: no branch
    try:
        import aiohttp
        import multidict
        import yarl
    except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
        aiohttp = multidict = yarl = None

__all__ = ["AIOHTTP_AVAILABLE", "AiohttpTransport"]

#: Whether aiohttp can be imported, i.e. whether :class:`AiohttpTransport` can be used.
AIOHTTP_AVAILABLE: Final[bool] = aiohttp is not None

_INSTALL_HINT: Final = (
    "AiohttpTransport needs aiohttp; install it with: pip install 'ci_async[aiohttp]'"
)

# Headers aiohttp would add on its own when the request lacks them. httpx's client
# already sends the ones it wants; anything it left out stays out.
_SKIP_AUTO_HEADERS: Final = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")

_NO_TIMEOUT_KEY: Final = (None, None, None)


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """The TLS context httpx uses by default (certifi's CA bundle), built once per process."""
    return httpx.create_ssl_context()


def _exception_map() -> dict[type[BaseException], type[httpx.TransportError]]:
    """aiohttp/asyncio exception classes -> httpx ones; looked up along the MRO."""
    table: dict[type[BaseException], type[httpx.TransportError]] = {
        # Anything escaping aiohttp's own wrapping.
        OSError: httpx.ReadError,
        asyncio.TimeoutError: httpx.ReadTimeout,
    }
    if not AIOHTTP_AVAILABLE:  # pragma: no cover
        return table
    table.update(
        {
            aiohttp.ClientError: httpx.ReadError,
            aiohttp.ClientConnectionError: httpx.ReadError,
            aiohttp.ClientOSError: httpx.ReadError,
            aiohttp.ClientConnectorError: httpx.ConnectError,
            aiohttp.ServerTimeoutError: httpx.ReadTimeout,
            aiohttp.ServerDisconnectedError: httpx.RemoteProtocolError,
            aiohttp.ClientPayloadError: httpx.RemoteProtocolError,
            aiohttp.ClientResponseError: httpx.RemoteProtocolError,
            aiohttp.InvalidURL: httpx.UnsupportedProtocol,
        }
    )
    # Finer classes of newer aiohttp releases (3.10+); 3.9 raises their bases.
    optional = {
        "ConnectionTimeoutError": httpx.ConnectTimeout,
        "SocketTimeoutError": httpx.ReadTimeout,
        "ClientConnectionResetError": httpx.WriteError,
        "NonHttpUrlClientError": httpx.UnsupportedProtocol,
    }
    for name, target in optional.items():
        cls = getattr(aiohttp, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            table[cls] = target
    return table


_EXCEPTIONS: Final = _exception_map()


def _map_exception(exc: Exception, request: httpx.Request) -> Exception:
    """The httpx exception for ``exc`` (or ``exc`` itself when nothing matches)."""
    if isinstance(exc, httpx.HTTPError):
        return exc
    for cls in type(exc).__mro__:
        target = _EXCEPTIONS.get(cls)
        if target is not None:
            message = str(exc) or type(exc).__name__
            return target(message, request=request)
    return exc


class _ResponseStream(httpx.AsyncByteStream):
    """The body of one aiohttp response, as httpx expects it.

    Yields whatever aiohttp has buffered at each step (usually the whole body
    in one piece for small responses) and releases the connection, and the
    transport's pool slot, when closed.
    """

    __slots__ = ("_closed", "_request", "_response", "_slots")

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        request: httpx.Request,
        slots: asyncio.Semaphore | None,
    ) -> None:
        self._response = response
        self._request = request
        self._slots = slots
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        # at_eof() spares the last, empty read: a small body is one chunk, one step.
        while not content.at_eof():
            try:
                chunk = await content.readany()
            except Exception as exc:
                raise _map_exception(exc, self._request) from exc
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


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An :class:`httpx.AsyncBaseTransport` that sends requests with aiohttp.

    Use it as the ``transport`` of an :class:`httpx.AsyncClient` (the session
    does so by default under asyncio when aiohttp is installed). One
    :class:`aiohttp.ClientSession` is created lazily on the first request, on
    the running event loop, and closed by :meth:`aclose`; the transport belongs
    to that loop from then on.

    Args:
        max_connections: Most connections open at once (and so requests in
            flight); further requests wait for a free one, up to the ``pool``
            timeout, then fail with :class:`httpx.PoolTimeout`. ``None`` means
            no limit.
        keepalive_expiry: Seconds an idle connection is kept for reuse.
        verify: TLS verification: ``True`` (httpx's default trust store),
            ``False``, or an :class:`ssl.SSLContext`.
        ttl_dns_cache: Seconds a DNS answer is cached (``None``: forever).

    Raises:
        ImportError: aiohttp is not installed.
        ValueError: ``max_connections`` is less than 1.
    """

    def __init__(
        self,
        *,
        max_connections: int | None = 64,
        keepalive_expiry: float | None = 5.0,
        verify: ssl.SSLContext | bool = True,
        ttl_dns_cache: int | None = 300,
    ) -> None:
        if not AIOHTTP_AVAILABLE:
            raise ImportError(_INSTALL_HINT)
        if max_connections is not None and max_connections < 1:
            msg = f"max_connections must be at least 1 or None, not {max_connections!r}"
            raise ValueError(msg)
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._verify = verify
        self._ttl_dns_cache = ttl_dns_cache
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._closed = False
        self._timeouts: dict[tuple[Any, Any, Any], aiohttp.ClientTimeout] = {}

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._session else "idle"
        return f"<AiohttpTransport max_connections={self._max_connections} {state}>"

    def _open(self) -> aiohttp.ClientSession:
        """The aiohttp session of this transport, created on first use."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            msg = "AiohttpTransport runs only under asyncio; use httpx's own transport with trio"
            raise RuntimeError(msg) from None
        if self._closed:
            msg = "AiohttpTransport is closed"
            raise RuntimeError(msg)
        if self._session is not None:  # and so self._loop is not this loop
            msg = (
                "AiohttpTransport was first used on another event loop; "
                "create one transport (and client) per event loop"
            )
            raise RuntimeError(msg)
        ssl_option = _default_ssl_context() if self._verify is True else self._verify
        limit = self._max_connections or 0
        connector = aiohttp.TCPConnector(
            limit=limit,
            limit_per_host=0,
            keepalive_timeout=self._keepalive_expiry,
            ttl_dns_cache=self._ttl_dns_cache,
            use_dns_cache=True,
            ssl=ssl_option,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            auto_decompress=False,
            trust_env=False,
            raise_for_status=False,
            timeout=aiohttp.ClientTimeout(),
        )
        # The caller owns retries (httpx never retries a request on its own);
        # aiohttp would otherwise resend an idempotent request once when its
        # connection breaks, hiding the failure and doubling the attempts.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        self._session = session
        self._loop = loop
        if self._max_connections is not None:
            self._slots = asyncio.Semaphore(self._max_connections)
        return session

    def _client_timeout(self, timeout: Mapping[str, float | None] | None) -> aiohttp.ClientTimeout:
        """The aiohttp timeout for httpx's ``timeout`` extension (cached: it rarely varies)."""
        key = (
            _NO_TIMEOUT_KEY
            if timeout is None
            else (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        )
        found = self._timeouts.get(key)
        if found is None:
            connect, read, _pool = key
            # The pool wait is ours (a semaphore); aiohttp's ``connect`` then only
            # covers opening a connection, like httpx's ``connect``.
            found = aiohttp.ClientTimeout(
                total=None, connect=connect, sock_connect=connect, sock_read=read
            )
            if len(self._timeouts) >= 32:
                self._timeouts.clear()
            self._timeouts[key] = found
        return found

    async def _acquire_slot(
        self, slots: asyncio.Semaphore, pool_timeout: float | None, request: httpx.Request
    ) -> None:
        """Wait for a free connection slot, at most ``pool_timeout`` seconds."""
        try:
            await asyncio.wait_for(slots.acquire(), pool_timeout)
        except asyncio.TimeoutError:
            msg = f"no connection free within the pool timeout ({pool_timeout}s)"
            raise httpx.PoolTimeout(msg, request=request) from None

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
            session = self._open()
        extensions = request.extensions
        timeout = extensions.get("timeout")
        client_timeout = self._client_timeout(timeout)

        raw_headers = request.headers.raw
        try:
            # aiohttp writes header text as UTF-8: decoding as UTF-8 round-trips the bytes.
            pairs = [(name.decode(), value.decode()) for name, value in raw_headers]
        except UnicodeDecodeError:
            pairs = [
                (name.decode("latin-1"), value.decode("latin-1")) for name, value in raw_headers
            ]
        headers = multidict.CIMultiDict(pairs)
        data: Any
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            # A streamed body: aiohttp frames it itself (chunked or by Content-Length).
            data = request.stream
            headers.popall("Transfer-Encoding", None)

        kwargs: dict[str, Any] = {}
        sni_hostname = extensions.get("sni_hostname")
        if sni_hostname is not None:
            kwargs["server_hostname"] = sni_hostname

        slots = self._slots
        if slots is not None:
            if slots.locked():
                await self._acquire_slot(
                    slots, None if timeout is None else timeout.get("pool"), request
                )
            else:
                await slots.acquire()
        try:
            response = await session.request(
                request.method,
                # Already percent-encoded by httpx: sent exactly as it is.
                yarl.URL(str(request.url), encoded=True),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=client_timeout,
                **kwargs,
            )
        except BaseException as exc:
            if slots is not None:
                slots.release()
            if isinstance(exc, Exception):
                raise _map_exception(exc, request) from exc
            raise

        version = response.version
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseStream(response, request, slots),
            extensions={
                "http_version": b"HTTP/1.1"
                if version is None or version == (1, 1)
                else f"HTTP/{version.major}.{version.minor}".encode("ascii"),
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        """Close the aiohttp session and every connection it holds."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
