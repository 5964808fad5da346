"""Timelines of new jobs: realistic (the default in process), quick, and a speed factor."""

from __future__ import annotations

import math

import pytest

from ci_async.testing import Emulator, FakeClock

from ._support import parse, send

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000.0
PATH = "/inventorytriggerjob"
CREATE = b"""<Request><Name>quick-one</Name><Type>Workflow</Type>
<Input><Prefix>videos/</Prefix></Input>
<Operation><WorkflowIds>w7476ff3564ee45b7b490d64bccaba6cc</WorkflowIds></Operation></Request>"""


async def create(emulator: Emulator) -> dict[str, str]:
    response = await send(emulator, "POST", PATH, content=CREATE)
    assert 200 == response.status_code, response.text
    detail: dict[str, str] = parse(response)["Response"]["JobsDetail"][0]
    return detail


async def test_quick_jobs_created_by_requests_end_within_seconds(anyio_backend: str) -> None:
    """timeline="quick": a created job is Submitted, then Success or Failed 2 s later."""
    emulator = Emulator(timeline="quick", clock=FakeClock(T0 + 0.25))
    detail = await create(emulator)
    assert "Submitted" == detail["State"]
    emulator.advance(2)
    assert emulator.state(detail["JobId"]) in ("Success", "Failed")


def test_quick_timelines_are_bounded() -> None:
    """Every quick job queues 0.25-0.75 s and runs 0.5-1.25 s; outcomes stay mixed."""
    emulator = Emulator(timeline="quick", clock=FakeClock(T0))
    jobs = [emulator.add_job() for _ in range(300)]
    for job in jobs:
        assert job.started_at is not None
        assert job.ended_at is not None
        assert 0.25 <= job.started_at - T0 <= 0.75
        assert 0.5 <= job.ended_at - job.started_at <= 1.25
    assert {"Success", "Failed"} == {job.outcome for job in jobs}


def test_realistic_is_the_default_in_process() -> None:
    """Without options, jobs take their realistic time: some run for minutes."""
    emulator = Emulator(clock=FakeClock(T0))
    jobs = [emulator.add_job() for _ in range(300)]
    assert "realistic" == emulator.timeline
    assert 1.0 == emulator.speed
    assert max(job.ended_at or 0 for job in jobs) - T0 > 600
    assert min(job.started_at or math.inf for job in jobs) - T0 >= 1


@pytest.mark.parametrize("timeline", ["realistic", "quick"])
def test_speed_divides_queue_and_run_times(timeline: str) -> None:
    """speed=60 makes the same job (same seed and id) queue and run 60 times shorter."""
    slow = Emulator(timeline=timeline, clock=FakeClock(T0)).add_job(job_id="b1")
    fast = Emulator(timeline=timeline, speed=60, clock=FakeClock(T0)).add_job(job_id="b1")
    assert slow.started_at is not None
    assert slow.ended_at is not None
    assert fast.started_at is not None
    assert fast.ended_at is not None
    assert (slow.started_at - T0) / 60 == pytest.approx(fast.started_at - T0, abs=1e-6)
    assert (slow.ended_at - slow.started_at) / 60 == pytest.approx(
        fast.ended_at - fast.started_at, abs=1e-6
    )
    assert slow.outcome == fast.outcome


def test_explicit_times_are_not_scaled() -> None:
    """start_after and run_for given to add_job are kept as they are."""
    emulator = Emulator(timeline="quick", speed=10, clock=FakeClock(T0))
    job = emulator.add_job(start_after=30, run_for=600)
    assert (T0 + 30, T0 + 630) == (job.started_at, job.ended_at)


def test_generated_jobs_stay_realistic() -> None:
    """generate() gives the same history whatever the timeline and speed of new jobs."""
    plain = Emulator(seed=2, clock=FakeClock(T0)).generate(80, seed=5)
    quick = Emulator(seed=2, clock=FakeClock(T0), timeline="quick", speed=100).generate(80, seed=5)
    assert plain == quick


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeline": "fast"}, "timeline must be"),
        ({"speed": 0}, "speed must be"),
        ({"speed": -2.0}, "speed must be"),
        ({"speed": math.inf}, "speed must be"),
        ({"speed": math.nan}, "speed must be"),
    ],
)
def test_bad_timeline_options(options: dict[str, object], message: str) -> None:
    """Unknown timelines and non-positive or non-finite speeds are refused."""
    with pytest.raises(ValueError, match=message):
        Emulator(**options)  # type: ignore[arg-type]
