"""JobIterator: follows ``NextToken`` page by page, optionally one page ahead.

The iterator knows nothing about HTTP: the session hands it a ``fetch(token,
size, deadline_at)`` coroutine function that returns one :class:`JobPage`
(retries included). This module only decides *which* page to ask for, when,
and how to resume.

Prefetching runs the next page's request in a background task while the
consumer works on the current page. Async generators cannot safely own a task
group across ``yield`` (the consumer's code would run inside the group's cancel
scope), so the background task is started on the running loop directly
(:func:`_spawn`) and owns nothing but the request; the iterator cancels it on
``aclose()`` or when it is garbage collected after ``break``.
"""

from __future__ import annotations

# asyncio only identifies the running loop and starts the prefetch task on it.
import asyncio
import contextlib
import contextvars
import logging
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import anyio

from ._errors import PaginationError
from ._models import Job, JobPage

_logger = logging.getLogger("ci_async")

__all__ = ["JobIterator"]

#: ``fetch(next_token, size, deadline_at)``: one page, retries included.
FetchPage = Callable[[str | None, int | None, float | None], Awaitable[JobPage]]

#: The page size the service uses when ``size`` is not sent.
SERVICE_PAGE_SIZE = 10


def current_loop() -> tuple[str, object]:
    """The running event loop: ``("asyncio", loop)`` or ``("trio", trio_token)``.

    Raises:
        RuntimeError: Neither an asyncio loop nor trio is running in this thread.
    """
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            return "trio", trio.lowlevel.current_trio_token()
        except RuntimeError:
            pass
    try:
        return "asyncio", asyncio.get_running_loop()
    except RuntimeError:
        msg = "ci_async must be used from a running asyncio or trio event loop"
        raise RuntimeError(msg) from None


def _spawn(async_fn: Callable[[], Awaitable[None]]) -> object:
    """Start ``async_fn()`` as a background task of the running event loop.

    Args:
        async_fn: Must catch every exception but cancellation itself.

    Returns:
        A handle to keep alive until the task ends.
    """
    library, loop = current_loop()
    if library == "trio":
        trio = sys.modules["trio"]
        trio.lowlevel.spawn_system_task(async_fn, context=contextvars.copy_context())
        return True
    return loop.create_task(async_fn())  # type: ignore[attr-defined]


class _Prefetch:
    """One page request running in the background."""

    def __init__(self, fetch: Callable[[], Awaitable[JobPage]]) -> None:
        self._fetch = fetch
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._page: JobPage | None = None
        self._error: Exception | None = None
        self._thread = threading.get_ident()
        self._handle: object = _spawn(self._run)

    @property
    def done(self) -> bool:
        """Whether the request has ended (page, error or cancellation)."""
        return self._done.is_set()

    async def _run(self) -> None:
        try:
            with self._scope:
                self._page = await self._fetch()
        except Exception as exc:
            self._error = exc
        finally:
            self._done.set()
            self._handle = None  # the task is over: drop the reference

    async def result(self) -> JobPage | None:
        """Wait for the page; ``None`` if :meth:`cancel` stopped the request.

        Cancelling the wait itself leaves the request running.
        """
        await self._done.wait()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._page

    def cancel(self) -> None:
        """Cancel the request; safe to call from ``__del__`` in the loop's thread."""
        if threading.get_ident() == self._thread and not self.done:
            self._scope.cancel()

    async def aclose(self) -> None:
        """Cancel the request and wait until its connection is released."""
        self.cancel()
        with anyio.CancelScope(shield=True):
            await self._done.wait()


