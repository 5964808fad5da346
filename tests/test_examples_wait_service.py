"""examples/wait_service.py: waits for jobs with bounded concurrency and reports failures."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

import ci_async
from ci_async.testing import Emulator

from .test_examples_aiohttp import EXAMPLES, load_example

wait_service = load_example("wait_service")

SUCCEEDED = "b1000000000000000000000000000000a"
FAILED = "b2000000000000000000000000000000b"
RUNNING = "b3000000000000000000000000000000c"
MISSING = "b4000000000000000000000000000000d"


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An emulator with one job per outcome that matters."""
    emulator = Emulator()
    emulator.add_job(job_id=SUCCEEDED, name="ok", state="Success")
    emulator.add_job(
        job_id=FAILED,
        name="broken",
        state="Failed",
        code="InternalError",
        message="disk full",
    )
    emulator.add_job(job_id=RUNNING, name="slow", state="Running")
    return emulator


@pytest.fixture(name="session")
async def fixture_session(emulator: Emulator) -> AsyncIterator[ci_async.Session]:
    """An in-process session on the emulator."""
    async with emulator.session() as session:
        yield session


@pytest.mark.anyio
async def test_all_succeeded_exits_0(session: ci_async.Session) -> None:
    """Only successful jobs: status 0 and a summary saying so."""
    out = io.StringIO()
    status = await wait_service.main(session, [SUCCEEDED], poll_interval=0.01, out=out)
    assert 0 == status
    assert "1 of 1 jobs succeeded" in out.getvalue()


@pytest.mark.anyio
async def test_a_failed_job_exits_1_and_is_reported(session: ci_async.Session) -> None:
    """A Failed job makes the status 1 and its code and message appear in the summary."""
    out = io.StringIO()
    status = await wait_service.main(session, [SUCCEEDED, FAILED], poll_interval=0.01, out=out)
    assert 1 == status
    assert f"  {FAILED}: Failed (InternalError: disk full)" in out.getvalue().splitlines()


@pytest.mark.anyio
async def test_a_missing_job_is_a_failure(session: ci_async.Session) -> None:
    """An id the service does not know is reported as not found."""
    outcomes = await wait_service.wait_all(
        session, [MISSING], poll_interval=0.01, out=io.StringIO()
    )
    assert [(MISSING, "not found")] == [(o.job_id, o.problem) for o in outcomes]


@pytest.mark.anyio
async def test_a_job_still_running_at_the_timeout_is_a_failure(session: ci_async.Session) -> None:
    """A job that does not finish within --timeout is reported with its last state."""
    outcomes = await wait_service.wait_all(
        session, [RUNNING], job_timeout=0.05, poll_interval=0.01, out=io.StringIO()
    )
    assert "still Running after 0.05s" == outcomes[0].problem


@pytest.mark.anyio
async def test_outcomes_keep_the_order_asked(session: ci_async.Session) -> None:
    """Outcomes come back in input order, each id once, whatever order they finish in."""
    ids = [FAILED, MISSING, SUCCEEDED, FAILED]
    outcomes = await wait_service.wait_all(
        session, ids, concurrency=2, poll_interval=0.01, out=io.StringIO()
    )
    assert [FAILED, MISSING, SUCCEEDED] == [outcome.job_id for outcome in outcomes]


def test_script_against_the_loopback_server(emulator: Emulator) -> None:
    """Run as a script against the emulator on a loopback port: exit 1, failures listed."""
    credentials = emulator.credentials
    env = {
        **os.environ,
        "TENCENTCLOUD_SECRET_ID": credentials.secret_id,
        "TENCENTCLOUD_SECRET_KEY": credentials.secret_key,
    }
    with emulator.serve() as server:
        result = subprocess.run(
            [
                sys.executable,
                str(EXAMPLES / "wait_service.py"),
                "--endpoint",
                server.url,
                "--bucket",
                emulator.bucket,
                "--region",
                "ap-beijing",
                "--poll-interval",
                "0.01",
                SUCCEEDED,
                FAILED,
                MISSING,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert 1 == result.returncode, result.stderr
    assert "1 of 3 jobs succeeded" in result.stdout
    assert f"  {MISSING}: not found" in result.stdout.splitlines()
