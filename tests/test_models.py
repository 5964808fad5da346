"""Records and enums: values, terminal states, immutability, equality."""

from __future__ import annotations

import enum
import json
import pickle
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import attrs
import pytest

from ci_async import (
    Job,
    JobInput,
    JobLookup,
    JobPage,
    JobParam,
    JobState,
    JobType,
    Operation,
    Output,
    TimeInterval,
)
from ci_async._decode import decode_list
from ci_async._models import TERMINAL_STATES

CST = timezone(timedelta(hours=8))


@pytest.fixture(name="job")
def fixture_job() -> Job:
    """A finished ``Job``-type job with every field set."""
    return Job(
        job_id="be8f65004eb8511eaaed4f377124a303c",
        type=JobType.JOB,
        name="demo",
        state=JobState.SUCCESS,
        code="Success",
        message=None,
        creation_time=datetime(2022, 6, 27, 15, 23, 10, tzinfo=CST),
        start_time=datetime(2022, 6, 27, 15, 23, 11, tzinfo=CST),
        end_time=datetime(2022, 6, 27, 15, 25, 10, tzinfo=CST),
        input=JobInput(prefix="input"),
        operation=Operation(
            time_interval=TimeInterval(
                datetime(2022, 2, 1, 12, tzinfo=CST), datetime(2022, 5, 1, 12, tzinfo=CST)
            ),
            queue_id="p893bcda225bf4945a378da6662e81a89",
            job_param=JobParam("t1460606b9752148c4ab182f55163ba7cd"),
            output=Output("ap-chongqing", "test-1234567890", "out.mp4"),
            job_level=0,
        ),
        raw={"JobId": "be8f65004eb8511eaaed4f377124a303c"},
    )


@pytest.mark.parametrize("state", list(JobState))
def test_state_from_wire_string_is_the_member(state: JobState) -> None:
    """JobState(<wire string>) returns the member itself."""
    assert state is JobState(state.value)


def test_state_values_are_the_wire_strings() -> None:
    """The members' values are exactly the service's spellings."""
    assert ["Submitted", "Running", "Success", "Failed", "Pause", "Cancel"] == [
        state.value for state in JobState
    ]


def test_type_values_are_the_wire_strings() -> None:
    """JobType's values are exactly the service's spellings."""
    assert ["Workflow", "Job"] == [job_type.value for job_type in JobType]


def test_enum_str_and_format_give_the_wire_string() -> None:
    """str() and f-strings of the enums give the wire string on every Python version."""
    assert ("Running", "Running", "Workflow") == (
        str(JobState.RUNNING),
        f"{JobState.RUNNING}",
        f"{JobType.WORKFLOW}",
    )


def test_enum_members_mix_with_wire_strings_in_sets() -> None:
    """Members compare and hash like their wire strings."""
    assert {"Running", "Job"} == {JobState.RUNNING, JobType.JOB}


def test_terminal_states() -> None:
    """Success, Failed and Cancel are terminal; Pause is not."""
    assert {JobState.SUCCESS, JobState.FAILED, JobState.CANCEL} == TERMINAL_STATES


@pytest.mark.parametrize(
    ("state", "terminal"),
    [
        (JobState.SUBMITTED, False),
        (JobState.RUNNING, False),
        (JobState.PAUSE, False),
        (JobState.SUCCESS, True),
        (JobState.FAILED, True),
        (JobState.CANCEL, True),
    ],
)
def test_state_is_terminal(state: JobState, terminal: bool) -> None:
    """JobState.is_terminal matches TERMINAL_STATES."""
    assert terminal is state.is_terminal


@pytest.mark.parametrize(
    ("state", "terminal"),
    [(JobState.RUNNING, False), (JobState.CANCEL, True), ("Success", True), ("Archived", False)],
)
def test_job_is_terminal(job: Job, state: JobState | str, terminal: bool) -> None:
    """Job.is_terminal works for members, plain wire strings and unknown states."""
    assert terminal is attrs.evolve(job, state=state).is_terminal


def test_job_duration(job: Job) -> None:
    """Job.duration is end_time - start_time."""
    assert timedelta(minutes=1, seconds=59) == job.duration


def test_job_duration_none_until_ended(job: Job) -> None:
    """Job.duration is None while the job has no end time."""
    assert attrs.evolve(job, end_time=None).duration is None


