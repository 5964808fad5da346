"""Validation of what clients send: list parameters and the create ``<Request>`` body.

Everything here raises :class:`ApiError` (a 400 with the service's error code)
for bad input; the app turns it into an ``<Error>`` answer. The create body is
parsed with xmltodict directly (DTDs and entities refused) — independently of
the client's encoder. Text XML 1.0 cannot carry never gets past that parse:
expat refuses it raw and as a character reference (``&#27;``), even in a
document declared ``version="1.1"``, so a body holding it is a 400
``InvalidContent`` and every created job can be rendered.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import xmltodict

from ._render import parse_time
from ._store import ALL_STATES, JOB_TYPES, ListQuery
from ._store import decode_token as _decode_token

__all__ = ["ApiError", "invalid", "parse_create_body", "parse_list_query"]

_NAME_RE = re.compile(r"^[\w\-\u4e00-\u9fff]{1,128}$")


class ApiError(Exception):
    """An error answer (status, ``<Code>``, ``<Message>``), raised anywhere below the app."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> ApiError:
    """A 400 ``InvalidArgument`` with ``message``."""
    return ApiError(400, "InvalidArgument", message)


def parse_list_query(params: dict[str, str], *, exclusive_bounds: bool = False) -> ListQuery:
    """Validate list parameters (names lower-cased) into a :class:`ListQuery`.

    ``exclusive_bounds`` makes ``startCreationTime`` and ``endCreationTime``
    leave out the jobs created exactly at them.

    Raises:
        ApiError: 400 ``InvalidArgument`` for any bad value, or a ``nextToken``
            issued for another order or other filters.
    """
    size_text = params.get("size") or "10"
    if not (size_text.isascii() and size_text.isdigit()) or not 1 <= int(size_text) <= 100:
        raise invalid(f"size must be an integer from 1 to 100, got {size_text!r}")
    order = params.get("orderbytime") or "Desc"
    if order not in ("Desc", "Asc"):
        raise invalid(f"orderByTime must be Desc or Asc, got {order!r}")
    ascending = order == "Asc"
    job_type = params.get("type") or None
    if job_type is not None and job_type not in JOB_TYPES:
        raise invalid(f"type must be Workflow or Job, got {job_type!r}")
    states: frozenset[str] | None = None
    states_text = params.get("states") or "All"
    names = states_text.split(",")
    if "All" not in names:
        unknown = [name for name in names if name not in ALL_STATES]
        if unknown:
            raise invalid(f"unknown state(s) in states: {', '.join(map(repr, unknown))}")
        states = frozenset(names)
    elif any(name not in ALL_STATES and name != "All" for name in names):
        raise invalid(f"unknown state(s) in states: {states_text!r}")
    start = _time_param(params, "startcreationtime", "startCreationTime")
    end = _time_param(params, "endcreationtime", "endCreationTime")
    query = ListQuery(
        size=int(size_text),
        ascending=ascending,
        type=job_type,
        states=states,
        start=start,
        end=end,
        workflow_id=params.get("workflowid") or None,
        job_id=params.get("jobid") or None,
        name=params.get("name") or None,
        exclusive_bounds=exclusive_bounds,
    )
    token = params.get("nexttoken")
    if not token:
        return query
    try:
        after = _decode_token(token, ascending=ascending, filters=query.filters_key)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    return attrs.evolve(query, after=after)


def _time_param(params: dict[str, str], key: str, label: str) -> float | None:
    text = params.get(key)
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise invalid(f"{label} must look like 2022-06-27T15:23:10+0800, got {text!r}") from None


def _node_text(node: object) -> str | None:
    if node is None:
        return None
    if isinstance(node, str):
        return node.strip()
    if isinstance(node, dict):
        text = node.get("#text")
        return text.strip() if isinstance(text, str) else None
    return None


def _node_dict(node: object, label: str) -> dict[str, Any]:
    if node is None:
        return {}
    if isinstance(node, dict):
        return node
    raise ApiError(400, "InvalidContent", f"{label} must be an element with children")


def parse_create_body(body: bytes) -> dict[str, Any]:
    """Validate a create ``<Request>`` body into :class:`StoredJob` fields.

    Raises:
        ApiError: 400 ``MissingContent`` / ``InvalidContent`` / ``InvalidArgument``.
    """
    if not body.strip():
        raise ApiError(400, "MissingContent", "the request body is empty")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ApiError(400, "InvalidContent", "DTDs and entities are not allowed")
    try:
        document = xmltodict.parse(body, disable_entities=True)
    except Exception:  # expat errors and friends: any unparsable body
        raise ApiError(400, "InvalidContent", "the request body is not well-formed XML") from None
    if list(document) != ["Request"]:
        raise ApiError(400, "InvalidContent", "the request body's root element must be Request")
    root = _node_dict(document["Request"], "Request")
    name = _node_text(root.get("Name"))
    if not name or not _NAME_RE.match(name):
        raise invalid(
            "Name is required: up to 128 letters (including Chinese), digits, '-' and '_'"
        )
    job_type = _node_text(root.get("Type"))
    if job_type not in JOB_TYPES:
        raise invalid(f"Type must be Workflow or Job, got {job_type!r}")
    source = _node_dict(root.get("Input"), "Input")
    inputs = {
        "prefix": _node_text(source.get("Prefix")),
        "manifest": _node_text(source.get("Manifest")),
        "url_file": _node_text(source.get("UrlFile")),
        "object": _node_text(source.get("Object")),
    }
    if not any(inputs.values()):
        raise invalid("Input needs one of Prefix, Manifest, UrlFile or Object")
    operation = _node_dict(root.get("Operation"), "Operation")
    fields: dict[str, Any] = {"name": name, "type": job_type}
    fields.update({key: value for key, value in inputs.items() if value})
    fields.update(_parse_operation(operation, job_type))
    return fields


def _parse_operation(operation: dict[str, Any], job_type: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    interval = _node_dict(operation.get("TimeInterval"), "TimeInterval")
    for key, label in (("interval_start", "Start"), ("interval_end", "End")):
        text = _node_text(interval.get(label))
        if text:
            try:
                fields[key] = parse_time(text)
            except ValueError:
                raise invalid(
                    f"TimeInterval/{label} must look like 2022-06-27T15:23:10+0800"
                ) from None
    raw_ids = operation.get("WorkflowIds")
    id_nodes = raw_ids if isinstance(raw_ids, list) else [raw_ids]
    workflow_ids = tuple(
        part.strip()
        for node in id_nodes
        for part in (_node_text(node) or "").split(",")
        if part.strip()
    )
    if job_type == "Workflow" and not workflow_ids:
        raise invalid("a Workflow job needs Operation/WorkflowIds")
    if workflow_ids:
        fields["workflow_ids"] = workflow_ids
    for key, label in (
        ("queue_id", "QueueId"),
        ("user_data", "UserData"),
        ("callback", "CallBack"),
        ("tag", "Tag"),
    ):
        text = _node_text(operation.get(label))
        if text:
            fields[key] = text
    template = _node_text(_node_dict(operation.get("JobParam"), "JobParam").get("TemplateId"))
    if template:
        fields["template_id"] = template
    output = _node_dict(operation.get("Output"), "Output")
    for key, label in (
        ("output_region", "Region"),
        ("output_bucket", "Bucket"),
        ("output_object", "Object"),
    ):
        text = _node_text(output.get(label))
        if text:
            fields[key] = text
    level = _node_text(operation.get("JobLevel"))
    if level:
        if level not in ("0", "1", "2"):
            raise invalid(f"JobLevel must be 0, 1 or 2, got {level!r}")
        fields["job_level"] = int(level)
    return fields
