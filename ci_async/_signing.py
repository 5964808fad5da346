r"""Request signing: credentials, the :class:`Signer` protocol and the COS/CI v5 signer.

The COS/CI v5 scheme (``q-sign-algorithm=sha1``), as the service checks it:

1. ``KeyTime = "<start>;<end>"`` (unix seconds);
   ``SignKey = hex(HMAC-SHA1(SecretKey, KeyTime))``.
2. Query parameters and headers to sign: each name URL-encoded then lower-cased,
   each value URL-encoded (RFC 3986: only ``A-Z a-z 0-9 - _ . ~`` are kept as
   they are), the pairs sorted by name and joined ``name=value&name=value``.
   ``q-url-param-list`` / ``q-header-list`` are the sorted names joined by ``;``.
3. ``HttpString = "<method lower>\n<path>\n<params>\n<headers>\n"``, the path
   being the *decoded* UTF-8 path.
4. ``StringToSign = "sha1\n<KeyTime>\n<hex(SHA1(HttpString))>\n"``.
5. ``q-signature = hex(HMAC-SHA1(SignKey, StringToSign))``.

:func:`sign_v5`, :func:`compute_signature` and :func:`parse_authorization` are
pure functions shared by :class:`CosSigner` and the emulator's verifier.

Choices where the official SDKs disagree or say nothing (the emulator verifies
with the same functions, so client and emulator always agree):

* A name is encoded *then* lower-cased (as the Python and Go SDKs do), so a
  non-ASCII name has lower-case hex escapes (``%e8``).
* A name that occurs several times is signed once per occurrence and listed
  once per occurrence in ``q-url-param-list`` / ``q-header-list``; equal names
  are ordered by their raw value (as the Go SDK does; the Python SDK keeps
  parameters and headers in dicts and cannot express repeated names).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable
from urllib.parse import quote, unquote_plus

import anyio
import attrs

from . import _validate
from ._errors import CredentialsError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CosSigner",
    "Credentials",
    "CredentialsProvider",
    "Signer",
    "compute_signature",
    "parse_authorization",
    "sign_v5",
]

_logger = logging.getLogger("ci_async")

#: The header that carries the token of temporary credentials on CI hosts.
TOKEN_HEADER = "x-ci-security-token"  # noqa: S105 (a header name, not a secret)

#: Headers CosSigner signs by exact (lower-case) name ...
_SIGNED_HEADERS = frozenset({"host", "content-type", "content-md5", "content-length", "date"})
#: ... and by prefix.
_SIGNED_PREFIXES = ("x-ci-", "x-cos-")

#: The fields of an Authorization value, in the order they are written.
_AUTH_FIELDS = (
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
)

#: Environment variables read by Credentials.from_env(), most preferred first:
#: (secret id, secret key, session token).
_ENV_FAMILIES = (
    ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"),
    ("COS_SECRET_ID", "COS_SECRET_KEY", "COS_SESSION_TOKEN"),
)

#: Seconds to wait before asking a failing provider again while the current
#: credentials are still valid.
_REFRESH_RETRY_DELAY = 10.0

#: Largest per-signer encoding cache, and the longest string it keeps.
_CACHE_MAX_ENTRIES = 512
_CACHE_MAX_LEN = 128


# --------------------------------------------------------------------------- #
# Credentials
# --------------------------------------------------------------------------- #


def _check_secret_text(name: str, value: object, *, ascii_only: bool) -> None:
    """Validate one credential string without ever echoing its value."""
    if not isinstance(value, str):
        msg = f"{name} must be a str, not {type(value).__name__}"
        raise TypeError(msg)
    if not value:
        msg = f"{name} must not be empty"
        raise ValueError(msg)
    if " " in value or not value.isprintable():
        msg = f"{name} must not contain whitespace or control characters"
        raise ValueError(msg)
    if ascii_only and not value.isascii():
        msg = f"{name} must be ASCII (it is sent in a header)"
        raise ValueError(msg)


def _validate_header_text(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    _check_secret_text(attribute.name, value, ascii_only=True)


def _validate_key(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    _check_secret_text(attribute.name, value, ascii_only=False)


def _validate_token(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None:
        _check_secret_text(attribute.name, value, ascii_only=True)


def _validate_expires_at(
    _: object, attribute: attrs.Attribute[datetime | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, datetime):
        msg = f"{attribute.name} must be a datetime or None, not {type(value).__name__}"
        raise TypeError(msg)
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{attribute.name} must be timezone-aware (e.g. datetime.now(timezone.utc))"
        raise ValueError(msg)


@attrs.frozen
class Credentials:
    """A Tencent Cloud key pair, optionally temporary (with a token and an expiry).

    ``repr()`` and ``str()`` show the secret id and the expiry, never the key or
    the token.

    Attributes:
        secret_id: The SecretId (``AKID...``); sent in every Authorization header.
        secret_key: The SecretKey; only ever used to derive signing keys.
        token: The session token of temporary credentials, sent in the
            ``x-ci-security-token`` header; ``None`` for permanent keys.
        expires_at: When temporary credentials expire (an aware datetime), or
            ``None``. Providers' credentials are refreshed before this moment.

    Raises:
        TypeError: A field has the wrong type.
        ValueError: A string is empty or contains whitespace or control
            characters, ``secret_id``/``token`` are not ASCII, or
            ``expires_at`` is a naive datetime.
    """

    secret_id: str = attrs.field(validator=_validate_header_text)
    secret_key: str = attrs.field(repr=False, validator=_validate_key)
    token: str | None = attrs.field(default=None, repr=False, validator=_validate_token)
    expires_at: datetime | None = attrs.field(default=None, validator=_validate_expires_at)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read credentials from environment variables.

        ``TENCENTCLOUD_SECRET_ID`` / ``TENCENTCLOUD_SECRET_KEY`` (with
        ``TENCENTCLOUD_SESSION_TOKEN`` for temporary credentials) are used when
        either is set; otherwise ``COS_SECRET_ID`` / ``COS_SECRET_KEY`` (with
        ``COS_SESSION_TOKEN``). A token is only taken from the same family as
        the key pair. Empty variables count as unset.

        Args:
            environ: The variables to read; ``os.environ`` when ``None``.

        Returns:
            The credentials found.

        Raises:
            CredentialsError: No pair is set, only half of a pair is set, or a
                value is malformed. The message names the variables, never
                their values.
        """
        env: Mapping[str, str] = os.environ if environ is None else environ
        for id_var, key_var, token_var in _ENV_FAMILIES:
            secret_id = env.get(id_var) or None
            secret_key = env.get(key_var) or None
            if secret_id is None and secret_key is None:
                continue
            if secret_id is None or secret_key is None:
                present, missing = (key_var, id_var) if secret_id is None else (id_var, key_var)
                msg = f"{present} is set but {missing} is not: set both"
                raise CredentialsError(msg)
            try:
                return cls(secret_id, secret_key, env.get(token_var) or None)
            except (TypeError, ValueError) as exc:
                # The validators' messages name the field, never the value.
                msg = f"invalid credentials in {id_var} / {key_var} / {token_var}: {exc}"
                raise CredentialsError(msg) from None
        msg = (
            "no credentials found: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY "
            "(plus TENCENTCLOUD_SESSION_TOKEN for temporary credentials), "
            "or COS_SECRET_ID and COS_SECRET_KEY"
        )
        raise CredentialsError(msg)