def test_job_equality_ignores_raw(job: Job) -> None:
    """Two jobs with the same fields are equal (and hash alike) whatever their raw mapping."""
    other = attrs.evolve(job, raw={"Something": "else"})
    assert (job, hash(job)) == (other, hash(other))


def test_job_repr_leaves_out_raw(job: Job) -> None:
    """repr(Job) stays readable: the raw mapping is not in it."""
    assert "raw" not in repr(job)


def test_job_defaults() -> None:
    """A Job needs only job_id, type and state; containers default to empty records."""
    job = Job(job_id="j1", type="Job", state="Running")
    assert (JobInput(), Operation(), {}) == (job.input, job.operation, job.raw)


def test_to_dict_has_every_typed_field_in_order(job: Job) -> None:
    """Job.to_dict() has the record's fields in order, ``raw`` left out."""
    assert [field.name for field in attrs.fields(Job) if field.name != "raw"] == list(job.to_dict())


def test_to_dict_values(job: Job) -> None:
    """Datetimes are ISO 8601 with their offset, enums wire strings, unset values None."""
    data = job.to_dict()
    assert ("Job", "Success", "2022-06-27T15:23:10+08:00", None) == (
        data["type"],
        data["state"],
        data["creation_time"],
        data["message"],
    )


def test_to_dict_values_are_plain_types(job: Job) -> None:
    """The enums become plain str, not str-subclass members."""
    data = job.to_dict()
    assert (str, str) == (type(data["type"]), type(data["state"]))


def test_to_dict_keeps_unknown_states(job: Job) -> None:
    """A state this version does not know stays its string."""
    assert "Archived" == attrs.evolve(job, state="Archived").to_dict()["state"]


def test_to_dict_nests_records_as_dicts(job: Job) -> None:
    """Input, operation and the records inside them become dicts; tuples become lists."""
    job = attrs.evolve(job, operation=Operation(workflow_ids=("w1", "w2")))
    data = job.to_dict()
    assert (
        {"prefix": "input", "manifest": None, "url_file": None, "object": None},
        ["w1", "w2"],
        None,
    ) == (data["input"], data["operation"]["workflow_ids"], data["operation"]["output"])


def test_to_dict_nested_records_of_every_kind(job: Job) -> None:
    """Time interval, job parameters and output are dicts of their fields."""
    operation = job.to_dict()["operation"]
    assert (
        {"start": "2022-02-01T12:00:00+08:00", "end": "2022-05-01T12:00:00+08:00"},
        {"template_id": "t1460606b9752148c4ab182f55163ba7cd"},
        {"region": "ap-chongqing", "bucket": "test-1234567890", "object": "out.mp4"},
        0,
    ) == (
        operation["time_interval"],
        operation["job_param"],
        operation["output"],
        operation["job_level"],
    )


def test_to_dict_survives_a_json_round_trip(job: Job) -> None:
    """json.dumps(job.to_dict()) works, and loads back to an equal dict."""
    data = job.to_dict()
    assert data == json.loads(json.dumps(data))


def test_to_dict_is_a_fresh_dict(job: Job) -> None:
    """Changing the returned dict changes neither the job nor the next call's dict."""
    job.to_dict()["input"]["prefix"] = "changed"
    assert "input" == job.to_dict()["input"]["prefix"]


class _Str(str):
    """A str subclass: records take it wherever they take a str."""


class _Interval(TimeInterval):
    """A TimeInterval subclass: Operation takes it."""


class _Output(Output):
    """An Output subclass: Operation takes it."""


class _Level(int):
    """An int subclass (not a bool): Operation takes it as a job level."""


class _Beijing(tzinfo):
    """An aware zone that is not a ``datetime.timezone`` (like a ZoneInfo, without tzdata)."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=8)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "CST"


_ZONED = datetime(2022, 6, 27, 15, 23, 10, tzinfo=_Beijing())


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Job(job_id=_Str("j"), type=_Str("Job"), state=_Str("Running")), "job_id"),
        (lambda: JobInput(prefix=_Str("p/")), "prefix"),
        (lambda: TimeInterval(_ZONED, None), "start"),
        (lambda: Operation(time_interval=_Interval()), "time_interval"),
        (lambda: Operation(job_level=_Level(2)), "job_level"),
        (lambda: Operation(output=_Output("r", "b", "o")), "output"),
    ],
)
def test_records_take_subclasses_and_any_aware_zone(build: Any, field: str) -> None:
    """Values past each validator's quick test (subclasses, a tzinfo of its own) are kept."""
    record = build()
    assert getattr(record, field) is not None


