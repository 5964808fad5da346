"""The benchmark harness: ``python -m benchmarks.run`` (what ``nox -s bench`` runs).

Starts the emulator in a separate process on a loopback port (pre-rendered
list pages, clock frozen, signatures verified), then measures in one go:

(a) listing every job of 50,000 with ``size=100``;
(b) 2,000 describes with 64 requests in flight;
(c) signing one request;
(d) decoding one 100-job page into records (``benchmarks/bench_decode.py``);
(e) peak memory growth while listing 1,000,000 jobs (``benchmarks/_rss.py``);

plus the emulator's own serving rate (``benchmarks/bench_emulator.py``) and
the prefetch speed-up (``benchmarks/bench_prefetch.py``) when those exist.

Contenders of (a) and (b): ``ci_async`` (default settings), the floors
``floor-httpx`` and ``floor-aiohttp`` (bare loops: sign, send, ``xmltodict``),
and the official SDK. All fetch the same bytes from the same server, and
their results (job counts, and a digest of the ids in order) are checked
equal before any timing is reported. Each timed run is repeated ``--repeat``
times, contenders taking turns, and medians are reported with each run's
client CPU time per item (steadier than wall time on a busy machine).

Prints a table and writes it as JSON to ``benchmarks/results/latest.json``.
Always exits 0 unless a contender returned wrong results: the figures are
reported, not gated.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import os
import platform
import random
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import httpx

from benchmarks import _contenders as c

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BUCKET = "examplebucket-1250000000"
REGION = "ap-beijing"

T = TypeVar("T")


# --- the emulator process --------------------------------------------------------------------


@contextmanager
def emulator_process(
    jobs: int, secret_id: str, secret_key: str, *, prerender: bool
) -> Iterator[c.Target]:
    """Run ``benchmarks._server`` in a subprocess; yield where it listens; stop it on exit."""
    command = [
        sys.executable,
        "-m",
        "benchmarks._server",
        "--jobs",
        str(jobs),
        "--secret-id",
        secret_id,
        "--secret-key",
        secret_key,
        "--bucket",
        BUCKET,
    ]
    if prerender:
        command.append("--prerender")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            if line.startswith("http://"):
                url = line.strip()
                break
            print(f"  emulator: {line.strip().lstrip('# ')}", flush=True)
        if not url:
            msg = f"the emulator process exited ({process.wait()}) without printing its URL"
            raise RuntimeError(msg)
        yield c.Target(url, BUCKET, REGION, secret_id, secret_key)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- measuring -------------------------------------------------------------------------------


@attrs.define
class Runs:
    """Timed runs of one contender in one scenario."""

    items: int
    seconds: list[float] = attrs.field(factory=list)
    cpu_seconds: list[float] = attrs.field(factory=list)

    @property
    def rates(self) -> list[float]:
        return [self.items / s for s in self.seconds]

    @property
    def rate(self) -> float:
        """Median items per second."""
        return statistics.median(self.rates)

    @property
    def cpu_us(self) -> float:
        """Median client CPU microseconds per item."""
        return statistics.median(cpu / self.items * 1e6 for cpu in self.cpu_seconds)

    def as_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "median_per_s": round(self.rate, 1),
            "runs_per_s": [round(r, 1) for r in self.rates],
            "median_cpu_us_per_item": round(self.cpu_us, 2),
        }


def timed(func: Callable[[], T]) -> tuple[float, float, T]:
    """Wall seconds, process CPU seconds (all threads) and the result of ``func()``."""
    gc.collect()
    cpu = time.process_time()
    wall = time.perf_counter()
    result = func()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def take_turns(
    contenders: Mapping[str, Callable[[], T]],
    repeat: int,
    items: int,
    check: Callable[[str, T], None],
) -> dict[str, Runs]:
    """Time every contender ``repeat`` times, in turns, checking each result."""
    runs = {name: Runs(items) for name in contenders}
    for round_ in range(repeat):
        for name, func in contenders.items():
            seconds, cpu, result = timed(func)
            check(name, result)
            runs[name].seconds.append(seconds)
            runs[name].cpu_seconds.append(cpu)
            print(
                f"    run {round_ + 1}/{repeat} {name:14} {items / seconds:10,.0f}/s",
                flush=True,
            )
    return runs


class WrongResultError(Exception):
    """A contender returned something other than what the server holds."""


# --- (a) listing -----------------------------------------------------------------------------


def scenario_listing(target: c.Target, jobs: int, repeat: int) -> tuple[dict[str, Runs], list[str]]:
    """List every job; returns the runs and the job ids (for the describes)."""
    print(f"(a) listing {jobs:,} jobs, size=100", flush=True)
    listers: dict[str, Callable[..., Any]] = {
        "ci_async": lambda **kw: asyncio.run(c.list_ci_async(target, **kw)),
        "floor-httpx": lambda **kw: asyncio.run(c.list_floor_httpx(target, **kw)),
        "floor-aiohttp": lambda **kw: asyncio.run(c.list_floor_aiohttp(target, **kw)),
        "sdk": lambda **kw: c.list_sdk(target, **kw),
    }
    # One untimed pass each: warms the server's page cache for that contender's
    # query string, and proves every contender sees the same jobs in the same order.
    digests = {}
    for name, lister in listers.items():
        listed = lister(verify=True)
        if listed.count != jobs:
            msg = f"{name} listed {listed.count} jobs, the server holds {jobs}"
            raise WrongResultError(msg)
        digests[name] = listed.digest
    if len(set(digests.values())) != 1:
        msg = f"contenders saw different jobs: {digests}"
        raise WrongResultError(msg)
    print(f"    verified: every contender listed the same {jobs:,} jobs", flush=True)

    def check(name: str, listed: c.Listed) -> None:
        if listed.count != jobs:
            msg = f"{name} listed {listed.count} jobs, expected {jobs}"
            raise WrongResultError(msg)

    runs = take_turns(listers, repeat, jobs, check)
    ids = asyncio.run(_all_ids(target))
    return runs, ids


async def _all_ids(target: c.Target) -> list[str]:
    import ci_async

    async with ci_async.Session(
        target.bucket, target.region, endpoint=target.url, credentials=target.credentials
    ) as session:
        return [job.job_id async for job in session.list_jobs(page_size=100)]


# --- (b) describes ---------------------------------------------------------------------------


def scenario_describes(
    target: c.Target, all_ids: Sequence[str], count: int, inflight: int, repeat: int
) -> dict[str, Runs]:
    print(f"(b) {count:,} describes, {inflight} in flight", flush=True)
    ids = random.Random(7).sample(list(all_ids), min(count, len(all_ids)))
    describers: dict[str, Callable[[Sequence[str]], int]] = {
        "ci_async": lambda i: asyncio.run(c.describe_ci_async(target, i, inflight)),
        "floor-httpx": lambda i: asyncio.run(c.describe_floor_httpx(target, i, inflight)),
        "floor-aiohttp": lambda i: asyncio.run(c.describe_floor_aiohttp(target, i, inflight)),
        "sdk": lambda i: c.describe_sdk(target, i, inflight),
    }
    warm = ids[: max(inflight * 2, len(ids) // 10)]
    for name, describe in describers.items():
        found = describe(warm)
        if found != len(warm):
            msg = f"{name} described {found} of {len(warm)} jobs"
            raise WrongResultError(msg)
    print(f"    verified: every contender described all {len(warm)} warm-up jobs", flush=True)

    def check(name: str, found: int) -> None:
        if found != len(ids):
            msg = f"{name} described {found} of {len(ids)} jobs"
            raise WrongResultError(msg)

    contenders = {name: (lambda d=describe: d(ids)) for name, describe in describers.items()}
    return take_turns(contenders, repeat, len(ids), check)


# --- (c) signing -----------------------------------------------------------------------------


def scenario_signing(target: c.Target, repeat: int, number: int = 20_000) -> dict[str, float]:
    """Microseconds to sign one list request: CosSigner vs the SDK's CosS3Auth."""
    print("(c) signing one request", flush=True)
    import requests
    from qcloud_cos import CosConfig
    from qcloud_cos.cos_auth import CosS3Auth

    from ci_async import CosSigner
    from ci_async._signing import sign_v5

    host = f"{BUCKET}.ci.{REGION}.myqcloud.com"
    url = f"https://{host}/inventorytriggerjob"
    params = [("size", "100"), ("nextToken", "MTY1NjMxNDE5MHxiM2RlZmZlYQ")]
    signer = CosSigner(target.credentials)
    request = httpx.Request("GET", url, params=tuple(params))

    async def ci_loop() -> float:
        await signer.sign(request)
        start = time.perf_counter()
        for _ in range(number):
            await signer.sign(request)
        return (time.perf_counter() - start) / number * 1e6

    config = CosConfig(Region=REGION, SecretId=target.secret_id, SecretKey=target.secret_key)
    # The request as the SDK's requests.Session prepares it (its default headers included).
    prepared = requests.Session().prepare_request(
        requests.Request("GET", url, headers={"Host": host}, params=params)
    )
    sdk_params = dict(params)

    def sdk_loop() -> float:
        # What the SDK does for every request: a new CosS3Auth, called on the request.
        start = time.perf_counter()
        for _ in range(number):
            CosS3Auth(config, "inventorytriggerjob", params=sdk_params)(prepared)
        return (time.perf_counter() - start) / number * 1e6

    def raw_loop() -> float:
        key_time = f"{int(time.time())};{int(time.time()) + 3600}"
        start = time.perf_counter()
        for _ in range(number):
            sign_v5(
                secret_id=target.secret_id,
                secret_key=target.secret_key,
                method="GET",
                path="/inventorytriggerjob",
                params=params,
                headers={"host": host},
                key_time=key_time,
            )
        return (time.perf_counter() - start) / number * 1e6

    ci_runs, sdk_runs, raw_runs = [], [], []
    for _ in range(repeat):
        ci_runs.append(asyncio.run(ci_loop()))
        sdk_runs.append(sdk_loop())
        raw_runs.append(raw_loop())
    figures = {
        "ci_async_us": statistics.median(ci_runs),
        "sdk_us": statistics.median(sdk_runs),
        "sign_v5_us": statistics.median(raw_runs),
    }
    print(
        f"    CosSigner.sign {figures['ci_async_us']:.1f} us,"
        f" sign_v5 {figures['sign_v5_us']:.1f} us, SDK CosS3Auth {figures['sdk_us']:.1f} us",
        flush=True,
    )
    return figures


