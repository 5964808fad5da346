"""The :class:`Emulator` facade: a fake CI job service to run clients against."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from .._signing import CosSigner, Credentials
from ._app import EmulatorApp
from ._clock import FakeClock
from ._faults import FaultPlan
from ._options import TimeLike, check_latency, check_settings, span, timestamp
from ._records import RecordedRequest
from ._render import check_text
from ._samples import SAMPLE_JOBS
from ._seed import generate_jobs, new_id, schedule
from ._server import EmulatorServer
from ._store import ALL_STATES, JOB_TYPES, JobStore, StoredJob
from ._transport import EmulatorTransport

if TYPE_CHECKING:
    from .._session import Session

__all__ = ["DEFAULT_CREDENTIALS", "Emulator", "TimeLike"]

#: The key pair an :class:`Emulator` accepts unless told otherwise (not a real key).
DEFAULT_CREDENTIALS = Credentials(
    "AKIDEMULATOR00000000000000000000EXAMPLE",
    "emulator-secret-key-000000000000000",
)


class Emulator:
    """A fake Tencent Cloud Infinite batch-job service, in memory.

    Serve it in process (:meth:`transport`, :meth:`session`) or on a loopback
    port (:meth:`serve`). It implements describe, list (every filter, both
    orders, ``size``, ``nextToken``), create and cancel; verifies v5
    signatures; lets jobs progress with a clock the test controls; injects
    faults (:attr:`faults`); and records every request (:attr:`requests`).

    Job states follow time: a job is ``Submitted`` when created, ``Running``
    a few seconds later and ``Success`` or ``Failed`` after its run time — all
    drawn deterministically from the seed and the job id. With the default
    :class:`FakeClock` nothing moves until :meth:`advance` is called.

    A job's ``Code`` is ``Success`` (and its ``Message`` empty) until it
    fails, as in the service's samples; a failed job carries its error code
    and message. What the service writes for a canceled job the API reference
    does not say: the emulator answers ``Code`` ``Canceled`` and ``Message``
    ``the job was canceled`` — its own choice, so that a canceled job never
    reads as a success.

    Text XML 1.0 cannot carry (control characters other than tab, LF and CR,
    lone surrogates, U+FFFE, U+FFFF) is refused where a job is made:
    :meth:`add_job` raises ``ValueError``, and a create request carrying it is
    answered 400 ``InvalidContent`` (the body is not well-formed). No stored
    job can make an answer malformed.

    Args:
        credentials: The only key pair accepted (a fixed test pair by
            default). With a ``token``, requests must carry it in
            ``x-ci-security-token`` (or ``x-cos-security-token``).
        verify_signatures: Check every request's v5 signature.
        require_signed_host: Refuse signatures that do not cover ``host``.
        bucket: The bucket served; a ``Host`` naming another bucket
            (``other-125….ci.region.myqcloud.com``) gets 404 ``NoSuchBucket``.
        region: The region served (and that of :attr:`endpoint`); a ``Host``
            ``{bucket}.ci.{region}.myqcloud.com`` (or ``.cos.``/``.pic.``)
            naming another region gets 404 ``NoSuchBucket`` too. Hosts of
            another form (``127.0.0.1:8321``) are served whatever they say.
        clock: Returns the current unix time; drives job states and the
            signature's time window. Default: a new :class:`FakeClock`.
        seed: Makes ids, request ids and job timelines reproducible.
        empty_last_token: Write ``<NextToken/>`` on the last page instead of
            leaving it out (the service has been seen doing both).
        prerender: Cache whole list pages (by query and store state) so that
            a benchmark measures the client, not the emulator. Cached pages
            repeat the ``RequestId`` in the body (the header is fresh).
        record_requests: Keep every request in :attr:`requests`.
        timeline: How long jobs created from now on (by create requests and
            :meth:`add_job`) queue and run. ``"realistic"`` (the default): 1-30
            s in the queue (one job in ten: 1-30 min), then a run of ~90 s
            (median; up to 6 h). ``"quick"``: 0.25-0.75 s in the queue, then
            0.5-1.25 s running, so a job ends within 2 s of its creation (what the
            standalone ``python -m ci_async emulator`` uses, with a real
            clock). Jobs made by :meth:`generate` always follow realistic
            timelines: they are history.
        speed: Divide those queue and run times by this factor (e.g. 60: a
            realistic job runs ~1.5 s instead of ~90 s). Times given to
            :meth:`add_job` (``start_after``, ``run_for``) are kept as given.
        time_bounds: How the list filters ``startCreationTime`` and
            ``endCreationTime`` (whole seconds) treat a job created exactly
            at a bound: ``"inclusive"`` (the default) lists it, ``"exclusive"``
            leaves it out; both bounds alike. The service does not document
            which it does: run listing code under both.
        latency: Seconds every answer waits, as a real asynchronous sleep
            (other requests are served meanwhile), e.g. ``0.02`` for a
            benchmark's 20 ms server latency. The same delay as
            ``faults.latency(...)``, but a setting of the emulator:
            ``faults.clear()`` leaves it alone, and latency faults add to
            it. See :attr:`latency`.

    Example:
        >>> emulator = Emulator(seed=1)
        >>> job = emulator.add_job(name="demo")
        >>> emulator.state(job.job_id)
        'Submitted'
        >>> _ = emulator.advance(3600)
        >>> emulator.state(job.job_id) in ("Success", "Failed")
        True
    """

    def __init__(
        self,
        *,
        credentials: Credentials | None = None,
        verify_signatures: bool = True,
        require_signed_host: bool = True,
        bucket: str = "examplebucket-1250000000",
        region: str = "ap-beijing",
        clock: Callable[[], float] | None = None,
        seed: int = 0,
        empty_last_token: bool = False,
        prerender: bool = False,
        record_requests: bool = True,
        timeline: str = "realistic",
        speed: float = 1.0,
        time_bounds: str = "inclusive",
        latency: float = 0.0,
    ) -> None:
        check_settings(timeline=timeline, speed=speed, time_bounds=time_bounds, latency=latency)
        self._credentials = DEFAULT_CREDENTIALS if credentials is None else credentials
        self._clock: Callable[[], float] = FakeClock() if clock is None else clock
        self._bucket = bucket
        self._region = region
        self._seed = seed
        self._generations = 0
        self._rng = random.Random(f"emulator-jobs/{seed}")
        self._rng_lock = threading.Lock()
        self._default_workflow = new_id("w", random.Random(f"workflow/{seed}"), 1_600_000_000)
        self._store = JobStore()
        self.faults = FaultPlan()
        """Faults to inject into the next requests (see :class:`FaultPlan`)."""
        self._app = EmulatorApp(
            store=self._store,
            faults=self.faults,
            clock=self._clock,
            credentials=self._credentials,
            verify_signatures=verify_signatures,
            require_signed_host=require_signed_host,
            bucket=bucket,
            region=region,
            seed=seed,
            timeline=timeline,
            speed=float(speed),
            exclusive_bounds=time_bounds == "exclusive",
            latency=float(latency),
            empty_last_token=empty_last_token,
            prerender=prerender,
            record_requests=record_requests,
        )

    def __repr__(self) -> str:
        return f"<Emulator bucket={self._bucket!r} jobs={len(self._store)} seed={self._seed}>"

    # --- configuration ---------------------------------------------------------------

    @property
    def credentials(self) -> Credentials:
        """The key pair the emulator accepts."""
        return self._credentials

    @property
    def bucket(self) -> str:
        """The bucket served (``BucketName-APPID``)."""
        return self._bucket

    @property
    def region(self) -> str:
        """The region served (that of :attr:`endpoint`)."""
        return self._region

    @property
    def endpoint(self) -> str:
        """The real service's URL for this bucket (used by in-process sessions)."""
        return f"https://{self._bucket}.ci.{self._region}.myqcloud.com"

    @property
    def timeline(self) -> str:
        """The timeline of new jobs, ``"realistic"`` or ``"quick"``."""
        return self._app.timeline

    @property
    def speed(self) -> float:
        """The factor dividing the queue and run times of new jobs."""
        return self._app.speed

    @property
    def time_bounds(self) -> str:
        """How list filters treat their creation-time bounds, ``"inclusive"`` or ``"exclusive"``."""
        return "exclusive" if self._app.exclusive_bounds else "inclusive"

    @property
    def latency(self) -> float:
        """Seconds every answer waits (a real asynchronous sleep); may be changed at any time.

        Raises:
            ValueError: On assignment, a negative or non-finite number.
        """
        return self._app.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        check_latency(seconds)
        self._app.latency = float(seconds)

    @property
    def clock(self) -> Callable[[], float]:
        """The clock driving job states and signature checks."""
        return self._clock

    @property
    def seed(self) -> int:
        """The seed of ids and timelines."""
        return self._seed

    @property
    def app(self) -> EmulatorApp:
        """The ASGI3 application (host it anywhere, e.g. in uvicorn)."""
        return self._app

    @property
    def verify_signatures(self) -> bool:
        """Whether signatures are checked (may be changed at any time)."""
        return self._app.verify_signatures

    @verify_signatures.setter
    def verify_signatures(self, value: bool) -> None:
        self._app.verify_signatures = value

    # --- time ------------------------------------------------------------------------

    def now(self) -> float:
        """The emulator's current time.

        Returns:
            The emulator's clock, in unix seconds.
        """
        return self._clock()

    def advance(self, seconds: float) -> float:
        """Move the built-in :class:`FakeClock` forward; jobs progress accordingly.

        Args:
            seconds: How far to move the clock; must not be negative.

        Returns:
            The new time, in unix seconds.

        Raises:
            TypeError: The emulator was given another clock.
            ValueError: ``seconds`` is negative.
        """
        if not isinstance(self._clock, FakeClock):
            msg = "advance() needs the built-in FakeClock (Emulator(clock=None or FakeClock()))"
            raise TypeError(msg)
        return self._clock.advance(seconds)

    # --- jobs ------------------------------------------------------------------------

    @property
    def jobs(self) -> tuple[StoredJob, ...]:
        """Every job, oldest first (by creation time, then id)."""
        return self._store.snapshot()

    def __len__(self) -> int:
        return len(self._store)

    def job(self, job_id: str) -> StoredJob:
        """The stored job with this id.

        Args:
            job_id: The job's id.

        Returns:
            The job as the emulator holds it.

        Raises:
            KeyError: No such job.
        """
        job = self._store.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def state(self, job_id: str) -> str:
        """The job's state now.

        Args:
            job_id: The job's id.

        Returns:
            The wire string of the state: ``Submitted``, ``Running``,
            ``Success``, ``Failed``, ``Pause`` or ``Cancel``.

        Raises:
            KeyError: No such job.
        """
        return self.job(job_id).state_at(self.now())

    def set_state(self, job_id: str, state: str) -> StoredJob:
        """Force a job into ``state`` now; it stays there (time no longer moves it).

        Args:
            job_id: The job's id.
            state: The wire string of the state, e.g. ``"Failed"``.

        Returns:
            The stored job, as changed.

        Raises:
            KeyError: No such job.
            ValueError: Unknown state.
        """
        if state not in ALL_STATES:
            msg = f"state must be one of {ALL_STATES}, got {state!r}"
            raise ValueError(msg)
        with self._store.lock:
            job = self.job(job_id).pinned(state, self.now())
            self._store.replace(job)
        return job

    def add_job(
        self,
        *,
        job_id: str | None = None,
        type: str = "Workflow",
        name: str = "demo",
        state: str | None = None,
        creation_time: TimeLike | None = None,
        prefix: str | None = None,
        manifest: str | None = None,
        url_file: str | None = None,
        object: str | None = None,
        time_interval: tuple[TimeLike | None, TimeLike | None] | None = None,
        workflow_ids: Sequence[str] | None = None,
        queue_id: str | None = None,
        user_data: str | None = None,
        callback: str | None = None,
        tag: str | None = None,
        template_id: str | None = None,
        output_region: str | None = None,
        output_bucket: str | None = None,
        output_object: str | None = None,
        job_level: int | None = None,
        start_after: float | None = None,
        run_for: float | None = None,
        outcome: str | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> StoredJob:
        """Add one job; every field has a sensible default.

        Args:
            job_id: Default: a fresh id shaped like the service's.
            type: ``"Workflow"`` or ``"Job"``.
            name: The job name.
            state: Pin the job in this state now (time no longer moves it);
                default: it follows its timeline from ``Submitted``.
            creation_time: Default: now.
            prefix: ``Input/Prefix`` (``"input"`` when no input is given).
            manifest: ``Input/Manifest``.
            url_file: ``Input/UrlFile``.
            object: ``Input/Object``.
            time_interval: ``Operation/TimeInterval`` as ``(start, end)``.
            workflow_ids: Default for workflow jobs: one fixed workflow id.
            queue_id: Default for ``Job`` jobs: the emulator's queue.
            user_data: ``Operation/UserData``.
            callback: ``Operation/CallBack``.
            tag: ``Operation/Tag``.
            template_id: ``Operation/JobParam/TemplateId``.
            output_region: ``Operation/Output/Region``.
            output_bucket: ``Operation/Output/Bucket``.
            output_object: ``Operation/Output/Object``.
            job_level: ``Operation/JobLevel``.
            start_after: Seconds from creation to ``Running`` (default: drawn
                from the seed, on the emulator's ``timeline`` and ``speed``).
            run_for: Seconds from ``Running`` to the end (default: drawn as
                ``start_after``).
            outcome: ``"Success"`` or ``"Failed"`` at the end (default: from the seed).
            code: The job's ``Code`` (:attr:`ci_async.Job.code`) while it is
                ``Failed`` (default: from the seed).
            message: The job's ``Message`` (:attr:`ci_async.Job.message`) while
                it is ``Failed`` (default: from the seed).

        Returns:
            The stored job.

        Raises:
            TypeError: A text field that is not a str (``None`` where allowed).
            ValueError: A bad type, state or outcome, a duplicate id, or text
                that XML 1.0 cannot carry (a control character other than
                tab, LF and CR, a lone surrogate, U+FFFE or U+FFFF): no answer
                could hold the job.
        """
        _check_texts(
            job_id=job_id,
            prefix=prefix,
            manifest=manifest,
            url_file=url_file,
            object=object,
            queue_id=queue_id,
            user_data=user_data,
            callback=callback,
            tag=tag,
            template_id=template_id,
            output_region=output_region,
            output_bucket=output_bucket,
            output_object=output_object,
            code=code,
            message=message,
        )
        check_text(name, "name", optional=False)
        for workflow_id in workflow_ids or ():
            check_text(workflow_id, "workflow_ids", optional=False)
        if type not in JOB_TYPES:
            msg = f"type must be Workflow or Job, got {type!r}"
            raise ValueError(msg)
        if state is not None and state not in ALL_STATES:
            msg = f"state must be one of {ALL_STATES}, got {state!r}"
            raise ValueError(msg)
        if outcome is not None and outcome not in ("Success", "Failed"):
            msg = f"outcome must be Success or Failed, got {outcome!r}"
            raise ValueError(msg)
        now = self.now()
        created = (
            float(int(now)) if creation_time is None else timestamp(creation_time, "creation_time")
        )
        if job_id is None:
            with self._rng_lock:
                job_id = new_id("b", self._rng, created)
        if prefix is None and manifest is None and url_file is None and object is None:
            prefix = "input"
        if workflow_ids is None:
            workflow_ids = (self._default_workflow,) if type == "Workflow" else ()
        if queue_id is None and type == "Job":
            queue_id = self._app.default_queue_id
        start, end = time_interval if time_interval is not None else (None, None)
        job = StoredJob(
            job_id=job_id,
            type=type,
            name=name,
            creation_time=created,
            prefix=prefix,
            manifest=manifest,
            url_file=url_file,
            object=object,
            interval_start=None if start is None else timestamp(start, "time_interval"),
            interval_end=None if end is None else timestamp(end, "time_interval"),
            workflow_ids=tuple(workflow_ids),
            queue_id=queue_id,
            user_data=user_data,
            callback=callback,
            tag=tag,
            template_id=template_id,
            output_region=output_region,
            output_bucket=output_bucket,
            output_object=output_object,
            job_level=job_level,
            **schedule(
                self._seed,
                job_id,
                created,
                kind=self._app.timeline,
                speed=self._app.speed,
                origin=now if creation_time is None else created,
                start_after=start_after,
                run_for=run_for,
                outcome=outcome,
                code=code,
                message=message,
            ),
        )
        if state is not None:
            job = job.pinned(state, max(now, created))
        self._store.add(job)
        return job

    def add_samples(self) -> list[StoredJob]:
        """Add the jobs of the API documentation's samples, so that the ids it shows exist.

        The describe sample's Workflow job ``b3deffea2f84911ec9cb15254008618d9``
        (``Success``) and the list sample's Job-type job
        ``be8f65004eb8511eaaed4f377124a303c`` (``Running``, as the sample shows
        it), both created at ``2022-06-27T15:23:10+0800`` with the samples'
        fields. The standalone ``python -m ci_async emulator`` adds them unless
        given ``--no-samples``.

        Returns:
            The two stored jobs.

        Raises:
            ValueError: A job with one of these ids exists already.
        """
        present = [fields["job_id"] for fields in SAMPLE_JOBS if fields["job_id"] in self._store]
        if present:
            msg = f"the sample jobs exist already: {', '.join(present)}"
            raise ValueError(msg)
        return [self.add_job(**fields) for fields in SAMPLE_JOBS]

    def generate(
        self,
        n: int,
        *,
        seed: int | None = None,
        between: tuple[TimeLike, TimeLike] | None = None,
        hotspot: tuple[TimeLike, TimeLike] | None = None,
        hot_fraction: float | None = None,
    ) -> list[StoredJob]:
        """Add ``n`` realistic jobs: both types, mixed states, created over ~6 months.

        Creation times are whole seconds; by default most jobs are weeks or
        months old and a few were created in the last minutes or hours (those
        are still queued or running). For listing tests that need skew — many
        jobs in a short span, many sharing a second — give a ``hotspot``::

            emulator.generate(
                100_000,
                seed=1,
                between=("2024-05-01T00:00:00+0800", "2024-05-31T23:59:59+0800"),
                hotspot=("2024-05-20T12:00:00+0800", "2024-05-20T12:09:59+0800"),
            )

        puts ~90 % of the jobs in those ten minutes (~150 a second) and the
        rest over the month. 100,000 jobs take a second or two.

        Args:
            n: How many jobs.
            seed: The same seed (and clock) always gives the same jobs. Default:
                derived from the emulator's seed, different on each call.
            between: ``(first, last)``: spread the creation times evenly over
                these seconds (both included) instead of the last ~6 months.
            hotspot: ``(first, last)``: put a ``hot_fraction`` of the jobs in
                these seconds (both included), evenly; the others follow
                ``between`` or the default spread.
            hot_fraction: The share of jobs in the ``hotspot``, from 0 to 1
                (default 0.9); each job lands there with this probability.

        Returns:
            The new jobs, in no particular order.

        Raises:
            ValueError: ``n`` is negative, a range ends before it starts, or
                ``hot_fraction`` is outside 0..1 or given without a ``hotspot``.
        """
        if n < 0:
            msg = f"n must not be negative, got {n!r}"
            raise ValueError(msg)
        if hot_fraction is not None and hotspot is None:
            msg = "hot_fraction needs a hotspot"
            raise ValueError(msg)
        fraction = 0.9 if hot_fraction is None else hot_fraction
        if not 0 <= fraction <= 1:
            msg = f"hot_fraction must be from 0 to 1, got {hot_fraction!r}"
            raise ValueError(msg)
        if seed is None:
            seed = self._seed * 1_000_003 + self._generations
        self._generations += 1
        jobs = generate_jobs(
            n,
            seed=seed,
            now=self.now(),
            between=span(between, "between"),
            hotspot=span(hotspot, "hotspot"),
            hot_fraction=fraction,
        )
        self._store.add_many(jobs)
        return jobs

    # --- requests --------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (``clear_requests()`` empties it)."""
        return self._app.requests

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._app.requests.clear()

    # --- ways to reach it ------------------------------------------------------------

    def transport(self) -> EmulatorTransport:
        """An in-process ``httpx`` transport serving this emulator.

        Returns:
            A new transport; give it to :class:`ci_async.Session` (``transport=``)
            or to an ``httpx.AsyncClient``.
        """
        return EmulatorTransport(self._app)

    def signer(self, *, expires: float = 3600) -> CosSigner:
        """A :class:`~ci_async.CosSigner` with the emulator's credentials and clock.

        Args:
            expires: Seconds past the clock the signatures stay valid.

        Returns:
            A signer whose signatures this emulator accepts, however far its
            clock is advanced.
        """
        return CosSigner(self._credentials, expires=expires, clock=self._clock)

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on the in-process transport, based at :attr:`endpoint`.

        Requests are not signed: sign them with :meth:`signer`, or turn
        signature checks off.

        Args:
            **kwargs: Passed on to ``httpx.AsyncClient``; ``base_url`` and
                ``transport`` override the defaults.

        Returns:
            The client; close it with ``await client.aclose()`` or ``async with``.
        """
        kwargs.setdefault("base_url", self.endpoint)
        kwargs.setdefault("transport", self.transport())
        return httpx.AsyncClient(**kwargs)

    def session(self, **kwargs: Any) -> Session:
        """A :class:`ci_async.Session` wired to this emulator, in process.

        It signs with the emulator's credentials and clock (so signatures stay
        valid however far the test advances time) and talks to
        :attr:`endpoint` through :meth:`transport`. Any keyword is passed on to
        ``Session`` and overrides these defaults; passing ``credentials`` or
        ``signer`` replaces the default signer.

        Args:
            **kwargs: Keyword arguments of :class:`ci_async.Session`.

        Returns:
            The session; close it with ``await session.aclose()`` or ``async with``.
        """
        from .._session import Session

        kwargs.setdefault("bucket", self._bucket)
        kwargs.setdefault("region", self._region)
        if "transport" not in kwargs and "http_client" not in kwargs:
            kwargs["transport"] = self.transport()
        if "credentials" not in kwargs and "signer" not in kwargs:
            kwargs["signer"] = self.signer()
        return Session(**kwargs)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
        """A loopback HTTP/1.1 server for this emulator (start it with ``with``/``async with``).

        Args:
            host: The address to bind.
            port: The port; 0 picks a free one (see :attr:`EmulatorServer.port`).

        Returns:
            The server, not started yet: ``with emulator.serve() as server:``
            (or ``async with``) starts it and stops it on exit; so do its
            ``start()`` and ``stop()``.
        """
        return EmulatorServer(self._app, host, port)


def _check_texts(**fields: object) -> None:
    """:func:`check_text` on each optional text field, named by its keyword."""
    for field, value in fields.items():
        check_text(value, field)
