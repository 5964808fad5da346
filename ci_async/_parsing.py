"""Where a list page's XML is parsed: on the event loop, or in worker processes.

Parsing a page of 100 jobs with :func:`xmltodict.parse` takes about 3 ms of
CPU, all of it holding the interpreter lock, so a thread would not help. With
``Session(parse_processes=N)`` the pages are parsed in up to ``N`` worker
processes of the session's own: the loop sends each body and gets
xmltodict's dicts back, and builds the records itself. Until the first
worker has started, pages are parsed on the loop. The loop is then free
while pages are parsed, and a listing whose client is short of CPU
(``parallel=8`` with pages of 100) can use a second core. What the worker
runs is :func:`~ci_async._xml.parse_xml`, exactly what the loop would run.

A worker is ``python -c`` with a few lines (:data:`_BOOT`): it takes the
session's ``sys.path``, loads :mod:`._xml` alone (by its path: not the
``ci_async`` package, nor httpx) and serves pages over its standard input
and output (:func:`~ci_async._xml.serve`), each message a 4-byte length
and its bytes (a body one way, the pickled document or refusal the
other). It never imports the application's main script, so a script needs
no main guard, as it would for :mod:`multiprocessing`. It ignores Ctrl-C (the application
decides), and it ends when its standard input closes: when the session
closes, or when the application's process ends without closing it.
"""

from __future__ import annotations

import contextlib
import pickle
import sys
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from . import _xml
from ._background import BackgroundRequest
from ._decode import parse_document
from ._errors import ResponseParseError, SessionClosedError
from ._xml import READY, frame

__all__ = ["MAX_PARSE_PROCESSES", "PageParser"]

#: The most worker processes a session may parse its pages in.
MAX_PARSE_PROCESSES = 16

#: The seconds a worker may take to start (a new Python importing xmltodict: about 40 ms).
_START_TIMEOUT = 60.0

#: The most pages sent to one worker at once (see :class:`_Worker`).
_DEPTH = 2

#: The seconds a closing session waits for a worker to finish its page and exit.
_STOP_TIMEOUT = 5.0

#: A worker's program: its standard output is kept for the replies (what the
#: code it runs prints goes to standard error); it takes the session's
#: ``sys.path`` and loads :mod:`._xml` alone, by its path; once its input
#: closes it exits at once (it holds nothing to clean up; a closing session
#: waits for it).
_BOOT = """\
import importlib.util, os, pickle, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
replies = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
size = int.from_bytes(sys.stdin.buffer.read(4), "big")
path, sys.path[:] = pickle.loads(sys.stdin.buffer.read(size))
spec = importlib.util.spec_from_file_location("ci_async_xml_worker", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.serve(sys.stdin.buffer, replies)
os._exit(0)
"""

#: What stops a worker's conversation: its pipes closed or broken, or its process gone.
_STOPPED = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    anyio.IncompleteRead,
    OSError,
)


class _Worker:
    """One worker process, and its end of the conversation.

    Up to :data:`_DEPTH` pages may be sent to it at once: it reads the next
    as soon as it has answered one, instead of waiting for the loop to
    read the answer and send another (the loop may be busy for a
    millisecond or two then, and one worker is often what limits a
    listing). Its answers come in the order the pages were sent.
    """

    def __init__(self, process: anyio.abc.Process) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.process = process
        self._requests = process.stdin
        self._replies = BufferedByteReceiveStream(process.stdout)
        self._sending = anyio.Lock()
        self._turn = anyio.Condition()
        self._sent = 0  # pages sent
        self._read = 0  # answers read

    async def handshake(self) -> None:
        """Hand the worker its module's path and ``sys.path``; wait until it can parse."""
        hello = (_xml.__file__, sys.path)
        await self._requests.send(frame(pickle.dumps(hello, pickle.HIGHEST_PROTOCOL)))
        if await self._replies.receive_exactly(len(READY)) != READY:
            raise anyio.BrokenResourceError

    async def parse(self, body: bytes) -> dict[str, Any] | str:
        """The worker's outcome for ``body``; not cancelled before the answer is in.

        A cancelled exchange would leave the conversation out of step. A page
        takes a few milliseconds, so a cancelled listing waits for one page.
        """
        with anyio.CancelScope(shield=True):
            async with self._sending:
                await self._requests.send(frame(body))
                ticket, self._sent = self._sent, self._sent + 1
            async with self._turn:
                while self._read != ticket:
                    await self._turn.wait()
                try:
                    size = int.from_bytes(await self._replies.receive_exactly(4), "big")
                    reply = await self._replies.receive_exactly(size)
                finally:
                    self._read += 1
                    self._turn.notify_all()
        outcome: dict[str, Any] | str = pickle.loads(reply)  # noqa: S301 - our own worker's
        return outcome


