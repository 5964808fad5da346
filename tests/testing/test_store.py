"""The job store, the clock, page tokens and generated data."""

from __future__ import annotations

import re

import pytest

from ci_async.testing import Emulator, FakeClock, StoredJob
from ci_async.testing._store import JobStore, ListQuery, decode_token, encode_token

ID_RE = re.compile(r"^b[0-9a-f]{32}$")


def job(job_id: str, created: float, **fields: object) -> StoredJob:
    return StoredJob(
        job_id=job_id,
        type="Workflow",
        name="demo",
        creation_time=created,
        started_at=created + 10,
        ended_at=created + 100,
        **fields,  # type: ignore[arg-type]
    )


def test_fake_clock_starts_where_told_and_advances() -> None:
    """The fake clock returns its start time until advanced."""
    clock = FakeClock(start=1_000)
    assert 1_000.0 == clock()
    assert 1_030.5 == clock.advance(30.5)
    assert 1_030.5 == clock.now()


def test_fake_clock_never_goes_back() -> None:
    """Negative advances and jumps into the past are refused."""
    clock = FakeClock(start=1_000)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="forward"):
        clock.set(999)


def test_state_follows_the_timeline() -> None:
    """Submitted, then Running at started_at, then the outcome at ended_at."""
    stored = job("b1", 1_000, outcome="Failed")
    assert ["Submitted", "Running", "Running", "Failed"] == [
        stored.state_at(now) for now in (1_005, 1_010, 1_099, 1_100)
    ]


def test_start_and_end_times_appear_when_reached() -> None:
    """StartTime/EndTime are unknown ('-') until they happen."""
    stored = job("b1", 1_000)
    assert (None, None) == (stored.start_time_at(1_005), stored.end_time_at(1_005))
    assert (1_010, None) == (stored.start_time_at(1_050), stored.end_time_at(1_050))
    assert (1_010, 1_100) == (stored.start_time_at(2_000), stored.end_time_at(2_000))


def test_pinning_a_state_freezes_it() -> None:
    """A pinned job keeps its state whatever the time."""
    stored = job("b1", 1_000).pinned("Cancel", 1_050)
    assert ("Cancel", 1_010, 1_050) == (stored.state_at(9_999), stored.started_at, stored.ended_at)


def test_cancel_before_start_has_no_start_time() -> None:
    """A job canceled while queued never started."""
    stored = job("b1", 1_000).pinned("Cancel", 1_005)
    assert (None, 1_005) == (stored.start_time_at(2_000), stored.end_time_at(2_000))


def test_token_round_trip() -> None:
    """A token decodes to the key it was made from."""
    token = encode_token((1_656_314_590.0, "b3deffea"), ascending=True, filters=7)
    assert (1_656_314_590.0, "b3deffea") == decode_token(token, ascending=True, filters=7)


def test_token_is_url_safe() -> None:
    """Tokens need no escaping in a query string."""
    token = encode_token((1_656_314_590.0, "b" + "f" * 32), ascending=False, filters=0xFFFFFFFF)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


@pytest.mark.parametrize("token", ["25", "garbage!", "", "Zm9v", "€uro"])
def test_foreign_tokens_are_refused(token: str) -> None:
    """Anything that is not one of the emulator's tokens is invalid."""
    with pytest.raises(ValueError, match="nextToken"):
        decode_token(token, ascending=False, filters=0)


def test_token_of_the_other_order_is_refused() -> None:
    """A Desc token cannot continue an Asc listing."""
    token = encode_token((1.0, "b1"), ascending=False, filters=0)
    with pytest.raises(ValueError, match="orderByTime"):
        decode_token(token, ascending=True, filters=0)


def test_token_of_other_filters_is_refused() -> None:
    """A token continues only the listing (filters) that issued it."""
    unfiltered, windowed = ListQuery(), ListQuery(start=1.0, end=2.0)
    assert unfiltered.filters_key != windowed.filters_key
    token = encode_token((1.0, "b1"), ascending=False, filters=unfiltered.filters_key)
    with pytest.raises(ValueError, match="other filters"):
        decode_token(token, ascending=False, filters=windowed.filters_key)


def test_filters_key_ignores_size_order_and_state_order() -> None:
    """Page size, order, position and the order of states do not change the key."""
    one = ListQuery(size=5, states=frozenset({"Running", "Failed"}), name="n")
    other = ListQuery(size=100, ascending=True, states=frozenset({"Failed", "Running"}), name="n")
    assert one.filters_key == other.filters_key


def test_duplicate_ids_are_refused() -> None:
    """Job ids are unique in a store."""
    store = JobStore()
    store.add(job("b1", 1))
    with pytest.raises(ValueError, match="unique"):
        store.add(job("b1", 2))


def test_page_continues_strictly_after_the_key() -> None:
    """Jobs with the same creation time are ordered by id, none repeated."""
    store = JobStore()
    store.add_many([job(f"b{index}", 100) for index in range(5)])
    first, key = store.page(ListQuery(size=2, ascending=True), 0)
    second, _ = store.page(ListQuery(size=2, ascending=True, after=key), 0)
    assert ["b0", "b1", "b2", "b3"] == [j.job_id for j in first + second]


def test_generated_ids_look_like_the_service_ids() -> None:
    """'b' followed by 32 hex digits, like b3deffea2f84911ec9cb15254008618d9."""
    emulator = Emulator(seed=1)
    jobs = emulator.generate(200)
    assert all(ID_RE.match(stored.job_id) for stored in jobs)


def test_generation_is_reproducible() -> None:
    """The same seed and clock give the same jobs."""
    clock = FakeClock(start=1_700_000_000)
    first = Emulator(clock=clock).generate(50, seed=9)
    second = Emulator(clock=clock).generate(50, seed=9)
    assert first == second


def test_generated_jobs_are_varied() -> None:
    """Both types, every state but the rarest, months of creation times."""
    emulator = Emulator(seed=2)
    jobs = emulator.generate(2_000)
    now = emulator.now()
    assert {"Workflow", "Job"} == {stored.type for stored in jobs}
    states = {stored.state_at(now) for stored in jobs}
    assert {"Submitted", "Running", "Success", "Failed", "Pause", "Cancel"} == states
    span = max(s.creation_time for s in jobs) - min(s.creation_time for s in jobs)
    assert span > 90 * 86_400


def test_generated_jobs_lie_in_the_past() -> None:
    """No job is created after the emulator's now."""
    emulator = Emulator(seed=3)
    jobs = emulator.generate(500)
    assert max(stored.creation_time for stored in jobs) <= emulator.now()


def test_jobs_are_ordered_by_creation_time() -> None:
    """Emulator.jobs is oldest first."""
    emulator = Emulator(seed=4)
    emulator.generate(300)
    keys = [(stored.creation_time, stored.job_id) for stored in emulator.jobs]
    assert sorted(keys) == keys
