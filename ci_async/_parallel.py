"""Parallel listing: several independent ``NextToken`` chains, one per creation-time window.

``NextToken`` is sequential: page N+1 cannot be asked for before page N's
token arrives. But ``startCreationTime``/``endCreationTime`` cut a listing into
time windows, and each window has its own chain. :class:`ParallelPages` runs
up to ``parallel`` requests at once over such windows and hands pages out in
the order a sequential listing would (newest first, or oldest first).

How the windows are chosen:

1. The listing starts as a sequential one would (the *head*: the caller's own
   query, or its ``next_token``); at the same time one request of one job in
   the other order finds the far end of the data (unless ``created_after`` /
   ``created_before`` already bound it).
2. The head's first page says where the listing stands and how dense the jobs
   are. The head stops there (its filter keeps the seconds wholly on its page)
   and the rest is carved, on demand, into windows sized to hold about one
   page each at the density seen so far (a page being what the service's
   pages hold: fewer jobs than asked for if a page with more to come says so).
3. When a request slot is free and no window needs it, a window is split in
   two (its chain keeps the near part; a new chain takes the far part), so a
   skewed distribution (most jobs in a short span) still spreads over the
   slots: the window in front first, and still when the pages buffered
   beyond it fill the look-ahead. Only a window with three pages' worth of
   seconds left is split, and a started chain's window is cut where one of
   its pages should end (from the seconds its last page spanned): each
   request still brings a whole page, and what it brings from beyond the cut
   is fetched for nothing. One second cannot be split: jobs created in the
   same second are listed by one chain.

Exactness whatever the service's bounds: the service documents its time
bounds at one-second resolution, not whether they are inclusive, nor the
precision of the creation times it compares them with. A window owns the
seconds ``[lo, hi)``, asks for ``lo - 1`` to ``hi`` and keeps only the jobs
created in ``[lo, hi)``: every job belongs to exactly one window. Once the
bound check (:mod:`._parallel_check`) shows that a start bound takes in the
whole second it names, new windows send ``lo`` and ``hi``: an end bound
naming ``hi - 1`` might take in only what was created at its very start. The caller's own
``created_after``/``created_before`` are sent as they are on the outer
windows, so they act as they do on a sequential listing.
A page holding jobs from beyond the seconds its window sent shows a service
that leaves the bounds out: the listing goes on with the window in front and
one unsplit chain for the rest (:meth:`ParallelPages._unbound`).
A creation time no bound can name (a service's year 9999, see ``expressible``) is
left to the outer window, open on that side; a head to be cut there lists on alone.

Resources: at most ``parallel`` requests in flight (the probe and the bound
check included), at most ``4 * parallel`` pages' worth of jobs buffered (and
at most ``2 * parallel`` pages' worth before the window a new request is
for, so the pages needed soonest come first), at most ``4 * parallel + 2``
windows alive: memory does not grow with the listing. The jobs are counted,
not the pages: a sparse stretch's pages, each holding a few jobs, take
little of the buffer. Pages beyond the look-ahead are given back (fetched
again in their turn) when they fill the buffer while the window in front is
listed alone (see :meth:`ParallelPages._room`). A throttled request pauses
every window (:class:`~ci_async._http.Pace`). A request that ends starts the
next ones itself: a slow consumer does not hold the listing back.

Resuming: :meth:`ParallelPages.snapshot`, made a ``next_token`` by :mod:`._parallel_token`.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import anyio
import attrs

from ._background import BackgroundRequest
from ._errors import PaginationError
from ._models import JobPage
from ._parallel_check import BoundCheck
from ._parallel_token import Snapshot, WindowState, expressible, far_end, when
from ._parallel_window import Window, creation_second, known_ends
from ._query import Fetch, PageQuery
from ._repeats import drop_repeats, once_timeless, token_digest

__all__ = ["ParallelPages"]

#: A window is split only with this many pages' worth of seconds left. Each split
#: costs about half a page fetched twice (where the chain's page crosses the new
#: edge) and a partial last page: with 2, a parallel listing of 20,000 jobs made
#: about 8% more requests and was 3-5% slower (pages of 10 and of 100).
_SPLIT_PAGES = 3


class ParallelPages:
    """Pages of a listing in sequential order, fetched over up to ``parallel`` chains at once.

    Args:
        fetch: One page of the listing for a :class:`PageQuery`.
        background: The session's set of background requests.
        parallel: Requests in flight at most (>= 2).
        page_size: The ``size`` of each request.
        ascending: Oldest first.
        after: The caller's ``created_after``, or ``None``.
        before: The caller's ``created_before``, or ``None``.
        limit: Jobs wanted at most, or ``None``.
        deadline_at: When every request must be over, or ``None``.
        start: A snapshot to resume, or the head's token (``None``: the start).
        filters: The fingerprint of the listing's filters.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        background: set[Any],
        parallel: int,
        page_size: int,
        ascending: bool,
        after: datetime | None,
        before: datetime | None,
        limit: int | None,
        deadline_at: float | None,
        start: Snapshot | str | None,
        filters: str,
    ) -> None:
        self._fetch = fetch
        self._background = background
        self._parallel = parallel
        self._page_size = page_size  # what each request asks for
        # The most jobs seen on a page with more to come, asked for in full: what
        # the service's pages hold, which may be fewer than asked (None: not seen yet).
        self._full_page: int | None = None
        self._ascending = ascending
        self._after = after
        self._before = before
        self._after_s = None if after is None else math.floor(after.timestamp())
        self._before_s = None if before is None else math.floor(before.timestamp())
        self._limit = limit
        self._deadline_at = deadline_at
        self._filters = filters
        self._handed_out = 0
        self._timeless: set[str] = set()  # (see once_timeless)
        # Jobs buffered, in pages' worth (see _per_page): at most ``lookahead`` before
        # the window a request is for, and ``max_buffered`` in all.
        self._lookahead = 2 * parallel
        self._max_buffered = 4 * parallel
        self._starved = 0  # round trips in a row of the window in front alone, buffer full
        self._changed = anyio.Event()
        self._closed = False
        # Where the data ends (the far side), the frontier of what is not carved
        # yet, and how wide new windows are.
        self._far: int | None = None
        self._frontier: int | None = None
        self._width: int | None = None  # seconds a new window spans
        self._stride: int | None = None  # the seconds the last full page spanned
        # Whether the service's bounds take in the whole second they name; until
        # the check shows it, a window asks for a second more on each side.
        self._check = BoundCheck()
        self._probe: BackgroundRequest[None] | None = None
        self._probe_done = False
        self._error: Exception | None = None  # the probe's, once no window is left to carry it
        # Whether the service was seen to leave the time bounds out (see _unbound),
        # and the requests of the windows dropped then, until they end.
        self._unbounded = False
        self._dropped: list[BackgroundRequest[None]] = []
        self._cut = self._carved = isinstance(start, Snapshot)
        if isinstance(start, Snapshot):
            self._windows = deque(
                Window(lo, hi, head=head, token=token, started=token is not None, after=a, before=b)
                for lo, hi, head, token, a, b in start.windows
            )
            self._probe_done = True
        else:
            self._windows = deque([Window(None, None, head=True, token=start, resumed=bool(start))])
            known = self._before_s if ascending else self._after_s
            self._far = far_end(known, ascending=ascending)
            self._probe_done = known is not None

    # --- what the iterator calls ------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Everything not handed out yet, as windows with the token to resume each from."""
        windows: list[WindowState] = [
            (
                window.lo,
                window.hi,
                window.head,
                window.resume_token(),
                window.after,
                window.before,
            )
            for window in self._windows
            if not (window.done and not window.pages)
        ]
        if self._frontier is not None:
            windows.append(self._rest_window())
        return Snapshot(tuple(windows), self._ascending, self._parallel, self._filters)

    async def next_page(self) -> tuple[Snapshot, JobPage, Snapshot] | None:
        """The next page in order, with the snapshots before and after it; ``None`` at the end.

        Raises:
            CIError: A request of the listing failed (after its retries).
        """
        while True:
            if self._closed:  # aclose(), maybe from another task
                return None
            self._schedule()
            if not self._windows:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                if self._frontier is None and (self._carved or not self._cut):
                    await self.aclose()  # a probe may still be on its way
                    return None
                await self._wait()  # for the probe, then the windows it lets carve
                continue
            head = self._windows[0]
            if head.pages:
                before = self.snapshot()
                _, page = head.pages.popleft()
                jobs = once_timeless(page.jobs, self._timeless)
                self._handed_out += len(jobs)
                if head.done and not head.pages and head.pending is None and head.error is None:
                    self._windows.popleft()
                return before, attrs.evolve(page, jobs=jobs, next_token=None), self.snapshot()
            if head.error is not None:
                error, head.error = head.error, None
                raise error
            if head.done and head.pending is None:
                self._windows.popleft()
                continue
            await self._wait()

    async def _wait(self) -> None:
        """Until a request of the listing finishes."""
        changed = self._changed
        await changed.wait()
        if changed is self._changed:
            self._changed = anyio.Event()

    async def aclose(self) -> None:
        """Cancel the requests in flight, wait for their release; a waiting next_page() ends."""
        self._closed = True
        self._changed.set()
        for request in self._requests():
            await request.aclose()

    def cancel(self) -> None:
        """Start nothing more and cancel every request in flight (from a finalizer too)."""
        self._closed = True
        for request in self._requests():
            request.cancel()

    def _requests(self) -> list[BackgroundRequest[Any]]:
        others = [each for each in (self._probe, self._check.request) if each is not None]
        return [w.pending for w in self._windows if w.pending is not None] + others + self._dropped

    # --- scheduling --------------------------------------------------------------------

    def _in_flight(self) -> int:
        return len(self._requests())

    def _buffered(self) -> int:
        """The jobs fetched and not handed out yet."""
        return sum(window.held() for window in self._windows)

    def _schedule(self) -> None:
        """Start what the free slots allow.

        Called by the consumer and by every request as it ends, so that a
        consumer slow with its page does not hold the listing back.
        """
        for each in self._windows:
            if each.pending is not None and each.pending.done:
                each.pending = None  # cancelled: sent again, as the probe is
        if self._probe is not None and self._probe.done:
            self._probe = None
        self._dropped = [request for request in self._dropped if not request.done]
        if self._closed:
            return
        while self._in_flight() < self._parallel:
            if not self._probe_done and self._probe is None:
                self._start_probe()
                continue
            if self._check_due():
                self._start_check()
                continue
            window = self._pick()
            if window is None:
                break
            self._start(window)

    def _pick(self) -> Window | None:
        """The window to fetch next, carving or splitting one when none waits."""
        if self._windows:
            head = self._windows[0]
            if not head.done and head.pending is None and not head.pages and head.error is None:
                return head  # the page the caller needs next: always
        if not self._carved:
            return None
        jobs = self._buffered()
        if self._limit is not None and self._handed_out + jobs >= self._limit:
            return None
        # The earliest window that can take a request, within the look-ahead: the
        # jobs buffered before it (in order) count, those after it do not. When
        # the look-ahead is used up, a window before that point may still be
        # split: its far part's pages come before the pages buffered beyond it
        # (without this, the window in front is listed one page a round trip
        # while later windows' pages wait).
        within = self._lookahead_end()
        for window in itertools.islice(self._windows, within):
            if not window.done and window.pending is None and window.error is None:
                return window if self._room(jobs, within) else None
        if self._unbounded:
            return None  # (nothing to split: see _unbound)
        if len(self._windows) >= 4 * self._parallel + 2 or not self._room(jobs, within):
            return None
        if within < len(self._windows):
            return self._split(within)  # (nothing is carved beyond the look-ahead)
        return self._split() or self._carve()

    def _lookahead_end(self) -> int:
        """How many windows come before the look-ahead's end (the jobs buffered before it)."""
        ahead, most = 0, self._lookahead * self._per_page
        for index, window in enumerate(self._windows):
            if ahead >= most:
                return index
            ahead += window.held()
        return len(self._windows)

    def _room(self, jobs: int, within: int) -> bool:
        """Whether a page may be fetched for one of the first ``within`` windows.

        The buffer holds ``4 * parallel`` pages' worth of jobs. When it is
        full, the pages of the windows after those (beyond the look-ahead) are
        given back (last first), until a round of requests fits: they are
        needed only after every page before them, and are fetched again when
        their turn comes. Without this, pages fetched early for the far end of
        the listing (its sparse stretches are crossed first) can fill the
        buffer and leave the window in front one request a round trip. A
        window's ``k`` pages are given back only once the window in front has
        had ``2k + 2`` round trips in a row alone, the buffer full: fetching
        them again costs ``k`` requests, and near the end of a listing such a
        wait is short.
        """
        most = self._capacity
        if jobs < most:
            return True
        for window in reversed(list(itertools.islice(self._windows, within, None))):
            # (Room for a whole round of requests, not one: each give-back waits its turn.)
            if jobs <= most - self._parallel * self._per_page:
                break
            if self._starved < 2 * len(window.pages) + 2:
                break
            if window.pages and window.pending is None and window.error is None:
                jobs -= window.held()
                window.give_back()
        return jobs < most

    def _adapt(self, window: Window, kept: int, more: bool) -> None:
        """Resize new windows after a window's first page, aiming at one page each.

        Each window carved without news is twice as wide as the one before (so
        sparse stretches are crossed in a few requests); a window that had more
        than a page halves the width (too wide a window costs little: its far
        part is split off when a slot is free); one with far fewer jobs than a
        page widens it by the ratio (at most sixteenfold).
        """
        if window.head or window.lo is None or window.hi is None or self._width is None:
            return
        span = window.hi - window.lo
        if more:
            self._width = max(1, span // 2)
        elif kept < self._per_page / 2:
            ratio = min(16.0, self._per_page / max(kept, self._per_page / 16))
            self._width = max(self._width, math.ceil(span * ratio))

    def _carve(self) -> Window | None:
        """A new window from the frontier (the far end of what is carved), if any is left."""
        frontier = self._frontier
        if frontier is None:
            return None
        width = self._width or 1
        self._width = 2 * width  # no news yet: the next one reaches further
        far = self._far
        if self._ascending:
            end = frontier + width
            if far is None or end > far:
                window, self._frontier = Window(frontier, None), None
            else:
                window, self._frontier = Window(frontier, end), end
        else:
            start = frontier - width
            if far is None or start <= far:
                window, self._frontier = Window(None, frontier), None
            else:
                window, self._frontier = Window(start, frontier), start
        self._windows.append(window)
        return window

    def _rest_window(self) -> WindowState:
        assert self._frontier is not None
        if self._ascending:
            return (self._frontier, None, False, None, None, None)
        return (None, self._frontier, False, None, None, None)

    def _remaining(self, window: Window) -> tuple[int, int] | None:
        """The seconds ``window`` still has to list, as a half-open ``[start, end)``, if known."""
        if window.done or window.error is not None or window.head:
            return None
        if window.started and window.position is None:
            return None  # its first page is on its way: where it stands is not known
        lo = window.lo if window.lo is not None else self._far
        hi = window.hi if window.hi is not None else self._far
        if lo is None or hi is None:
            return None
        # (A chain may stand a second beyond its own edge: it asks for one more.)
        if self._ascending:
            start = lo if window.position is None else max(lo, window.position)
            end = hi if window.hi is not None else hi + 1
        else:
            start = lo
            end = hi if window.position is None else min(hi, window.position + 1)
        return (start, end) if end - start >= 2 else None

    def _split(self, within: int | None = None) -> Window | None:
        """Split one of the first ``within`` windows (all: ``None``); a new one takes its far part.

        The first window (in order) whose chain has more pages to go is split:
        its pages are the soonest needed. Failing that, the widest window.
        Only a window with at least :data:`_SPLIT_PAGES` pages' worth of seconds left is split
        (a page spans :attr:`Window.stride` seconds, or the last full page's
        span): a chain's request fetches a whole page whatever its edge, so
        cutting less than that off saves no request and discards what the
        page brings from beyond the new edge.
        """
        chosen: tuple[int, tuple[int, int]] | None = None
        widest = 0
        for index, window in enumerate(self._windows):
            if within is not None and index >= within:
                break
            remaining = self._remaining(window)
            if remaining is None:
                continue
            span = remaining[1] - remaining[0]
            if span < _SPLIT_PAGES * (window.stride or self._stride or 1):
                continue
            if window.started and window.token is not None:
                chosen = (index, remaining)
                break
            if span > widest:
                widest, chosen = span, (index, remaining)
        if chosen is None:
            return None
        index, (start, end) = chosen
        window = self._windows[index]
        middle = window.split_edge(start, end, ascending=self._ascending)
        if self._ascending:
            new = Window(middle, window.hi)
            window.hi = middle
        else:
            new = Window(window.lo, middle)
            window.lo = middle
        self._windows.insert(index + 1, new)
        return new

    # --- requests -------------------------------------------------------------------------

    def _query_bounds(self, window: Window) -> tuple[int | None, int | None]:
        """The seconds a window's requests send (``None``: the caller's own bound).

        ``lo - 1`` to ``hi`` for a window owning ``[lo, hi)``: exact whatever the
        service does (the client keeps only what is in the range); ``lo`` to
        ``hi`` once the bound check has shown that a start bound takes in the
        whole second it names. The end bound stays a second beyond: that it
        takes in the whole second too cannot be shown (see
        :mod:`._parallel_check`). A tighter bound of the caller's is sent as it is.
        """
        if window.head or self._unbounded:
            return None, None
        after = None
        if window.lo is not None:
            after = window.lo if self._check.inclusive else window.lo - 1
            if self._after_s is not None and after < self._after_s:
                after = None
        before = None
        if window.hi is not None:
            before = window.hi
            if self._before_s is not None and before > self._before_s:
                before = None
        return after, before

    def _size(self, window: Window) -> int:
        if self._limit is None or window is not self._windows[0]:
            return self._page_size
        left = self._limit - self._handed_out
        return max(1, min(self._page_size, left))

    def _start(self, window: Window) -> None:
        if not window.started:
            window.after, window.before = self._query_bounds(window)
            window.started = True
        query = PageQuery(
            token=window.token,
            size=self._size(window),
            after=self._after if window.after is None else when(window.after),
            before=self._before if window.before is None else when(window.before),
        )
        window.pending = self._spawn(
            query, lambda page, error: self._settle(window, page, error, query.size)
        )

    def _spawn(
        self, query: PageQuery, settle: Callable[[JobPage | None, Exception | None], None]
    ) -> BackgroundRequest[None]:
        """Run ``query`` beside the consumer; ``settle`` takes its page or error as it ends."""
        fetch, deadline_at = self._fetch, self._deadline_at

        async def run() -> None:
            try:
                page = await fetch(query, deadline_at)
            except Exception as exc:  # raised when the caller reaches it
                settle(None, exc)
            else:
                settle(page, None)
            finally:
                self._changed.set()

        return BackgroundRequest(run, self._background)

    def _start_probe(self) -> None:
        """One job in the other order: where the data ends."""
        query = PageQuery(size=1, ascending=not self._ascending)
        self._probe = self._spawn(query, self._settle_probe)

    def _settle_probe(self, page: JobPage | None, error: Exception | None) -> None:
        self._probe = None
        self._probe_done = True
        if error is not None:
            # Raised when the caller reaches it: after the head's pages if the head
            # is still there, else at once (nothing can be carved without the probe).
            self._fail(error)
            return
        if page is not None and page.jobs:
            self._far = far_end(creation_second(page.jobs[0]), ascending=self._ascending)
        self._try_carve()
        self._schedule()

    def _check_due(self) -> bool:
        """Whether to send the bound check now: a whole second is known, and windows are to come."""
        if self._check.second is None or not self._carved or self._unbounded:
            return False
        if self._limit is not None and self._handed_out + self._buffered() >= self._limit:
            return False
        return self._frontier is not None or len(self._windows) > 1

    def _start_check(self) -> None:
        """Send the bound check (:class:`~ci_async._parallel_check.BoundCheck`)."""
        assert self._check.second is not None
        at, size = when(self._check.second[0]), self._page_size
        fetch, deadline_at = self._fetch, self._deadline_at

        def ask(token: str | None) -> Awaitable[JobPage]:
            return fetch(PageQuery(token, size, after=at, before=at), deadline_at)

        def done() -> None:
            self._changed.set()
            self._schedule()

        self._check.start(ask, self._per_page, self._background, self._fail, done)

    def _fail(self, error: Exception) -> None:
        """An error of a request outside the windows: raised when the caller reaches the front."""
        if self._windows:
            self._windows[0].error = error
        else:
            self._error = error

    def _settle(
        self, window: Window, page: JobPage | None, error: Exception | None, asked: int | None
    ) -> None:
        """Take in a window's page (or error), then start what that allows."""
        window.pending = None
        if window is self._windows[0]:  # round trips of the window in front alone (see _room)
            alone = self._in_flight() == 0 and self._buffered() >= self._capacity
            self._starved = self._starved + 1 if alone else 0
        if error is None and page is not None:
            try:
                self._take(window, page, asked)
            except Exception as exc:  # raised when the caller reaches it, as a failed request
                error = exc
        if error is not None:
            window.error = error
        self._schedule()

    @property
    def _per_page(self) -> int:
        """The jobs a page holds: as many as asked for, until the service's pages say less."""
        return self._full_page or self._page_size

    @property
    def _capacity(self) -> int:
        """The jobs the buffer holds: ``max_buffered`` pages' worth."""
        return self._max_buffered * self._per_page

    def _take(self, window: Window, page: JobPage, asked: int | None) -> None:
        """Buffer a page of ``window``'s chain and move the chain on."""
        token = window.token
        jobs, window.recent = drop_repeats(page.jobs, window.recent, page.request_id)
        seconds = [creation_second(job) for job in jobs]
        if not self._unbounded and window.strays(seconds, self._after_s, self._before_s):
            self._unbound()
            if window is not self._windows[0]:
                return  # dropped: the chain for the rest lists its seconds
        following = page.next_token or None
        cut = window.head and not self._cut and not window.waits(seconds, more=bool(following))
        if following is not None and page.jobs and asked == self._page_size:
            # More to come: this page is as full as the service makes them.
            self._full_page = max(self._full_page or 0, len(page.jobs))
        first, last = known_ends(seconds)  # (a job with no time says nothing of where)
        if last is not None:
            window.position = last
            if cut and not self._unbounded and following is not None:
                self._cut_head(window, last)
        kept = tuple(job for job, second in zip(jobs, seconds, strict=True) if window.keeps(second))
        if self._check.looking:
            self._check.follow(window, jobs, seconds, 5 * self._per_page)
        if len(page.jobs) >= self._per_page and first is not None and last is not None:
            window.stride = self._stride = abs(last - first)
        window.pages.append((token, JobPage(kept, None, page.request_id)))
        window.token = following
        if following is None or window.passed(last, ascending=self._ascending):
            window.done = True
        else:
            digest = token_digest(following)
            if digest in window.seen:
                window.error = PaginationError(
                    "the service sent a NextToken it had already sent: the listing would loop",
                    next_token=following,
                )
                window.done = True
            window.seen.add(digest)
        if cut:
            self._cut = True  # (a head whose first page ends the listing is not cut)
            self._width = self._first_width(seconds)
            self._try_carve()
        elif token is None:
            self._adapt(window, len(kept), more=not window.done)

    def _unbound(self) -> None:
        """Go on without time bounds: the service leaves them out of its answers.

        Each window's chain would then cross every page before its own. The
        window in front goes on (it keeps its own seconds: what it hands out
        is exact); those after it are dropped, their requests cancelled, and
        one chain sending only the caller's bounds lists all that is left, in
        order: at most about two sequential listings' pages in all.
        """
        self._unbounded = True
        front = self._windows.popleft()
        for window in self._windows:
            if window.pending is not None:
                window.pending.cancel()
                self._dropped.append(window.pending)
        self._windows = deque([front])
        edge = front.hi if self._ascending else front.lo
        if edge is not None:
            self._windows.append(Window(edge, None) if self._ascending else Window(None, edge))
        self._frontier = None

    def _first_width(self, seconds: Sequence[int | None]) -> int:
        """The first windows' width: what the head's first page spanned, for a page."""
        known = [second for second in seconds if second is not None]
        if not known:
            return 1
        span = max(known) - min(known) + 1
        return max(1, math.ceil(span * self._per_page / max(len(known), 1)))

    def _cut_head(self, head: Window, reached: int) -> None:
        """Stop the head after its first page; what is beyond is carved into windows.

        The head keeps the seconds wholly on its page; the second it reached
        may go on, so that second belongs to the windows after it. An edge no
        window may name (:func:`~ci_async._parallel_token.expressible`: a service's
        year 1 or 9999) leaves the head uncut: it lists on alone, as sequentially.
        """
        edge = reached if self._ascending else reached + 1
        if expressible(edge):
            head.hi, head.lo = (edge, head.lo) if self._ascending else (head.hi, edge)
            self._frontier = edge

    def _try_carve(self) -> None:
        """Carving starts once the head is cut and the far end of the data is known."""
        if self._carved or not self._cut or not self._probe_done:
            return
        self._carved = True
        if self._frontier is not None and self._far is None:
            self._far = self._frontier  # the probe found nothing: one last window
