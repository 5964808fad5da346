"""Deterministic, realistic job data: ids shaped like the service's, names, inputs, timelines."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TypedDict, TypeVar

from ._store import StoredJob

__all__ = [
    "TIMELINES",
    "Schedule",
    "Timeline",
    "generate_jobs",
    "new_id",
    "schedule",
    "timeline",
]

#: The kinds of timeline a job can follow (see :func:`timeline`).
TIMELINES = ("realistic", "quick")

# 100-ns intervals between the Gregorian epoch (uuid1) and the unix epoch.
_UUID_EPOCH = 0x01B21DD213814000
# The service's ids end in a node id from a KVM-style MAC (52:54:00:…).
_NODE_PREFIX = 0x525400000000

_WORDS = (
    "transcode",
    "snapshot",
    "thumbnail",
    "audit",
    "backfill",
    "nightly",
    "archive",
    "watermark",
    "moderation",
    "hls",
    "animation",
    "digest",
)
_CHINESE_NAMES = ("批量转码", "截图任务", "内容审核", "夜间归档")
_PREFIXES = (
    "input/",
    "videos/2023/",
    "videos/2024/",
    "images/raw/",
    "uploads/",
    "live/records/",
    "media/",
)
_TAGS = ("Transcode", "Snapshot", "Animation", "Watermark", "SmartCover", "DigitalWatermark")
_REGIONS = ("ap-beijing", "ap-shanghai", "ap-guangzhou", "ap-chongqing", "ap-chengdu")
_FAILURES = (
    ("InternalError", "internal error, please retry"),
    ("InvalidInput", "no object matched the input"),
    ("ResourceDownloadFailed", "failed to download the input object"),
    ("TemplateNotExist", "the template does not exist"),
    ("QueueStopped", "the queue is stopped"),
)
_DAY = 86_400.0
_T = TypeVar("_T")

Timeline = tuple[float, float, str, str | None, str | None]


def new_id(prefix: str, rng: random.Random, timestamp: float) -> str:
    """A uuid1-shaped id (as the service's are) for ``timestamp``: ``prefix`` + 32 hex digits."""
    ticks = int(timestamp * 10_000_000) + int(rng.random() * 10_000_000) + _UUID_EPOCH
    time_low = ticks & 0xFFFFFFFF
    time_mid = (ticks >> 32) & 0xFFFF
    time_hi = ((ticks >> 48) & 0x0FFF) | 0x1000
    clock_seq = rng.getrandbits(14) | 0x8000
    node = _NODE_PREFIX | rng.getrandbits(24)
    return f"{prefix}{time_low:08x}{time_mid:04x}{time_hi:04x}{clock_seq:04x}{node:012x}"


def timeline(seed: int, job_id: str, kind: str = "realistic") -> Timeline:
    """The job's deterministic future: (queue delay, run time, outcome, error code, message).

    ``realistic``: queued 1-30 s (one job in ten: 60-1,800 s), then running a
    lognormal time with a median of ~90 s, at most 6 h. ``quick``: queued
    0.25-0.75 s, then running 0.5-1.25 s, so a new job ends within 2 s (a client
    polling every 2 s sees it end at its second poll). Either way
    85 % of jobs succeed and the others fail with one of a few error codes.
    """
    return _draw(random.Random(f"{seed}/{job_id}"), kind)


def _draw(rng: random.Random, kind: str = "realistic") -> Timeline:
    """A :func:`timeline` drawn from ``rng``."""
    draw = rng.random
    if kind == "quick":
        delay = 0.25 + 0.5 * draw()
        run = 0.5 + 0.75 * draw()
    else:
        delay = float(1 + int(draw() * 30) if draw() < 0.9 else 60 + int(draw() * 1741))
        run = float(min(int(rng.lognormvariate(4.5, 1.2)) + 5, 6 * 3600))
    if draw() < 0.85:
        return delay, run, "Success", None, None
    code, message = _FAILURES[int(draw() * len(_FAILURES))]
    return delay, run, "Failed", code, message


class Schedule(TypedDict):
    """A job's future as :class:`StoredJob` fields (see :func:`schedule`)."""

    started_at: float
    ended_at: float
    outcome: str
    error_code: str | None
    error_message: str | None


def schedule(
    seed: int,
    job_id: str,
    created: float,
    *,
    start_after: float | None = None,
    run_for: float | None = None,
    outcome: str | None = None,
    code: str | None = None,
    message: str | None = None,
    kind: str = "realistic",
    speed: float = 1.0,
    origin: float | None = None,
) -> Schedule:
    """When a job created at ``created`` starts and ends, and how: its :func:`timeline`.

    Each keyword given overrides that part of the timeline. A job made to fail
    that has no error of its own fails with ``InternalError``. ``kind`` picks
    the timeline, whose queue and run times are divided by ``speed`` (times
    given as ``start_after``/``run_for`` are kept as they are); the queue time
    counts from ``origin`` (default: ``created``), e.g. the exact moment of a
    create request whose creation time is truncated to the second.
    """
    delay, run, natural, natural_code, natural_message = timeline(seed, job_id, kind)
    delay = delay / speed if start_after is None else float(start_after)
    run = run / speed if run_for is None else float(run_for)
    start = created if origin is None else origin
    outcome = natural if outcome is None else outcome
    if outcome == "Failed" and natural_code is None:
        natural_code, natural_message = "InternalError", "the job failed"
    return {
        "started_at": start + delay,
        "ended_at": start + delay + run,
        "outcome": outcome,
        "error_code": code or natural_code,
        "error_message": message or natural_message,
    }


def generate_jobs(
    n: int,
    *,
    seed: int,
    now: float,
    between: tuple[int, int] | None = None,
    hotspot: tuple[int, int] | None = None,
    hot_fraction: float = 0.0,
) -> list[StoredJob]:
    """``n`` jobs of both types with mixed states, created over the ~6 months before ``now``.

    The same arguments always give the same jobs. ``between`` spreads the
    creation times evenly over those two unix seconds (both included) instead;
    ``hotspot`` puts a ``hot_fraction`` of the jobs (each with that
    probability) in its span, which, when short, makes many jobs share a second.
    Each job's timeline is drawn from the same generator (one seeded
    generator for the whole batch: ~10 µs a job).
    """
    rng = random.Random(seed)
    draw = rng.random
    workflows = [new_id("w", rng, now - 200 * _DAY) for _ in range(8)]
    queues = [new_id("p", rng, now - 300 * _DAY) for _ in range(3)]
    templates = [new_id("t1", rng, now - 300 * _DAY) for _ in range(6)]
    jobs = []
    for _ in range(n):
        if hotspot is not None and draw() < hot_fraction:
            created = float(hotspot[0] + int(draw() * (hotspot[1] - hotspot[0] + 1)))
        elif between is not None:
            created = float(between[0] + int(draw() * (between[1] - between[0] + 1)))
        else:
            recency = draw()
            if recency < 0.05:
                age = draw() * 600
            elif recency < 0.2:
                age = draw() * 2 * 3600
            else:
                age = draw() * 180 * _DAY
            created = float(int(now - age))
        jobs.append(_one_job(rng, created, now, workflows, queues, templates))
    return jobs


def _pick(draw: Callable[[], float], options: Sequence[_T]) -> _T:
    return options[int(draw() * len(options))]


def _one_job(
    rng: random.Random,
    created: float,
    now: float,
    workflows: list[str],
    queues: list[str],
    templates: list[str],
) -> StoredJob:
    draw = rng.random
    is_workflow = draw() < 0.6
    job_id = new_id("b", rng, created)
    if draw() < 0.05:
        name = _pick(draw, _CHINESE_NAMES)
    else:
        name = f"{_pick(draw, _WORDS)}-{_pick(draw, _WORDS)}_{int(draw() * 1000):03d}"
    fields: dict[str, object] = {}
    kind = draw()
    if kind < 0.8:
        fields["prefix"] = _pick(draw, _PREFIXES)
    elif kind < 0.9:
        fields["manifest"] = f"inventory/{_pick(draw, _WORDS)}/manifest.json"
    elif kind < 0.95:
        fields["url_file"] = f"urls/list-{int(draw() * 100):03d}.txt"
    else:
        fields["object"] = f"{_pick(draw, _PREFIXES)}{_pick(draw, _WORDS)}.mp4"
    if draw() < 0.7:
        start = created - (1 + draw() * 119) * _DAY
        fields["interval_start"] = float(int(start))
        fields["interval_end"] = float(int(start + (1 + draw() * 89) * _DAY))
    if is_workflow:
        fields["workflow_ids"] = (_pick(draw, workflows),)
    else:
        fields["queue_id"] = _pick(draw, queues)
        fields["tag"] = _pick(draw, _TAGS)
        fields["template_id"] = _pick(draw, templates)
        if draw() < 0.5:
            fields["user_data"] = f"batch {int(draw() * 10_000)}"
        if draw() < 0.3:
            fields["callback"] = "https://www.callback.com"
        fields["output_region"] = _pick(draw, _REGIONS)
        fields["output_bucket"] = f"output-{1_250_000_000 + int(draw() * 9_999_999)}"
        fields["output_object"] = "output/${InventoryTriggerJobId}/out.mp4"
        fields["job_level"] = _pick(draw, (0, 0, 0, 1, 2))
    delay, run, outcome, code, message = _draw(rng)
    started = created + delay
    ended = started + run
    job = StoredJob(
        job_id=job_id,
        type="Workflow" if is_workflow else "Job",
        name=name,
        creation_time=created,
        started_at=started,
        ended_at=ended,
        outcome=outcome,
        error_code=code,
        error_message=message,
        **fields,  # type: ignore[arg-type]
    )
    special = draw()
    if special < 0.04:
        # Whole seconds throughout, so this is exactly the timeline's delay + run.
        cancelled = created + draw() * (ended - created)
        if cancelled <= now:
            return job.pinned("Cancel", float(int(cancelled)))
    elif special < 0.055:
        # Jobs waiting in a paused queue never start.
        return job.pinned("Pause", now)
    return job