class JobIterator(AsyncIterator[Job]):
    """Iterate over the jobs of a listing, fetching pages as needed.

    Returned by :meth:`Session.list_jobs() <ci_async.Session.list_jobs>`; no
    request is made until it is iterated. Use it with ``async for`` (jobs) or
    :meth:`pages` (whole pages), not both, and from one task at a time.

    Resuming: :attr:`next_token` is, at any moment, the token from which a new
    listing (``list_jobs(..., next_token=it.next_token)`` with the same filters)
    yields every job this iterator has *not yet yielded*. While a page is only
    partly consumed, that is the token of the page itself, so a resumed listing
    repeats the jobs of that page already yielded (at most one page of them:
    at-least-once). Once the last job of a page has been yielded it is the
    token of the following page, so checkpointing *after* processing each job
    (or each page, with :meth:`pages`) resumes with no job lost or repeated.
    Before the first page it is the token the iterator was started from
    (``None`` for the beginning); when the listing is complete it is ``None``
    and :attr:`exhausted` is true.

    ``limit``: at most that many jobs are yielded and no page beyond them is
    requested; the last page is asked with ``size`` = the jobs still wanted, so
    the page ends exactly at the limit and :attr:`next_token` then continues
    right after it.

    ``prefetch``: while the consumer works on a page, the next one is
    requested in the background (one page ahead at most, never past
    ``limit``). A failure of that request is raised when the consumer reaches
    the page. ``aclose()``, ``async with``, or dropping the iterator after
    ``break`` cancel it and release its connection.

    ``deadline``: seconds, counted from the first step of the iteration, within
    which every page request (retries and backoff included) must complete;
    past it, the next request raises :class:`~ci_async.TransportError`.

    A ``NextToken`` the service already sent raises
    :class:`~ci_async.PaginationError` (after the jobs of the page that carried
    it), instead of looping forever.

    Duplicates: a job whose id was already on the previous page, or earlier
    on the same page, is not yielded again (the first copy wins; an INFO
    record is logged on the ``ci_async`` logger). Offset-like tokens repeat
    jobs that way when jobs are created during the listing. Only those two
    pages are remembered, so memory stays one page deep.
    """

    def __init__(
        self,
        fetch: FetchPage,
        *,
        check_open: Callable[[], None],
        page_size: int | None = None,
        limit: int | None = None,
        next_token: str | None = None,
        prefetch: bool = True,
        deadline: float | None = None,
    ) -> None:
        self._fetch = fetch
        self._check_open = check_open
        self._page_size = page_size
        self._limit = limit
        self._prefetch = prefetch
        self._deadline = deadline
        self._deadline_at: float | None = None
        self._started = False
        self._closed = False
        self._busy = False
        self._mode: str | None = None
        # The page being consumed, the token that fetched it, and the token after it.
        self._jobs: tuple[Job, ...] = ()
        self._index = 0
        self._page_token: str | None = next_token or None
        self._following: str | None = next_token or None
        self._truncated = False
        self._last_page = False
        self._fetched = 0
        self._seen: set[str] = set() if not next_token else {next_token}
        self._repeated: str | None = None
        self._pending: _Prefetch | None = None
        self._request_id: str | None = None
        self._recent: frozenset[str] | set[str] = frozenset()

    def __repr__(self) -> str:
        return (
            f"<JobIterator fetched={self._fetched} limit={self._limit} "
            f"exhausted={self.exhausted} closed={self._closed}>"
        )

    @property
    def next_token(self) -> str | None:
        """The token to resume from so that no job not yet yielded is lost (see class docs)."""
        if self._index < len(self._jobs) or self._truncated:
            return self._page_token
        return self._following

    @property
    def exhausted(self) -> bool:
        """Whether the service has no more pages and every job fetched has been yielded."""
        return self._last_page and not self._truncated and self._index >= len(self._jobs)

    # --- async iteration over jobs -------------------------------------------------

    def __aiter__(self) -> JobIterator:
        return self

    async def __anext__(self) -> Job:
        self._begin("jobs")
        try:
            while self._index >= len(self._jobs):
                if not await self._advance():
                    raise StopAsyncIteration
            job = self._jobs[self._index]
            self._index += 1
            return job
        finally:
            self._busy = False

    def pages(self) -> AsyncIterator[JobPage]:
        """Iterate page by page instead of job by job.

        Each page's ``next_token`` is the token to resume after it (the
        service's ``NextToken``; ``None`` after the last page). Pages are
        yielded as the service sends them, empty ones included, within ``limit``.

        Returns:
            An async iterator of :class:`~ci_async.JobPage`, sharing this
            iterator's state (closing either closes both).

        Raises:
            RuntimeError: Jobs were already taken from this iterator one by one.
        """
        if self._mode == "jobs":
            msg = "this JobIterator is already being iterated job by job; use one or the other"
            raise RuntimeError(msg)
        self._mode = "pages"
        return _PageIterator(self)

    async def _next_page(self) -> JobPage:
        self._begin("pages")
        try:
            if not await self._advance():
                raise StopAsyncIteration
            jobs = self._jobs
            self._index = len(jobs)
            return JobPage(jobs, self.next_token, self._request_id)
        finally:
            self._busy = False

    # --- closing -------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop iterating: cancel a prefetch in flight and release its connection.

        Idempotent. Iterating a closed iterator ends at once.
        """
        self._closed = True
        self._jobs = ()
        self._index = 0
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending.aclose()

    async def __aenter__(self) -> JobIterator:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Dropped after `break` without aclose(): do not leave a request running.
        pending = getattr(self, "_pending", None)
        if pending is not None:
            with contextlib.suppress(Exception):  # never raise from a finalizer
                pending.cancel()

    # --- machinery -----------------------------------------------------------------

    def _begin(self, mode: str) -> None:
        if self._busy:
            msg = "this JobIterator is already being advanced by another task"
            raise RuntimeError(msg)
        if self._mode is not None and self._mode != mode:
            msg = "a JobIterator is iterated either job by job or with pages(), not both"
            raise RuntimeError(msg)
        if self._closed:
            raise StopAsyncIteration
        try:
            self._check_open()
        except BaseException:
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None
            raise
        self._mode = mode
        self._busy = True
        if not self._started:
            self._started = True
            if self._deadline is not None:
                self._deadline_at = anyio.current_time() + self._deadline

    def _wanted(self) -> int | None:
        """How many more jobs may be fetched (``None``: no limit)."""
        return None if self._limit is None else self._limit - self._fetched

    def _can_fetch(self) -> bool:
        wanted = self._wanted()
        return not self._last_page and (wanted is None or wanted > 0)

    def _size(self) -> int | None:
        """The ``size`` to ask for: the page size, or fewer when the limit is near."""
        wanted = self._wanted()
        if wanted is None or wanted >= (self._page_size or SERVICE_PAGE_SIZE):
            return self._page_size
        return wanted

    async def _advance(self) -> bool:
        """Make the next page current. False when there is none (or the limit is reached)."""
        if not self._can_fetch():
            self._jobs, self._index = (), 0
            return False
        if self._repeated is not None:
            msg = "the service sent a NextToken it had already sent: the listing would loop"
            raise PaginationError(msg, next_token=self._repeated)
        token = self._following
        pending = self._pending
        if pending is None:
            page: JobPage | None = await self._fetch(token, self._size(), self._deadline_at)
        else:
            try:
                page = await pending.result()
            finally:
                # Keep a request still running (the wait was cancelled) for the next step.
                if pending.done:
                    self._pending = None
        if page is None:  # aclose() from another task cancelled the prefetch
            return False
        self._accept(token, page)
        return True

    def _drop_repeats(self, jobs: tuple[Job, ...], request_id: str | None) -> tuple[Job, ...]:
        """``jobs`` without those already on the previous page or earlier on this one."""
        recent = self._recent
        ids = {job.job_id for job in jobs}
        self._recent = ids
        if len(ids) == len(jobs) and recent.isdisjoint(ids):
            return jobs
        kept: list[Job] = []
        seen = set(recent)
        for job in jobs:
            if job.job_id not in seen:
                seen.add(job.job_id)
                kept.append(job)
        _logger.info(
            "skipped %d job(s) the service listed twice [request_id=%s]",
            len(jobs) - len(kept),
            request_id,
        )
        return tuple(kept)

    def _accept(self, token: str | None, page: JobPage) -> None:
        jobs = self._drop_repeats(page.jobs, page.request_id)
        wanted = self._wanted()
        self._truncated = wanted is not None and len(jobs) > wanted
        if self._truncated:  # the service ignored `size`: never yield past the limit
            jobs = jobs[:wanted]
        self._fetched += len(jobs)
        self._jobs, self._index = jobs, 0
        self._page_token = token
        self._request_id = page.request_id
        following = page.next_token or None
        self._following = following
        if following is None:
            self._last_page = True
        elif following in self._seen:
            self._repeated = following
        else:
            self._seen.add(following)
            if self._prefetch and self._can_fetch():
                self._start_prefetch(following)

    def _start_prefetch(self, token: str) -> None:
        size, deadline_at, fetch = self._size(), self._deadline_at, self._fetch

        # The closure holds the session's fetch, not the iterator: dropping the
        # iterator must be able to finalize it (and cancel this request).
        async def fetch_page() -> JobPage:
            return await fetch(token, size, deadline_at)

        self._pending = _Prefetch(fetch_page)


class _PageIterator:
    """``JobIterator.pages()``: the same state, one page per step."""

    def __init__(self, jobs: JobIterator) -> None:
        self._jobs = jobs

    def __aiter__(self) -> _PageIterator:
        return self

    async def __anext__(self) -> JobPage:
        return await self._jobs._next_page()

    async def aclose(self) -> None:
        """Close the underlying :class:`JobIterator`."""
        await self._jobs.aclose()

    async def __aenter__(self) -> _PageIterator:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()
