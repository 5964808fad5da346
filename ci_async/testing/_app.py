"""The emulator's ASGI3 application: routing, the four operations, faults, signatures.

Routes (everything else: 404 ``NotFound`` / 405 ``MethodNotAllowed``):

* ``GET /inventorytriggerjob/<id>[,<id>...]`` — describe; unknown ids are listed
  in ``NonExistJobIds`` (one element per id) with a 200.
* ``GET /inventorytriggerjob`` — list with ``type``, ``states``, ``orderByTime``,
  ``startCreationTime``, ``endCreationTime``, ``workflowId``, ``jobId``,
  ``name``, ``size``, ``nextToken`` (parameter names are matched without regard
  to case; empty values count as absent). Bad values: 400 ``InvalidArgument``,
  as is a ``nextToken`` issued for another order or other filters. Both
  creation-time bounds are inclusive, or both exclusive (``time_bounds``).
* ``POST /inventorytriggerjob`` — create from a ``<Request>`` body; the answer
  carries the new job's ``JobsDetail``.
* ``PUT /inventorytriggerjob/<id>?cancel`` — cancel: 200 for a job that is
  submitted, running, paused or already cancelled; 400 ``ResourceNotFound``
  for an unknown id; 400 ``InvalidArgument`` for a job that already finished.

A request is first recorded, then delayed (the emulator's ``latency`` plus any
latency or delay fault, as a real asynchronous sleep), then faults are applied, then the bucket and
region in the ``Host`` header are checked (404 ``NoSuchBucket`` when a
``{bucket}.ci.{region}.myqcloud.com`` host — or ``.cos.``/``.pic.`` — names
another bucket or another region; any other host, such as ``127.0.0.1:8321``,
is served), then the signature, then the operation runs.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
import re
import threading
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

import anyio
import attrs

from .._signing import Credentials
from ._auth import verify_request
from ._faults import DropConnection, Fault, FaultPlan, ResetConnection
from ._parse import ApiError, invalid, parse_create_body, parse_list_query
from ._records import RecordedRequest
from ._render import (
    FragmentCache,
    render_cancel,
    render_describe,
    render_error,
    render_html_error,
    render_list,
    render_single,
)
from ._seed import new_id, schedule
from ._store import TERMINAL_STATES, JobStore, StoredJob
from ._store import encode_token as _encode_token

__all__ = ["EmulatorApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_PREFIX = "/inventorytriggerjob"
_MAX_BODY = 1 << 20
_MAX_DESCRIBE_IDS = 100
_MAX_CACHED_PAGES = 1024  # up to ~100 MB of 100-job pages
#: ``{bucket}.{ci|cos|pic}.`` and, when the rest is ``{region}.myqcloud.com[:port]``, the region.
_BUCKET_HOST_RE = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9-]*-\d+)\.(?:ci|cos|pic)\."
    r"(?:(?P<region>[a-z0-9-]+)\.myqcloud\.com(?::\d*)?$)?"
)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}


class _DateHeader:
    """The ``Date`` header for the emulator's clock, formatted once per second."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._second = -1
        self._value = ""

    def date(self) -> str:
        now = int(self._clock())
        if now != self._second:
            self._value = formatdate(now, usegmt=True)
            self._second = now
        return self._value