#: An async callable returning fresh :class:`Credentials` (e.g. from an STS service).
CredentialsProvider: TypeAlias = Callable[[], Awaitable[Credentials]]


def _provider_name(provider: object) -> str:
    """A printable name for a provider (never its repr: that may hold arguments)."""
    name = getattr(provider, "__qualname__", None)
    return name if isinstance(name, str) else type(provider).__name__


class _CredentialSource:
    """Normalises static credentials, the environment, and async providers.

    A provider's credentials are cached and refreshed when ``clock()`` comes
    within ``refresh_margin`` seconds of ``expires_at`` (for credentials that
    live less than twice the margin: at half their remaining life). One refresh
    runs at a time however many tasks wait; the waiters get its result. When a
    refresh fails while the current credentials are still valid, those are
    used (a warning is logged) and the provider is asked again after
    ``_REFRESH_RETRY_DELAY`` seconds; once they have expired, failures raise
    :class:`CredentialsError`.
    """

    __slots__ = (
        "_attempts",
        "_cached",
        "_clock",
        "_expires_ts",
        "_last_error",
        "_lock",
        "_margin",
        "_provider",
        "_refresh_at",
    )

    def __init__(
        self,
        credentials: Credentials | CredentialsProvider | None,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 300.0,
    ) -> None:
        _validate.seconds(refresh_margin, "refresh_margin", allow_zero=True)
        self._clock = clock
        self._margin = float(refresh_margin)
        self._provider: CredentialsProvider | None = None
        self._cached: Credentials | None = None
        self._refresh_at = -math.inf
        self._expires_ts = -math.inf
        self._lock: anyio.Lock | None = None
        self._attempts = 0
        self._last_error: CredentialsError | None = None
        source: object = Credentials.from_env() if credentials is None else credentials
        if isinstance(source, Credentials):
            # Static credentials are never refreshed (there is nothing to ask).
            self._cached = source
            self._refresh_at = self._expires_ts = math.inf
        elif callable(source):
            self._provider = source
        else:
            msg = (
                "credentials must be Credentials, an async callable returning Credentials, "
                f"or None; got {type(source).__name__}"
            )
            raise TypeError(msg)

    def __repr__(self) -> str:
        if self._provider is None:
            return f"<credentials {self._cached!r}>"
        return f"<credentials from provider {_provider_name(self._provider)}>"

    def current(self, now: float) -> Credentials | None:
        """The cached credentials when they need no refresh at ``now``, else ``None``."""
        if now < self._refresh_at:
            return self._cached
        return None

    async def get(self) -> Credentials:
        """Return usable credentials, refreshing them (once for all waiters) if due.

        Raises:
            CredentialsError: The provider failed or returned something unusable
                and no still-valid credentials are cached.
        """
        creds = self.current(self._clock())
        if creds is not None:
            return creds
        if self._lock is None:
            # Created on first use, inside the running event loop (asyncio or trio).
            self._lock = anyio.Lock()
        seen_attempts = self._attempts
        async with self._lock:
            now = self._clock()
            creds = self.current(now)
            if creds is not None:
                return creds  # another task refreshed while we waited
            if self._attempts != seen_attempts and self._last_error is not None:
                # A refresh failed while we waited: share its outcome instead of
                # hammering the provider once per waiting task.
                return self._fallback(now, self._last_error, shared=True)
            self._attempts += 1
            self._last_error = None
            try:
                fresh = await self._fetch()
            except CredentialsError as exc:
                self._last_error = exc
                return self._fallback(self._clock(), exc, shared=False)
            self._store(fresh, self._clock())
            return fresh

    def _fallback(self, now: float, error: CredentialsError, *, shared: bool) -> Credentials:
        """Use the still-valid cached credentials after a failed refresh, or raise."""
        if self._cached is not None and now < self._expires_ts:
            if not shared:
                _logger.warning(
                    "refreshing credentials failed (%s); using the current ones until they expire",
                    type(error.__cause__ or error).__name__,
                )
                self._refresh_at = min(now + _REFRESH_RETRY_DELAY, self._expires_ts)
            return self._cached
        if shared:
            raise CredentialsError(str(error)) from error
        raise error

    async def _fetch(self) -> Credentials:
        provider = self._provider
        assert provider is not None
        name = _provider_name(provider)
        try:
            pending: object = provider()
            if not inspect.isawaitable(pending):
                msg = (
                    f"credentials provider {name} must be an async callable; it returned "
                    f"{type(pending).__name__} instead of an awaitable"
                )
                raise CredentialsError(msg)
            creds: object = await pending
        except CredentialsError:
            raise
        except Exception as exc:
            # Only the exception type: a provider's message may quote a secret.
            msg = f"credentials provider {name} failed: {type(exc).__name__}"
            raise CredentialsError(msg) from exc
        if not isinstance(creds, Credentials):
            msg = (
                f"credentials provider {name} returned {type(creds).__name__}, expected Credentials"
            )
            raise CredentialsError(msg)
        if creds.expires_at is not None and creds.expires_at.timestamp() <= self._clock():
            msg = (
                f"credentials provider {name} returned credentials that expired at "
                f"{creds.expires_at.isoformat()}"
            )
            raise CredentialsError(msg)
        return creds

    def _store(self, creds: Credentials, now: float) -> None:
        self._cached = creds
        if creds.expires_at is None:
            self._expires_ts = self._refresh_at = math.inf
            return
        expires_ts = creds.expires_at.timestamp()
        self._expires_ts = expires_ts
        self._refresh_at = expires_ts - min(self._margin, (expires_ts - now) / 2)


