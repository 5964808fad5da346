"""JobIterator: follows ``NextToken`` page by page, one page ahead, or over parallel windows.

The iterator knows nothing about HTTP: the session hands it a ``fetch(query,
deadline_at)`` coroutine function that returns one :class:`JobPage` (retries
included). This module only decides *which* page to ask for, when, and how to
resume. A page fetched ahead runs as a
:class:`~ci_async._background.BackgroundRequest` owned by the iterator; with
``parallel``, :class:`~ci_async._parallel.ParallelPages` produces the pages.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import anyio

from . import _checks
from ._background import BackgroundRequest
from ._errors import PaginationError
from ._models import Job, JobPage
from ._parallel import ParallelPages
from ._parallel_token import (
    MAX_PARALLEL,
    MAX_TOKEN_LENGTH,
    Snapshot,
    decode_token,
    encode_token,
    filters_fingerprint,
    is_parallel_token,
)
from ._query import ListFilters, PageQuery
from ._repeats import drop_repeats, token_digest

__all__ = ["FetchPage", "JobIterator", "PageIterator"]

#: ``fetch(query, deadline_at)``: one page, retries included.
FetchPage = Callable[[PageQuery, float | None], Awaitable[JobPage]]

#: The page size the service uses when ``size`` is not sent.
SERVICE_PAGE_SIZE = 10
#: The service's largest page.
MAX_PAGE_SIZE = 100


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
    token of the following page, so a checkpoint saved after a page's last job
    (or after each page, with :meth:`pages`) resumes with no job lost or repeated.
    Before the first page it is the token the iterator was started from
    (``None`` for the beginning); when the listing is complete it is ``None``
    and :attr:`exhausted` is true.

    ``limit``: at most that many jobs are yielded and no page beyond them is
    requested; the last page is asked with ``size`` = the jobs still wanted, so
    the page ends exactly at the limit and :attr:`next_token` then continues
    right after it.

    ``prefetch``: while the consumer works on a page, the next one is
    requested in the background (one page ahead at most, never past
    ``limit``). While the consumer waits for a page, the next request starts
    as soon as that page's answer arrives, on the ``NextToken`` read off its
    bytes, and the page is decoded once that request is on its way (over
    httpx's own transport: written to its connection; over any other: handed
    to the transport); the request is cancelled if the decoded page holds
    another token. A failure of that request is raised when the consumer
    reaches the page. That request is owned by the iterator: ``aclose()``
    (and leaving ``async with``) cancels it and waits for its connection to be
    released, and the session's ``aclose()`` does the same. An iterator
    dropped after ``break`` without being closed needs neither: its request is
    one request, bounded by the session's timeouts and the deadline, and ends
    on its own (as a courtesy, the iterator also cancels it when it is
    collected).

    ``deadline``: seconds, counted from the first step of the iteration, within
    which every page request (retries and backoff included) must complete;
    past it, the next request raises :class:`~ci_async.TransportError`.

    ``parallel``: with 2 or more, the pages come from up to that many requests
    in flight over creation-time windows (:doc:`/parallel`), with the same
    jobs in the same order as the sequential listing, and everything here
    holds; :attr:`next_token` is then a ``ci_async.parallel.v1.`` token once
    the listing is cut into windows. Each of its requests asks for
    ``page_size`` jobs, or 100 when ``page_size`` is left out (a sequential
    listing then sends no ``size``, and the service's pages hold 10).

    A ``NextToken`` the service already sent raises
    :class:`~ci_async.PaginationError` (after the jobs of the page that carried
    it), instead of looping forever. The iterator remembers a 16-byte digest
    per token, not the tokens.

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
        background: set[Any],
        page_size: int | None = None,
        limit: int | None = None,
        next_token: str | None = None,
        prefetch: bool = True,
        deadline: float | None = None,
        parallel: int | None = None,
        filters: ListFilters | None = None,
    ) -> None:
        # The iterator's own knobs are checked here, when list_jobs() is called.
        self._filters = ListFilters() if filters is None else filters
        fingerprint = filters_fingerprint(self._filters.params(order=self._filters.order or "Desc"))
        resume = None
        if isinstance(next_token, str) and is_parallel_token(next_token):
            resume = decode_token(next_token)
            if (resume.filters, resume.ascending) != (fingerprint, self._filters.ascending):
                msg = "next_token belongs to a listing with other filters or another order"
                raise ValueError(msg)
            next_token = None
        if parallel is not None:
            _checks.positive_int(parallel, "parallel", minimum=1, maximum=MAX_PARALLEL)
        if resume is not None and parallel is None:
            parallel = resume.parallel
        self._parallel = None if parallel is None or parallel < 2 else parallel
        if resume is not None and self._parallel is None:
            msg = "a parallel listing's next_token resumes with parallel=2 or more"
            raise ValueError(msg)
        self._fingerprint = fingerprint
        self._source: ParallelPages | None = None
        if page_size is not None:
            _checks.positive_int(page_size, "page_size", minimum=1, maximum=MAX_PAGE_SIZE)
        if limit is not None:
            _checks.positive_int(limit, "limit", minimum=0)
        if next_token is not None and not _checks.encodable(
            _checks.require_str(next_token, "next_token"), "next_token"
        ):
            msg = "next_token must not be empty (pass None to start at the beginning)"
            raise ValueError(msg)
        _checks.instance(prefetch, bool, "prefetch")
        if deadline is not None:
            deadline = _checks.seconds(deadline, "deadline")
        self._fetch = fetch
        self._check_open = check_open
        self._background = background
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
        start: str | Snapshot | None = resume if resume is not None else (next_token or None)
        self._page_token: str | Snapshot | None = start
        self._following: str | Snapshot | None = start
        self._truncated = False
        self._last_page = False
        self._fetched = 0
        self._seen: set[bytes] = {token_digest(next_token)} if next_token else set()
        self._repeated: str | None = None
        self._pending: BackgroundRequest[JobPage] | None = None
        # The size asked for the page awaited; whether _advance() awaits it now.
        self._awaited_size: int | None = None
        self._waiting = False
        # The request started on the awaited page's token hint: (token, size, request).
        self._ahead: tuple[str, int | None, BackgroundRequest[JobPage]] | None = None
        self._request_id: str | None = None
        self._recent: frozenset[str] = frozenset()
        # The requests in flight hold the hook, not the iterator: one dropped
        # without being closed is still collected (and its __del__ cancels them).
        self._hint_hook = _weak_hook(self._go_ahead) if prefetch else None

    def __repr__(self) -> str:
        return (
            f"<JobIterator fetched={self._fetched} limit={self._limit} "
            f"exhausted={self.exhausted} closed={self._closed}>"
        )

    @property
    def next_token(self) -> str | None:
        """The token to resume from so that no job not yet yielded is lost (see class docs)."""
        token = (
            self._page_token
            if self._index < len(self._jobs) or self._truncated
            else self._following
        )
        return encode_token(token) if isinstance(token, Snapshot) else token

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

    def pages(self) -> PageIterator:
        """Iterate page by page instead of job by job.

        Each page's ``next_token`` is the token to resume after it (the
        service's ``NextToken``; ``None`` after the last page). Pages are
        yielded as the service sends them, empty ones included, within ``limit``.

        Returns:
            A :class:`~ci_async.PageIterator`: an async iterator of
            :class:`~ci_async.JobPage`, sharing this iterator's state (closing
            either closes both), usable with ``async with``.

        Raises:
            RuntimeError: Jobs were already taken from this iterator one by one.
        """
        if self._mode == "jobs":
            msg = "this JobIterator is already being iterated job by job; use one or the other"
            raise RuntimeError(msg)
        self._mode = "pages"
        return PageIterator(self)

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
        """Stop iterating: cancel a request in flight and wait for its connection's release.

        Idempotent. Iterating a closed iterator ends at once.
        """
        self._closed = True
        self._jobs = ()
        self._index = 0
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending.aclose()
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            await ahead[2].aclose()
        if self._source is not None:
            await self._source.aclose()

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
        # A courtesy, not a guarantee: the request would end on its own anyway.
        pending = getattr(self, "_pending", None)
        if pending is not None:
            pending.cancel()
        self._drop_ahead()
        source = getattr(self, "_source", None)
        if source is not None:
            source.cancel()

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
            self._drop_ahead()
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

    def _size(self, coming: int = 0) -> int | None:
        """The ``size`` to ask for: the page size, or fewer when the limit is near.

        ``coming``: jobs on their way that :meth:`_wanted` does not count yet.
        """
        wanted = self._wanted()
        if wanted is None or wanted - coming >= (self._page_size or SERVICE_PAGE_SIZE):
            return self._page_size
        return wanted - coming

    async def _advance(self) -> bool:
        """Make the next page current. False when there is none (or the limit is reached)."""
        # The page before is all taken: let it go before the next one is decoded.
        self._jobs, self._index = (), 0
        if not self._can_fetch():
            return False
        if self._parallel is not None:
            return await self._advance_parallel()
        if self._repeated is not None:
            msg = "the service sent a NextToken it had already sent: the listing would loop"
            raise PaginationError(msg, next_token=self._repeated)
        token = self._following
        assert not isinstance(token, Snapshot)
        pending = self._pending
        self._waiting = True
        try:
            if pending is None:
                self._awaited_size = size = self._size()
                query = self._query(token, size)
                page: JobPage | None = await self._fetch(query, self._deadline_at)
            else:
                try:
                    page = await pending.result()
                finally:
                    # Keep a request still running (the wait was cancelled) for the next step.
                    if pending.done:
                        self._pending = None
        except BaseException:
            self._drop_ahead()
            raise
        finally:
            self._waiting = False
        if page is None or self._closed:  # aclose(): this iterator's, or the session's
            self._drop_ahead()
            if not self._closed:
                self._check_open()
            return False
        self._accept(token, page)
        return True

    async def _advance_parallel(self) -> bool:
        if self._source is None:
            assert self._parallel is not None
            start = self._following
            if isinstance(start, str) and len(start) > MAX_TOKEN_LENGTH:
                # As sequentially (where building the request refuses it), before
                # any request: the far end's probe would go out beside the head's.
                msg = f"the NextToken is too long to send back ({len(start)} characters)"
                raise PaginationError(msg, next_token=start)
            self._source = ParallelPages(
                self._fetch,
                background=self._background,
                parallel=self._parallel,
                # Windows are sized in pages: the largest, unless the caller chose.
                page_size=self._page_size or MAX_PAGE_SIZE,
                ascending=self._filters.ascending,
                after=self._filters.created_after,
                before=self._filters.created_before,
                limit=self._limit,
                deadline_at=self._deadline_at,
                start=self._following,
                filters=self._fingerprint,
            )
        got = await self._source.next_page()
        if self._closed:  # aclose() from another task: not the end of the listing
            return False
        if got is None:
            self._last_page, self._truncated = True, False
            self._jobs, self._index, self._following = (), 0, None
            return False
        before_page, page, after_page = got
        self._hold(page.jobs, page.request_id)
        self._page_token, self._following = before_page, after_page
        if not after_page.windows:
            self._last_page = True
        return True

    def _hold(self, jobs: tuple[Job, ...], request_id: str | None) -> None:
        """Make ``jobs`` the page handed out next, cut at the limit."""
        wanted = self._wanted()
        self._truncated = wanted is not None and len(jobs) > wanted
        if self._truncated:  # the service ignored `size`: never yield past the limit
            jobs = jobs[:wanted]
        self._fetched += len(jobs)
        self._jobs, self._index = jobs, 0
        self._request_id = request_id

    def _accept(self, token: str | None, page: JobPage) -> None:
        jobs, self._recent = drop_repeats(page.jobs, self._recent, page.request_id)
        self._hold(jobs, page.request_id)
        self._page_token = token
        following = page.next_token or None
        self._following = following
        if following is None:
            self._last_page = True
            self._drop_ahead()
            return
        digest = token_digest(following)
        if digest in self._seen:
            self._repeated = following
        else:
            self._seen.add(digest)
            if self._prefetch and self._can_fetch():
                size, ahead = self._size(), self._ahead
                if ahead is not None and ahead[:2] == (following, size):
                    # Started on this page's hint: the token and size it would be sent now.
                    self._ahead, self._pending, self._awaited_size = None, ahead[2], size
                else:
                    self._start_prefetch(following, size)
        self._drop_ahead()

    def _query(
        self, token: str | None, size: int | None, sent: anyio.Event | None = None
    ) -> PageQuery:
        return PageQuery(token=token, size=size, ahead=self._hint_hook, sent=sent)

    def _request(
        self, token: str, size: int | None, sent: anyio.Event | None = None
    ) -> BackgroundRequest[JobPage]:
        """A request for the page at ``token``, running beside the consumer.

        ``sent`` is set once the request is on its way, and at the latest when it ends.
        """
        query = self._query(token, size, sent)
        deadline_at, fetch = self._deadline_at, self._fetch

        async def fetch_page() -> JobPage:
            try:
                return await fetch(query, deadline_at)
            finally:
                if sent is not None:
                    sent.set()

        return BackgroundRequest(fetch_page, self._background)

    def _start_prefetch(self, token: str, size: int | None) -> None:
        self._pending, self._awaited_size = self._request(token, size), size

    def _go_ahead(self, token: str) -> anyio.Event | None:
        """The answer for the page awaited carries ``token``: request the next page now?

        Called before that page is decoded, so that the next request is on its
        way meanwhile. Only while the consumer waits for that page (so never
        more than one page ahead), and only if the next page is wanted however
        full that page turns out. The request is kept if the decoded page has
        that token and the same size would be asked, cancelled otherwise.

        Returns:
            The started request's ``sent`` event, or ``None`` if none was started.
        """
        if not self._waiting or self._ahead is not None or self._closed:
            return None
        if token_digest(token) in self._seen:
            return None
        coming = self._awaited_size or SERVICE_PAGE_SIZE  # the page awaited, if full
        wanted = self._wanted()
        if wanted is not None and wanted <= coming:
            return None
        size = self._size(coming)
        sent = anyio.Event()
        self._ahead = (token, size, self._request(token, size, sent))
        return sent

    def _drop_ahead(self) -> None:
        """Cancel the request started on a hint, if it was not taken up."""
        ahead = getattr(self, "_ahead", None)
        if ahead is not None:
            self._ahead = None
            ahead[2].cancel()


def _weak_hook(
    method: Callable[[str], anyio.Event | None],
) -> Callable[[str], anyio.Event | None]:
    """Call ``method`` while its object lives; a hook that keeps no reference to it."""
    ref = weakref.WeakMethod(method)

    def hook(token: str) -> anyio.Event | None:
        bound = ref()
        return None if bound is None else bound(token)

    return hook


class PageIterator(AsyncIterator[JobPage]):
    """The pages of a listing, as :meth:`JobIterator.pages` returns them.

    An async iterator of :class:`~ci_async.JobPage` over the state of the
    :class:`~ci_async.JobIterator` it came from: closing either closes both.
    Close it as that one, with :meth:`aclose`, ``async with`` or
    ``contextlib.aclosing()``::

        async with ci.list_jobs(page_size=100).pages() as pages:
            async for page in pages:
                save(page.jobs, checkpoint=page.next_token)

    Not constructed directly.
    """

    def __init__(self, jobs: JobIterator) -> None:
        self._jobs = jobs

    def __aiter__(self) -> PageIterator:
        return self

    async def __anext__(self) -> JobPage:
        return await self._jobs._next_page()

    async def aclose(self) -> None:
        """Close the underlying :class:`JobIterator` (see :meth:`JobIterator.aclose`)."""
        await self._jobs.aclose()

    async def __aenter__(self) -> PageIterator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
