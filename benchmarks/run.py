"""The benchmark harness: ``python -m benchmarks.run`` (what ``nox -s bench`` runs).

One run measures every target of the performance issue, side by side:

* ``list``     - list all jobs (20,000, loopback), five contenders;
* ``latency``  - list all jobs with 20 ms of server latency per request (3,000 jobs);
* ``prefetch`` - the same with 10 ms of awaited consumer work per page, prefetch on / off;
* ``describe`` - 2,000 describes, 64 in flight, five contenders;
* ``stall``    - the longest event-loop stall while listing 20,000 jobs (a 1 ms
  ticker task beside the listing), after the first page;
* ``first``    - the stall of the first request of a new Session, in a fresh process;
* ``parallel`` - ``list_jobs(parallel=8)`` with 20 ms latency, 20,000 jobs, 100 per
  page (when ``list_jobs`` accepts ``parallel``; otherwise reported "not available");
* ``parallel10`` - the same with 10 jobs a page, the service's default ``size``;
* ``memory``   - peak RSS growth listing 1,000,000 jobs; listing 1,000 pages with
  60 KB tokens; 1,000,000 jobs with ``parallel=8`` (when available);
* ``sign``     - signing one request, ``CosSigner.sign`` against the SDK's ``CosS3Auth``.

Method (``benchmarks/README.md`` has the details):

* The servers run in processes of their own: the emulator (``benchmarks._server``:
  pre-rendered pages, clock frozen, signatures verified, optional latency) and,
  for the memory rows, ``benchmarks._synth``, which makes pages up as it goes.
* Each contender runs in a worker process of its own (``benchmarks._worker``),
  started once per server and kept warm; the harness sends it one command per
  run. Client CPU is the worker's process CPU time (every thread) around the
  call alone; server CPU is read from ``/proc/PID/stat`` of the server.
* Every contender first lists (or describes) once untimed: this warms it up
  and its ids (a digest, in order) must equal everyone else's. Every timed run
  is checked the same way. Then timed rounds (5; 3 for the slow describe and
  parallel scenarios; ``--repeat N`` for N everywhere), contenders taking
  turns (the order rotates each round); figures are medians.
* Loop stalls, first requests and memory run in fresh processes.

Prints the tables and the targets; writes every run's raw figures, the medians,
the load average and the versions to ``benchmarks/results/latest.json``
(``quick.json`` with ``--quick``, which is a smoke test, not headline figures).
Exits 0 unless a contender failed or returned wrong results: figures are
reported, not gated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import functools
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from benchmarks import _contenders as c

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BUCKET = "examplebucket-1250000000"
REGION = "ap-beijing"
LATENCY = 0.020  # seconds per request, the latency rows
WORK = 0.010  # seconds of awaited consumer work per page, the prefetch row
PARALLEL = 8
#: Worker processes the list pages are parsed in, in the rows that say so.
PARSE_PROCESSES = 1
INFLIGHT = 64
TOKEN_BYTES = 60_000
SCENARIOS = (
    "list",
    "describe",
    "stall",
    "first",
    "latency",
    "prefetch",
    "parallel",
    "parallel10",
    "memory",
    "sign",
)

T = TypeVar("T")


class ContenderError(Exception):
    """A contender failed, or returned something other than what the server holds."""


# --- processes -------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads), from ``/proc``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(process: subprocess.Popen[str]) -> None:
    """Close its stdin (it stops by itself then); kill it if it has not after 20 s."""
    with contextlib.suppress(OSError):
        if process.stdin is not None:
            process.stdin.close()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@attrs.frozen
class Server:
    """A server process: where it listens and its pid (for its CPU time)."""

    target: c.Target
    pid: int


@contextlib.contextmanager
def server_process(module: str, *args: str, secret: tuple[str, str]) -> Iterator[Server]:
    """Run ``python -m MODULE ARGS`` until it prints its URL; stop it on exit (Ctrl-C too)."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            if line.startswith("http://"):
                url = line.strip()
                break
            print(f"  server: {line.strip().lstrip('# ')}", flush=True)
        if not url:
            msg = f"{module} exited ({process.wait()}) without printing its URL"
            raise RuntimeError(msg)
        yield Server(c.Target(url, BUCKET, REGION, *secret), process.pid)
    finally:
        _stop(process)


def emulator(
    jobs: int, secret: tuple[str, str], *, latency: float = 0.0, prerender: bool = True
) -> contextlib.AbstractContextManager[Server]:
    """The emulator in its own process (``benchmarks._server``)."""
    args = ["--jobs", str(jobs), "--secret-id", secret[0], "--secret-key", secret[1]]
    args += ["--bucket", BUCKET, "--latency", str(latency)]
    if prerender:
        args.append("--prerender")
    note = f", {latency * 1000:g} ms latency" if latency else ""
    print(f"starting the emulator: {jobs:,} jobs{note}, in its own process", flush=True)
    return server_process("benchmarks._server", *args, secret=secret)


class Worker:
    """One contender's process (``benchmarks._worker``): one JSON command, one JSON answer."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._worker", name],
            cwd=ROOT,
            env=_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def call(self, command: Mapping[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            msg = f"{self.name}: the worker exited ({self.process.wait()})"
            raise ContenderError(msg)
        answer: dict[str, Any] = json.loads(line)
        if not answer.pop("ok"):
            msg = f"{self.name}: {answer['error']}"
            raise ContenderError(msg)
        return answer

    def close(self) -> None:
        _stop(self.process)


@contextlib.contextmanager
def workers(names: Sequence[str]) -> Iterator[dict[str, Worker]]:
    """A worker per contender; all stopped on exit (Ctrl-C too)."""
    started: dict[str, Worker] = {}
    try:
        for name in names:
            started[name] = Worker(name)
        yield started
    finally:
        for worker in started.values():
            worker.close()


def run_fresh(module: str, config: Mapping[str, Any], timeout: float = 600) -> dict[str, Any]:
    """Run ``python -m MODULE`` once, ``config`` on its stdin; its last stdout line, as JSON."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=_env(),
            input=json.dumps(config) + "\n",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        msg = f"{module} ran over {timeout:.0f} s"
        raise ContenderError(msg) from exc
    if done.returncode != 0 or not done.stdout.strip():
        msg = f"{module} failed ({done.returncode}): {done.stderr.strip()[-600:]}"
        raise ContenderError(msg)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def target_json(target: c.Target) -> dict[str, str]:
    return attrs.asdict(target)


