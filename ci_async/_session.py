"""Session: the endpoint, the pooled HTTP client, and the one send loop every call goes through.

Flow of a call: validate the arguments → build the request → sign it (on every
attempt) → send it with the session's timeout → classify the outcome (2xx:
parse; error status: :func:`~ci_async._decode.error_from_response`; transport
failure) → retry what :mod:`ci_async._retry` deems retryable, within the
optional deadline → decode into records.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType

import anyio
import attrs
import httpx

from . import _validate
from ._decode import (
    decode_describe,
    decode_job_response,
    decode_list,
    encode_create_request,
    error_from_response,
)
from ._errors import (
    JobNotFoundError,
    ResponseParseError,
    ServiceError,
    SessionClosedError,
    TransportError,
    WaitTimeoutError,
)
from ._models import (
    Job,
    JobInput,
    JobLookup,
    JobPage,
    JobParam,
    JobState,
    JobType,
    Operation,
    Output,
    TimeInterval,
)
from ._pagination import JobIterator, current_loop
from ._retry import RetryPolicy, retryable_exception, retryable_status
from ._signing import CosSigner, Credentials, CredentialsProvider, Signer
from ._version import version

__all__ = ["Session"]

logger = logging.getLogger("ci_async")
_httpx_logger = logging.getLogger("httpx")

_JOBS_PATH = "/inventorytriggerjob"
_DEFAULT_RETRY = RetryPolicy()
#: The longest pause between two polls of :meth:`Session.wait_for_job` (unless
#: ``poll_interval`` itself is longer).
MAX_POLL_INTERVAL = 30.0
_REQUEST_ID_HEADER = "x-ci-request-id"
#: The default cap on a response body (see ``Session(max_response_bytes=...)``): a
#: full page of 100 jobs is about 150 KB, so this is 50 times what the service sends.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
#: The most of an error answer's body read: an ``<Error>`` document is well under 1 KB.
_MAX_ERROR_BODY = 64 * 1024
#: The most requests in flight at once over httpx's own transport, when the
#: session chose it (trio, or asyncio without aiohttp); see docs/performance.md.
_NATIVE_IN_FLIGHT = 8


def _aiohttp_transport(max_connections: int) -> httpx.AsyncBaseTransport | None:
    """An :class:`~ci_async._transport.AiohttpTransport` when usable here, else ``None``."""
    if current_loop()[0] != "asyncio":
        return None
    try:
        from ._transport import AIOHTTP_AVAILABLE, AiohttpTransport
    except ImportError:  # pragma: no cover - the module ships with the package
        return None
    if not AIOHTTP_AVAILABLE:
        return None
    return AiohttpTransport(max_connections=max_connections)


def _as_timeout(value: object) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if value is None:
        return httpx.Timeout(None)
    return httpx.Timeout(_validate.seconds(value, "timeout"))


def _user_agent() -> str:
    return f"ci-async/{version()}"


async def _abandon(response: httpx.Response, body: AsyncIterator[bytes]) -> None:
    """Stop reading a response body part way: close the connection, then finish ``body``.

    Closing first makes the next read fail at once (or end); stepping ``body``
    until then lets httpx's chain of async generators finish, which trio would
    otherwise report as garbage collected unexhausted (encode/httpx#3686).
    """
    await response.aclose()
    with contextlib.suppress(Exception):  # the read error we caused, or the end
        for _ in range(1024):  # what was buffered before the close, at most
            await body.__anext__()


class Session:
    """An asynchronous client for one bucket's CI batch jobs.

    Arguments are validated at once (:class:`ValueError` / :class:`TypeError`).
    No connection is made until the first call; the HTTP client is created
    then, on the running event loop, and the session belongs to that loop
    from then on (using it from another loop raises :class:`RuntimeError`).

    One pooled :class:`httpx.AsyncClient` carries every call; the session is
    safe to share between many concurrent tasks. Under asyncio, when aiohttp
    is installed, requests travel over :class:`~ci_async._transport.AiohttpTransport`
    (faster with many requests in flight); under trio, or without aiohttp,
    over httpx's own transport, at most 8 requests at a time (its pool slows
    down sharply with more; see docs/performance.md). Pass ``transport=`` to
    choose. Requests carry ``User-Agent: ci-async/<version>``.

    Args:
        bucket: ``BucketName-APPID``, e.g. ``"examplebucket-1250000000"``.
        region: e.g. ``"ap-beijing"``.
        credentials: :class:`~ci_async.Credentials`, an async provider of them,
            or ``None`` to read them from the environment (ignored when
            ``signer`` is given; passing both is an error).
        signer: Any object with ``async sign(request)``; by default a
            :class:`~ci_async.CosSigner` over ``credentials``. Called on every
            attempt.
        endpoint: Base URL override (e.g. an emulator's
            ``"http://127.0.0.1:8321"``); by default
            ``https://{bucket}.ci.{region}.myqcloud.com``. Plain ``http://``
            is accepted for loopback hosts only, unless ``allow_insecure_http``.
        timeout: Per-request timeout in seconds, or an :class:`httpx.Timeout`
            (applied to every request, also with ``http_client``).
        retry: The :class:`~ci_async.RetryPolicy`, or ``None`` for exactly one
            request per call.
        http_client: Use this client as is; the session never closes it.
        transport: The transport of the session's own client, e.g. an
            emulator's in-process transport. The session closes it.
        max_connections: Size of the connection pool of the session's own client.
        allow_insecure_http: Accept a plain ``http://`` endpoint on any host.
        max_response_bytes: The largest response body read (after any
            ``Content-Encoding`` is undone), or ``None`` for no limit. A larger
            successful answer raises :class:`~ci_async.ResponseParseError`
            (not retried) instead of being decoded; a larger error answer is
            cut there (its start says all there is to say).

    Raises:
        ValueError: A bad bucket, region, endpoint or number; both ``signer``
            and ``credentials``; both ``http_client`` and ``transport``.
        TypeError: An argument of the wrong type.
        CredentialsError: No ``signer``, no ``credentials`` and none in the environment.
    """

    def __init__(
        self,
        bucket: str,
        region: str,
        *,
        credentials: Credentials | CredentialsProvider | None = None,
        signer: Signer | None = None,
        endpoint: str | None = None,
        timeout: float | httpx.Timeout | None = 10.0,
        retry: RetryPolicy | None = _DEFAULT_RETRY,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 64,
        allow_insecure_http: bool = False,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._bucket = _validate.bucket(bucket)
        self._region = _validate.region(region)
        if endpoint is None:
            self._endpoint = f"https://{self._bucket}.ci.{self._region}.myqcloud.com"
        else:
            self._endpoint = _validate.endpoint(endpoint, allow_insecure_http=allow_insecure_http)
        self._timeout = _as_timeout(timeout)
        _validate.instance(retry, RetryPolicy, "retry", optional=True)
        _validate.instance(http_client, httpx.AsyncClient, "http_client", optional=True)
        _validate.instance(transport, httpx.AsyncBaseTransport, "transport", optional=True)
        self._retry = retry
        if http_client is not None and transport is not None:
            msg = "pass either http_client or transport, not both"
            raise ValueError(msg)
        self._max_connections = _validate.positive_int(
            max_connections, "max_connections", minimum=1
        )
        self._max_response_bytes = (
            None
            if max_response_bytes is None
            else _validate.positive_int(max_response_bytes, "max_response_bytes", minimum=1)
        )
        if signer is not None:
            if credentials is not None:
                msg = "pass either signer or credentials, not both (the signer holds the keys)"
                raise ValueError(msg)
            _validate.instance(signer, Signer, "signer")
            self._signer: Signer = signer
        else:
            self._signer = CosSigner(credentials)
        self._http_client = http_client
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._slots: anyio.Semaphore | None = None
        # The transport the session's own client would send through, when that is
        # all its ``send`` would do (see _new_client); None: use ``client.send``.
        self._direct: httpx.AsyncBaseTransport | None = None
        self._base_headers: httpx.Headers | None = None
        self._loop: object | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return (
            f"<Session bucket={self._bucket!r} region={self._region!r} "
            f"endpoint={self._endpoint!r}{state}>"
        )

    @property
    def bucket(self) -> str:
        """The bucket, ``BucketName-APPID``."""
        return self._bucket

    @property
    def region(self) -> str:
        """The region, e.g. ``ap-beijing``."""
        return self._region

    @property
    def endpoint(self) -> str:
        """The base URL requests go to (no trailing ``/``)."""
        return self._endpoint

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called."""
        return self._closed

    # --- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> Session:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session's HTTP client (not a ``http_client`` passed in). Idempotent.

        Calls made afterwards, and iterators still running, raise
        :class:`~ci_async.SessionClosedError`.
        """
        if self._closed:
            return
        self._closed = True
        client, self._client = self._client, None
        if self._http_client is not None:
            return
        if client is not None:
            await client.aclose()
        elif self._transport is not None:
            await self._transport.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosedError

    def _get_client(self) -> httpx.AsyncClient:
        """The pooled client, created on first use, on this (and only this) event loop."""
        self._check_open()
        loop = current_loop()[1]
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            msg = (
                "this Session was first used in another event loop and cannot be used "
                "from this one; create one Session per event loop"
            )
            raise RuntimeError(msg)
        if self._client is None:
            self._client = self._http_client or self._new_client()
        return self._client

    def _new_client(self) -> httpx.AsyncClient:
        transport = self._transport or _aiohttp_transport(self._max_connections)
        limit: int | None = self._max_connections
        if transport is None:
            # httpx's own pool loses a slot for good when a request is cancelled just
            # after it was handed a new connection (encode/httpcore#1093): once
            # max_connections are lost every request ends in PoolTimeout. So its pool
            # is left unbounded (it then never queues) and the session bounds the
            # requests in flight with a semaphore, which cancellation cannot corrupt.
            # The bound is also low: httpcore's pool costs CPU per request that grows
            # with the requests inside it, so 8 at a time beat 64 several times over
            # (docs/performance.md). Pass transport= to choose another pool.
            self._slots = anyio.Semaphore(min(self._max_connections, _NATIVE_IN_FLIGHT))
            limit = None
        limits = httpx.Limits(
            max_connections=limit, max_keepalive_connections=self._max_connections
        )
        client = httpx.AsyncClient(
            transport=transport,
            limits=limits,
            timeout=self._timeout,
            follow_redirects=False,
            headers={"User-Agent": _user_agent()},
        )
        # The client has no auth, hooks, cookies to send or redirects to follow, so
        # its send() would only hand the request to this transport (and extract
        # cookies, a third of its cost): the session does that itself. Unless an
        # environment proxy (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY: httpx honours them
        # for its own transport) applies to the endpoint: then send() picks it.
        base = client._transport
        if client._transport_for_url(httpx.URL(self._endpoint)) is base:
            self._direct = base
            self._base_headers = client.headers
        return client

    # --- the send loop -----------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        query: str | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        deadline_at: float | None = None,
    ) -> httpx.Response:
        """Send one call, retrying as the policy allows; return a 2xx response, body read.

        Args:
            method: HTTP method.
            path: Path below the endpoint, starting with ``/``.
            params: Query parameters.
            query: A raw query string (e.g. ``"cancel"``), instead of ``params``.
            content: Request body.
            headers: Extra request headers.
            idempotent: Whether the request may be re-sent after it possibly
                reached the server (False: only after connect failures).
            deadline_at: Absolute :func:`anyio.current_time` by which every
                attempt and pause must be done.

        Raises:
            ServiceError: The service's error answer (its subclass), after retries.
            TransportError: Transport failures after retries, or the deadline passed.
            SessionClosedError: The session was closed.
        """
        client = self._get_client()
        url = self._endpoint + path + (f"?{query}" if query else "")
        attempts = 1 if self._retry is None else self._retry.max_attempts
        deadline = float("inf") if deadline_at is None else deadline_at
        attempt = 0
        last: BaseException | None = None
        base_headers = self._base_headers
        if base_headers is not None:
            # What client.build_request() builds, parsing the URL once, not twice a request.
            target = httpx.URL(url, params=list(params)) if params else httpx.URL(url)
            if headers:
                base_headers = base_headers.copy()
                base_headers.update(headers)
            timeout = self._timeout.as_dict()
        while True:
            attempt += 1
            if base_headers is not None:
                request = httpx.Request(
                    method,
                    target,
                    content=content,
                    headers=base_headers,
                    extensions={"timeout": timeout},
                )
            else:
                request = client.build_request(
                    method,
                    url,
                    params=list(params) if params else None,
                    content=content,
                    headers=headers,
                    timeout=self._timeout,
                )
            failure: BaseException
            response: httpx.Response | None = None
            with anyio.CancelScope(deadline=deadline) as scope:
                try:
                    await self._signer.sign(request)
                    slots = self._slots
                    if slots is not None:
                        await self._acquire(slots, request)
                    try:
                        response = await self._receive(client, request)
                    finally:
                        if slots is not None:
                            slots.release()
                except (httpx.HTTPError, OSError) as exc:
                    if self._closed:
                        raise SessionClosedError from exc
                    if not retryable_exception(exc, idempotent=idempotent) or attempt >= attempts:
                        raise self._transport_error(request, exc, attempt) from exc
                    failure = exc
                except RuntimeError as exc:
                    if self._closed:  # httpx: "the client has been closed"
                        raise SessionClosedError from exc
                    raise
            if scope.cancelled_caught:
                raise self._deadline_error(request, attempt, last) from last
            retry_after: float | None = None
            if response is not None:
                if response.is_success:
                    return response
                failure = self._service_error(request, response)
                if not retryable_status(response.status_code, idempotent=idempotent):
                    raise failure
                if attempt >= attempts:
                    raise failure
                retry_after = failure.retry_after
            assert self._retry is not None  # attempts > 1
            delay = self._retry.delay(attempt, retry_after)
            if anyio.current_time() + delay >= deadline:
                raise self._deadline_error(request, attempt, failure) from failure
            self._log_retry(request, attempt, attempts, delay, failure)
            last = failure
            await anyio.sleep(delay)
            self._check_open()

    async def _acquire(self, slots: anyio.Semaphore, request: httpx.Request) -> None:
        """Wait for a free connection slot, at most the ``pool`` timeout."""
        pool = self._timeout.pool
        if pool is None:
            await slots.acquire()
            return
        try:
            with anyio.fail_after(pool):
                await slots.acquire()
        except TimeoutError:
            msg = f"no connection free within the pool timeout ({pool}s)"
            raise httpx.PoolTimeout(msg, request=request) from None

    async def _receive(self, client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read its body, at most ``max_response_bytes`` of it.

        Raises:
            ResponseParseError: A 2xx body larger than the cap (the connection
                is closed rather than drained). An error body is cut at 64 KB.
        """
        direct = self._direct
        if direct is None:
            response = await client.send(request, stream=True)
        else:
            # What client.send() does for the session's own client, minus cookies.
            self._check_open()
            try:
                response = await direct.handle_async_request(request)
            except httpx.RequestError as exc:
                exc.request = request
                raise
            response.request = request
            # The line httpx logs for every response (the CLI's -v shows it).
            _httpx_logger.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        try:
            limit = self._max_response_bytes
            if limit is None:
                await response.aread()
                return response
            if not response.is_success:
                limit = min(limit, _MAX_ERROR_BODY)
            declared = response.headers.get("content-length", "")
            if response.is_success and declared.isdigit() and int(declared) > limit:
                raise self._too_large(response, limit, b"")
            chunks: list[bytes] = []
            size = 0
            body = response.aiter_bytes()
            async for chunk in body:
                if size + len(chunk) > limit:
                    await _abandon(response, body)
                    if response.is_success:
                        raise self._too_large(response, limit, b"".join(chunks) or chunk)
                    chunks.append(chunk[: limit - size])
                    break
                size += len(chunk)
                chunks.append(chunk)
            # What Response.aread() does, minus the unbounded read (httpx has no public setter).
            response._content = b"".join(chunks)
            return response
        finally:
            await response.aclose()

    @staticmethod
    def _too_large(response: httpx.Response, limit: int, start: bytes) -> ResponseParseError:
        msg = (
            f"the answer is larger than max_response_bytes ({limit} bytes); "
            "pass a larger max_response_bytes (or None) to Session to accept it"
        )
        return ResponseParseError(
            msg,
            snippet=start,
            status_code=response.status_code,
            request_id=response.headers.get(_REQUEST_ID_HEADER),
        )

    @staticmethod
    def _service_error(request: httpx.Request, response: httpx.Response) -> ServiceError:
        return error_from_response(
            response.status_code,
            response.content,
            response.headers,
            method=request.method,
            url=str(request.url),
        )

    @staticmethod
    def _transport_error(
        request: httpx.Request, exc: BaseException, attempt: int
    ) -> TransportError:
        detail = str(exc) or type(exc).__name__
        return TransportError(
            f"{type(exc).__name__}: {detail} (after {attempt} attempt{'s' * (attempt > 1)})",
            method=request.method,
            url=str(request.url),
        )

    @staticmethod
    def _deadline_error(
        request: httpx.Request, attempt: int, failure: BaseException | None
    ) -> TransportError:
        text = f"deadline exceeded after {attempt} attempt{'s' * (attempt > 1)}"
        if failure is not None:
            text += f"; last failure: {type(failure).__name__}"
        return TransportError(text, method=request.method, url=str(request.url))

    @staticmethod
    def _log_retry(
        request: httpx.Request, attempt: int, attempts: int, delay: float, failure: BaseException
    ) -> None:
        if isinstance(failure, ServiceError):
            reason = f"{failure.status_code} {failure.code or ''}".rstrip()
            request_id = failure.request_id
        else:
            reason = type(failure).__name__
            request_id = None
        logger.warning(
            "retrying %s %s in %.3fs: attempt %d of %d failed with %s [request_id=%s]",
            request.method,
            request.url.path,
            delay,
            attempt,
            attempts,
            reason,
            request_id,
            extra={
                "ci_method": request.method,
                "ci_path": request.url.path,
                "ci_attempt": attempt,
                "ci_delay": delay,
                "ci_reason": reason,
                "ci_request_id": request_id,
            },
        )

    # --- describe ----------------------------------------------------------------------

    async def get_job(self, job_id: str) -> Job:
        """Describe one job: ``GET /inventorytriggerjob/<job_id>``.

        Args:
            job_id: The job's id.

        Returns:
            The job.

        Raises:
            ValueError: ``job_id`` is empty or contains ``/ ? # %``, whitespace,
                control characters, ``,`` or ``..`` (no request is made).
            TypeError: ``job_id`` is not a str.
            JobNotFoundError: The service lists it in ``NonExistJobIds``,
                returns no ``JobsDetail``, or answers ``ResourceNotFound``/404.
            ServiceError: Any other error answer.
            TransportError: The service could not be reached (after retries).
            ResponseParseError: The answer was not the expected XML.
        """
        return await self._describe(_validate.job_id(job_id))

    async def _describe(self, job_id: str) -> Job:
        response = await self._send("GET", f"{_JOBS_PATH}/{job_id}")
        jobs, missing, request_id = decode_describe(response.content)
        request_id = request_id or response.headers.get(_REQUEST_ID_HEADER)
        if job_id in missing or not jobs:
            raise JobNotFoundError(
                job_id=job_id,
                status_code=response.status_code,
                message="the service reports no such job",
                request_id=request_id,
                method="GET",
                url=str(response.request.url),
            )
        for job in jobs:
            if job.job_id == job_id:
                return job
        msg = f"asked for job {job_id!r}, the service described other jobs"
        raise ResponseParseError(
            msg, snippet=response.content, status_code=response.status_code, request_id=request_id
        )

    async def get_jobs(self, job_ids: Iterable[str], *, concurrency: int = 16) -> JobLookup:
        """Describe many jobs concurrently, one request per distinct id.

        Every id is validated before any request. An id given several times is
        looked up once and reported once, where it first appears. Ids that do
        not exist are reported in ``missing``; any other failure cancels the
        outstanding requests and is raised.

        Args:
            job_ids: The ids, in the order wanted.
            concurrency: Most requests in flight at once (>= 1).

        Returns:
            The jobs found, in the order asked, and the ids not found, in the
            order asked. ``len(jobs) + len(missing)`` is the number of distinct ids.

        Raises:
            ValueError: An invalid id, or ``concurrency`` < 1 (no request is made).
            TypeError: ``job_ids`` is a str or not iterable, or an id is not a str.
            ServiceError: An error answer other than "not found".
            TransportError: The service could not be reached (after retries).
        """
        ids = tuple(dict.fromkeys(_validate.job_ids(job_ids)))
        limit = _validate.positive_int(concurrency, "concurrency", minimum=1)
        self._check_open()
        results: list[Job | None] = [None] * len(ids)
        failures: list[BaseException] = []
        next_index = iter(range(len(ids)))

        async def lookup(job_id: str) -> Job | None:
            try:
                return await self._describe(job_id)
            except JobNotFoundError:
                return None

        async def worker(scope: anyio.CancelScope) -> None:
            # Failures are kept and re-raised as they are (no exception group).
            try:
                for index in next_index:
                    results[index] = await lookup(ids[index])
            except Exception as exc:
                failures.append(exc)
                scope.cancel()

        async with anyio.create_task_group() as group:
            for _ in range(min(limit, len(ids))):
                group.start_soon(worker, group.cancel_scope)
        if failures:
            raise failures[0]
        found = tuple(job for job in results if job is not None)
        missing = tuple(job_id for job_id, job in zip(ids, results, strict=True) if job is None)
        return JobLookup(found, missing)

    # --- list --------------------------------------------------------------------------

    def list_jobs(
        self,
        *,
        type: JobType | str | None = None,
        states: JobState | str | Iterable[JobState | str] | None = None,
        order: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        workflow_id: str | None = None,
        job_id: str | None = None,
        name: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        next_token: str | None = None,
        prefetch: bool = True,
        deadline: float | None = None,
    ) -> JobIterator:
        """List jobs: ``GET /inventorytriggerjob``, following ``NextToken``.

        Returns at once; every argument is validated now, and the first request
        is made when the iterator is first advanced. See
        :class:`~ci_async.JobIterator` for ``limit``, ``prefetch``, ``deadline``
        and resuming with ``next_token``.

        Args:
            type: :class:`~ci_async.JobType` or ``"Workflow"`` / ``"Job"``.
            states: One or several :class:`~ci_async.JobState` (or wire strings,
                or ``"All"``); sent comma-joined.
            order: ``"desc"`` (newest first, the service's default) or ``"asc"``.
            created_after: Aware datetime: jobs created at or after it.
            created_before: Aware datetime: jobs created at or before it.
            workflow_id: Only jobs of this workflow.
            job_id: Only this job.
            name: Only jobs with this name.
            page_size: Jobs per request, 1 to 100 (the service defaults to 10).
            limit: Yield at most this many jobs (>= 0).
            next_token: Resume from this token (a previous iterator's ``next_token``).
            prefetch: Fetch the next page while the current one is consumed.
            deadline: Seconds, from the first step, for the whole iteration.

        Returns:
            A :class:`~ci_async.JobIterator`.

        Raises:
            ValueError: A bad filter value.
            TypeError: A filter of the wrong type.
            SessionClosedError: The session is closed.
        """
        params = _validate.list_params(
            type=type,
            states=states,
            order=order,
            created_after=created_after,
            created_before=created_before,
            workflow_id=workflow_id,
            job_id=job_id,
            name=name,
        )
        size = (
            None
            if page_size is None
            else _validate.positive_int(
                page_size, "page_size", minimum=1, maximum=_validate.MAX_PAGE_SIZE
            )
        )
        count = None if limit is None else _validate.positive_int(limit, "limit", minimum=0)
        token = None if next_token is None else _validate.token(next_token)
        seconds = None if deadline is None else _validate.seconds(deadline, "deadline")
        _validate.instance(prefetch, bool, "prefetch")
        self._check_open()
        return JobIterator(
            functools.partial(self._fetch_page, params),
            check_open=self._check_open,
            page_size=size,
            limit=count,
            next_token=token,
            prefetch=prefetch,
            deadline=seconds,
        )

    async def _fetch_page(
        self,
        params: tuple[tuple[str, str], ...],
        token: str | None,
        size: int | None,
        deadline_at: float | None,
    ) -> JobPage:
        query = list(params)
        if size is not None:
            query.append(("size", str(size)))
        if token:
            query.append(("nextToken", token))
        response = await self._send("GET", _JOBS_PATH, params=query, deadline_at=deadline_at)
        page = decode_list(response.content)
        if page.request_id is None and _REQUEST_ID_HEADER in response.headers:
            page = attrs.evolve(page, request_id=response.headers[_REQUEST_ID_HEADER])
        return page

    # --- create, cancel, wait ------------------------------------------------------------

    async def create_job(
        self,
        *,
        name: str,
        input: JobInput,
        workflow_ids: Sequence[str] = (),
        tag: str | None = None,
        queue_id: str | None = None,
        template_id: str | None = None,
        output: Output | None = None,
        user_data: str | None = None,
        callback: str | None = None,
        job_level: int | None = None,
        time_interval: TimeInterval | None = None,
    ) -> Job:
        """Create a job: ``POST /inventorytriggerjob``.

        A ``Workflow`` job when ``workflow_ids`` is given; otherwise a ``Job``
        job, described by ``tag``, ``queue_id``, ``template_id``, ``output``,
        ``user_data``, ``callback`` and ``job_level`` (at least one of them).
        The request is retried only when it certainly never reached the
        service (connection refused, connect or pool timeout): a create is
        never sent twice.

        Args:
            name: The job's name, 1 to 128 characters.
            input: What to process: exactly one of prefix, manifest, url_file, object.
            workflow_ids: The workflows to trigger.
            tag: The processing kind of a ``Job`` job.
            queue_id: The queue of a ``Job`` job.
            template_id: The template of a ``Job`` job.
            output: Where a ``Job`` job writes.
            user_data: Free text passed to callbacks.
            callback: Callback URL.
            job_level: Priority, 0 to 2.
            time_interval: Only objects created in this window (aware datetimes).

        Returns:
            The new job, as the service describes it.

        Raises:
            ValueError: A bad value or a bad mix of fields (no request is made).
            TypeError: A value of the wrong type (no request is made).
            ServiceError: The service refused the job.
            TransportError: The service could not be reached, or the answer was lost.
        """
        job_name, job_type, job_input = _validate.create_operation(
            name=name,
            input=input,
            workflow_ids=workflow_ids,
            tag=tag,
            queue_id=queue_id,
            template_id=template_id,
            output=output,
            user_data=user_data,
            callback=callback,
            job_level=job_level,
            time_interval=time_interval,
        )
        operation = Operation(
            time_interval=time_interval,
            workflow_ids=tuple(workflow_ids),
            queue_id=queue_id,
            user_data=user_data,
            callback=callback,
            job_param=None if template_id is None else JobParam(template_id),
            output=output,
            job_level=job_level,
            tag=tag,
        )
        body = encode_create_request(
            name=job_name, type=job_type, input=job_input, operation=operation
        )
        response = await self._send(
            "POST",
            _JOBS_PATH,
            content=body,
            headers={"Content-Type": "application/xml"},
            idempotent=False,
        )
        return decode_job_response(response.content)

    async def cancel_job(self, job_id: str) -> None:
        """Cancel a job: ``PUT /inventorytriggerjob/<job_id>?cancel`` (retried like a GET).

        Args:
            job_id: The job's id.

        Raises:
            ValueError: A bad job id (no request is made).
            TypeError: ``job_id`` is not a str.
            JobNotFoundError: The job does not exist.
            ServiceError: Any other error answer.
            TransportError: The service could not be reached (after retries).
        """
        job_id = _validate.job_id(job_id)
        await self._send("PUT", f"{_JOBS_PATH}/{job_id}", query="cancel")

    async def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the documented API; a cancel scope works too
        poll_interval: float = 2.0,
        on_update: Callable[[Job], object] | None = None,
    ) -> Job:
        """Poll a job until it reaches a terminal state (Success, Failed, Cancel).

        The pause between polls starts at ``poll_interval`` and grows by half
        after each poll, up to 30 seconds (or ``poll_interval``, if longer),
        with ±20% jitter. Cancelling the calling task stops the wait.

        Args:
            job_id: The job's id.
            timeout: Seconds to wait in all, or ``None`` for no limit.
            poll_interval: Seconds before the second poll.
            on_update: Called with the job on the first poll and whenever its
                state changes; may be a coroutine function.

        Returns:
            The job, in a terminal state.

        Raises:
            WaitTimeoutError: ``timeout`` passed first (carries the last job seen).
            JobNotFoundError: The job does not exist.
            ValueError: A bad job id or a non-positive time.
            ServiceError: Any other error answer.
            TransportError: The service could not be reached (after retries).
        """
        job_id = _validate.job_id(job_id)
        limit = None if timeout is None else _validate.seconds(timeout, "timeout")
        interval = _validate.seconds(poll_interval, "poll_interval")
        _validate.optional_callable(on_update, "on_update")
        ceiling = max(interval, MAX_POLL_INTERVAL)
        last: Job | None = None
        with anyio.move_on_after(limit):
            while True:
                job = await self.get_job(job_id)
                changed = last is None or job.state != last.state
                last = job
                if changed and on_update is not None:
                    outcome = on_update(job)
                    if inspect.isawaitable(outcome):
                        await outcome
                if job.is_terminal:
                    return job
                await anyio.sleep(interval * (0.8 + 0.4 * random.random()))  # noqa: S311 - jitter
                interval = min(interval * 1.5, ceiling)
        raise WaitTimeoutError(job_id, last, timeout=limit)
