"""Describing many jobs at once: one request per distinct id, a bounded number at a time."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable

import anyio

from . import _checks
from ._errors import JobNotFoundError
from ._models import Job, JobLookup

__all__ = ["describe_many"]


def describe_many(
    describe: Callable[[str], Awaitable[Job]], job_ids: Iterable[str], concurrency: int
) -> Awaitable[JobLookup]:
    """Check ``job_ids`` and ``concurrency`` now; return the lookup to await.

    Raises:
        TypeError: ``job_ids`` is a str or not iterable, or an id is not a str.
        ValueError: An invalid id, or ``concurrency`` < 1.
    """
    if isinstance(job_ids, str | bytes) or not isinstance(job_ids, Iterable):
        msg = f"job_ids must be an iterable of str, not {type(job_ids).__name__}"
        raise TypeError(msg)
    ids = tuple(dict.fromkeys(_checks.job_id(each, "job id") for each in job_ids))
    return _describe(describe, ids, _checks.positive_int(concurrency, "concurrency", minimum=1))


async def _describe(
    describe: Callable[[str], Awaitable[Job]], ids: tuple[str, ...], concurrency: int
) -> JobLookup:
    """Describe ``ids`` (distinct, checked) with ``describe``, ``concurrency`` at a time.

    ``concurrency`` tasks (fewer for fewer ids) take the ids in the order asked,
    one after another, so at most that many requests exist at a time however
    many ids. Ids that do not exist go to ``missing``; the first other failure
    cancels the rest and is raised as it is (not inside an exception group).

    Returns:
        The jobs found and the ids not found, each in the order asked.
    """
    found: dict[str, Job] = {}
    failures: list[Exception] = []
    queue = iter(ids)

    async def lookup(job_id: str) -> None:
        with contextlib.suppress(JobNotFoundError):  # reported in ``missing``
            found[job_id] = await describe(job_id)

    async def work(scope: anyio.CancelScope) -> None:
        try:
            for job_id in queue:
                await lookup(job_id)
        except Exception as exc:  # re-raised below, as it is
            failures.append(exc)
            scope.cancel()

    async with anyio.create_task_group() as group:
        for _ in range(min(concurrency, len(ids))):
            group.start_soon(work, group.cancel_scope)
    if failures:
        raise failures[0]
    return JobLookup(
        tuple(found[i] for i in ids if i in found), tuple(i for i in ids if i not in found)
    )
