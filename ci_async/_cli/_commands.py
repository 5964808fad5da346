"""The ``jobs`` commands: each takes the parsed arguments and the output, returns an exit status."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

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
from ._output import Console, Progress, isatty, one_line

if TYPE_CHECKING:
    from .._session import Session

__all__ = ["cmd_cancel", "cmd_create", "cmd_get", "cmd_list", "cmd_wait", "make_session"]


def _setting(args: argparse.Namespace, name: str, env: str) -> str | None:
    value = getattr(args, name, None) or os.environ.get(env, "").strip()
    return value or None


def make_session(args: argparse.Namespace) -> Session:
    """The session the options and the environment describe.

    Args:
        args: The parsed command line.

    Returns:
        A new session (not yet connected).

    Raises:
        UsageError: No bucket or no region.
    """
    bucket = _setting(args, "bucket", ENV_BUCKET)
    region = _setting(args, "region", ENV_REGION)
    endpoint = _setting(args, "endpoint", ENV_ENDPOINT)
    if bucket is None:
        msg = f"no bucket: pass --bucket or set {ENV_BUCKET}"
        raise UsageError(msg)
    if region is None:
        msg = f"no region: pass --region or set {ENV_REGION}"
        raise UsageError(msg)
    timeout = getattr(args, "request_timeout", None)
    from .._session import Session

    return Session(bucket, region, endpoint=endpoint, timeout=10.0 if timeout is None else timeout)


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
        out.note(f"stopped after --limit {args.limit}; continue with: --next-token {remaining}")
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
        out.note(f"error: job not found: {job_id}")
    return EXIT_ERROR if lookup.missing else EXIT_OK


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
            stamp = datetime.now().astimezone().isoformat(sep=" ", timespec="seconds")
            out.note(f"{stamp} {job.job_id} {job.state}")

    async with make_session(args) as session:
        try:
            job = await session.wait_for_job(
                args.job_id,
                timeout=args.wait_timeout,
                poll_interval=args.poll_interval,
                on_update=on_update,
            )
        except WaitTimeoutError as exc:
            out.note(f"error: {one_line(str(exc))}")
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
