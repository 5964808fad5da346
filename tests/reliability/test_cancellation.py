"""Cancellation and resources: cancelled calls leave no connection, task or warning behind.

Runs against the emulator on a real loopback port, under asyncio (over httpx's
transport and over aiohttp's) and trio (httpx's transport). "Checked out"
connections are read from inside the transport's pool
(:func:`~._support.checked_out`); every response the transport hands out is
counted by a wrapper (:class:`~._support.CountingTransport`), and must have
been closed by the library itself, checked before any garbage collection
(which would quietly release a leaked one: aiohttp does when a response is
collected); the server's own counters confirm that every connection is
closed once the session is.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import random
import warnings
from collections.abc import Awaitable, Callable, Iterator

import anyio
import pytest

from ci_async import CIError, Session, SessionClosedError
from ci_async.testing import Emulator, EmulatorServer

from ._support import (
    GUARD,
    checked_out,
    collect_garbage,
    counting_transport,
    live_tasks,
    session_on,
    wait_until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

VICTIMS = 1000
WAVE = 100
POOL = 16


@pytest.fixture(name="recorded_warnings")
def fixture_recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning raised during the test (ResourceWarning included), instead of raising."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def leftovers(caught: list[warnings.WarningMessage], caplog: pytest.LogCaptureFixture) -> list[str]:
    """Warnings, and log records about unclosed or abandoned resources, after a full collection."""
    collect_garbage()
    problems = [f"{w.category.__name__}: {w.message}" for w in caught]
    markers = ("unclosed", "destroyed but it is pending", "never awaited", "exception was never")
    problems += [
        record.getMessage()
        for record in caplog.records
        if any(marker in record.getMessage().lower() for marker in markers)
    ]
    return problems


#: One operation in this many is left to finish (no cancellation), so every wave mixes
#: cancelled calls with completed ones however slow or loaded the machine is.
UNCANCELLED_EVERY = 10


async def run_and_cancel(operations: list[Callable[[], Awaitable[object]]], seed: int) -> int:
    """Run every operation in its own task, most cancelled after a random (seeded) delay.

    Every ``UNCANCELLED_EVERY``-th operation is not cancelled at all.

    Returns:
        How many operations completed before their cancellation came.
    """
    rng = random.Random(seed)
    delays = [
        math.inf if index % UNCANCELLED_EVERY == 0 else rng.uniform(0, 0.05)
        for index in range(len(operations))
    ]
    completed = 0

    async def victim(operation: Callable[[], Awaitable[object]], delay: float) -> None:
        nonlocal completed
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:

                async def cancel_later() -> None:
                    await anyio.sleep(delay)
                    scope.cancel()

                group.start_soon(cancel_later)
                await operation()
                completed += 1
                group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:
        for operation, delay in zip(operations, delays, strict=True):
            group.start_soon(victim, operation, delay)
    return completed


def mixed_operations(
    session: Session, emulator: Emulator, count: int
) -> list[Callable[[], Awaitable[object]]]:
    """Describes, full listings, and listings left part way (without aclose)."""
    job_ids = [job.job_id for job in emulator.jobs]

    async def describe(index: int) -> None:
        with contextlib.suppress(CIError):  # a fault outliving the retries is fine here
            await session.get_job(job_ids[index % len(job_ids)])

    async def list_all(_: int) -> None:
        with contextlib.suppress(CIError):
            async for _job in session.list_jobs(page_size=5):
                pass

    async def list_some(_: int) -> None:
        seen = 0
        with contextlib.suppress(CIError):
            async for _job in session.list_jobs(page_size=5):
                seen += 1
                if seen == 7:
                    break

    kinds = [describe, list_all, list_some]
    return [functools.partial(kinds[index % 3], index) for index in range(count)]


async def test_a_thousand_cancelled_calls_leave_nothing_behind(
    emulator: Emulator,
    server: EmulatorServer,
    recorded_warnings: list[warnings.WarningMessage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """1,000 calls cancelled at random points: no connection, task or warning left behind."""
    caplog.set_level(logging.DEBUG)
    emulator.faults.latency(0.002)
    emulator.faults.trickle_next(50, chunk_size=512, interval=0.002)
    emulator.faults.fail_next(30, status=503)
    tasks_before = live_tasks()
    responses = counting_transport(POOL)

    async with session_on(
        server.url, emulator, transport=responses, max_connections=POOL
    ) as session:
        with anyio.fail_after(GUARD * 3):
            operations = mixed_operations(session, emulator, VICTIMS)
            completed = 0
            for wave in range(0, VICTIMS, WAVE):
                completed += await run_and_cancel(operations[wave : wave + WAVE], seed=wave)
            await wait_until(lambda: checked_out(session) == 0)
            in_use = checked_out(session)
            # Every response handed out was closed by the library itself: counted
            # before any garbage collection, which would release a leaked one
            # (aiohttp does when a response is collected).
            with contextlib.suppress(TimeoutError):
                await wait_until(lambda: responses.open == 0)
            left_open = responses.open
            # A cancelled listing's background page request ends once its iterator
            # is collected: settle, then count (a task that never ends fails here).
            collect_garbage()
            with contextlib.suppress(TimeoutError):
                await wait_until(lambda: live_tasks() == tasks_before)
            tasks_after = live_tasks()
            # The pool still serves POOL calls at once: no slot was lost.
            async with anyio.create_task_group() as group:
                for job in emulator.jobs[:POOL]:
                    group.start_soon(session.get_job, job.job_id)

    await wait_until(lambda: server.stats.open_connections == 0)
    assert (0, 0, tasks_before) == (left_open, in_use, tasks_after)
    assert responses.opened >= completed
    assert 0 < completed < VICTIMS  # cancellations did land part way
    assert [] == leftovers(recorded_warnings, caplog)


async def test_breaking_out_of_a_listing_cancels_its_prefetch(
    emulator: Emulator,
    server: EmulatorServer,
    recorded_warnings: list[warnings.WarningMessage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Dropping an iterator after break (no aclose) ends its background request."""
    emulator.faults.latency(0.05)
    tasks_before = live_tasks()
    responses = counting_transport(16)

    async with session_on(server.url, emulator, transport=responses) as session:
        with anyio.fail_after(GUARD):
            async for _ in session.list_jobs(page_size=5):
                break
            # The prefetch ends by itself (its iterator is gone): its response is
            # closed by the library, before and without any garbage collection.
            await wait_until(lambda: responses.opened >= 1 and responses.open == 0)
            collect_garbage()
            await wait_until(lambda: live_tasks() == tasks_before and checked_out(session) == 0)

    assert [] == leftovers(recorded_warnings, caplog)


