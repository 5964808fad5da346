"""Credentials: a key pair, from arguments, the environment or an async provider.

:class:`Credentials` never shows its key or token. ``CredentialSource``
turns whatever the caller gave (credentials, an async provider, or nothing:
the environment) into current credentials, refreshing a provider's before they
expire, one refresh at a time however many requests wait.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TypeAlias

import anyio
import attrs

from . import _checks
from ._errors import CredentialsError

__all__ = ["CredentialSource", "Credentials", "CredentialsProvider"]

_logger = logging.getLogger("ci_async")

#: Environment variables read by Credentials.from_env(), most preferred first:
#: (secret id, secret key, session token).
_ENV_FAMILIES = (
    ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"),
    ("COS_SECRET_ID", "COS_SECRET_KEY", "COS_SESSION_TOKEN"),
)

#: Seconds to wait before asking a failing provider again while the current
#: credentials are still valid.
_REFRESH_RETRY_DELAY = 10.0


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


def _check_expires_at(name: str, value: object) -> None:
    if value is not None:
        _checks.aware_datetime(value, name)


def _credentials_problem(
    secret_id: object, secret_key: object, token: object, expires_at: object
) -> Exception | None:
    """The error that fields like these deserve (naming a field, never a value), or ``None``.

    Returned, not raised: the caller clears its own locals first, so that a
    traceback rendered with locals (Sentry, rich, ``pytest --showlocals``)
    shows no key or token, and this frame is not on that traceback at all.
    """
    try:
        _check_secret_text("secret_id", secret_id, ascii_only=True)
        _check_secret_text("secret_key", secret_key, ascii_only=False)
        if token is not None:
            _check_secret_text("token", token, ascii_only=True)
        _check_expires_at("expires_at", expires_at)
    except (TypeError, ValueError) as exc:
        return exc.with_traceback(None)
    return None


@attrs.frozen(init=False)
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

    secret_id: str
    secret_key: str = attrs.field(repr=False)
    token: str | None = attrs.field(default=None, repr=False)
    expires_at: datetime | None = None

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        token: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        problem = _credentials_problem(secret_id, secret_key, token, expires_at)
        if problem is not None:
            # Out of this frame's locals before raising: a traceback shown with
            # its locals must not show the key or the token that were refused.
            del secret_id, secret_key, token
            raise problem
        self.__attrs_init__(secret_id, secret_key, token, expires_at)

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
        found = _from_env(cls, os.environ if environ is None else environ)
        # The environment holds the secrets: out of this frame's locals before raising.
        del environ
        if isinstance(found, CredentialsError):
            raise found
        return found


def _from_env(cls: type[Credentials], env: Mapping[str, str]) -> Credentials | CredentialsError:
    """What :meth:`Credentials.from_env` returns, or the error it raises (returned, not raised).

    Returning the error keeps this frame, whose locals hold the secrets, off
    the traceback of the error.
    """
    for id_var, key_var, token_var in _ENV_FAMILIES:
        secret_id = env.get(id_var) or None
        secret_key = env.get(key_var) or None
        if secret_id is None and secret_key is None:
            continue
        if secret_id is None or secret_key is None:
            present, missing = (key_var, id_var) if secret_id is None else (id_var, key_var)
            return CredentialsError(f"{present} is set but {missing} is not: set both")
        try:
            return cls(secret_id, secret_key, env.get(token_var) or None)
        except (TypeError, ValueError) as exc:
            # The validators' messages name the field, never the value.
            msg = f"invalid credentials in {id_var} / {key_var} / {token_var}: {exc}"
            return CredentialsError(msg)
    return CredentialsError(
        "no credentials found: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY "
        "(plus TENCENTCLOUD_SESSION_TOKEN for temporary credentials), "
        "or COS_SECRET_ID and COS_SECRET_KEY"
    )


#: An async callable returning fresh :class:`Credentials` (e.g. from an STS service).
CredentialsProvider: TypeAlias = Callable[[], Awaitable[Credentials]]


def _provider_name(provider: object) -> str:
    """A printable name for a provider (never its repr: that may hold arguments)."""
    name = getattr(provider, "__qualname__", None)
    return name if isinstance(name, str) else type(provider).__name__


class CredentialSource:
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
        _checks.seconds(refresh_margin, "refresh_margin", allow_zero=True)
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
            del creds, pending  # what came back may hold the secrets: not in a traceback's locals
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
