"""``Session(parse_processes=N)``: list pages parsed in worker processes.

The worker processes are the session's own (``python -c``, see
:mod:`ci_async._parsing`): they start with the first list request and end
with the session.
"""

from __future__ import annotations

import ast
import io
import pickle
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest

import ci_async._parsing
import ci_async._xml
from ci_async import Credentials, ResponseParseError, Session, SessionClosedError
from ci_async._decode import parse_document
from ci_async._parsing import PageParser
from ci_async._xml import READY, frame, serve
from ci_async.testing import Emulator, EmulatorServer

from ._session_support import connect

pytestmark = pytest.mark.anyio

KEYS = Credentials("AKIDexample", "example-key")
PAGE = (
    b"<Response><JobsDetail><JobId>ab0123456789abcdef0123456789abcde</JobId></JobsDetail>"
    b"<NextToken>next</NextToken></Response>"
)


@pytest.fixture(name="emulator", scope="module")
def fixture_emulator() -> Emulator:
    """An emulator with 700 jobs (read-only here)."""
    emulator = Emulator(seed=11, record_requests=False)
    emulator.generate(700)
    return emulator


async def collect(jobs: AsyncIterator[object]) -> list[object]:
    """Every item of ``jobs``."""
    return [job async for job in jobs]


async def _ids(session: Session, **kwargs: object) -> list[str]:
    async with session:
        return [job.job_id async for job in session.list_jobs(**kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, 17, 100])
def test_a_number_of_processes_out_of_bounds_is_refused(value: int) -> None:
    with pytest.raises(ValueError, match=f"parse_processes must be between 0 and 16, got {value}"):
        Session("examplebucket-1250000000", "ap-beijing", credentials=KEYS, parse_processes=value)


@pytest.mark.parametrize("value", [True, 1.0, "2", None])
def test_a_number_of_processes_that_is_no_int_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="parse_processes must be an int"):
        Session("examplebucket-1250000000", "ap-beijing", credentials=KEYS, parse_processes=value)  # type: ignore[arg-type]


def test_the_worker_serves_documents_and_refusals() -> None:
    bodies = [PAGE, b"<Response><Oops></Response>", b'<!DOCTYPE x [<!ENTITY a "b">]><Response/>']
    replies = io.BytesIO()
    serve(io.BytesIO(b"".join(frame(body) for body in bodies)), replies)
    stream = io.BytesIO(replies.getvalue())
    assert stream.read(len(READY)) == READY
    outcomes = []
    while head := stream.read(4):
        outcomes.append(pickle.loads(stream.read(int.from_bytes(head, "big"))))
    assert len(outcomes) == 3
    assert outcomes[0]["Response"]["NextToken"] == "next"
    assert outcomes[1] == "malformed XML (mismatched tag: line 1, column 18)"
    assert outcomes[2] == "refused XML with a DOCTYPE or ENTITY declaration"


