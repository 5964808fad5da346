"""Parsing a response's XML with :func:`xmltodict.parse`, safely, and serving it to the loop.

Document type declarations are refused through xmltodict's ``expat=``
argument, as soon as one starts, so entity bombs and external entities are
never expanded; a document nested deeper than :data:`MAX_DEPTH` is refused
too. :func:`parse_xml` gives the document, or the message saying why it was
refused; :func:`~ci_async._decode.parse_document` raises that message as a
:class:`~ci_async.ResponseParseError`.

This module needs the standard library and xmltodict only, nothing of
``ci_async``: a parse worker (:mod:`._parsing`) loads this file alone and
runs :func:`serve`, so that it starts without importing ``ci_async`` and
httpx (in about a third of the time, with about a third less memory).
"""

from __future__ import annotations

import pickle
from typing import Any, BinaryIO, NoReturn
from xml.parsers import expat

import xmltodict

__all__ = ["MAX_DEPTH", "READY", "frame", "parse_xml", "serve"]

#: The deepest an element may lie (the service's lie about 5 deep).
MAX_DEPTH = 64

#: What a worker writes once it can parse.
READY = b"ci_async parser ready\n"


class _ForbiddenDeclarationError(Exception):
    """A DOCTYPE or ENTITY declaration was met (raised inside expat handlers)."""


def _forbid(*_args: object) -> NoReturn:
    raise _ForbiddenDeclarationError


class _SafeExpat:
    """An ``expat`` stand-in for :func:`xmltodict.parse` that refuses DTDs.

    A document type declaration is refused as soon as it starts, so entity
    bombs ("billion laughs") and external entities never get parsed at all.
    """

    @staticmethod
    def ParserCreate(  # noqa: N802 -- the name xmltodict calls
        encoding: str | None = None, namespace_separator: str | None = None
    ) -> Any:
        parser = expat.ParserCreate(encoding, namespace_separator)
        parser.StartDoctypeDeclHandler = _forbid
        parser.EntityDeclHandler = _forbid
        parser.ExternalEntityRefHandler = _forbid
        return parser


def parse_xml(body: bytes | str) -> dict[str, Any] | str:
    """The document of ``body`` (xmltodict's dicts), or the message saying why it is refused."""
    try:
        doc: object = xmltodict.parse(body, expat=_SafeExpat, xml_attribs=False)
    except _ForbiddenDeclarationError:
        return "refused XML with a DOCTYPE or ENTITY declaration"
    except expat.ExpatError as exc:
        return f"malformed XML ({exc})"
    except (ValueError, TypeError, LookupError, RecursionError, MemoryError) as exc:
        return f"unreadable XML ({type(exc).__name__})"
    if not isinstance(doc, dict):  # pragma: no cover - expat requires a root element
        return "no XML document"
    if _too_deep(doc):
        return f"refused XML nested deeper than {MAX_DEPTH} elements"
    return doc


def _too_deep(doc: dict[str, Any]) -> bool:
    """Whether an element of ``doc`` lies deeper than :data:`MAX_DEPTH` (no recursion)."""
    # (Parsing keeps no recursion either, but records holding such a mapping
    # in ``raw`` would break pickle, ``==`` and json; one pass over a page of
    # 100 jobs takes well under 0.1 ms, against about 3 ms to parse it.)
    pending: list[tuple[dict[str, Any], int]] = [(doc, 1)]
    while pending:
        content, depth = pending.pop()  # the children of an element ``depth - 1`` deep
        if depth > MAX_DEPTH:
            return True
        for value in content.values():
            if type(value) is dict:
                pending.append((value, depth + 1))
            elif type(value) is list:
                pending.extend((item, depth + 1) for item in value if type(item) is dict)
    return False


def frame(data: bytes) -> bytes:
    """``data`` as one message between a worker and the loop: a 4-byte big-endian length first."""
    return len(data).to_bytes(4, "big") + data


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """A parse worker's loop: :func:`parse_xml` each body read from ``requests``, until it ends.

    Writes :data:`READY` first; then each reply is the outcome of a body,
    pickled, framed as the body was (see :func:`frame`).
    """
    replies.write(READY)
    replies.flush()
    while len(head := requests.read(4)) == 4:
        body = requests.read(int.from_bytes(head, "big"))
        replies.write(frame(pickle.dumps(parse_xml(body), pickle.HIGHEST_PROTOCOL)))
        replies.flush()
