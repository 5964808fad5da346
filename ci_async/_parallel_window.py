"""One time window of a parallel listing and its ``NextToken`` chain (see :mod:`._parallel`)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import attrs

from ._background import BackgroundRequest
from ._models import Job, JobPage

__all__ = ["Window", "creation_second", "known_ends"]


def creation_second(job: Job) -> int | None:
    """The whole second ``job`` was created in (``None``: the service gave no time)."""
    created = job.creation_time
    return None if created is None else math.floor(created.timestamp())


def known_ends(seconds: Sequence[int | None]) -> tuple[int | None, int | None]:
    """The first and the last of ``seconds`` that are known: where a page starts and ends.

    A job the service gives no creation time (``None``) says nothing of where
    its chain stands, wherever it comes on the page.
    """
    if seconds and seconds[0] is not None and seconds[-1] is not None:
        return seconds[0], seconds[-1]
    known = [second for second in seconds if second is not None]
    return (known[0], known[-1]) if known else (None, None)


@attrs.define
class Window:
    """One time window and its token chain."""

    lo: int | None
    hi: int | None
    head: bool = False
    token: str | None = None  # the next page's token (None: the first page)
    started: bool = False
    done: bool = False
    position: int | None = None  # the second the chain has reached
    pages: deque[tuple[str | None, JobPage]] = attrs.Factory(deque)
    pending: BackgroundRequest[None] | None = None
    error: Exception | None = None
    after: int | None = None  # the seconds its requests send (None: the caller's bound),
    before: int | None = None  # fixed when the chain starts
    seen: set[bytes] = attrs.Factory(set)
    recent: frozenset[str] = frozenset()
    stride: int | None = None  # the seconds its last full page spanned
    # The second its chain is in and the ids it brought from it so far, and whether
    # the chain had brought an earlier second first (then the run is whole once the
    # chain moves past it): what the bound check starts from (see BoundCheck.follow).
    run: tuple[int | None, list[str]] | None = None
    run_whole: bool = False
    # A head resumed from a plain token, and the second of the first job its chain
    # brought: that second may have been handed out in part before (see waits).
    resumed: bool = False
    first: int | None = None

    def keeps(self, second: int | None) -> bool:
        """Whether a job created at ``second`` belongs to this window."""
        if second is None:
            return True
        return (self.lo is None or second >= self.lo) and (self.hi is None or second < self.hi)

    def strays(self, seconds: Sequence[int | None], after: int | None, before: int | None) -> bool:
        """Whether a page of its chain holds jobs from beyond the seconds its requests sent.

        ``after`` and ``before`` are the caller's bounds, in seconds: what its
        requests send where the window sends none of its own.
        """
        after = after if self.after is None else self.after
        before = before if self.before is None else self.before
        known = [second for second in seconds if second is not None]
        return bool(known) and (
            (after is not None and min(known) < after)
            or (before is not None and max(known) > before)
        )

    def waits(self, seconds: Sequence[int | None], *, more: bool) -> bool:
        """Whether a head resumed from a plain token is not cut after this page yet.

        A head is cut after its first page: it keeps the seconds wholly on it,
        and the windows after it list the second it reached, whole. A resumed
        head's first pages may lie in one second whose start was handed out
        before its token: it goes on until a page reaches a later second.
        As a side effect, a resumed head's first page that has a second
        records that second in :attr:`first`: pass the pages in order.
        """
        if self.resumed and self.first is None and seconds:
            self.first = seconds[0]
        return self.resumed and more and seconds[-1:] == [self.first]

    def split_edge(self, start: int, end: int, *, ascending: bool) -> int:
        """Where to split ``[start, end)``: halfway, moved to where one of the chain's pages ends.

        A started chain's pages each span about ``stride`` seconds from where it
        stands; an edge just short of a page's end lets the chain stop with that
        page, keeping all but its last second, instead of needing one more page
        that is mostly beyond the edge.
        """
        middle = (start + end) // 2
        stride, position = self.stride, self.position
        if not self.started or not stride or position is None:
            return middle
        if ascending:
            steps = max(1, round((middle - position) / stride))
            aligned = position + steps * stride
        else:
            steps = max(1, round((position + 1 - middle) / stride))
            aligned = position - steps * stride + 1
        return aligned if start < aligned < end else middle

    def passed(self, last: int | None, *, ascending: bool) -> bool:
        """Whether a chain whose page ended at second ``last`` is past its far edge."""
        if last is None:
            return False
        if ascending:
            return self.hi is not None and last >= self.hi
        return self.lo is not None and last < self.lo

    def held(self) -> int:
        """The jobs in its buffered pages."""
        return sum(len(page.jobs) for _, page in self.pages)

    def resume_token(self) -> str | None:
        """The token of the first page not handed out."""
        return self.pages[0][0] if self.pages else self.token

    def give_back(self) -> None:
        """Drop the buffered pages: the chain starts again from the first of them.

        Only for a window none of whose pages was handed out (one behind the
        first): it goes back to where it started. A chain resumed from a
        token keeps its bounds (the token belongs to them); another is as if
        never started, so it can be split before its turn comes.
        """
        self.token = self.resume_token()
        self.pages.clear()
        self.done = False
        if self.token is None:
            self.started = False
            self.after = self.before = None
        self.position = self.stride = None
        self.seen = set()
        self.recent = frozenset()
        self.run = None
        self.run_whole = False
