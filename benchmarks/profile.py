"""Where a contender's time goes: ``python -m benchmarks.profile [CONTENDER] [--describe]``.

Starts the emulator in its own process (as the harness does), lists (or
describes) once untimed to warm up, then once under pyinstrument, in this
process, and prints the profile; the HTML version goes to
``benchmarks/results/profile-<contender>-<op>.html``. For the "where the time
goes" notes of a row below its target.

    python -m benchmarks.profile                        # ci_async[httpx], listing 20,000 jobs
    python -m benchmarks.profile 'ci_async[aiohttp]' --describe
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import secrets
import sys

from benchmarks import _contenders as c
from benchmarks.run import INFLIGHT, RESULTS, emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("contender", nargs="?", default=c.CI_HTTPX, choices=c.ASYNC)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--describe", action="store_true", help="2,000 describes, 64 in flight")
    parser.add_argument("--interval", type=float, default=0.0005, help="sampling interval (s)")
    args = parser.parse_args(argv)
    from pyinstrument import Profiler

    secret = ("AKIDbench" + secrets.token_hex(14), secrets.token_hex(16))
    with emulator(args.jobs, secret) as server:
        target = server.target
        if args.describe:
            ids = random.Random(7).sample(asyncio.run(c.all_ids(target)), 2_000)
            describe = c.ASYNC_DESCRIBERS[args.contender]

            def once() -> c.Listed:
                return asyncio.run(describe(target, ids, INFLIGHT))
        else:
            lister = c.ASYNC_LISTERS[args.contender]

            def once() -> c.Listed:
                return asyncio.run(lister(target, c.ListOptions()))

        once()  # warm-up
        profiler = Profiler(interval=args.interval, async_mode="disabled")
        profiler.start()
        listed = once()
        profiler.stop()
    op = "describe" if args.describe else "list"
    print(f"{args.contender} {op}: {listed.count:,} items")
    print(profiler.output_text(unicode=True, color=False))
    RESULTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", args.contender.lower()).strip("-")
    html = RESULTS / f"profile-{slug}-{op}.html"
    html.write_text(profiler.output_html())
    print(f"wrote {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
