"""Memory of one long listing, in a fresh process: ``python -m benchmarks._rss``.

Reads one JSON object on stdin: the ``target`` (url, bucket, region, key
pair), ``jobs`` expected, ``warm_jobs`` (how many jobs to list before the
baseline is taken) and optionally ``parallel``. Lists every job through
``Session.list_jobs(page_size=100)`` with the default transport, keeping
nothing, and prints one JSON object: the jobs seen, the resident set size
(RSS) at the baseline, the peak after it, and the RSS at the end (the
iterator still alive, as when a caller keeps it for ``next_token``).

Memory is read from ``/proc/self/status`` (Linux): ``VmRSS`` now and
``VmHWM``, the peak, which is reset at the baseline by writing ``5`` to
``/proc/self/clear_refs``; where that reset is not allowed the peak is the
largest ``VmRSS`` sampled every 1,000 jobs (the output says which). The
baseline and the end figure are taken after a garbage collection and, with
glibc, ``malloc_trim(0)``, so that memory the C allocator merely keeps does
not count; the peak is what it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import _contenders as c

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_SAMPLE_EVERY = 1_000


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


def _malloc_trim() -> bool:
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


def settle() -> bool:
    """Collect garbage and hand freed heap back to the OS (glibc); whether trimming worked."""
    gc.collect()
    return _malloc_trim()


async def listing(config: dict[str, Any]) -> dict[str, Any]:
    target = c.Target(**config["target"])
    warm_jobs: int = config["warm_jobs"]
    options: dict[str, Any] = {"page_size": 100}
    if config.get("parallel"):
        options["parallel"] = config["parallel"]
    count = base = sampled = 0
    hwm_reset = trimmed = False
    started = 0.0
    async with c.session(target, None) as ci:
        jobs = ci.list_jobs(**options)
        async for job in jobs:
            count += 1
            if count == warm_jobs:
                trimmed = settle()
                hwm_reset = reset_peak()
                base = sampled = status_kib("VmRSS")
                started = time.perf_counter()
            elif count % _SAMPLE_EVERY == 0:
                sampled = max(sampled, status_kib("VmRSS"))
            del job
        elapsed = time.perf_counter() - started
        peak = max(sampled, status_kib("VmHWM") if hwm_reset else 0)
        settle()
        end = status_kib("VmRSS")  # the iterator is still referenced here
        del jobs
    return {
        "jobs": count,
        "rss_base_kib": base,
        "rss_peak_kib": peak,
        "rss_end_kib": end,
        "growth_mib": (peak - base) / 1024,
        "end_growth_mib": (end - base) / 1024,
        "peak_method": "VmHWM after clear_refs" if hwm_reset else "VmRSS sampled",
        "malloc_trim": trimmed,
        "jobs_per_s": (count - warm_jobs) / elapsed if elapsed else 0.0,
    }


def main() -> int:
    config = json.loads(sys.stdin.readline())
    print(json.dumps(asyncio.run(listing(config))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
