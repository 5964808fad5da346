"""The Emulator facade: defaults, time, sessions and arguments."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from ci_async import JobState
from ci_async.testing import DEFAULT_CREDENTIALS, Emulator, FakeClock

pytestmark = pytest.mark.anyio


def test_defaults() -> None:
    """A bare emulator: the default pair, bucket and region, a FakeClock, no jobs."""
    emulator = Emulator()
    assert (DEFAULT_CREDENTIALS, "examplebucket-1250000000", "ap-beijing", 0) == (
        emulator.credentials,
        emulator.bucket,
        emulator.region,
        len(emulator),
    )
    assert isinstance(emulator.clock, FakeClock)
    assert "https://examplebucket-1250000000.ci.ap-beijing.myqcloud.com" == emulator.endpoint


def test_default_credentials_never_print_the_key() -> None:
    """The repr of the default pair hides the key."""
    assert DEFAULT_CREDENTIALS.secret_key not in repr(DEFAULT_CREDENTIALS)


def test_add_job_defaults_for_a_workflow_job() -> None:
    """A workflow job gets a prefix and a workflow id."""
    stored = Emulator().add_job()
    assert ("Workflow", "demo", "input", 1) == (
        stored.type,
        stored.name,
        stored.prefix,
        len(stored.workflow_ids),
    )


def test_add_job_defaults_for_an_independent_job() -> None:
    """A Job-type job gets the emulator's queue and no workflow."""
    stored = Emulator().add_job(type="Job")
    assert stored.queue_id is not None
    assert stored.queue_id.startswith("p")
    assert () == stored.workflow_ids


def test_add_job_accepts_datetimes_and_wire_times() -> None:
    """creation_time takes a datetime, unix seconds or the wire format."""
    emulator = Emulator()
    moments: list[datetime | int | str] = [
        datetime(2023, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        1_672_628_645,
        "2023-01-02T11:04:05+0800",
    ]
    created = {emulator.add_job(creation_time=moment).creation_time for moment in moments}
    assert {1_672_628_645.0} == created


def test_add_job_refuses_naive_datetimes() -> None:
    """A naive datetime is ambiguous: ValueError."""
    with pytest.raises(ValueError, match="timezone-aware"):
        Emulator().add_job(creation_time=datetime(2023, 1, 1))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "Other"}, "type must be"),
        ({"state": "Done"}, "state must be"),
        ({"outcome": "Cancel"}, "outcome must be"),
    ],
)
def test_add_job_refuses_bad_values(fields: dict[str, str], message: str) -> None:
    """Bad types, states and outcomes are refused."""
    with pytest.raises(ValueError, match=message):
        Emulator().add_job(**fields)  # type: ignore[arg-type]


def test_add_job_refuses_duplicate_ids() -> None:
    """Two jobs cannot share an id."""
    emulator = Emulator()
    emulator.add_job(job_id="b1")
    with pytest.raises(ValueError, match="unique"):
        emulator.add_job(job_id="b1")


def test_job_and_state_of_unknown_ids() -> None:
    """job() and state() raise KeyError for unknown ids."""
    emulator = Emulator()
    with pytest.raises(KeyError):
        emulator.job("bnope")
    with pytest.raises(KeyError):
        emulator.state("bnope")


def test_set_state_refuses_unknown_states() -> None:
    """set_state only takes the service's states."""
    emulator = Emulator()
    stored = emulator.add_job()
    with pytest.raises(ValueError, match="state must be"):
        emulator.set_state(stored.job_id, "Done")


def test_advance_needs_the_fake_clock() -> None:
    """With another clock, advance() is a TypeError."""
    emulator = Emulator(clock=time.time)
    with pytest.raises(TypeError, match="FakeClock"):
        emulator.advance(1)


def test_generate_twice_gives_new_jobs() -> None:
    """Each generate() call without a seed adds different jobs."""
    emulator = Emulator(seed=3)
    emulator.generate(10)
    emulator.generate(10)
    assert 20 == len(emulator)


def test_generate_refuses_negative_counts() -> None:
    """A negative number of jobs is refused."""
    with pytest.raises(ValueError, match="negative"):
        Emulator().generate(-1)


def test_repr_names_bucket_and_size() -> None:
    """The repr shows the bucket and the number of jobs."""
    emulator = Emulator(seed=4)
    emulator.generate(3)
    assert "<Emulator bucket='examplebucket-1250000000' jobs=3 seed=4>" == repr(emulator)


async def test_session_is_wired_in_process(anyio_backend: str) -> None:
    """emulator.session() lists and describes through the in-process transport."""
    emulator = Emulator(seed=9)
    emulator.generate(25)
    async with emulator.session() as session:
        listed = [job.job_id async for job in session.list_jobs(page_size=10)]
        first = await session.get_job(listed[0])
    assert [stored.job_id for stored in reversed(emulator.jobs)] == listed
    assert emulator.state(first.job_id) == first.state


async def test_session_signatures_survive_advancing(anyio_backend: str) -> None:
    """The session signs with the emulator's clock: a month later it still works."""
    emulator = Emulator()
    stored = emulator.add_job(start_after=1, run_for=10, outcome="Success")
    async with emulator.session() as session:
        emulator.advance(30 * 86_400)
        assert JobState.SUCCESS == (await session.get_job(stored.job_id)).state


async def test_session_keyword_overrides(anyio_backend: str) -> None:
    """Keywords reach the Session, e.g. another region."""
    emulator = Emulator()
    async with emulator.session(region="ap-shanghai") as session:
        assert "ap-shanghai" == session.region


async def test_add_job_code_and_message_are_the_jobs(anyio_backend: str) -> None:
    """add_job(code=, message=) is what Job.code and Job.message show once it failed."""
    emulator = Emulator()
    stored = emulator.add_job(state="Failed", code="InvalidInput", message="no such object")
    async with emulator.session() as session:
        job = await session.get_job(stored.job_id)
    assert ("InvalidInput", "no such object") == (job.code, job.message)