_RUNNING = {"job_id": "j", "type": "Job", "state": "Running"}


@pytest.mark.parametrize(
    ("record", "kwargs", "exc", "message"),
    [
        (Job, {**_RUNNING, "job_id": ""}, ValueError, "job_id must not be empty"),
        (Job, {**_RUNNING, "job_id": 5}, TypeError, "job_id must be a str"),
        (Job, {**_RUNNING, "type": None}, TypeError, "type must be a str"),
        (Job, {**_RUNNING, "state": b"Running"}, TypeError, "state must be a str"),
        (Job, {**_RUNNING, "type": JobState.RUNNING}, TypeError, "type must be a JobType"),
        (Job, {**_RUNNING, "state": JobType.JOB}, TypeError, "state must be a JobState"),
        (Job, {**_RUNNING, "name": 5}, TypeError, "name must be a str"),
        (Job, {**_RUNNING, "code": b"Success"}, TypeError, "code must be a str"),
        (Job, {**_RUNNING, "message": 1}, TypeError, "message must be a str"),
        (Job, {**_RUNNING, "creation_time": datetime(2024, 1, 1)}, ValueError, "creation_time"),
        (Job, {**_RUNNING, "start_time": "2024-01-01"}, TypeError, "start_time must be a date"),
        (Job, {**_RUNNING, "end_time": 0}, TypeError, "end_time must be a datetime"),
        (Job, {**_RUNNING, "input": "photos/"}, TypeError, "input must be a JobInput"),
        (Job, {**_RUNNING, "input": None}, TypeError, "input must be a JobInput"),
        (Job, {**_RUNNING, "operation": {}}, TypeError, "operation must be an Operation"),
        (Job, {**_RUNNING, "raw": [1]}, TypeError, "raw must be a Mapping"),
        (JobInput, {"prefix": b"p/"}, TypeError, "prefix must be a str"),
        (JobParam, {"template_id": 1}, TypeError, "template_id must be a str"),
        (TimeInterval, {"start": datetime(2022, 6, 27)}, ValueError, "start must be timezone"),
        (TimeInterval, {"end": "2022-06-27"}, TypeError, "end must be a datetime"),
        (Operation, {"time_interval": (1, 2)}, TypeError, "time_interval must be a TimeInt"),
        (Operation, {"output": JobParam()}, TypeError, "output must be an Output or None"),
        (Operation, {"job_level": True}, TypeError, "job_level must be an int or None"),
        (Operation, {"job_level": 1.0}, TypeError, "job_level must be an int or None"),
    ],
)
def test_records_refuse_wrong_values(
    record: type[Any], kwargs: dict[str, Any], exc: type[Exception], message: str
) -> None:
    """Each record field's validator refuses a wrong value with a message naming the field."""
    with pytest.raises(exc, match=message):
        record(**kwargs)


def test_records_are_frozen(job: Job) -> None:
    """Records cannot be changed in place."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        job.state = JobState.FAILED  # type: ignore[misc]


@pytest.mark.parametrize(
    "record",
    [
        TimeInterval(),
        JobParam(),
        Output(),
        JobInput(),
        Operation(),
        Job(job_id="j", type="Job", state="Running"),
        JobPage(()),
        JobLookup(()),
    ],
)
def test_records_are_slotted(record: object) -> None:
    """Records have no per-instance __dict__."""
    assert not hasattr(record, "__dict__")


def test_job_pickles(job: Job) -> None:
    """A Job survives pickling, raw mapping included."""
    copy = pickle.loads(pickle.dumps(job))
    assert (job, job.raw) == (copy, copy.raw)


def test_page_iterates_its_jobs(job: Job) -> None:
    """Iterating a JobPage yields its jobs; len() counts them."""
    page = JobPage((job, job), next_token="25", request_id="r")
    assert ([job, job], 2) == (list(page), len(page))


def test_empty_page_defaults() -> None:
    """A JobPage needs only its jobs: no token means last page."""
    assert (None, None, 0) == (JobPage(()).next_token, JobPage(()).request_id, len(JobPage(())))


def test_lookup_fields(job: Job) -> None:
    """JobLookup carries the jobs found and the ids missing."""
    lookup = JobLookup((job,), ("nope",))
    assert ((job,), ("nope",)) == (lookup.jobs, lookup.missing)


# --------------------------------------------------------------------------- positional forms

#: The records' positional forms as DESIGN.md writes them (its contract).
_DESIGN_ORDER = {
    JobInput: ["prefix", "manifest", "url_file", "object"],
    Operation: [
        "time_interval",
        "workflow_ids",
        "queue_id",
        "user_data",
        "callback",
        "job_param",
        "output",
        "job_level",
    ],
    TimeInterval: ["start", "end"],
    JobParam: ["template_id"],
    Output: ["region", "bucket", "object"],
}


@pytest.mark.parametrize("record", list(_DESIGN_ORDER), ids=lambda record: record.__name__)
def test_positional_fields_follow_the_design(record: type[Any]) -> None:
    """Each record takes positionally exactly the fields DESIGN.md lists, in its order."""
    assert _DESIGN_ORDER[record] == [
        field.name for field in attrs.fields(record) if field.init and not field.kw_only
    ]


def test_operation_takes_positional_arguments(job: Job) -> None:
    """Operation(time_interval, workflow_ids, ..., job_level) is the keyword form's equal."""
    operation = job.operation
    assert operation == Operation(
        operation.time_interval,
        (),
        "p893bcda225bf4945a378da6662e81a89",
        None,
        None,
        JobParam("t1460606b9752148c4ab182f55163ba7cd"),
        Output("ap-chongqing", "test-1234567890", "out.mp4"),
        0,
    )


