"""What a server or a transport writes back of a request's secrets, masked.

A debugging proxy, an echo endpoint or a careless transport may quote the
request it got: its ``Authorization`` (with the signature) or its token
header, in an error message, a body or a response header. The library never
copies them on: the secrets of each request (:func:`secrets_of`) are masked
in its answer's body and headers before anything reads them, and in the text
of a transport's exception, as ``[masked]``.

What is masked is what the request carries verbatim or percent-encoded: the
signature of a COS ``Authorization`` (the rest of it is not secret), the
credentials of another scheme's (``Bearer ...``) and the whole header, and
the token. A server that rewrites them in another form (character references,
another escape) is not caught: it would have to mean to.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

import httpx

from ._signing import TOKEN_HEADER

__all__ = ["MASK", "SECRET_HEADERS", "masked_bytes", "masked_text", "secrets_of"]

#: What stands for a secret.
MASK = "[masked]"
#: The request headers whose values are secret.
SECRET_HEADERS = ("authorization", TOKEN_HEADER, "x-cos-security-token", "proxy-authorization")
#: Shorter values are not looked for: masking them could hide any text.
_SHORTEST = 8
_SECRET_NAMES = frozenset(SECRET_HEADERS)
_SIGNATURE = "q-signature="


def secrets_of(request: httpx.Request) -> tuple[str, ...]:
    """The secret values ``request`` carries, each as sent and percent-encoded, longest first."""
    found: set[str] = set()
    for name, value in request.headers.multi_items():
        if name not in _SECRET_NAMES or not value:
            continue
        _, marked, signature = value.partition(_SIGNATURE)
        if marked:
            found.add(signature.partition("&")[0])  # hex: the rest of the header is not secret
            continue
        found.add(value)
        credentials = value.strip().partition(" ")[2]
        if credentials:
            found.add(credentials.strip())  # "Scheme credentials"
    found |= {urllib.parse.quote(value, safe="") for value in found if not value.isalnum()}
    # Longest first: a header is masked whole before its credentials are looked for.
    return tuple(sorted((value for value in found if len(value) >= _SHORTEST), key=len)[::-1])


def masked_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret in ``secrets`` replaced by :data:`MASK`."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def masked_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """``data`` with every secret in ``secrets`` (UTF-8) replaced by :data:`MASK`."""
    for secret in secrets:
        encoded = secret.encode("utf-8", "surrogatepass")
        if encoded in data:
            data = data.replace(encoded, MASK.encode())
    return data