# --- timed runs ------------------------------------------------------------------------------


@attrs.define
class Runs:
    """Timed runs of one contender in one scenario."""

    items: int
    wall: list[float] = attrs.field(factory=list)
    cpu: list[float] = attrs.field(factory=list)
    server_cpu: list[float] = attrs.field(factory=list)
    extra: list[dict[str, Any]] = attrs.field(factory=list)

    @property
    def rates(self) -> list[float]:
        return [self.items / s for s in self.wall]

    @property
    def rate(self) -> float:
        """Median items per second."""
        return statistics.median(self.rates)

    @property
    def cpu_us(self) -> float:
        """Median client CPU microseconds per item."""
        return statistics.median(cpu / self.items * 1e6 for cpu in self.cpu)

    @property
    def server_us(self) -> float:
        """Median server CPU microseconds per item."""
        return statistics.median(cpu / self.items * 1e6 for cpu in self.server_cpu)

    def median_of(self, key: str) -> float:
        return statistics.median(float(run[key]) for run in self.extra)

    def as_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "median_per_s": round(self.rate, 1),
            "median_client_cpu_us_per_item": round(self.cpu_us, 2),
            "median_server_cpu_us_per_item": round(self.server_us, 2),
            "runs": [
                {
                    "per_s": round(self.items / wall, 1),
                    "wall_s": round(wall, 4),
                    "client_cpu_s": round(cpu, 4),
                    "server_cpu_s": round(server, 4),
                    **extra,
                }
                for wall, cpu, server, extra in zip(
                    self.wall, self.cpu, self.server_cpu, self.extra, strict=True
                )
            ],
        }


Entry = tuple[Worker, dict[str, Any]]


def verify(entries: Mapping[str, Entry], items: int) -> str:
    """Run each entry once, untimed; all must return ``items`` ids, the same in the same order."""
    digests: dict[str, str] = {}
    for name, (worker, command) in entries.items():
        answer = worker.call(command)
        if answer["count"] != items:
            msg = f"{name} returned {answer['count']} jobs, the server holds {items}"
            raise ContenderError(msg)
        digests[name] = answer["digest"]
    if len(set(digests.values())) != 1:
        msg = f"contenders returned different ids (digests of the ids in order): {digests}"
        raise ContenderError(msg)
    print(f"    verified: every contender returned the same {items:,} ids in order", flush=True)
    return next(iter(digests.values()))


def take_turns(
    entries: Mapping[str, Entry],
    repeat: int,
    items: int,
    reference: str,
    server_pid: int,
    unit: str = "/s",
) -> dict[str, Runs]:
    """Time every entry ``repeat`` times, in turns (the order rotates), checking each result."""
    runs = {name: Runs(items) for name in entries}
    names = list(entries)
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            worker, command = entries[name]
            server_before = cpu_seconds(server_pid)
            answer = worker.call(command)
            server = cpu_seconds(server_pid) - server_before
            if answer["count"] != items or answer["digest"] != reference:
                msg = f"{name} returned {answer['count']} ids (digest {answer['digest']})"
                raise ContenderError(msg)
            run = runs[name]
            run.wall.append(answer.pop("wall"))
            run.cpu.append(answer.pop("cpu"))
            run.server_cpu.append(server)
            run.extra.append({k: v for k, v in answer.items() if k not in ("count", "digest")})
            print(
                f"    run {round_ + 1}/{repeat} {name:40} {items / run.wall[-1]:10,.0f}{unit}"
                f"  client CPU {run.cpu[-1] / items * 1e6:7.1f} us/item",
                flush=True,
            )
    return runs


# --- targets ---------------------------------------------------------------------------------


@attrs.frozen
class Goal:
    """One row of the targets: a measured value against what it must reach."""

    row: str
    target: float
    op: str  # ">=", "<=" or "<"
    unit: str  # "x", "ms", "MiB", "us"
    value: float | None = None
    cpu_ratio: float | None = None  # the same ratio on client CPU per item (throughput rows)
    status: str = ""  # "met", "MISSED", or why there is no figure ("not available", "error")

    @property
    def verdict(self) -> str:
        if self.value is None:
            return self.status or "not measured"
        met = {
            ">=": self.value >= self.target,
            "<=": self.value <= self.target,
            "<": self.value < self.target,
        }[self.op]
        return "met" if met else "MISSED"

    def _fmt(self, value: float) -> str:
        if self.unit == "check":
            return "yes" if value else "no"
        if self.unit == "x":
            return f"{value:.2f}x"
        return f"{value:,.1f} {self.unit}"

    def line(self, width: int) -> str:
        measured = "-" if self.value is None else self._fmt(self.value)
        cpu = "" if self.cpu_ratio is None else f"{self.cpu_ratio:.2f}x"
        target = "yes" if self.unit == "check" else f"{self.op} {self._fmt(self.target)}"
        return f"  {self.row:{width}} {target:>12} {measured:>12} {cpu:>9}  {self.verdict}"

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "target": self.target,
            "op": self.op,
            "unit": self.unit,
            "value": None if self.value is None else round(self.value, 4),
            "cpu_ratio": None if self.cpu_ratio is None else round(self.cpu_ratio, 4),
            "verdict": self.verdict,
        }


