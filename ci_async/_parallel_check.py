"""The bound check of a parallel listing (see :mod:`._parallel`).

Each window of a parallel listing asks for one second more on each side of
its own range: that is exact whatever the service does with its time bounds.
When the bounds take in the whole second they name, the extra seconds bring
their jobs for nothing, pages of them on dense data. The bound check asks,
for a second the listing has received whole, for the jobs the service lists
with that second as both bounds. Every one of them back shows that a start
bound takes in the whole second it names (it takes in the second's first
job, so everything after it), and new windows start at their own first
second.

It cannot show the same of an end bound. A service that compares the bounds
with creation times kept to the millisecond gives every job of the checked
second back too if all of them were created at its very start (``.000``; a
scheduler's burst, say), and an end bound naming a second then takes in only
such jobs. So a window still asks for the second after its own.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs

from ._background import BackgroundRequest
from ._errors import ServiceError
from ._models import Job, JobPage
from ._parallel_token import expressible
from ._parallel_window import Window

__all__ = ["BoundCheck"]

#: ``ask(token)``: one page of the jobs the listing's filters take from the checked second.
Ask = Callable[[str | None], Awaitable[JobPage]]


def _refusal(error: ServiceError) -> bool:
    """Whether ``error`` refuses the question itself: a ``4xx`` but access and throttling."""
    return 400 <= error.status_code < 500 and error.status_code not in (401, 403, 429)


@attrs.define
class BoundCheck:
    """Whether the service's time bounds take in the whole second they name.

    Attributes:
        inclusive: What the check showed (``False`` until it did).
        second: The second to ask about, with the ids of the jobs the listing
            received from it, once one is found (see :meth:`follow`).
        sent: Whether the check was sent (once a listing).
        request: The check's requests while they run.
    """

    inclusive: bool = False
    second: tuple[int, frozenset[str]] | None = None
    sent: bool = False
    request: BackgroundRequest[None] | None = None

    @property
    def looking(self) -> bool:
        """Whether a second to ask about is still to be found."""
        return not self.sent and self.second is None

    def follow(
        self, window: Window, jobs: Sequence[Job], seconds: Sequence[int | None], most: int
    ) -> None:
        """Look, in a page of ``window``'s chain, for a second the listing has received whole.

        A chain's jobs come in order, so the jobs of a second it brought after
        another second and before a third are every job the listing's filters
        take from that second. The first such second holding from 2 to
        ``most`` jobs, and that a window may name (a service's year 9999 is
        not sent: see :func:`~ci_async._parallel_token.expressible`), is the one to ask about.
        """
        run = window.run
        for job, second in zip(jobs, seconds, strict=True):
            if run is not None and run[0] == second:
                if len(run[1]) <= most:  # (one more marks it too many)
                    run[1].append(job.job_id)
                continue
            # A new second: the run before it is whole if it came after a known second.
            if run is not None and run[0] is not None:
                whole = window.run_whole and second is not None and expressible(run[0])
                if whole and 2 <= len(run[1]) <= most:
                    self.second = (run[0], frozenset(run[1]))
                    window.run = None
                    return
                window.run_whole = True
            else:
                window.run_whole = False
            run = (second, [job.job_id])
        window.run = run

    def start(
        self,
        ask: Ask,
        per_page: int,
        background: set[Any],
        fail: Callable[[Exception], None],
        done: Callable[[], None],
    ) -> None:
        """Ask about :attr:`second`, following the answer's ``NextToken`` (pages of ``per_page``).

        If the answers hold exactly the jobs the listing received from that
        second, :attr:`inclusive` becomes true: start bounds take in the
        whole second they name (see the module docstring for end bounds).
        Anything else leaves it false: fewer jobs (a service that excludes
        the bounds, or compares them with creation times kept to a fraction
        of a second, so that a bound naming a second takes in only what was
        created at its very start), other jobs (created or changed
        meanwhile), or a ``4xx`` refusing the question. Other errors
        (authentication, throttling beyond the retries, the network) go to
        ``fail``, as a window's would. ``done`` is called when the check
        ends, whatever its outcome.
        """
        assert self.second is not None
        _, expected = self.second
        self.sent, self.second = True, None
        pages = math.ceil(len(expected) / per_page) + 1  # (one more: an empty last page)

        async def run() -> None:
            got: list[str] = []
            token: str | None = None
            try:
                for _ in range(pages):
                    page = await ask(token)
                    got += [job.job_id for job in page.jobs]
                    token = page.next_token or None
                    if token is None or len(got) > len(expected):
                        break
            except ServiceError as exc:
                if not _refusal(exc):
                    fail(exc)
            except Exception as exc:  # raised when the caller reaches it
                fail(exc)
            else:
                matched = token is None and len(got) == len(expected)
                self.inclusive = matched and set(got) == expected
            finally:
                self.request = None
                done()

        self.request = BackgroundRequest(run, background)
