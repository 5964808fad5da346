"""Where a list page's XML is parsed: on the event loop, or in worker processes.

Parsing a page of 100 jobs with :func:`xmltodict.parse` takes about 3 ms of
CPU, all of it holding the interpreter lock, so a thread would not help. With
``Session(parse_processes=N)`` the pages are parsed in up to ``N`` worker
processes (``anyio.to_process.run_sync``, under asyncio and trio alike):
the loop sends each body and gets xmltodict's dicts back, and builds the
records itself. Until the first worker has started, pages are parsed on the
loop. The loop is then free while pages are parsed, and a listing
whose client is short of CPU (``parallel=8`` with pages of 100) can use a
second core. What the worker runs is :func:`~ci_async._decode.parse_document`,
exactly what the loop would run.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_process

from ._background import BackgroundRequest
from ._decode import parse_document
from ._errors import ResponseParseError

__all__ = ["MAX_PARSE_PROCESSES", "PageParser", "parse_in_worker"]

#: The most worker processes a session may parse its pages in.
MAX_PARSE_PROCESSES = 16


def parse_in_worker(body: bytes) -> dict[str, Any] | str:
    """:func:`parse_document` in a worker process: the document, or why it was refused.

    The refusal's message travels as a plain string (an exception's own
    attributes do not survive pickling); the loop raises it again with the body.
    """
    try:
        return parse_document(body)
    except ResponseParseError as exc:
        return str(exc.args[0])


class PageParser:
    """Parses the list pages of one session, on the loop or in ``processes`` workers.

    The workers start on the first page, in the event loop the session
    belongs to, beside the listing: until one has started (about 0.1 s, a
    new Python process importing ``ci_async``), pages are parsed on the loop,
    so that no page waits for a process to start.

    Args:
        processes: The most worker processes in use at once; 0: none.
        background: Where the starting workers are kept (the session's
            requests in the background, which its ``aclose()`` cancels).
    """

    def __init__(self, processes: int, background: set[BackgroundRequest[Any]]) -> None:
        self._processes = processes
        self._background = background
        self._limiter: anyio.CapacityLimiter | None = None
        self._starting: list[BackgroundRequest[None]] = []
        self._started = False
        self._failed: str | None = None

    async def parse(self, body: bytes) -> dict[str, Any]:
        """The document of ``body`` (xmltodict's dicts), checked as :func:`parse_document` does.

        Raises:
            ResponseParseError: ``body`` is not XML the client accepts, or the
                worker processes could not start, or one stopped parsing it.
        """
        if self._processes and self._worker_ready():
            return await self._in_worker(body)
        await let_the_loop_run()
        return parse_document(body)

    async def started(self) -> None:
        """Until the workers started on the first page have started (or failed to)."""
        for request in self._starting:
            await request.result()

    def _worker_ready(self) -> bool:
        """Whether a worker has started; the first call starts them.

        Raises:
            ResponseParseError: They could not start.
        """
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._processes)
            self._starting = [
                BackgroundRequest(self._start_one, self._background) for _ in range(self._processes)
            ]
        if self._failed is not None:
            raise ResponseParseError(self._failed)
        return self._started

    async def _start_one(self) -> None:
        """Start a worker process: it parses an empty document, and waits in anyio's pool."""
        try:
            await _run(b"<Response/>", self._limiter)
        except Exception as exc:  # (BrokenWorkerProcess, or OSError starting the process)
            self._failed = (
                f"the worker process to parse pages in did not start ({type(exc).__name__});"
                " it runs the main script first: a script's own work belongs under"
                " 'if __name__ == \"__main__\":'"
            )
        else:
            self._started = True

    async def _in_worker(self, body: bytes) -> dict[str, Any]:
        try:
            outcome = await _run(body, self._limiter)
        except anyio.BrokenWorkerProcess:
            msg = "the worker process parsing the page stopped"
            raise ResponseParseError(msg) from None
        if isinstance(outcome, str):
            raise ResponseParseError(outcome, snippet=body)
        return outcome


async def _run(body: bytes, limiter: anyio.CapacityLimiter | None) -> dict[str, Any] | str:
    """:func:`parse_in_worker` in a worker process, not cancelled before it ends.

    A cancellation while anyio starts a worker would leave that process
    running (anyio does not end it then); once started, a page takes a few
    milliseconds. So a cancelled listing waits for at most a start and a page.
    """
    with anyio.CancelScope(shield=True):
        outcome = await anyio.to_process.run_sync(parse_in_worker, body, limiter=limiter)
    return outcome  # noqa: RET504 - (a return inside the scope: mypy sees a path past it)


async def let_the_loop_run() -> None:
    """Let the tasks woken meanwhile (a timer due, I/O arrived) run before this one goes on.

    Three checkpoints: in asyncio a due timer or a ready socket runs its
    callback one turn of the loop after this task's first checkpoint (the
    callbacks already queued go first), which completes a future, whose
    waiting task then runs one turn later still. (A 1 ms ticker beside 6 ms
    of work got in after 6 of 20 single checkpoints, 10 of 20 double ones,
    every triple one.) Trio may run this task first within a turn; each more
    checkpoint costs a few microseconds.
    """
    for _ in range(3):
        await anyio.lowlevel.checkpoint()
