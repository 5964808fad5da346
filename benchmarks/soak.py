"""Soak test: many tasks listing and describing through injected faults, for minutes.

    python -m benchmarks.soak [--seconds 300] [--tasks 200] [--rate 0.05] [--jobs 2000]
                              [--backend asyncio|trio] [--kinds 500,502,...] [--seed 1]

An emulator serves ``--jobs`` jobs on a loopback port, in a process of its own
(so that this process's memory and CPU are the client's alone), its clock
frozen so that no job changes while the run lasts. ``FaultPlan.random`` gives
each request a fault with probability ``--rate``: 5xx and 429 answers, dropped
and reset connections, HTML gateway pages, slow trickles, delays and truncated
XML. ``--tasks`` tasks share one :class:`ci_async.Session` (real signatures,
real HTTP) until ``--seconds`` have passed: a quarter of them list every job
again and again (pages of 100, resuming from ``next_token`` after a typed
error), the others describe jobs (one in ten of them ids that do not exist).
When the time is up every call still running is cancelled, wherever it is.

Printed: requests and faults served, retries, errors by type after retries,
jobs seen against expected, jobs lost and duplicated, untyped exceptions,
connections left open, and the resident set size at the start, after warm-up
and at the end (each after a garbage collection and, with glibc,
``malloc_trim(0)``, so that memory the C allocator merely keeps does not count
as growth; the untrimmed figure at the end is printed too). The run passes
(exit status 0) when no job was lost or duplicated, every exception was a
:class:`ci_async.CIError`, no connection was left open, and the RSS at the end
is within 10% of the RSS after warm-up.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import json
import logging
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

import ci_async
from ci_async.testing import Emulator, Fault, RecordedRequest

DEFAULT_KINDS = (
    "500",
    "502",
    "503",
    "504",
    "429",
    "drop",
    "reset",
    "html",
    "trickle",
    "delay",
    "truncate",
)
PAGE_SIZE = 100
MAX_RESUMES = 100
DESCRIBES_PER_ROUND = 5
_STATM = Path("/proc/self/statm")


# --- memory --------------------------------------------------------------------------------


def rss_mib() -> tuple[float, str]:
    """The resident set size in MiB, and how it was measured."""
    try:
        pages = int(_STATM.read_text().split()[1])
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
        return peak * scale / 2**20, "peak RSS (getrusage)"
    return pages * resource.getpagesize() / 2**20, "RSS (/proc/self/statm)"


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, where there is one."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    return None if trim is None else lambda: trim(0)


_TRIM = _malloc_trim()


def settled_rss() -> float:
    """RSS after a full garbage collection and, with glibc, ``malloc_trim(0)``.

    The C allocator keeps memory that Python freed (a fragmented heap) and RSS
    counts it; trimming returns it, so that what is measured is live memory.
    """
    gc.collect()
    if _TRIM is not None:
        _TRIM()
    return rss_mib()[0]


# --- the server process ------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    """The emulator process: print where it is and what it holds, serve until stdin closes."""
    emulator = Emulator(seed=args.seed, record_requests=False)
    emulator.generate(args.jobs)
    faults: collections.Counter[str] = collections.Counter()
    plan = emulator.faults
    take = plan.take

    def counting_take(request: RecordedRequest) -> Fault | None:
        fault = take(request)
        if fault is not None:
            faults[fault.kind if fault.status is None else str(fault.status)] += 1
        return fault

    plan.take = counting_take  # type: ignore[method-assign]
    plan.random(args.rate, kinds=args.kinds.split(","), seed=args.seed)
    credentials = emulator.credentials
    with emulator.serve() as server:
        hello = {
            "url": server.url,
            "now": emulator.now(),
            "secret_id": credentials.secret_id,
            "secret_key": credentials.secret_key,
            "ids": [job.job_id for job in reversed(emulator.jobs)],
        }
        print(json.dumps(hello), flush=True)
        sys.stdin.read()  # until the client is done (or gone)
        deadline = time.monotonic() + 10
        while server.stats.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        stats = server.stats
    print(
        json.dumps(
            {
                "requests": stats.requests,
                "open_connections": stats.open_connections,
                "faults": dict(sorted(faults.items())),
            }
        ),
        flush=True,
    )
    return 0


# --- bookkeeping --------------------------------------------------------------------------------


class Tally:
    """What the client saw."""

    def __init__(self) -> None:
        self.listings = 0
        self.in_progress = 0
        self.resumes = 0
        self.jobs_seen = 0
        self.jobs_expected = 0
        self.lost = 0
        self.duplicated = 0
        self.misordered = 0
        self.unfinished = 0
        self.describes = 0
        self.missing_reported = 0
        self.wrong_answers = 0
        self.errors: collections.Counter[str] = collections.Counter()
        self.untyped: collections.Counter[str] = collections.Counter()


class LogCounter(logging.Handler):
    """Counts the library's retry records (and anything logged at ERROR)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.retries = 0
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Count one record."""
        if hasattr(record, "ci_attempt"):
            self.retries += 1
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage()[:200])


# --- the load ---------------------------------------------------------------------------------


async def one_listing(session: ci_async.Session, expected: list[str], tally: Tally) -> None:
    """List every job, resuming from next_token after typed errors; check what came back."""
    seen: list[str] = []
    token: str | None = None
    tally.in_progress += 1  # a listing cancelled at the end of the run stays counted here
    for _ in range(MAX_RESUMES):
        iterator = session.list_jobs(page_size=PAGE_SIZE, next_token=token)
        try:
            async with iterator:
                async for job in iterator:
                    seen.append(job.job_id)
        except ci_async.CIError as exc:
            tally.errors[type(exc).__name__] += 1
            tally.resumes += 1
            token = iterator.next_token
            continue
        except Exception as exc:
            tally.in_progress -= 1
            tally.untyped[f"{type(exc).__name__}: {exc}"[:120]] += 1
            return
        break
    else:
        tally.in_progress -= 1
        tally.unfinished += 1
        return
    tally.in_progress -= 1
    counts = collections.Counter(seen)
    tally.listings += 1
    tally.jobs_seen += len(seen)
    tally.jobs_expected += len(expected)
    tally.duplicated += sum(count - 1 for count in counts.values())
    tally.lost += sum(1 for job_id in expected if job_id not in counts)
    if list(dict.fromkeys(seen)) != expected:
        tally.misordered += 1


async def some_describes(
    session: ci_async.Session, ids: list[str], rng: random.Random, tally: Tally
) -> None:
    """Describe a few jobs, one in ten of them ids that do not exist."""
    for _ in range(DESCRIBES_PER_ROUND):
        exists = rng.random() >= 0.1
        job_id = rng.choice(ids) if exists else f"b{rng.getrandbits(128):032x}"
        tally.describes += 1
        try:
            job = await session.get_job(job_id)
        except ci_async.JobNotFoundError:
            if exists:
                tally.wrong_answers += 1
            else:
                tally.missing_reported += 1
        except ci_async.CIError as exc:
            tally.errors[type(exc).__name__] += 1
        except Exception as exc:
            tally.untyped[f"{type(exc).__name__}: {exc}"[:120]] += 1
        else:
            if not exists or job.job_id != job_id:
                tally.wrong_answers += 1


async def lister(
    session: ci_async.Session, expected: list[str], seed: int, stop_at: float, tally: Tally
) -> None:
    """List every job, again and again, until the time is up."""
    while anyio.current_time() < stop_at:
        await one_listing(session, expected, tally)


async def describer(
    session: ci_async.Session, expected: list[str], seed: int, stop_at: float, tally: Tally
) -> None:
    """Describe jobs until the time is up."""
    rng = random.Random(seed)
    while anyio.current_time() < stop_at:
        await some_describes(session, expected, rng, tally)


async def soak(args: argparse.Namespace, hello: dict[str, Any]) -> dict[str, Any]:
    """Run the load against the server described by ``hello``; what was seen."""
    logs = LogCounter()
    library_logger = logging.getLogger("ci_async")
    library_logger.addHandler(logs)
    library_logger.setLevel(logging.INFO)
    library_logger.propagate = False  # thousands of retries: count them, do not print them

    expected: list[str] = hello["ids"]
    tally = Tally()
    signer = ci_async.CosSigner(
        ci_async.Credentials(hello["secret_id"], hello["secret_key"]),
        clock=lambda: float(hello["now"]),  # the server's frozen clock
    )
    policy = ci_async.RetryPolicy(
        max_attempts=4, backoff=0.01, max_backoff=0.1, max_retry_after=0.1
    )
    samples: list[tuple[float, float]] = []
    warm_up = rss_warm = 0.0

    async with ci_async.Session(
        "examplebucket-1250000000",
        "ap-beijing",
        endpoint=hello["url"],
        signer=signer,
        retry=policy,
        timeout=2.0,
    ) as session:
        rss_start = settled_rss()
        started = anyio.current_time()
        stop_at = started + args.seconds

        listers = max(1, args.tasks // 4)

        async def sampler() -> None:
            # Warm-up: until every lister has completed a listing (every cache
            # full, every page buffer in use), within 10% to 50% of the run.
            nonlocal rss_warm, warm_up
            earliest, latest = started + args.seconds / 10, started + args.seconds / 2
            while (now := anyio.current_time()) < latest and (  # noqa: ASYNC110 - polls counters
                now < earliest or tally.listings < listers
            ):
                await anyio.sleep(0.5)
            warm_up = anyio.current_time() - started
            rss_warm = settled_rss()
            samples.append((warm_up, rss_warm))
            while anyio.current_time() < stop_at:
                await anyio.sleep(min(10.0, max(0.0, stop_at - anyio.current_time())))
                samples.append((anyio.current_time() - started, settled_rss()))

        # At the end every call still running is cancelled, wherever it is.
        with anyio.CancelScope(deadline=stop_at):
            async with anyio.create_task_group() as group:
                group.start_soon(sampler)
                for index in range(args.tasks):
                    role = lister if index < listers else describer
                    seed = args.seed * 1_000 + index
                    group.start_soon(role, session, expected, seed, stop_at, tally)
        elapsed = anyio.current_time() - started
    return {
        "tally": tally,
        "logs": logs,
        "elapsed": elapsed,
        "rss": (rss_start, warm_up, rss_warm, rss_mib()[0], settled_rss(), rss_mib()[1]),
        "samples": samples,
    }


def report(args: argparse.Namespace, seen: dict[str, Any], served: dict[str, Any]) -> int:
    """Print the figures; the exit status (0: every invariant held)."""
    tally: Tally = seen["tally"]
    logs: LogCounter = seen["logs"]
    elapsed: float = seen["elapsed"]
    rss_start, warm_up, rss_warm, rss_raw_end, rss_end, rss_method = seen["rss"]
    if _TRIM is not None:
        rss_method += " after gc and malloc_trim"
    requests = served["requests"]
    faults: dict[str, int] = served["faults"]
    growth = (rss_end - rss_warm) / rss_warm if rss_warm else float("inf")

    problems = []
    if tally.lost or tally.duplicated or tally.misordered:
        problems.append("jobs lost, duplicated or out of order")
    if tally.untyped or logs.errors:
        problems.append("untyped exceptions or errors logged")
    if tally.wrong_answers or tally.unfinished:
        problems.append("wrong describe answers or unfinished listings")
    if served["open_connections"]:
        problems.append("connections still open after the session closed")
    if abs(growth) > 0.10:
        problems.append("RSS at the end is not within 10% of the RSS after warm-up")

    transport = "aiohttp" if args.backend == "asyncio" else "httpx"
    errors = dict(sorted(tally.errors.items()))
    transport = f"{args.backend} ({transport} transport)"
    untyped = sum(tally.untyped.values())
    rows: list[tuple[str, str]] = [
        ("run", f"{elapsed:.0f} s, {args.tasks} tasks, {transport}, {args.jobs:,} jobs"),
        ("fault rate", f"{args.rate:.0%} of requests ({args.kinds})"),
        ("requests served", f"{requests:,} ({requests / elapsed:,.0f}/s)"),
        ("faults injected", f"{sum(faults.values()):,} {faults}"),
        ("retries", f"{logs.retries:,}"),
        ("errors after retries", f"{sum(errors.values()):,} {errors}"),
        (
            "listings completed",
            (
                f"{tally.listings:,} (resumed after an error {tally.resumes:,} times; "
                f"cancelled by the end of the run: {tally.in_progress})"
            ),
        ),
        ("jobs seen / expected", f"{tally.jobs_seen:,} / {tally.jobs_expected:,}"),
        (
            "jobs lost / duplicated",
            f"{tally.lost} / {tally.duplicated} (listings out of order: {tally.misordered})",
        ),
        (
            "describes",
            (
                f"{tally.describes:,} (missing ids reported: {tally.missing_reported:,}; "
                f"wrong answers: {tally.wrong_answers})"
            ),
        ),
        ("untyped exceptions", f"{untyped} {dict(tally.untyped) if untyped else ''}".rstrip()),
        ("errors logged", f"{len(logs.errors)} {logs.errors[:3] if logs.errors else ''}".rstrip()),
        ("connections after close", f"{served['open_connections']} open"),
        (
            "RSS start / warm-up / end",
            (
                f"{rss_start:.1f} / {rss_warm:.1f} / {rss_end:.1f} MiB (end {growth:+.1%} "
                f"against warm-up, reached at {warm_up:.0f} s; {rss_method})"
            ),
        ),
        ("RSS samples", ", ".join(f"{at:.0f}s {mib:.1f}" for at, mib in seen["samples"])),
        ("RSS at the end, untrimmed", f"{rss_raw_end:.1f} MiB"),
        ("verdict", "PASS" if not problems else "FAIL: " + "; ".join(problems)),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0 if not problems else 1


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, start the server process, run the soak, report."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak", description="Soak ci_async under injected faults."
    )
    parser.add_argument("--seconds", type=float, default=300.0, help="how long (default 300)")
    parser.add_argument("--tasks", type=int, default=200, help="concurrent tasks (default 200)")
    parser.add_argument("--rate", type=float, default=0.05, help="fault probability per request")
    parser.add_argument("--jobs", type=int, default=2_000, help="jobs in the emulator")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--kinds", default=",".join(DEFAULT_KINDS), help="faults drawn from")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args)

    command = [sys.executable, "-m", "benchmarks.soak", "--serve", *(argv or sys.argv[1:])]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as server:
        assert server.stdin is not None
        assert server.stdout is not None
        hello = json.loads(server.stdout.readline())
        try:
            seen = anyio.run(soak, args, hello, backend=args.backend)
        finally:
            server.stdin.close()
        served = json.loads(server.stdout.readline())
    return report(args, seen, served)


if __name__ == "__main__":
    sys.exit(main())
