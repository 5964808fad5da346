"""The session against the emulator: in process and over a real loopback connection."""

from __future__ import annotations

import gc
import random
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import pytest

from ci_async import JobState, Session
from ci_async.testing import Emulator, EmulatorServer, RecordedRequest

from ._session_support import connect

pytestmark = pytest.mark.anyio


@pytest.fixture(name="big", scope="module")
def fixture_big() -> Emulator:
    """An emulator holding 10,000 generated jobs (shared, read-only)."""
    emulator = Emulator(seed=7, record_requests=False)
    emulator.generate(10_000)
    return emulator


@pytest.fixture(name="big_server", scope="module")
def fixture_big_server(big: Emulator) -> Iterator[EmulatorServer]:
    """The 10,000-job emulator on a loopback port."""
    with big.serve() as server:
        yield server


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """A fresh emulator with 1,500 jobs, recording requests."""
    emulator = Emulator(seed=3)
    emulator.generate(1_500)
    return emulator


@pytest.fixture(name="server")
def fixture_server(emulator: Emulator) -> Iterator[EmulatorServer]:
    """The fresh emulator on a loopback port."""
    with emulator.serve() as server:
        yield server


def expected_ids(
    emulator: Emulator,
    *,
    ascending: bool = False,
    type: str | None = None,
    states: set[str] | None = None,
    after: datetime | None = None,
    before: datetime | None = None,
    workflow_id: str | None = None,
    name: str | None = None,
) -> list[str]:
    """The ids the service should list, computed from the emulator's store."""
    now = emulator.now()
    low = -float("inf") if after is None else after.timestamp()
    high = float("inf") if before is None else before.timestamp()
    ids = [
        job.job_id
        for job in emulator.jobs
        if (type is None or job.type == type)
        and (states is None or job.state_at(now) in states)
        and low <= job.creation_time <= high
        and (workflow_id is None or workflow_id in job.workflow_ids)
        and (name is None or job.name == name)
    ]
    return ids if ascending else ids[::-1]


def list_tokens(emulator: Emulator) -> list[str | None]:
    return [r.params.get("nextToken") for r in emulator.requests if r.operation == "list"]


async def wait_until(condition: Callable[[], bool]) -> None:
    """Wait for a condition that another thread makes true (bounded)."""
    with anyio.fail_after(10):
        while not condition():  # noqa: ASYNC110 - set by the server's thread, no event to await
            await anyio.sleep(0.005)


# --- listing ten thousand jobs ----------------------------------------------------------


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_listing_10000_jobs_in_process(big: Emulator, order: str) -> None:
    """Every stored job exactly once, in the order asked, in process."""
    async with connect(big, None) as session:
        got = [job.job_id async for job in session.list_jobs(order=order, page_size=100)]

    assert expected_ids(big, ascending=order == "asc") == got


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_listing_10000_jobs_over_loopback(
    big: Emulator, big_server: EmulatorServer, order: str
) -> None:
    """Every stored job exactly once, in the order asked, over a real connection."""
    async with connect(big, big_server) as session:
        got = [job.job_id async for job in session.list_jobs(order=order, page_size=100)]

    assert expected_ids(big, ascending=order == "asc") == got


