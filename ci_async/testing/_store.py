"""The emulator's in-memory job store: records, time-driven state, filtered key-ordered listing.

Jobs are kept in a list of ``(creation_time, job_id)`` keys sorted ascending, so
a page is a bisect plus a short scan, and a page token is a position *by key*,
not an offset: jobs created while a client pages through the listing never
shift it, and no job is seen twice or skipped.

A token also carries the order and a checksum of the filters of the listing
that issued it (type, states, the creation-time range, workflow id, job id,
name; not the page size): it continues that listing only. Used with another
order or other filters — another time window, say — it is refused (400
``InvalidArgument``), so each filter combination has its own, independent
token chain and a token that strays into another is caught, not followed.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import math
import threading
import zlib
from collections.abc import Iterable

import attrs

__all__ = [
    "ALL_STATES",
    "JOB_TYPES",
    "TERMINAL_STATES",
    "JobStore",
    "ListQuery",
    "StoredJob",
    "decode_token",
    "encode_token",
]

JOB_TYPES = frozenset({"Workflow", "Job"})
ALL_STATES = ("Submitted", "Running", "Success", "Failed", "Pause", "Cancel")
TERMINAL_STATES = frozenset({"Success", "Failed", "Cancel"})

Key = tuple[float, str]


@attrs.frozen(kw_only=True)
class StoredJob:
    """One job as the emulator holds it (its own record type, independent of the client's).

    The state is a function of time: a job is ``Submitted`` until
    ``started_at``, ``Running`` until ``ended_at``, then ``outcome``; a
    ``pinned_state`` (set by ``add_job(state=...)``, a cancel or
    ``Emulator.set_state``) overrides the timeline. Times are unix seconds.

    Attributes:
        job_id: The job id (``b`` + 32 hex digits for generated jobs).
        type: ``"Workflow"`` or ``"Job"``.
        name: The job name.
        creation_time: When the job was created.
        prefix: ``Input/Prefix``.
        manifest: ``Input/Manifest``.
        url_file: ``Input/UrlFile``.
        object: ``Input/Object``.
        interval_start: ``Operation/TimeInterval/Start``.
        interval_end: ``Operation/TimeInterval/End``.
        workflow_ids: ``Operation/WorkflowIds`` (workflow jobs).
        queue_id: ``Operation/QueueId`` (independent-node jobs).
        user_data: ``Operation/UserData``.
        callback: ``Operation/CallBack``.
        tag: ``Operation/Tag``.
        template_id: ``Operation/JobParam/TemplateId``.
        output_region: ``Operation/Output/Region``.
        output_bucket: ``Operation/Output/Bucket``.
        output_object: ``Operation/Output/Object``.
        job_level: ``Operation/JobLevel``.
        started_at: When the job starts (or started); ``None`` if it never does.
        ended_at: When the job ends (or ended); ``None`` if it never does.
        outcome: The state reached at ``ended_at`` (``Success`` or ``Failed``).
        pinned_state: A state that overrides the timeline, or ``None``.
        error_code: ``Code`` rendered while the job is ``Failed``.
        error_message: ``Message`` rendered while the job is ``Failed``.
    """

    job_id: str
    type: str
    name: str
    creation_time: float
    prefix: str | None = None
    manifest: str | None = None
    url_file: str | None = None
    object: str | None = None
    interval_start: float | None = None
    interval_end: float | None = None
    workflow_ids: tuple[str, ...] = ()
    queue_id: str | None = None
    user_data: str | None = None
    callback: str | None = None
    tag: str | None = None
    template_id: str | None = None
    output_region: str | None = None
    output_bucket: str | None = None
    output_object: str | None = None
    job_level: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    outcome: str = "Success"
    pinned_state: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def key(self) -> Key:
        """The listing key: ``(creation_time, job_id)``."""
        return (self.creation_time, self.job_id)

    def state_at(self, now: float) -> str:
        """The job's state at a moment.

        Args:
            now: The moment, in unix seconds.

        Returns:
            The wire string of the state, e.g. ``"Running"``.
        """
        if self.pinned_state is not None:
            return self.pinned_state
        if self.started_at is None or now < self.started_at:
            return "Submitted"
        if self.ended_at is None or now < self.ended_at:
            return "Running"
        return self.outcome

    def start_time_at(self, now: float) -> float | None:
        """``StartTime`` as seen at a moment.

        Args:
            now: The moment, in unix seconds.

        Returns:
            When the job started, or ``None`` (rendered ``-``) if it had not by ``now``.
        """
        if self.started_at is None or self.started_at > now:
            return None
        return self.started_at

    def end_time_at(self, now: float) -> float | None:
        """``EndTime`` as seen at a moment.

        Args:
            now: The moment, in unix seconds.

        Returns:
            When the job ended, or ``None`` (rendered ``-``) if it had not by ``now``.
        """
        if self.ended_at is None or self.ended_at > now:
            return None
        return self.ended_at

    def pinned(self, state: str, now: float) -> StoredJob:
        """A copy forced into a state, with start and end times that agree with it.

        Args:
            state: The wire string of the state to pin.
            now: When the job is forced into it, in unix seconds.

        Returns:
            The new record (this one is unchanged).
        """
        started = (
            self.started_at if self.started_at is not None and self.started_at <= now else None
        )
        if state in ("Submitted", "Pause"):
            return attrs.evolve(self, pinned_state=state, started_at=None, ended_at=None)
        if state == "Running":
            # The service shows no StartTime for some running jobs (see the
            # samples): a start time is only kept if it has passed.
            return attrs.evolve(self, pinned_state=state, started_at=started, ended_at=None)
        if state == "Cancel":
            return attrs.evolve(self, pinned_state=state, started_at=started, ended_at=now)
        # Success / Failed: finished now (or when it naturally did, if earlier).
        ended = self.ended_at if self.ended_at is not None and self.ended_at <= now else now
        return attrs.evolve(
            self,
            pinned_state=state,
            started_at=min(ended, now if started is None else started),
            ended_at=ended,
        )


@attrs.frozen(kw_only=True)
class ListQuery:
    """A parsed, validated list request.

    Attributes:
        size: Jobs per page (1-100).
        ascending: ``orderByTime=Asc``.
        type: ``Workflow``/``Job`` or ``None`` for both.
        states: The accepted states, or ``None`` for all.
        start: Only jobs created at or after this time (after it, with
            ``exclusive_bounds``).
        end: Only jobs created at or before this time (before it, with
            ``exclusive_bounds``).
        workflow_id: Only jobs triggered by this workflow.
        job_id: Only this job.
        name: Only jobs with exactly this name.
        after: Continue after this key (decoded from ``nextToken``).
        exclusive_bounds: Leave out jobs created exactly at ``start`` or ``end``.
    """

    size: int = 10
    ascending: bool = False
    type: str | None = None
    states: frozenset[str] | None = None
    start: float | None = None
    end: float | None = None
    workflow_id: str | None = None
    job_id: str | None = None
    name: str | None = None
    after: Key | None = None
    exclusive_bounds: bool = False

    @property
    def filters_key(self) -> int:
        """A checksum of the filters (not the page size, order or position), for tokens."""
        states = None if self.states is None else sorted(self.states)
        filters = (
            self.type,
            states,
            self.start,
            self.end,
            self.workflow_id,
            self.job_id,
            self.name,
        )
        return zlib.crc32(repr(filters).encode())

    @property
    def is_unfiltered(self) -> bool:
        """No filter but (maybe) the creation-time range: a page is a slice of the keys."""
        return (
            self.type is None
            and self.name is None
            and self.workflow_id is None
            and self.states is None
            and self.job_id is None
        )

    def matches(self, job: StoredJob, now: float) -> bool:
        """Whether ``job`` passes every filter except the creation-time range."""
        if self.type is not None and job.type != self.type:
            return False
        if self.name is not None and job.name != self.name:
            return False
        if self.workflow_id is not None and self.workflow_id not in job.workflow_ids:
            return False
        return self.states is None or job.state_at(now) in self.states


_MAX_ID = "\U0010ffff"


class JobStore:
    """A thread-safe, in-memory set of jobs ordered by ``(creation_time, job_id)``."""

    def __init__(self) -> None:
        #: Held while reading or changing jobs; re-entrant, so a caller can hold it
        #: around a read-modify-write (e.g. cancel).
        self.lock = threading.RLock()
        self._lock = self.lock
        self._jobs: dict[str, StoredJob] = {}
        self._keys: list[Key] = []
        self._transitions: list[float] = []
        self._version = 0

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def add(self, job: StoredJob) -> None:
        """Insert a new job.

        Raises:
            ValueError: If a job with the same id exists.
        """
        self.add_many((job,))

    def add_many(self, jobs: Iterable[StoredJob]) -> None:
        """Insert new jobs (one lock, one sort).

        Raises:
            ValueError: If a job id exists already or repeats.
        """
        new = list(jobs)
        with self._lock:
            ids = {job.job_id for job in new}
            if len(ids) != len(new) or any(job_id in self._jobs for job_id in ids):
                msg = "job ids must be unique"
                raise ValueError(msg)
            bulk = len(new) > 8
            for job in new:
                self._jobs[job.job_id] = job
                self._add_transitions(job, bulk=bulk)
            if bulk:
                self._keys.extend(job.key for job in new)
                self._keys.sort()
                self._transitions.sort()
            else:
                for job in new:
                    bisect.insort(self._keys, job.key)
            self._version += 1

    def replace(self, job: StoredJob) -> None:
        """Store a changed copy of an existing job (same id and creation time)."""
        with self._lock:
            old = self._jobs[job.job_id]
            if old.creation_time != job.creation_time:
                msg = "the creation time of a job never changes"
                raise ValueError(msg)
            self._jobs[job.job_id] = job
            self._add_transitions(job)
            self._version += 1

    def _add_transitions(self, job: StoredJob, *, bulk: bool = False) -> None:
        if job.pinned_state is not None:
            return
        for moment in (job.started_at, job.ended_at):
            if moment is None:
                continue
            if bulk:
                self._transitions.append(moment)
            else:
                bisect.insort(self._transitions, moment)

    def get(self, job_id: str) -> StoredJob | None:
        """The job with this id, or ``None``."""
        return self._jobs.get(job_id)

    def snapshot(self) -> tuple[StoredJob, ...]:
        """Every job, ordered by creation time (then id)."""
        with self._lock:
            return tuple(self._jobs[key[1]] for key in self._keys)

    def epoch(self, now: float) -> tuple[int, int]:
        """A value that changes whenever anything a listing shows may have changed."""
        with self._lock:
            return (self._version, bisect.bisect_right(self._transitions, now))

    def page(self, query: ListQuery, now: float) -> tuple[list[StoredJob], Key | None]:
        """One page of matching jobs and the key to continue after (``None`` on the last page)."""
        wanted = query.size + 1
        with self._lock:
            keys = self._keys
            lo, hi = self._bounds(query)
            jobs = self._jobs
            matches: list[StoredJob] = []
            if query.job_id is not None:
                one = jobs.get(query.job_id)
                if (
                    one is not None
                    and lo <= bisect.bisect_left(keys, one.key) < hi
                    and query.matches(one, now)
                ):
                    matches.append(one)
            elif query.is_unfiltered:
                # No filter beyond the time range: the page is a slice of the keys.
                if query.ascending:
                    selected = keys[lo : min(hi, lo + wanted)]
                else:
                    selected = keys[max(lo, hi - wanted) : hi]
                    selected.reverse()
                matches = [jobs[key[1]] for key in selected]
            else:
                positions = range(lo, hi) if query.ascending else range(hi - 1, lo - 1, -1)
                accept = query.matches
                for position in positions:
                    job = jobs[keys[position][1]]
                    if accept(job, now):
                        matches.append(job)
                        if len(matches) == wanted:
                            break
        if len(matches) > query.size:
            del matches[query.size :]
            return matches, matches[-1].key
        return matches, None

    def _bounds(self, query: ListQuery) -> tuple[int, int]:
        """The slice of keys inside the creation-time range and past the token's key."""
        keys = self._keys
        exclusive = query.exclusive_bounds
        if query.start is None:
            lo = 0
        elif exclusive:
            lo = bisect.bisect_right(keys, (query.start, _MAX_ID))
        else:
            lo = bisect.bisect_left(keys, (query.start, ""))
        if query.end is None:
            hi = len(keys)
        elif exclusive:
            hi = bisect.bisect_left(keys, (query.end, ""))
        else:
            hi = bisect.bisect_right(keys, (query.end, _MAX_ID))
        if query.after is not None:
            if query.ascending:
                lo = max(lo, bisect.bisect_right(keys, query.after))
            else:
                hi = min(hi, bisect.bisect_left(keys, query.after))
        return lo, max(lo, hi)


def encode_token(key: Key, *, ascending: bool, filters: int) -> str:
    """Encode a listing position as an opaque, URL-safe ``NextToken``.

    ``filters`` is the :attr:`ListQuery.filters_key` of the listing.
    """
    payload = f"{'a' if ascending else 'd'}{filters & 0xFFFFFFFF:08x}{key[0]!r}|{key[1]}".encode()
    check = zlib.crc32(payload).to_bytes(4, "big")
    return base64.urlsafe_b64encode(payload + check).rstrip(b"=").decode("ascii")


def decode_token(token: str, *, ascending: bool, filters: int) -> Key:
    """Decode a ``NextToken`` made by :func:`encode_token` for the same ordering and filters.

    Raises:
        ValueError: If the token is not one of ours, or was made for the other
            ordering or for other filters.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        msg = "invalid nextToken"
        raise ValueError(msg) from exc
    payload, check = raw[:-4], raw[-4:]
    if len(raw) < 6 or zlib.crc32(payload).to_bytes(4, "big") != check:
        msg = "invalid nextToken"
        raise ValueError(msg)
    text = payload.decode("utf-8", "replace")
    order, scope, rest = text[:1], text[1:9], text[9:]
    if order not in ("a", "d") or len(scope) != 8:
        msg = "invalid nextToken"
        raise ValueError(msg)
    if order != ("a" if ascending else "d"):
        msg = "nextToken was issued for the other orderByTime"
        raise ValueError(msg)
    if scope != f"{filters & 0xFFFFFFFF:08x}":
        msg = (
            "nextToken was issued for a listing with other filters: a token only "
            "continues the listing (type, states, creation times, ids, name) that issued it"
        )
        raise ValueError(msg)
    timestamp, sep, job_id = rest.partition("|")
    try:
        value = float(timestamp)
    except ValueError:
        value = math.nan
    if not sep or not job_id or not math.isfinite(value):
        msg = "invalid nextToken"
        raise ValueError(msg)
    return (value, job_id)