# --- (d) decoding ----------------------------------------------------------------------------


def scenario_decoding() -> dict[str, float]:
    print("(d) decoding one 100-job page", flush=True)
    from benchmarks.bench_decode import run as decode_run

    figures = decode_run(jobs=100)
    print(
        f"    xmltodict.parse {figures['xmltodict_us']:.0f} us,"
        f" decode_list {figures['decode_us']:.0f} us, overhead {figures['overhead']:.1%}",
        flush=True,
    )
    return figures


# --- (e) memory ------------------------------------------------------------------------------


def scenario_memory(jobs: int, secret_id: str, secret_key: str) -> dict[str, Any]:
    print(f"(e) peak RSS growth listing {jobs:,} jobs (a {jobs:,}-job emulator)", flush=True)
    with emulator_process(jobs, secret_id, secret_key, prerender=False) as target:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks._rss",
                target.url,
                "--secret-id",
                secret_id,
                "--secret-key",
                secret_key,
                "--bucket",
                BUCKET,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    figures: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    if figures["jobs"] != jobs:
        msg = f"the memory run listed {figures['jobs']} jobs, the server holds {jobs}"
        raise WrongResultError(msg)
    print(
        f"    {figures['jobs']:,} jobs at {figures['jobs_per_s']:,.0f}/s;"
        f" RSS {figures['rss_base_kib'] / 1024:.1f} MiB -> peak"
        f" {figures['rss_peak_kib'] / 1024:.1f} MiB: growth {figures['growth_mib']:.1f} MiB"
        f" ({figures['peak_method']})",
        flush=True,
    )
    return figures


