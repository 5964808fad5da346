"""The main job, end to end: list every job of a CI bucket, page by page.

An emulator of the CI job API starts on a loopback port (a real HTTP server in
a background thread) holding a few thousand generated jobs and verifying the
v5 signature of every request against a freshly generated key pair. A
``ci_async.Session`` pointed at it with that pair lists every job through
``list_jobs(...).pages()``, following ``NextToken`` to the end, and prints each
page and a summary. The server stops by itself when the listing is done.

Run it with ``nox -s demo`` or ``python examples/demo.py [--jobs N]
[--page-size N] [--rows N] [--quiet]``. It exits with status 0 when every job
the emulator holds was listed exactly once, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from collections import Counter

import ci_async
from ci_async._format import JobTable, format_count
from ci_async.testing import Emulator

BUCKET = "examplebucket-1250000000"
REGION = "ap-beijing"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="List every job of an emulated CI bucket, page by page, with ci_async.",
    )
    parser.add_argument("--jobs", type=int, default=2500, help="jobs to generate (default 2500)")
    parser.add_argument(
        "--page-size", type=int, default=100, help="jobs per page, 1-100 (default 100)"
    )
    parser.add_argument(
        "--rows", type=int, default=3, help="jobs shown per page; the rest are counted (default 3)"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="one line per page, no tables, then the summary"
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated jobs")
    return parser.parse_args(argv)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {format_count(n)}" for name, n in counter.most_common())


async def list_everything(
    url: str, credentials: ci_async.Credentials, args: argparse.Namespace
) -> tuple[int, set[str]]:
    """List every job page by page, print pages and a summary; return (jobs, distinct ids)."""
    started = time.perf_counter()
    seen: set[str] = set()
    states: Counter[str] = Counter()
    types: Counter[str] = Counter()
    pages = jobs = 0
    table: JobTable | None = None
    async with ci_async.Session(BUCKET, REGION, credentials=credentials, endpoint=url) as ci:
        async for page in ci.list_jobs(page_size=args.page_size).pages():
            pages += 1
            jobs += len(page.jobs)
            for job in page.jobs:
                seen.add(job.job_id)
                states[str(job.state)] += 1
                types[str(job.type)] += 1
            token = page.next_token or "(none: last page)"
            print(
                f"page {pages:>3}  {len(page.jobs):>3} jobs  "
                f"total {format_count(jobs):>6}  next_token={token}"
            )
            if args.quiet or args.rows <= 0:
                continue
            if table is None:
                table = JobTable(page.jobs)
            shown = page.jobs[: args.rows]
            for line in table.lines(shown):
                print(f"    {line}")
            if len(page.jobs) > len(shown):
                print(f"    \u2026 and {len(page.jobs) - len(shown)} more jobs on this page")
    elapsed = time.perf_counter() - started
    print()
    print("summary")
    print(f"  pages     {format_count(pages)}")
    print(f"  jobs      {format_count(jobs)} ({format_count(len(seen))} distinct)")
    print(f"  states    {_counts(states)}")
    print(f"  types     {_counts(types)}")
    rate = jobs / elapsed if elapsed > 0 else 0.0
    print(f"  elapsed   {elapsed:.2f} s ({format_count(round(rate))} jobs/s)")
    return jobs, seen


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not 1 <= args.page_size <= 100:
        print("error: --page-size must be 1-100", file=sys.stderr)
        return 2
    if args.jobs < 0:
        print("error: --jobs must not be negative", file=sys.stderr)
        return 2
    # A fresh key pair: the emulator verifies every request's signature against it.
    credentials = ci_async.Credentials("AKID" + secrets.token_hex(16), secrets.token_urlsafe(24))
    emulator = Emulator(credentials=credentials, bucket=BUCKET, seed=args.seed, clock=time.time)
    emulator.generate(args.jobs)
    expected = len(emulator.jobs)
    with emulator.serve() as server:
        url = server.url
        print(
            f"emulator at {url}: {format_count(expected)} jobs, "
            f"bucket {BUCKET}, signatures verified (key id {credentials.secret_id[:8]}\u2026)"
        )
        print(f"listing every job, {args.page_size} per page\n")
        listed, seen = asyncio.run(list_everything(url, credentials, args))
        requests = emulator.requests
        signed = sum(1 for request in requests if request.header("authorization"))
    print(
        f"  requests  {format_count(len(requests))} seen by the emulator, "
        f"{format_count(signed)} signed and verified"
    )
    print(f"  emulator  stopped ({url} closed)")
    stored = {job.job_id for job in emulator.jobs}
    if listed != expected or seen != stored:
        print(
            f"error: listed {format_count(listed)} jobs ({format_count(len(seen))} distinct), "
            f"the emulator holds {format_count(expected)}",
            file=sys.stderr,
        )
        return 1
    print(f"  check     every one of the {format_count(expected)} jobs listed exactly once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
