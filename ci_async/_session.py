"""Session: the configuration, and the operations of the CI job API, each a few lines.

Sending (signing, retries, timeouts, the capped read, errors) is
:mod:`ci_async._http`'s job; decoding is :mod:`ci_async._decode`'s; following
pages is :mod:`ci_async._pagination`'s; the create rules are
:mod:`ci_async._create`'s.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs
import httpx

from . import _checks
from ._background import BackgroundRequest
from ._config import Settings
from ._create import CreateJobRequest
from ._credentials import Credentials, CredentialsProvider
from ._decode import (
    REQUEST_ID_HEADER,
    build_list,
    decode_job,
    decode_job_response,
    next_token_hint,
)
from ._errors import PaginationError
from ._http import Pace, Sender
from ._lookup import describe_many
from ._models import Job, JobInput, JobLookup, JobPage, JobState, JobType, Output, TimeInterval
from ._pagination import JobIterator
from ._parsing import PageParser, let_the_loop_run
from ._query import ListFilters, PageQuery
from ._retry import RetryPolicy
from ._signing import Signer
from ._waiting import wait_for

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "Session"]

_JOBS = "/inventorytriggerjob"
_DEFAULT_RETRY = RetryPolicy()
_XML_BODY = {"Content-Type": "application/xml"}
#: The default cap on a decoded response body: a full page of 100 jobs is ~150 KB.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024


class Session:
    """An asynchronous client for one bucket's CI batch jobs.

    Arguments are checked at once; the session's httpx clients (one per request
    in flight) are made on the first call and belong to that event loop. Share
    one session between many tasks; close it with ``async with`` or
    :meth:`aclose` (dropped unclosed, one holding connections warns).

    Args:
        bucket: ``BucketName-APPID``; default: ``$CI_ASYNC_BUCKET``.
        region: e.g. ``"ap-beijing"``; default: ``$CI_ASYNC_REGION``.
        credentials: :class:`~ci_async.Credentials`, an async provider of
            them, or ``None`` for the environment (not with ``signer``).
        signer: Any object with ``async sign(request)``, called on every
            attempt; default: a :class:`~ci_async.CosSigner` over ``credentials``.
        endpoint: Base URL instead of ``https://{bucket}.ci.{region}.myqcloud.com``
            (default: ``$CI_ASYNC_ENDPOINT``). Plain ``http://`` only to
            loopback, unless ``allow_insecure_http``. An IP address is where
            to connect: requests keep the service's ``Host`` header.
        timeout: httpx's per-phase timeout (connect, each read and write,
            pool wait), seconds or an :class:`httpx.Timeout`.
        attempt_timeout: The most one attempt may take in all; default: three
            times the largest phase of ``timeout`` (30 s).
        retry: The :class:`~ci_async.RetryPolicy`, or ``None`` for one attempt.
        http_client: Use this client as is; the session never closes it.
        transport: An httpx transport each request is handed to directly (no
            client's hooks or logging between), e.g. :class:`~ci_async.AiohttpTransport`
            or an emulator's; closed with the session. Default: httpx's own,
            through the session's clients, which honour ``HTTP(S)_PROXY``.
        max_connections: The most requests in flight at once (more wait for a slot, up to
            the pool timeout), and the connections kept; default 64.
        allow_insecure_http: Accept plain ``http://`` to any host.
        max_response_bytes: The largest decoded body read (``None``: no limit).
        parse_processes: Parse list pages in up to this many worker processes
            (0 to 16; see :doc:`/parallel`); default 0: on the event loop.

    Besides what each lists, every call may raise :class:`~ci_async.ServiceError`,
    :class:`~ci_async.TransportError`, :class:`~ci_async.ResponseParseError` and
    :class:`~ci_async.SessionClosedError` (see :doc:`/errors`).

    Raises:
        ValueError: A bad or missing bucket, region, endpoint or number (the
            message names the environment variable to set); both ``signer``
            and ``credentials``; both ``http_client`` and ``transport``.
        TypeError: An argument of the wrong type.
        CredentialsError: No ``signer``, no ``credentials`` and none in the environment.
    """

    def __init__(
        self,
        bucket: str | None = None,
        region: str | None = None,
        *,
        credentials: Credentials | CredentialsProvider | None = None,
        signer: Signer | None = None,
        endpoint: str | None = None,
        timeout: float | httpx.Timeout | None = 10.0,
        attempt_timeout: float | None = None,
        retry: RetryPolicy | None = _DEFAULT_RETRY,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int | None = None,
        allow_insecure_http: bool = False,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        parse_processes: int = 0,
    ) -> None:
        try:
            settings = Settings.build(
                bucket=bucket,
                region=region,
                credentials=credentials,
                signer=signer,
                endpoint=endpoint,
                timeout=timeout,
                attempt_timeout=attempt_timeout,
                retry=retry,
                http_client=http_client,
                transport=transport,
                max_connections=max_connections,
                allow_insecure_http=allow_insecure_http,
                max_response_bytes=max_response_bytes,
                parse_processes=parse_processes,
            )
        except ValueError:
            del endpoint  # may hold a password or a token: not in a traceback's locals
            raise
        self._sender = Sender(settings)
        self._target = settings.target
        self._background: set[BackgroundRequest[Any]] = set()
        self._parser = PageParser(settings.parse_processes, self._background)

    def __repr__(self) -> str:
        where = f"bucket={self.bucket!r} region={self.region!r} endpoint={self.endpoint!r}"
        return f"<ci_async.Session {where}{' closed' * self.closed}>"

    def __del__(self) -> None:
        if getattr(self, "_sender", None) is not None and self._sender.pool.holds_resources:
            text = f"unclosed {self!r}: use 'async with' or 'await session.aclose()'"
            warnings.warn(text, ResourceWarning, stacklevel=2, source=self)
            self._sender.pool.close_soon()  # so that no transport of ours warns as well

    @property
    def bucket(self) -> str:
        """The bucket, ``BucketName-APPID``."""
        return self._target.bucket

    @property
    def region(self) -> str:
        """The region, e.g. ``ap-beijing``."""
        return self._target.region

    @property
    def endpoint(self) -> str:
        """The base URL requests go to (no trailing ``/``)."""
        return self._target.base_url

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called."""
        return self._sender.pool.closed

    async def __aenter__(self) -> Session:
        self._sender.pool.check_open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancel pages fetched ahead, end parse workers, close the client (not a ``http_client``).

        Idempotent; later calls (and running iterators) raise ``SessionClosedError``.
        """
        self._sender.pool.refuse_calls()
        for request in list(self._background):
            await request.aclose()
        await self._parser.aclose()
        await self._sender.pool.aclose()

    async def get_job(self, job_id: str) -> Job:
        r"""Describe one job: ``GET /inventorytriggerjob/<job_id>``.

        Raises:
            ValueError: A job id that would change the request (empty, ``/ ? # %
                \\ ,``, whitespace or control characters, ``..``, over 128
                characters); no request is made.
            JobNotFoundError: Reported in ``NonExistJobIds``, absent from the
                answer, or answered ``ResourceNotFound``/404.
        """
        return await self._describe(_checks.job_id(job_id))

    async def _describe(self, job_id: str) -> Job:
        """:meth:`get_job` for an id already checked."""
        return decode_job(await self._sender.send("GET", f"{_JOBS}/{job_id}"), job_id)

    async def get_jobs(self, job_ids: Iterable[str], *, concurrency: int = 16) -> JobLookup:
        """Describe many jobs concurrently, one request per distinct id.

        Ids are checked before any request; one given twice is looked up once. Ids
        that do not exist go to ``missing``; another failure cancels the rest.

        Args:
            job_ids: The ids, in the order wanted.
            concurrency: Most requests in flight at once (>= 1).

        Returns:
            The jobs found and the ids not found, each in the order asked.

        Raises:
            ValueError: An invalid id, or ``concurrency`` < 1 (no request is made).
            TypeError: ``job_ids`` is a str or not iterable, or an id is not a str.
        """
        lookup = describe_many(self._describe, job_ids, concurrency)  # checks every argument
        self._sender.pool.check_open()
        return await lookup

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
        parallel: int | None = None,
    ) -> JobIterator:
        """List jobs: ``GET /inventorytriggerjob``, following ``NextToken``.

        Returns at once; every argument is checked now, and the first request
        is made when the iterator is first advanced. See
        :class:`~ci_async.JobIterator` for ``limit``, ``prefetch``, ``deadline``,
        ``parallel`` and resuming with ``next_token`` (any token the service
        sent, or one of a parallel listing).

        Args:
            type: :class:`~ci_async.JobType` or ``"Workflow"`` / ``"Job"``.
            states: One or several :class:`~ci_async.JobState` (or wire
                strings, or ``"All"``), sent comma-joined.
            order: ``"desc"`` (newest first, the default) or ``"asc"``.
            created_after: Aware datetime: jobs created at or after it (sent
                in Beijing time, as on the API page; a fraction rounded up).
            created_before: Aware datetime: jobs created at or before it.
            workflow_id: Only jobs of this workflow.
            job_id: Only this job.
            name: Only jobs with this name.
            page_size: Jobs per request, 1 to 100 (the service defaults to 10;
                a parallel listing asks for 100 when it is left out).
            limit: Yield at most this many jobs (>= 0).
            next_token: Resume from this token.
            prefetch: Fetch the next page while the current one is consumed.
            deadline: Seconds, from the first step, for the whole iteration.
            parallel: List over this many creation-time windows at once (2 to
                64 requests in flight; see :doc:`/parallel`); same jobs, same order.

        Raises:
            ValueError: A bad filter or number.
            TypeError: An argument of the wrong type.
        """
        filters = ListFilters(
            type=type,
            states=states,
            order=order,
            created_after=created_after,
            created_before=created_before,
            workflow_id=workflow_id,
            job_id=job_id,
            name=name,
        )
        self._sender.pool.check_open()
        return JobIterator(
            functools.partial(_fetch_page, self._sender, self._parser, filters, Pace()),
            check_open=self._sender.pool.check_open,
            background=self._background,
            page_size=page_size,
            limit=limit,
            next_token=next_token,
            prefetch=prefetch,
            deadline=deadline,
            parallel=parallel,
            filters=filters,
        )

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
        """Create a job: ``POST /inventorytriggerjob``, never sent twice.

        A ``Workflow`` job with ``workflow_ids``, else a ``Job`` job. Retried
        only when the request certainly never left.

        Args:
            name: The job's name: 1 to 128 letters, digits, ``_`` and ``-``.
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
            ValueError: A bad value or mix of fields (no request is made).
            TypeError: A value of the wrong type (no request is made).
            TransportError: Also when the answer was lost: the job may exist.
        """
        request = CreateJobRequest.build(
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
        response = await self._sender.send(
            "POST", _JOBS, content=request.to_xml(), headers=dict(_XML_BODY), idempotent=False
        )
        return decode_job_response(response.content)

    async def cancel_job(self, job_id: str) -> None:
        """Cancel a job: ``PUT /inventorytriggerjob/<job_id>?cancel`` (retried like a GET).

        Raises:
            ValueError: A bad job id (no request is made).
            JobNotFoundError: The job does not exist.
        """
        await self._sender.send("PUT", f"{_JOBS}/{_checks.job_id(job_id)}", query="cancel")

    async def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = 2.0,
        on_update: Callable[[Job], object] | None = None,
    ) -> Job:
        """Poll a job until it is Success, Failed or Cancel; cancelling the caller stops it.

        Pauses start at ``poll_interval``, grow by half up to 30 s, ±20% jitter.

        Args:
            job_id: The job's id.
            timeout: Seconds to wait in all, or ``None`` for no limit.
            poll_interval: Seconds before the second poll.
            on_update: Called with the job on the first poll and on every change
                of state; may be a coroutine function.

        Raises:
            WaitTimeoutError: ``timeout`` passed first (carries the last job seen).
            JobNotFoundError: The job does not exist.
            ValueError: A bad job id or a non-positive time.
        """
        _checks.optional_callable(on_update, "on_update")
        checked = _checks.job_id(job_id)
        limit = None if timeout is None else _checks.seconds(timeout, "timeout")
        pause = _checks.seconds(poll_interval, "poll_interval")
        with self._sender.pool.call():  # closing the session ends the pauses too
            return await wait_for(
                self._describe, checked, timeout=limit, poll_interval=pause, on_update=on_update
            )


async def _fetch_page(
    sender: Sender,
    parser: PageParser,
    filters: ListFilters,
    pace: Pace,
    query: PageQuery,
    deadline_at: float | None,
) -> JobPage:
    """One page of a listing (the ``fetch`` a :class:`JobIterator` calls)."""
    parser.start()  # (parse workers start beside the first request, not once its page is in)
    order = None if query.ascending is None else ("Asc" if query.ascending else "Desc")
    params = filters.params(after=query.after, before=query.before, order=order)
    if query.size is not None:
        params.append(("size", str(query.size)))
    if query.token:
        params.append(("nextToken", query.token))
    try:
        response = await sender.send(
            "GET", _JOBS, params=params, deadline_at=deadline_at, pace=pace, sent=query.sent
        )
    except httpx.InvalidURL:
        msg = f"the NextToken is too long to send back ({len(query.token or '')} characters)"
        raise PaginationError(msg, next_token=query.token) from None
    body = response.content
    hint = None if query.ahead is None else next_token_hint(body)
    sent = None if hint is None or query.ahead is None else query.ahead(hint)
    if sent is not None:
        # The next page's request goes out first: the service works on it while
        # this page is decoded (on the loop: a worker thread would contend with
        # it for the interpreter lock and stall it for longer).
        await sent.wait()
    # The parse and the records each take their own turn of the loop (a few ms
    # per 100 jobs each): a garbage collection pass, which either can set off,
    # then adds to one of them, not to both and to what ran before.
    doc = await parser.parse(body)
    await let_the_loop_run()
    page = build_list(doc, body)
    if page.request_id is None and REQUEST_ID_HEADER in response.headers:
        page = attrs.evolve(page, request_id=response.headers[REQUEST_ID_HEADER])
    return page