# --- folded-in benchmarks of other modules ---------------------------------------------------


def emulator_rate() -> dict[str, Any] | None:
    """``bench_emulator.py`` (its own server process): pages/s served, or None if absent."""
    script = ROOT / "benchmarks" / "bench_emulator.py"
    if not script.exists():
        return None
    print("emulator serving rate (benchmarks/bench_emulator.py)", flush=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, str(script), "--seconds", "3", "--prerender"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"([\d,]+) pages/s", result.stdout)
    if result.returncode != 0 or match is None:
        print(f"    failed: {result.stderr.strip()[-300:]}", flush=True)
        return {"error": result.stderr.strip()[-300:]}
    pages = float(match.group(1).replace(",", ""))
    print(f"    {pages:,.0f} pages/s", flush=True)
    return {"pages_per_s": pages, "line": result.stdout.strip().splitlines()[-1]}


def prefetch_speedup() -> dict[str, Any] | None:
    """``bench_prefetch.run()`` over a loopback server, or None if the module is absent."""
    try:
        from benchmarks.bench_prefetch import run as prefetch_run
    except ImportError:
        return None
    print("prefetch speed-up (benchmarks/bench_prefetch.py, loopback)", flush=True)
    figures: dict[str, Any] = prefetch_run(loopback=True)
    print(
        f"    without {figures['without_prefetch_s']:.3f} s,"
        f" with {figures['with_prefetch_s']:.3f} s: {figures['ratio']:.2f}x",
        flush=True,
    )
    return figures


