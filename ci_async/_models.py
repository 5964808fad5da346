"""Records for what the service returns: jobs, their inputs and operations, pages.

All records are frozen, slotted :mod:`attrs` classes: immutable, hashable
and cheap. They are built by :mod:`ci_async._decode` from the service's XML;
users build :class:`JobInput`, :class:`Operation` and friends to create jobs.

Every record's ``repr`` is one short line, whatever the service sent: text in
it is escaped and cut, tuples show their first items (the attributes keep
everything whole).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs

from ._checks import aware_datetime, instance, require_str
from ._text import shown

__all__ = [
    "TERMINAL_STATES",
    "Job",
    "JobInput",
    "JobLookup",
    "JobPage",
    "JobParam",
    "JobState",
    "JobType",
    "Operation",
    "Output",
    "TimeInterval",
]


class JobState(str, enum.Enum):
    """The state of a job, as the service spells it.

    Members compare and hash equal to their wire strings
    (``JobState.RUNNING == "Running"``, and ``"Running" in {JobState.RUNNING}``),
    and ``str()`` gives the wire string. States the service adds later are
    kept as plain strings on :attr:`Job.state`, never an error.
    """

    SUBMITTED = "Submitted"
    RUNNING = "Running"
    SUCCESS = "Success"
    FAILED = "Failed"
    PAUSE = "Pause"
    CANCEL = "Cancel"

    # Hash like the wire string, so that members and plain strings mix in sets and dicts.
    __hash__ = str.__hash__

    def __str__(self) -> str:
        return str(self.value)

    @property
    def is_terminal(self) -> bool:
        """Whether a job in this state will not change any more (Success, Failed, Cancel)."""
        return self in TERMINAL_STATES


class JobType(str, enum.Enum):
    """How a job is triggered, as the service spells it.

    ``WORKFLOW`` jobs run workflows (``Operation.workflow_ids``); ``JOB`` jobs
    run a template on a queue (``Operation.queue_id``, ``Operation.job_param``).
    """

    WORKFLOW = "Workflow"
    JOB = "Job"

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return str(self.value)


#: The states a job never leaves. ``Pause`` is not terminal.
TERMINAL_STATES: frozenset[JobState] = frozenset(
    {JobState.SUCCESS, JobState.FAILED, JobState.CANCEL}
)


# The records' validators: plain functions, not composed ones, that let the usual
# value through on their first test (records are built by the thousand), and leave
# anything else to a full check whose message names the field.


def _optional_str(_record: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and type(value) is not str:
        require_str(value, attribute.name)


def _optional_time(_record: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # The decoder's times (a datetime with a fixed offset) pass on the first test.
    if value is not None and not (type(value) is datetime and type(value.tzinfo) is timezone):
        aware_datetime(value, attribute.name)


def _str(_record: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not str:
        require_str(value, attribute.name)  # (a str subclass, or a str enum member, passes here)


def _optional_int(_record: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None or type(value) is int:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{attribute.name} must be an int or None, not {type(value).__name__}"
        raise TypeError(msg)


def _non_empty_str(record: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _str(record, attribute, value)
    if not value:
        msg = f"{attribute.name} must not be empty"
        raise ValueError(msg)


def _str_tuple(value: object) -> tuple[str, ...]:
    """A sequence of str (not one str) as a tuple: ``Operation.workflow_ids``."""
    if type(value) is not tuple:
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            msg = f"workflow_ids must be a sequence of str, not {type(value).__name__}"
            raise TypeError(msg)
        value = tuple(value)
    for item in value:
        if type(item) is not str:
            require_str(item, "each workflow id")
    return value


_STATES: dict[str, JobState] = {member.value: member for member in JobState}
_TYPES: dict[str, JobType] = {member.value: member for member in JobType}
_Member = TypeVar("_Member", JobState, JobType)


def _job_type(value: str) -> JobType | str:
    """``Job.type``'s converter and check: a wire string this version knows becomes the member."""
    if type(value) is str:
        return _TYPES.get(value, value)
    if type(value) is JobType:  # what the decoder passes
        return value
    return _known(value, _TYPES, "type")