# --------------------------------------------------------------------------- #
# The v5 algorithm, as pure functions
# --------------------------------------------------------------------------- #


def _encode(text: str) -> str:
    """Percent-encode UTF-8 ``text``; only RFC 3986 unreserved characters stay."""
    return quote(text, safe="")


def _items(
    pairs: Mapping[str, str] | Iterable[tuple[str, str]],
) -> Iterable[tuple[str, str]]:
    if isinstance(pairs, Mapping):
        return pairs.items()
    return pairs


def _join(encoded: list[tuple[str, str, str]]) -> tuple[str, str]:
    """Sort ``(encoded name, value, encoded value)`` triples; return both canonical strings.

    Sorting the triples orders by encoded name, then (for repeated names) by
    the decoded value.
    """
    encoded.sort()
    return (
        ";".join([item[0] for item in encoded]),
        "&".join([f"{item[0]}={item[2]}" for item in encoded]),
    )


def _canonical(
    pairs: Iterable[tuple[str, str]], encode: Callable[[str], str] = _encode
) -> tuple[str, str]:
    """Return ``(name list, "name=value&...")`` for already-selected decoded pairs."""
    return _join([(encode(name).lower(), value, encode(value)) for name, value in pairs])


@lru_cache(maxsize=64)
def _derive_sign_key(secret_key: str, key_time: str) -> bytes:
    """``SignKey`` (as the ASCII hex bytes used as the next HMAC key)."""
    return hmac.digest(secret_key.encode(), key_time.encode(), "sha1").hex().encode()


