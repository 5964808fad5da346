"""The library's story in one run: list, describe, create and wait, cancel, an error, resume.

An emulator of the CI job API starts on a loopback port (a real HTTP server in
a background thread, on the wall clock, checking every request's v5 signature
against a freshly generated key pair), holding generated jobs and the API
documentation's two sample jobs. One ``ci_async.Session`` talks to it; each
step prints the code it runs (``>>>`` lines, as you would type them into
``python -m asyncio``), then what came back:

1. list every job, page by page, following ``NextToken`` (the first pages
   with their tokens, then a summary);
2. describe one job;
3. create a job and wait for it, printing each change of state;
4. cancel a running job;
5. catch a typed error, :class:`ci_async.JobNotFoundError`;
6. resume the listing from the token of step 1's second page.

Run it with ``nox -s demo`` or ``python examples/demo.py [--jobs N]
[--page-size N] [--pages N] [--seed N]``. It prints under 60 lines, none over
80 columns, and exits with status 0 when every check holds (each job listed
exactly once; the resumed listing yields exactly the jobs after its token;
the created job ended; the cancelled job is cancelled), 1 otherwise. The
server stops by itself at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from collections import Counter

import ci_async
from ci_async._format import escape, format_count
from ci_async.testing import Emulator

BUCKET = "examplebucket-1250000000"
REGION = "ap-beijing"
SAMPLE_DONE = "b3deffea2f84911ec9cb15254008618d9"  # a finished Workflow job (the API's sample)
SAMPLE_RUNNING = "be8f65004eb8511eaaed4f377124a303c"  # a running Job job (the API's sample)
MISSING = "b00000000000000000000000000000000"
WORKFLOW = "w7476ff3564ee45b7b490d64bccaba6cc"
THIS_FILE = "examples/demo.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The ci_async story on an emulated CI bucket: list, describe, create "
        "and wait, cancel, a typed error, resume.",
    )
    parser.add_argument("--jobs", type=int, default=2500, help="jobs to generate (default 2500)")
    parser.add_argument(
        "--page-size", type=int, default=100, help="jobs per page, 1-100 (default 100)"
    )
    parser.add_argument(
        "--pages", type=int, default=3, help="pages shown before the summary (default 3)"
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated jobs")
    return parser.parse_args(argv)


def say(text: str = "") -> None:
    print(text, flush=True)


def step(number: int, title: str, *code: str) -> None:
    """A step's title, then the code it runs, as typed into ``python -m asyncio``."""
    say()
    say(f"{number}. {title}")
    for line in code:
        say(f"   {line}")


def short(token: str | None, width: int = 28) -> str:
    """A token cut to fit a line (the service's tokens are opaque and long)."""
    if token is None:
        return "None (the last page)"
    return token if len(token) <= width else token[: width - 3] + "..."


def row(job: ci_async.Job) -> str:
    """One job in 80 columns: id, state, name, creation time."""
    name = escape(job.name or "-")  # service text: control characters escaped
    name = name if len(name) <= 15 else name[:14] + "\u2026"
    created = f"{job.creation_time:%Y-%m-%d %H:%M}" if job.creation_time else "-"
    return f"    {job.job_id}  {job.state!s:<8} {name:<15} {created}"


