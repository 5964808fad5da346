"""Type-only checks of the public API: mypy --strict runs over this file; it is never executed.

Each block exercises a public call the way users write it, so a change that
breaks their type checking breaks ours first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

import ci_async
from ci_async.testing import Emulator


async def describe_and_list(ci: ci_async.Session) -> list[str]:
    job: ci_async.Job = await ci.get_job("b3deffea2f84911ec9cb15254008618d9")
    state: ci_async.JobState | str = job.state
    created: dt.datetime | None = job.creation_time
    terminal: bool = job.is_terminal
    data: dict[str, Any] = job.to_dict()
    found: ci_async.JobLookup = await ci.get_jobs(["a", "b"])
    missing: tuple[str, ...] = found.missing
    ids = [job.job_id for job in found.jobs]
    iterator: ci_async.JobIterator = ci.list_jobs(
        type=ci_async.JobType.WORKFLOW,
        states=[ci_async.JobState.FAILED, "Running"],
        order="asc",
        created_after=dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc),
        page_size=100,
        limit=500,
        prefetch=True,
        deadline=60.0,
    )
    async for listed in iterator:
        ids.append(listed.job_id)
    token: str | None = iterator.next_token
    async for page in ci.list_jobs(next_token=token).pages():
        page_jobs: tuple[ci_async.Job, ...] = page.jobs
        ids.extend(j.job_id for j in page_jobs)
    del state, created, terminal, data, missing
    return ids


async def lifecycle(ci: ci_async.Session) -> ci_async.Job:
    created = await ci.create_job(
        name="demo",
        input=ci_async.JobInput(prefix="input/"),
        workflow_ids=["w7476ff3564ee45b7b490d64bccaba6cc"],
    )
    await ci.cancel_job(created.job_id)
    return await ci.wait_for_job(created.job_id, timeout=30.0, poll_interval=1.0)


class RemoteSigner:
    async def sign(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = "signed elsewhere"


async def construct() -> None:
    creds = ci_async.Credentials("AKIDEXAMPLE", "secret", token=None)
    signer: ci_async.Signer = ci_async.CosSigner(creds, expires=600)
    async with ci_async.Session(
        "examplebucket-1250000000",
        "ap-beijing",
        signer=RemoteSigner(),
        timeout=httpx.Timeout(5.0),
        retry=ci_async.RetryPolicy(max_attempts=3),
    ) as ci:
        await describe_and_list(ci)
    async with ci_async.Session("examplebucket-1250000000", "ap-beijing", signer=signer) as ci:
        await lifecycle(ci)


async def with_emulator() -> None:
    emulator = Emulator()
    emulator.generate(10)
    emulator.add_job(name="broken", state="Failed", code="InvalidInput", message="no input")
    async with emulator.session() as ci:
        await describe_and_list(ci)


def errors(exc: ci_async.CIError) -> str | None:
    if isinstance(exc, ci_async.ServiceError):
        status: int = exc.status_code
        del status
        return exc.request_id
    return None