def test_operation_tag_is_keyword_only() -> None:
    """Tag, not in DESIGN.md's positional form, can only be given by name."""
    with pytest.raises(TypeError):
        Operation(None, (), None, None, None, None, None, 1, "Transcode")  # type: ignore[call-arg]


def test_job_fields_are_given_by_name(job: Job) -> None:
    """Job takes its fields by name (DESIGN.md gives them as fields, not a call form)."""
    assert all(field.kw_only for field in attrs.fields(Job))
    with pytest.raises(TypeError):
        Job(job.job_id, JobType.JOB, None, JobState.SUCCESS)  # type: ignore[call-arg]


def test_job_state_is_required() -> None:
    """Leaving out the state is a TypeError naming it."""
    with pytest.raises(TypeError, match="state"):
        Job(job_id="j1", type="Job", name="n")  # type: ignore[call-arg]


# --------------------------------------------------------------------------- wire strings


@pytest.mark.parametrize("state", list(JobState))
def test_job_built_with_a_wire_state_holds_the_member(state: JobState) -> None:
    """Job(state=<wire string>) converts it to the JobState member, as decoding does."""
    assert state is Job(job_id="j", type="Job", state=state.value).state


@pytest.mark.parametrize("job_type", list(JobType))
def test_job_built_with_a_wire_type_holds_the_member(job_type: JobType) -> None:
    """Job(type=<wire string>) converts it to the JobType member."""
    assert job_type is Job(job_id="j", type=job_type.value, state="Running").type


def test_job_keeps_unknown_states_and_types_as_plain_strings() -> None:
    """Values this version does not know stay exactly the str given."""
    job = Job(job_id="j", type="Pipeline", state="Archived")
    assert (str, str, "Pipeline", "Archived") == (
        type(job.type),
        type(job.state),
        job.type,
        job.state,
    )


def test_evolve_converts_the_state(job: Job) -> None:
    """attrs.evolve(job, state=<wire string>) gives the member too."""
    assert JobState.PAUSE is attrs.evolve(job, state="Pause").state


def test_str_subclass_states_become_members() -> None:
    """A str subclass holding a wire string becomes the member (the value is what counts)."""
    job = Job(job_id="j", type=_Str("Workflow"), state=_Str("Running"))
    assert (JobType.WORKFLOW, JobState.RUNNING) == (job.type, job.state)
    assert (JobType, JobState) == (type(job.type), type(job.state))


def test_a_str_enum_member_of_a_known_value_becomes_the_member() -> None:
    """A member of a str enum of the caller's whose value this version knows: the member."""

    class Kind(str, enum.Enum):
        WORKFLOW = "Workflow"

    assert JobType.WORKFLOW is Job(job_id="j", type=Kind.WORKFLOW, state="Running").type


# --------------------------------------------------------------------------- bounded reprs

