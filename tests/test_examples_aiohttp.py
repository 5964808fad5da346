"""examples/aiohttp_backend.py: the aiohttp app, against the emulator on a loopback port.

These tests run under asyncio only (aiohttp is asyncio-only), through
pytest-aiohttp's ``aiohttp_client`` fixture and pytest-asyncio's marker.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

import ci_async
from ci_async.testing import Emulator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
JOBS = 45
#: A safety net against a hung test, never a measure of speed.
HUNG = 120.0

pytestmark = pytest.mark.asyncio

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module (examples are not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


backend = load_example("aiohttp_backend")


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An emulator holding a few pages of jobs."""
    emulator = Emulator()
    emulator.generate(JOBS)
    return emulator


@pytest.fixture(name="endpoint")
def fixture_endpoint(emulator: Emulator) -> Iterator[str]:
    """The emulator, served on a loopback port."""
    with emulator.serve() as server:
        yield server.url


@pytest_asyncio.fixture(name="client")
async def fixture_client(
    emulator: Emulator, endpoint: str, aiohttp_client: AiohttpClient
) -> AsyncIterator[TestClient[Any, Any]]:
    """A test client of the example app, pointed at the emulator."""
    settings = backend.Settings(
        bucket=emulator.bucket,
        region="ap-beijing",
        endpoint=endpoint,
        credentials=emulator.credentials,
    )
    yield await aiohttp_client(backend.create_app(settings))


async def test_list_returns_one_page_and_a_token(client: TestClient[Any, Any]) -> None:
    """GET /jobs answers page_size jobs and the token of the next page."""
    response = await client.get("/jobs", params={"page_size": "10"})
    body = await response.json()
    assert 200 == response.status
    assert 10 == len(body["jobs"])
    assert body["next_token"]


async def test_following_tokens_lists_every_job_once(
    client: TestClient[Any, Any], emulator: Emulator
) -> None:
    """Passing next_token back page after page yields every job of the store exactly once."""
    seen: list[str] = []
    params = {"page_size": "20"}
    while True:
        body = await (await client.get("/jobs", params=params)).json()
        seen += [job["job_id"] for job in body["jobs"]]
        if body["next_token"] is None:
            break
        params["next_token"] = body["next_token"]
    assert sorted(job.job_id for job in emulator.jobs) == sorted(seen)
    assert len(seen) == len(set(seen))


async def test_list_filters_by_state(client: TestClient[Any, Any]) -> None:
    """The states query parameter reaches the service's filter."""
    body = await (await client.get("/jobs", params={"states": "Failed", "page_size": "100"})).json()
    assert {"Failed"} >= {job["state"] for job in body["jobs"]}


async def test_bad_page_size_is_a_400(client: TestClient[Any, Any]) -> None:
    """A page size outside 1..100 is refused before any request to the service."""
    response = await client.get("/jobs", params={"page_size": "0"})
    assert 400 == response.status


async def test_get_job_returns_its_fields(client: TestClient[Any, Any], emulator: Emulator) -> None:
    """GET /jobs/{id} answers the job as JSON, datetimes as ISO 8601 text."""
    wanted = emulator.jobs[0]
    response = await client.get(f"/jobs/{wanted.job_id}")
    body = await response.json()
    assert 200 == response.status
    assert wanted.job_id == body["job_id"]
    assert isinstance(body["creation_time"], str)


async def test_unknown_job_is_a_404(client: TestClient[Any, Any]) -> None:
    """A job id the service does not know is a 404 with a JSON body."""
    response = await client.get("/jobs/b00000000000000000000000000000000")
    assert 404 == response.status
    assert "b00000000000000000000000000000000" == (await response.json())["job_id"]


async def test_malformed_job_id_is_a_400(client: TestClient[Any, Any]) -> None:
    """An id the library refuses (here: with a space) is a 400, not a crash."""
    response = await client.get("/jobs/bad%20id")
    assert 400 == response.status


async def test_ndjson_streams_every_job(client: TestClient[Any, Any], emulator: Emulator) -> None:
    """GET /jobs.ndjson streams one JSON line per job, all of them."""
    response = await client.get("/jobs.ndjson")
    lines = (await response.text()).splitlines()
    assert "application/x-ndjson" == response.content_type
    assert sorted(job.job_id for job in emulator.jobs) == sorted(
        json.loads(line)["job_id"] for line in lines
    )


async def test_service_outage_is_a_503(client: TestClient[Any, Any], emulator: Emulator) -> None:
    """When every retry meets a 503, the app answers 503 with a JSON body."""
    emulator.faults.fail_next(10, status=503)
    response = await client.get("/jobs/b00000000000000000000000000000000")
    assert 503 == response.status
    assert "ServerError" == (await response.json())["detail"]


# --- a client that leaves mid-stream, under aiohttp's defaults ----------------------


@pytest.fixture(name="big_emulator")
def fixture_big_emulator() -> Emulator:
    """Enough jobs (some MB of JSON lines) that the stream outlasts any socket buffer."""
    emulator = Emulator()
    emulator.generate(LEAVING_JOBS)
    return emulator


#: Jobs behind the stream a client leaves: 100 pages of 100.
LEAVING_JOBS = 10_000


class _Records(logging.Handler):
    """Every record logged on the ``aiohttp`` loggers, whatever its level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_a_client_leaving_mid_stream_is_handled_quietly(
    big_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client leaves ``/jobs.ndjson`` early: the listing is closed, nothing is logged loudly.

    Under ``AppRunner`` defaults, as under ``web.run_app``'s, aiohttp does not
    cancel the handler when its client leaves: the next write fails. The
    handler must close the listing early and return, and aiohttp log no error
    and no traceback.
    """
    closed: list[bool] = []  # for each listing closed: whether it had been read to the end
    listing_closed = asyncio.Event()
    original_aclose = ci_async.JobIterator.aclose

    async def spy_aclose(self: ci_async.JobIterator) -> None:
        closed.append(self.exhausted)
        listing_closed.set()
        await original_aclose(self)

    monkeypatch.setattr(ci_async.JobIterator, "aclose", spy_aclose)
    records = _Records()
    aiohttp_logger = logging.getLogger("aiohttp")
    aiohttp_logger.addHandler(records)
    monkeypatch.setattr(aiohttp_logger, "level", logging.DEBUG)
    with big_emulator.serve() as server:
        settings = backend.Settings(
            bucket=big_emulator.bucket,
            region=big_emulator.region,
            endpoint=server.url,
            credentials=big_emulator.credentials,
        )
        runner = web.AppRunner(backend.create_app(settings))  # defaults, as web.run_app's
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /jobs.ndjson HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert b"200 OK" in await reader.readline()
            await reader.readuntil(b'"job_id"')  # the stream has begun
            writer.close()  # the client leaves, unread data and all
            await writer.wait_closed()
            await asyncio.wait_for(listing_closed.wait(), HUNG)
        finally:
            await runner.cleanup()  # waits for the handler to finish, logging included
            aiohttp_logger.removeHandler(records)
    assert [False] == closed  # closed once, early: the client had left
    loud = [record for record in records.records if record.levelno >= logging.WARNING]
    assert [] == [f"{r.name}: {r.getMessage()}" for r in loud]
    assert [] == [record for record in records.records if record.exc_info]
