"""Wait for a set of CI jobs to finish, a few at a time, and report the failures.

A worker of the kind a batch pipeline runs after submitting jobs: it polls every
job until it succeeds, fails or is cancelled, with at most ``--concurrency``
jobs polled at once (one shared session, one connection pool), prints one line
per finished job and a summary, and exits with status 1 when any job did not
succeed (failed, cancelled, not found, or still running at ``--timeout``).

Usage (credentials from ``TENCENTCLOUD_SECRET_ID`` / ``TENCENTCLOUD_SECRET_KEY``)::

    python examples/wait_service.py --bucket examplebucket-1250000000 \
        --region ap-beijing JOB_ID [JOB_ID ...]

``--endpoint URL`` points it elsewhere, e.g. at the emulator. ``CI_ASYNC_BUCKET``,
``CI_ASYNC_REGION`` and ``CI_ASYNC_ENDPOINT`` are the defaults of the three
options (``python -m ci_async emulator`` prints the ``export`` lines that set
them). It runs under asyncio by default, ``--backend trio`` under trio.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TextIO

import anyio
import attrs

import ci_async


@attrs.frozen
class Outcome:
    """How waiting for one job ended.

    Attributes:
        job_id: The job waited for.
        job: The job as last seen (``None`` when it was never found).
        problem: Why it counts as a failure, or ``None`` when it succeeded.
    """

    job_id: str
    job: ci_async.Job | None
    problem: str | None

    @property
    def ok(self) -> bool:
        """Whether the job succeeded."""
        return self.problem is None


async def wait_one(
    ci: ci_async.Session, job_id: str, *, job_timeout: float | None, poll_interval: float
) -> Outcome:
    """Wait for one job; every way it can end becomes an :class:`Outcome`, never an exception.

    Library errors (a refused signature, a service that stays unavailable past
    the session's retries) count as that job's failure, so that one job's
    trouble never cancels the waits for the others.
    """
    try:
        job = await ci.wait_for_job(job_id, timeout=job_timeout, poll_interval=poll_interval)
    except ci_async.JobNotFoundError:
        return Outcome(job_id, None, "not found")
    except ci_async.WaitTimeoutError as exc:
        state = exc.last_job.state if exc.last_job is not None else "unknown"
        return Outcome(job_id, exc.last_job, f"still {state} after {job_timeout:g}s")
    except ci_async.CIError as exc:
        return Outcome(job_id, None, f"error: {exc}")
    if job.state == ci_async.JobState.SUCCESS:
        return Outcome(job_id, job, None)
    detail = ": ".join(part for part in (job.code, job.message) if part)
    return Outcome(job_id, job, f"{job.state}" + (f" ({detail})" if detail else ""))


async def wait_all(
    ci: ci_async.Session,
    job_ids: Sequence[str],
    *,
    concurrency: int = 8,
    job_timeout: float | None = None,
    poll_interval: float = 5.0,
    out: TextIO | None = None,
) -> list[Outcome]:
    """Wait for every job, at most ``concurrency`` at once; return the outcomes in input order.

    A line is printed to ``out`` as each job finishes.
    """
    out = sys.stdout if out is None else out
    limiter = anyio.CapacityLimiter(concurrency)
    outcomes: dict[str, Outcome] = {}

    async def worker(job_id: str) -> None:
        async with limiter:
            outcome = await wait_one(
                ci, job_id, job_timeout=job_timeout, poll_interval=poll_interval
            )
        outcomes[job_id] = outcome
        print(
            f"{'ok ' if outcome.ok else 'FAIL'} {job_id} {outcome.problem or ''}".rstrip(), file=out
        )

    async with anyio.create_task_group() as tg:
        for job_id in dict.fromkeys(job_ids):  # each id once, in order
            tg.start_soon(worker, job_id)
    return [outcomes[job_id] for job_id in dict.fromkeys(job_ids)]


async def main(
    ci: ci_async.Session,
    job_ids: Sequence[str],
    *,
    concurrency: int = 8,
    job_timeout: float | None = None,
    poll_interval: float = 5.0,
    out: TextIO | None = None,
) -> int:
    """Wait for the jobs, print a summary; return the exit status (1 when any failed)."""
    out = sys.stdout if out is None else out
    outcomes = await wait_all(
        ci,
        job_ids,
        concurrency=concurrency,
        job_timeout=job_timeout,
        poll_interval=poll_interval,
        out=out,
    )
    failed = [outcome for outcome in outcomes if not outcome.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} jobs succeeded", file=out)
    for outcome in failed:
        print(f"  {outcome.job_id}: {outcome.problem}", file=out)
    return 1 if failed else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job_ids", nargs="+", metavar="JOB_ID")
    parser.add_argument("--bucket", default=os.environ.get("CI_ASYNC_BUCKET"))
    parser.add_argument("--region", default=os.environ.get("CI_ASYNC_REGION"))
    parser.add_argument("--endpoint", default=os.environ.get("CI_ASYNC_ENDPOINT"))
    parser.add_argument("--concurrency", type=int, default=8, help="jobs polled at once")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per job")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="seconds")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args(argv)
    if not args.bucket or not args.region:
        parser.error("--bucket and --region are required (or CI_ASYNC_BUCKET, CI_ASYNC_REGION)")
    return args


async def run(args: argparse.Namespace) -> int:
    """Open a session from the command line's settings and wait for the jobs."""
    try:
        async with ci_async.Session(
            bucket=args.bucket, region=args.region, endpoint=args.endpoint
        ) as ci:
            return await main(
                ci,
                args.job_ids,
                concurrency=args.concurrency,
                job_timeout=args.timeout,
                poll_interval=args.poll_interval,
            )
    except ci_async.CIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(anyio.run(run, arguments, backend=arguments.backend))