_HUGE = "\x1b[2J" + "A" * 1_000_000
_HUGE_RECORDS: dict[str, Any] = {
    "JobInput": lambda: JobInput(_HUGE, _HUGE, _HUGE, _HUGE),
    "Output": lambda: Output(_HUGE, _HUGE, _HUGE),
    "JobParam": lambda: JobParam(_HUGE),
    "TimeInterval": lambda: TimeInterval(datetime(2022, 2, 1, 12, tzinfo=CST), None),
    "Operation": lambda: Operation(
        TimeInterval(datetime(2022, 2, 1, 12, tzinfo=CST), None),
        tuple([_HUGE] * 1000),
        _HUGE,
        _HUGE,
        _HUGE,
        JobParam(_HUGE),
        Output(_HUGE, _HUGE, _HUGE),
        10**4000,
        tag=_HUGE,
    ),
    "Job": lambda: Job(
        job_id=_HUGE,
        type=_HUGE,
        name=_HUGE,
        state=_HUGE,
        code=_HUGE,
        message=_HUGE,
        input=JobInput(_HUGE),
    ),
    "JobPage": lambda: JobPage(
        (Job(job_id="j", type="Job", state="Running"),) * 1000, _HUGE, _HUGE
    ),
    "JobLookup": lambda: JobLookup(
        (Job(job_id=_HUGE, type="Job", name=_HUGE, state="Running"),) * 1000, (_HUGE,) * 1000
    ),
}


@pytest.mark.parametrize("build", list(_HUGE_RECORDS.values()), ids=list(_HUGE_RECORDS))
def test_reprs_are_bounded(build: Any) -> None:
    """However long the server's text, a record's repr stays short."""
    text = repr(build())
    assert len(text) < 2000, text[:300]


@pytest.mark.parametrize("build", list(_HUGE_RECORDS.values()), ids=list(_HUGE_RECORDS))
def test_reprs_escape_control_characters(build: Any) -> None:
    """The repr of every record is one printable line naming the record."""
    record = build()
    text = repr(record)
    name = type(record).__name__
    assert (True, f"{name}(") == (text.isprintable(), text[: len(name) + 1])


def test_decoded_nested_records_have_bounded_reprs() -> None:
    """The audit's case: megabytes of server text in Input and Operation, short reprs."""
    big = "\u202e\x85" + "A" * 1_000_000
    body = (
        "<Response><JobsDetail><JobId>b1</JobId><Type>Job</Type><State>Running</State>"
        f"<Input><Prefix>{big}</Prefix></Input><Operation><UserData>{big}</UserData>"
        f"<WorkflowIds>{big},{big}</WorkflowIds></Operation></JobsDetail></Response>"
    )
    job = decode_list(body).jobs[0]
    assert [True, True] == [
        len(repr(record)) < 500 and repr(record).isprintable()
        for record in (job.input, job.operation)
    ]


def test_nested_record_repr_is_attrs_like() -> None:
    """A short record reads as attrs would print it: its name and every field."""
    assert "JobInput(prefix='input', manifest=None, url_file=None, object=None)" == repr(
        JobInput("input")
    )


def test_operation_repr_shows_nested_records_and_a_bounded_tuple() -> None:
    """Nested records show their own reprs; a long tuple its first items and a count."""
    operation = Operation(
        TimeInterval(datetime(2022, 2, 1, 12, tzinfo=CST), None),
        ("w1", "w2", "w3", "w4", "w5"),
        job_param=JobParam("t1"),
        job_level=2,
    )
    assert (
        "Operation(time_interval=TimeInterval(start=2022-02-01 12:00:00+08:00, end=None), "
        "workflow_ids=('w1', 'w2', 'w3', <2 more>), queue_id=None, user_data=None, "
        "callback=None, job_param=JobParam(template_id='t1'), output=None, job_level=2, "
        "tag=None)"
    ) == repr(operation)


def test_one_item_tuple_repr() -> None:
    """A one-item tuple keeps Python's trailing comma."""
    assert "workflow_ids=('w1',)" in repr(Operation(workflow_ids=["w1"]))


def test_repr_cuts_long_text_with_a_marker() -> None:
    """A long value is cut at a fixed length and marked with an ellipsis."""
    assert f"JobParam(template_id='{'t' * 59}…')" == repr(JobParam("t" * 500))


def test_lookup_repr_shows_the_first_jobs_and_a_count(job: Job) -> None:
    """JobLookup shows a few jobs (their own short reprs) and how many more there are."""
    text = repr(JobLookup((job,) * 5, ("nope",)))
    assert 3 == text.count("Job(job_id=")
    assert text.endswith(", <2 more>), missing=('nope',))"), text
