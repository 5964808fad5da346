"""Why httpx's own transport slows down with many requests in flight, and what helps.

Describes jobs of the benchmark emulator (its own process, loopback) through
a bare ``httpx.AsyncClient`` on its native transport, varying how many
requests are in flight, the connection pool size, and an
``anyio.CapacityLimiter`` in front of the client (what a session could do
internally), under asyncio and trio; aiohttp beneath httpx
(:class:`ci_async._transport.AiohttpTransport`) is the reference, and
``Session.get_job`` itself (with and without a limiter) shows what a session
gets under each event loop. Prints requests/s and the client's CPU time per
request.

    python -m benchmarks.bench_httpx_pool [--requests 1000]

Not part of the targets: this backs the transport decision in
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence

import anyio
import httpx

import ci_async
from benchmarks import _contenders as c
from benchmarks.run import RESULTS, emulator_process


async def _drive(
    one: Callable[[str], Awaitable[object]],
    ids: Sequence[str],
    *,
    inflight: int,
    limiter: int | None,
) -> tuple[float, float]:
    """Seconds and CPU seconds for ``inflight`` tasks to call ``one`` on every id."""
    gate = anyio.CapacityLimiter(limiter) if limiter else None

    async def gated(job_id: str) -> None:
        if gate is None:
            await one(job_id)
        else:
            async with gate:
                await one(job_id)

    async def run(batch: Sequence[str]) -> None:
        pending: Iterator[str] = iter(batch)

        async def worker() -> None:
            for job_id in pending:
                await gated(job_id)

        async with anyio.create_task_group() as group:
            for _ in range(inflight):
                group.start_soon(worker)

    await run(ids[: max(inflight, 64)])  # open the connections
    cpu = time.process_time()
    wall = time.perf_counter()
    await run(ids)
    return time.perf_counter() - wall, time.process_time() - cpu


async def _describe_all(
    target: c.Target,
    ids: Sequence[str],
    *,
    inflight: int,
    pool: int,
    limiter: int | None,
    beneath: str,
) -> tuple[float, float]:
    """Describe ``ids`` from ``inflight`` tasks through ``beneath``.

    ``beneath``: ``"native"`` (a bare ``httpx.AsyncClient``), ``"aiohttp"``
    (the same over ``AiohttpTransport``), ``"httpx-aiohttp"`` (over that
    package's transport) or ``"session"`` (``Session.get_job`` with the
    session's default transport for the event loop).
    """
    if beneath == "session":
        async with ci_async.Session(
            target.bucket, target.region, endpoint=target.url, credentials=target.credentials
        ) as session:
            return await _drive(session.get_job, ids, inflight=inflight, limiter=limiter)
    signer = c.FloorSigner(target)
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    transport: httpx.AsyncBaseTransport | None = None
    if beneath == "httpx-aiohttp":  # the third-party package, for comparison
        from httpx_aiohttp import AiohttpTransport as PackageTransport

        transport = PackageTransport(limits=limits)
    elif beneath == "aiohttp":
        from ci_async._transport import AiohttpTransport

        transport = AiohttpTransport(max_connections=pool)
    async with httpx.AsyncClient(limits=limits, transport=transport) as client:

        async def one(job_id: str) -> None:
            path = f"{c.LIST_PATH}/{job_id}"
            response = await client.get(target.url + path, headers=signer.headers(path, ()))
            response.raise_for_status()

        return await _drive(one, ids, inflight=inflight, limiter=limiter)


CONFIGS: list[tuple[str, int, int, int | None, str]] = [
    # label, in flight, pool, limiter, what is beneath
    ("native, 1 in flight", 1, 100, None, "native"),
    ("native, 8 in flight", 8, 100, None, "native"),
    ("native, 16 in flight", 16, 100, None, "native"),
    ("native, 64 in flight", 64, 100, None, "native"),
    ("native, 64 in flight, pool 8", 64, 8, None, "native"),
    ("native, 64 in flight, pool 16", 64, 16, None, "native"),
    ("native, 64 in flight, limiter 8", 64, 100, 8, "native"),
    ("native, 64 in flight, limiter 16", 64, 100, 16, "native"),
    ("aiohttp beneath, 64 in flight", 64, 64, None, "aiohttp"),
    ("Session.get_job, 64 tasks", 64, 64, None, "session"),
    ("Session.get_job, 64 tasks, limiter 8", 64, 64, 8, "session"),
]
if importlib.util.find_spec("httpx_aiohttp") is not None:
    CONFIGS.append(("httpx-aiohttp package, 64 in flight", 64, 64, None, "httpx-aiohttp"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_httpx_pool")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    secret_id, secret_key = "AKIDbench" + secrets.token_hex(14), secrets.token_hex(16)
    results: list[dict[str, object]] = []
    with emulator_process(5_000, secret_id, secret_key, prerender=True) as target:
        ids = c_ids(target)[: args.requests]
        backends = ["asyncio"]
        if importlib.util.find_spec("trio") is not None:
            backends.append("trio")
        else:
            print("trio is not installed: asyncio only", flush=True)
        for backend in backends:
            for label, inflight, pool, limiter, beneath in CONFIGS:
                if beneath in ("aiohttp", "httpx-aiohttp") and backend != "asyncio":
                    continue
                describe = functools.partial(
                    _describe_all, target, ids, inflight=inflight, pool=pool, limiter=limiter
                )
                runs = [
                    anyio.run(functools.partial(describe, beneath=beneath), backend=backend)
                    for _ in range(args.repeat)
                ]
                rate = statistics.median(len(ids) / wall for wall, _ in runs)
                cpu_us = statistics.median(cpu / len(ids) * 1e6 for _, cpu in runs)
                results.append(
                    {"backend": backend, "config": label, "req_per_s": rate, "cpu_us": cpu_us}
                )
                print(
                    f"{backend:7} {label:34} {rate:8,.0f} req/s {cpu_us:8.0f} us CPU/req",
                    flush=True,
                )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "httpx_pool.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


def c_ids(target: c.Target) -> list[str]:
    """Every job id of the emulator (listed once through the library)."""
    from benchmarks.run import _all_ids

    return anyio.run(_all_ids, target)


if __name__ == "__main__":
    sys.exit(main())
