"""The ``jobs`` commands: each takes the parsed arguments and the output, returns an exit status."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .._config import is_loopback
from .._errors import WaitTimeoutError
from .._format import JobTable, format_job, job_to_json
from .._models import Job, JobInput, JobState, Output, TimeInterval
from ._common import (
    ENV_BUCKET,
    ENV_ENDPOINT,
    ENV_REGION,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_WAIT_TIMEOUT,
    UsageError,
)
from ._hints import NOT_FOUND_HINT
from ._output import Console, Progress, error_text, isatty, resume_option, shown

if TYPE_CHECKING:
    from .._session import Session

__all__ = [
    "cmd_cancel",
    "cmd_create",
    "cmd_get",
    "cmd_list",
    "cmd_wait",
    "make_session",
    "setting",
    "state_change_time",
]


def setting(args: argparse.Namespace, name: str, env: str) -> str | None:
    """An option's value, else the environment variable's, else ``None``.

    Args:
        args: The parsed command line.
        name: The option's attribute, e.g. ``"endpoint"``.
        env: The variable, e.g. ``CI_ASYNC_ENDPOINT``.

    Returns:
        The value, or ``None`` when neither is set (or set to blanks).
    """
    value = getattr(args, name, None) or os.environ.get(env, "").strip()
    return value or None


def make_session(args: argparse.Namespace) -> Session:
    """The session the options and the environment describe.

    Args:
        args: The parsed command line.

    Returns:
        A new session (not yet connected).

    Raises:
        UsageError: No bucket or no region; a plain-http endpoint to a host
            that is not loopback without ``--allow-insecure-http``.
        ValueError: The library refused an argument (reported as bad usage).
    """
    bucket = setting(args, "bucket", ENV_BUCKET)
    region = setting(args, "region", ENV_REGION)
    endpoint = setting(args, "endpoint", ENV_ENDPOINT)
    if bucket is None:
        msg = f"no bucket: pass --bucket or set {ENV_BUCKET}"
        raise UsageError(msg)
    if region is None:
        msg = f"no region: pass --region or set {ENV_REGION}"
        raise UsageError(msg)
    timeout = getattr(args, "request_timeout", None)
    insecure = bool(getattr(args, "allow_insecure_http", False))
    if endpoint is not None and not insecure:
        # The library would name its keyword argument; the command line has a flag.
        parts = urlsplit(endpoint.strip())
        if parts.scheme == "http" and parts.hostname and not is_loopback(parts.hostname):
            raise UsageError(_insecure_http_message(endpoint))
    from .._session import Session

    # The options as given: the library reads the environment itself, and names
    # the variable when it refuses a value read from it.
    return Session(
        getattr(args, "bucket", None) or None,
        getattr(args, "region", None) or None,
        endpoint=getattr(args, "endpoint", None) or None,
        timeout=10.0 if timeout is None else timeout,
        allow_insecure_http=insecure,
    )


def _insecure_http_message(endpoint: str) -> str:
    """Why a plain-http endpoint is refused, and the flag that accepts it."""
    # Only the host and port: a URL may carry a password (which the library refuses anyway).
    host = urlsplit(endpoint.strip()).netloc.rpartition("@")[2]
    return (
        f"the endpoint http://{shown(host)} uses plain http to a host that is not loopback: "
        "use https, or pass --allow-insecure-http to send requests unencrypted"
    )


def _print_jobs(out: Console, jobs: Sequence[Job], *, as_json: bool) -> None:
    if as_json:
        out.emit([job_to_json(job) for job in jobs])
    else:
        out.emit("\n\n".join(format_job(job) for job in jobs).split("\n"))


async def cmd_list(args: argparse.Namespace, out: Console) -> int:
    """``jobs list``.

    Args:
        args: The parsed command line.
        out: Where to write.

    Returns:
        The exit status.
    """
    states = [s for group in args.states or () for s in group] or None
    out.resume_token = args.next_token
    out.listing = True
    progress = Progress(out.stderr) if args.progress and isatty(out.stderr) else None
    out.progress = progress
    table: JobTable | None = None
    pages = 0
    async with make_session(args) as session:
        iterator = session.list_jobs(
            type=args.type,
            states=states,
            order=args.order,
            created_after=args.created_after,
            created_before=args.created_before,
            workflow_id=args.workflow_id,
            job_id=args.job_id,
            name=args.name,
            page_size=args.page_size,
            limit=args.limit,
            next_token=args.next_token,
        )
        async with iterator:
            async for page in iterator.pages():
                pages += 1
                if args.json:
                    lines = [job_to_json(job) for job in page.jobs]
                elif not page.jobs:
                    lines = []
                elif table is None:
                    table = JobTable(page.jobs, min_name=24, max_name=40)
                    lines = list(table.lines(page.jobs))
                else:
                    lines = [table.row(job) for job in page.jobs]
                out.emit(lines)
                out.listed += len(page.jobs)
                out.resume_token = page.next_token
                if progress is not None:
                    progress.update(out.listed, pages)
        remaining = iterator.next_token
    if progress is not None:
        progress.clear()
    if out.listed == 0 and not args.json:
        out.note("no jobs")
    if args.limit is not None and remaining:
        out.note(f"stopped after --limit {args.limit}; continue with: {resume_option(remaining)}")
    return EXIT_OK


async def cmd_get(args: argparse.Namespace, out: Console) -> int:
    """``jobs get``.

    Args:
        args: The parsed command line.
        out: Where to write.

    Returns:
        The exit status.
    """
    async with make_session(args) as session:
        lookup = await session.get_jobs(args.job_ids)
    if lookup.jobs:
        _print_jobs(out, lookup.jobs, as_json=args.json)
    for job_id in lookup.missing:
        out.note(f"error: job not found: {shown(job_id)}; hint: {NOT_FOUND_HINT}")
    return EXIT_ERROR if lookup.missing else EXIT_OK


def state_change_time(job: Job, now: datetime | None = None) -> str:
    """When ``jobs wait`` saw a state change: now, in the UTC offset of the job's own times.

    The service gives job times in its offset (``+08:00`` for China regions);
    the state changes are printed in the same offset, so that they read
    alongside the job's creation, start and end times. A job without any
    time yet gets this machine's local offset. The offset is always printed.

    Args:
        job: The job as just polled.
        now: The moment to show (default: now).

    Returns:
        e.g. ``2024-05-01 15:23:10+08:00``.
    """
    times = (job.creation_time, job.start_time, job.end_time)
    tz = next((t.tzinfo for t in times if t is not None and t.tzinfo is not None), None)
    moment = datetime.now(timezone.utc) if now is None else now
    shown_at = moment.astimezone(tz) if tz is not None else moment.astimezone()
    return shown_at.isoformat(sep=" ", timespec="seconds")


async def cmd_wait(args: argparse.Namespace, out: Console) -> int:
    """``jobs wait``.

    Args:
        args: The parsed command line.
        out: Where to write.

    Returns:
        The exit status.
    """
    last_state: list[object] = []

    def on_update(job: Job) -> None:
        if not last_state or last_state[-1] != job.state:
            last_state.append(job.state)
            out.note(f"{state_change_time(job)} {shown(job.job_id)} {shown(job.state)}")

    async with make_session(args) as session:
        try:
            job = await session.wait_for_job(
                args.job_id,
                timeout=args.wait_timeout,
                poll_interval=args.poll_interval,
                on_update=on_update,
            )
        except WaitTimeoutError as exc:
            out.note(f"error: {error_text(exc)}")
            return EXIT_WAIT_TIMEOUT
    _print_jobs(out, [job], as_json=args.json)
    return EXIT_OK if job.state == JobState.SUCCESS else EXIT_ERROR


async def cmd_create(args: argparse.Namespace, out: Console) -> int:
    """``jobs create``.

    Args:
        args: The parsed command line.
        out: Where to write.

    Returns:
        The exit status.
    """
    output = None
    if args.output_region or args.output_bucket or args.output_object:
        output = Output(
            region=args.output_region, bucket=args.output_bucket, object=args.output_object
        )
    interval = None
    if args.start is not None or args.end is not None:
        interval = TimeInterval(start=args.start, end=args.end)
    async with make_session(args) as session:
        job = await session.create_job(
            name=args.name,
            input=JobInput(
                prefix=args.prefix,
                manifest=args.manifest,
                url_file=args.url_file,
                object=args.object,
            ),
            workflow_ids=tuple(args.workflow_ids),
            tag=args.tag,
            queue_id=args.queue_id,
            template_id=args.template_id,
            output=output,
            user_data=args.user_data,
            callback=args.callback,
            job_level=args.job_level,
            time_interval=interval,
        )
    _print_jobs(out, [job], as_json=args.json)
    return EXIT_OK


async def cmd_cancel(args: argparse.Namespace, out: Console) -> int:
    """``jobs cancel``.

    Args:
        args: The parsed command line.
        out: Where to write.

    Returns:
        The exit status.
    """
    async with make_session(args) as session:
        await session.cancel_job(args.job_id)
        job = await session.get_job(args.job_id)
    _print_jobs(out, [job], as_json=args.json)
    return EXIT_OK
