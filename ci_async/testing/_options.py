"""Checks and conversions of the emulator's arguments (times, spans, settings)."""

from __future__ import annotations

import math
from datetime import datetime

from ._render import parse_time
from ._seed import TIMELINES

__all__ = ["TIME_BOUNDS", "TimeLike", "check_latency", "check_settings", "span", "timestamp"]

#: How list filters treat a job created exactly at a creation-time bound.
TIME_BOUNDS = ("inclusive", "exclusive")

#: A point in time: an aware datetime, unix seconds, or the wire format
#: ``2022-06-27T15:23:10+0800``.
TimeLike = datetime | float | int | str


def check_latency(seconds: float) -> None:
    """Refuse a latency that is negative or not finite (``ValueError``)."""
    if not (math.isfinite(seconds) and seconds >= 0):
        msg = f"latency must be a number of seconds, 0 or more, got {seconds!r}"
        raise ValueError(msg)


def check_settings(*, timeline: str, speed: float, time_bounds: str, latency: float) -> None:
    """Refuse unknown timelines or bounds, speeds or latencies out of range (``ValueError``)."""
    if timeline not in TIMELINES:
        msg = f"timeline must be one of {TIMELINES}, got {timeline!r}"
        raise ValueError(msg)
    if not (math.isfinite(speed) and speed > 0):
        msg = f"speed must be a positive number, got {speed!r}"
        raise ValueError(msg)
    if time_bounds not in TIME_BOUNDS:
        msg = f"time_bounds must be one of {TIME_BOUNDS}, got {time_bounds!r}"
        raise ValueError(msg)
    check_latency(latency)


def timestamp(value: TimeLike, label: str) -> float:
    """A time argument as whole unix seconds.

    Raises:
        ValueError: A naive datetime, or text that is not a wire time.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            msg = f"{label} must be timezone-aware"
            raise ValueError(msg)
        return float(int(value.timestamp()))
    if isinstance(value, str):
        return float(int(parse_time(value)))
    return float(int(value))


def span(value: tuple[TimeLike, TimeLike] | None, label: str) -> tuple[int, int] | None:
    """A ``(first, last)`` argument as whole unix seconds, or ``None``.

    Raises:
        ValueError: Bad times, or ``last`` before ``first``.
    """
    if value is None:
        return None
    first, last = (int(timestamp(moment, label)) for moment in value)
    if last < first:
        msg = f"{label} must not end before it starts"
        raise ValueError(msg)
    return first, last