async def test_cancelling_get_jobs_cancels_every_request(
    emulator: Emulator,
    server: EmulatorServer,
    recorded_warnings: list[warnings.WarningMessage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """get_jobs of many ids, cancelled mid-way: all its requests stop, the pool is free."""
    emulator.faults.latency(0.02)
    tasks_before = live_tasks()
    responses = counting_transport(4)

    async with session_on(server.url, emulator, transport=responses, max_connections=4) as session:
        with anyio.move_on_after(0.05) as scope:
            await session.get_jobs([job.job_id for job in emulator.jobs], concurrency=8)
        with anyio.fail_after(GUARD):
            await wait_until(lambda: checked_out(session) == 0)
        tasks_after = live_tasks()
        left_open = responses.open

    assert (True, tasks_before, 0) == (scope.cancelled_caught, tasks_after, left_open)
    assert [] == leftovers(recorded_warnings, caplog)


# --- a session closed under its users ------------------------------------------------------


async def test_closing_the_session_ends_a_live_iterator(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """An iterator part way through (prefetch in flight) raises SessionClosedError next."""
    async with session_on(server.url, emulator) as session:
        iterator = session.list_jobs(page_size=5)
        with anyio.fail_after(GUARD):
            await iterator.__anext__()
        await session.aclose()

        with pytest.raises(SessionClosedError):
            await iterator.__anext__()


async def test_closing_the_session_ends_a_live_page_iterator(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """The same for pages()."""
    async with session_on(server.url, emulator) as session:
        pages = session.list_jobs(page_size=5).pages()
        with anyio.fail_after(GUARD):
            await pages.__anext__()
        await session.aclose()

        with pytest.raises(SessionClosedError):
            await pages.__anext__()


async def test_closing_the_session_ends_an_iterator_not_yet_started(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """An iterator made before the close raises SessionClosedError on its first step."""
    async with session_on(server.url, emulator) as session:
        iterator = session.list_jobs()
        await session.aclose()

        with pytest.raises(SessionClosedError):
            await iterator.__anext__()


async def test_closing_the_session_interrupts_a_call_in_flight(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """A call waiting on a server that never answers ends with SessionClosedError at close."""
    emulator.faults.hang_next(1)
    outcome: list[BaseException] = []

    async with session_on(server.url, emulator, timeout=60.0) as session:

        async def call() -> None:
            try:
                await session.get_job(emulator.jobs[0].job_id)
            except Exception as exc:
                outcome.append(exc)

        with anyio.fail_after(GUARD):
            async with anyio.create_task_group() as group:
                group.start_soon(call)
                await wait_until(lambda: len(emulator.requests) == 1)
                await session.aclose()

    assert [SessionClosedError] == [type(exc) for exc in outcome]


async def test_closing_the_session_interrupts_a_listing_in_flight(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """A listing waiting on its next page ends with SessionClosedError at close."""
    emulator.faults.hang_next(1, when=lambda r: "nextToken" in r.params)
    outcome: list[BaseException] = []
    got: list[str] = []

    async with session_on(server.url, emulator, timeout=60.0) as session:

        async def consume() -> None:
            try:
                async for job in session.list_jobs(page_size=10):
                    got.append(job.job_id)
            except Exception as exc:
                outcome.append(exc)

        with anyio.fail_after(GUARD):
            async with anyio.create_task_group() as group:
                group.start_soon(consume)
                await wait_until(lambda: len(emulator.requests) == 2 and len(got) == 10)
                await session.aclose()

    assert [SessionClosedError] == [type(exc) for exc in outcome]


async def test_calls_cancelled_while_waiting_for_a_connection_leave_the_pool_usable(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """Calls cancelled while queued for a small pool: later calls still get connections."""
    # httpx's own pool loses a slot for good when a request is cancelled right after
    # it was given a new connection (encode/httpcore#1093); the session bounds the
    # requests in flight itself so that this pool never queues.
    emulator.faults.latency(0.002)
    rng = random.Random(5)

    async def call(job_id: str) -> None:
        with anyio.move_on_after(rng.uniform(0, 0.02)):
            await session.get_job(job_id)

    async with session_on(server.url, emulator, max_connections=4, timeout=1.0) as session:
        with anyio.fail_after(GUARD):
            for _ in range(20):
                async with anyio.create_task_group() as group:
                    for job in emulator.jobs * 2:
                        group.start_soon(call, job.job_id)
            await wait_until(lambda: checked_out(session) == 0)
            async with anyio.create_task_group() as group:
                for job in emulator.jobs:
                    group.start_soon(session.get_job, job.job_id)


async def test_a_server_stopped_with_abandoned_requests_leaves_no_pending_task(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, anyio_backend: str
) -> None:
    """Requests abandoned by the client while the emulator still works on them end at stop."""
    caplog.set_level(logging.DEBUG)
    emulator.faults.latency(1.0)

    async with (
        emulator.serve() as server,
        session_on(server.url, emulator) as session,
        anyio.create_task_group() as group,
    ):
        for job in emulator.jobs[:5]:
            group.start_soon(session.get_job, job.job_id)
        await wait_until(lambda: server.stats.requests == 5)
        group.cancel_scope.cancel()

    # asyncio's "Task was destroyed but it is pending!" (httpcore's DEBUG records
    # quote cancelled tasks as "<Task pending ...>": those are not leftovers).
    assert [] == [r.getMessage() for r in caplog.records if "but it is pending" in r.getMessage()]
