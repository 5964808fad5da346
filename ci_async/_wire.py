"""The service's time format, read and written in one place.

Times on the wire look like ``2022-06-27T15:23:10+0800`` (whole seconds and a
``+HHMM`` offset); ``-`` means "not yet". :func:`parse_time` also accepts
``+08:00``, ``Z`` and fractional seconds. The client's decoder, its query
parameters, the create request and the emulator all use these two functions.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["BEIJING", "format_time", "parse_time"]

#: Beijing time (``+0800``): the offset of the service's own times and of every
#: example on its API pages. Times the client chooses itself are written in it.
BEIJING = timezone(timedelta(hours=8))

_TIME_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d{1,6}))?"
    r"(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)",
    re.ASCII,
)
#: Exactly the layout the service writes: ``2022-06-27T15:23:10+0800``.
_WIRE_RE = re.compile(
    r"\d{4}-\d\d-\d\dT(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d[+-](?:[01]\d|2[0-3])[0-5]\d", re.ASCII
)
_TZ_CACHE: dict[str, timezone] = {"Z": timezone.utc}


def _tz(text: str) -> timezone:
    """Return the (cached) fixed-offset timezone for a ``+HHMM`` / ``-HH:MM`` / ``Z`` offset."""
    tz = _TZ_CACHE.get(text)
    if tz is None:
        digits = text[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = timezone(-offset if text[0] == "-" else offset)
        if len(_TZ_CACHE) < 256:
            _TZ_CACHE[text] = tz
    return tz


def parse_time(text: str | None) -> datetime | None:
    """Read a wire time such as ``2022-06-27T15:23:10+0800`` as an aware datetime.

    Also accepted: ``+08:00`` offsets, ``Z``, and fractional seconds.

    Args:
        text: The wire text; ``None``, ``""`` and ``"-"`` (the service's
            "not yet") give ``None``.

    Returns:
        An aware :class:`~datetime.datetime`, or ``None``.

    Raises:
        ValueError: ``text`` is not a time in that format, or out of range.
    """
    if not text or text == "-":
        return None
    if _WIRE_RE.fullmatch(text) is not None:
        # The service's own layout (every time it sends): checked by the pattern,
        # then read by the C parser, given the offset as 3.10's parser reads it.
        return datetime.fromisoformat(f"{text[:22]}:{text[22:]}")
    match = _TIME_RE.fullmatch(text)
    if match is None:
        msg = f"not a time like 2022-06-27T15:23:10+0800: {text[:40]!r}"
        raise ValueError(msg)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        0 if fraction is None else int(fraction.ljust(6, "0")),
        _tz(offset),
    )


def format_time(dt: datetime) -> str:
    """Write an aware datetime in the wire format, e.g. ``2022-06-27T15:23:10+0800``.

    The datetime keeps its own offset; microseconds are dropped (the wire
    format has whole seconds).

    Args:
        dt: An aware datetime whose UTC offset is a whole number of minutes.

    Returns:
        The wire text.

    Raises:
        ValueError: ``dt`` is naive, or its offset has seconds.
    """
    offset = dt.utcoffset()
    if offset is None:
        msg = f"a timezone-aware datetime is required, got naive {dt!r}"
        raise ValueError(msg)
    seconds = int(offset.total_seconds())
    if seconds % 60 or offset.microseconds:
        msg = f"UTC offset {offset} is not a whole number of minutes"
        raise ValueError(msg)
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}{sign}{hours:02d}{minutes:02d}"
    )
