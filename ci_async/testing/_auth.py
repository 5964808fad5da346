"""Signature verification for the emulator, with the client's own v5 functions.

The checks and the errors they give (codes and statuses from the CI error table):

* no ``Authorization`` -> 401 ``MissingAuthorization``;
* not a v5 value (fields missing, repeated, not ``sha1``, bad times) ->
  401 ``InvalidAuthorization``;
* ``q-ak`` is not the configured SecretId -> 401 ``SecretidNotExist``;
* the key time (or sign time) ended before the emulator's clock -> 401
  ``SignatureExpired``; it starts more than ``skew`` seconds after it -> 403
  ``RequestTimeTooSkewed``;
* ``host`` not in ``q-header-list`` (when required) -> 403 ``AccessDenied``;
* configured with a token but no matching ``x-ci-security-token`` /
  ``x-cos-security-token`` -> 403 ``AccessDenied``;
* a header or parameter named in the lists is absent, or the recomputed
  signature differs -> 403 ``SignatureDoesNotMatch``.

As on the real service, query parameters that are *not* listed are accepted
(the official SDK does not sign ``?cancel``).
"""

from __future__ import annotations

import functools
import hmac
from urllib.parse import quote

import attrs

from .._signing import Credentials, compute_signature, parse_authorization
from ._records import RecordedRequest

__all__ = ["AuthFailure", "verify_request"]

_TOKEN_HEADERS = ("x-ci-security-token", "x-cos-security-token")


@attrs.frozen
class AuthFailure:
    """Why a request was refused: the HTTP status, error code and message."""

    status: int
    code: str
    message: str


@functools.lru_cache(maxsize=256)
def _name(raw: str) -> str:
    return quote(raw, safe="").lower()


def _window(value: str) -> tuple[int, int] | None:
    start, sep, end = value.partition(";")
    if not (sep and start.isascii() and end.isascii() and start.isdigit() and end.isdigit()):
        return None
    first, last = int(start), int(end)
    return (first, last) if first <= last else None


def verify_request(
    request: RecordedRequest,
    credentials: Credentials,
    now: float,
    *,
    require_signed_host: bool = True,
    skew: float = 900.0,
) -> AuthFailure | None:
    """Check the v5 signature of ``request``; ``None`` when it is valid.

    Args:
        request: The request as received (decoded path, query pairs, headers).
        credentials: The only credentials the emulator accepts.
        now: The emulator's clock, in unix seconds.
        require_signed_host: Refuse signatures that do not cover ``host``.
        skew: How far in the future a key time may start.

    Returns:
        ``None``, or the reason to refuse the request.
    """
    authorization = request.header("authorization")
    if not authorization:
        return AuthFailure(401, "MissingAuthorization", "the request has no Authorization header")
    try:
        fields = parse_authorization(authorization)
    except ValueError as exc:
        return AuthFailure(401, "InvalidAuthorization", str(exc))
    if fields["q-sign-algorithm"].lower() != "sha1":
        return AuthFailure(401, "InvalidAuthorization", "q-sign-algorithm must be sha1")
    key_window = _window(fields["q-key-time"])
    sign_window = _window(fields["q-sign-time"])
    if key_window is None or sign_window is None:
        return AuthFailure(401, "InvalidAuthorization", "malformed q-key-time or q-sign-time")
    if not hmac.compare_digest(fields["q-ak"].encode(), credentials.secret_id.encode()):
        return AuthFailure(401, "SecretidNotExist", "the SecretId in q-ak does not exist")
    if now > min(key_window[1], sign_window[1]):
        return AuthFailure(401, "SignatureExpired", "the signature has expired")
    if max(key_window[0], sign_window[0]) > now + skew:
        return AuthFailure(403, "RequestTimeTooSkewed", "the key time starts too far in the future")
    header_names = [name for name in fields["q-header-list"].split(";") if name]
    if require_signed_host and "host" not in header_names:
        return AuthFailure(403, "AccessDenied", "the host header must be signed")
    if credentials.token is not None:
        sent = next(
            (value for name in _TOKEN_HEADERS if (value := request.header(name)) is not None),
            None,
        )
        if sent is None or not hmac.compare_digest(sent.encode(), credentials.token.encode()):
            return AuthFailure(403, "AccessDenied", "missing or invalid security token")
    listed_headers = set(header_names)
    headers = [(name, value) for name, value in request.headers if _name(name) in listed_headers]
    if {_name(name) for name, _ in headers} != listed_headers:
        return AuthFailure(
            403, "SignatureDoesNotMatch", "a header named in q-header-list is missing"
        )
    listed_params = {name for name in fields["q-url-param-list"].split(";") if name}
    params = [(name, value) for name, value in request.query if _name(name) in listed_params]
    if {_name(name) for name, _ in params} != listed_params:
        return AuthFailure(
            403, "SignatureDoesNotMatch", "a parameter named in q-url-param-list is missing"
        )
    expected = compute_signature(
        credentials.secret_key,
        request.method,
        request.path,
        params,
        headers,
        fields["q-key-time"],
    )
    if not hmac.compare_digest(expected.encode(), fields["q-signature"].lower().encode()):
        return AuthFailure(
            403,
            "SignatureDoesNotMatch",
            "the request signature we calculated does not match the signature you provided",
        )
    return None
