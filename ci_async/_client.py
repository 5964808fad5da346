"""The session's clients: made on first use, tied to one event loop, closed once.

* **A client per request in flight.** Over httpx's own transport, every
  request in flight goes out on an :class:`httpx.AsyncClient` of its own
  (a *lane*), with a pool of one connection kept alive between its requests;
  lanes are made as needed, up to the session's bound, share one TLS context,
  and are reused most recently used first. httpx's pool, shared by many
  requests at once, costs CPU per request that grows with the requests it
  holds (it walks them against its connections whenever one starts or ends)
  and hands one idle connection to several waiting requests at once, all but
  one of which then go round again; a pool serving one request at a time
  does neither. A transport or client the user passed is shared by every
  request instead: it bounds itself.
* **A transport passed in gets the requests itself.** The session's client
  over it would add nothing (no cookies, hooks, redirects or proxies: httpx
  reads no proxy variables for a client given a transport) but its cost
  per request, so each request goes straight to the transport's
  ``handle_async_request``, httpx's transport interface. The client only
  builds the requests, as in every other case, and closes the transport.
* **Made off the loop.** Building the first client loads the TLS trust store
  (~20 ms), so the first call builds it (and the TLS context the others share)
  in a worker thread rather than stalling the event loop; further lanes take
  a fraction of a millisecond.
* **One loop.** The clients, their connections and the request slots belong to
  the event loop (asyncio) or run (trio) of the first call, told apart with
  sniffio; another loop gets a clear :class:`RuntimeError`.
* **Closed once, always.** :meth:`PooledClient.aclose` closes the clients (or
  the transport passed in; never a ``http_client``), shielded from
  cancellation. If nobody does, the event loop does it as it shuts down: while
  a client is open an async generator of ours stays suspended, and both
  asyncio (``shutdown_asyncgens``) and trio close the generators still alive
  at the end of a run, which closes the clients. A session dropped mid-run is
  closed by a task scheduled from its finalizer
  (:meth:`PooledClient.close_soon`). Either way its connections are closed
  properly rather than by the garbage collector, whose transports would each
  warn.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import anyio
import httpx
import sniffio

from ._config import Settings
from ._errors import SessionClosedError
from ._version import version

__all__ = ["Lanes", "PooledClient", "running_loop"]


def running_loop() -> object:
    """The running event loop (asyncio) or run (trio).

    Raises:
        RuntimeError: No event loop runs in this thread.
    """
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        msg = "ci_async must be used from a running asyncio or trio event loop"
        raise RuntimeError(msg) from None
    if library == "trio":
        import trio  # trio is running, so it is imported already

        return trio.lowlevel.current_trio_token()
    return asyncio.get_running_loop()


class _NoCookies(CookieJar):
    """A cookie jar that keeps nothing: no server's cookie is ever sent back.

    Its policy refuses every domain; and what a response sets is not even
    read, which spares every answer the standard library's cookie parsing.
    """

    def __init__(self) -> None:
        super().__init__(policy=DefaultCookiePolicy(allowed_domains=[]))

    def extract_cookies(self, response: object, request: object) -> None:
        """Keep no cookie of ``response``."""


class Lanes:
    """The clients a session's requests go out on, and the slots that bound them.

    A request takes a slot (:attr:`slots`), then a client (:meth:`take`), and
    gives both back (:meth:`give`) once its answer is read. With ``make``,
    each request in flight has a client of its own, made by ``make`` when no
    idle one is left; without, every request shares ``first``.

    Args:
        first: The first client; it also builds every request (all are set up alike).
        in_flight: The most requests in flight at once.
        make: Makes a further client, or ``None`` to share ``first``.
        transport: ``first``'s transport, to which :meth:`send` hands every
            request directly; ``None`` to send through the clients.
        own: Whether the session made the clients (see :meth:`build_request`).
    """

    def __init__(
        self,
        first: httpx.AsyncClient,
        in_flight: int,
        make: Callable[[], httpx.AsyncClient] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        own: bool = False,
    ) -> None:
        self.first = first
        self.transport = transport
        self._defaults = (first.headers, first.timeout.as_dict()) if own else None
        self.slots = anyio.Semaphore(in_flight)
        #: Whether the clients are httpx's own transport (made here), which
        #: reports through the ``trace`` extension when a request is written.
        self.traced = make is not None
        self.made = [first]
        self._idle = [first]
        self._make = make

    def build_request(
        self,
        method: str,
        url: str,
        *,
        params: list[tuple[str, str | int | float | bool | None]] | None,
        content: bytes | None,
        headers: Mapping[str, str],
        extensions: dict[str, Any] | None,
    ) -> httpx.Request:
        """The request ``first.build_request(...)`` makes, at half its cost for the session's own.

        :meth:`httpx.AsyncClient.build_request` merges the client's default
        headers, query parameters, cookies, base URL and timeout into the
        request. The session's own clients have no default query parameters
        (merging them costs more than the rest together), keep no cookies, and
        are given whole URLs: their requests are made from the clients'
        headers and timeout alone, with the public :class:`httpx.Request`. A
        ``http_client`` of the user's makes its own.
        """
        if self._defaults is None:
            return self.first.build_request(
                method, url, params=params, content=content, headers=headers, extensions=extensions
            )
        defaults, timeout = self._defaults
        merged = httpx.Headers(defaults)
        merged.update(headers)
        return httpx.Request(
            method,
            url,
            params=params,
            content=content,
            headers=merged,
            extensions={"timeout": timeout}
            if extensions is None
            else {**extensions, "timeout": timeout},
        )

    def take(self) -> httpx.AsyncClient:
        """A client for one request (the caller holds a slot): the most recently idle one."""
        if self._make is None:
            return self.first
        if self._idle:
            return self._idle.pop()
        client = self._make()
        self.made.append(client)
        return client

    async def send(self, client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on ``client`` (from :meth:`take`); the body is left to read.

        Over a transport passed in, the request goes to the transport itself.
        """
        if self.transport is None:
            return await client.send(request, stream=True, follow_redirects=False)
        response = await self.transport.handle_async_request(request)
        response.request = request
        return response

    def give(self, client: httpx.AsyncClient) -> None:
        """Give back the client :meth:`take` returned, and the slot."""
        if self._make is not None:
            self._idle.append(client)
        self.slots.release()


