"""The composite ``next_token`` of a parallel listing: what it holds, written and read.

A parallel listing (:mod:`ci_async._parallel`) resumes from a
:class:`Snapshot`: its windows left, in order, each with the token of its
first page not handed out. :func:`encode_token` makes it an opaque,
versioned string (:data:`TOKEN_PREFIX` + base64url JSON); :func:`decode_token`
reads it back, refusing anything damaged or of another version: whatever
the listing could not have written (see :func:`decode_token`), so that a token
edited by hand or cut short is refused before any request instead of losing
or repeating jobs.

The seconds a window may name are kept within :data:`MIN_SECOND` and
:data:`MAX_SECOND` (:func:`expressible`): :func:`when` turns them, and the
second beyond, into the datetimes the requests send. :func:`check_token` is
what a token sent back to the service may be: a window's, or a plain one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

import attrs

from ._checks import require_str
from ._wire import BEIJING

__all__ = [
    "MAX_COMPOSITE_LENGTH",
    "MAX_PARALLEL",
    "MAX_SECOND",
    "MAX_TOKEN_LENGTH",
    "MAX_WINDOWS",
    "MIN_SECOND",
    "TOKEN_PREFIX",
    "Snapshot",
    "WindowState",
    "check_token",
    "decode_token",
    "encode_token",
    "expressible",
    "far_end",
    "filters_fingerprint",
    "is_parallel_token",
    "when",
]

#: What starts a composite (parallel) token.
TOKEN_PREFIX = "ci_async.parallel.v1."  # noqa: S105 - a marker, not a secret

#: The most requests in flight a parallel listing may ask for.
MAX_PARALLEL = 64
#: The most windows a snapshot holds: ``4 * parallel + 2`` alive, and the rest not carved yet.
MAX_WINDOWS = 4 * MAX_PARALLEL + 3
#: The longest token sent back to the service: httpx's cap on a whole URL, so a
#: longer one could never be sent (it holds the token, percent-encoded).
MAX_TOKEN_LENGTH = 65_536
#: The longest composite token read: ``MAX_WINDOWS`` windows with tokens of some
#: 12,000 characters each (a service's tokens are tens of characters).
MAX_COMPOSITE_LENGTH = 4 * 1024 * 1024

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The first and the last second a window's range may name: the years 2 to 9998
#: in UTC, a year within what a datetime holds in any UTC offset (the second
#: beyond each, sent by a window's requests, too).
MIN_SECOND = int((datetime(2, 1, 1, tzinfo=timezone.utc) - _EPOCH).total_seconds())
MAX_SECOND = int((datetime(9999, 1, 1, tzinfo=timezone.utc) - _EPOCH).total_seconds())

_DAMAGED = "next_token is a damaged ci_async parallel listing token"
_KEYS = frozenset({"o", "p", "f", "w"})
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_FINGERPRINT = re.compile(r"[0-9a-f]{12}")


#: One window of a snapshot: ``(lo, hi, head, token, after, before)``. ``lo``/``hi``:
#: the seconds it owns (``None``: unbounded, up to the caller's bound);
#: ``after``/``before``: the seconds its chain's requests send (``None``: the
#: caller's bound), fixed when the chain started so that its token stays valid.
WindowState = tuple[int | None, int | None, bool, str | None, int | None, int | None]


@attrs.frozen
class Snapshot:
    """What a listing has not handed out yet: its windows, in order, and how it runs.

    Attributes:
        windows: ``(lo, hi, head, token, after, before)`` per window left, in order.
        ascending: Oldest first.
        parallel: Requests in flight.
        filters: A fingerprint of the listing's filters (a token resumes only those).
    """

    windows: tuple[WindowState, ...]
    ascending: bool
    parallel: int
    filters: str


def expressible(second: int) -> bool:
    """Whether a window's range may start or end at ``second`` (see :data:`MIN_SECOND`)."""
    return MIN_SECOND <= second <= MAX_SECOND