class EmulatorApp:
    """The ASGI3 callable behind :class:`~ci_async.testing.Emulator` (see the module docstring).

    All state is shared with the emulator object that made it; the app itself
    only routes and renders.
    """

    def __init__(
        self,
        *,
        store: JobStore,
        faults: FaultPlan,
        clock: Callable[[], float],
        credentials: Credentials,
        verify_signatures: bool,
        require_signed_host: bool,
        bucket: str,
        region: str,
        seed: int,
        timeline: str,
        speed: float,
        exclusive_bounds: bool,
        latency: float,
        empty_last_token: bool,
        prerender: bool,
        record_requests: bool,
    ) -> None:
        self.store = store
        self.faults = faults
        self.clock = clock
        self.credentials = credentials
        self.verify_signatures = verify_signatures
        self.require_signed_host = require_signed_host
        self.bucket = bucket
        self.region = region
        self.seed = seed
        self.timeline = timeline
        self.speed = speed
        self.exclusive_bounds = exclusive_bounds
        self.latency = latency
        self.empty_last_token = empty_last_token
        self.prerender = prerender
        self.record_requests = record_requests
        self.requests: list[RecordedRequest] = []
        self.fragments = FragmentCache()
        self._pages: dict[tuple[tuple[tuple[str, str], ...], tuple[int, int]], bytes] = {}
        self._counter = itertools.count(1)
        self._node = zlib.crc32(f"ci-emulator/{seed}".encode())
        self._rng = random.Random(f"ci-emulator/{seed}")
        self._rng_lock = threading.Lock()
        self._dates = _DateHeader(clock)
        self.default_queue_id = new_id("p", random.Random(f"queue/{seed}"), 1_600_000_000)

    # --- ids -------------------------------------------------------------------------

    def request_id(self) -> str:
        """A fresh request id shaped like the service's (base64 of hex fields)."""
        counter = next(self._counter)
        raw = f"{int(self.clock()):08x}_{self._node:08x}_{counter >> 8:04x}_{counter & 0xFF:x}"
        return base64.b64encode(raw.encode()).decode("ascii")

    def new_job_id(self, timestamp: float) -> str:
        """A fresh job id for a job created at ``timestamp``."""
        with self._rng_lock:
            while True:
                job_id = new_id("b", self._rng, timestamp)
                if job_id not in self.store:
                    return job_id

    @staticmethod
    def _trace_id(request_id: str) -> str:
        digest = hashlib.sha256(request_id.encode()).hexdigest()
        return base64.b64encode(digest.encode()).decode("ascii")

    # --- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope (``http``; ``lifespan`` is acknowledged)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":  # pragma: no cover - websockets are not served
            return
        request = await self._receive_request(scope, receive)
        fault = self.faults.take(request)
        if fault is not None:
            request = attrs.evolve(request, fault=fault.kind)
        if self.record_requests:
            self.requests.append(request)
        delay = self.latency + self.faults.latency_for(request)
        if fault is not None and fault.kind == "delay":
            delay += fault.seconds
        if delay > 0:
            await anyio.sleep(delay)
        request_id = self.request_id()
        if fault is not None and await self._early_fault(fault, request_id, receive, send):
            return
        try:
            status, body = self._handle(request, request_id, fault)
        except ApiError as answer:
            status = answer.status
            body = render_error(answer.code, answer.message, request_id, self._trace_id(request_id))
        await self._respond(status, body, request_id, fault, send)

    async def _receive_request(self, scope: Scope, receive: Receive) -> RecordedRequest:
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise DropConnection
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > _MAX_BODY:
                raise DropConnection
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        query = scope.get("query_string", b"")
        pairs = (
            tuple(parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="replace"))
            if query
            else ()
        )
        headers = tuple(
            (name.decode("latin-1"), _header_text(value)) for name, value in scope["headers"]
        )
        return RecordedRequest(
            method=scope["method"].upper(),
            path=scope["path"],
            query=pairs,
            headers=headers,
            body=b"".join(chunks),
            time=self.clock(),
        )

    def _base_headers(
        self, request_id: str, content_type: bytes, length: int
    ) -> list[tuple[bytes, bytes]]:
        return [
            (b"content-type", content_type),
            (b"content-length", str(length).encode()),
            (b"date", self._dates.date().encode()),
            (b"server", b"tencent-ci"),
            (b"x-ci-request-id", request_id.encode()),
        ]

    async def _early_fault(
        self, fault: Fault, request_id: str, receive: Receive, send: Send
    ) -> bool:
        """Apply faults that replace the answer entirely; True when the request is done."""
        kind = fault.kind
        if kind == "drop":
            raise DropConnection
        if kind == "hang":
            while (await receive())["type"] != "http.disconnect":
                pass
            return True
        if kind == "status":
            assert fault.status is not None
            assert fault.code is not None
            body = render_error(
                fault.code, fault.message or "", request_id, self._trace_id(request_id)
            )
            headers = self._base_headers(request_id, b"application/xml", len(body))
            if fault.retry_after is not None:
                headers.append((b"retry-after", fault.retry_after.encode()))
            await _send_all(send, fault.status, headers, body)
            return True
        if kind == "html":
            status = fault.status or 502
            body = render_html_error(status, _REASONS.get(status, "Error"))
            headers = [
                (b"content-type", b"text/html"),
                (b"content-length", str(len(body)).encode()),
                (b"date", self._dates.date().encode()),
                (b"server", b"stgw"),
            ]
            await _send_all(send, status, headers, body)
            return True
        if kind == "empty":
            headers = self._base_headers(request_id, b"application/xml", 0)
            await _send_all(send, 200, headers, b"")
            return True
        return False

    async def _respond(
        self, status: int, body: bytes, request_id: str, fault: Fault | None, send: Send
    ) -> None:
        kind = None if fault is None else fault.kind
        if kind == "truncate":
            body = body[: max(1, len(body) // 2)]
        elif kind == "malformed":
            body = body.replace(b"</RequestId>", b"</RequestID>", 1)
            if b"</RequestID>" not in body:
                body = b"<Response><Unclosed>" + body
        elif kind == "wrong_root":
            body = b"<Result>" + body + b"</Result>"
        headers = self._base_headers(request_id, b"application/xml", len(body))
        if kind == "reset":
            assert fault is not None
            cut = len(body) // 2 if fault.after_bytes is None else min(fault.after_bytes, len(body))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
            raise ResetConnection
        if kind == "trickle":
            assert fault is not None
            await send({"type": "http.response.start", "status": status, "headers": headers})
            step = fault.chunk_size
            for offset in range(0, len(body), step):
                await send(
                    {
                        "type": "http.response.body",
                        "body": body[offset : offset + step],
                        "more_body": True,
                    }
                )
                await anyio.sleep(fault.interval)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await _send_all(send, status, headers, body)

    # --- routing ---------------------------------------------------------------------

    def _handle(
        self, request: RecordedRequest, request_id: str, fault: Fault | None
    ) -> tuple[int, bytes]:
        path = request.path
        if path != _PREFIX and not path.startswith(_PREFIX + "/"):
            raise ApiError(404, "NotFound", f"no such API: {path}")
        self._check_bucket(request)
        if self.verify_signatures:
            failure = verify_request(
                request,
                self.credentials,
                self.clock(),
                require_signed_host=self.require_signed_host,
            )
            if failure is not None:
                raise ApiError(failure.status, failure.code, failure.message)
        method = request.method
        if path == _PREFIX:
            if method == "GET":
                repeat = fault is not None and fault.kind == "repeat_token"
                return 200, self._list(request, request_id, repeat_token=repeat)
            if method == "POST":
                return 200, self._create(request, request_id)
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")
        ids = path[len(_PREFIX) + 1 :]
        if method == "GET":
            return 200, self._describe(ids, request_id)
        if method == "PUT":
            if "cancel" not in request.params:
                raise invalid("PUT on a job needs the 'cancel' parameter")
            return 200, self._cancel(ids, request_id)
        raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")

    def _check_bucket(self, request: RecordedRequest) -> None:
        host = (request.header("host") or "").lower()
        match = _BUCKET_HOST_RE.match(host)
        if match is None:
            return
        region = match["region"]
        if match["bucket"] != self.bucket or (region is not None and region != self.region):
            # The service's answer: another region's endpoint does not hold the bucket.
            raise ApiError(404, "NoSuchBucket", "The specified bucket does not exist.")

    # --- operations ------------------------------------------------------------------

    def _describe(self, ids: str, request_id: str) -> bytes:
        wanted = list(dict.fromkeys(ids.split(",")))
        if not all(wanted) or len(wanted) > _MAX_DESCRIBE_IDS:
            raise invalid(f"give 1 to {_MAX_DESCRIBE_IDS} non-empty, comma-separated job ids")
        now = self.clock()
        fragments, missing = [], []
        for job_id in wanted:
            job = self.store.get(job_id)
            if job is None:
                missing.append(job_id)
            else:
                fragments.append(self.fragments.get(job, now))
        return render_describe(request_id, fragments, missing)

    def _list(self, request: RecordedRequest, request_id: str, *, repeat_token: bool) -> bytes:
        now = self.clock()
        cache_key = None
        if self.prerender and not repeat_token:
            cache_key = (request.query, self.store.epoch(now))
            cached = self._pages.get(cache_key)
            if cached is not None:
                return cached
        params = {name.lower(): value for name, value in request.query}
        query = parse_list_query(params, exclusive_bounds=self.exclusive_bounds)
        jobs, last = self.store.page(query, now)
        token = (
            None
            if last is None
            else _encode_token(last, ascending=query.ascending, filters=query.filters_key)
        )
        if repeat_token:
            token = params.get("nexttoken") or token
        body = render_list(
            request_id,
            self.fragments.many(jobs, now),
            token,
            empty_last_token=self.empty_last_token,
        )
        if cache_key is not None:
            if len(self._pages) >= _MAX_CACHED_PAGES:
                self._pages.clear()
            self._pages[cache_key] = body
        return body

    def _cancel(self, job_id: str, request_id: str) -> bytes:
        now = self.clock()
        with self.store.lock:
            job = self.store.get(job_id)
            if job is None:
                raise ApiError(400, "ResourceNotFound", f"the job {job_id} does not exist")
            state = job.state_at(now)
            if state in TERMINAL_STATES and state != "Cancel":
                raise invalid(f"the job {job_id} is {state} and can no longer be canceled")
            if state != "Cancel":
                self.store.replace(job.pinned("Cancel", now))
        return render_cancel(request_id)

    def _create(self, request: RecordedRequest, request_id: str) -> bytes:
        fields = parse_create_body(request.body)
        moment = self.clock()
        now = float(int(moment))
        job_id = self.new_job_id(now)
        if fields["type"] == "Job" and fields.get("queue_id") is None:
            fields["queue_id"] = self.default_queue_id
        future = schedule(
            self.seed, job_id, now, kind=self.timeline, speed=self.speed, origin=moment
        )
        job = StoredJob(job_id=job_id, creation_time=now, **future, **fields)
        self.store.add(job)
        return render_single(request_id, self.fragments.get(job, moment))


def _header_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


async def _send_all(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
