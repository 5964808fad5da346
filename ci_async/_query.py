"""The filters of a listing, validated once, and what each of its page requests asks.

:class:`ListFilters` is what ``Session.list_jobs(...)`` is called with, checked
when it is built (so a bad filter raises at the call, not on the first step of
the iteration), and the one place that knows the list API's parameter names.
:class:`PageQuery` is one page request of a listing: its token, its size and
what it asks instead of the filters' own time bounds and order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

import anyio
import attrs

from ._checks import enum_value, optional_text, wire_datetime
from ._models import JobPage, JobState, JobType
from ._wire import BEIJING, format_time

__all__ = ["Fetch", "ListFilters", "PageQuery"]

#: The longest text filter accepted (``name``, ``workflow_id``, ``job_id``).
MAX_FILTER_TEXT = 1024
_ORDERS = {"desc": "Desc", "asc": "Asc"}


def _type(value: object) -> JobType | None:
    return None if value is None else enum_value(value, JobType, "type")


def _states(value: object) -> str | None:
    """One state, ``"All"``, or an iterable of them, as the comma-joined wire text."""
    if value is None:
        return None
    items: Iterable[object]
    if isinstance(value, str):
        items = (value,)
    elif isinstance(value, Iterable):
        items = value
    else:
        msg = f"states must be a JobState, a str or an iterable of them, not {type(value).__name__}"
        raise TypeError(msg)
    wire: list[str] = []
    for item in items:
        text = "All" if item == "All" else enum_value(item, JobState, "states").value
        if text not in wire:
            wire.append(text)
    if not wire:
        msg = "states must not be empty (pass None for every state)"
        raise ValueError(msg)
    if "All" in wire and len(wire) > 1:
        msg = "states must be 'All' alone or states without it, got " + ",".join(wire)
        raise ValueError(msg)
    return ",".join(wire)


def _order(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"order must be a str, not {type(value).__name__}"
        raise TypeError(msg)
    try:
        return _ORDERS[value.lower()]
    except KeyError:
        msg = f"order must be 'desc' or 'asc', got {value[:40]!r}"
        raise ValueError(msg) from None


def _wire_datetime(value: object, name: str) -> datetime | None:
    """``None``, or an aware datetime that the wire format can carry (see :func:`wire_datetime`)."""
    return None if value is None else wire_datetime(value, name)


def _after(value: object) -> datetime | None:
    """``created_after``, a fraction of a second rounded up to the next whole second.

    The service's bounds name whole seconds (and it prints creation times to
    the second): sent as its own second, ``12:00:00.5`` would take in a job
    created at ``12:00:00``, which is before it.
    """
    checked = _wire_datetime(value, "created_after")
    if checked is None or not checked.microsecond:
        return checked
    try:
        whole = checked.replace(microsecond=0) + timedelta(seconds=1)
    except OverflowError:
        msg = f"created_after is out of range: {checked.isoformat()} has no next whole second"
        raise ValueError(msg) from None
    return _wire_datetime(whole, "created_after")


def _before(value: object) -> datetime | None:
    return _wire_datetime(value, "created_before")


def _workflow_id(value: object) -> str | None:
    return optional_text(value, "workflow_id", max_length=MAX_FILTER_TEXT)


def _job_id(value: object) -> str | None:
    return optional_text(value, "job_id", max_length=MAX_FILTER_TEXT)


def _name(value: object) -> str | None:
    return optional_text(value, "name", max_length=MAX_FILTER_TEXT)


@attrs.frozen(kw_only=True)
class ListFilters:
    """The validated filters of one listing.

    Attributes:
        type: Only jobs of this type.
        states: The comma-joined wire states, or ``None`` for the service's default.
        order: ``"Desc"`` (newest first) or ``"Asc"``; ``None``: not sent (the
            service's default, newest first).
        created_after: Jobs created at or after it (aware; a fraction of a
            second is rounded up to the next whole second).
        created_before: Jobs created at or before it (aware).
        workflow_id: Only jobs of this workflow.
        job_id: Only this job.
        name: Only jobs with this name.

    Raises:
        TypeError: A filter of the wrong type.
        ValueError: A bad filter value, or ``created_after`` later than ``created_before``.
    """

    type: JobType | None = attrs.field(default=None, converter=_type)
    states: str | None = attrs.field(default=None, converter=_states)
    order: str | None = attrs.field(default=None, converter=_order)
    created_after: datetime | None = attrs.field(default=None, converter=_after)
    created_before: datetime | None = attrs.field(default=None, converter=_before)
    workflow_id: str | None = attrs.field(default=None, converter=_workflow_id)
    job_id: str | None = attrs.field(default=None, converter=_job_id)
    name: str | None = attrs.field(default=None, converter=_name)

    def __attrs_post_init__(self) -> None:
        after, before = self.created_after, self.created_before
        if after is not None and before is not None and after > before:
            if after - before < timedelta(seconds=1) and after.microsecond == 0:
                msg = (  # (rounded up to the second after a time within it)
                    f"created_after and created_before ({before.isoformat()}) hold no"
                    " whole second: the service's time bounds name whole seconds"
                )
            else:
                msg = (
                    f"created_after ({after.isoformat()}) is later than "
                    f"created_before ({before.isoformat()})"
                )
            raise ValueError(msg)

    @property
    def ascending(self) -> bool:
        """Whether jobs come oldest first."""
        return self.order == "Asc"

    def params(
        self,
        *,
        after: datetime | None = None,
        before: datetime | None = None,
        order: str | None = None,
    ) -> list[tuple[str, str]]:
        """The query parameters, in a fixed order, without the unset ones.

        Args:
            after: Use this creation-time lower bound instead of ``created_after``.
            before: Use this creation-time upper bound instead of ``created_before``.
            order: Use this order (``"Desc"``/``"Asc"``) instead, and send it.

        Returns:
            ``(name, value)`` pairs.
        """
        params: list[tuple[str, str]] = []
        if self.type is not None:
            params.append(("type", self.type.value))
        if self.states is not None:
            params.append(("states", self.states))
        order = self.order if order is None else order
        if order is not None:
            params.append(("orderByTime", order))
        after = self.created_after if after is None else after
        before = self.created_before if before is None else before
        # In Beijing time, as on the API page: the same instant for a service
        # that reads the offset, and the right one for a service that does not.
        if after is not None:
            params.append(("startCreationTime", format_time(after.astimezone(BEIJING))))
        if before is not None:
            params.append(("endCreationTime", format_time(before.astimezone(BEIJING))))
        for param, value in (
            ("workflowId", self.workflow_id),
            ("jobId", self.job_id),
            ("name", self.name),
        ):
            if value is not None:
                params.append((param, value))
        return params


@attrs.frozen
class PageQuery:
    """One page request of a listing.

    Attributes:
        token: The ``nextToken`` to send, or ``None`` for the first page.
        size: The ``size`` to send, or ``None`` for the service's default.
        after: ``startCreationTime`` instead of the caller's ``created_after``.
        before: ``endCreationTime`` instead of the caller's ``created_before``.
        ascending: The order instead of the caller's (``None``: the caller's).
        ahead: Called with the ``NextToken`` the answer's bytes carry, before
            the page is decoded (see :func:`~ci_async._decode.next_token_hint`).
            When it starts the next request it returns that request's ``sent``
            event, and the page is decoded once the request is on its way.
        sent: Set once this request is on its way (see ``Sender.send``).
    """

    token: str | None = None
    size: int | None = None
    after: datetime | None = None
    before: datetime | None = None
    ascending: bool | None = None
    ahead: Callable[[str], anyio.Event | None] | None = attrs.field(
        default=None, eq=False, repr=False
    )
    sent: anyio.Event | None = attrs.field(default=None, eq=False, repr=False)


#: ``fetch(query, deadline_at)``: one page, retries included.
Fetch = Callable[[PageQuery, float | None], Awaitable[JobPage]]
