"""One request running beside its caller: how a listing fetches ahead.

A listing fetches the next page while the consumer works on the current one.
That request must run in a task of its own, and an async iterator cannot own
a task group across the consumer's code (the consumer would run inside the
group's cancel scope). So each request ahead is a :class:`BackgroundRequest`:

* it is one request (with its retries): it ends by itself, within the
  session's per-attempt time bound and retry budget, or the listing's deadline;
  nothing waits on it to make progress, so an iterator that is dropped
  without being closed leaves nothing running for longer than that;
* it is owned by the iterator that started it, which cancels it and waits for
  its connection to be released on ``aclose()`` (and so on leaving
  ``async with``), and by the session, whose ``aclose()`` does the same for
  every request still running;
* it catches every failure and hands it to whoever awaits its result.

The task is started natively on the running library, told apart with sniffio:
an asyncio task, or a trio system task.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import anyio
import sniffio

__all__ = ["BackgroundRequest"]

T = TypeVar("T")


def _spawn(async_fn: Callable[[], Awaitable[None]]) -> object:
    """Start ``async_fn()`` as a task of the running event loop; return a handle to keep."""
    if sniffio.current_async_library() == "trio":
        import trio

        trio.lowlevel.spawn_system_task(async_fn)
        return None
    return asyncio.get_running_loop().create_task(async_fn())  # type: ignore[arg-type]


class BackgroundRequest(Generic[T]):
    """Run ``fetch()`` in a task of its own, starting now.

    Args:
        fetch: The request; every exception it raises is kept for :meth:`result`.
        owner: A set the request is kept in while it runs (the session's), so
            that its owner can cancel it.
    """

    def __init__(self, fetch: Callable[[], Awaitable[T]], owner: set[BackgroundRequest[T]]) -> None:
        self._fetch = fetch
        self._owner = owner
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._value: T | None = None
        self._error: Exception | None = None
        self._thread = threading.get_ident()
        owner.add(self)
        self._task = _spawn(self._run)

    @property
    def done(self) -> bool:
        """Whether the request has ended (value, error or cancellation)."""
        return self._done.is_set()

    async def _run(self) -> None:
        try:
            with self._scope:
                self._value = await self._fetch()
        except Exception as exc:  # handed to result()
            self._error = exc
        finally:
            self._owner.discard(self)
            self._done.set()
            self._task = None

    async def result(self) -> T | None:
        """Wait for the request; its value, or ``None`` if it was cancelled.

        Cancelling this wait leaves the request running.

        Raises:
            Exception: What the request raised.
        """
        await self._done.wait()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._value

    def cancel(self) -> None:
        """Cancel the request (it ends at its next checkpoint).

        Safe from a finalizer: does nothing outside the event loop's thread.
        """
        if threading.get_ident() == self._thread and not self.done:
            self._scope.cancel()

    async def aclose(self) -> None:
        """Cancel the request and wait until it has ended and released its connection."""
        self._scope.cancel()
        with anyio.CancelScope(shield=True):
            await self._done.wait()
