"""Transport and status faults over real loopback HTTP: retried and recovered, or a typed error.

Every scenario runs under asyncio (the aiohttp transport) and trio (httpx's
own transport) against the emulator on a loopback port, inside a guard
(``anyio.fail_after``) so that a hang fails the test instead of stalling it.
"""

from __future__ import annotations

import anyio
import httpx
import pytest

from ci_async import (
    RetryPolicy,
    ServerError,
    Session,
    ThrottledError,
    TransportError,
)
from ci_async.testing import Emulator, EmulatorServer

from ._support import FAST, GUARD, RetryLog, closed_port, drain, session_on
from .conftest import JOBS

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

GATEWAY_STATUSES = [500, 502, 503, 504]


async def all_ids(session: Session, **kwargs: object) -> list[str]:
    """Every job id of a full listing, in the order yielded."""
    with anyio.fail_after(GUARD):
        return [job.job_id async for job in session.list_jobs(page_size=10, **kwargs)]  # type: ignore[arg-type]


def expected_ids(emulator: Emulator) -> list[str]:
    """The listing the emulator gives without faults (newest first)."""
    return [job.job_id for job in reversed(emulator.jobs)]


def faults(emulator: Emulator) -> list[str | None]:
    """The fault applied to each request received, in order."""
    return [request.fault for request in emulator.requests]


# --- 5xx -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", GATEWAY_STATUSES)
async def test_a_5xx_is_retried_and_the_call_succeeds(
    status: int, emulator: Emulator, session: Session
) -> None:
    """Two 5xx answers, then the job: get_job returns it after three attempts."""
    job_id = emulator.jobs[0].job_id
    emulator.faults.fail_next(2, status=status)

    with anyio.fail_after(GUARD):
        job = await session.get_job(job_id)

    assert (job_id, ["status", "status", None]) == (job.job_id, faults(emulator))


@pytest.mark.parametrize("status", GATEWAY_STATUSES)
async def test_a_5xx_that_persists_raises_server_error(
    status: int, emulator: Emulator, session: Session
) -> None:
    """A 5xx on every attempt ends in ServerError carrying the status, after max_attempts."""
    emulator.faults.fail_next(10, status=status)

    with anyio.fail_after(GUARD), pytest.raises(ServerError) as caught:
        await session.get_job(emulator.jobs[0].job_id)

    assert (status, FAST.max_attempts) == (caught.value.status_code, len(emulator.requests))


async def test_a_5xx_on_a_later_page_loses_and_repeats_no_job(
    emulator: Emulator, session: Session
) -> None:
    """Failures on the second page are retried with the same token: every job once, in order."""
    emulator.faults.fail_next(2, status=503, when=lambda r: "nextToken" in r.params)

    got = await all_ids(session)

    assert expected_ids(emulator) == got
    assert 2 == faults(emulator).count("status")


# --- 429 -------------------------------------------------------------------------------


async def test_429_with_retry_after_waits_that_long(
    emulator: Emulator, session: Session, retry_log: RetryLog
) -> None:
    """Retry-After is a lower bound on the pause before the retry."""
    emulator.faults.throttle_next(1, retry_after="0.03")

    with anyio.fail_after(GUARD):
        await session.get_job(emulator.jobs[0].job_id)

    assert [0.03] == retry_log.delays


async def test_429_without_retry_after_uses_the_backoff(
    emulator: Emulator, session: Session, retry_log: RetryLog
) -> None:
    """Without Retry-After the pause is the policy's jittered backoff."""
    emulator.faults.throttle_next(1, retry_after=None)

    with anyio.fail_after(GUARD):
        await session.get_job(emulator.jobs[0].job_id)

    assert 1 == len(retry_log.delays)
    assert 0 <= retry_log.delays[0] <= FAST.backoff


async def test_429_retry_after_beyond_the_cap_is_capped(
    emulator: Emulator, session: Session, retry_log: RetryLog
) -> None:
    """A Retry-After of an hour waits only max_retry_after, and the call succeeds."""
    emulator.faults.throttle_next(1, retry_after=3600)

    with anyio.fail_after(GUARD):
        job = await session.get_job(emulator.jobs[0].job_id)

    assert (emulator.jobs[0].job_id, [FAST.max_retry_after]) == (job.job_id, retry_log.delays)


