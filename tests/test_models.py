"""Records and enums: values, terminal states, immutability, equality."""

from __future__ import annotations

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
        (JobInput, {"prefix": b"p/"}, TypeError, "prefix must be a str"),
        (JobParam, {"template_id": 1}, TypeError, "template_id must be a str"),
        (TimeInterval, {"start": datetime(2022, 6, 27)}, ValueError, "start must be timezone"),
        (TimeInterval, {"end": "2022-06-27"}, TypeError, "end must be a datetime"),
        (Operation, {"time_interval": (1, 2)}, TypeError, "time_interval must be a TimeInt"),
        (Operation, {"output": JobParam()}, TypeError, "output must be a Output or None"),
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


def test_operation_is_keyword_only() -> None:
    """Operation's many fields can only be given by name."""
    with pytest.raises(TypeError):
        Operation(None, ())  # type: ignore[call-arg]


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
