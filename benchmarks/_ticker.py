"""How long the event loop stalls: a ticker task that sleeps 1 ms again and again.

Each wake-up records when the sleep started and when it ended; the time past
the interval is how long the loop could not run anything else (a parse, a
garbage collection pass, a blocking import). On a busy machine a wake-up is
also late when the OS gave the core to another process; so each tick also
records the loop thread's CPU time, and the CPU-only lateness of a tick is
the smaller of its lateness and the CPU the thread spent in it (what the
process itself blocked the loop with). Run it beside the work measured::

    ticker = Ticker()
    async with ticker.running():
        ...  # the work
    ticker.stalls(after=first_page_at)
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Sequence

import attrs


@attrs.frozen
class Stalls:
    """The lateness of the ticks in a window, in milliseconds (``cpu_``: CPU-only)."""

    ticks: int
    max_ms: float
    p99_ms: float
    over_5ms: int
    cpu_max_ms: float
    cpu_p99_ms: float

    def as_json(self) -> dict[str, float | int]:
        return {
            "ticks": self.ticks,
            "max_ms": round(self.max_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "ticks_over_5ms": self.over_5ms,
            "cpu_max_ms": round(self.cpu_max_ms, 2),
            "cpu_p99_ms": round(self.cpu_p99_ms, 2),
        }


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class Ticker:
    """Sleeps ``interval`` seconds in a loop, keeping the wall and thread CPU times of each sleep.

    ``ticks`` holds ``(start, end, thread CPU seconds from start to end)``.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.ticks: list[tuple[float, float, float]] = []
        self._stop = False

    async def _run(self) -> None:
        last, last_cpu = time.perf_counter(), time.thread_time()
        while not self._stop:
            await asyncio.sleep(self.interval)
            now, cpu = time.perf_counter(), time.thread_time()
            self.ticks.append((last, now, cpu - last_cpu))
            last, last_cpu = now, cpu

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Ticker]:
        """Tick while the block runs (the first tick has happened when it starts)."""
        self._stop = False
        task = asyncio.ensure_future(self._run())
        try:
            await asyncio.sleep(self.interval * 2)  # let the task start ticking
            yield self
        finally:
            self._stop = True
            await task

    def stalls(
        self, after: float = 0.0, before: float = math.inf, *, inside: bool = False
    ) -> Stalls:
        """How late the ticks that overlap ``[after, before]`` woke up.

        With ``inside``, only the ticks that started at or after ``after`` (and
        ended by ``before``) count: what came before ``after`` is left out whole.
        """
        if inside:
            window = [t for t in self.ticks if t[0] >= after and t[1] <= before]
        else:
            window = [t for t in self.ticks if t[1] > after and t[0] < before]
        late = [max(0.0, end - start - self.interval) * 1000 for start, end, _ in window]
        cpu_late = [min(ms, cpu * 1000) for ms, (_, _, cpu) in zip(late, window, strict=True)]
        return Stalls(
            ticks=len(late),
            max_ms=max(late, default=0.0),
            p99_ms=percentile(late, 0.99),
            over_5ms=sum(1 for ms in late if ms > 5),
            cpu_max_ms=max(cpu_late, default=0.0),
            cpu_p99_ms=percentile(cpu_late, 0.99),
        )