def far_end(second: int | None, *, ascending: bool) -> int | None:
    """Where a listing's far end is taken to be: ``second``, moved within the expressible range.

    Windows are carved up to the far end; the last one has no far edge, so
    what lies beyond an end moved in is listed by it all the same.
    """
    if second is None:
        return None
    return min(second, MAX_SECOND) if ascending else max(second, MIN_SECOND)


def when(second: int) -> datetime:
    """A window's bound, in Beijing time as on the API page (a service may read them all so).

    Any second from ``MIN_SECOND - 1`` to ``MAX_SECOND``, on any platform (no ``time_t``).
    """
    return (_EPOCH + timedelta(seconds=second)).astimezone(BEIJING)


def check_token(token: object, name: str = "next_token") -> str:
    """``token``, if it can be sent back to the service as a ``nextToken``.

    A token is opaque, but it is only ever text the service sent: never empty,
    at most :data:`MAX_TOKEN_LENGTH` characters, and valid Unicode. Any other
    text is sent back as it came, percent-encoded, control characters
    included: whatever the service sent can be resumed from. The message never
    quotes the token.

    Raises:
        TypeError: Not a str.
        ValueError: One of the above.
    """
    text = require_str(token, name)
    fault = _token_fault(text)
    if fault is not None:
        msg = f"{name} {fault}"
        raise ValueError(msg)
    return text


def _token_fault(token: str) -> str | None:
    """What makes ``token`` unfit to send back (``must ...``), or ``None``."""
    if not token:
        return "must not be empty"
    if len(token) > MAX_TOKEN_LENGTH:
        return f"must be at most {MAX_TOKEN_LENGTH} characters, got {len(token)}"
    if not token.isprintable():  # (the common case, printable text, takes one quick test)
        try:
            token.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (it contains a lone surrogate)"
    return None


def is_parallel_token(token: str) -> bool:
    """Whether ``token`` is a composite token of a parallel listing."""
    return token.startswith(TOKEN_PREFIX)


def encode_token(snapshot: Snapshot) -> str | None:
    """The ``next_token`` for ``snapshot``: ``None`` when nothing is left.

    A lone head window gives its plain service token (a sequential listing
    resumes from it too); anything else a composite token.
    """
    windows = snapshot.windows
    if not windows:
        return None
    if len(windows) == 1 and windows[0][:3] == (None, None, True):
        return windows[0][3]  # the head alone: the service's own token
    body = {
        "o": "asc" if snapshot.ascending else "desc",
        "p": snapshot.parallel,
        "f": snapshot.filters,
        "w": [list(window) for window in windows],
    }
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def decode_token(token: str) -> Snapshot:
    """Read a composite token, refusing what :func:`encode_token` never writes.

    A listing writes (see :mod:`ci_async._parallel`): 1 to :data:`MAX_WINDOWS`
    windows, in the listing's order, each starting where the one before ends
    (newest first, a window's ``hi`` is the ``lo`` of the one before); the
    first window open on its near side (no ``lo`` oldest first, no ``hi``
    newest first) if and only if it is the head, and never the head alone;
    the last one, and only it, open on its far side; ``lo < hi``; seconds
    within :data:`MIN_SECOND` and :data:`MAX_SECOND` (the bounds sent, one
    more on either side); a head sends no bound of its own; another sends, on
    its near side, that side's second or the one beyond, and on its far side
    none if it is open there, else a second no nearer than one inside its
    range (a window shrinks on that side as it is split); window tokens that
    :func:`check_token` accepts; ``parallel`` from 2 to :data:`MAX_PARALLEL`;
    a 12-digit fingerprint; nothing else. A token longer than
    :data:`MAX_COMPOSITE_LENGTH` is refused before it is decoded.

    Raises:
        ValueError: Not a composite token of this version, or damaged (the
            message says how, and quotes nothing of it).
    """
    if not is_parallel_token(token):
        msg = "not a ci_async parallel listing token"
        raise ValueError(msg)
    if len(token) > MAX_COMPOSITE_LENGTH:
        _damaged(f"longer than {MAX_COMPOSITE_LENGTH} characters")
    data = token[len(TOKEN_PREFIX) :]
    if not _BASE64URL.fullmatch(data):
        _damaged("not base64url")
    try:
        text = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()
        body = json.loads(text)
    except (ValueError, RecursionError):  # (base64, UTF-8 and JSON errors are ValueErrors)
        _damaged("not base64url JSON")
    if type(body) is not dict or body.keys() != _KEYS:
        _damaged("not the JSON object a listing writes")
    order, parallel, filters, items = body["o"], body["p"], body["f"], body["w"]
    if type(order) is not str or order not in {"asc", "desc"}:
        _damaged("no order")
    if type(parallel) is not int or not 2 <= parallel <= MAX_PARALLEL:
        _damaged(f"parallel not from 2 to {MAX_PARALLEL}")
    if type(filters) is not str or not _FINGERPRINT.fullmatch(filters):
        _damaged("no filters fingerprint")
    if type(items) is not list or not 1 <= len(items) <= MAX_WINDOWS:
        _damaged(f"not 1 to {MAX_WINDOWS} windows")
    windows = tuple(_window_state(item) for item in items)
    fault = _windows_fault(windows, ascending=order == "asc")
    if fault is not None:
        _damaged(fault)
    return Snapshot(windows, order == "asc", parallel, filters)