class PooledClient:
    """A session's clients (see :class:`Lanes`) and their lifecycle.

    Args:
        settings: The session's validated settings.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lanes: Lanes | None = None
        self._loop: object | None = None
        self._making: anyio.Event | None = None
        self._guard: AsyncGenerator[None, None] | None = None
        self._closed = False
        self._released: anyio.Event | None = None
        self._calls: set[anyio.CancelScope] = set()

    @property
    def closed(self) -> bool:
        """Whether calls are refused (closing has begun)."""
        return self._closed

    @property
    def holds_resources(self) -> bool:
        """Whether closing would release something: the session's own clients or transport."""
        settings = self._settings
        if self._released is not None or settings.http_client is not None:
            return False
        return self._lanes is not None or settings.transport is not None

    def check_open(self) -> None:
        """Raise :class:`~ci_async.SessionClosedError` once closed."""
        if self._closed:
            raise SessionClosedError

    def refuse_calls(self) -> None:
        """From now on every call raises :class:`~ci_async.SessionClosedError`, running ones too."""
        self._closed = True
        for scope in list(self._calls):
            scope.cancel()

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        """Around one call: when the session closes, it is cancelled and raises.

        Closing the clients or the transport would not end a call pausing
        between attempts or polls, nor one waiting on a transport that does not
        abort what is in flight when closed: this ends it at once.

        Raises:
            SessionClosedError: Closed, before or during the call.
        """
        self.check_open()
        with anyio.CancelScope() as scope:
            self._calls.add(scope)
            try:
                yield
            finally:
                self._calls.discard(scope)
        if scope.cancelled_caught:
            raise SessionClosedError

    async def get(self) -> Lanes:
        """The clients and the request slots, on this (and only this) event loop.

        Raises:
            SessionClosedError: Closed.
            RuntimeError: Another event loop, or none.
        """
        self.check_open()
        loop = running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            msg = (
                "this Session was first used in another event loop and cannot be used "
                "from this one; create one Session per event loop"
            )
            raise RuntimeError(msg)
        if self._lanes is not None:
            return self._lanes
        settings = self._settings
        if settings.http_client is not None:
            self._lanes = Lanes(settings.http_client, settings.max_in_flight)
            return self._lanes
        if self._making is not None:  # another task is making it
            await self._making.wait()
            return await self.get()
        self._making = making = anyio.Event()
        try:
            # Shielded: a client made is a client kept (and closed by aclose()).
            with anyio.CancelScope(shield=True):
                lanes = await anyio.to_thread.run_sync(self._new_lanes)
                if self._closed:
                    await lanes.first.aclose()
                else:
                    self._lanes = lanes
                    self._guard = self._until_closed()
                    await self._guard.asend(None)
        finally:
            self._making = None
            making.set()
        self.check_open()
        return lanes

    def _new_lanes(self) -> Lanes:
        """The first client (in a worker thread: the TLS context loads the trust store)."""
        settings = self._settings
        if settings.transport is not None:
            return Lanes(
                self._new_client(settings.transport),
                settings.max_in_flight,
                transport=settings.transport,
                own=True,
            )
        tls = httpx.create_ssl_context()
        return Lanes(
            self._new_client(None, tls),
            settings.max_in_flight,
            functools.partial(self._new_client, None, tls),
            own=True,
        )

    def _new_client(
        self, transport: httpx.AsyncBaseTransport | None, tls: ssl.SSLContext | None = None
    ) -> httpx.AsyncClient:
        if transport is not None:
            # The transport bounds itself; the request slots bound what is in flight.
            limits = httpx.Limits(max_connections=None)
        else:
            # One request at a time; no connection limit, so that a request cancelled
            # just as it was handed a new connection cannot take the pool's only slot
            # with it (encode/httpcore#1093).
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=1)
        return httpx.AsyncClient(
            transport=transport,
            verify=True if tls is None else tls,
            limits=limits,
            timeout=self._settings.timeout,
            follow_redirects=False,
            cookies=_NoCookies(),
            headers={"User-Agent": f"ci-async/{version()}"},
        )

    async def _until_closed(self) -> AsyncGenerator[None, None]:
        """Suspended while the clients are open; finalized by aclose() or the loop's end."""
        try:
            yield
        finally:
            await self._release()

    async def aclose(self) -> None:
        """Refuse calls, then close the clients (or transport); a ``http_client`` stays open."""
        self.refuse_calls()
        guard, self._guard = self._guard, None
        if guard is not None:
            await guard.aclose()  # its ``finally`` releases
        else:
            await self._release()

    async def _release(self) -> None:
        if self._released is not None:  # released, or being released by another task
            await self._released.wait()
            return
        self._released = released = anyio.Event()
        settings = self._settings
        lanes, self._lanes = self._lanes, None
        try:
            if settings.http_client is None:
                # Shielded: connections are closed even when the closing task is cancelled.
                with anyio.CancelScope(shield=True):
                    if lanes is not None:
                        for client in lanes.made:  # (the first closes a transport passed in)
                            await client.aclose()
                    elif settings.transport is not None:
                        await settings.transport.aclose()
        finally:
            released.set()

    def close_soon(self) -> None:
        """Close in the background on the client's loop, if it still runs (from a finalizer).

        Does nothing when the loop is gone: it closed the client as it shut down.
        """
        self._closed = True
        loop = self._loop
        if loop is None or self._released is not None:
            return
        try:
            if isinstance(loop, asyncio.AbstractEventLoop):
                if not loop.is_closed():
                    loop.call_soon_threadsafe(_close_on_asyncio, loop, self)
            else:  # a trio token
                loop.run_sync_soon(_close_on_trio, self)  # type: ignore[attr-defined]
        except RuntimeError:  # the loop closed, the trio run finished
            pass


#: Clients being closed by :meth:`PooledClient.close_soon` (asyncio keeps only
#: weak references to tasks).
_CLOSING: set[object] = set()


def _close_on_asyncio(loop: asyncio.AbstractEventLoop, client: PooledClient) -> None:
    """Start ``client.aclose()`` as a task of ``loop`` (a loop callback)."""
    task = loop.create_task(client.aclose())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


def _close_on_trio(client: PooledClient) -> None:
    """Start ``client.aclose()`` as a trio system task (a ``run_sync_soon`` callback)."""
    import trio

    # An exception here would crash the run: at its very end, new tasks are refused
    # (and the run closes the client itself, through the pending async generator).
    with contextlib.suppress(RuntimeError):
        trio.lowlevel.spawn_system_task(client.aclose)
