"""A clock the test controls: the emulator's jobs progress only when it is advanced."""

from __future__ import annotations

import threading
import time

__all__ = ["FakeClock"]


class FakeClock:
    """A thread-safe, manually advanced clock returning unix seconds.

    Calling the instance returns the current (fake) time, so it fits anywhere a
    ``Callable[[], float]`` clock is expected — the emulator, and the client's
    ``CosSigner(clock=...)`` so that signatures stay valid however far the
    test moves time forward.

    Args:
        start: The initial time in unix seconds. Defaults to the current wall
            clock time, truncated to whole seconds, so that signatures made
            with the real clock are accepted until the fake clock is advanced.

    Example:
        >>> clock = FakeClock(start=1_700_000_000)
        >>> clock.advance(30)
        1700000030.0
        >>> clock()
        1700000030.0
    """

    __slots__ = ("_lock", "_now")

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._now = float(int(time.time()) if start is None else start)

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def now(self) -> float:
        """The current fake time (the same as calling the clock).

        Returns:
            The time in unix seconds.
        """
        return self()

    def advance(self, seconds: float) -> float:
        """Move the clock forward and return the new time.

        Args:
            seconds: How far to move; must not be negative.

        Returns:
            The new time in unix seconds.

        Raises:
            ValueError: If ``seconds`` is negative.
        """
        if seconds < 0:
            msg = f"a clock only moves forward, got seconds={seconds!r}"
            raise ValueError(msg)
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, timestamp: float) -> None:
        """Jump to ``timestamp``, which must not be in the past.

        Args:
            timestamp: The new time in unix seconds.

        Raises:
            ValueError: If ``timestamp`` is earlier than the current time.
        """
        with self._lock:
            if timestamp < self._now:
                msg = "a clock only moves forward"
                raise ValueError(msg)
            self._now = float(timestamp)

    def __repr__(self) -> str:
        return f"FakeClock(now={self():.3f})"