class PageParser:
    """Parses the list pages of one session, on the loop or in ``processes`` workers.

    The workers start with the session's first list request, in the event
    loop the session belongs to, beside the request: until one has started
    (about 40 ms, a new Python process importing xmltodict), pages are
    parsed on the loop, so that no page waits for a process to start. A
    worker that stops fails its page, and another starts in its place.

    Args:
        processes: The most worker processes in use at once; 0: none.
        background: Where the starting workers are kept (the session's
            requests in the background, which its ``aclose()`` cancels).
    """

    def __init__(self, processes: int, background: set[BackgroundRequest[Any]]) -> None:
        self._processes = processes
        self._background = background
        self._workers: list[_Worker] = []  # started or starting: aclose() ends them
        # The workers free to parse (made by start(), in the session's loop).
        self._free: MemoryObjectSendStream[_Worker] | None = None
        self._take: MemoryObjectReceiveStream[_Worker] | None = None
        self._closed = False
        self._starting: list[BackgroundRequest[None]] = []
        self._started = False
        self._failed: str | None = None

    async def parse(self, body: bytes) -> dict[str, Any]:
        """The document of ``body`` (xmltodict's dicts), checked as :func:`parse_document` does.

        Raises:
            ResponseParseError: ``body`` is not XML the client accepts, or the
                worker processes could not start, or one stopped parsing it.
            SessionClosedError: The session closed while the page waited for a worker.
        """
        if self._processes and self._worker_ready():
            return await self._in_worker(body)
        await let_the_loop_run()
        return parse_document(body)

    async def started(self) -> None:
        """Until the workers started so far have started (or failed to)."""
        for request in list(self._starting):
            await request.result()

    async def aclose(self) -> None:
        """End the worker processes: each finishes its page, sees its input close and exits."""
        self._closed = True
        if self._free is not None and self._take is not None:
            self._free.close()
            self._take.close()
        for request in list(self._starting):
            await request.aclose()
        async with anyio.create_task_group() as group:
            for worker in list(self._workers):
                group.start_soon(self._end, worker, _STOP_TIMEOUT)

    def start(self) -> None:
        """Start the workers, unless they are started or none is wanted.

        In a frozen application (``sys.frozen``, as PyInstaller sets it) or
        an embedded Python, ``sys.executable`` is no interpreter to run a
        worker with (a frozen one would start the application again): no
        process is started, and the first page says so.
        """
        if not self._processes or self._free is not None or self._closed:
            return
        pages = _DEPTH * self._processes  # (the free stream holds a worker once a page)
        self._free, self._take = anyio.create_memory_object_stream[_Worker](pages)
        if getattr(sys, "frozen", False) or not sys.executable:
            self._failed = (
                "parse workers need sys.executable to be a Python interpreter; in a frozen"
                " application or an embedded Python, leave parse_processes at 0"
            )
            return
        for _ in range(self._processes):
            self._start_one()

    def _worker_ready(self) -> bool:
        """Whether a worker has started (the first call starts them).

        Raises:
            ResponseParseError: They could not start.
        """
        self.start()
        if self._failed is not None:
            raise ResponseParseError(self._failed)
        return self._started

    def _start_one(self) -> None:
        if self._closed:
            return
        request = BackgroundRequest(self._start, self._background)
        self._starting = [each for each in self._starting if not each.done] + [request]

    async def _start(self) -> None:
        """Start a worker process; once it can parse, it waits among the free ones.

        A start cancelled (the session closing) ends its process.
        """
        try:
            with anyio.CancelScope(shield=True):  # (a process opened is always kept track of)
                process = await anyio.open_process([sys.executable, "-c", _BOOT], stderr=None)
        except OSError as exc:
            self._fail(exc, None)
            return
        worker = _Worker(process)
        self._workers.append(worker)
        try:
            with anyio.fail_after(_START_TIMEOUT):
                await worker.handshake()
        except Exception as exc:
            await self._end(worker, _STOP_TIMEOUT)  # (it is exiting, or killed after that)
            self._fail(exc, process.returncode)
        except BaseException:  # cancelled: aclose() kills the process
            await self._end(worker, 0.0)
            raise
        else:
            self._started = True
            for _ in range(_DEPTH):  # (each stands for one page the worker may take)
                self._give_back(worker)

    async def _end(self, worker: _Worker, grace: float) -> None:
        """Close ``worker``'s input, wait up to ``grace`` seconds for it to exit, then kill it."""
        self._workers.remove(worker)
        with anyio.move_on_after(grace):  # (a cancelled aclose() kills the process and waits)
            await worker.process.aclose()

    def _fail(self, exc: Exception, returncode: int | None) -> None:
        status = "" if returncode is None else f", exit status {returncode}"
        self._failed = (
            f"the worker process to parse pages in did not start ({type(exc).__name__}{status});"
            " what it printed is on standard error"
        )
        if self._free is not None:
            self._free.close()  # pages waiting for a worker: none is coming

    async def _in_worker(self, body: bytes) -> dict[str, Any]:
        assert self._take is not None
        try:
            worker = await self._take.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            if self._failed is None:  # (closed by aclose())
                raise SessionClosedError from None
            raise ResponseParseError(self._failed) from None
        try:
            outcome = await worker.parse(body)
        except _STOPPED:
            await self._replace(worker)
            msg = "the worker process parsing the page stopped"
            raise ResponseParseError(msg) from None
        self._give_back(worker)
        if isinstance(outcome, str):
            raise ResponseParseError(outcome, snippet=body)
        return outcome

    async def _replace(self, worker: _Worker) -> None:
        """End a worker that stopped answering, and start another in its place."""
        if worker in self._workers:  # (the first of its pages to fail)
            self._start_one()
            with anyio.CancelScope(shield=True):
                await self._end(worker, _STOP_TIMEOUT)  # (it is exiting, or killed after that)

    def _give_back(self, worker: _Worker) -> None:
        """``worker`` is free to parse again (unless the session is closing: aclose() ends it)."""
        assert self._free is not None
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._free.send_nowait(worker)


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
