"""Fault injection: what should go wrong with the next requests.

A :class:`FaultPlan` is a thread-safe queue of rules set from the test (the
loopback server runs in another thread). Each request takes the first rule
that matches it (by method, path glob, operation or any predicate) and uses
it up; persistent latency applies to every matching request until cleared.

Connection-level faults are signalled by the ASGI app with two exceptions the
hosts understand: :class:`DropConnection` (close without answering) and
:class:`ResetConnection` (abort after part of the body); a hang waits for the
client to go away.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections.abc import Callable, Sequence

import attrs

from ._records import RecordedRequest, operation_of

__all__ = ["RANDOM_KINDS", "DropConnection", "Fault", "FaultPlan", "ResetConnection"]

Predicate = Callable[[RecordedRequest], bool]

_DEFAULT_CODES = {
    429: "SlowDown",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class DropConnection(Exception):  # noqa: N818 - a signal, not an error
    """Raised by the emulator app: close the connection without answering."""


class ResetConnection(Exception):  # noqa: N818 - a signal, not an error
    """Raised by the emulator app after a partial body: abort the connection."""


@attrs.frozen(kw_only=True)
class Fault:
    """One kind of failure, as the app applies it to a request.

    Attributes:
        kind: ``status``, ``drop``, ``reset``, ``hang``, ``trickle``, ``delay``,
            ``truncate``, ``malformed``, ``html``, ``empty``, ``wrong_root`` or
            ``repeat_token``.
        status: The HTTP status (``status`` and ``html`` faults).
        code: The ``<Error><Code>`` (``status`` faults).
        message: The ``<Error><Message>`` (``status`` faults).
        retry_after: The ``Retry-After`` header value, if any.
        after_bytes: How much of the body a ``reset`` sends (``None``: half).
        chunk_size: Bytes per write for ``trickle``.
        interval: Seconds between ``trickle`` writes.
        seconds: Added delay for ``delay``.
    """

    kind: str
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: str | None = None
    after_bytes: int | None = None
    chunk_size: int = 64
    interval: float = 0.01
    seconds: float = 0.0


@attrs.define
class _Rule:
    fault: Fault
    remaining: int
    method: str | None
    path: str | None
    op: str | None
    when: Predicate | None

    def matches(self, request: RecordedRequest) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        if self.path is not None and not fnmatch.fnmatchcase(request.path, self.path):
            return False
        if self.op is not None and operation_of(request.method, request.path) != self.op:
            return False
        if self.fault.kind == "repeat_token" and not (
            request.operation == "list" and request.params.get("nextToken")
        ):
            return False
        return self.when is None or self.when(request)


_OPS = frozenset({"list", "describe", "create", "cancel"})

#: What :meth:`FaultPlan.random` injects by default: failures a client retries.
RANDOM_KINDS = ("500", "502", "503", "504", "429", "drop", "reset", "html")

#: The faults :meth:`FaultPlan.random` knows, by name (an HTTP status is a name too).
_RANDOM_FAULTS = {
    "drop": Fault(kind="drop"),
    "reset": Fault(kind="reset"),
    "hang": Fault(kind="hang"),
    "html": Fault(kind="html", status=502),
    "trickle": Fault(kind="trickle", chunk_size=256, interval=0.001),
    "delay": Fault(kind="delay", seconds=0.05),
    "truncate": Fault(kind="truncate"),
    "malformed": Fault(kind="malformed"),
    "empty": Fault(kind="empty"),
    "wrong_root": Fault(kind="wrong_root"),
}


def _random_fault(name: str) -> Fault:
    if name.isdigit() and 400 <= int(name) <= 599:
        status = int(name)
        return Fault(
            kind="status",
            status=status,
            code=_DEFAULT_CODES.get(status, "InternalError"),
            message=f"injected failure ({status})",
            retry_after="0" if status == 429 else None,
        )
    if name not in _RANDOM_FAULTS:
        known = ", ".join(sorted(_RANDOM_FAULTS))
        msg = f"unknown fault kind {name!r}: use an HTTP status (4xx/5xx) or one of {known}"
        raise ValueError(msg)
    return _RANDOM_FAULTS[name]


@attrs.define
class _Chance:
    rate: float
    faults: tuple[Fault, ...]
    rng: random.Random
    filter: _Rule


class FaultPlan:
    """Faults to inject into the next requests; every method is thread-safe.

    Each ``*_next`` method queues a fault for the next ``n`` requests that match
    the optional filters, which every method accepts:

    * ``method`` — an HTTP method (``"GET"``);
    * ``path`` — a glob over the decoded path (``"/inventorytriggerjob/*"``);
    * ``op`` — ``"list"``, ``"describe"``, ``"create"`` or ``"cancel"``;
    * ``when`` — any predicate over the :class:`RecordedRequest`.

    Rules are consulted in the order they were added; a request uses up at
    most one rule. Faults are applied before the signature is checked.

    Example:
        >>> plan = FaultPlan()
        >>> plan.fail_next(2, status=503, op="list")
        >>> plan.pending
        2
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._latency: list[_Rule] = []
        self._chances: list[_Chance] = []

    # --- bookkeeping -----------------------------------------------------------------

    @property
    def pending(self) -> int:
        """How many queued faults are still to be applied (persistent latency not counted)."""
        with self._lock:
            return sum(rule.remaining for rule in self._rules)

    def clear(self) -> None:
        """Forget every queued fault and all latency."""
        with self._lock:
            self._rules.clear()
            self._latency.clear()
            self._chances.clear()

    def take(self, request: RecordedRequest) -> Fault | None:
        """Use up and return the first fault matching ``request`` (the app calls this).

        Queued faults come first; then each :meth:`random` rule draws its chance.
        """
        if not self._rules and not self._chances:
            return None
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.matches(request):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        del self._rules[index]
                    return rule.fault
            for chance in self._chances:
                if chance.filter.matches(request) and chance.rng.random() < chance.rate:
                    return chance.rng.choice(chance.faults)
        return None

    def latency_for(self, request: RecordedRequest) -> float:
        """The persistent latency to add to ``request`` (the app calls this)."""
        if not self._latency:
            return 0.0
        with self._lock:
            return sum(rule.fault.seconds for rule in self._latency if rule.matches(request))

    def _add(
        self,
        fault: Fault,
        n: int,
        method: str | None,
        path: str | None,
        op: str | None,
        when: Predicate | None,
    ) -> None:
        if n < 1:
            msg = f"n must be at least 1, got {n!r}"
            raise ValueError(msg)
        if op is not None and op not in _OPS:
            msg = f"op must be one of {sorted(_OPS)}, got {op!r}"
            raise ValueError(msg)
        rule = _Rule(fault, n, None if method is None else method.upper(), path, op, when)
        with self._lock:
            self._rules.append(rule)

    # --- HTTP-level faults -----------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 503,
        code: str | None = None,
        message: str | None = None,
        retry_after: float | str | None = None,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Answer the next ``n`` matching requests with an ``<Error>`` document.

        Args:
            n: How many requests fail.
            status: The HTTP status, e.g. 500, 502, 503, 504 or 429 (or any 4xx).
            code: The error code; by default the usual one for ``status``
                (``InternalError``, ``BadGateway``, ``ServiceUnavailable``,
                ``GatewayTimeout``, ``SlowDown``).
            message: The error message.
            retry_after: A ``Retry-After`` header value (seconds or an HTTP date).
            method: Only requests with this method.
            path: Only requests whose path matches this glob.
            op: Only this operation.
            when: Only requests for which this returns true.
        """
        fault = Fault(
            kind="status",
            status=status,
            code=code or _DEFAULT_CODES.get(status, "InternalError"),
            message=message or f"injected failure ({status})",
            retry_after=_retry_after(retry_after),
        )
        self._add(fault, n, method, path, op, when)

    def throttle_next(
        self,
        n: int = 1,
        *,
        retry_after: float | str | None = 1,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Answer the next ``n`` matching requests with 429 ``SlowDown`` and ``Retry-After``."""
        self.fail_next(
            n,
            status=429,
            code="SlowDown",
            message="request rate exceeded, please slow down",
            retry_after=retry_after,
            method=method,
            path=path,
            op=op,
            when=when,
        )

    def html_error_next(
        self,
        n: int = 1,
        *,
        status: int = 502,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Answer with a gateway's HTML error page (``text/html``, default 502)."""
        self._add(Fault(kind="html", status=status), n, method, path, op, when)

    def empty_body_next(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Answer 200 with an empty body."""
        self._add(Fault(kind="empty"), n, method, path, op, when)

    def truncate_next(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Answer normally but with the XML cut in half (a complete, well-framed HTTP response)."""
        self._add(Fault(kind="truncate"), n, method, path, op, when)

    def malformed_next(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Answer normally but with XML that is not well-formed (mismatched tags)."""
        self._add(Fault(kind="malformed"), n, method, path, op, when)

    def wrong_root_next(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Answer normally but with a root element other than ``<Response>``/``<Error>``."""
        self._add(Fault(kind="wrong_root"), n, method, path, op, when)

    def repeat_token_next(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Answer the next ``n`` list requests that carry a ``nextToken`` with that same token.

        The page is the right one; only its ``NextToken`` sends the client back
        to where it was, as a service bug would. Requests without a token do not
        use this fault up.
        """
        self._add(Fault(kind="repeat_token"), n, method, path, op, when)

    def delay_next(
        self,
        n: int = 1,
        *,
        seconds: float,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Delay the answer to the next ``n`` matching requests by ``seconds`` (real time)."""
        self._add(Fault(kind="delay", seconds=seconds), n, method, path, op, when)

    def latency(
        self,
        seconds: float,
        *,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Add ``seconds`` of latency to every matching request until cleared.

        ``latency(0)`` removes all latency rules.
        """
        if seconds < 0:
            msg = "latency cannot be negative"
            raise ValueError(msg)
        with self._lock:
            if seconds == 0:
                self._latency.clear()
                return
            fault = Fault(kind="latency", seconds=seconds)
            method = None if method is None else method.upper()
            self._latency.append(_Rule(fault, 1, method, path, op, when))

    def random(
        self,
        rate: float,
        *,
        kinds: Sequence[str] = RANDOM_KINDS,
        seed: int | None = None,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Give each matching request a fault with probability ``rate``, until cleared.

        For soak tests and chaos runs. Faults queued with the ``*_next`` methods
        are used first. ``random(0)`` removes every random rule.

        Args:
            rate: The probability, from 0 to 1, that a request gets a fault.
            kinds: The faults drawn from, uniformly: an HTTP status such as
                ``"503"`` or ``"429"`` (an ``<Error>`` answer; 429 with
                ``Retry-After: 0``), ``"drop"``, ``"reset"``, ``"hang"``,
                ``"html"`` (a 502 page), ``"trickle"``, ``"delay"`` (50 ms),
                ``"truncate"``, ``"malformed"``, ``"empty"`` or ``"wrong_root"``.
                By default 500, 502, 503, 504, 429, drops, resets and
                HTML gateway pages, all of which a client retries.
            seed: Seed of the draws, for a reproducible sequence.
            method: Only requests with this method.
            path: Only requests whose path matches this glob.
            op: Only this operation.
            when: Only requests for which this returns true.

        Raises:
            ValueError: ``rate`` is outside 0..1, ``kinds`` is empty or names
                an unknown fault, or ``op`` is unknown.

        Example:
            >>> plan = FaultPlan()
            >>> plan.random(0.05, kinds=["503", "drop"], seed=1)
        """
        if not 0 <= rate <= 1:
            msg = f"rate must be between 0 and 1, got {rate!r}"
            raise ValueError(msg)
        if rate == 0:
            with self._lock:
                self._chances.clear()
            return
        if isinstance(kinds, str) or not kinds:
            msg = "kinds must be a non-empty sequence of fault names"
            raise ValueError(msg)
        if op is not None and op not in _OPS:
            msg = f"op must be one of {sorted(_OPS)}, got {op!r}"
            raise ValueError(msg)
        faults = tuple(_random_fault(name) for name in kinds)
        selector = _Rule(
            Fault(kind="random"), 0, None if method is None else method.upper(), path, op, when
        )
        chance = _Chance(float(rate), faults, random.Random(seed), selector)
        with self._lock:
            self._chances.append(chance)

    # --- connection-level faults -----------------------------------------------------

    def drop_next(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Close the connection without answering (the request was read).

        In-process this raises ``httpx.RemoteProtocolError`` in the client.
        """
        self._add(Fault(kind="drop"), n, method, path, op, when)

    def reset_next(
        self,
        n: int = 1,
        *,
        after_bytes: int | None = None,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Send the headers and part of the body, then abort the connection.

        Args:
            n: How many requests.
            after_bytes: How many body bytes to send first (default: half).
            method: Only requests with this method.
            path: Only requests whose path matches this glob.
            op: Only this operation.
            when: Only requests for which this returns true.
        """
        self._add(Fault(kind="reset", after_bytes=after_bytes), n, method, path, op, when)

    def hang_next(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Never answer: wait until the client goes away (times out or is cancelled)."""
        self._add(Fault(kind="hang"), n, method, path, op, when)

    def trickle_next(
        self,
        n: int = 1,
        *,
        chunk_size: int = 64,
        interval: float = 0.01,
        method: str | None = None,
        path: str | None = None,
        op: str | None = None,
        when: Predicate | None = None,
    ) -> None:
        """Send the answer slowly: ``chunk_size`` bytes every ``interval`` seconds."""
        if chunk_size < 1 or interval < 0:
            msg = "chunk_size must be positive and interval not negative"
            raise ValueError(msg)
        fault = Fault(kind="trickle", chunk_size=chunk_size, interval=interval)
        self._add(fault, n, method, path, op, when)

    def __repr__(self) -> str:
        with self._lock:
            kinds = [f"{rule.fault.kind}x{rule.remaining}" for rule in self._rules]
            kinds += [f"random({chance.rate:g})" for chance in self._chances]
            latency = len(self._latency)
        return f"FaultPlan(pending={kinds!r}, latency_rules={latency})"


def _retry_after(value: float | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)
