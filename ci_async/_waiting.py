"""Waiting for a job: poll until it reaches a terminal state, at a growing, jittered pace."""

from __future__ import annotations

import inspect
import random
from collections.abc import Awaitable, Callable, Iterator

import anyio

from ._errors import WaitTimeoutError
from ._models import Job

__all__ = ["MAX_POLL_INTERVAL", "poll_delays", "wait_for"]

#: The longest pause between two polls (unless the first pause asked for is longer).
MAX_POLL_INTERVAL = 30.0


def poll_delays(first: float, uniform: Callable[[], float]) -> Iterator[float]:
    """The pauses between polls: growing by half each time, jittered ±20%.

    They grow up to :data:`MAX_POLL_INTERVAL` (or ``first``, if that is longer).

    Args:
        first: The first pause, in seconds.
        uniform: Source of uniform numbers in ``[0, 1)``.

    Yields:
        Pauses in seconds, for ever.
    """
    interval, top = first, max(first, MAX_POLL_INTERVAL)
    while True:
        yield interval * (0.8 + 0.4 * uniform())
        interval = min(interval * 1.5, top)


async def wait_for(
    describe: Callable[[str], Awaitable[Job]],
    job_id: str,
    *,
    timeout: float | None,  # noqa: ASYNC109 - a bound on the whole wait, as documented
    poll_interval: float,
    on_update: Callable[[Job], object] | None,
) -> Job:
    """Poll ``describe(job_id)`` until the job is terminal (arguments checked by the caller).

    Raises:
        WaitTimeoutError: ``timeout`` passed first (carries the last job seen).
    """
    delays = poll_delays(poll_interval, random.random)
    last: Job | None = None
    with anyio.move_on_after(timeout):
        while True:
            job = await describe(job_id)
            if on_update is not None and (last is None or job.state != last.state):
                outcome = on_update(job)
                if inspect.isawaitable(outcome):
                    await outcome
            last = job
            if job.is_terminal:
                return job
            await anyio.sleep(next(delays))
    raise WaitTimeoutError(job_id, last, timeout=timeout)
