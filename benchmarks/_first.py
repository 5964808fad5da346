"""The first request of a new Session, in a fresh process: ``python -m benchmarks._first``.

What a web backend feels when it first uses the client: ``ci_async`` is
already imported (at module import, like any dependency), the event loop is
running and serving other work, and then one handler creates a Session and
makes its first request. Whatever the client does then on the loop's thread
(create its HTTP client, import modules lazily, build an SSL context, derive
the first signing key) stalls everything else on the loop.

Reads one JSON object on stdin: ``target``, ``contender`` (``ci_async[httpx]``
or ``ci_async[aiohttp]``), ``job_id`` and ``preimport_aiohttp`` (import
aiohttp before the loop starts, as an aiohttp backend has). A 1 ms ticker
task runs on the loop; the window runs from creating the transport and the
Session to the answer of the first ``get_job``. Prints one JSON object: the
longest stall in that window, the window's length, and the length of the
second request (for contrast).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from benchmarks import _contenders as c
from benchmarks._ticker import Ticker


async def first(config: dict[str, Any]) -> dict[str, Any]:
    target = c.Target(**config["target"])
    job_id: str = config["job_id"]
    ticker = Ticker()
    async with ticker.running():
        await asyncio.sleep(0.05)  # the loop has been running a while
        aiohttp_before = "aiohttp" in sys.modules
        modules_before = len(sys.modules)
        cpu = time.process_time()
        start = time.perf_counter()
        async with c.session(target, c.ci_transport(config["contender"])) as ci:
            found = await ci.get_job(job_id)
            first_done = time.perf_counter()
            cpu = time.process_time() - cpu
            modules_imported = len(sys.modules) - modules_before
            again = await ci.get_job(job_id)
            second_done = time.perf_counter()
        await asyncio.sleep(0.02)
    if found.job_id != job_id or again.job_id != job_id:
        msg = f"asked for {job_id}, got {found.job_id} and {again.job_id}"
        raise RuntimeError(msg)
    stalls = ticker.stalls(start, first_done)
    return {
        "stall_ms": stalls.max_ms,
        "stall_cpu_ms": stalls.cpu_max_ms,
        "first_ms": (first_done - start) * 1000,
        "first_cpu_ms": cpu * 1000,
        "modules_imported": modules_imported,
        "second_ms": (second_done - first_done) * 1000,
        "aiohttp_imported_before": aiohttp_before,
        "aiohttp_imported_after": "aiohttp" in sys.modules,
    }


def main() -> int:
    config = json.loads(sys.stdin.readline())
    if config.get("preimport_aiohttp"):
        import aiohttp  # noqa: F401  (the backend's own import)
    print(json.dumps(asyncio.run(first(config))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