class Story:
    """The steps, against one session; each check that fails is kept in ``failures``."""

    def __init__(self, ci: ci_async.Session, args: argparse.Namespace) -> None:
        self.ci = ci
        self.args = args
        self.failures: list[str] = []

    def check(self, holds: bool, failure: str) -> None:
        if not holds:
            self.failures.append(failure)

    async def list_pages(self, expected: int) -> tuple[list[str], str | None]:
        """Step 1; returns the ids in listing order and the second page's token."""
        size = self.args.page_size
        step(
            1,
            "List every job, page by page",
            f">>> async for page in ci.list_jobs(page_size={size}).pages():",
            "...     print(page.next_token, page.jobs)",
        )
        ids: list[str] = []
        states: Counter[str] = Counter()
        second_token: str | None = None
        started = time.perf_counter()
        pages = 0
        async for page in self.ci.list_jobs(page_size=size).pages():
            pages += 1
            ids += [job.job_id for job in page]
            states.update(str(job.state) for job in page)
            if pages == 2:
                second_token = page.next_token
            if pages <= self.args.pages:
                say(f"   page {pages:>3}  {len(page):>3} jobs  next_token={short(page.next_token)}")
            if pages == 1:
                say(f"    {'JOB ID':<33}  {'STATE':<8} {'NAME':<15} CREATED (UTC+8)")
                for job in page.jobs[:3]:
                    say(row(job))
        elapsed = time.perf_counter() - started
        if pages > self.args.pages:
            say(f"   ... pages {self.args.pages + 1} to {pages}: the same, to the last token")
        rate = format_count(round(len(ids) / elapsed)) if elapsed > 0 else "?"
        say(f"   {pages} pages, {format_count(len(ids))} jobs in {elapsed:.2f} s ({rate} jobs/s)")
        say("   " + ", ".join(f"{format_count(n)} {state}" for state, n in states.most_common()))
        distinct = len(set(ids))
        self.check(distinct == len(ids) == expected, f"listed {len(ids)} ({distinct} distinct)")
        say(f"   check: each of the {format_count(expected)} jobs listed exactly once")
        return ids, second_token

    async def describe(self) -> None:
        step(2, "Describe one job", f'>>> job = await ci.get_job("{SAMPLE_DONE}")')
        job = await self.ci.get_job(SAMPLE_DONE)
        say(f"   {job.type} job {job.job_id} {job.name!r}: {job.state}")
        say(f"   created {job.creation_time}, ran {job.duration}")
        say(f"   workflows: {', '.join(job.operation.workflow_ids)}")

    async def create_and_wait(self) -> None:
        step(
            3,
            "Create a job, then wait for it",
            f'>>> WORKFLOW = "{WORKFLOW}"',
            '>>> job = await ci.create_job(name="thumbnails", workflow_ids=[WORKFLOW],',
            '...                           input=ci_async.JobInput(prefix="photos/"))',
            ">>> import time; t0 = time.time()",
            '>>> show = lambda job: print(f"{time.time() - t0:5.2f} s  {job.state}")',
            ">>> await ci.wait_for_job(job.job_id, poll_interval=0.25, on_update=show)",
        )
        job = await self.ci.create_job(
            name="thumbnails",
            workflow_ids=[WORKFLOW],
            input=ci_async.JobInput(prefix="photos/"),
        )
        t0 = time.time()

        def show(update: ci_async.Job) -> None:
            say(f"   {time.time() - t0:5.2f} s  {update.state}")

        done = await self.ci.wait_for_job(job.job_id, poll_interval=0.25, on_update=show)
        say(f"   {job.job_id} ended {done.state} after {time.time() - t0:.2f} s")
        self.check(done.is_terminal, f"the created job ended {done.state}")

    async def cancel(self) -> None:
        step(4, "Cancel a running job", f'>>> await ci.cancel_job("{SAMPLE_RUNNING}")')
        before = (await self.ci.get_job(SAMPLE_RUNNING)).state
        await self.ci.cancel_job(SAMPLE_RUNNING)
        after = (await self.ci.get_job(SAMPLE_RUNNING)).state
        say(f"   {SAMPLE_RUNNING}: {before} -> {after}")
        self.check(after == ci_async.JobState.CANCEL, f"the cancelled job is {after}")

    async def typed_error(self) -> None:
        step(
            5,
            "Catch a typed error",
            ">>> try:",
            f'...     await ci.get_job("{MISSING}")',
            "... except ci_async.JobNotFoundError as exc:",
            "...     print(exc.job_id, exc.request_id)",
        )
        try:
            await self.ci.get_job(MISSING)
        except ci_async.JobNotFoundError as exc:
            say(f"   caught {type(exc).__name__}: job_id={exc.job_id}")
            say(f"   request_id={exc.request_id}")
            say("   (a ci_async.ServiceError, itself a ci_async.CIError)")
        else:
            self.check(False, "no JobNotFoundError for an id that does not exist")

    async def resume(self, first_pass: list[str], token: str | None) -> None:
        size = self.args.page_size
        step(
            6,
            "Resume the listing from page 2's token",
            f">>> token = page2.next_token  # {short(token, 32)!r}, cut",
            f">>> [job async for job in ci.list_jobs(page_size={size}, next_token=token)]",
        )
        if token is None:
            say("   (one page only: nothing to resume)")
            return
        rest = [job.job_id async for job in self.ci.list_jobs(page_size=size, next_token=token)]
        expected = first_pass[2 * size :]
        say(f"   {format_count(len(rest))} jobs, from the first job of page 3 to the end")
        self.check(rest == expected, "the resumed listing differs from the first pass")
        say("   check: exactly the jobs the first pass listed after page 2")


async def tell(url: str, credentials: ci_async.Credentials, args: argparse.Namespace) -> Story:
    async with ci_async.Session(BUCKET, REGION, credentials=credentials, endpoint=url) as ci:
        story = Story(ci, args)
        listed, token = await story.list_pages(args.jobs + 2)
        await story.describe()
        await story.create_and_wait()
        await story.cancel()
        await story.typed_error()
        await story.resume(listed, token)
    return story


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not 1 <= args.page_size <= 100 or args.jobs < 0 or args.pages < 1:
        print(
            "error: --page-size must be 1-100, --jobs 0 or more, --pages 1 or more", file=sys.stderr
        )
        return 2
    # A fresh key pair: the emulator verifies every request's signature against it.
    credentials = ci_async.Credentials("AKID" + secrets.token_hex(16), secrets.token_urlsafe(24))
    emulator = Emulator(
        credentials=credentials,
        bucket=BUCKET,
        region=REGION,
        seed=args.seed,
        clock=time.time,  # the wall clock, and the quick timeline: a new job ends within 2 s
        timeline="quick",
    )
    emulator.generate(args.jobs)
    emulator.add_samples()
    say(f"ci_async demo: the code it runs is {THIS_FILE}")
    with emulator.serve() as server:
        say(f"emulator at {server.url}:")
        say(f"   {format_count(len(emulator))} jobs in bucket {BUCKET} ({REGION}),")
        say(f"   every signature checked against a fresh key ({credentials.secret_id[:8]}...)")
        story = asyncio.run(tell(server.url, credentials, args))
        requests = emulator.requests
        signed = sum(1 for request in requests if request.header("authorization"))
    say()
    say(f"{len(requests)} requests, {signed} signed and verified; the emulator has stopped.")
    for failure in story.failures:
        print(f"error: {failure}", file=sys.stderr)
    if story.failures:
        return 1
    say(f"Every check held. Read the code alongside: {THIS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
