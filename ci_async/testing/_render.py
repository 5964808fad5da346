"""XML rendering for the emulator — its own code, independent of the client's decoder.

Element names and order follow the service's published samples
(``<Response><RequestId/><JobsDetail>…</JobsDetail><NextToken/></Response>``);
errors use the ``<Error>`` root. Times are written as the service writes them,
``2022-06-27T15:23:10+0800`` (China Standard Time), and ``-`` for "not yet";
:func:`format_time` and :func:`parse_time` only adapt unix seconds to the
project's one wire-time formatter and parser (``ci_async._wire``).

``Code`` and ``Message``: ``Success`` and empty while a job has not failed (as
the service's samples show, for a running job too); the job's error code and
message once it has ``Failed``. What a canceled job carries the API reference
does not say: the emulator writes :data:`CANCELED_CODE` and
:data:`CANCELED_MESSAGE`, its own choice, so that a canceled job never reads
as a success.

Every text rendered must be one XML 1.0 can carry (:func:`check_text`, which
``Emulator.add_job`` applies; create bodies are parsed by expat, which refuses
such characters): escaping cannot make a control character well-formed.
"""

from __future__ import annotations

import itertools
import math
import re
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from .._wire import format_time as _format_wire_time
from .._wire import parse_time as _parse_wire_time
from ._store import StoredJob

__all__ = [
    "CANCELED_CODE",
    "CANCELED_MESSAGE",
    "CST",
    "FragmentCache",
    "check_text",
    "format_time",
    "parse_time",
    "render_cancel",
    "render_describe",
    "render_error",
    "render_html_error",
    "render_job",
    "render_list",
    "render_single",
]

#: China Standard Time (UTC+8), the offset the service writes its times in.
CST = timezone(timedelta(hours=8))
#: ``Code`` of a canceled job (the emulator's choice: the API reference is silent).
CANCELED_CODE = "Canceled"
#: ``Message`` of a canceled job (the emulator's choice, as :data:`CANCELED_CODE`).
CANCELED_MESSAGE = "the job was canceled"

#: What XML 1.0 cannot carry, raw or as a character reference: the C0 controls
#: but tab, LF and CR, lone surrogates (nor can UTF-8), U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def check_text(value: object, field: str, *, optional: bool = True) -> None:
    """Check that ``value`` is text an answer can carry (``None`` too, when ``optional``).

    Raises:
        TypeError: ``value`` is not a str (nor ``None``, when ``optional``).
        ValueError: ``value`` holds a character XML 1.0 cannot carry.
    """
    if value is None and optional:
        return
    if not isinstance(value, str):
        kind = "a str or None" if optional else "a str"
        msg = f"{field} must be {kind}, not {type(value).__name__}"
        raise TypeError(msg)
    bad = _NOT_XML.search(value)
    if bad is not None:
        msg = (
            f"{field} holds a character XML 1.0 cannot carry: {bad.group()!r} "
            f"at index {bad.start()}"
        )
        raise ValueError(msg)


def format_time(timestamp: float) -> str:
    """Unix seconds -> ``2022-06-27T15:23:10+0800`` (an adapter over ``ci_async._wire``)."""
    return _format_wire_time(datetime.fromtimestamp(int(timestamp), CST))


def parse_time(text: str) -> float:
    """A wire time (``+0800``, ``+08:00`` or ``Z``) -> unix seconds, via ``ci_async._wire``.

    Raises:
        ValueError: If ``text`` is not a wire time (a time zone is required;
            ``-`` and the empty string are not times here).
    """
    parsed = _parse_wire_time(text)
    if parsed is None:
        msg = f"not a time like 2022-06-27T15:23:10+0800: {text[:40]!r}"
        raise ValueError(msg)
    return parsed.timestamp()


