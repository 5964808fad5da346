"""One contender in a process of its own: ``python -m benchmarks._worker CONTENDER``.

The harness starts one worker per contender and sends it commands, one JSON
object a line on stdin; the worker answers each with one JSON line on stdout
(anything else it prints goes to stderr). It exits when stdin closes, so it
never outlives the harness.

Commands (each carries the ``target``: url, bucket, region and key pair):

* ``{"op": "list", "options": {...}}`` - list every job (``ListOptions``);
* ``{"op": "ids"}`` - every job id, in order (a bare httpx loop, whoever asks);
* ``{"op": "describe", "ids": [...], "inflight": 64}`` - describe those jobs;
* ``{"op": "stall", "options": {...}}`` - list with a 1 ms ticker task beside
  the listing: the event-loop stalls after the first page, and the garbage
  collections after it (how many, how many full ones, the longest full one).

Every answer has ``count`` and ``digest`` (of the ids, in order), ``wall``
(seconds) and ``cpu``: this process's CPU time (user + system, every thread)
over the call, measured around the call alone (no interpreter start, no
imports), plus that of the worker processes it parsed pages in (a session
ends its workers as it closes, within the call). A garbage
collection runs before each call, outside the timing.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

from benchmarks import _contenders as c
from benchmarks._ticker import Ticker


def _target(command: dict[str, Any]) -> c.Target:
    return c.Target(**command["target"])


def _options(command: dict[str, Any]) -> c.ListOptions:
    return c.ListOptions(**command.get("options", {}))


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the parse workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(call: Callable[[], c.Listed]) -> tuple[c.Listed, dict[str, Any]]:
    gc.collect()
    cpu = time.process_time() + _children_cpu()
    wall = time.perf_counter()
    listed = call()
    figures = {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() + _children_cpu() - cpu,
        "count": listed.count,
        "digest": listed.digest,
    }
    return listed, figures


def _list(name: str, target: c.Target, options: c.ListOptions) -> c.Listed:
    if name == c.SDK:
        return c.list_sdk(target, options)
    return asyncio.run(c.ASYNC_LISTERS[name](target, options))


def handle(name: str, command: dict[str, Any]) -> dict[str, Any]:
    """Run one command as contender ``name``; the answer's fields."""
    op = command["op"]
    target = _target(command)
    if op == "list":
        return _timed(lambda: _list(name, target, _options(command)))[1]
    if op == "ids":
        return {"ids": asyncio.run(c.all_ids(target))}
    if op == "describe":
        job_ids: list[str] = command["ids"]
        inflight: int = command["inflight"]
        if name == c.SDK:
            return _timed(lambda: c.describe_sdk(target, job_ids, inflight))[1]
        describe = c.ASYNC_DESCRIBERS[name]
        return _timed(lambda: asyncio.run(describe(target, job_ids, inflight)))[1]
    if op == "stall":
        options = _options(command)
        ticker = Ticker(command.get("interval", 0.001))
        collections: list[tuple[int, float, float]] = []  # generation, start, end

        def on_gc(phase: str, info: dict[str, int]) -> None:
            now = time.perf_counter()
            if phase == "start":
                collections.append((info["generation"], now, now))
            else:
                generation, start, _ = collections[-1]
                collections[-1] = (generation, start, now)

        async def beside() -> c.Listed:
            async with ticker.running():
                return await c.ASYNC_LISTERS[name](target, options)

        gc.callbacks.append(on_gc)
        try:
            listed, figures = _timed(lambda: asyncio.run(beside()))
        finally:
            gc.callbacks.remove(on_gc)
        stalls = ticker.stalls(after=listed.first_at, inside=True)
        after = [(g, end - start) for g, start, end in collections if start >= listed.first_at]
        full = [seconds * 1000 for g, seconds in after if g == 2]
        return (
            figures
            | stalls.as_json()
            | {
                "gc_collections": len(after),
                "gc_full": len(full),
                "gc_full_max_ms": round(max(full, default=0.0), 2),
            }
        )
    msg = f"unknown op {op!r}"
    raise ValueError(msg)


def serve(name: str, commands: TextIO, answers: TextIO) -> None:
    for line in commands:
        if not line.strip():
            continue
        try:
            answer = {"ok": True, **handle(name, json.loads(line))}
        except Exception as exc:
            traceback.print_exc()
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in c.ALL:
        print(f"usage: python -m benchmarks._worker {{{','.join(c.ALL)}}}", file=sys.stderr)
        return 2
    answers = sys.stdout
    sys.stdout = sys.stderr  # only answers on the real stdout
    try:
        serve(args[0], sys.stdin, answers)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
