"""Retry policy: which failures are retried and how long to wait between attempts.

:class:`RetryPolicy` holds the knobs (attempt budget, exponential backoff with
full jitter, the cap on a server's ``Retry-After``). The helpers below it decide
*whether* a failure is retryable; :mod:`ci_async._http` runs the loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import attrs
import httpx

from . import _checks

__all__ = ["RetryPolicy"]

#: Statuses retried for idempotent requests (GET, cancel).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Transport failures that prove the request never reached the server: the only
#: failures after which a non-idempotent request (create) may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

#: Transport failures worth another attempt for an idempotent request.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, OSError)


def _non_negative_seconds(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _checks.seconds(value, attribute.name, allow_zero=True)


def _attempts(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _checks.positive_int(value, attribute.name, minimum=1)


@attrs.frozen
class RetryPolicy:
    """How failed requests are retried.

    The delay before retry *n* (``n`` = the number of attempts made so far) is
    drawn uniformly from ``[0, min(max_backoff, backoff * 2 ** (n - 1))]`` ("full
    jitter"), or is exactly that cap when ``jitter`` is false. A ``Retry-After``
    sent by the server is a lower bound on the delay, itself capped at
    ``max_retry_after``.

    Retried for GET requests and ``cancel_job``: connection errors, timeouts,
    429, 500, 502, 503 and 504. ``create_job`` is retried only when the request
    certainly never reached the server (connection refused, connect or pool
    timeout). Other 4xx answers are never retried. Pass ``retry=None`` to
    :class:`~ci_async.Session` to send every request exactly once.

    Attributes:
        max_attempts: Requests in total, the first one included (>= 1).
        backoff: Base delay in seconds (>= 0), doubled on every retry.
        max_backoff: Upper bound of the exponential delay in seconds (>= 0).
        jitter: Draw the delay uniformly from ``[0, cap]`` (full jitter).
        max_retry_after: Upper bound in seconds on a server's ``Retry-After``.
        random: Source of uniform numbers in ``[0, 1)``; inject one in tests.
    """

    max_attempts: int = attrs.field(default=4, validator=_attempts)
    backoff: float = attrs.field(default=0.2, validator=_non_negative_seconds)
    max_backoff: float = attrs.field(default=20.0, validator=_non_negative_seconds)
    jitter: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative_seconds)
    random: Callable[[], float] = attrs.field(
        default=random.random,
        eq=False,
        repr=False,
        validator=attrs.validators.is_callable(),
    )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt.

        Args:
            attempt: How many attempts have been made so far (1 after the first
                request failed).
            retry_after: The server's ``Retry-After`` in seconds, if it sent one.

        Returns:
            The delay in seconds: the jittered exponential backoff, raised to the
            capped ``Retry-After`` when that is longer.
        """
        exponent = max(attempt - 1, 0)
        # Avoid float overflow for absurd attempt numbers: the cap wins long before.
        cap = (
            self.max_backoff
            if exponent >= 64
            else min(self.max_backoff, self.backoff * 2.0**exponent)
        )
        wait = cap * self.random() if self.jitter else cap
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


def retryable_exception(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether a transport failure deserves another attempt.

    Args:
        exc: What sending the request raised.
        idempotent: Whether sending the request twice is harmless.

    Returns:
        ``True`` for transient failures of idempotent requests, and for failures
        that prove the request never left (for any request).
    """
    if isinstance(exc, _NOT_SENT):
        return True
    return idempotent and isinstance(exc, _TRANSIENT)


def retryable_status(status_code: int, *, idempotent: bool) -> bool:
    """Whether an error answer deserves another attempt.

    Args:
        status_code: The HTTP status of the answer.
        idempotent: Whether sending the request twice is harmless. An answer
            proves a non-idempotent request reached the server, so it is never
            retried.

    Returns:
        ``True`` for 429 and 500/502/503/504 answers to idempotent requests.
    """
    return idempotent and status_code in RETRY_STATUSES
