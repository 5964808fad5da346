"""Peak memory growth of one long listing: ``python -m benchmarks._rss URL ...``.

Runs in its own process (so nothing else the harness did is in its memory),
lists every job of the server through ``Session.list_jobs`` with default
settings, and prints one JSON object: the jobs seen, the resident set size
(RSS) once warmed up, the peak RSS after that, and the growth between them.

Memory is read from ``/proc/self/status`` (Linux): ``VmRSS`` now and
``VmHWM``, the peak, which is reset after warm-up by writing ``5`` to
``/proc/self/clear_refs``. Where that reset is not allowed, the peak is the
largest ``VmRSS`` sampled every 5,000 jobs instead (and the output says so).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import sys
import time
from pathlib import Path

import ci_async

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_WARM_UP_JOBS = 2_000
_SAMPLE_EVERY = 5_000


def status_kib(field: str) -> int:
    """One ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``)."""
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    msg = f"{field} not in {_STATUS}"
    raise LookupError(msg)


def reset_peak() -> bool:
    """Reset ``VmHWM`` to the current RSS; False when the kernel does not allow it."""
    with contextlib.suppress(OSError):
        _CLEAR_REFS.write_text("5")
        return True
    return False


async def listing(args: argparse.Namespace) -> dict[str, object]:
    count = 0
    base = peak_sampled = 0
    hwm_reset = False
    started = 0.0
    async with ci_async.Session(
        args.bucket,
        args.region,
        endpoint=args.url,
        credentials=ci_async.Credentials(args.secret_id, args.secret_key),
    ) as session:
        async for job in session.list_jobs(page_size=100):
            count += 1
            if count == _WARM_UP_JOBS:
                gc.collect()
                hwm_reset = reset_peak()
                base = peak_sampled = status_kib("VmRSS")
                started = time.perf_counter()
            elif count % _SAMPLE_EVERY == 0:
                peak_sampled = max(peak_sampled, status_kib("VmRSS"))
            del job
    elapsed = time.perf_counter() - started
    peak = max(peak_sampled, status_kib("VmHWM") if hwm_reset else 0)
    return {
        "jobs": count,
        "rss_base_kib": base,
        "rss_peak_kib": peak,
        "rss_end_kib": status_kib("VmRSS"),
        "growth_mib": (peak - base) / 1024,
        "peak_method": "VmHWM after clear_refs" if hwm_reset else "VmRSS sampled",
        "jobs_per_s": (count - _WARM_UP_JOBS) / elapsed if elapsed else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._rss")
    parser.add_argument("url")
    parser.add_argument("--secret-id", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--bucket", default="examplebucket-1250000000")
    parser.add_argument("--region", default="ap-beijing")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(listing(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
