"""A listing's guards against a service that repeats itself.

A ``NextToken`` sent again would make a listing loop; a job listed again
(offset-like tokens shift when jobs are created meanwhile) would be yielded
twice. The sequential listing and every window of a parallel one guard with
these two.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Set

from ._models import Job
from ._text import shown

_logger = logging.getLogger("ci_async")

__all__ = ["drop_repeats", "once_timeless", "token_digest"]


def token_digest(token: str) -> bytes:
    """A fixed-size fingerprint of a token: what the repeated-token guard keeps."""
    return hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def drop_repeats(
    jobs: tuple[Job, ...], recent: Set[str], request_id: str | None
) -> tuple[tuple[Job, ...], frozenset[str]]:
    """``jobs`` without those in ``recent`` or earlier on this page, and this page's ids.

    ``recent`` is the previous page's ids (what the second value was then). A
    page that drops any job says how many at INFO, with its request id.
    """
    ids = frozenset(job.job_id for job in jobs)
    if len(ids) == len(jobs) and recent.isdisjoint(ids):
        return jobs, ids
    kept: list[Job] = []
    seen = set(recent)
    for job in jobs:
        if job.job_id not in seen:
            seen.add(job.job_id)
            kept.append(job)
    _logger.info(
        "skipped %d job(s) the service listed twice [request_id=%s]",
        len(jobs) - len(kept),
        None if request_id is None else shown(request_id),  # server text: escaped, cut
    )
    return tuple(kept), ids


def once_timeless(jobs: tuple[Job, ...], seen: set[str]) -> tuple[Job, ...]:
    """``jobs`` without the jobs with no creation time already in ``seen``, which takes the rest.

    A parallel listing's windows keep what was created in their own seconds,
    and ask for a second beyond their edges: a job the service prints with no
    creation time (``-``) belongs to none, and every window that receives it
    keeps it. Handed out the first time only, it comes once; ``seen`` grows
    with such jobs only.
    """
    if all(job.creation_time is not None for job in jobs):
        return jobs
    kept: list[Job] = []
    for job in jobs:
        if job.creation_time is None:
            if job.job_id in seen:
                continue
            seen.add(job.job_id)
        kept.append(job)
    return tuple(kept)
