"""XML the tests need: the service's answers rendered from records, and create requests read back.

These used to ship in ``ci_async._decode``; only the tests use them (the
emulator renders its own answers), so they live here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from ci_async import Job, JobInput, JobType, Operation
from ci_async._create import _element, _encode_input, _encode_operation
from ci_async._decode import _decode, _input, _operation, _root, _text
from ci_async._models import _TYPES
from ci_async._wire import format_time

__all__ = [
    "CreateRequest",
    "decode_create_request",
    "encode_create_request",
    "encode_job",
    "encode_response",
]


class CreateRequest(NamedTuple):
    """The fields of a create ``<Request>`` (see :func:`decode_create_request`)."""

    name: str | None
    type: JobType | str | None
    input: JobInput
    operation: Operation


def decode_create_request(body: bytes | str) -> CreateRequest:
    """Decode a create ``<Request>`` body (the emulator's side of :func:`encode_create_request`).

    Args:
        body: The request body.

    Returns:
        The request's name, type, input and operation.

    Raises:
        ResponseParseError: ``body`` is not such a document.
    """

    def build(doc: dict[str, Any]) -> CreateRequest:
        request = _root(doc, "Request")
        job_type = _text(request.get("Type"), "Request/Type")
        return CreateRequest(
            _text(request.get("Name"), "Request/Name"),
            None if job_type is None else _TYPES.get(job_type, job_type),
            _input(request.get("Input")),
            _operation(request.get("Operation")),
        )

    result: CreateRequest = _decode(body, build)
    return result


def _wire_time(value: datetime | None) -> str:
    return "-" if value is None else format_time(value)


def encode_job(job: Job) -> str:
    """Render a job as the service's ``<JobsDetail>`` element (for the emulator and tests).

    Args:
        job: The job.

    Returns:
        The element's XML text; unset times are written ``-`` as the service does.

    Raises:
        ValueError: A text holds characters XML cannot carry, or a time is naive.
    """
    return (
        "<JobsDetail>"
        + _element("Code", job.code)
        + _element("Type", str(job.type))
        + ("<Message/>" if job.message is None else _element("Message", job.message))
        + _element("Name", job.name)
        + _element("JobId", job.job_id)
        + _element("State", str(job.state))
        + _element("CreationTime", _wire_time(job.creation_time))
        + _element("StartTime", _wire_time(job.start_time))
        + _element("EndTime", _wire_time(job.end_time))
        + _encode_input(job.input)
        + _encode_operation(job.operation)
        + "</JobsDetail>"
    )


def encode_response(
    jobs: Iterable[Job] = (),
    *,
    request_id: str | None = None,
    next_token: str | None = None,
    non_exist_ids: Iterable[str] = (),
) -> bytes:
    """Render a ``<Response>`` as the service sends it (for the emulator and tests).

    Args:
        jobs: The ``JobsDetail`` to include.
        request_id: The ``RequestId``.
        next_token: The ``NextToken`` (list answers), or ``None`` to leave it out.
        non_exist_ids: Ids for ``NonExistJobIds`` (describe answers), comma-joined.

    Returns:
        The document as UTF-8.
    """
    missing = ",".join(non_exist_ids)
    xml = (
        "<Response>"
        + _element("RequestId", request_id)
        + "".join(encode_job(job) for job in jobs)
        + (_element("NonExistJobIds", missing) if missing else "")
        + _element("NextToken", next_token)
        + "</Response>"
    )
    return xml.encode("utf-8")


def encode_create_request(
    *, name: str, type: JobType | str, input: JobInput, operation: Operation
) -> bytes:
    """A create body from any fields, through the library's own element encoders.

    ``CreateJobRequest.to_xml`` only encodes requests that pass the create
    rules; this lets the encoders be tested on any record.
    """
    xml = (
        "<Request>"
        + _element("Name", name)
        + _element("Type", str(type))
        + _encode_input(input)
        + _encode_operation(operation)
        + "</Request>"
    )
    return xml.encode("utf-8")
