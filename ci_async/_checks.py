"""Small argument checks shared by the records, the session and the listing.

Each function takes what the caller gave, raises :class:`TypeError` (wrong
type) or :class:`ValueError` (bad value) with a message naming the argument,
and returns the value in the form the caller needs. The records' attrs
validators call them for whatever fails their own quick test. Nothing here
does I/O, and no message quotes a value that could be a secret.
"""

from __future__ import annotations

import enum
import math
import unicodedata
from datetime import datetime
from typing import TypeVar

from ._wire import BEIJING, format_time

__all__ = [
    "aware_datetime",
    "enum_value",
    "instance",
    "job_id",
    "optional_callable",
    "optional_text",
    "positive_int",
    "require_str",
    "seconds",
]

_E = TypeVar("_E", bound=enum.Enum)

#: The longest job id accepted (service ids are 33 characters).
MAX_JOB_ID = 128
#: Characters a job id may never contain: they would change the request's path or query.
_JOB_ID_FORBIDDEN = frozenset("/?#%\\,")


def require_str(value: object, name: str) -> str:
    """``value`` if it is a str.

    Raises:
        TypeError: It is not.
    """
    if not isinstance(value, str):
        msg = f"{name} must be a str, not {type(value).__name__}"
        raise TypeError(msg)
    return value


def encodable(text: str, name: str) -> str:
    """``text``, if it can be sent at all (UTF-8 cannot carry a lone surrogate).

    Raises:
        ValueError: It holds a lone surrogate.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{name} must be valid Unicode text (it contains a lone surrogate)"
        raise ValueError(msg) from None
    return text


def optional_text(value: object, name: str, *, max_length: int | None = None) -> str | None:
    """``None``, or a non-empty str that can be sent (at most ``max_length`` characters).

    Raises:
        TypeError: Neither ``None`` nor a str.
        ValueError: Empty, too long, or not valid Unicode.
    """
    if value is None:
        return None
    text = require_str(value, name)
    if not text:
        msg = f"{name} must not be empty (pass None to leave it out)"
        raise ValueError(msg)
    if max_length is not None and len(text) > max_length:
        msg = f"{name} must be at most {max_length} characters, got {len(text)}"
        raise ValueError(msg)
    return encodable(text, name)


def instance(value: object, kind: type, name: str, *, optional: bool = False) -> None:
    """Check that ``value`` is a ``kind`` (or ``None`` when ``optional``).

    Raises:
        TypeError: It is not.
    """
    if (value is None and optional) or isinstance(value, kind):
        return
    article = "an" if kind.__name__[:1] in "AEIOU" else "a"
    expected = f"{article} {kind.__name__}" + (" or None" if optional else "")
    msg = f"{name} must be {expected}, not {type(value).__name__}"
    raise TypeError(msg)


def optional_callable(value: object, name: str) -> None:
    """Check that ``value`` is ``None`` or callable.

    Raises:
        TypeError: It is neither.
    """
    if value is not None and not callable(value):
        msg = f"{name} must be callable or None, not {type(value).__name__}"
        raise TypeError(msg)


def positive_int(value: object, name: str, *, minimum: int, maximum: int | None = None) -> int:
    """An int within bounds (``bool`` is refused).

    Raises:
        TypeError: Not an int.
        ValueError: Out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an int, not {type(value).__name__}"
        raise TypeError(msg)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        msg = f"{name} must be {bounds}, got {value}"
        raise ValueError(msg)
    return value


def seconds(value: object, name: str, *, allow_zero: bool = False) -> float:
    """A finite number of seconds > 0 (or >= 0 with ``allow_zero``), as a float.

    Raises:
        TypeError: Not a number.
        ValueError: Not finite, or below the bound.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number of seconds, not {type(value).__name__}"
        raise TypeError(msg)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        msg = f"{name} must be a finite number of seconds {bound}, got {value!r}"
        raise ValueError(msg)
    return float(value)


def aware_datetime(value: object, name: str) -> datetime:
    """A timezone-aware datetime.

    Raises:
        TypeError: Not a datetime.
        ValueError: Naive (no UTC offset).
    """
    if not isinstance(value, datetime):
        msg = f"{name} must be a datetime, not {type(value).__name__}"
        raise TypeError(msg)
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{name} must be timezone-aware (e.g. datetime.now(timezone.utc)), got {value!r}"
        raise ValueError(msg)
    return value


def wire_datetime(value: object, name: str) -> datetime:
    """An aware datetime that can be sent as the service writes times: in Beijing time.

    Raises:
        TypeError: ``value`` is not a datetime.
        ValueError: It is naive, its UTC offset is not whole minutes, or it
            has no Beijing time (within hours of ``datetime.min``/``max``).
    """
    checked = aware_datetime(value, name)
    try:
        format_time(checked)  # (a UTC offset of whole minutes)
        checked.astimezone(BEIJING)  # how it is sent: it must exist in Beijing time too
    except OverflowError:
        msg = f"{name} is out of range: {checked.isoformat()} has no Beijing time"
        raise ValueError(msg) from None
    except ValueError as exc:
        msg = f"{name}: {exc}"
        raise ValueError(msg) from None
    return checked


def enum_value(value: object, enum_type: type[_E], name: str) -> _E:
    """A member of ``enum_type``, given as the member or its exact value.

    Raises:
        ValueError: Anything else (the message lists the accepted values).
    """
    if isinstance(value, enum_type):
        return value
    if isinstance(value, str):
        try:
            return enum_type(value)
        except ValueError:
            pass
    allowed = ", ".join(repr(member.value) for member in enum_type)
    msg = f"{name} must be a {enum_type.__name__} or one of {allowed}, got {value!r}"
    raise ValueError(msg)


def job_id(value: object, name: str = "job_id") -> str:
    """A job id that can safely become one segment of a request path.

    The service documents no id format; only what would change the request
    (path separators, query and fragment marks, escapes, commas that would
    make a describe of several ids, whitespace and control characters,
    ``.``/``..``) or could not be a real id (empty, over 128 characters) is
    refused.

    Raises:
        TypeError: Not a str.
        ValueError: One of the above.
    """
    text = require_str(value, name)
    if not text:
        msg = f"{name} must not be empty"
        raise ValueError(msg)
    if len(text) > MAX_JOB_ID:
        msg = f"{name} must be at most {MAX_JOB_ID} characters, got {len(text)}"
        raise ValueError(msg)
    plain = text.isascii() and text.isprintable() and " " not in text
    if not (plain and _JOB_ID_FORBIDDEN.isdisjoint(text)):
        # Not plain printable ASCII without a forbidden character: find the culprit.
        for char in text:
            if char in _JOB_ID_FORBIDDEN:
                msg = f"{name} must not contain {char!r}, got {text!r}"
                raise ValueError(msg)
            if char.isspace() or unicodedata.category(char)[0] in "CZ":
                msg = f"{name} must not contain whitespace or control characters, got {text!r}"
                raise ValueError(msg)
    if text == "." or ".." in text:
        msg = f"{name} must not be '.' or contain '..', got {text!r}"
        raise ValueError(msg)
    return text