def _text(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>" if value else f"<{tag}/>"


def _opt(tag: str, value: str | None) -> str:
    return "" if value is None else _text(tag, value)


def _time(timestamp: float | None) -> str:
    return "-" if timestamp is None else format_time(timestamp)


def render_job(job: StoredJob, now: float) -> bytes:
    """Render one ``<JobsDetail>`` element for ``job`` as seen at ``now``."""
    state = job.state_at(now)
    if state == "Failed":
        code = job.error_code or "InternalError"
        message = job.error_message or "the job failed"
    elif state == "Cancel":
        code, message = CANCELED_CODE, CANCELED_MESSAGE
    else:
        code, message = "Success", ""
    parts = [
        "<JobsDetail>",
        _text("Code", code),
        _text("Type", job.type),
        _text("Message", message),
        _text("Name", job.name),
        _text("JobId", job.job_id),
        _text("State", state),
        _text("CreationTime", format_time(job.creation_time)),
        _text("StartTime", _time(job.start_time_at(now))),
        _text("EndTime", _time(job.end_time_at(now))),
        "<Input>",
        _opt("Prefix", job.prefix),
        _opt("Manifest", job.manifest),
        _opt("UrlFile", job.url_file),
        _opt("Object", job.object),
        "</Input><Operation>",
    ]
    if job.interval_start is not None or job.interval_end is not None:
        parts.append("<TimeInterval>")
        if job.interval_start is not None:
            parts.append(_text("Start", format_time(job.interval_start)))
        if job.interval_end is not None:
            parts.append(_text("End", format_time(job.interval_end)))
        parts.append("</TimeInterval>")
    if job.workflow_ids:
        parts.append(_text("WorkflowIds", ",".join(job.workflow_ids)))
    parts += (
        _opt("QueueId", job.queue_id),
        _opt("UserData", job.user_data),
        _opt("CallBack", job.callback),
        _opt("Tag", job.tag),
    )
    if job.template_id is not None:
        parts.append(f"<JobParam>{_text('TemplateId', job.template_id)}</JobParam>")
    if (job.output_region, job.output_bucket, job.output_object) != (None, None, None):
        parts += (
            "<Output>",
            _opt("Region", job.output_region),
            _opt("Bucket", job.output_bucket),
            _opt("Object", job.output_object),
            "</Output>",
        )
    if job.job_level is not None:
        parts.append(_text("JobLevel", str(job.job_level)))
    parts.append("</Operation></JobsDetail>")
    return "".join(parts).encode()


class FragmentCache:
    """Rendered ``<JobsDetail>`` fragments, re-rendered only when a job changes.

    An entry is reused while the stored record is the same object and ``now``
    is inside the time window in which the job renders the same (between two
    of its state transitions), so state changes — by time or by cancel —
    invalidate it without any bookkeeping. Safe to share between threads: a
    race at worst renders a fragment twice.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[StoredJob, float, float, bytes]] = {}

    def get(self, job: StoredJob, now: float) -> bytes:
        """The fragment for ``job`` at ``now``."""
        entry = self._entries.get(job.job_id)
        if entry is not None and entry[0] is job and entry[1] <= now < entry[2]:
            return entry[3]
        return self._render(job, now)

    def many(self, jobs: list[StoredJob], now: float) -> list[bytes]:
        """The fragments for ``jobs`` at ``now`` (the hot path of a list page)."""
        entries = self._entries
        out = []
        for job in jobs:
            entry = entries.get(job.job_id)
            if entry is not None and entry[0] is job and entry[1] <= now < entry[2]:
                out.append(entry[3])
            else:
                out.append(self._render(job, now))
        return out

    def _render(self, job: StoredJob, now: float) -> bytes:
        fragment = render_job(job, now)
        valid_from, valid_until = _window(job, now)
        self._entries[job.job_id] = (job, valid_from, valid_until, fragment)
        return fragment

    def clear(self) -> None:
        """Forget every fragment."""
        self._entries.clear()


def _window(job: StoredJob, now: float) -> tuple[float, float]:
    """The span around ``now`` in which ``job`` renders the same."""
    if job.pinned_state is not None:
        return -math.inf, math.inf
    moments = [-math.inf]
    moments += (moment for moment in (job.started_at, job.ended_at) if moment is not None)
    moments.append(math.inf)
    for before, after in itertools.pairwise(moments):
        if before <= now < after:
            return before, after
    return now, now  # pragma: no cover - the moments cover the whole line


def _head(request_id: str) -> bytes:
    return f"<Response><RequestId>{escape(request_id)}</RequestId>".encode()


def render_list(
    request_id: str, fragments: list[bytes], next_token: str | None, *, empty_last_token: bool
) -> bytes:
    """A list answer: the jobs of one page and ``NextToken`` when more pages follow."""
    if next_token:
        tail = f"<NextToken>{escape(next_token)}</NextToken></Response>".encode()
    elif empty_last_token:
        tail = b"<NextToken/></Response>"
    else:
        tail = b"</Response>"
    return b"".join((_head(request_id), *fragments, tail))


def render_describe(request_id: str, fragments: list[bytes], missing: list[str]) -> bytes:
    """A describe answer: the jobs found, and one ``NonExistJobIds`` per unknown id."""
    absent = "".join(_text("NonExistJobIds", job_id) for job_id in missing).encode()
    return b"".join((_head(request_id), *fragments, absent, b"</Response>"))


def render_single(request_id: str, fragment: bytes) -> bytes:
    """A create answer: the new job's ``JobsDetail``."""
    return b"".join((_head(request_id), fragment, b"</Response>"))


def render_cancel(request_id: str) -> bytes:
    """A cancel answer (just the request id)."""
    return _head(request_id) + b"</Response>"


def render_error(code: str, message: str, request_id: str, trace_id: str) -> bytes:
    """An error document with the ``<Error>`` root."""
    return (
        f"<Error>{_text('Code', code)}{_text('Message', message)}"
        f"{_text('RequestId', request_id)}{_text('TraceId', trace_id)}</Error>"
    ).encode()


def render_html_error(status: int, reason: str) -> bytes:
    """The kind of HTML page a gateway in front of the service answers with."""
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>stgw</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()
