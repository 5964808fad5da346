"""The session's pooled client: made on first use, tied to one event loop, closed once.

* **Made off the loop.** Building an :class:`httpx.AsyncClient` loads the TLS
  trust store (~20 ms), so the first call builds it in a worker thread rather
  than stalling the event loop.
* **One loop.** The client, its connections and the request slots belong to the
  event loop (asyncio) or run (trio) of the first call, told apart with
  sniffio; another loop gets a clear :class:`RuntimeError`.
* **Closed once, always.** :meth:`PooledClient.aclose` closes the client (or the
  transport passed in; never a ``http_client``), shielded from cancellation.
  If nobody does, the event loop does it as it shuts down: while the client is
  open an async generator of ours stays suspended, and both asyncio
  (``shutdown_asyncgens``) and trio close the generators still alive at the
  end of a run, which closes the client. A session dropped mid-run is closed
  by a task scheduled from its finalizer (:meth:`PooledClient.close_soon`).
  Either way its connections are closed properly rather than by the garbage
  collector, whose transports would each warn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from http.cookiejar import CookieJar, DefaultCookiePolicy

import anyio
import httpx
import sniffio

from ._config import Settings
from ._errors import SessionClosedError
from ._version import version

__all__ = ["PooledClient", "running_loop"]


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


def _no_cookies() -> CookieJar:
    """A cookie jar that keeps nothing: no server's cookie is ever sent back."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class PooledClient:
    """The one :class:`httpx.AsyncClient` of a session, and its request slots.

    Args:
        settings: The session's validated settings.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: httpx.AsyncClient | None = settings.http_client
        self._loop: object | None = None
        self._making: anyio.Event | None = None
        self._slots: anyio.Semaphore | None = None
        self._guard: AsyncGenerator[None, None] | None = None
        self._closed = False
        self._released: anyio.Event | None = None

    @property
    def closed(self) -> bool:
        """Whether calls are refused (closing has begun)."""
        return self._closed

    @property
    def holds_resources(self) -> bool:
        """Whether closing would release something: the session's own client or transport."""
        settings = self._settings
        if self._released is not None or settings.http_client is not None:
            return False
        return self._client is not None or settings.transport is not None

    def check_open(self) -> None:
        """Raise :class:`~ci_async.SessionClosedError` once closed."""
        if self._closed:
            raise SessionClosedError

    def refuse_calls(self) -> None:
        """From now on every call raises :class:`~ci_async.SessionClosedError`."""
        self._closed = True

    async def get(self) -> tuple[httpx.AsyncClient, anyio.Semaphore]:
        """The client and the request slots, on this (and only this) event loop.

        Raises:
            SessionClosedError: Closed.
            RuntimeError: Another event loop, or none.
        """
        self.check_open()
        loop = running_loop()
        if self._loop is None:
            self._loop = loop
            self._slots = anyio.Semaphore(self._settings.max_in_flight)
        elif loop is not self._loop:
            msg = (
                "this Session was first used in another event loop and cannot be used "
                "from this one; create one Session per event loop"
            )
            raise RuntimeError(msg)
        assert self._slots is not None
        if self._client is not None:
            return self._client, self._slots
        if self._making is not None:  # another task is making it
            await self._making.wait()
            return await self.get()
        self._making = making = anyio.Event()
        try:
            # Shielded: a client made is a client kept (and closed by aclose()).
            with anyio.CancelScope(shield=True):
                client = await anyio.to_thread.run_sync(self._new_client)
                if self._closed:
                    await client.aclose()
                else:
                    self._client = client
                    self._guard = self._until_closed()
                    await self._guard.asend(None)
        finally:
            self._making = None
            making.set()
        self.check_open()
        return client, self._slots

    def _new_client(self) -> httpx.AsyncClient:
        settings = self._settings
        return httpx.AsyncClient(
            transport=settings.transport,
            # Unbounded: the request slots bound what is in flight (see ci_async._http).
            limits=httpx.Limits(
                max_connections=None, max_keepalive_connections=settings.max_in_flight
            ),
            timeout=settings.timeout,
            follow_redirects=False,
            cookies=_no_cookies(),
            headers={"User-Agent": f"ci-async/{version()}"},
        )

    async def _until_closed(self) -> AsyncGenerator[None, None]:
        """Suspended while the client is open; finalized by aclose() or the loop's end."""
        try:
            yield
        finally:
            await self._release()

    async def aclose(self) -> None:
        """Refuse calls, then close the client (or transport); a ``http_client`` stays open."""
        self._closed = True
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
        client, self._client = self._client, None
        try:
            if settings.http_client is None:
                # Shielded: connections are closed even when the closing task is cancelled.
                with anyio.CancelScope(shield=True):
                    if client is not None:
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
