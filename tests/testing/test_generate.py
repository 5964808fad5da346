"""Bulk seeding: generate() with a creation-time range and a hotspot (skewed listings)."""

from __future__ import annotations

from collections import Counter

import pytest

from ci_async.testing import Emulator, FakeClock

from ._support import list_pages

pytestmark = pytest.mark.anyio

NOW = 1_720_000_000.0
DAY = 86_400


def emulator() -> Emulator:
    return Emulator(seed=3, clock=FakeClock(start=NOW))


def test_between_spreads_jobs_over_the_range() -> None:
    """between=(first, last): every creation time is a whole second inside it."""
    first, last = NOW - 30 * DAY, NOW - DAY
    jobs = emulator().generate(2_000, seed=1, between=(first, last))
    times = [job.creation_time for job in jobs]
    assert first <= min(times)
    assert max(times) <= last
    assert max(times) - min(times) > 25 * DAY  # spread, not bunched
    assert all(time == int(time) for time in times)


def test_hotspot_concentrates_jobs_and_shares_seconds() -> None:
    """A ten-minute hotspot holds ~90 % of the jobs, many to a second; the rest are outside."""
    hot = (NOW - 7 * DAY, NOW - 7 * DAY + 599)
    jobs = emulator().generate(4_000, seed=2, between=(NOW - 30 * DAY, NOW), hotspot=hot)
    inside = [job for job in jobs if hot[0] <= job.creation_time <= hot[1]]
    assert 0.85 * len(jobs) <= len(inside) <= 0.95 * len(jobs)
    per_second = Counter(job.creation_time for job in inside)
    assert max(per_second.values()) >= 5
    assert len(jobs) - len(inside) > 0


def test_hotspot_of_one_second() -> None:
    """hot_fraction=1 and a one-second hotspot: every job created in that second."""
    moment = "2024-05-20T12:00:00+0800"
    jobs = emulator().generate(500, seed=4, hotspot=(moment, moment), hot_fraction=1)
    assert {1_716_177_600.0} == {job.creation_time for job in jobs}
    assert 500 == len({job.job_id for job in jobs})


def test_generated_jobs_still_look_real() -> None:
    """With a range, jobs keep both types and mixed states."""
    seeded = emulator()
    seeded.generate(1_000, seed=5, between=(NOW - 60 * DAY, NOW), hotspot=(NOW - 120, NOW))
    now = seeded.now()
    states = Counter(job.state_at(now) for job in seeded.jobs)
    assert {"Workflow", "Job"} == {job.type for job in seeded.jobs}
    assert {"Success", "Failed", "Running", "Submitted"} <= set(states)


async def test_skewed_listing_pages_every_job_once(anyio_backend: str) -> None:
    """Paging through 3,000 skewed jobs (many per second) lists each exactly once, in order."""
    seeded = emulator()
    seeded.generate(3_000, seed=6, hotspot=(NOW - 100, NOW - 90), hot_fraction=0.95)
    pages = await list_pages(seeded, {"size": "100", "orderByTime": "Asc"})
    assert [job.job_id for job in seeded.jobs] == [job for page in pages for job in page]


def test_the_same_arguments_give_the_same_jobs() -> None:
    """generate() with a seed and the same clock is reproducible with ranges too."""
    options = {"seed": 7, "between": (NOW - DAY, NOW), "hotspot": (NOW - 60, NOW - 30)}
    assert emulator().generate(300, **options) == emulator().generate(300, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"between": (NOW, NOW - 1)}, "between must not end before it starts"),
        ({"hotspot": (NOW, NOW - 1)}, "hotspot must not end before it starts"),
        ({"hotspot": (NOW - 1, NOW), "hot_fraction": 1.5}, "hot_fraction must be"),
        ({"hotspot": (NOW - 1, NOW), "hot_fraction": -0.1}, "hot_fraction must be"),
        ({"hot_fraction": 0.5}, "hot_fraction needs a hotspot"),
        ({"between": ("yesterday", NOW)}, "not a time"),
    ],
)
def test_bad_ranges(options: dict[str, object], message: str) -> None:
    """Ranges that end before they start, fractions outside 0..1 and bad times are refused."""
    with pytest.raises(ValueError, match=message):
        emulator().generate(10, **options)  # type: ignore[arg-type]