def _signature(
    sign_key: bytes, key_time: str, method: str, path: str, params: str, headers: str
) -> str:
    http_string = f"{method.lower()}\n{path}\n{params}\n{headers}\n"
    # SHA-1 is what the protocol mandates (inside an HMAC, not for storage).
    digest = hashlib.sha1(http_string.encode()).hexdigest()  # noqa: S324
    string_to_sign = f"sha1\n{key_time}\n{digest}\n"
    return hmac.digest(sign_key, string_to_sign.encode(), "sha1").hex()


def _check_key_time(key_time: str) -> None:
    start, sep, end = key_time.partition(";")
    if not (sep and start.isdigit() and end.isdigit() and start.isascii() and end.isascii()):
        msg = "key_time must look like '<start>;<end>' (unix seconds)"
        raise ValueError(msg)


def _sign(
    secret_key: str,
    method: str,
    path: str,
    params: Mapping[str, str] | Iterable[tuple[str, str]],
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    key_time: str,
) -> tuple[str, str, str]:
    """``(q-header-list, q-url-param-list, q-signature)`` of a request (see :func:`sign_v5`)."""
    _check_key_time(key_time)
    param_list, param_str = _canonical(_items(params))
    header_list, header_str = _canonical(_items(headers))
    sign_key = _derive_sign_key(secret_key, key_time)
    signature = _signature(sign_key, key_time, method, path, param_str, header_str)
    return header_list, param_list, signature


def compute_signature(
    secret_key: str,
    method: str,
    path: str,
    params: Mapping[str, str] | Iterable[tuple[str, str]],
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    key_time: str,
) -> str:
    """Compute the hex ``q-signature`` of a request.

    Args:
        secret_key: The SecretKey.
        method: The HTTP method (any case).
        path: The decoded path, e.g. ``"/inventorytriggerjob/abc"``.
        params: The query parameters to sign, decoded (a value-less ``?cancel``
            is ``("cancel", "")``). All of them are signed.
        headers: The headers to sign (already selected), decoded. All of them
            are signed.
        key_time: ``"<start>;<end>"`` in unix seconds.

    Returns:
        The 40-character lower-case hex signature.

    Raises:
        ValueError: ``key_time`` is malformed.
    """
    return _sign(secret_key, method, path, params, headers, key_time)[2]


def sign_v5(
    *,
    secret_id: str,
    secret_key: str,
    method: str,
    path: str,
    params: Mapping[str, str] | Iterable[tuple[str, str]],
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    key_time: str,
) -> str:
    """Build the full v5 ``Authorization`` value for a request.

    Args:
        secret_id: The SecretId (``q-ak``).
        secret_key: The SecretKey.
        method: The HTTP method (any case).
        path: The decoded path.
        params: The query parameters to sign, decoded; all are signed.
        headers: The headers to sign (already selected), decoded; all are signed.
        key_time: ``"<start>;<end>"`` in unix seconds, used as both
            ``q-sign-time`` and ``q-key-time``.

    Returns:
        ``q-sign-algorithm=sha1&q-ak=...&q-sign-time=...&q-key-time=...&``
        ``q-header-list=...&q-url-param-list=...&q-signature=...``.

    Raises:
        ValueError: ``key_time`` is malformed.
    """
    header_list, param_list, signature = _sign(secret_key, method, path, params, headers, key_time)
    return _authorization(secret_id, key_time, header_list, param_list, signature)


