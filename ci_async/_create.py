"""The create-job request: its rules, in one place, and its XML body.

:class:`CreateJobRequest` is a record that validates itself: building one
checks every rule of ``POST /inventorytriggerjob`` (exactly one input source,
a Workflow job or a Job job but not a mix, a name of 1 to 128 characters, a
priority of 0 to 2, output bucket and region names, a time window of aware
datetimes in order). ``Session.create_job`` and the command line both build
it, so the rules are checked once, before any request, the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

import attrs

from ._checks import optional_text, positive_int, require_str, wire_datetime
from ._config import bucket_name, region_name
from ._models import JobInput, JobParam, JobType, Operation, Output, TimeInterval
from ._wire import BEIJING, format_time

__all__ = ["MAX_NAME", "CreateJobRequest"]

#: The longest job name accepted.
MAX_NAME = 128
_INPUT_SOURCES = ("prefix", "manifest", "url_file", "object")
_JOB_FIELDS = ("tag", "queue_id", "job_param", "user_data", "callback", "output", "job_level")


#: What the create pages allow in a name: letters (Chinese too), digits, ``_`` and ``-``.
_NAME = re.compile(r"[\w-]+")


def _name(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    text = require_str(value, "name")
    if not 1 <= len(text) <= MAX_NAME:
        msg = f"name must be 1 to {MAX_NAME} characters, got {len(text)}"
        raise ValueError(msg)
    if _NAME.fullmatch(text) is None:
        msg = "name may hold only letters, digits, '_' and '-' (the service refuses others)"
        raise ValueError(msg)


def _input(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, JobInput):
        msg = f"input must be a JobInput, not {type(value).__name__}"
        raise TypeError(msg)
    given = [name for name in _INPUT_SOURCES if getattr(value, name) is not None]
    if len(given) != 1:
        msg = (
            "input must set exactly one of prefix, manifest, url_file, object; "
            f"got {', '.join(given) or 'none'}"
        )
        raise ValueError(msg)
    optional_text(getattr(value, given[0]), f"input.{given[0]}")


def _workflow_ids(ids: Sequence[str]) -> None:
    for item in ids:
        if not item or "," in item or any(char.isspace() for char in item):
            msg = f"workflow ids must be non-empty, without commas or whitespace, got {item[:80]!r}"
            raise ValueError(msg)


def _job_fields(operation: Operation) -> list[str]:
    """The Job-job fields ``operation`` sets, each checked."""
    for name in ("tag", "queue_id", "user_data", "callback"):
        optional_text(getattr(operation, name), name)
    if operation.job_param is not None:
        optional_text(operation.job_param.template_id, "template_id")
    if operation.job_level is not None:
        positive_int(operation.job_level, "job_level", minimum=0, maximum=2)
    output = operation.output
    if output is not None:
        if output.bucket is not None:
            bucket_name(output.bucket, "output.bucket")
        if output.region is not None:
            region_name(output.region, "output.region")
        optional_text(output.object, "output.object")
    return [name for name in _JOB_FIELDS if getattr(operation, name) is not None]


def _time_interval(interval: TimeInterval) -> None:
    start, end = interval.start, interval.end
    for name, value in (("start", start), ("end", end)):
        if value is not None:
            wire_datetime(value, f"time_interval.{name}")  # (sent in Beijing time)
    if start is not None and end is not None and start > end:
        msg = "time_interval.start is later than time_interval.end"
        raise ValueError(msg)


def _operation(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Operation):
        msg = f"operation must be an Operation, not {type(value).__name__}"
        raise TypeError(msg)
    _workflow_ids(value.workflow_ids)
    job_fields = _job_fields(value)
    if value.workflow_ids and job_fields:
        msg = (
            "a Workflow job (workflow_ids) takes none of the Job fields, "
            f"got {', '.join(job_fields)}"
        )
        raise ValueError(msg)
    if not value.workflow_ids and not job_fields:
        msg = (
            "give either workflow_ids (a Workflow job) or the fields of a Job job "
            "(tag, queue_id, template_id, output, ...)"
        )
        raise ValueError(msg)
    if value.time_interval is not None:
        _time_interval(value.time_interval)


@attrs.frozen(kw_only=True)
class CreateJobRequest:
    """A job to create, checked against every rule of the create call when built.

    Attributes:
        name: The job's name, 1 to 128 characters.
        input: What to process: exactly one of prefix, manifest, url_file, object.
        operation: What to do: ``workflow_ids`` (a Workflow job), or the
            fields of a Job job (at least one of them).

    Raises:
        TypeError: A value of the wrong type.
        ValueError: A bad value or a bad mix of fields.
    """

    name: str = attrs.field(validator=_name)
    input: JobInput = attrs.field(validator=_input)
    operation: Operation = attrs.field(validator=_operation)

    @classmethod
    def build(
        cls,
        *,
        name: str,
        input: JobInput,
        workflow_ids: Sequence[str] = (),
        tag: str | None = None,
        queue_id: str | None = None,
        template_id: str | None = None,
        output: Output | None = None,
        user_data: str | None = None,
        callback: str | None = None,
        job_level: int | None = None,
        time_interval: TimeInterval | None = None,
    ) -> CreateJobRequest:
        """Build (and so check) a request from ``Session.create_job``'s arguments.

        Raises:
            TypeError: A value of the wrong type.
            ValueError: A bad value or a bad mix of fields.
        """
        operation = Operation(
            time_interval=time_interval,
            workflow_ids=workflow_ids,
            queue_id=queue_id,
            user_data=user_data,
            callback=callback,
            job_param=None if template_id is None else JobParam(template_id),
            output=output,
            job_level=job_level,
            tag=tag,
        )
        return cls(name=name, input=input, operation=operation)

    @property
    def type(self) -> JobType:
        """``Workflow`` when workflows are given, else ``Job``."""
        return JobType.WORKFLOW if self.operation.workflow_ids else JobType.JOB

    def to_xml(self) -> bytes:
        """The request body: ``<Request><Name/><Type/><Input/><Operation/></Request>``.

        Returns:
            UTF-8 XML, text escaped; unset fields are left out.

        Raises:
            ValueError: A text holds characters XML cannot carry.
        """
        xml = (
            "<Request>"
            + _element("Name", self.name)
            + _element("Type", self.type.value)
            + _encode_input(self.input)
            + _encode_operation(self.operation)
            + "</Request>"
        )
        return xml.encode("utf-8")


_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ENTITIES = {"\r": "&#13;"}  # a raw CR would come back as LF


def _element(name: str, text: str | None) -> str:
    """``<name>text</name>`` (escaped), or nothing when ``text`` is None."""
    if text is None:
        return ""
    if _INVALID_XML.search(text):
        msg = f"{name} contains characters that XML cannot carry: {text[:40]!r}"
        raise ValueError(msg)
    return f"<{name}>{escape(text, _ENTITIES)}</{name}>"


def _encode_input(value: JobInput) -> str:
    return (
        "<Input>"
        + _element("Prefix", value.prefix)
        + _element("Manifest", value.manifest)
        + _element("UrlFile", value.url_file)
        + _element("Object", value.object)
        + "</Input>"
    )


def _encode_operation(value: Operation) -> str:
    parts = ["<Operation>"]
    if value.time_interval is not None:
        start, end = value.time_interval.start, value.time_interval.end
        parts.append(
            "<TimeInterval>"
            # In Beijing time, as the list's bounds (see ListFilters.params).
            + _element("Start", None if start is None else format_time(start.astimezone(BEIJING)))
            + _element("End", None if end is None else format_time(end.astimezone(BEIJING)))
            + "</TimeInterval>"
        )
    if value.workflow_ids:
        parts.append(_element("WorkflowIds", ",".join(value.workflow_ids)))
    parts.append(_element("QueueId", value.queue_id))
    parts.append(_element("UserData", value.user_data))
    parts.append(_element("CallBack", value.callback))
    parts.append(_element("Tag", value.tag))  # (where the create page puts it)
    if value.job_param is not None:
        parts.append(
            "<JobParam>" + _element("TemplateId", value.job_param.template_id) + "</JobParam>"
        )
    if value.output is not None:
        out = value.output
        parts.append(
            "<Output>"
            + _element("Region", out.region)
            + _element("Bucket", out.bucket)
            + _element("Object", out.object)
            + "</Output>"
        )
    if value.job_level is not None:
        parts.append(_element("JobLevel", str(value.job_level)))
    parts.append("</Operation>")
    return "".join(parts)
