"""The benchmark's emulator process: ``python -m benchmarks._server --jobs N [--latency S]``.

Runs :class:`ci_async.testing.Emulator` on a loopback port, in its own process
so that the server never shares the client's interpreter (or its GIL), and
prints the base URL on stdout once it is serving. It stops on SIGTERM/SIGINT
or when its stdin closes (so it never outlives the benchmark that started it).

Unlike ``python -m ci_async.testing``, the emulator's clock is frozen at the
moment the process starts: no job changes state while the benchmark runs, so
every contender is served the same bytes and pre-rendered pages stay valid.
(The emulator accepts signatures whose start is up to 15 minutes ahead of its
clock, which bounds how long one server may be used.)

``--latency S`` delays every answer by ``S`` seconds (real time, awaited: the
server keeps serving other requests meanwhile), as a distant service would.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any

from ci_async import Credentials
from ci_async.testing import Emulator


def emulator(latency: float, **options: Any) -> Emulator:
    """An :class:`Emulator` that answers every request ``latency`` seconds late."""
    return Emulator(latency=latency, **options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._server")
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--secret-id", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--bucket", default="examplebucket-1250000000")
    parser.add_argument("--prerender", action="store_true")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    args = parser.parse_args(argv)

    frozen = time.time()
    started = time.perf_counter()
    emulated = emulator(
        args.latency,
        credentials=Credentials(args.secret_id, args.secret_key),
        bucket=args.bucket,
        clock=lambda: frozen,
        seed=args.seed,
        prerender=args.prerender,
        record_requests=False,
    )
    emulated.generate(args.jobs, seed=args.seed)
    generated = time.perf_counter() - started

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watch_stdin() -> None:
        sys.stdin.read()  # returns when the parent closes the pipe (or dies)
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    with emulated.serve() as server:
        print(
            f"# {args.jobs} jobs generated in {generated:.1f} s;"
            f" latency {args.latency * 1000:g} ms",
            flush=True,
        )
        print(server.url, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