def _authorization(
    secret_id: str, key_time: str, header_list: str, param_list: str, signature: str
) -> str:
    return (
        f"q-sign-algorithm=sha1&q-ak={secret_id}&q-sign-time={key_time}"
        f"&q-key-time={key_time}&q-header-list={header_list}"
        f"&q-url-param-list={param_list}&q-signature={signature}"
    )


def parse_authorization(value: str) -> dict[str, str]:
    """Split a v5 ``Authorization`` value into its ``q-*`` fields.

    Args:
        value: The header value.

    Returns:
        ``{"q-sign-algorithm": "sha1", "q-ak": ..., "q-sign-time": ...,
        "q-key-time": ..., "q-header-list": ..., "q-url-param-list": ...,
        "q-signature": ...}`` (lists are ``;``-joined, possibly empty).

    Raises:
        ValueError: The value is not ``name=value`` pairs joined by ``&``, repeats
            a field, or lacks one. The message names fields, never values.
    """
    fields: dict[str, str] = {}
    for part in value.split("&"):
        name, sep, field_value = part.partition("=")
        if not sep:
            msg = "malformed Authorization: expected name=value pairs joined by '&'"
            raise ValueError(msg)
        name = name.strip()
        if name in fields:
            msg = f"malformed Authorization: {name!r} appears twice"
            raise ValueError(msg)
        fields[name] = field_value.strip()
    missing = [name for name in _AUTH_FIELDS if name not in fields]
    if missing:
        msg = f"malformed Authorization: missing {', '.join(missing)}"
        raise ValueError(msg)
    return fields


# --------------------------------------------------------------------------- #
# Signers
# --------------------------------------------------------------------------- #


@runtime_checkable
class Signer(Protocol):
    """Anything that can authorise a request: sets headers on it in place.

    The session calls :meth:`sign` on every attempt (retries are re-signed),
    after the request is fully built. Implement it to plug in another scheme,
    e.g. a remote signing service.
    """

    async def sign(self, request: httpx.Request) -> None:
        """Add authorisation headers to ``request``.

        Args:
            request: The request about to be sent; modify its headers in place.
        """