def _job_state(value: str) -> JobState | str:
    """``Job.state``'s converter and check: a wire string this version knows becomes the member."""
    if type(value) is str:
        return _STATES.get(value, value)
    if type(value) is JobState:  # what the decoder passes
        return value
    return _known(value, _STATES, "state")


def _known(value: object, members: Mapping[str, _Member], name: str) -> _Member | str:
    """The slow path of :func:`_job_type` and :func:`_job_state`: str subclasses, wrong types."""
    text = require_str(value, name)
    known = members.get(text)
    if known is not None:
        return known
    if isinstance(text, enum.Enum):  # (``type=JobState.RUNNING``: a slip, not a new type)
        kind = type(next(iter(members.values()))).__name__
        msg = f"{name} must be a {kind} or a str, not {type(text).__name__}"
        raise TypeError(msg)
    return text


def _optional_instance(
    cls: type[Any],
) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """An attrs validator: ``None`` or an instance of ``cls`` (:func:`_checks.instance`)."""

    def validator(_record: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and type(value) is not cls:
            instance(value, cls, attribute.name, optional=True)  # (a subclass passes here)

    return validator


def _instance(cls: type[Any]) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """An attrs validator: an instance of ``cls`` (:func:`_checks.instance`)."""

    def validator(_record: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if type(value) is not cls:
            instance(value, cls, attribute.name)  # (a subclass passes here)

    return validator


def _mapping(_record: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not dict:  # (what the decoder passes)
        instance(value, Mapping, attribute.name)


# Reprs: every record's repr is bounded, however long the server's text. A field
# shows at most _SHOWN characters (escaped, cut with a marker), a tuple its first
# _ITEMS items, and a nested record its own bounded repr.

_SHOWN = 60
_ITEMS = 3


def _short(value: object, limit: int = _SHOWN) -> str:
    """A field for a record's repr: wire strings for enums, server text bounded."""
    if value is None:
        return "None"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    text = value.value if isinstance(value, enum.Enum) else str(value)
    return repr(shown(text, limit))


def _field_repr(value: object) -> str:
    """Any field's value for a record's repr (see :func:`_record_repr`)."""
    if type(value) is int:
        # An int is bounded too: an odd JobLevel of 4,000 digits decodes fine.
        return repr(value) if value.bit_length() <= 64 else f"<{value.bit_length()}-bit int>"
    if isinstance(value, tuple):
        items = [_field_repr(item) for item in value[:_ITEMS]]
        if len(value) > _ITEMS:
            items.append(f"<{len(value) - _ITEMS} more>")
        return f"({items[0]},)" if len(value) == 1 else f"({', '.join(items)})"
    if attrs.has(type(value)):  # a nested record (or a job): its own bounded repr
        return repr(value)
    return _short(value)


def _record_repr(record: Any) -> str:
    """``Name(field=value, ...)`` like attrs' repr, with every value bounded and escaped."""
    fields = ", ".join(
        f"{field.name}={_field_repr(getattr(record, field.name))}"
        for field in attrs.fields(type(record))
        if field.repr
    )
    return f"{type(record).__name__}({fields})"


@attrs.frozen(repr=False)
class TimeInterval:
    """The creation-time window of the objects a job processes.

    Attributes:
        start: The window's start (an aware datetime), or ``None``.
        end: The window's end (an aware datetime), or ``None``.
    """

    start: datetime | None = attrs.field(default=None, validator=_optional_time)
    end: datetime | None = attrs.field(default=None, validator=_optional_time)

    __repr__ = _record_repr


@attrs.frozen(repr=False)
class JobParam:
    """Parameters of a ``Job``-type job.

    Attributes:
        template_id: The processing template the job applies.
    """

    template_id: str | None = attrs.field(default=None, validator=_optional_str)

    __repr__ = _record_repr


@attrs.frozen(repr=False)
class Output:
    """Where a ``Job``-type job writes its results.

    Attributes:
        region: The output bucket's region, e.g. ``"ap-chongqing"``.
        bucket: The output bucket, ``BucketName-APPID``.
        object: The output object key; may contain service placeholders such
            as ``${InventoryTriggerJobId}``.
    """

    region: str | None = attrs.field(default=None, validator=_optional_str)
    bucket: str | None = attrs.field(default=None, validator=_optional_str)
    object: str | None = attrs.field(default=None, validator=_optional_str)

    __repr__ = _record_repr


@attrs.frozen(repr=False)
class JobInput:
    """The objects a job processes: one of a prefix, a manifest, a URL list or one object.

    Attributes:
        prefix: Process the objects under this key prefix.
        manifest: Process the objects listed in this inventory manifest.
        url_file: Process the URLs listed in this file.
        object: Process this single object.
    """

    prefix: str | None = attrs.field(default=None, validator=_optional_str)
    manifest: str | None = attrs.field(default=None, validator=_optional_str)
    url_file: str | None = attrs.field(default=None, validator=_optional_str)
    object: str | None = attrs.field(default=None, validator=_optional_str)

    __repr__ = _record_repr


@attrs.frozen(repr=False)
class Operation:
    """What a job does.

    ``Workflow`` jobs set :attr:`workflow_ids`; ``Job`` jobs set
    :attr:`queue_id`, :attr:`job_param` and usually :attr:`output`.

    Attributes:
        time_interval: Only process objects created in this window.
        workflow_ids: The workflows to trigger (``WorkflowIds``, comma-separated on the wire).
        queue_id: The queue a ``Job`` job runs on.
        user_data: Free text passed through to callbacks.
        callback: The callback URL (``CallBack``).
        job_param: Template parameters of a ``Job`` job.
        output: Where a ``Job`` job writes.
        job_level: The job's priority (``JobLevel``; 0, 1 or 2 on the service).
        tag: The processing kind of a ``Job`` job (``Tag``), when given;
            keyword-only.

    The fields before :attr:`tag` may be given positionally, in this order.
    """

    time_interval: TimeInterval | None = attrs.field(
        default=None,
        validator=_optional_instance(TimeInterval),
    )
    workflow_ids: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    queue_id: str | None = attrs.field(default=None, validator=_optional_str)
    user_data: str | None = attrs.field(default=None, validator=_optional_str)
    callback: str | None = attrs.field(default=None, validator=_optional_str)
    job_param: JobParam | None = attrs.field(default=None, validator=_optional_instance(JobParam))
    output: Output | None = attrs.field(default=None, validator=_optional_instance(Output))
    job_level: int | None = attrs.field(default=None, validator=_optional_int)
    tag: str | None = attrs.field(default=None, validator=_optional_str, kw_only=True)

    __repr__ = _record_repr


_EMPTY_INPUT = JobInput()
_EMPTY_OPERATION = Operation()


def _plain(value: Any) -> Any:
    """A record, or a value inside one, as JSON-ready data (see :meth:`Job.to_dict`)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if attrs.has(type(value)):
        return {
            field.name: _plain(getattr(value, field.name))
            for field in attrs.fields(type(value))
            if field.name != "raw"  # the typed fields say the same, with stable keys
        }
    return value


@attrs.frozen(kw_only=True, repr=False)
class Job:
    """A batch data processing job, as the service describes it.

    Equality and hashing cover every field except :attr:`raw`. The fields are
    given by name: ``job_id``, ``type`` and ``state`` are required, the others
    default to ``None``, empty records and an empty ``raw``. A ``type`` or
    ``state`` given as a wire string this version knows (``"Running"``) is
    stored as its member (``JobState.RUNNING``), as decoding does. Every field
    is checked as the other records' are: a wrong type, a naive datetime or
    the other enum's member (``type=JobState.RUNNING``) raises at once.

    Attributes:
        job_id: The job's id.
        type: :class:`JobType`, or the service's string when it is one this
            version does not know.
        name: The job's name.
        state: :class:`JobState`, or the service's string when it is one this
            version does not know.
        code: The job's result code (``"Success"`` or an error code).
        message: The job's result message; ``None`` when empty.
        creation_time: When the job was created (aware datetime).
        start_time: When the job started, or ``None`` if it has not yet.
        end_time: When the job ended, or ``None`` if it has not yet.
        input: What the job processes.
        operation: What the job does.
        raw: The ``JobsDetail`` element as decoded from the XML (nested dicts,
            lists and strings, each text stripped of surrounding whitespace;
            XML attributes, which the service does not send, are not kept),
            so that no field the service adds is lost. Treat it as read-only.
    """

    job_id: str = attrs.field(validator=_non_empty_str)
    type: JobType | str = attrs.field(converter=_job_type)
    name: str | None = attrs.field(default=None, validator=_optional_str)
    state: JobState | str = attrs.field(converter=_job_state)
    code: str | None = attrs.field(default=None, validator=_optional_str)
    message: str | None = attrs.field(default=None, validator=_optional_str)
    creation_time: datetime | None = attrs.field(default=None, validator=_optional_time)
    start_time: datetime | None = attrs.field(default=None, validator=_optional_time)
    end_time: datetime | None = attrs.field(default=None, validator=_optional_time)
    input: JobInput = attrs.field(default=_EMPTY_INPUT, validator=_instance(JobInput))
    operation: Operation = attrs.field(default=_EMPTY_OPERATION, validator=_instance(Operation))
    raw: Mapping[str, Any] = attrs.field(factory=dict, validator=_mapping, eq=False, repr=False)

    def __repr__(self) -> str:
        # Short enough for a REPL line: what identifies the job and where it stands.
        # The nested input/operation and raw are left out (see the attributes).
        fields = [
            f"job_id={_short(self.job_id)}",
            f"type={_short(self.type)}",
            f"state={_short(self.state)}",
            f"name={_short(self.name)}",
            f"created={_short(self.creation_time)}",
        ]
        if self.code is not None and self.code != "Success":
            fields.append(f"code={_short(self.code)}")
        return f"Job({', '.join(fields)})"

    @property
    def is_terminal(self) -> bool:
        """Whether the job is in a state it will not leave (Success, Failed, Cancel)."""
        return self.state in TERMINAL_STATES

    @property
    def duration(self) -> timedelta | None:
        """How long the job ran (``end_time - start_time``), or ``None`` unless both are set."""
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time

    def to_dict(self) -> dict[str, Any]:
        """Every typed field of the job as JSON-ready data, for ``json.dumps`` and friends.

        Keys follow the record's field order (``job_id``, ``type``, ``name``,
        ``state``, ``code``, ``message``, ``creation_time``, ``start_time``,
        ``end_time``, ``input``, ``operation``) and are always all present;
        :attr:`raw` is left out (the typed fields say the same, with stable keys).
        Datetimes become ISO 8601 text with their UTC offset
        (``"2022-06-27T15:23:10+08:00"``), :class:`JobState` and :class:`JobType`
        their wire strings, nested records (``input``, ``operation`` and theirs)
        dicts, tuples lists; unset values are ``None``.

        Returns:
            A new dict holding only str, int, list, dict and ``None`` values.

        Example:
            >>> job = Job(job_id="b1", type=JobType.JOB, state=JobState.RUNNING)
            >>> job.to_dict()["state"], job.to_dict()["input"]["prefix"]
            ('Running', None)
        """
        data: dict[str, Any] = _plain(self)
        return data


@attrs.frozen(repr=False)
class JobPage:
    """One page of a job listing.

    Iterating a page iterates its jobs; ``len(page)`` is the number of jobs.

    Attributes:
        jobs: The jobs on this page, in the service's order.
        next_token: The token that fetches the next page; ``None`` on the last page.
        request_id: The request id of the answer, when given.
    """

    jobs: tuple[Job, ...]
    next_token: str | None = None
    request_id: str | None = None

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def __repr__(self) -> str:
        token = None if self.next_token is None else shown(self.next_token, 40)
        return (
            f"JobPage(<{len(self.jobs)} job{'s' * (len(self.jobs) != 1)}>, "
            f"next_token={token!r}, request_id={_short(self.request_id)})"
        )


@attrs.frozen(repr=False)
class JobLookup:
    """The answer to describing several jobs: what was found and what was not.

    Attributes:
        jobs: The jobs found, in the order they were asked for.
        missing: The ids that do not exist, in the order they were asked for.
    """

    jobs: tuple[Job, ...]
    missing: tuple[str, ...] = ()

    __repr__ = _record_repr
