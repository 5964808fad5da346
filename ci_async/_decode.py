"""The one place that knows the shape of the service's XML.

Every response body goes through :func:`xmltodict.parse` (one call per page,
per describe, per error answer), through :func:`~ci_async._xml.parse_xml`,
which refuses document type declarations, so entity bombs and external
entities are never expanded. The dicts it returns become records here.

xmltodict's quirks are handled here and nowhere else:

* one ``JobsDetail`` is a dict and many a list: ``JobsDetail`` is read as a
  list either way;
* an empty element (``<Message/>``) is ``None``; so is an absent one;
* attributes are not kept (``xml_attribs=False``: the service sends none, and
  skipping them makes the parse about a tenth faster), so an element with
  attributes reads as its text;
* surrounding whitespace of text is stripped (so a token or a ``UserData``
  with surrounding whitespace loses it).

Every ``decode_*`` function raises :class:`~ci_async.ResponseParseError` and
nothing else on bad input: malformed XML, a wrong root element (an
``<Error>`` document on a 200), a container where text is expected (or the
reverse), a repeated element that must be single, a time that is not in the
wire format, or a ``JobLevel`` that is not an integer. A ``JobLevel`` or time
that cannot be read is treated as a broken answer rather than silently
dropped; values the service may extend (``State``, ``Type``) are kept as plain
strings instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import unquote, urlsplit

from ._errors import (
    AuthError,
    JobNotFoundError,
    ResponseParseError,
    ServerError,
    ServiceError,
    ThrottledError,
    body_snippet,
)
from ._models import (
    _EMPTY_INPUT,
    _EMPTY_OPERATION,
    Job,
    JobInput,
    JobPage,
    JobParam,
    Operation,
    Output,
    TimeInterval,
)
from ._wire import parse_time
from ._xml import MAX_DEPTH, parse_xml

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAX_DEPTH",
    "MAX_ERROR_BODY",
    "REQUEST_ID_HEADER",
    "build_list",
    "decode_describe",
    "decode_job",
    "decode_job_response",
    "decode_list",
    "error_from_response",
    "next_token_hint",
    "parse_document",
]

#: The header carrying the service's request id.
REQUEST_ID_HEADER = "x-ci-request-id"
#: The most of an error answer's body read and parsed: an ``<Error>`` document
#: is well under 1 KB; a larger body (a proxy's page) is opaque text.
MAX_ERROR_BODY = 64 * 1024


# --------------------------------------------------------------------------- parsing


def parse_document(body: bytes | str) -> dict[str, Any]:
    """Parse ``body`` into xmltodict's dicts (:func:`~ci_async._xml.parse_xml`), or refuse it.

    The first half of every decode (:func:`build_list` is the second of a list's).

    Raises:
        ResponseParseError: Why the body is refused, quoting its start.
    """
    doc = parse_xml(body)
    if isinstance(doc, str):
        raise ResponseParseError(doc, snippet=body)
    return doc


def _kind(value: object) -> str:
    """Describe a decoded value without walking into it (values may be deeply nested)."""
    if value is None:
        return "nothing (absent or empty)"
    if isinstance(value, str):
        return f"text {value[:40]!r}"
    if isinstance(value, list):
        return f"{len(value)} repeated elements"
    if isinstance(value, dict):
        names = ", ".join(f"<{name[:40]}>" for name in list(value)[:5])
        return f"a container ({names})" if names else "a container"
    return type(value).__name__  # pragma: no cover -- xmltodict makes only the above


def _bad(where: str, expected: str, value: object) -> NoReturn:
    msg = f"expected {expected} in <{where}>, got {_kind(value)}"
    raise ResponseParseError(msg)


def _text(value: Any, where: str) -> str | None:
    """Text of a decoded element: ``None`` when absent or empty."""
    if value is None or type(value) is str:
        return value
    _bad(where, "text", value)


def _container(value: Any, where: str) -> dict[str, Any] | None:
    """A decoded container element: ``None`` when absent or empty."""
    if value is None or type(value) is dict:
        return value
    _bad(where, "a container", value)


def _time(value: Any, where: str) -> datetime | None:
    if type(value) is not str:
        value = _text(value, where)
    try:
        return parse_time(value)
    except ValueError:
        _bad(where, "a time like 2022-06-27T15:23:10+0800", value)


def _id_list(value: Any, where: str) -> tuple[str, ...]:
    """Comma-separated ids, possibly split over repeated elements."""
    if value is None:
        return ()
    items = value if type(value) is list else (value,)
    ids: list[str] = []
    for item in items:
        text = _text(item, where)
        if text:
            ids.extend(part for part in (p.strip() for p in text.split(",")) if part)
    return tuple(ids)


def _input(value: Any) -> JobInput:
    node = _container(value, "Input")
    if node is None:
        return _EMPTY_INPUT
    get = node.get
    return JobInput(
        _text(get("Prefix"), "Input/Prefix"),
        _text(get("Manifest"), "Input/Manifest"),
        _text(get("UrlFile"), "Input/UrlFile"),
        _text(get("Object"), "Input/Object"),
    )


def _operation(value: Any) -> Operation:
    node = _container(value, "Operation")
    if node is None:
        return _EMPTY_OPERATION
    get = node.get

    time_interval = None
    interval = _container(get("TimeInterval"), "Operation/TimeInterval")
    if interval is not None:
        time_interval = TimeInterval(
            _time(interval.get("Start"), "Operation/TimeInterval/Start"),
            _time(interval.get("End"), "Operation/TimeInterval/End"),
        )

    job_param = None
    param = _container(get("JobParam"), "Operation/JobParam")
    if param is not None:
        job_param = JobParam(_text(param.get("TemplateId"), "Operation/JobParam/TemplateId"))

    output = None
    out = _container(get("Output"), "Operation/Output")
    if out is not None:
        output = Output(
            _text(out.get("Region"), "Operation/Output/Region"),
            _text(out.get("Bucket"), "Operation/Output/Bucket"),
            _text(out.get("Object"), "Operation/Output/Object"),
        )

    job_level = None
    level = _text(get("JobLevel"), "Operation/JobLevel")
    if level is not None:
        try:
            job_level = int(level)
        except ValueError:
            _bad("Operation/JobLevel", "an integer", level)

    return Operation(
        time_interval=time_interval,
        workflow_ids=_id_list(get("WorkflowIds"), "Operation/WorkflowIds"),
        queue_id=_text(get("QueueId"), "Operation/QueueId"),
        user_data=_text(get("UserData"), "Operation/UserData"),
        callback=_text(get("CallBack"), "Operation/CallBack"),
        job_param=job_param,
        output=output,
        job_level=job_level,
        tag=_text(get("Tag"), "Operation/Tag"),
    )


def _job(node: Any) -> Job:
    """Build a Job from one decoded ``JobsDetail`` mapping."""
    if type(node) is not dict:
        _bad("JobsDetail", "a container", node)
    get = node.get
    job_id = _text(get("JobId"), "JobsDetail/JobId")
    if not job_id:
        _bad("JobsDetail/JobId", "a job id", None)
    job_type = _text(get("Type"), "JobsDetail/Type")
    if job_type is None:
        _bad("JobsDetail/Type", "a job type", None)
    state = _text(get("State"), "JobsDetail/State")
    if state is None:
        _bad("JobsDetail/State", "a job state", None)
    return Job(
        job_id=job_id,
        type=job_type,  # (the record makes a known wire string its enum member)
        name=_text(get("Name"), "JobsDetail/Name"),
        state=state,
        code=_text(get("Code"), "JobsDetail/Code"),
        message=_text(get("Message"), "JobsDetail/Message"),
        creation_time=_time(get("CreationTime"), "JobsDetail/CreationTime"),
        start_time=_time(get("StartTime"), "JobsDetail/StartTime"),
        end_time=_time(get("EndTime"), "JobsDetail/EndTime"),
        input=_input(get("Input")),
        operation=_operation(get("Operation")),
        raw=node,
    )


def _root(doc: dict[str, Any], expected: str) -> dict[str, Any]:
    """The root container, which must be ``<expected>`` (empty counts as no children)."""
    if expected not in doc:
        name = next(iter(doc), "?")
        detail = ""
        if name == "Error" and type(doc[name]) is dict:
            code = doc[name].get("Code")
            if type(code) is str:
                detail = f" (code {code[:64]!r})"
        msg = f"expected a <{expected}> document, got <{name[:64]}>{detail}"
        raise ResponseParseError(msg)
    node = _container(doc[expected], expected)
    return {} if node is None else node


def _decode(body: bytes | str, build: Any) -> Any:
    """Parse ``body`` and run ``build`` on the document; only ResponseParseError escapes."""
    return _built(parse_document(body), body, build)


def _built(doc: dict[str, Any], body: bytes | str, build: Any) -> Any:
    """Run ``build`` on ``body``'s parsed document; only ResponseParseError escapes."""
    try:
        return build(doc)
    except ResponseParseError as exc:
        if not exc.snippet:
            exc.snippet = body_snippet(body)
        raise
    except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as exc:
        msg = f"unexpected response shape ({type(exc).__name__})"
        raise ResponseParseError(msg, snippet=body) from None


def _jobs(response: dict[str, Any]) -> tuple[Job, ...]:
    """The jobs of the ``JobsDetail`` elements; an empty one (``<JobsDetail/>``) holds none."""
    details = response.get("JobsDetail")
    if details is None:
        return ()
    if type(details) is not list:  # one element (xmltodict gives it alone)
        return (_job(details),)
    return tuple([_job(detail) for detail in details if detail is not None])


def decode_list(body: bytes | str) -> JobPage:
    """Decode a list answer: ``<Response>`` with 0..n ``JobsDetail`` and a ``NextToken``.

    Args:
        body: The response body.

    Returns:
        The page; ``next_token`` is ``None`` when the token is absent or empty.

    Raises:
        ResponseParseError: ``body`` is not such a document.
    """
    return build_list(parse_document(body), body)


def build_list(doc: dict[str, Any], body: bytes | str) -> JobPage:
    """The second half of :func:`decode_list`: the page built from ``body``'s parsed document.

    Raises:
        ResponseParseError: ``doc`` is not a list answer (its message quotes ``body``).
    """
    page: JobPage = _built(doc, body, _list_page)
    return page


def _list_page(doc: dict[str, Any]) -> JobPage:
    response = _root(doc, "Response")
    return JobPage(
        _jobs(response),
        _text(response.get("NextToken"), "Response/NextToken") or None,
        _text(response.get("RequestId"), "Response/RequestId"),
    )


#: The longest token :func:`next_token_hint` reads off a page's bytes.
MAX_HINT = 4096


def next_token_hint(body: bytes) -> str | None:
    """The ``NextToken`` a list answer most likely carries, read off its bytes; or ``None``.

    A hint only, for starting the next page's request while this page is
    decoded: the page's token is what :func:`decode_list` reads, and a request
    started on a hint that turns out different is cancelled. The last
    ``<NextToken>`` element of the body is taken (the service writes it after
    the jobs); ``None`` when there is none, it is empty or longer than
    :data:`MAX_HINT`, or it holds markup or an entity.
    """
    start = body.rfind(b"<NextToken>")
    if start < 0:
        return None
    start += len(b"<NextToken>")
    end = body.find(b"</NextToken>", start, start + MAX_HINT + len(b"</NextToken>"))
    if end < 0:
        return None
    raw = body[start:end]
    if b"<" in raw or b"&" in raw:
        return None
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    return text or None


def decode_describe(body: bytes | str) -> tuple[tuple[Job, ...], tuple[str, ...], str | None]:
    """Decode a describe answer: ``JobsDetail`` elements and ``NonExistJobIds``.

    Args:
        body: The response body.

    Returns:
        ``(jobs, non_exist_ids, request_id)``. ``non_exist_ids`` is read from
        comma-separated text and/or repeated ``NonExistJobIds`` elements.

    Raises:
        ResponseParseError: ``body`` is not such a document.
    """

    def build(doc: dict[str, Any]) -> tuple[tuple[Job, ...], tuple[str, ...], str | None]:
        response = _root(doc, "Response")
        return (
            _jobs(response),
            _id_list(response.get("NonExistJobIds"), "Response/NonExistJobIds"),
            _text(response.get("RequestId"), "Response/RequestId"),
        )

    result: tuple[tuple[Job, ...], tuple[str, ...], str | None] = _decode(body, build)
    return result


def decode_job(response: httpx.Response, job_id: str) -> Job:
    """Decode a describe answer for one id: that job, or a typed "not found".

    Args:
        response: The answer (a 2xx, body read); its ``x-ci-request-id``
            header is used when the body has no request id.
        job_id: The id asked for.

    Returns:
        The job.

    Raises:
        JobNotFoundError: The id is in ``NonExistJobIds``, or no job came back.
        ResponseParseError: Not such a document, or it describes other jobs only.
    """
    jobs, missing, request_id = decode_describe(response.content)
    status_code = response.status_code
    if not request_id:
        request_id = response.headers.get(REQUEST_ID_HEADER)
    if job_id in missing or not jobs:
        raise JobNotFoundError(
            job_id=job_id,
            status_code=status_code,
            message="the service reported it as non-existent",
            request_id=request_id,
            method="GET",
            url=str(response.request.url),
        )
    for job in jobs:
        if job.job_id == job_id:
            return job
    msg = f"asked for job {job_id!r}, the service described other jobs"
    raise ResponseParseError(msg, status_code=status_code, request_id=request_id)


def decode_job_response(body: bytes | str) -> Job:
    """Decode the answer to a create call: exactly one ``JobsDetail``.

    Args:
        body: The response body.

    Returns:
        The new job.

    Raises:
        ResponseParseError: ``body`` is not such a document, or holds no job
            or several.
    """

    def build(doc: dict[str, Any]) -> Job:
        jobs = _jobs(_root(doc, "Response"))
        if len(jobs) != 1:
            msg = f"expected exactly one <JobsDetail>, got {len(jobs)}"
            raise ResponseParseError(msg)
        return jobs[0]

    job: Job = _decode(body, build)
    return job


# --------------------------------------------------------------------------- errors


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works on plain dicts too."""
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = max(0.0, when.timestamp() - time.time())
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _job_id_from_url(url: str) -> str | None:
    """The job id of a ``.../inventorytriggerjob/<id>`` URL, if it is one."""
    path = urlsplit(url).path.rstrip("/")
    head, _, tail = path.rpartition("/")
    if head.endswith("/inventorytriggerjob") and tail:
        return unquote(tail)
    return None


def _error_fields(body: bytes) -> dict[str, str | None] | None:
    """``Code``/``Message``/``RequestId``/``TraceId`` of an XML error body, else None.

    Bodies larger than any error document (a proxy's page, a runaway answer)
    are not parsed at all.
    """
    if len(body) > MAX_ERROR_BODY or not body[:256].lstrip().startswith(b"<"):
        return None
    try:
        doc = parse_document(body)
    except ResponseParseError:
        return None
    root = next(iter(doc.values()), None)
    if type(root) is not dict:
        return None
    fields: dict[str, str | None] = {}
    for name in ("Code", "Message", "RequestId", "TraceId"):
        value = root.get(name)
        if isinstance(value, dict):
            value = value.get("#text")
        fields[name] = value if isinstance(value, str) else None
    if not any(fields.values()):
        return None
    return fields


def error_from_response(
    status_code: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    method: str,
    url: str,
) -> ServiceError:
    """Turn an error answer into the matching :class:`~ci_async.ServiceError`.

    Never raises. The mapping: code ``ResourceNotFound`` or status 404 (except
    code ``NoSuchBucket``) on a request for one job → :class:`~ci_async.JobNotFoundError`
    (on a listing or a create, which name no job: as any other status); 401/403 →
    :class:`~ci_async.AuthError`; 429 or code ``SlowDown`` →
    :class:`~ci_async.ThrottledError`; other 5xx → :class:`~ci_async.ServerError`;
    anything else → :class:`~ci_async.ServiceError`.

    Args:
        status_code: The HTTP status.
        body: The body: an ``<Error>`` document, or anything (HTML, empty).
        headers: The response headers (``x-ci-request-id``, ``Retry-After``).
        method: The request method.
        url: The request URL (userinfo and secret-looking parameters are removed).

    Returns:
        The error to raise. ``message`` is the service's ``<Message>``, or a
        short snippet of a body that is not an XML error document.
    """
    try:
        return _error_from_response(status_code, body, headers, method=method, url=url)
    except Exception:  # the contract is "never raises"
        return ServiceError(status_code=status_code, method=method, url=url)


def _error_from_response(
    status_code: int, body: bytes, headers: Mapping[str, str], *, method: str, url: str
) -> ServiceError:
    fields = _error_fields(body)
    if fields is None:
        code = None
        message = body_snippet(body) or None
        request_id = trace_id = None
    else:
        code, message = fields["Code"], fields["Message"]
        request_id, trace_id = fields["RequestId"], fields["TraceId"]
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "code": code,
        "message": message,
        "request_id": request_id or _header(headers, REQUEST_ID_HEADER),
        "trace_id": trace_id,
        "method": method,
        "url": url,
        "retry_after": _retry_after(_header(headers, "retry-after")),
    }
    job_id = _job_id_from_url(url)  # None: a listing or a create, which name no job
    not_found = code == "ResourceNotFound" or (status_code == 404 and code != "NoSuchBucket")
    if not_found and job_id is not None:
        return JobNotFoundError(job_id=job_id, **kwargs)
    if status_code in {401, 403}:
        return AuthError(**kwargs)
    if status_code == 429 or code == "SlowDown":
        return ThrottledError(**kwargs)
    if 500 <= status_code <= 599:
        return ServerError(**kwargs)
    return ServiceError(**kwargs)
