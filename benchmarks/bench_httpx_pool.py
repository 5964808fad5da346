"""Why httpx's own transport slows down with many requests in flight, and what helps.

Describes jobs of the benchmark emulator (its own process, loopback) through
a bare ``httpx.AsyncClient`` on its native transport, varying how many
requests are in flight, the connection pool size, and an
``anyio.CapacityLimiter`` in front of the client (what a session could do
internally), under asyncio and trio; aiohttp beneath httpx
(:class:`ci_async._transport.AiohttpTransport`) is the reference. Prints
requests/s and the client's CPU time per request.

    python -m benchmarks.bench_httpx_pool [--requests 1000]

Not part of the targets: this backs the transport decision in
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import time
from collections.abc import Iterator, Sequence

import anyio
import httpx

from benchmarks import _contenders as c
from benchmarks.run import RESULTS, emulator_process


async def _describe_all(
    target: c.Target,
    ids: Sequence[str],
    *,
    inflight: int,
    pool: int,
    limiter: int | None,
    aiohttp: bool,
) -> tuple[float, float]:
    """Seconds and CPU seconds to describe ``ids`` with ``inflight`` tasks."""
    signer = c.FloorSigner(target)
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    transport: httpx.AsyncBaseTransport | None = None
    if aiohttp:
        from ci_async._transport import AiohttpTransport

        transport = AiohttpTransport(max_connections=pool)
    gate = anyio.CapacityLimiter(limiter) if limiter else None
    async with httpx.AsyncClient(limits=limits, transport=transport) as client:

        async def one(job_id: str) -> None:
            path = f"{c.LIST_PATH}/{job_id}"
            response = await client.get(target.url + path, headers=signer.headers(path, ()))
            response.raise_for_status()

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


CONFIGS: list[tuple[str, int, int, int | None, bool]] = [
    # label, in flight, pool, limiter, aiohttp beneath
    ("native, 1 in flight", 1, 100, None, False),
    ("native, 8 in flight", 8, 100, None, False),
    ("native, 16 in flight", 16, 100, None, False),
    ("native, 64 in flight", 64, 100, None, False),
    ("native, 64 in flight, pool 8", 64, 8, None, False),
    ("native, 64 in flight, pool 16", 64, 16, None, False),
    ("native, 64 in flight, limiter 8", 64, 100, 8, False),
    ("native, 64 in flight, limiter 16", 64, 100, 16, False),
    ("aiohttp beneath, 64 in flight", 64, 64, None, True),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_httpx_pool")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    secret_id, secret_key = "AKIDbench" + secrets.token_hex(14), secrets.token_hex(16)
    results: list[dict[str, object]] = []
    with emulator_process(5_000, secret_id, secret_key, prerender=True) as target:
        ids = [job_id for job_id in c_ids(target)][: args.requests]
        for backend in ("asyncio", "trio"):
            for label, inflight, pool, limiter, aiohttp in CONFIGS:
                if aiohttp and backend != "asyncio":
                    continue
                runs = [
                    anyio.run(
                        lambda i=inflight, p=pool, lim=limiter, a=aiohttp: _describe_all(
                            target, ids, inflight=i, pool=p, limiter=lim, aiohttp=a
                        ),
                        backend=backend,
                    )
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
