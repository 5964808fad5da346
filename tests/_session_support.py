"""Helpers for the session tests: a scripted fake service behind httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import pytest

from ci_async import Job, JobInput, JobState, JobType, Operation, RetryPolicy, Session
from ci_async.testing import Emulator, EmulatorServer

from ._xml import encode_response

BUCKET = "examplebucket-1250000000"
REGION = "ap-beijing"
SECRET = "SeCrEtSiGnAtUrE0123456789abcdef"
FAST = RetryPolicy(backoff=0.001, max_backoff=0.002)
#: Fast retries for emulator sessions, with injected ``Retry-After`` values cut short too.
FAST_EMULATOR = RetryPolicy(backoff=0.001, max_backoff=0.002, max_retry_after=0.01)

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]

#: ``(event loop, transport)`` pairs for tests that run on every one: asyncio over
#: httpx's own transport and over ``AiohttpTransport``, and trio over httpx's.
LOOPS_AND_TRANSPORTS = [
    pytest.param(("asyncio", "httpx"), id="asyncio"),
    pytest.param(("asyncio", "aiohttp"), id="asyncio-aiohttp"),
    pytest.param(("trio", "httpx"), id="trio"),
]


def make_job(index: int, *, state: JobState | str = JobState.RUNNING) -> Job:
    """A job whose id and creation time follow ``index``."""
    created = datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=8))) + timedelta(minutes=index)
    return Job(
        job_id=f"j{index:08d}",
        type=JobType.WORKFLOW,
        name=f"job-{index}",
        state=state,
        code="Success",
        creation_time=created,
        input=JobInput(prefix="input/"),
        operation=Operation(workflow_ids=("w1",)),
    )


def xml(status: int, body: bytes, **headers: str) -> httpx.Response:
    """An XML response."""
    return httpx.Response(
        status, content=body, headers={"Content-Type": "application/xml", **headers}
    )


def error(status: int, code: str, **headers: str) -> httpx.Response:
    """A CI ``<Error>`` answer."""
    body = (
        f"<Error><Code>{code}</Code><Message>failed</Message>"
        f"<RequestId>req-{status}</RequestId></Error>"
    ).encode()
    return xml(status, body, **headers)


class CountingSigner:
    """A signer that counts its calls and sets a secret-looking Authorization."""

    def __init__(self) -> None:
        self.calls = 0

    async def sign(self, request: httpx.Request) -> None:
        self.calls += 1
        request.headers["Authorization"] = f"q-sign-algorithm=sha1&q-signature={SECRET}"


class Recorder:
    """A MockTransport handler: records every request, answers with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.handler(request)
        finally:
            self.in_flight -= 1

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def paths(self) -> list[str]:
        return [request.url.raw_path.decode() for request in self.requests]


def connect(emulator: Emulator, server: EmulatorServer | None = None, **kwargs: Any) -> Session:
    """A session to ``emulator`` with fast retries: in process, or through ``server`` if given."""
    options: dict[str, Any] = {"retry": FAST_EMULATOR, **kwargs}
    if server is not None:
        options.update(endpoint=server.url, transport=None)
    return emulator.session(**options)


def session_for(
    recorder: Recorder, *, signer: CountingSigner | None = None, **kwargs: object
) -> Session:
    """A session whose requests go to ``recorder``, with fast retries."""
    options: dict[str, object] = {"retry": FAST, **kwargs}
    return Session(
        BUCKET,
        REGION,
        signer=signer or CountingSigner(),
        transport=recorder.transport(),
        **options,  # type: ignore[arg-type]
    )


class ListService:
    """A fake list endpoint over ``jobs``: ``nextToken`` is ``t<offset>``, default size 10."""

    def __init__(self, count: int) -> None:
        self.jobs = [make_job(index) for index in range(count)]
        #: Called before answering: may raise or return a response to send instead.
        self.fault: Callable[[httpx.Request], Awaitable[httpx.Response | None]] | None = None
        #: Per token, an event set when a request for it arrives.
        self.arrived: dict[str | None, anyio.Event] = {}
        #: Per token, what to call when a request for it arrives.
        self.callbacks: dict[str | None, list[Callable[[], object]]] = {}

    def arrival(self, token: str | None) -> anyio.Event:
        return self.arrived.setdefault(token, anyio.Event())

    def on_arrival(self, token: str | None, callback: Callable[[], object]) -> None:
        """Call ``callback`` once a request for ``token`` has arrived (now, if it has)."""
        if self.arrival(token).is_set():
            callback()
        else:
            self.callbacks.setdefault(token, []).append(callback)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("nextToken")
        self.arrival(token).set()
        for callback in self.callbacks.pop(token, ()):
            callback()
        if self.fault is not None:
            replaced = await self.fault(request)
            if replaced is not None:
                return replaced
        offset = int(token[1:]) if token else 0
        size = int(request.url.params.get("size", "10"))
        page = self.jobs[offset : offset + size]
        end = offset + len(page)
        following = f"t{end}" if end < len(self.jobs) else None
        return xml(200, encode_response(page, request_id=f"r{offset}", next_token=following))