class CosSigner:
    """Signs requests with the COS/CI v5 scheme (``q-sign-algorithm=sha1``).

    Signed: the path, every query parameter (value-less ones as ``name=``),
    and the headers ``host``, ``content-type``, ``content-md5``,
    ``content-length``, ``date`` and every ``x-ci-*`` / ``x-cos-*`` header.
    With temporary credentials the ``x-ci-security-token`` header is set (and
    signed) too.

    The key time is quantised so that consecutive requests share it (and the
    derived key, which is cached): with ``now = clock()``,
    ``start = floor(now / granularity) * granularity - skew`` and
    ``end = ceil((now + expires) / granularity) * granularity``. The signature
    is therefore valid for at least ``expires`` seconds from now (at most
    ``expires + granularity``), and from at least ``skew`` seconds ago, which
    tolerates a server clock running behind ours.

    Args:
        credentials: :class:`Credentials`; an async callable returning them
            (cached, refreshed ``refresh_margin`` seconds before
            ``expires_at``, one refresh at a time); or ``None`` to read them
            from the environment now (see :meth:`Credentials.from_env`).
        expires: Seconds past ``clock()`` the signature stays valid.
        clock: Returns the current unix time in seconds.
        skew: Seconds before ``clock()`` the key time starts.
        granularity: Seconds the key time is rounded to (1 for exact times).
        refresh_margin: Seconds before a provider's credentials expire at which
            they are refreshed.

    Raises:
        CredentialsError: ``credentials`` is ``None`` and the environment has none.
        TypeError: An argument has the wrong type.
        ValueError: A number is out of range.
    """

    __slots__ = (
        "_clock",
        "_encode_cache",
        "_expires",
        "_granularity",
        "_key_span",
        "_key_time",
        "_query_cache",
        "_sign_key",
        "_sign_secret",
        "_skew",
        "_source",
    )

    def __init__(
        self,
        credentials: Credentials | CredentialsProvider | None = None,
        *,
        expires: float = 3600,
        clock: Callable[[], float] = time.time,
        skew: int = 60,
        granularity: int = 60,
        refresh_margin: float = 300.0,
    ) -> None:
        _validate.seconds(expires, "expires")
        _validate.seconds(skew, "skew", allow_zero=True)
        _validate.seconds(granularity, "granularity")
        clock_obj: object = clock
        if not callable(clock_obj):
            msg = f"clock must be callable, not {type(clock).__name__}"
            raise TypeError(msg)
        if int(skew) != skew or int(granularity) != granularity:
            msg = "skew and granularity must be whole seconds"
            raise ValueError(msg)
        self._source = _CredentialSource(credentials, clock=clock, refresh_margin=refresh_margin)
        self._expires = expires
        self._clock = clock
        self._skew = int(skew)
        self._granularity = int(granularity)
        # The last key time, as (start, end) and as text, and the key derived
        # from it for _sign_secret (compared by identity: cheap and exact).
        self._key_span: tuple[int, int] = (0, 0)
        self._key_time = ""
        self._sign_secret: str | None = None
        self._sign_key = b""
        self._encode_cache: dict[str, str] = {}
        self._query_cache: dict[str, tuple[str, str]] = {}

    def __repr__(self) -> str:
        return f"CosSigner({self._source!r}, expires={self._expires!r})"

    async def sign(self, request: httpx.Request) -> None:
        """Set ``Authorization`` (and the token header, if any) on ``request``.

        Args:
            request: The request to sign, fully built (URL, headers, body).

        Raises:
            CredentialsError: The credentials provider failed.
        """
        now = self._clock()
        creds = self._source.current(now)
        if creds is None:
            creds = await self._source.get()
        headers = request.headers
        if creds.token is not None:
            headers[TOKEN_HEADER] = creds.token
        key_time = self._key_time_at(now)
        if creds.secret_key is not self._sign_secret:
            self._sign_secret = creds.secret_key
            self._sign_key = _derive_sign_key(creds.secret_key, key_time)
        url = request.url
        query = url.query
        if query:
            param_list, param_str = _join(self._query_items(query.decode("ascii")))
        else:
            param_list = param_str = ""
        header_list, header_str = _canonical(
            [
                (name, value)
                for name, value in headers.multi_items()
                if name in _SIGNED_HEADERS or name.startswith(_SIGNED_PREFIXES)
            ],
            self._enc,
        )
        signature = _signature(
            self._sign_key, key_time, request.method, url.path, param_str, header_str
        )
        headers["Authorization"] = _authorization(
            creds.secret_id, key_time, header_list, param_list, signature
        )

    def _key_time_at(self, now: float) -> str:
        """The quantised key time for ``now`` (see the class docstring)."""
        step = self._granularity
        span = (int(now // step) * step - self._skew, -int(-(now + self._expires) // step) * step)
        if span != self._key_span:
            self._key_span = span
            self._key_time = f"{span[0]};{span[1]}"
            self._sign_secret = None  # the derived key belongs to the old key time
        return self._key_time

    def _enc(self, text: str) -> str:
        """Cached :func:`_encode` (header values and names repeat across requests)."""
        cache = self._encode_cache
        encoded = cache.get(text)
        if encoded is None:
            encoded = quote(text, safe="")
            if len(text) <= _CACHE_MAX_LEN:
                if len(cache) >= _CACHE_MAX_ENTRIES:
                    cache.clear()
                cache[text] = encoded
        return encoded

    def _query_items(self, query: str) -> list[tuple[str, str, str]]:
        """Split a raw query into ``(encoded name, value, encoded value)`` triples.

        Decoding is that of :func:`urllib.parse.parse_qsl` with blank values
        kept (``+`` is a space; ``?cancel`` is ``("cancel", "")``).
        """
        items = []
        for part in query.split("&"):
            if part:
                name, _, value = part.partition("=")
                encoded_name = self._decode_encode(name)[1]
                decoded, encoded = self._decode_encode(value)
                items.append((encoded_name.lower(), decoded, encoded))
        return items

    def _decode_encode(self, raw: str) -> tuple[str, str]:
        """Cached ``(decoded, re-encoded)`` form of one raw query component."""
        cache = self._query_cache
        known = cache.get(raw)
        if known is None:
            decoded = unquote_plus(raw) if ("%" in raw or "+" in raw) else raw
            known = (decoded, quote(decoded, safe=""))
            if len(raw) <= _CACHE_MAX_LEN:
                if len(cache) >= _CACHE_MAX_ENTRIES:
                    cache.clear()
                cache[raw] = known
        return known