# --- report ----------------------------------------------------------------------------------


@attrs.frozen
class Goal:
    """One target: a measured ratio (or value) against what it must reach."""

    name: str
    value: float
    target: float
    higher_is_better: bool = True
    unit: str = "x"

    @property
    def met(self) -> bool:
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    @property
    def margin(self) -> float:
        """How far past (positive) or short of (negative) the target, relative to it."""
        if self.higher_is_better:
            return self.value / self.target - 1
        return self.target / self.value - 1 if self.value else float("inf")

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        verdict = "met" if self.met else "MISSED"
        return (
            f"  {self.name:46} {self.value:9.2f}{self.unit:4}"
            f" target {sign} {self.target:g}{self.unit:4} {verdict} ({self.margin:+.0%})"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "target": self.target,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "met": self.met,
        }


def table(title: str, unit: str, runs: dict[str, Runs]) -> list[str]:
    lines = [
        f"{title}",
        f"  {'contender':14} {'median ' + unit:>16} {'runs':>28} {'CPU us/item':>12}",
    ]
    for name, r in runs.items():
        spread = " ".join(f"{rate:,.0f}" for rate in r.rates)
        lines.append(f"  {name:14} {r.rate:16,.0f} {spread:>28} {r.cpu_us:12.1f}")
    return lines


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    from importlib.metadata import version

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in load],
        **{
            name: version(name)
            for name in ("httpx", "aiohttp", "xmltodict", "attrs", "cos-python-sdk-v5")
        },
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def busy_warning(info: dict[str, Any]) -> str | None:
    """A warning when other processes already keep the CPUs busy (wall times suffer)."""
    cpus = info["cpus"] or 1
    load = info["loadavg_at_start"][0]
    if load <= 0.5 * cpus:
        return None
    return (
        f"warning: load average {load:.1f} on {cpus} CPUs before starting: other processes"
        " compete with the client and the server, so wall-clock rates (and the speed-up"
        " from overlapping them) will be low and noisy; the CPU us/item columns hold up better"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs per contender (default 3)"
    )
    parser.add_argument("--jobs", type=int, default=50_000, help="jobs to list in (a)")
    parser.add_argument("--describes", type=int, default=2_000, help="describes in (b)")
    parser.add_argument("--inflight", type=int, default=64, help="describes in flight in (b)")
    parser.add_argument("--rss-jobs", type=int, default=1_000_000, help="jobs to list in (e)")
    parser.add_argument(
        "--only",
        default="abcdexp",
        help="scenarios to run: letters of abcde, x emulator, p prefetch",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke test")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.jobs, args.describes, args.rss_jobs = 1, 5_000, 300, 50_000

    started = time.perf_counter()
    secret_id = "AKIDbench" + secrets.token_hex(14)
    secret_key = secrets.token_hex(16)
    report: dict[str, Any] = {
        "machine": machine(),
        "settings": vars(args) | {"output": str(args.output)},
    }
    scenarios: dict[str, dict[str, Any]] = {}
    report["scenarios"] = scenarios
    targets: list[Goal] = []
    lines: list[str] = []
    print(
        f"ci_async benchmarks: {report['machine']['platform']}, {report['machine']['cpus']} CPUs,"
        f" Python {report['machine']['python']}, load {report['machine']['loadavg_at_start']}",
        flush=True,
    )
    busy = busy_warning(report["machine"])
    if busy:
        print(busy, flush=True)

    if {"a", "b", "c"} & set(args.only):
        print(
            f"starting the emulator ({args.jobs:,} jobs, pre-rendered pages) in a subprocess",
            flush=True,
        )
        with emulator_process(args.jobs, secret_id, secret_key, prerender=True) as target:
            ids: list[str] = []
            if "a" in args.only:
                listing, ids = scenario_listing(target, args.jobs, args.repeat)
                if listing:
                    scenarios["a_list"] = {
                        "title": f"(a) list {args.jobs:,} jobs, size=100",
                        "unit": "jobs/s",
                        "contenders": {k: v.as_json() for k, v in listing.items()},
                    }
                    lines += table(scenarios["a_list"]["title"], "jobs/s", listing)
                    ci = listing["ci_async"].rate
                    targets.append(
                        Goal(
                            "(a) list: ci_async / floor-httpx",
                            ci / listing["floor-httpx"].rate,
                            1.25,
                        )
                    )
                    targets.append(Goal("(a) list: ci_async / sdk", ci / listing["sdk"].rate, 2.0))
            elif "b" in args.only:
                ids = asyncio.run(_all_ids(target))
            if "b" in args.only:
                describes = scenario_describes(
                    target, ids, args.describes, args.inflight, args.repeat
                )
                scenarios["b_describe"] = {
                    "title": f"(b) {args.describes:,} get_job, {args.inflight} in flight",
                    "unit": "req/s",
                    "contenders": {k: v.as_json() for k, v in describes.items()},
                }
                lines += table(scenarios["b_describe"]["title"], "req/s", describes)
                ci = describes["ci_async"].rate
                targets.append(
                    Goal("(b) describe: ci_async / sdk", ci / describes["sdk"].rate, 3.0)
                )
                targets.append(
                    Goal(
                        "(b) describe: ci_async / floor-aiohttp",
                        ci / describes["floor-aiohttp"].rate,
                        0.5,
                    )
                )
            if "c" in args.only:
                signing = scenario_signing(target, max(args.repeat, 3))
                scenarios["c_sign"] = {"title": "(c) sign one request (us)", **signing}
                lines += [
                    "(c) sign one list request",
                    f"  ci_async CosSigner.sign   {signing['ci_async_us']:8.1f} us",
                    f"  ci_async sign_v5 (raw)    {signing['sign_v5_us']:8.1f} us",
                    f"  sdk CosS3Auth             {signing['sdk_us']:8.1f} us",
                ]
                targets.append(
                    Goal(
                        "(c) sign: sdk time / ci_async time",
                        signing["sdk_us"] / signing["ci_async_us"],
                        2.0,
                    )
                )
                targets.append(
                    Goal(
                        "(c) sign: ci_async time",
                        signing["ci_async_us"],
                        14.0,
                        higher_is_better=False,
                        unit="us",
                    )
                )
    if "d" in args.only:
        decoding = scenario_decoding()
        scenarios["d_decode"] = {"title": "(d) decode one 100-job page (us)", **decoding}
        lines += [
            "(d) decode one 100-job page",
            f"  xmltodict.parse alone     {decoding['xmltodict_us']:8.0f} us",
            f"  decode_list (records)     {decoding['decode_us']:8.0f} us",
        ]
        targets.append(
            Goal(
                "(d) decode: decode_list time / xmltodict.parse",
                decoding["overhead"] + 1,
                1.25,
                higher_is_better=False,
            )
        )
    if "e" in args.only:
        memory = scenario_memory(args.rss_jobs, secret_id, secret_key)
        scenarios["e_memory"] = {"title": f"(e) peak RSS growth, {args.rss_jobs:,} jobs", **memory}
        lines += [
            f"(e) list {args.rss_jobs:,} jobs in a fresh process",
            f"  RSS after warm-up         {memory['rss_base_kib'] / 1024:8.1f} MiB",
            f"  peak RSS                  {memory['rss_peak_kib'] / 1024:8.1f} MiB",
            f"  (peak from {memory['peak_method']})",
            f"  rate                      {memory['jobs_per_s']:8,.0f} jobs/s",
        ]
        targets.append(
            Goal(
                "(e) memory: peak RSS growth",
                memory["growth_mib"],
                50.0,
                higher_is_better=False,
                unit="MiB",
            )
        )
    if "x" in args.only:
        rate = emulator_rate()
        if rate is not None:
            scenarios["emulator"] = rate
            if "pages_per_s" in rate:
                lines += ["emulator loopback server", f"  {rate['line']}"]
                targets.append(
                    Goal(
                        "emulator: pages of 100 served per second",
                        rate["pages_per_s"],
                        2000.0,
                        unit="/s",
                    )
                )
    if "p" in args.only:
        prefetch = prefetch_speedup()
        if prefetch is not None:
            scenarios["prefetch"] = prefetch
            speedup = prefetch.get("ratio")
            if isinstance(speedup, (int, float)):
                lines += ["prefetch", f"  speed-up with prefetch    {speedup:8.2f}x"]
                targets.append(Goal("prefetch: listing speed-up", float(speedup), 1.6))

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    report["machine"]["loadavg_at_end"] = [round(x, 2) for x in load]
    report["targets"] = [t.as_json() for t in targets]
    report["seconds"] = round(time.perf_counter() - started, 1)
    print()
    print("\n".join(lines))
    print("targets")
    print("\n".join(t.line() for t in targets))
    end_load = report["machine"]["loadavg_at_end"]
    print(f"done in {report['seconds']:.0f} s; load average at the end {end_load}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"wrote {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
