"""create_job, cancel_job and wait_for_job against the emulator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import anyio
import httpx
import pytest

from ci_async import (
    Job,
    JobInput,
    JobNotFoundError,
    JobState,
    JobType,
    Output,
    ServiceError,
    TimeInterval,
    TransportError,
    WaitTimeoutError,
)
from ci_async.testing import Emulator, EmulatorServer

from ._session_support import connect

pytestmark = pytest.mark.anyio

CST = timezone(timedelta(hours=8))


class Ticking(httpx.AsyncBaseTransport):
    """Moves the emulator's clock forward by ``step`` seconds before each request."""

    def __init__(self, emulator: Emulator, step: float) -> None:
        self._emulator = emulator
        self._inner = emulator.transport()
        self._step = step

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._emulator.advance(self._step)
        return await self._inner.handle_async_request(request)


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An empty emulator."""
    return Emulator(seed=5)


# --- create -----------------------------------------------------------------------------


async def test_create_a_workflow_job(emulator: Emulator, target: EmulatorServer | None) -> None:
    """workflow_ids create a Workflow job that the listing then shows."""
    interval = TimeInterval(datetime(2022, 2, 1, 12, tzinfo=CST), datetime(2022, 5, 1, tzinfo=CST))
    async with connect(emulator, target) as session:
        job = await session.create_job(
            name="nightly",
            input=JobInput(prefix="input/"),
            workflow_ids=["w7476ff3564ee45b7b490d64bccaba6cc"],
            time_interval=interval,
        )
        listed = [j async for j in session.list_jobs(type="Workflow")]

    assert (JobType.WORKFLOW, "nightly", "input/") == (job.type, job.name, job.input.prefix)
    assert ("w7476ff3564ee45b7b490d64bccaba6cc",) == job.operation.workflow_ids
    assert interval == job.operation.time_interval
    assert [job.job_id] == [j.job_id for j in listed]


async def test_create_an_independent_job(emulator: Emulator, target: EmulatorServer | None) -> None:
    """Job fields create a Job job with its queue, template and output."""
    output = Output(
        region="ap-chongqing", bucket="out-1250000000", object="o/${InventoryTriggerJobId}"
    )
    async with connect(emulator, target) as session:
        job = await session.create_job(
            name="transcode",
            input=JobInput(manifest="manifest.json"),
            tag="Transcode",
            queue_id="p893bcda225bf4945a378da6662e81a89",
            template_id="t1460606b9752148c4ab182f55163ba7cd",
            output=output,
            user_data="data",
            callback="https://www.callback.com",
            job_level=1,
        )
        found = await session.get_job(job.job_id)

    assert JobType.JOB == job.type
    assert "t1460606b9752148c4ab182f55163ba7cd" == job.operation.job_param.template_id  # type: ignore[union-attr]
    assert (output, 1, "Transcode") == (
        job.operation.output,
        job.operation.job_level,
        job.operation.tag,
    )
    assert job == found


async def test_create_sends_xml_with_its_content_type(emulator: Emulator) -> None:
    """The create request is a POST of application/xml."""
    async with connect(emulator) as session:
        await session.create_job(name="n", input=JobInput(object="a.mp4"), workflow_ids=["w1"])

    (request,) = emulator.requests
    assert ("POST", "/inventorytriggerjob") == (request.method, request.path)
    assert "application/xml" == request.header("content-type")
    assert request.body.startswith(b"<Request>")


async def test_create_interrupted_after_sending_is_not_resent(
    emulator: Emulator, target: EmulatorServer | None
) -> None:
    """A dropped connection after the create arrived raises; exactly one POST was made."""
    emulator.faults.drop_next(1, op="create")
    async with connect(emulator, target) as session:
        with pytest.raises(TransportError):
            await session.create_job(name="n", input=JobInput(prefix="p/"), workflow_ids=["w1"])

    assert ["POST"] == [request.method for request in emulator.requests]


async def test_create_refused_by_the_service_is_a_service_error(emulator: Emulator) -> None:
    """A 400 from the service is raised as ServiceError, not retried."""
    emulator.faults.fail_next(1, status=400, code="InvalidArgument", op="create")
    async with connect(emulator) as session:
        with pytest.raises(ServiceError, match="InvalidArgument"):
            await session.create_job(name="n", input=JobInput(prefix="p/"), workflow_ids=["w1"])

    assert 1 == len(emulator.requests)


# --- cancel -----------------------------------------------------------------------------


async def test_cancel_a_running_job(emulator: Emulator, target: EmulatorServer | None) -> None:
    """Cancelling a running job leaves it in Cancel; the query is `?cancel`."""
    job_id = emulator.add_job(state="Running").job_id
    async with connect(emulator, target) as session:
        await session.cancel_job(job_id)
        job = await session.get_job(job_id)

    assert JobState.CANCEL == job.state
    cancel = emulator.requests[0]
    assert ("PUT", f"/inventorytriggerjob/{job_id}", (("cancel", ""),)) == (
        cancel.method,
        cancel.path,
        cancel.query,
    )


async def test_cancel_is_retried_on_server_errors(emulator: Emulator) -> None:
    """A 503 on cancel is retried (cancel is idempotent)."""
    job_id = emulator.add_job(state="Running").job_id
    emulator.faults.fail_next(2, status=503, op="cancel")
    async with connect(emulator) as session:
        await session.cancel_job(job_id)

    assert ["PUT", "PUT", "PUT"] == [request.method for request in emulator.requests]
    assert JobState.CANCEL == emulator.state(job_id)


async def test_cancel_of_an_unknown_job_is_not_found(emulator: Emulator) -> None:
    """ResourceNotFound on cancel is JobNotFoundError naming the id."""
    async with connect(emulator) as session:
        with pytest.raises(JobNotFoundError) as caught:
            await session.cancel_job("b" + "0" * 32)

    assert "b" + "0" * 32 == caught.value.job_id


async def test_cancel_of_a_finished_job_is_refused(emulator: Emulator) -> None:
    """A finished job cannot be cancelled: the service's error is raised."""
    job_id = emulator.add_job(state="Success").job_id
    async with connect(emulator) as session:
        with pytest.raises(ServiceError, match="InvalidArgument"):
            await session.cancel_job(job_id)