def ratio(runs: Mapping[str, Runs], ours: str, theirs: str, row: str, target: float) -> Goal:
    """``ours`` / ``theirs`` on median wall rates (and on client CPU per item, for reference)."""
    a, b = runs[ours], runs[theirs]
    return Goal(row, target, ">=", "x", a.rate / b.rate, b.cpu_us / a.cpu_us)


def missing(row: str, target: float, op: str, unit: str, status: str) -> Goal:
    return Goal(row, target, op, unit, status=status)


# --- report ----------------------------------------------------------------------------------


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


@attrs.define
class Report:
    """Everything printed and written: scenarios, targets, errors."""

    quick: bool
    data: dict[str, Any] = attrs.field(factory=dict)
    goals: list[Goal] = attrs.field(factory=list)
    lines: list[str] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)

    def scenario(self, key: str, title: str, **figures: Any) -> dict[str, Any]:
        entry = {"title": title, **figures}
        self.data.setdefault("scenarios", {})[key] = entry
        return entry

    def table(self, title: str, unit: str, runs: Mapping[str, Runs]) -> None:
        width = max(len(name) for name in runs)
        spreads = {name: " ".join(f"{rate:,.0f}" for rate in r.rates) for name, r in runs.items()}
        runs_width = max(len("runs"), *(len(spread) for spread in spreads.values()))
        self.lines += [
            title,
            (
                f"  {'contender':{width}} {unit + ' (median)':>16}  {'runs':>{runs_width}}"
                f" {'client CPU':>11} {'server CPU':>11}"
            ),
            f"  {'':{width}} {'':>16}  {'':>{runs_width}} {'us/item':>11} {'us/item':>11}",
        ]
        for name, r in runs.items():
            self.lines.append(
                f"  {name:{width}} {r.rate:16,.0f}  {spreads[name]:>{runs_width}}"
                f" {r.cpu_us:11.1f} {r.server_us:11.1f}"
            )


def machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str] = {}
    for name in (
        "ci-async",
        "httpx",
        "httpcore",
        "h11",
        "aiohttp",
        "xmltodict",
        "attrs",
        "anyio",
        "cos-python-sdk-v5",
        "requests",
        "trio",  # when installed, httpcore imports it on the first transport (~100 ms)
    ):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = ""
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        commit += " (uncommitted changes)" if dirty else ""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "versions": versions,
        "git_commit": commit,
        "ci_async_core": {"list_jobs_parallel": c.parallel_supported()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# --- the scenarios ---------------------------------------------------------------------------


@attrs.frozen
class Sizes:
    repeat: int  # timed rounds of the slow scenarios (describe, parallel)
    short_repeat: int  # ... of those whose runs take a second or two (list, stall, latency, ...)
    jobs: int  # list, stall
    describes: int
    latency_jobs: int
    parallel_jobs: int
    rss_jobs: int
    token_pages: int


def contest(
    report: Report,
    key: str,
    title: str,
    entries: Mapping[str, Entry],
    items: int,
    repeat: int,
    server: Server,
    *,
    unit: str,
    **figures: Any,
) -> dict[str, Runs]:
    """Check the entries agree, time them in turns and record the scenario ``key``."""
    before = load()
    reference = verify(entries, items)  # identical ids in identical order, or an error
    runs = take_turns(entries, repeat, items, reference, server.pid)
    report.scenario(
        key,
        title,
        unit=unit,
        **figures,
        load_before=before,
        load_after=load(),
        contenders={k: v.as_json() for k, v in runs.items()},
    )
    return runs


def scenario_list(report: Report, pool: dict[str, Worker], server: Server, sizes: Sizes) -> None:
    jobs = sizes.jobs
    title = f"list all {jobs:,} jobs, 100 per page, loopback"
    print(title, flush=True)
    command = {"op": "list", "target": target_json(server.target)}
    entries = {name: (pool[name], command) for name in c.ALL}
    runs = contest(report, "list", title, entries, jobs, sizes.short_repeat, server, unit="jobs/s")
    report.table(title, "jobs/s", runs)
    report.goals += [
        ratio(runs, c.CI_HTTPX, c.SDK, f"list {jobs // 1000}k: {c.CI_HTTPX} / sdk", 1.3),
        ratio(runs, c.CI_HTTPX, c.FLOOR_HTTPX, f"list {jobs // 1000}k: {c.CI_HTTPX} / floor", 0.8),
    ]


def scenario_describe(
    report: Report, pool: dict[str, Worker], server: Server, sizes: Sizes, ids: Sequence[str]
) -> None:
    count = min(sizes.describes, len(ids))
    title = f"{count:,} describes, {INFLIGHT} in flight (sdk: {INFLIGHT} threads)"
    print(title, flush=True)
    sample = random.Random(7).sample(list(ids), count)
    target = target_json(server.target)

    def command(job_ids: Sequence[str]) -> dict[str, Any]:
        return {"op": "describe", "target": target, "ids": list(job_ids), "inflight": INFLIGHT}

    # The untimed pass (warm-up and check) describes a tenth of them; every timed run
    # is checked against the digest of all the ids asked, in order.
    warm = sample[: max(2 * INFLIGHT, count // 10)]
    before = load()
    if verify({name: (pool[name], command(warm)) for name in c.ALL}, len(warm)) != c.digest(warm):
        msg = "the describes returned other ids than asked"
        raise ContenderError(msg)
    entries = {name: (pool[name], command(sample)) for name in c.ALL}
    reference = c.digest(sample)
    runs = take_turns(entries, sizes.repeat, count, reference, server.pid, unit=" req/s")
    report.scenario(
        "describe",
        title,
        unit="requests/s",
        load_before=before,
        load_after=load(),
        contenders={k: v.as_json() for k, v in runs.items()},
    )
    report.table(title, "req/s", runs)
    report.goals += [
        ratio(runs, c.CI_HTTPX, c.SDK, f"describe x{INFLIGHT}: {c.CI_HTTPX} / sdk", 1.2),
        ratio(runs, c.CI_AIOHTTP, c.SDK, f"describe x{INFLIGHT}: {c.CI_AIOHTTP} / sdk", 2.0),
        ratio(
            runs,
            c.CI_AIOHTTP,
            c.FLOOR_AIOHTTP,
            f"describe x{INFLIGHT}: {c.CI_AIOHTTP} / floor",
            0.4,
        ),
    ]


def scenario_stall(report: Report, pool: dict[str, Worker], server: Server, sizes: Sizes) -> None:
    jobs = sizes.jobs
    title = f"event-loop stalls listing {jobs:,} jobs (1 ms ticker beside it), after the first page"
    print(title, flush=True)
    command = {"op": "stall", "target": target_json(server.target), "interval": 0.001}
    entries = {name: (pool[name], command) for name in c.ASYNC}
    runs = contest(report, "stall", title, entries, jobs, sizes.short_repeat, server, unit="ms")
    width = max(len(name) for name in runs)
    spreads = {
        name: " ".join(f"{run['max_ms']:.1f}" for run in r.extra) for name, r in runs.items()
    }
    runs_width = max(len("longest, each run"), *(len(spread) for spread in spreads.values()))
    report.lines += [
        title,
        (
            f"  {'contender':{width}} {'longest (median)':>17}  {'longest, each run':>{runs_width}}"
            f" {'p99 (median)':>13} {'ticks > 5 ms':>13} {'CPU-only longest':>17}"
            f" {'full GCs, all runs':>19} {'longest full GC':>16}"
        ),
    ]
    for name, r in runs.items():
        report.lines.append(
            f"  {name:{width}} {r.median_of('max_ms'):14.1f} ms  {spreads[name]:>{runs_width}}"
            f" {r.median_of('p99_ms'):10.1f} ms {r.median_of('ticks_over_5ms'):13.0f}"
            f" {r.median_of('cpu_max_ms'):14.1f} ms"
            f" {sum(run['gc_full'] for run in r.extra):19d}"
            f" {max(run['gc_full_max_ms'] for run in r.extra):13.1f} ms"
        )
    report.lines.append(
        "  (CPU-only: each tick's lateness capped at the loop thread's CPU time in it, which"
        " leaves out the time the OS ran other processes; full GC: a generation-2 collection"
        " after the first page)"
    )
    for name in (c.CI_HTTPX, c.CI_AIOHTTP):
        report.goals.append(
            Goal(
                f"loop stall, list {jobs // 1000}k: {name}",
                25.0,
                "<=",
                "ms",
                runs[name].median_of("max_ms"),
            )
        )


FIRST_VARIANTS = {
    c.CI_HTTPX: (c.CI_HTTPX, False),
    f"{c.CI_AIOHTTP}, aiohttp imported by the app": (c.CI_AIOHTTP, True),
    f"{c.CI_AIOHTTP}, aiohttp not yet imported": (c.CI_AIOHTTP, False),
}


def scenario_first(report: Report, server: Server, sizes: Sizes, job_id: str) -> None:
    title = "first request of a new Session (fresh process, ci_async imported, loop running)"
    print(title, flush=True)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in FIRST_VARIANTS}
    repeat = max(sizes.short_repeat, 3)
    before = load()
    for round_ in range(repeat):
        for name, (contender, preimport) in FIRST_VARIANTS.items():
            config = {
                "target": target_json(server.target),
                "contender": contender,
                "job_id": job_id,
                "preimport_aiohttp": preimport,
            }
            result = run_fresh("benchmarks._first", config, timeout=120)
            results[name].append(result)
            print(
                f"    run {round_ + 1}/{repeat} {name:48} stall {result['stall_ms']:6.1f} ms,"
                f" first request {result['first_ms']:6.1f} ms (CPU {result['first_cpu_ms']:.1f}),"
                f" second {result['second_ms']:5.1f} ms",
                flush=True,
            )

    def median(name: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in results[name])

    report.scenario(
        "first",
        title,
        load_before=before,
        load_after=load(),
        variants={
            name: {
                "median_stall_ms": round(median(name, "stall_ms"), 2),
                "median_stall_cpu_ms": round(median(name, "stall_cpu_ms"), 2),
                "median_first_ms": round(median(name, "first_ms"), 2),
                "median_first_cpu_ms": round(median(name, "first_cpu_ms"), 2),
                "median_second_ms": round(median(name, "second_ms"), 2),
                "runs": runs,
            }
            for name, runs in results.items()
        },
    )
    width = max(len(name) for name in results)
    report.lines += [
        title,
        (
            f"  {'variant':{width}} {'longest stall':>14} {'CPU-only':>10} {'first request':>14}"
            f" {'its CPU':>10} {'modules':>8} {'second':>9}"
        ),
    ]
    for name in results:
        report.lines.append(
            f"  {name:{width}} {median(name, 'stall_ms'):11.1f} ms"
            f" {median(name, 'stall_cpu_ms'):7.1f} ms"
            f" {median(name, 'first_ms'):11.1f} ms {median(name, 'first_cpu_ms'):7.1f} ms"
            f" {median(name, 'modules_imported'):8.0f} {median(name, 'second_ms'):6.1f} ms"
        )
    for name in list(FIRST_VARIANTS)[:2]:
        report.goals.append(
            Goal(f"first request stall: {name}", 50.0, "<=", "ms", median(name, "stall_ms"))
        )


def scenario_latency(report: Report, pool: dict[str, Worker], server: Server, sizes: Sizes) -> None:
    jobs = sizes.latency_jobs
    title = f"list all {jobs:,} jobs, {LATENCY * 1000:g} ms server latency per request"
    print(title, flush=True)
    command = {"op": "list", "target": target_json(server.target)}
    entries = {name: (pool[name], command) for name in c.ALL}
    runs = contest(
        report,
        "latency",
        title,
        entries,
        jobs,
        sizes.short_repeat,
        server,
        unit="jobs/s",
        latency_s=LATENCY,
    )
    report.table(title, "jobs/s", runs)
    report.goals.append(
        ratio(runs, c.CI_HTTPX, c.SDK, f"list {jobs / 1000:g}k, 20 ms: {c.CI_HTTPX} / sdk", 1.15)
    )


def scenario_prefetch(
    report: Report, pool: dict[str, Worker], server: Server, sizes: Sizes
) -> None:
    jobs = sizes.latency_jobs
    title = (
        f"list all {jobs:,} jobs, {LATENCY * 1000:g} ms latency,"
        f" {WORK * 1000:g} ms of awaited work per page"
    )
    print(title, flush=True)
    entries: dict[str, Entry] = {}
    for name in (c.CI_HTTPX, c.CI_AIOHTTP):
        for prefetch in (True, False):
            command = {
                "op": "list",
                "target": target_json(server.target),
                "options": {"work": WORK, "prefetch": prefetch},
            }
            entries[f"{name} prefetch={'on' if prefetch else 'off'}"] = (pool[name], command)
    runs = contest(
        report,
        "prefetch",
        title,
        entries,
        jobs,
        sizes.short_repeat,
        server,
        unit="jobs/s",
        latency_s=LATENCY,
        work_s=WORK,
    )
    report.table(title, "jobs/s", runs)
    on, off = runs[f"{c.CI_HTTPX} prefetch=on"], runs[f"{c.CI_HTTPX} prefetch=off"]
    report.goals.append(
        Goal(
            f"list {jobs / 1000:g}k, 20 ms + 10 ms work: {c.CI_HTTPX} prefetch on / off",
            1.25,
            ">=",
            "x",
            on.rate / off.rate,
        )
    )


def _per_page(size: int) -> str:
    """How the parallel rows name a page size other than the 100 every other row uses."""
    return "" if size == 100 else f", {size} per page"


def parallel_check(jobs: int, size: int) -> Goal:
    """The parallel listing returns the sequential listing's ids in its order (1: yes)."""
    return Goal(
        f"list {jobs // 1000}k{_per_page(size)}, parallel={PARALLEL}: same ids, same order",
        1,
        ">=",
        "check",
    )


def parallel_rows(jobs: int, size: int, processes: int = 0) -> list[tuple[str, str, float]]:
    k = f"{jobs // 1000}k{_per_page(size)}"
    how = f"parallel={PARALLEL}" + (f", parse_processes={processes}" if processes else "")
    return [
        (f"list {k}, 20 ms: {how} / sequential", "sequential", 4.0),
        (f"list {k}, 20 ms: {how} / sdk", c.SDK, 5.0),
    ]


def scenario_parallel(
    report: Report,
    pool: dict[str, Worker],
    server: Server,
    sizes: Sizes,
    key: str,
    size: int,
) -> None:
    """``parallel=8`` against the sequential listing and the SDK, ``size`` jobs a page.

    Pages of 100 (the most the service gives) take the fewest requests: with
    20 ms a request, the client's CPU is what limits a parallel listing, and
    the ceiling row shows how far. Pages of 10 (the service's default
    ``size``): the round trips are what limits it.
    """
    jobs = sizes.parallel_jobs
    title = (
        f"list all {jobs:,} jobs, {size} per page, {LATENCY * 1000:g} ms latency,"
        f" parallel={PARALLEL}"
    )
    print(title, flush=True)
    target = target_json(server.target)
    par = f"{c.CI_HTTPX} parallel={PARALLEL}"
    sequential = f"{c.CI_HTTPX} sequential"
    ceiling = f"{c.FLOOR_HTTPX} {PARALLEL} windows known in advance"
    processes = f"parse_processes={PARSE_PROCESSES}"
    in_worker = f"{par}, {processes}"
    listing = {"op": "list", "target": target, "options": {"size": size}}
    entries: dict[str, Entry] = {
        par: (pool[c.CI_HTTPX], {**listing, "options": {"size": size, "parallel": PARALLEL}}),
        sequential: (pool[c.CI_HTTPX], listing),
        c.SDK: (pool[c.SDK], listing),
    }
    if size == 100:  # (with pages of 10, the CPU is not what limits it)
        windows = asyncio.run(c.equal_windows(server.target, PARALLEL))
        options = {"size": size, "windows": windows}
        entries[ceiling] = (pool[c.FLOOR_HTTPX], {**listing, "options": options})
        # The client's CPU spread over two processes: pages parsed in a worker.
        options = {"size": size, "parallel": PARALLEL, "parse_processes": PARSE_PROCESSES}
        entries[in_worker] = (pool[c.CI_HTTPX], {**listing, "options": options})
        options = {"size": size, "parse_processes": PARSE_PROCESSES}
        entries[f"{sequential}, {processes}"] = (pool[c.CI_HTTPX], {**listing, "options": options})
    runs = contest(
        report,
        key,
        title,
        entries,
        jobs,
        sizes.repeat,
        server,
        unit="jobs/s",
        latency_s=LATENCY,
        page_size=size,
        identical_ids_in_order=True,
    )
    report.table(title, "jobs/s", runs)
    if ceiling in runs:
        reach = runs[ceiling].rate / runs[sequential].rate
        report.lines.append(
            f"  the ceiling ({ceiling}) / {sequential}: {reach:.2f}x"
            f" ({PARALLEL} windows of equal shares, found by an untimed listing first; no records)"
        )
    for row, theirs, target_ratio in parallel_rows(jobs, size):
        other = sequential if theirs == "sequential" else theirs
        report.goals.append(ratio(runs, par, other, row, target_ratio))
    if in_worker in runs:
        for row, theirs, target_ratio in parallel_rows(jobs, size, PARSE_PROCESSES):
            other = sequential if theirs == "sequential" else theirs
            report.goals.append(ratio(runs, in_worker, other, row, target_ratio))
    # verify() and every timed run compared the digests of the ids in order: they matched.
    report.goals.append(attrs.evolve(parallel_check(jobs, size), value=1.0))


def memory_row(
    report: Report,
    key: str,
    title: str,
    row: str,
    limit: float,
    server: Server,
    jobs: int,
    warm_jobs: int,
    parallel: int | None = None,
) -> None:
    print(title, flush=True)
    config = {
        "target": target_json(server.target),
        "warm_jobs": warm_jobs,
        "parallel": parallel,
    }
    before = load()
    server_before = cpu_seconds(server.pid)
    result = run_fresh("benchmarks._rss", config, timeout=900)
    result["server_cpu_s"] = round(cpu_seconds(server.pid) - server_before, 2)
    if result["jobs"] != jobs:
        msg = f"{row}: listed {result['jobs']} jobs, the server holds {jobs}"
        raise ContenderError(msg)
    report.scenario(key, title, load_before=before, load_after=load(), **result)
    print(
        f"    {result['jobs']:,} jobs at {result['jobs_per_s']:,.0f}/s; RSS"
        f" {result['rss_base_kib'] / 1024:.1f} MiB -> peak {result['rss_peak_kib'] / 1024:.1f} MiB"
        f" (growth {result['growth_mib']:.1f} MiB), at the end {result['rss_end_kib'] / 1024:.1f}"
        f" MiB ({result['peak_method']})",
        flush=True,
    )
    base, peak, end = (result[k] / 1024 for k in ("rss_base_kib", "rss_peak_kib", "rss_end_kib"))
    report.lines += [
        title,
        f"  RSS at the baseline   {base:8.1f} MiB (after {warm_jobs:,} jobs, gc, malloc_trim)",
        (
            f"  peak RSS after it     {peak:8.1f} MiB (growth {result['growth_mib']:.1f} MiB;"
            f" {result['peak_method']})"
        ),
        (
            f"  RSS at the end        {end:8.1f} MiB (growth {result['end_growth_mib']:.1f} MiB;"
            " iterator alive, gc, malloc_trim)"
        ),
        f"  rate                  {result['jobs_per_s']:8,.0f} jobs/s",
    ]
    report.goals.append(Goal(row, limit, "<", "MiB", result["growth_mib"]))


def _spread(values: Sequence[float]) -> str:
    return " ".join(f"{x:.1f}" for x in values)


def scenario_signing(report: Report, sizes: Sizes, number: int = 20_000) -> None:
    """Microseconds to sign one list request: CosSigner.sign vs the SDK's CosS3Auth."""
    title = "sign one list request (the same request, key pair and query)"
    print(title, flush=True)
    import httpx
    import requests
    from qcloud_cos import CosConfig
    from qcloud_cos.cos_auth import CosS3Auth

    from ci_async import CosSigner, Credentials

    secret_id, secret_key = "AKID" + "x" * 32, "k" * 32
    host = f"{BUCKET}.ci.{REGION}.myqcloud.com"
    url = f"https://{host}/inventorytriggerjob"
    params = [("size", "100"), ("nextToken", "MTY1NjMxNDE5MHxiM2RlZmZlYQ")]
    signer = CosSigner(Credentials(secret_id, secret_key))
    request = httpx.Request("GET", url, params=tuple(params))

    def per_sign(loop: Callable[[], None]) -> tuple[float, float]:
        """Microseconds per signature: (CPU time of this thread, wall-clock)."""
        cpu, wall = time.thread_time(), time.perf_counter()
        loop()
        return (
            (time.thread_time() - cpu) / number * 1e6,
            (time.perf_counter() - wall) / number * 1e6,
        )

    async def ci_signs() -> None:
        for _ in range(number):
            await signer.sign(request)

    config = CosConfig(Region=REGION, SecretId=secret_id, SecretKey=secret_key)
    # The request as the SDK's requests.Session prepares it (its default headers included).
    prepared = requests.Session().prepare_request(
        requests.Request("GET", url, headers={"Host": host}, params=params)
    )
    sdk_params = dict(params)

    def sdk_signs() -> None:
        # What the SDK does for every request: a new CosS3Auth, called on the request.
        for _ in range(number):
            CosS3Auth(config, "inventorytriggerjob", params=sdk_params)(prepared)

    runs: dict[str, list[tuple[float, float]]] = {"ci_async": [], "sdk": []}
    contenders: dict[str, Callable[[], None]] = {
        "ci_async": lambda: asyncio.run(ci_signs()),
        "sdk": sdk_signs,
    }
    for loop in contenders.values():
        loop()  # warm-up, untimed
    for _ in range(max(sizes.short_repeat, 5)):
        for name, loop in contenders.items():
            runs[name].append(per_sign(loop))
    ci_us, sdk_us = (statistics.median(cpu for cpu, _ in runs[k]) for k in ("ci_async", "sdk"))
    ci_wall, sdk_wall = (
        statistics.median(wall for _, wall in runs[k]) for k in ("ci_async", "sdk")
    )
    print(f"    CosSigner.sign {ci_us:.1f} us, SDK CosS3Auth {sdk_us:.1f} us (CPU)", flush=True)
    report.scenario(
        "sign",
        title,
        iterations_per_run=number,
        ci_async_cpu_us=round(ci_us, 3),
        sdk_cpu_us=round(sdk_us, 3),
        ci_async_wall_us=round(ci_wall, 3),
        sdk_wall_us=round(sdk_wall, 3),
        runs_cpu_wall_us={k: [[round(x, 3) for x in run] for run in v] for k, v in runs.items()},
    )
    report.lines += [
        title + " - CPU time per signature (wall-clock beside it)",
        (
            f"  ci_async CosSigner.sign  {ci_us:6.1f} us ({ci_wall:.1f})"
            f"   runs {_spread([cpu for cpu, _ in runs['ci_async']])}"
        ),
        (
            f"  sdk CosS3Auth            {sdk_us:6.1f} us ({sdk_wall:.1f})"
            f"   runs {_spread([cpu for cpu, _ in runs['sdk']])}"
        ),
    ]
    report.goals += [
        Goal("sign one request: ci_async CosSigner.sign (CPU)", 14.0, "<=", "us", ci_us),
        Goal("sign one request: sdk CosS3Auth / ci_async (CPU)", 2.0, ">=", "x", sdk_us / ci_us),
    ]


# --- the run ---------------------------------------------------------------------------------


def guarded(report: Report, name: str, goals: Sequence[Goal], func: Callable[[], None]) -> None:
    """Run one scenario; on a contender's failure record it (and its rows as errors), go on."""
    try:
        func()
    except ContenderError as exc:
        print(f"  ERROR in {name}: {exc}", flush=True)
        report.errors.append(f"{name}: {exc}")
        report.lines += [f"{name}: ERROR {exc}"]
        report.goals += [attrs.evolve(goal, status="error") for goal in goals]


def run(args: argparse.Namespace, sizes: Sizes, report: Report) -> None:
    only = set(args.only)
    secret = ("AKIDbench" + secrets.token_hex(14), secrets.token_hex(16))
    jobs_k = sizes.jobs // 1000
    parallel = c.parallel_supported()

    if only & {"list", "describe", "stall", "first"}:
        with emulator(sizes.jobs, secret) as server, workers(c.ALL) as pool:
            ids = pool[c.FLOOR_HTTPX].call({"op": "ids", "target": target_json(server.target)})[
                "ids"
            ]
            if len(ids) != sizes.jobs:
                msg = f"the emulator lists {len(ids)} jobs, not {sizes.jobs}"
                raise ContenderError(msg)
            if "list" in only:
                guarded(
                    report,
                    "list",
                    [
                        Goal(f"list {jobs_k}k: {c.CI_HTTPX} / sdk", 1.3, ">=", "x"),
                        Goal(f"list {jobs_k}k: {c.CI_HTTPX} / floor", 0.8, ">=", "x"),
                    ],
                    lambda: scenario_list(report, pool, server, sizes),
                )
            if "describe" in only:
                guarded(
                    report,
                    "describe",
                    [
                        Goal(f"describe x{INFLIGHT}: {c.CI_HTTPX} / sdk", 1.2, ">=", "x"),
                        Goal(f"describe x{INFLIGHT}: {c.CI_AIOHTTP} / sdk", 2.0, ">=", "x"),
                        Goal(f"describe x{INFLIGHT}: {c.CI_AIOHTTP} / floor", 0.4, ">=", "x"),
                    ],
                    lambda: scenario_describe(report, pool, server, sizes, ids),
                )
            if "stall" in only:
                guarded(
                    report,
                    "stall",
                    [
                        Goal(f"loop stall, list {jobs_k}k: {name}", 25.0, "<=", "ms")
                        for name in (c.CI_HTTPX, c.CI_AIOHTTP)
                    ],
                    lambda: scenario_stall(report, pool, server, sizes),
                )
            if "first" in only:
                guarded(
                    report,
                    "first",
                    [
                        Goal(f"first request stall: {name}", 50.0, "<=", "ms")
                        for name in list(FIRST_VARIANTS)[:2]
                    ],
                    lambda: scenario_first(report, server, sizes, ids[0]),
                )

    if only & {"latency", "prefetch"}:
        with (
            emulator(sizes.latency_jobs, secret, latency=LATENCY) as server,
            workers(c.ALL) as pool,
        ):
            k = f"{sizes.latency_jobs / 1000:g}k"
            if "latency" in only:
                guarded(
                    report,
                    "latency",
                    [Goal(f"list {k}, 20 ms: {c.CI_HTTPX} / sdk", 1.15, ">=", "x")],
                    lambda: scenario_latency(report, pool, server, sizes),
                )
            if "prefetch" in only:
                guarded(
                    report,
                    "prefetch",
                    [
                        Goal(
                            f"list {k}, 20 ms + 10 ms work: {c.CI_HTTPX} prefetch on / off",
                            1.25,
                            ">=",
                            "x",
                        )
                    ],
                    lambda: scenario_prefetch(report, pool, server, sizes),
                )

    # Pages of 100, the benchmark's size everywhere, and of 10, the service's default.
    for name, size in (("parallel", 100), ("parallel10", 10)):
        if name not in only:
            continue
        rows = parallel_rows(sizes.parallel_jobs, size)
        check = parallel_check(sizes.parallel_jobs, size)
        if not parallel:
            print(f"list_jobs(parallel={PARALLEL}): not available, skipped", flush=True)
            report.lines.append(f"list_jobs(parallel={PARALLEL}): not available in this ci_async")
            report.goals += [missing(row, t, ">=", "x", "not available") for row, _, t in rows]
            report.goals.append(attrs.evolve(check, status="not available"))
            continue
        with (
            emulator(sizes.parallel_jobs, secret, latency=LATENCY) as server,
            workers([c.SDK, c.CI_HTTPX, c.FLOOR_HTTPX]) as pool,
        ):
            guarded(
                report,
                name,
                [*(Goal(row, t, ">=", "x") for row, _, t in rows), check],
                functools.partial(scenario_parallel, report, pool, server, sizes, name, size),
            )

    if "memory" in only:
        rss_k = f"{sizes.rss_jobs / 1e6:g}M" if sizes.rss_jobs >= 1e6 else f"{sizes.rss_jobs:,}"
        row = f"list {rss_k} jobs: peak RSS growth"
        with server_process("benchmarks._synth", "--jobs", str(sizes.rss_jobs), secret=secret) as s:
            guarded(
                report,
                "memory",
                [Goal(row, 50.0, "<", "MiB")],
                lambda: memory_row(
                    report,
                    "memory",
                    f"list {sizes.rss_jobs:,} jobs in a fresh process ({c.CI_HTTPX},"
                    " synthesized pages)",
                    row,
                    50.0,
                    s,
                    sizes.rss_jobs,
                    2_000,
                ),
            )
        token_jobs = sizes.token_pages * 100
        row = f"list {sizes.token_pages:,} pages, 60 KB tokens: peak RSS growth"
        with server_process(
            "benchmarks._synth",
            "--jobs",
            str(token_jobs),
            "--token-bytes",
            str(TOKEN_BYTES),
            secret=secret,
        ) as s:
            guarded(
                report,
                "memory_tokens",
                [Goal(row, 10.0, "<", "MiB")],
                lambda: memory_row(
                    report,
                    "memory_tokens",
                    f"list {sizes.token_pages:,} pages of 100 jobs, each with a distinct"
                    f" {TOKEN_BYTES:,}-byte NextToken ({c.CI_HTTPX})",
                    row,
                    10.0,
                    s,
                    token_jobs,
                    1_000,
                ),
            )
        row = f"list {rss_k} jobs, parallel={PARALLEL}: peak RSS growth"
        if not parallel:
            report.lines.append(
                f"list {rss_k} jobs with parallel={PARALLEL}: not available in this ci_async"
            )
            report.goals.append(missing(row, 100.0, "<", "MiB", "not available"))
        else:
            with emulator(sizes.rss_jobs, secret, prerender=False) as server:
                guarded(
                    report,
                    "memory_parallel",
                    [Goal(row, 100.0, "<", "MiB")],
                    lambda: memory_row(
                        report,
                        "memory_parallel",
                        f"list {sizes.rss_jobs:,} jobs, parallel={PARALLEL}, in a fresh process"
                        " (emulator)",
                        row,
                        100.0,
                        server,
                        sizes.rss_jobs,
                        2_000,
                        parallel=PARALLEL,
                    ),
                )

    if "sign" in only:
        scenario_signing(report, sizes)


def busy_warning(cpus: int, load_now: Sequence[float]) -> str | None:
    """A warning when other processes already keep the CPUs busy (wall times suffer)."""
    if not load_now or load_now[0] <= 0.5 * cpus:
        return None
    return (
        f"warning: load average {load_now[0]:.1f} on {cpus} CPUs before starting: other"
        " processes compete with the clients and the servers, so wall-clock rates will be low"
        " and noisy; the client CPU us/item columns hold up better"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--repeat",
        type=int,
        help="timed runs per contender in every scenario (default: 5, and 3 for the slow"
        " describe and parallel scenarios)",
    )
    parser.add_argument(
        "--only",
        type=lambda text: [s.strip() for s in text.split(",") if s.strip()],
        default=list(SCENARIOS),
        help=f"comma-separated scenarios (default all): {','.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, one run each: a smoke test for development, not headline figures",
    )
    parser.add_argument("--output", type=Path, help="where to write the JSON report")
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.quick:
        sizes = Sizes(args.repeat or 1, args.repeat or 1, 5_000, 300, 1_000, 5_000, 50_000, 100)
    else:
        sizes = Sizes(
            args.repeat or 3, args.repeat or 5, 20_000, 2_000, 3_000, 20_000, 1_000_000, 1_000
        )
    output: Path = args.output or RESULTS / ("quick.json" if args.quick else "latest.json")
    partial = set(args.only) != set(SCENARIOS)

    started = time.perf_counter()
    report = Report(args.quick)
    info = machine()
    report.data.update(
        headline=not (args.quick or partial),
        quick=args.quick,
        machine=info,
        settings={"only": args.only, **attrs.asdict(sizes)},
        load={"start": load()},
    )
    label = "QUICK RUN (small sizes, not headline figures)" if args.quick else "full run"
    if partial:
        label += f", only {','.join(args.only)} (not a headline run)"
    print(
        f"ci_async benchmarks, {label}: {info['platform']}, {info['cpus']} CPUs,"
        f" Python {info['python']}, load {report.data['load']['start']}",
        flush=True,
    )
    busy = busy_warning(info["cpus"] or 1, report.data["load"]["start"])
    if busy:
        print(busy, flush=True)

    try:
        run(args, sizes, report)
    except ContenderError as exc:
        report.errors.append(str(exc))
        print(f"ERROR: {exc}", flush=True)
    except KeyboardInterrupt:
        print("interrupted: every server and worker stopped; nothing written", flush=True)
        return 130
    report.data["load"]["end"] = load()
    report.data["targets"] = [goal.as_json() for goal in report.goals]
    report.data["errors"] = report.errors
    report.data["seconds"] = round(time.perf_counter() - started, 1)

    print()
    print("\n".join(report.lines))
    if report.goals:
        width = max(len(goal.row) for goal in report.goals)
        print()
        print(
            "targets: ratios of median wall-clock rates; 'CPU' is the same ratio on client CPU"
            " per item (for reference)"
        )
        print(f"  {'row':{width}} {'target':>12} {'measured':>12} {'CPU':>9}  verdict")
        print("\n".join(goal.line(width) for goal in report.goals))
    print()
    if args.quick or partial:
        print(f"{label}: do not quote these figures as headline results")
    print(
        f"done in {report.data['seconds']:.0f} s; load average at the start"
        f" {report.data['load']['start']}, at the end {report.data['load']['end']}"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report.data, indent=2) + "\n")
    shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    print(f"wrote {shown}")
    if report.errors:
        print("ERRORS (a contender failed or returned wrong results):")
        print("\n".join(f"  {error}" for error in report.errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
