"""What prefetching the next page buys a consumer that works on each page.

The emulator answers every request after 20 ms of latency; the consumer
spends 20 ms on each page (``anyio.sleep``, standing for real work such as
writing to a database). Fifty pages are listed with and without
``prefetch``. Without it each page costs latency + work; with it the next
page's request overlaps the work on the current one, so a page costs about
max(latency, work).

Target: with prefetch at least 1.6x faster.

Run ``python benchmarks/bench_prefetch.py [--backend trio] [--loopback]``;
import :func:`run` for the figures. The script always exits 0: it reports
PASS/FAIL, it does not gate.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import anyio

from ci_async import RetryPolicy, Session
from ci_async.testing import Emulator

TARGET_RATIO = 1.6


async def _list_once(
    session: Session, *, prefetch: bool, page_size: int, pages: int, work: float
) -> float:
    start = time.perf_counter()
    seen = 0
    iterator = session.list_jobs(page_size=page_size, limit=page_size * pages, prefetch=prefetch)
    async with iterator:
        async for _page in iterator.pages():
            seen += 1
            await anyio.sleep(work)
    elapsed = time.perf_counter() - start
    if seen != pages:
        msg = f"listed {seen} pages, expected {pages}"
        raise RuntimeError(msg)
    return elapsed


async def _measure(
    *, pages: int, page_size: int, latency: float, work: float, loopback: bool
) -> dict[str, float]:
    emulator = Emulator(seed=1, prerender=True, record_requests=False)
    emulator.generate(pages * page_size)
    emulator.faults.latency(latency, op="list")
    options: dict[str, Any] = {"retry": RetryPolicy()}
    if loopback:
        async with (
            emulator.serve() as server,
            emulator.session(endpoint=server.url, transport=None, **options) as session,
        ):
            return await _both(session, pages=pages, page_size=page_size, work=work)
    async with emulator.session(**options) as session:
        return await _both(session, pages=pages, page_size=page_size, work=work)


async def _both(session: Session, *, pages: int, page_size: int, work: float) -> dict[str, float]:
    # One warm-up listing opens the connection and fills the emulator's page cache.
    await _list_once(session, prefetch=False, page_size=page_size, pages=pages, work=0)
    without = await _list_once(session, prefetch=False, page_size=page_size, pages=pages, work=work)
    with_prefetch = await _list_once(
        session, prefetch=True, page_size=page_size, pages=pages, work=work
    )
    return {"without_prefetch_s": without, "with_prefetch_s": with_prefetch}


def run(
    *,
    pages: int = 50,
    page_size: int = 20,
    latency: float = 0.02,
    work: float = 0.02,
    backend: str = "asyncio",
    loopback: bool = False,
) -> dict[str, Any]:
    """Time a listing with and without prefetch.

    Returns:
        ``pages``, ``page_size``, ``latency_s``, ``work_s``, ``backend``,
        ``transport``, ``without_prefetch_s``, ``with_prefetch_s``, ``ratio``
        (without / with), ``target_ratio`` and ``passed``.
    """
    times = anyio.run(
        lambda: _measure(
            pages=pages, page_size=page_size, latency=latency, work=work, loopback=loopback
        ),
        backend=backend,
    )
    ratio = times["without_prefetch_s"] / times["with_prefetch_s"]
    return {
        "pages": pages,
        "page_size": page_size,
        "latency_s": latency,
        "work_s": work,
        "backend": backend,
        "transport": "loopback" if loopback else "in-process",
        **times,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "passed": ratio >= TARGET_RATIO,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--loopback", action="store_true", help="over a real loopback server")
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--page-size", type=int, default=20)
    args = parser.parse_args()
    result = run(
        pages=args.pages, page_size=args.page_size, backend=args.backend, loopback=args.loopback
    )
    print(
        f"{result['pages']} pages of {result['page_size']} jobs, "
        f"{result['latency_s'] * 1000:.0f} ms latency, "
        f"{result['work_s'] * 1000:.0f} ms work per page "
        f"({result['backend']}, {result['transport']})"
    )
    print(f"  without prefetch: {result['without_prefetch_s']:.3f} s")
    print(f"  with prefetch:    {result['with_prefetch_s']:.3f} s")
    verdict = "PASS" if result["passed"] else "FAIL"
    print(f"  speed-up: {result['ratio']:.2f}x (target >= {TARGET_RATIO}x) {verdict}")


if __name__ == "__main__":
    main()