# --- wait -------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["Success", "Failed"])
async def test_wait_returns_the_terminal_job(emulator: Emulator, outcome: str) -> None:
    """wait_for_job polls through Submitted and Running to the end, reporting each change."""
    job_id = emulator.add_job(start_after=30, run_for=60, outcome=outcome).job_id
    seen: list[str] = []
    async with connect(emulator, transport=Ticking(emulator, 20)) as session:
        job = await session.wait_for_job(
            job_id, poll_interval=0.001, on_update=lambda j: seen.append(str(j.state))
        )

    assert (outcome, ["Submitted", "Running", outcome]) == (job.state, seen)


async def test_wait_accepts_an_async_callback(emulator: Emulator) -> None:
    """on_update may be a coroutine function."""
    job_id = emulator.add_job(start_after=10, run_for=10, outcome="Success").job_id
    seen: list[Job] = []

    async def record(job: Job) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(job)

    async with connect(emulator, transport=Ticking(emulator, 15)) as session:
        job = await session.wait_for_job(job_id, poll_interval=0.001, on_update=record)

    assert job == seen[-1]


async def test_wait_for_a_cancelled_job(emulator: Emulator) -> None:
    """Cancel is terminal: a cancelled job ends the wait."""
    job_id = emulator.add_job(state="Running").job_id
    async with connect(emulator) as session, anyio.create_task_group() as group:

        async def cancel_when_seen(job: Job) -> None:
            if job.state == JobState.RUNNING:
                group.start_soon(session.cancel_job, job_id)

        job = await session.wait_for_job(job_id, poll_interval=0.001, on_update=cancel_when_seen)

    assert JobState.CANCEL == job.state


async def test_wait_times_out_with_the_last_job(emulator: Emulator) -> None:
    """A job that never ends raises WaitTimeoutError carrying the last job seen."""
    job_id = emulator.add_job(state="Running").job_id
    async with connect(emulator) as session:
        with pytest.raises(WaitTimeoutError) as caught:
            await session.wait_for_job(job_id, timeout=0.05, poll_interval=0.001)

    assert job_id == caught.value.job_id
    assert caught.value.last_job is not None
    assert JobState.RUNNING == caught.value.last_job.state


async def test_wait_is_cancellable(emulator: Emulator) -> None:
    """Cancelling the waiting task stops the polling."""
    job_id = emulator.add_job(state="Running").job_id
    async with connect(emulator) as session:
        with anyio.move_on_after(0.05) as scope:
            await session.wait_for_job(job_id, poll_interval=0.001)

    assert scope.cancelled_caught


async def test_wait_for_an_unknown_job_raises_not_found(emulator: Emulator) -> None:
    """Waiting for a job that does not exist is JobNotFoundError."""
    async with connect(emulator) as session:
        with pytest.raises(JobNotFoundError):
            await session.wait_for_job("b" + "1" * 32, poll_interval=0.001)


async def test_created_jobs_can_be_waited_for(emulator: Emulator) -> None:
    """Create then wait: the new job reaches a terminal state as the clock moves."""
    async with connect(emulator, transport=Ticking(emulator, 600)) as session:
        job = await session.create_job(name="n", input=JobInput(prefix="p/"), workflow_ids=["w1"])
        done = await session.wait_for_job(job.job_id, poll_interval=0.001)

    assert done.is_terminal
