"""The Emulator facade: defaults, time, sessions and arguments."""

from __future__ import annotations

import re
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


_TEXT_FIELDS = [
    "job_id",
    "name",
    "prefix",
    "manifest",
    "url_file",
    "object",
    "queue_id",
    "user_data",
    "callback",
    "tag",
    "template_id",
    "output_region",
    "output_bucket",
    "output_object",
    "code",
    "message",
]


@pytest.mark.parametrize("field", _TEXT_FIELDS)
def test_add_job_refuses_text_xml_cannot_carry(field: str) -> None:
    """A text field holding ESC is a ValueError naming the field, and no job is added."""
    emulator = Emulator()
    with pytest.raises(ValueError, match=rf"^{field} holds a character XML 1\.0 cannot carry"):
        emulator.add_job(**{field: "ok\x1b[2J"})  # type: ignore[arg-type]
    assert 0 == len(emulator)


@pytest.mark.parametrize(
    "char", ["\x00", "\x08", "\x0b", "\x0c", "\x1f", chr(0xD800), chr(0xDFFF), "\ufffe", "\uffff"]
)
def test_add_job_refuses_every_character_xml_cannot_carry(char: str) -> None:
    """C0 controls but tab/LF/CR, lone surrogates, U+FFFE and U+FFFF are refused."""
    with pytest.raises(ValueError, match=rf"name holds .* {re.escape(repr(char))} at index 1"):
        Emulator().add_job(name=f"a{char}b")


def test_add_job_refuses_workflow_ids_xml_cannot_carry() -> None:
    """Each workflow id is checked too."""
    with pytest.raises(ValueError, match=r"^workflow_ids holds a character XML 1\.0 cannot carry"):
        Emulator().add_job(workflow_ids=["w1", "w\x07"])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": 5}, "name must be a str, not int"),
        ({"user_data": b"ud"}, "user_data must be a str or None, not bytes"),
        ({"workflow_ids": ["w1", None]}, "workflow_ids must be a str, not NoneType"),
    ],
)
def test_add_job_refuses_text_fields_that_are_not_text(
    fields: dict[str, object], message: str
) -> None:
    """A value that is not a str is a TypeError at once, not a broken answer later."""
    emulator = Emulator()
    with pytest.raises(TypeError, match=message):
        emulator.add_job(**fields)  # type: ignore[arg-type]
    assert 0 == len(emulator)


async def test_unusual_but_legal_text_is_served_whole(anyio_backend: str) -> None:
    """Tab, LF, C1 controls, U+2028, private use and astral characters are kept and served."""
    text = "a\tb\nc\x85\x9b\u2028\ue000\U0001f600"
    emulator = Emulator()
    stored = emulator.add_job(name=text, user_data=text)
    async with emulator.session() as session:
        job = await session.get_job(stored.job_id)
        listed = [job.name async for job in session.list_jobs()]
    assert (text, text, [text]) == (job.name, job.operation.user_data, listed)


async def test_a_refused_job_leaves_every_page_readable(anyio_backend: str) -> None:
    """After add_job refused a name, describe and list answer well-formed pages."""
    emulator = Emulator()
    fine = emulator.add_job(state="Success")
    with pytest.raises(ValueError, match=r"XML 1\.0"):
        emulator.add_job(name="ok\x1b[2J", state="Failed")
    async with emulator.session() as session:
        found = await session.get_job(fine.job_id)
        listed = [job.job_id async for job in session.list_jobs()]
    assert (fine.job_id, [fine.job_id]) == (found.job_id, listed)


async def test_a_canceled_job_reads_as_canceled_through_the_client(anyio_backend: str) -> None:
    """cancel_job, then get_job: state Cancel and code Canceled, not Success."""
    emulator = Emulator()
    stored = emulator.add_job(state="Running")
    async with emulator.session() as session:
        await session.cancel_job(stored.job_id)
        job = await session.get_job(stored.job_id)
    assert (JobState.CANCEL, "Canceled", "the job was canceled") == (
        job.state,
        job.code,
        job.message,
    )


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
