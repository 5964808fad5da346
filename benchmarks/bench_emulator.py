"""How many list pages per second the emulator's loopback server serves.

Starts ``python -m ci_async.testing`` in a subprocess (10,000 jobs, signatures
verified), then hammers it from this process with aiohttp: a few concurrent
clients, each following ``nextToken`` through the whole listing with
``size=100``, again and again, every request signed. Prints pages/s and jobs/s.

    python benchmarks/bench_emulator.py [--seconds 5] [--concurrency 8] [--prerender] [--no-verify]

Target: >= 2,000 pages of 100 jobs per second on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time

import aiohttp

from ci_async._signing import sign_v5

SECRET_ID = "AKIDBENCHMARK000000000000000000000000"
SECRET_KEY = "benchmark-secret-key-000000000000000"
TOKEN_RE = re.compile(rb"<NextToken>([^<]*)</NextToken>")


def start_server(jobs: int, *, prerender: bool, verify: bool) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-m",
        "ci_async.testing",
        "--port",
        "0",
        "--jobs",
        str(jobs),
        "--secret-id",
        SECRET_ID,
        "--secret-key",
        SECRET_KEY,
    ]
    if prerender:
        command.append("--prerender")
    if not verify:
        command.append("--no-verify")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("http://"):
            return process, line.strip()
    process.kill()
    raise SystemExit("the emulator did not print its URL")


class Signer:
    """Signs list requests; the key time changes once a minute."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._key_time = ""
        self._until = 0.0

    def headers(self, params: list[tuple[str, str]]) -> dict[str, str]:
        now = time.time()
        if now >= self._until:
            start = int(now) - 60
            self._key_time = f"{start};{start + 3600}"
            self._until = now + 60
        authorization = sign_v5(
            secret_id=SECRET_ID,
            secret_key=SECRET_KEY,
            method="GET",
            path="/inventorytriggerjob",
            params=params,
            headers={"host": self.host},
            key_time=self._key_time,
        )
        return {"Host": self.host, "Authorization": authorization}


async def worker(
    session: aiohttp.ClientSession, url: str, signer: Signer, stop_at: float, counts: list[int]
) -> None:
    token = ""
    while time.perf_counter() < stop_at:
        params = [("size", "100")]
        if token:
            params.append(("nextToken", token))
        async with session.get(
            url + "/inventorytriggerjob", params=params, headers=signer.headers(params)
        ) as response:
            body = await response.read()
            if response.status != 200:
                raise SystemExit(f"HTTP {response.status}: {body[:300]!r}")
        counts[0] += 1
        counts[1] += body.count(b"<JobsDetail>")
        match = TOKEN_RE.search(body)
        token = match.group(1).decode() if match else ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def hammer(
    url: str, seconds: float, concurrency: int, server_pid: int = 0
) -> tuple[int, int, float, float, float]:
    host = url.removeprefix("http://")
    signer = Signer(host)
    counts = [0, 0]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        # Warm up: every connection, and the server's fragment cache (one full pass).
        await asyncio.gather(
            *(
                worker(session, url, signer, time.perf_counter() + 0.5, [0, 0])
                for _ in range(concurrency)
            )
        )
        server_cpu, client_cpu = cpu_seconds(server_pid), time.process_time()
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(
            *(worker(session, url, signer, stop_at, counts) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - start
        server_cpu = cpu_seconds(server_pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
    return counts[0], counts[1], elapsed, server_cpu / elapsed, client_cpu / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--prerender", action="store_true")
    parser.add_argument("--no-verify", action="store_true")
    args = parser.parse_args()
    process, url = start_server(args.jobs, prerender=args.prerender, verify=not args.no_verify)
    try:
        pages, jobs, elapsed, server_load, client_load = asyncio.run(
            hammer(url, args.seconds, args.concurrency, process.pid)
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    mode = (
        ", ".join(
            name
            for name, on in (("prerender", args.prerender), ("no signature check", args.no_verify))
            if on
        )
        or "default"
    )
    print(
        f"emulator loopback ({mode}; {os.cpu_count()} CPUs, concurrency {args.concurrency}): "
        f"{pages / elapsed:,.0f} pages/s ({jobs / elapsed:,.0f} jobs/s, "
        f"{pages} pages in {elapsed:.1f} s); CPU: server {server_load:.0%}, "
        f"client {client_load:.0%}; {1e6 * server_load * elapsed / max(pages, 1):.0f} us "
        "of server CPU per page"
    )


if __name__ == "__main__":
    main()