def test_the_workers_module_stands_alone() -> None:
    # A worker loads ci_async/_xml.py by its path: it may import the standard
    # library and xmltodict, nothing of ci_async.
    tree = ast.parse(Path(ci_async._xml.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import"
            imported.add((node.module or "").split(".")[0])
    assert imported - sys.stdlib_module_names == {"xmltodict"}


@pytest.mark.parametrize(
    "listing",
    [
        {"page_size": 100},
        {"page_size": 37, "order": "asc", "states": "All"},
        {"parallel": 4, "page_size": 50},
    ],
    ids=["sequential", "ascending", "parallel"],
)
async def test_pages_parsed_in_a_worker_hold_the_same_jobs(
    emulator: Emulator, target: EmulatorServer | None, listing: dict[str, object]
) -> None:
    # (``target``: conftest's, in process and over loopback.)
    on_loop = await _ids(connect(emulator, target), **listing)
    in_worker = await _ids(connect(emulator, target, parse_processes=2), **listing)
    assert len(on_loop) == 700
    assert in_worker == on_loop


def count_parses_on_the_loop(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies parsed in this process from now on (a worker imports its own module)."""
    on_loop: list[bytes] = []

    def counted(body: bytes) -> dict[str, Any]:
        on_loop.append(body)
        return parse_document(body)

    monkeypatch.setattr(ci_async._parsing, "parse_document", counted)
    return on_loop


def record_processes(monkeypatch: pytest.MonkeyPatch) -> list[anyio.abc.Process]:
    """The processes anyio opens from now on."""
    opened: list[anyio.abc.Process] = []
    open_process = anyio.open_process

    async def recorded(*args: Any, **kwargs: Any) -> anyio.abc.Process:
        process = await open_process(*args, **kwargs)
        opened.append(process)
        return process

    monkeypatch.setattr(anyio, "open_process", recorded)
    return opened


async def test_pages_are_parsed_on_the_loop_only_until_a_worker_has_started(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop = count_parses_on_the_loop(monkeypatch)
    async with emulator.session(parse_processes=1) as session:
        first = [job.job_id async for job in session.list_jobs(page_size=100)]
        assert on_loop  # the first page at least: no worker had started then
        await session._parser.started()
        on_loop.clear()
        again = [job.job_id async for job in session.list_jobs(page_size=100)]
        assert on_loop == []
    assert again == first
    assert len(first) == 700
    on_loop.clear()
    assert len(await _ids(emulator.session(), page_size=100)) == 700
    assert len(on_loop) == 7  # parse_processes=0: every page on the loop


class HeldUntil(httpx.AsyncBaseTransport):
    """A transport whose answers wait until ``ready()`` returns (a test's condition)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.ready: Callable[[], Awaitable[None]] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.ready is not None:
            await self.ready()
        return response


async def test_the_workers_start_with_the_first_request_not_its_page(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop = count_parses_on_the_loop(monkeypatch)
    held = HeldUntil(emulator.transport())
    async with emulator.session(parse_processes=1, transport=held) as session:
        held.ready = session._parser.started  # (nothing to wait for if none is starting yet)
        jobs = [job.job_id async for job in session.list_jobs(page_size=100)]
    assert len(jobs) == 700
    assert on_loop == []  # the first page too: its worker had started with its request


async def test_workers_that_cannot_start_fail_the_listing(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ci_async._parsing, "_BOOT", "import sys; sys.exit(3)")
    async with emulator.session(parse_processes=2) as session:
        session._parser.start()  # (as the first list request does)
        await session._parser.started()
        # (A worker that exits at once fails on the hello written or on the answer read.)
        with pytest.raises(
            ResponseParseError,
            match=r"did not start \((IncompleteRead|BrokenResourceError), exit status 3\)",
        ):
            await collect(session.list_jobs(page_size=10))


@pytest.mark.parametrize(("frozen", "executable"), [(True, sys.executable), (False, "")])
async def test_no_worker_is_started_where_sys_executable_is_no_interpreter(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, frozen: bool, executable: str
) -> None:
    opened = record_processes(monkeypatch)
    monkeypatch.setattr(sys, "frozen", frozen, raising=False)
    monkeypatch.setattr(sys, "executable", executable)
    with pytest.raises(ResponseParseError, match="leave parse_processes at 0"):
        await _ids(emulator.session(parse_processes=1), page_size=100)
    assert opened == []


async def test_a_worker_that_stops_fails_its_page_and_another_takes_its_place(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop = count_parses_on_the_loop(monkeypatch)
    async with emulator.session(parse_processes=1) as session:
        assert len(await collect(session.list_jobs(page_size=100, limit=100))) == 100
        await session._parser.started()
        (worker,) = session._parser._workers
        worker.process.kill()
        with pytest.raises(ResponseParseError, match="the worker process parsing the page stopped"):
            await collect(session.list_jobs(page_size=100))
        await session._parser.started()
        (replacement,) = session._parser._workers
        assert replacement is not worker
        on_loop.clear()
        assert len(await collect(session.list_jobs(page_size=100))) == 700
        assert on_loop == []  # every page in the new worker


async def test_closing_the_session_ends_its_workers(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = record_processes(monkeypatch)
    async with emulator.session(parse_processes=2) as session:
        assert len(await collect(session.list_jobs(page_size=100))) == 700
        await session._parser.started()
    assert len(opened) == 2
    assert [process.returncode for process in opened] == [0, 0]  # each saw its input close
    async with emulator.session(parse_processes=2) as session:
        assert len(await collect(session.list_jobs(page_size=100, limit=100))) == 100
    # (Closed at once: the workers still starting are cancelled, and killed if running.)
    assert len(opened) == 4
    assert all(process.returncode is not None for process in opened)


async def test_a_page_waiting_for_a_worker_as_the_session_closes_is_told_so() -> None:
    parser = PageParser(1, set())
    parser.start()
    await parser.started()
    assert parser._take is not None
    for _ in range(ci_async._parsing._DEPTH):  # the only worker, as if busy with its pages
        await parser._take.receive()

    async def waits() -> None:
        with pytest.raises(SessionClosedError):
            await parser.parse(PAGE)

    async with anyio.create_task_group() as group:
        group.start_soon(waits)
        await anyio.wait_all_tasks_blocked()
        await parser.aclose()
    assert parser._workers == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a process: POSIX")
async def test_a_worker_ignores_ctrl_c(emulator: Emulator) -> None:
    async with emulator.session(parse_processes=1) as session:
        await collect(session.list_jobs(page_size=100, limit=100))
        await session._parser.started()
        (worker,) = session._parser._workers
        worker.process.send_signal(signal.SIGINT)
        assert len(await collect(session.list_jobs(page_size=100))) == 700
        assert worker.process.returncode is None


def test_a_script_with_no_main_guard_runs_once(tmp_path: Path) -> None:
    script = tmp_path / "no_guard.py"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(  # (this interpreter, a script of ours)
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["the script starts", "300 jobs, parsed in a worker"]
    assert "the script starts" not in done.stderr  # (a worker's own output goes there)


SCRIPT = """\
import anyio
import ci_async._parsing
import ci_async._xml
from ci_async.testing import Emulator

print("the script starts", flush=True)
emulator = Emulator(seed=3)
emulator.generate(300)
on_loop = []
parse_document = ci_async._parsing.parse_document
ci_async._parsing.parse_document = lambda body: on_loop.append(body) or parse_document(body)


async def main():
    async with emulator.session(parse_processes=1) as session:
        [job async for job in session.list_jobs(page_size=100, limit=100)]
        await session._parser.started()
        on_loop.clear()
        jobs = [job async for job in session.list_jobs(page_size=100)]
    where = "on the loop" if on_loop else "in a worker"
    print(f"{len(jobs)} jobs, parsed {where}")


anyio.run(main)
"""


async def test_a_malformed_page_parsed_in_a_worker_is_a_response_parse_error(
    emulator: Emulator,
) -> None:
    async with emulator.session(parse_processes=1) as session:
        await collect(session.list_jobs(page_size=100, limit=100))
        await session._parser.started()
        emulator.faults.malformed_next(1, op="list")
        try:
            with pytest.raises(ResponseParseError) as caught:
                await collect(session.list_jobs(page_size=100))
        finally:
            emulator.faults.clear()
    assert str(caught.value).startswith("malformed XML (")
    assert caught.value.snippet  # the body's start, from the loop's copy of it
