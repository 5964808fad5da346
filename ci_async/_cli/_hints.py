"""Hints that say what to do next, added to ``error:`` lines.

A hint is added when the failure has a likely cause the user can act on:

* the host name does not resolve (a misspelt ``--region`` such as
  ``ap-bejing``, a wrong bucket, or a bad ``--endpoint`` host);
* nothing listens at the ``--endpoint`` (an emulator that is not running);
* the service refused the signature or the key (``SignatureDoesNotMatch``,
  ``InvalidAccessKeyId``, ``AccessDenied``, a skewed clock, an expired token).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx

from .._errors import JobNotFoundError, ServiceError, TransportError
from ._common import ENV_BUCKET, ENV_ENDPOINT, ENV_REGION
from ._output import error_text

__all__ = [
    "NOT_FOUND_HINT",
    "describe_error",
    "hint_for",
    "is_connection_refused",
    "is_name_resolution_failure",
]

_CLOCK = "that this machine's clock is right (signatures are time-bound)"
_CHECK_KEY_ID = "check TENCENTCLOUD_SECRET_ID (or COS_SECRET_ID)"
_CHECK_SESSION = "check TENCENTCLOUD_SESSION_TOKEN: temporary credentials expire"

#: Hints by the service's error code, lower-cased.
#: After a job not found: the id, or the bucket and region looked in.
NOT_FOUND_HINT = (
    f"check the id, and that the job is in this bucket and region "
    f"(--bucket and --region, or {ENV_BUCKET} and {ENV_REGION})"
)

_CODE_HINTS = {
    "signaturedoesnotmatch": f"check TENCENTCLOUD_SECRET_KEY (or COS_SECRET_KEY) and {_CLOCK}",
    "requesttimetooskewed": f"check {_CLOCK}",
    "signatureexpired": f"check {_CLOCK}",
    "requestexpired": f"check {_CLOCK}",
    "invalidaccesskeyid": _CHECK_KEY_ID,
    "secretidnotexist": _CHECK_KEY_ID,
    "invalidsecretid": _CHECK_KEY_ID,
    "accessdenied": (
        "check that this key may use the bucket's CI jobs (its CAM policy), and "
        "TENCENTCLOUD_SESSION_TOKEN if the credentials are temporary"
    ),
    "invalidsecuritytoken": _CHECK_SESSION,
    "expiredtoken": _CHECK_SESSION,
    "tokenexpired": _CHECK_SESSION,
}

#: What resolvers say when a name does not resolve (glibc, macOS, Windows, musl).
_RESOLVER_MESSAGES = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "name does not resolve",
    "could not contact dns servers",
)

#: How far along ``__cause__``/``__context__`` links to look.
_MAX_CHAIN = 32


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it was raised from or while handling, each once."""
    seen: set[int] = set()
    pending = [exc]
    while pending and len(seen) < _MAX_CHAIN:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(e for e in (current.__context__, current.__cause__) if e is not None)


def is_name_resolution_failure(exc: BaseException) -> bool:
    """Whether a host name did not resolve: a :class:`socket.gaierror` somewhere in the chain.

    When no :class:`socket.gaierror` is linked (a transport may keep only its
    text), an :class:`httpx.ConnectError` whose message is a resolver's
    "not known" message counts too.

    Args:
        exc: The exception (usually a :class:`~ci_async.TransportError`).

    Returns:
        ``True`` when the failure was a name resolution.
    """
    connect_texts: list[str] = []
    for link in _chain(exc):
        if isinstance(link, socket.gaierror):
            return True
        if isinstance(link, httpx.ConnectError):
            connect_texts.append(str(link).lower())
    return any(marker in text for text in connect_texts for marker in _RESOLVER_MESSAGES)


def is_connection_refused(exc: BaseException) -> bool:
    """Whether the connection was refused: nothing listens at that address.

    Args:
        exc: The exception (usually a :class:`~ci_async.TransportError`).

    Returns:
        ``True`` when a :class:`ConnectionRefusedError` is in the chain.
    """
    return any(isinstance(link, ConnectionRefusedError) for link in _chain(exc))


def hint_for(exc: BaseException, *, endpoint: str | None) -> str | None:
    """What to check after ``exc``, or ``None`` when there is nothing useful to say.

    Args:
        exc: The failure.
        endpoint: The ``--endpoint`` in use, or ``None`` for the service's own
            host (built from the bucket and the region).

    Returns:
        The hint, without a leading ``hint:``.
    """
    if isinstance(exc, JobNotFoundError):
        return NOT_FOUND_HINT
    if isinstance(exc, ServiceError):
        return _CODE_HINTS.get((exc.code or "").lower())
    if isinstance(exc, TransportError):
        if is_name_resolution_failure(exc):
            if endpoint is not None:
                return f"the host name does not resolve: check --endpoint (or {ENV_ENDPOINT})"
            return (
                f"the host name does not resolve: check --region (or {ENV_REGION}), "
                f"e.g. ap-beijing, and --bucket (or {ENV_BUCKET}), BucketName-APPID"
            )
        if endpoint is not None and is_connection_refused(exc):
            return (
                f"nothing listens there: check --endpoint (or {ENV_ENDPOINT}), "
                "or start the server (e.g. ci-async emulator)"
            )
    return None


def describe_error(exc: BaseException, *, endpoint: str | None) -> str:
    """The text of an ``error:`` line: the exception escaped and bounded, then a hint if any.

    Args:
        exc: The failure.
        endpoint: As for :func:`hint_for`.

    Returns:
        One printable line, without ``error:``.
    """
    text = error_text(exc)
    hint = hint_for(exc, endpoint=endpoint)
    return text if hint is None else f"{text}; hint: {hint}"