async def test_429_retry_after_beyond_the_deadline_fails_at_once(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """A pause that would overrun deadline= is not taken: TransportError, caused by the 429."""
    emulator.faults.throttle_next(1, retry_after=3600)
    policy = RetryPolicy(backoff=0.001, max_retry_after=3600)

    async with session_on(server.url, emulator, retry=policy) as session:
        with anyio.fail_after(GUARD), pytest.raises(TransportError) as caught:
            await all_ids(session, deadline=5.0)

    assert isinstance(caught.value.__cause__, ThrottledError)
    assert 3600 == caught.value.__cause__.retry_after


async def test_429_that_persists_raises_throttled_error(
    emulator: Emulator, session: Session
) -> None:
    """Throttling on every attempt ends in ThrottledError with the server's Retry-After."""
    emulator.faults.throttle_next(10, retry_after=1)

    with anyio.fail_after(GUARD), pytest.raises(ThrottledError) as caught:
        await session.get_job(emulator.jobs[0].job_id)

    assert (429, 1.0, FAST.max_attempts) == (
        caught.value.status_code,
        caught.value.retry_after,
        len(emulator.requests),
    )


# --- connection refused ------------------------------------------------------------------


async def test_connection_refused_raises_transport_error(anyio_backend: str) -> None:
    """A closed port: every attempt fails to connect, then TransportError caused by ConnectError."""
    async with session_on(f"http://127.0.0.1:{closed_port()}") as session:
        with anyio.fail_after(GUARD), pytest.raises(TransportError) as caught:
            await session.get_job("b00000000000000000000000000000001")

    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert f"after {FAST.max_attempts} attempts" in str(caught.value)


async def test_connection_refused_on_a_listing_raises_transport_error(anyio_backend: str) -> None:
    """The same for a listing: the iterator raises TransportError, no job is invented."""
    async with session_on(f"http://127.0.0.1:{closed_port()}") as session:
        iterator = session.list_jobs()
        with anyio.fail_after(GUARD), pytest.raises(TransportError):
            await iterator.__anext__()

    assert iterator.next_token is None


# --- dropped and reset connections -------------------------------------------------------


async def test_a_connection_closed_before_the_answer_is_retried(
    emulator: Emulator, session: Session
) -> None:
    """The server reads the request and closes the socket: retried, then the job."""
    emulator.faults.drop_next(1)

    with anyio.fail_after(GUARD):
        job = await session.get_job(emulator.jobs[0].job_id)

    assert (emulator.jobs[0].job_id, ["drop", None]) == (job.job_id, faults(emulator))


async def test_a_connection_reset_mid_body_is_retried_without_losing_jobs(
    emulator: Emulator, session: Session
) -> None:
    """A TCP reset halfway through page two's body: the page is fetched again, no job lost."""
    emulator.faults.reset_next(1, when=lambda r: "nextToken" in r.params)

    got = await all_ids(session)

    assert expected_ids(emulator) == got
    assert ["reset"] == [fault for fault in faults(emulator) if fault]


async def test_a_connection_reset_on_every_attempt_raises_transport_error(
    emulator: Emulator, session: Session
) -> None:
    """Resets on every attempt: TransportError caused by an httpx transport error."""
    emulator.faults.reset_next(10, after_bytes=100)

    with anyio.fail_after(GUARD), pytest.raises(TransportError) as caught:
        await session.get_job(emulator.jobs[0].job_id)

    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert FAST.max_attempts == len(emulator.requests)


# --- a server that never answers -----------------------------------------------------------


async def test_a_server_that_never_answers_times_out_and_is_retried(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """One hang: the read timeout ends the attempt, the retry gets the job."""
    emulator.faults.hang_next(1)

    async with session_on(server.url, emulator, timeout=0.3) as session:
        with anyio.fail_after(GUARD):
            job = await session.get_job(emulator.jobs[0].job_id)

    assert (emulator.jobs[0].job_id, ["hang", None]) == (job.job_id, faults(emulator))


async def test_a_server_that_never_answers_raises_transport_error(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """Hangs on every attempt: TransportError caused by ReadTimeout, after max_attempts."""
    emulator.faults.hang_next(10)
    policy = RetryPolicy(max_attempts=2, backoff=0.001)

    async with session_on(server.url, emulator, timeout=0.2, retry=policy) as session:
        with anyio.fail_after(GUARD), pytest.raises(TransportError) as caught:
            await session.get_job(emulator.jobs[0].job_id)

    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert 2 == len(emulator.requests)


async def test_a_hang_within_the_listing_deadline_raises_transport_error(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """deadline= bounds a listing even when the per-request timeout is long."""
    emulator.faults.hang_next(10, when=lambda r: "nextToken" in r.params)

    async with session_on(server.url, emulator, timeout=60.0) as session:
        got: list[str] = []
        with anyio.fail_after(GUARD), pytest.raises(TransportError, match="deadline"):
            await drain(session.list_jobs(page_size=10, deadline=0.5), got)

    assert expected_ids(emulator)[:10] == got


# --- slow trickle ---------------------------------------------------------------------------


async def test_a_slow_trickle_within_the_read_timeout_completes(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """Bytes arriving more often than the read timeout: the answer is slow but complete."""
    emulator.faults.trickle_next(1, chunk_size=512, interval=0.01)

    async with session_on(server.url, emulator, timeout=1.0) as session:
        got = await all_ids(session)

    assert expected_ids(emulator) == got


async def test_a_trickle_slower_than_the_read_timeout_is_retried(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """A pause between chunks longer than the read timeout ends the attempt; the retry succeeds."""
    emulator.faults.trickle_next(1, chunk_size=256, interval=0.5)

    async with session_on(server.url, emulator, timeout=0.2) as session:
        got = await all_ids(session)

    assert expected_ids(emulator) == got
    assert "trickle" == faults(emulator)[0]


async def test_a_trickle_is_bounded_by_the_listing_deadline(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """Each chunk beats the read timeout, but deadline= bounds the whole: TransportError."""
    emulator.faults.trickle_next(10, chunk_size=16, interval=0.05)

    async with session_on(server.url, emulator, timeout=1.0) as session:
        with anyio.fail_after(GUARD), pytest.raises(TransportError, match="deadline"):
            await all_ids(session, deadline=0.5)


# --- which calls are retried -----------------------------------------------------------------


async def test_cancel_job_is_retried_like_a_get(emulator: Emulator, session: Session) -> None:
    """cancel_job is idempotent: a 503 then success."""
    job = emulator.add_job(name="to-cancel")
    emulator.faults.fail_next(1, status=503, op="cancel")

    with anyio.fail_after(GUARD):
        await session.cancel_job(job.job_id)

    assert ("Cancel", ["status", None]) == (emulator.state(job.job_id), faults(emulator))


async def test_create_is_not_retried_after_it_may_have_reached_the_server(
    emulator: Emulator, session: Session
) -> None:
    """A create whose connection breaks after sending is not sent again: TransportError."""
    from ci_async import JobInput

    emulator.faults.drop_next(1, op="create")

    with anyio.fail_after(GUARD), pytest.raises(TransportError):
        await session.create_job(name="once", input=JobInput(prefix="in/"), workflow_ids=["w1"])

    assert ["drop"] == faults(emulator)


async def test_create_is_not_retried_after_a_5xx(emulator: Emulator, session: Session) -> None:
    """A 503 answer proves the create reached the server: ServerError, one request."""
    from ci_async import JobInput

    emulator.faults.fail_next(1, status=503, op="create")

    with anyio.fail_after(GUARD), pytest.raises(ServerError):
        await session.create_job(name="once", input=JobInput(prefix="in/"), workflow_ids=["w1"])

    assert 1 == len(emulator.requests)


async def test_a_listing_survives_one_fault_of_every_kind(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """503, 429, drop, reset, hang and trickle on consecutive attempts: still every job once."""
    plan = emulator.faults
    plan.fail_next(1, status=503)
    plan.throttle_next(1, retry_after=0)
    plan.drop_next(1)
    plan.reset_next(1)
    plan.hang_next(1)
    plan.trickle_next(1, chunk_size=1024, interval=0.001)
    policy = RetryPolicy(max_attempts=10, backoff=0.001, max_backoff=0.002)

    async with session_on(server.url, emulator, timeout=0.3, retry=policy) as session:
        got = await all_ids(session, prefetch=False)

    assert expected_ids(emulator) == got
    assert JOBS == len(set(got))


# --- random faults (the soak's fault mode) ---------------------------------------------------


def test_random_faults_hit_about_the_rate_asked() -> None:
    """FaultPlan.random(0.05): about 5% of matching requests get one of the kinds asked."""
    from ci_async.testing import FaultPlan, RecordedRequest

    plan = FaultPlan()
    plan.random(0.05, kinds=("503", "drop"), seed=1, op="list")
    listing = RecordedRequest("GET", "/inventorytriggerjob", (), (), b"", 0.0)
    describe = RecordedRequest("GET", "/inventorytriggerjob/b1", (), (), b"", 0.0)

    drawn = [plan.take(listing) for _ in range(4000)]
    kinds = {(fault.kind, fault.status) for fault in drawn if fault is not None}

    assert 120 < sum(fault is not None for fault in drawn) < 280
    assert {("status", 503), ("drop", None)} == kinds
    assert all(plan.take(describe) is None for _ in range(500))


def test_random_faults_are_reproducible_and_cleared() -> None:
    """The same seed draws the same faults; clear() (or random(0)) stops them."""
    from ci_async.testing import FaultPlan, RecordedRequest

    request = RecordedRequest("GET", "/inventorytriggerjob", (), (), b"", 0.0)
    runs = []
    for _ in range(2):
        plan = FaultPlan()
        plan.random(0.2, seed=7)
        runs.append([plan.take(request) for _ in range(200)])
    plan.random(0)

    assert runs[0] == runs[1]
    assert all(plan.take(request) is None for _ in range(200))


async def test_a_listing_under_random_faults_yields_every_job_once(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """20% of requests fail at random (5xx, 429, drops, resets): every job once, in order."""
    emulator.faults.random(0.2, seed=3)
    policy = RetryPolicy(max_attempts=12, backoff=0.001, max_backoff=0.002, max_retry_after=0.01)

    async with session_on(server.url, emulator, retry=policy) as session:
        for _ in range(5):
            got = await all_ids(session)
            assert expected_ids(emulator) == got

    assert any(fault for fault in faults(emulator))
