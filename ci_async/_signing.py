r"""Request signing: the :class:`Signer` protocol and the COS/CI v5 signer.

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
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import quote, unquote_plus

from . import _checks
from ._credentials import Credentials, CredentialSource, CredentialsProvider

if TYPE_CHECKING:
    import httpx

__all__ = [
    "COS_TOKEN_HEADER",
    "TOKEN_HEADER",
    "CosSigner",
    "Credentials",  # re-exported: defined in ._credentials
    "CredentialsProvider",
    "Signer",
    "compute_signature",
    "parse_authorization",
    "sign_v5",
]

#: The header that carries the token of temporary credentials on CI hosts ...
TOKEN_HEADER = "x-ci-security-token"  # noqa: S105 (a header name, not a secret)
#: ... and on COS hosts (``<bucket>.cos.<region>.myqcloud.com``).
COS_TOKEN_HEADER = "x-cos-security-token"  # noqa: S105 (a header name, not a secret)

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

#: Largest per-signer encoding cache, and the longest string it keeps.
_CACHE_MAX_ENTRIES = 512
_CACHE_MAX_LEN = 128


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


def _derive_sign_key(secret_key: str, key_time: str) -> bytes:
    """``SignKey`` (as the ASCII hex bytes used as the next HMAC key).

    Not cached here: :class:`CosSigner` keeps the one key of its current key
    time, and nothing keeps secret keys beyond the signer that holds them.
    """
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
    With temporary credentials the token header is set (and signed) too:
    ``x-ci-security-token``, or ``x-cos-security-token`` on a COS host
    (``.cos.`` in its ``Host``), as the API page has it.

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
        _checks.seconds(expires, "expires")
        _checks.seconds(skew, "skew", allow_zero=True)
        _checks.seconds(granularity, "granularity")
        clock_obj: object = clock
        if not callable(clock_obj):
            msg = f"clock must be callable, not {type(clock).__name__}"
            raise TypeError(msg)
        if int(skew) != skew or int(granularity) != granularity:
            msg = "skew and granularity must be whole seconds"
            raise ValueError(msg)
        self._source = CredentialSource(credentials, clock=clock, refresh_margin=refresh_margin)
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
        # The token header is signed, so it is set first; the Authorization is set
        # last, and nothing after it can fail. No local here holds a secret in
        # clear (``creds`` hides its key and token in its repr).
        if creds.token is not None:
            cos = ".cos." in request.headers.get("host", "")
            request.headers[COS_TOKEN_HEADER if cos else TOKEN_HEADER] = creds.token
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
                for name, value in request.headers.multi_items()
                if name in _SIGNED_HEADERS or name.startswith(_SIGNED_PREFIXES)
            ],
            self._enc,
        )
        request.headers["Authorization"] = _authorization(
            creds.secret_id,
            key_time,
            header_list,
            param_list,
            _signature(self._sign_key, key_time, request.method, url.path, param_str, header_str),
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