def _window(emulator: Emulator) -> tuple[datetime, datetime]:
    jobs = emulator.jobs
    low, high = jobs[len(jobs) // 4].creation_time, jobs[3 * len(jobs) // 4].creation_time
    return (
        datetime.fromtimestamp(low, tz=timezone.utc),
        datetime.fromtimestamp(high, tz=timezone.utc),
    )


FILTERS: list[tuple[str, Callable[[Emulator], tuple[dict[str, Any], dict[str, Any]]]]] = [
    ("type", lambda e: ({"type": "Job"}, {"type": "Job"})),
    (
        "states",
        lambda e: (
            {"states": [JobState.RUNNING, "Failed"]},
            {"states": {"Running", "Failed"}},
        ),
    ),
    (
        "type+states+window",
        lambda e: (
            {
                "type": "Workflow",
                "states": ["Success"],
                "created_after": _window(e)[0],
                "created_before": _window(e)[1],
            },
            {
                "type": "Workflow",
                "states": {"Success"},
                "after": _window(e)[0],
                "before": _window(e)[1],
            },
        ),
    ),
    (
        "workflow",
        lambda e: (
            {"workflow_id": next(j for j in e.jobs if j.workflow_ids).workflow_ids[0]},
            {"workflow_id": next(j for j in e.jobs if j.workflow_ids).workflow_ids[0]},
        ),
    ),
    ("name", lambda e: ({"name": e.jobs[123].name}, {"name": e.jobs[123].name})),
]


@pytest.mark.parametrize(("label", "make"), FILTERS, ids=[label for label, _ in FILTERS])
@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_filtered_listings_match_the_store(
    big: Emulator,
    big_server: EmulatorServer,
    via: str,
    order: str,
    label: str,
    make: Callable[[Emulator], tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """Filter combinations list exactly the matching jobs, in order."""
    filters, expectation = make(big)
    async with connect(big, big_server if via == "loopback" else None) as session:
        got = [job.job_id async for job in session.list_jobs(order=order, page_size=100, **filters)]

    want = expected_ids(big, ascending=order == "asc", **expectation)
    assert want
    assert want == got


# --- faults -----------------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [None, 2])
async def test_created_after_within_a_second_leaves_that_second_out(
    parallel: int | None,
) -> None:
    """``created_after=12:00:00.5``: a job of ``12:00:00`` was created before it.

    The service's bounds name whole seconds: sent as ``12:00:00``, the bound
    took that job in. It goes out as the next whole second.
    """
    emulator = Emulator()
    noon = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    for offset in range(-2, 3):
        emulator.add_job(job_id=f"j{offset + 2}", creation_time=noon + timedelta(seconds=offset))
    after = noon + timedelta(milliseconds=500)
    async with connect(emulator) as session:
        listed = [
            job.job_id async for job in session.list_jobs(created_after=after, parallel=parallel)
        ]
        with pytest.raises(ValueError, match="hold no whole second"):
            session.list_jobs(
                created_after=after, created_before=noon + timedelta(milliseconds=900)
            )

    assert ["j4", "j3"] == listed
    sent = [request.params.get("startCreationTime") for request in emulator.requests]
    assert "2025-03-01T20:00:01+0800" in sent


async def test_faults_on_random_pages_lose_and_repeat_nothing(
    emulator: Emulator, target: EmulatorServer | None
) -> None:
    """503s, 429s, HTML 502s, drops, resets and hangs on random pages: every job once, in order."""
    async with connect(emulator, target) as session:
        clean = [job.job_id async for job in session.list_jobs(page_size=100)]
    tokens = [token for token in list_tokens(emulator) if token]
    emulator.clear_requests()

    rng = random.Random(11)
    faulted = rng.sample(tokens, 7)

    def on(token: str) -> Callable[[RecordedRequest], bool]:
        return lambda request: request.params.get("nextToken") == token

    plan = emulator.faults
    plan.fail_next(1, status=503, when=on(faulted[0]))
    plan.throttle_next(1, retry_after=1, when=on(faulted[1]))
    plan.html_error_next(1, status=502, when=on(faulted[2]))
    plan.drop_next(1, when=on(faulted[3]))
    plan.reset_next(1, when=on(faulted[4]))
    plan.hang_next(1, when=on(faulted[5]))
    plan.fail_next(2, status=500, when=on(faulted[6]))

    async with connect(emulator, target, timeout=0.5) as session:
        got = [job.job_id async for job in session.list_jobs(page_size=100)]

    assert clean == got
    assert expected_ids(emulator) == got
    sent = list_tokens(emulator)
    assert [None, *tokens] == list(dict.fromkeys(sent))
    for token in tokens:
        retries = 3 if token == faulted[6] else 2 if token in faulted else 1
        assert retries == sent.count(token), token
        first = sent.index(token)
        assert [token] * retries == sent[first : first + retries]
    assert 0 == plan.pending


async def test_a_repeated_token_from_the_service_is_an_error(emulator: Emulator) -> None:
    """The emulator's repeated-NextToken fault ends in PaginationError."""
    from ci_async import PaginationError

    emulator.faults.repeat_token_next(1)
    async with connect(emulator, None) as session:
        with pytest.raises(PaginationError):
            async for _ in session.list_jobs(page_size=100):
                pass


async def test_limit_never_fetches_an_unneeded_page(
    emulator: Emulator, target: EmulatorServer | None
) -> None:
    """limit=250, page_size=100: exactly three list requests, sized 100, 100, 50."""
    async with connect(emulator, target) as session:
        got = [job.job_id async for job in session.list_jobs(page_size=100, limit=250)]

    assert expected_ids(emulator)[:250] == got
    sizes = [r.params.get("size") for r in emulator.requests if r.operation == "list"]
    assert ["100", "100", "50"] == sizes


# --- connections ------------------------------------------------------------------------


async def test_breaking_out_early_releases_the_connection(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """Leaving `async for` while the next page is in flight closes that request's connection."""
    emulator.faults.hang_next(1, op="list", when=lambda r: bool(r.params.get("nextToken")))
    async with connect(emulator, server) as session:
        async for _ in session.list_jobs(page_size=100):
            await wait_until(lambda: len(emulator.requests) == 2)
            break
        gc.collect()
        await wait_until(lambda: server.stats.open_connections == 0)

        # The session is still usable afterwards.
        assert 1 == len([job async for job in session.list_jobs(limit=1)])


async def test_cancelling_a_call_mid_request_releases_the_connection(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """A task cancelled while its request hangs leaves no connection open."""
    emulator.faults.hang_next(1, op="describe")
    job_id = emulator.jobs[0].job_id
    async with connect(emulator, server) as session:
        async with anyio.create_task_group() as group:
            group.start_soon(session.get_job, job_id)
            await wait_until(lambda: len(emulator.requests) == 1)
            group.cancel_scope.cancel()
        await wait_until(lambda: server.stats.open_connections == 0)

        assert job_id == (await session.get_job(job_id)).job_id


async def test_closing_the_session_closes_its_connections(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """After aclose() the server sees no open connection."""
    async with connect(emulator, server) as session:
        async with anyio.create_task_group() as group:
            for job in emulator.jobs[:20]:
                group.start_soon(session.get_job, job.job_id)
        assert server.stats.open_connections >= 1

    await wait_until(lambda: server.stats.open_connections == 0)


def _closing_cases() -> dict[str, Callable[[Emulator, Session], Awaitable[object]]]:
    """Calls caught by the session's close: in flight, pausing between attempts, between polls."""

    async def hanging_describe(emulator: Emulator, session: Session) -> object:
        emulator.faults.hang_next(1, op="describe")
        return await session.get_job(emulator.jobs[0].job_id)

    async def pausing_after_a_429(emulator: Emulator, session: Session) -> object:
        emulator.faults.fail_next(1, status=429, retry_after=30, op="describe")
        return await session.get_job(emulator.jobs[0].job_id)

    async def hanging_listing(emulator: Emulator, session: Session) -> object:
        emulator.faults.hang_next(1, op="list")
        return [job async for job in session.list_jobs(page_size=5)]

    async def pausing_listing(emulator: Emulator, session: Session) -> object:
        emulator.faults.fail_next(1, status=429, retry_after=30, op="list")
        return [job async for job in session.list_jobs(page_size=5, parallel=4)]

    async def waiting_between_polls(emulator: Emulator, session: Session) -> object:
        job = emulator.add_job(state="Running")
        return await session.wait_for_job(job.job_id, poll_interval=30)

    return {
        "hanging-describe": hanging_describe,
        "pausing-after-a-429": pausing_after_a_429,
        "hanging-listing": hanging_listing,
        "pausing-parallel-listing": pausing_listing,
        "waiting-between-polls": waiting_between_polls,
    }


CLOSING_CASES = _closing_cases()


@pytest.mark.parametrize("case", CLOSING_CASES)
async def test_closing_mid_call_raises_session_closed_at_once(
    case: str, emulator: Emulator, target: EmulatorServer | None
) -> None:
    """A call in flight, or pausing, when its session closes ends at once with SessionClosedError.

    In process too, where closing the transport interrupts nothing by itself.
    """
    from ci_async import RetryPolicy, SessionClosedError

    retry = RetryPolicy(max_attempts=3, backoff=0.001, max_backoff=0.002)
    session = connect(emulator, target, retry=retry)
    outcome: list[BaseException] = []
    ended = anyio.Event()

    async def call() -> None:
        try:
            await CLOSING_CASES[case](emulator, session)
        except Exception as exc:
            outcome.append(exc)
        finally:
            ended.set()

    async with anyio.create_task_group() as group:
        with anyio.fail_after(10):
            group.start_soon(call)
            await wait_until(lambda: len(emulator.requests) >= 1)
            await anyio.wait_all_tasks_blocked()
        with anyio.fail_after(2):  # the pauses are 30 s long
            await session.aclose()
            await ended.wait()

    assert [SessionClosedError] == [type(exc) for exc in outcome]


# --- describe ---------------------------------------------------------------------------


async def test_get_jobs_against_the_emulator(
    emulator: Emulator, target: EmulatorServer | None
) -> None:
    """get_jobs finds stored jobs in order and reports unknown ids."""
    wanted = [job.job_id for job in emulator.jobs[:40]]
    asked = [*wanted[:20], "b" + "0" * 32, *wanted[20:]]
    async with connect(emulator, target) as session:
        lookup = await session.get_jobs(asked, concurrency=8)

    assert (wanted, ("b" + "0" * 32,)) == ([job.job_id for job in lookup.jobs], lookup.missing)


async def test_signatures_are_verified_on_every_retry(emulator: Emulator) -> None:
    """Retried requests carry fresh, valid signatures (the emulator checks each)."""
    emulator.faults.fail_next(3, status=503, op="describe")
    job_id = emulator.jobs[5].job_id
    async with connect(emulator, None) as session:
        job = await session.get_job(job_id)

    assert job_id == job.job_id
    assert 4 == len(emulator.requests)
    assert all(r.header("authorization") for r in emulator.requests)


@pytest.mark.parametrize(("max_connections", "expected"), [(None, 64), (4, 4)])
async def test_requests_in_flight_are_bounded_by_max_connections(
    emulator: Emulator, server: EmulatorServer, max_connections: int | None, expected: int
) -> None:
    """80 concurrent calls over httpx's own transport: at most 64 at once (or max_connections)."""
    emulator.latency = 0.05
    jobs = emulator.jobs[:80]
    async with (
        Session(
            endpoint=server.url,
            bucket=emulator.bucket,
            region="ap-beijing",
            credentials=emulator.credentials,
            max_connections=max_connections,
        ) as session,
        anyio.create_task_group() as group,
    ):
        for job in jobs:
            group.start_soon(session.get_job, job.job_id)

    # Every request on a connection of its own while it runs; connections are kept.
    assert (80, expected) == (server.stats.requests, server.stats.connections_opened)


async def test_idle_connections_are_reused_before_new_ones_are_opened(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """Calls one after another share one connection; three rounds of 6 at once open 6 in all."""
    emulator.latency = 0.02
    jobs = emulator.jobs[:6]
    async with connect(emulator, server) as session:
        for job in jobs:
            await session.get_job(job.job_id)
        assert 1 == server.stats.connections_opened
        for _ in range(3):
            async with anyio.create_task_group() as group:
                for job in jobs:
                    group.start_soon(session.get_job, job.job_id)

    assert (24, 6) == (server.stats.requests, server.stats.connections_opened)


async def test_the_tls_context_is_made_once_for_every_client(
    emulator: Emulator, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight requests at once over httpx's own transport: one TLS context (one trust store load)."""
    import httpx

    made: list[object] = []
    original = httpx.create_ssl_context

    def counting(*args: Any, **kwargs: Any) -> Any:
        context = original(*args, **kwargs)
        made.append(context)
        return context

    monkeypatch.setattr(httpx, "create_ssl_context", counting)
    emulator.latency = 0.02
    async with connect(emulator, server) as session, anyio.create_task_group() as group:
        for job in emulator.jobs[:8]:
            group.start_soon(session.get_job, job.job_id)

    assert (1, 8) == (len(made), server.stats.connections_opened)


async def test_every_request_goes_out_on_the_first_connection_it_is_handed(
    emulator: Emulator, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """32 requests at once: each handed to an HTTP/1.1 connection once, none sent round again.

    (One pool shared by all would hand one idle connection to several queued
    requests at once, and send all but one of them round again.)
    """
    import httpcore

    handed: list[int] = []
    original = httpcore.AsyncHTTP11Connection.handle_async_request

    async def counting(self: httpcore.AsyncHTTP11Connection, request: Any) -> Any:
        handed.append(1)
        return await original(self, request)

    monkeypatch.setattr(httpcore.AsyncHTTP11Connection, "handle_async_request", counting)
    emulator.latency = 0.01
    async with connect(emulator, server, max_connections=32) as session:
        for _ in range(3):
            lookup = await session.get_jobs(
                [job.job_id for job in emulator.jobs[:64]], concurrency=64
            )
            assert 64 == len(lookup.jobs)

    assert (192, 192) == (server.stats.requests, len(handed))
