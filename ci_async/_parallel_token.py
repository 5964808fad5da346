"""The composite ``next_token`` of a parallel listing: what it holds, written and read.

A parallel listing (:mod:`ci_async._parallel`) resumes from a
:class:`Snapshot`: its windows left, in order, each with the token of its
first page not handed out. :func:`encode_token` makes it an opaque,
versioned string (:data:`TOKEN_PREFIX` + base64url JSON); :func:`decode_token`
reads it back, refusing anything damaged or of another version.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import attrs

__all__ = [
    "TOKEN_PREFIX",
    "Snapshot",
    "WindowState",
    "decode_token",
    "encode_token",
    "filters_fingerprint",
    "is_parallel_token",
]

#: What starts a composite (parallel) token.
TOKEN_PREFIX = "ci_async.parallel.v1."  # noqa: S105 - a marker, not a secret


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
    """Read a composite token.

    Raises:
        ValueError: Not a composite token of this version, or damaged.
    """
    if not is_parallel_token(token):
        msg = "not a ci_async parallel listing token"
        raise ValueError(msg)
    data = token[len(TOKEN_PREFIX) :]
    try:
        text = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()
        body = json.loads(text)
        windows = tuple(_window_state(item) for item in body["w"])
        order, parallel, filters = body["o"], body["p"], body["f"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        msg = "next_token is a damaged ci_async parallel listing token"
        raise ValueError(msg) from None
    if order not in {"asc", "desc"} or type(parallel) is not int or not isinstance(filters, str):
        msg = "next_token is a damaged ci_async parallel listing token"
        raise ValueError(msg)
    return Snapshot(windows, order == "asc", parallel, filters)


def _window_state(item: Any) -> WindowState:
    lo, hi, head, token, after, before = item
    for bound in (lo, hi, after, before):
        if bound is not None and type(bound) is not int:
            raise TypeError
    if type(head) is not bool or (token is not None and not isinstance(token, str)):
        raise TypeError
    return lo, hi, head, token, after, before


def filters_fingerprint(params: Sequence[tuple[str, str]]) -> str:
    """A short fingerprint of a listing's filters, kept in its composite tokens."""
    text = "&".join(f"{name}={value}" for name, value in sorted(params))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
