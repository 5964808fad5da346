"""Argument validation: everything a caller passes is checked before any request.

Each function takes what the caller gave, raises :class:`ValueError` (bad value)
or :class:`TypeError` (wrong type) with a message naming the argument, and
returns the value in the form the request needs. Nothing here does I/O.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVar

import httpx

from ._models import JobInput, JobState, JobType, Output, TimeInterval
from ._wire import format_time

__all__: list[str] = []

_E = TypeVar("_E", JobState, JobType)

#: ``BucketName-APPID``: lowercase letters, digits and inner hyphens, then the APPID.
_BUCKET = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?-[0-9]{1,20}")
#: ``ap-beijing``, ``na-siliconvalley``, ``ap-beijing-fsi``, ``ap-shanghai-adc``...
_REGION = re.compile(r"[a-z]{2,12}(?:-[a-z0-9]{1,32}){1,3}")
#: The longest job id accepted (service ids are 33 characters).
MAX_JOB_ID = 128
#: Characters a job id may never contain: they would change the request path or query.
_JOB_ID_FORBIDDEN = frozenset("/?#%\\,")
#: The longest pagination token accepted to resume from: far beyond the service's
#: (short) tokens, so that a token the service sent is always accepted back.
MAX_TOKEN = 64 * 1024
#: The service's page size bounds.
MAX_PAGE_SIZE = 100
#: The longest job name accepted by create.
MAX_NAME = 128
_LOOPBACK_NAMES = frozenset({"localhost"})
_ORDERS = {"desc": "Desc", "asc": "Asc"}


def _require_str(value: object, name: str) -> str:
    if not isinstance(value, str):
        msg = f"{name} must be a str, not {type(value).__name__}"
        raise TypeError(msg)
    return value


def _encodable(text: str, name: str) -> str:
    """``text``, if it can be sent at all (UTF-8 cannot carry a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{name} must be valid Unicode text (it contains a lone surrogate)"
        raise ValueError(msg) from None
    return text


def _optional_str(value: object, name: str) -> str | None:
    if value is None:
        return None
    text = _require_str(value, name)
    if not text:
        msg = f"{name} must not be empty (pass None to leave it out)"
        raise ValueError(msg)
    return _encodable(text, name)


def instance(value: object, kind: type, name: str, *, optional: bool = False) -> None:
    """Check that ``value`` is an instance of ``kind`` (or ``None`` when ``optional``).

    Args:
        value: The value.
        kind: The class (a runtime-checkable protocol works too).
        name: The argument name used in error messages.
        optional: Accept ``None`` too.

    Raises:
        TypeError: It is not a ``kind`` (nor an accepted ``None``).
    """
    if (value is None and optional) or isinstance(value, kind):
        return
    expected = f"a {kind.__name__} or None" if optional else f"a {kind.__name__}"
    msg = f"{name} must be {expected}, not {type(value).__name__}"
    raise TypeError(msg)


def optional_callable(value: object, name: str) -> None:
    """Check that ``value`` is ``None`` or callable.

    Args:
        value: The value.
        name: The argument name used in error messages.

    Raises:
        TypeError: It is neither ``None`` nor callable.
    """
    if value is not None and not callable(value):
        msg = f"{name} must be callable or None, not {type(value).__name__}"
        raise TypeError(msg)


def bucket(value: object) -> str:
    """Check a bucket name of the form ``BucketName-APPID``.

    Args:
        value: e.g. ``"examplebucket-1250000000"``.

    Returns:
        The bucket name.

    Raises:
        TypeError: ``value`` is not a str.
        ValueError: It is not lowercase letters, digits and hyphens followed by
            ``-`` and the numeric APPID.
    """
    text = _require_str(value, "bucket")
    if not _BUCKET.fullmatch(text):
        msg = (
            f"bucket must be 'BucketName-APPID' (lowercase letters, digits and hyphens, "
            f"then '-' and the numeric APPID, e.g. 'examplebucket-1250000000'), got {text!r}"
        )
        raise ValueError(msg)
    return text


def region(value: object) -> str:
    """Check a region name such as ``ap-beijing``.

    Args:
        value: The region.

    Returns:
        The region.

    Raises:
        TypeError: ``value`` is not a str.
        ValueError: It does not look like a region (lowercase, hyphen-separated).
    """
    text = _require_str(value, "region")
    if not _REGION.fullmatch(text):
        msg = f"region must look like 'ap-beijing' (lowercase words joined by '-'), got {text!r}"
        raise ValueError(msg)
    return text


def job_id(value: object, name: str = "job_id") -> str:
    """Check a job id before it becomes part of a request path.

    Args:
        value: The job id.
        name: The argument name used in error messages.

    Returns:
        The job id.

    Raises:
        TypeError: ``value`` is not a str.
        ValueError: It is empty, longer than 128 characters, contains ``/ ? # %``,
            a backslash, a comma, whitespace, control characters or ``..``.
    """
    text = _require_str(value, name)
    if not text:
        msg = f"{name} must not be empty"
        raise ValueError(msg)
    if len(text) > MAX_JOB_ID:
        msg = f"{name} must be at most {MAX_JOB_ID} characters, got {len(text)}"
        raise ValueError(msg)
    for ch in text:
        if ch in _JOB_ID_FORBIDDEN:
            msg = f"{name} must not contain {ch!r}, got {text!r}"
            raise ValueError(msg)
        if ch.isspace() or unicodedata.category(ch)[0] in "CZ":
            msg = f"{name} must not contain whitespace or control characters, got {text!r}"
            raise ValueError(msg)
    if text == "." or ".." in text:
        msg = f"{name} must not be '.' or contain '..', got {text!r}"
        raise ValueError(msg)
    return text


def token(value: object) -> str:
    """Check a pagination token given to resume a listing.

    Args:
        value: A ``next_token`` saved from an earlier iteration.

    Returns:
        The token.

    Raises:
        TypeError: ``value`` is not a str.
        ValueError: It is empty, longer than 65536 characters, or contains
            control characters.
    """
    text = _require_str(value, "next_token")
    if not text or len(text) > MAX_TOKEN:
        msg = f"next_token must be 1 to {MAX_TOKEN} characters, got {len(text)}"
        raise ValueError(msg)
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        msg = "next_token must not contain control characters"
        raise ValueError(msg)
    return _encodable(text, "next_token")


def job_ids(values: object) -> tuple[str, ...]:
    """Check an iterable of job ids (not a single str).

    Args:
        values: The ids.

    Returns:
        The ids as a tuple, in the order given.

    Raises:
        TypeError: ``values`` is a str/bytes or not iterable, or an id is not a str.
        ValueError: An id is invalid (see :func:`job_id`).
    """
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        msg = f"job_ids must be an iterable of str, not {type(values).__name__}"
        raise TypeError(msg)
    return tuple(job_id(value, "job id") for value in values)


def _enum_value(value: object, enum_type: type[_E], name: str) -> _E:
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


def job_type(value: object) -> JobType:
    """Check a job type filter.

    Args:
        value: A :class:`JobType` or its exact wire string (``"Workflow"``, ``"Job"``).

    Returns:
        The enum member.

    Raises:
        ValueError: Anything else.
    """
    return _enum_value(value, JobType, "type")


def state_list(value: object) -> str:
    """Check a states filter and join it for the query string.

    Args:
        value: A :class:`JobState`, its wire string, ``"All"``, or an iterable
            of those. Duplicates are dropped, order kept.

    Returns:
        The comma-joined wire strings.

    Raises:
        ValueError: An unknown state, or an empty iterable.
        TypeError: ``value`` is neither a str nor an iterable.
    """
    items: Iterable[object]
    if isinstance(value, str):
        items = (value,)
    elif isinstance(value, Iterable):
        items = value
    else:
        msg = f"states must be a JobState, a str or an iterable of them, not {type(value).__name__}"
        raise TypeError(msg)
    wire: list[str] = []
    for item in items:
        text = "All" if item == "All" else _enum_value(item, JobState, "states").value
        if text not in wire:
            wire.append(text)
    if not wire:
        msg = "states must not be empty (pass None for every state)"
        raise ValueError(msg)
    return ",".join(wire)


def order_by(value: object) -> str:
    """Check an ordering: ``"desc"`` or ``"asc"``, any case.

    Args:
        value: The order.

    Returns:
        ``"Desc"`` or ``"Asc"``, as ``orderByTime`` wants.

    Raises:
        TypeError: ``value`` is not a str.
        ValueError: Anything but desc/asc.
    """
    text = _require_str(value, "order")
    try:
        return _ORDERS[text.lower()]
    except KeyError:
        msg = f"order must be 'desc' or 'asc', got {text!r}"
        raise ValueError(msg) from None


def aware_datetime(value: object, name: str) -> datetime:
    """Check a timezone-aware datetime.

    Args:
        value: The datetime.
        name: The argument name used in error messages.

    Returns:
        The datetime.

    Raises:
        TypeError: ``value`` is not a datetime.
        ValueError: It is naive (no ``tzinfo``).
    """
    if not isinstance(value, datetime):
        msg = f"{name} must be a datetime, not {type(value).__name__}"
        raise TypeError(msg)
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{name} must be timezone-aware (e.g. datetime.now(timezone.utc)), got {value!r}"
        raise ValueError(msg)
    return value


def positive_int(value: object, name: str, *, minimum: int, maximum: int | None = None) -> int:
    """Check an int within bounds (``bool`` is refused).

    Args:
        value: The number.
        name: The argument name used in error messages.
        minimum: The smallest value accepted.
        maximum: The largest value accepted, if any.

    Returns:
        The number.

    Raises:
        TypeError: ``value`` is not an int.
        ValueError: It is out of bounds.
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
    """Check a duration in seconds: a finite number > 0 (or >= 0 with ``allow_zero``).

    Args:
        value: The duration.
        name: The argument name used in error messages.
        allow_zero: Accept 0 too.

    Returns:
        The duration as a float.

    Raises:
        TypeError: ``value`` is not a number.
        ValueError: It is not finite, or below the bound.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number of seconds, not {type(value).__name__}"
        raise TypeError(msg)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        msg = f"{name} must be a finite number of seconds {bound}, got {value!r}"
        raise ValueError(msg)
    return float(value)


def list_params(
    *,
    type: object = None,
    states: object = None,
    order: object = None,
    created_after: object = None,
    created_before: object = None,
    workflow_id: object = None,
    job_id: object = None,
    name: object = None,
) -> tuple[tuple[str, str], ...]:
    """Check the filters of a listing and map them to query parameters.

    Args:
        type: :class:`JobType` or its wire string.
        states: One state or an iterable of states (see :func:`state_list`).
        order: ``"desc"`` or ``"asc"``.
        created_after: Aware datetime, jobs created at or after it.
        created_before: Aware datetime, jobs created at or before it.
        workflow_id: Only jobs of this workflow.
        job_id: Only this job.
        name: Only jobs with this name.

    Returns:
        ``(name, value)`` query pairs, in a fixed order, without the ``None`` ones.

    Raises:
        TypeError: A filter has the wrong type.
        ValueError: A filter has a bad value, or ``created_after`` is later
            than ``created_before``.
    """
    params: list[tuple[str, str]] = []
    if type is not None:
        params.append(("type", job_type(type).value))
    if states is not None:
        params.append(("states", state_list(states)))
    if order is not None:
        params.append(("orderByTime", order_by(order)))
    after = None if created_after is None else aware_datetime(created_after, "created_after")
    before = None if created_before is None else aware_datetime(created_before, "created_before")
    if after is not None and before is not None and after > before:
        msg = (
            f"created_after ({after.isoformat()}) is later than "
            f"created_before ({before.isoformat()})"
        )
        raise ValueError(msg)
    if after is not None:
        params.append(("startCreationTime", format_time(after)))
    if before is not None:
        params.append(("endCreationTime", format_time(before)))
    for param, label, value in (
        ("workflowId", "workflow_id", workflow_id),
        ("jobId", "job_id", job_id),
        ("name", "name", name),
    ):
        text = _optional_str(value, label)
        if text is not None:
            params.append((param, text))
    return tuple(params)


def endpoint(value: object, *, allow_insecure_http: bool) -> str:
    """Check a base URL override.

    Args:
        value: e.g. ``"https://examplebucket-1250000000.ci.ap-beijing.myqcloud.com"``
            or the emulator's ``"http://127.0.0.1:8321"``.
        allow_insecure_http: Accept plain ``http://`` for hosts other than loopback.

    Returns:
        The URL without a trailing ``/``.

    Raises:
        TypeError: ``value`` is not a str.
        ValueError: Not an absolute http(s) URL; has userinfo, a query or a
            fragment; or is plain http to a non-loopback host without
            ``allow_insecure_http``.
    """
    text = _require_str(value, "endpoint").strip()
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        msg = f"endpoint is not a valid URL: {exc}"
        raise ValueError(msg) from None
    if url.scheme not in {"http", "https"} or not url.host:
        msg = f"endpoint must be an absolute http:// or https:// URL, got {_shown(text)}"
        raise ValueError(msg)
    if url.userinfo:
        msg = "endpoint must not contain a user name or password"
        raise ValueError(msg)
    if url.query or url.fragment or "?" in text or "#" in text:
        msg = f"endpoint must not have a query or fragment, got {_shown(text)}"
        raise ValueError(msg)
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        msg = (
            f"endpoint {_shown(text)} uses plain http to a host that is not loopback; "
            "use https, or pass allow_insecure_http=True"
        )
        raise ValueError(msg)
    return str(url).rstrip("/")


def _shown(url: str) -> str:
    """An endpoint for an error message: not at all when it may hold a password."""
    if "@" in url:
        return "<a URL with an '@', not shown: it may hold a password>"
    return repr(url)


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_operation(
    *,
    name: object,
    input: object,
    workflow_ids: object,
    tag: object,
    queue_id: object,
    template_id: object,
    output: object,
    user_data: object,
    callback: object,
    job_level: object,
    time_interval: object,
) -> tuple[str, JobType, JobInput]:
    """Check the arguments of ``create_job`` (the operation is built by the caller).

    Args:
        name: 1 to 128 characters.
        input: A :class:`JobInput` with exactly one of prefix, manifest, url_file, object.
        workflow_ids: Workflow ids (a ``Workflow`` job), or empty.
        tag: ``Job`` field.
        queue_id: ``Job`` field.
        template_id: ``Job`` field.
        output: ``Job`` field, an :class:`Output`.
        user_data: ``Job`` field.
        callback: ``Job`` field.
        job_level: ``Job`` field, 0 to 2.
        time_interval: A :class:`TimeInterval` of aware datetimes, start <= end.

    Returns:
        The name, the job type inferred (``Workflow`` when ``workflow_ids`` is
        given, else ``Job``) and the input.

    Raises:
        TypeError: A value of the wrong type.
        ValueError: A bad value, or a bad mix of workflow and job fields.
    """
    text = _require_str(name, "name")
    if not 1 <= len(text) <= MAX_NAME or not text.strip():
        msg = f"name must be 1 to {MAX_NAME} characters (not only spaces), got {len(text)}"
        raise ValueError(msg)
    if not isinstance(input, JobInput):
        msg = f"input must be a JobInput, not {type(input).__name__}"
        raise TypeError(msg)
    sources = {
        "prefix": input.prefix,
        "manifest": input.manifest,
        "url_file": input.url_file,
        "object": input.object,
    }
    given = [key for key, value in sources.items() if value is not None]
    if len(given) != 1:
        msg = (
            "input must set exactly one of prefix, manifest, url_file, object; "
            f"got {', '.join(given) or 'none'}"
        )
        raise ValueError(msg)
    _optional_str(sources[given[0]], f"input.{given[0]}")
    workflows = _workflow_ids(workflow_ids)
    job_fields = {
        "tag": _optional_str(tag, "tag"),
        "queue_id": _optional_str(queue_id, "queue_id"),
        "template_id": _optional_str(template_id, "template_id"),
        "user_data": _optional_str(user_data, "user_data"),
        "callback": _optional_str(callback, "callback"),
        "output": _output(output),
        "job_level": None
        if job_level is None
        else positive_int(job_level, "job_level", minimum=0, maximum=2),
    }
    set_fields = [key for key, value in job_fields.items() if value is not None]
    if workflows and set_fields:
        msg = (
            "a Workflow job (workflow_ids) takes none of the Job fields, "
            f"got {', '.join(set_fields)}"
        )
        raise ValueError(msg)
    if not workflows and not set_fields:
        msg = (
            "give either workflow_ids (a Workflow job) or the fields of a Job job "
            "(tag, queue_id, template_id, output, ...)"
        )
        raise ValueError(msg)
    if time_interval is not None:
        _time_interval(time_interval)
    return text, (JobType.WORKFLOW if workflows else JobType.JOB), input


def _workflow_ids(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        msg = f"workflow_ids must be a sequence of str, not {type(value).__name__}"
        raise TypeError(msg)
    ids = tuple(value)
    for item in ids:
        text = _require_str(item, "workflow id")
        if not text or "," in text or any(ch.isspace() for ch in text):
            msg = f"workflow ids must be non-empty, without commas or whitespace, got {text!r}"
            raise ValueError(msg)
    return ids


def _output(value: object) -> Output | None:
    if value is None:
        return None
    if not isinstance(value, Output):
        msg = f"output must be an Output, not {type(value).__name__}"
        raise TypeError(msg)
    if value.bucket is not None:
        bucket(value.bucket)
    if value.region is not None:
        region(value.region)
    return value


def _time_interval(value: object) -> TimeInterval:
    if not isinstance(value, TimeInterval):
        msg = f"time_interval must be a TimeInterval, not {type(value).__name__}"
        raise TypeError(msg)
    start = None if value.start is None else aware_datetime(value.start, "time_interval.start")
    end = None if value.end is None else aware_datetime(value.end, "time_interval.end")
    if start is not None and end is not None and start > end:
        msg = "time_interval.start is later than time_interval.end"
        raise ValueError(msg)
    return value