def _damaged(reason: str) -> NoReturn:
    msg = f"{_DAMAGED} ({reason})"
    raise ValueError(msg)


def _second(value: Any, low: int) -> int | None:
    """A window's second read back: ``None`` or an int from ``low`` to ``MAX_SECOND``."""
    if value is not None and (type(value) is not int or not low <= value <= MAX_SECOND):
        _damaged("a window's second is not a whole second a listing may name")
    return value


def _window_state(item: Any) -> WindowState:
    if type(item) is not list or len(item) != 6:
        _damaged("a window is not six values")
    lo, hi, head, token, after, before = item
    lo, hi = _second(lo, MIN_SECOND), _second(hi, MIN_SECOND)
    after, before = _second(after, MIN_SECOND - 1), _second(before, MIN_SECOND - 1)
    if type(head) is not bool:
        _damaged("a window's head flag is not true or false")
    if token is not None:
        _window_token(token)
    return lo, hi, head, token, after, before


def _window_token(token: Any) -> None:
    """Refuse a window's token that :func:`check_token` refuses."""
    fault = _token_fault(token) if type(token) is str else "must be a str"
    if fault is not None:
        _damaged(f"a window's token {fault}")


def _windows_fault(windows: Sequence[WindowState], *, ascending: bool) -> str | None:
    """How ``windows`` differ from what a listing in that order writes, or ``None``."""
    last = len(windows) - 1
    reached: int | None = None  # the far edge of the window before
    for index, (lo, hi, head, _, after, before) in enumerate(windows):
        near, far = (lo, hi) if ascending else (hi, lo)
        if lo is not None and hi is not None and lo >= hi:
            return "a window ends where it starts or before"
        if index == 0 and head != (near is None):
            return "the first window is open on its near side but not the head, or the reverse"
        if index > 0 and (head or near is None or near != reached):
            return "a window does not start where the one before ends"
        if (far is None) != (index == last):
            return "a window before the last is open on its far side, or the last is not"
        if head and index == last:
            return "the head window alone (that is written as the service's own token)"
        if head and (after is not None or before is not None):
            return "the head window sends bounds of its own"
        sent_near, sent_far = (after, before) if ascending else (before, after)
        if sent_near is not None and (near is None or sent_near not in (near - 1, near)):
            return "a window's bounds sent do not match its range"
        if sent_far is not None and (
            far is None or (sent_far < far - 1 if ascending else sent_far > far)
        ):
            return "a window's bounds sent do not match its range"
        reached = far
    return None


def filters_fingerprint(params: Sequence[tuple[str, str]]) -> str:
    """A short fingerprint of a listing's filters, kept in its composite tokens.

    The sorted pairs as a JSON array: unambiguous whatever the values hold
    (``job_id="j&name=x"`` is not ``job_id="j", name="x"``).
    """
    text = json.dumps(sorted(params))  # (ASCII: non-ASCII characters are escaped)
    return hashlib.blake2b(text.encode("ascii"), digest_size=6).hexdigest()
