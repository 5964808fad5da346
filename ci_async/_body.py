"""Reading a response body with a cap on the *decoded* bytes, through every Content-Encoding.

httpx decodes a ``Content-Encoding`` one network chunk at a time, each chunk
in full: a 2 KB gzip chunk may inflate to a gigabyte before any size check can
run. So the session reads the raw bytes (:meth:`httpx.Response.aiter_raw`) and
decodes them here, never producing more than 64 KB at a time from any layer,
and stops as soon as the decoded total passes the cap.

Requests say ``Accept-Encoding: gzip, deflate`` (whatever optional packages are
installed), and those are the encodings undone here, in as many layers as the
header lists (at most four). A body in another encoding cannot be read.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

__all__ = ["ACCEPT_ENCODING", "BodyTooLargeError", "UndecodableBodyError", "read_body"]

#: What requests accept: the encodings :func:`read_body` undoes.
ACCEPT_ENCODING = "gzip, deflate"
#: The most bytes any layer produces in one step.
_STEP = 64 * 1024
#: The most ``Content-Encoding`` layers undone.
_MAX_LAYERS = 4
_GZIP = frozenset({"gzip", "x-gzip"})
_IDENTITY = frozenset({"", "identity"})


class BodyTooLargeError(Exception):
    """The decoded body passed the cap; ``prefix`` holds its first ``limit`` bytes."""

    def __init__(self, prefix: bytes) -> None:
        super().__init__(len(prefix))
        self.prefix = prefix


class UndecodableBodyError(Exception):
    """The body's ``Content-Encoding`` is not one we asked for, or its data is corrupt."""


class _Layer:
    """Undoes one ``gzip`` or ``deflate`` layer, producing at most ``_STEP`` bytes a step."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in _GZIP
        # deflate is meant to be zlib-wrapped; some servers send raw deflate (as httpx allows).
        self._wbits = zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(self._wbits)
        self._started = False

    def run(self, data: bytes) -> Iterator[bytes]:
        """Decode ``data`` (and what is still buffered) in steps of at most ``_STEP`` bytes."""
        while True:
            try:
                out = self._inflate.decompress(data, _STEP)
            except zlib.error:
                if self._started or self._gzip:
                    msg = f"corrupt {'gzip' if self._gzip else 'deflate'} data"
                    raise UndecodableBodyError(msg) from None
                self._wbits = -zlib.MAX_WBITS  # raw deflate
                self._inflate = zlib.decompressobj(self._wbits)
                self._started = True
                continue
            self._started = True
            if out:
                yield out
            if self._inflate.eof:
                rest = self._inflate.unused_data
                if not (rest and self._gzip):
                    return  # trailing bytes after the stream are ignored, as httpx does
                self._inflate = zlib.decompressobj(self._wbits)  # another gzip member
                data = rest
                continue
            data = self._inflate.unconsumed_tail
            if not data and len(out) < _STEP:
                return


class Decoder:
    """Undoes the ``Content-Encoding`` layers of a body, a bounded step at a time.

    Args:
        encodings: The header's values in the order they were applied
            (``Headers.get_list("content-encoding", split_commas=True)``).

    Raises:
        UndecodableBodyError: An encoding other than gzip/deflate/identity,
            or more than four layers.
    """

    def __init__(self, encodings: list[str]) -> None:
        names = [name.strip().lower() for name in encodings]
        names = [name for name in names if name not in _IDENTITY]
        unknown = [name for name in names if name not in _GZIP and name != "deflate"]
        if unknown:
            msg = f"a body in Content-Encoding {unknown[0][:40]!r}, which was not asked for"
            raise UndecodableBodyError(msg)
        if len(names) > _MAX_LAYERS:
            msg = f"a body in {len(names)} layers of Content-Encoding"
            raise UndecodableBodyError(msg)
        # The last encoding listed was applied last: it is undone first.
        self._layers = [_Layer(name) for name in reversed(names)]

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next raw ``data``, each at most 64 KB.

        Raises:
            UndecodableBodyError: The data is corrupt.
        """
        return self._through(0, data)

    def _through(self, level: int, data: bytes) -> Iterator[bytes]:
        if level == len(self._layers):
            if data:
                yield data
            return
        for piece in self._layers[level].run(data):
            yield from self._through(level + 1, piece)


async def _abandon(response: httpx.Response, raw: AsyncIterator[bytes]) -> None:
    """Stop reading a body part way: close the connection, then let ``raw`` finish.

    Closing first makes the next read end or fail at once; stepping ``raw``
    until then lets httpx's chain of async generators finish in this task,
    which trio would otherwise report as collected unfinished.
    """
    await response.aclose()
    with contextlib.suppress(Exception):  # the read error we caused, or the end
        for _ in range(1024):  # what was buffered before the close, at most
            await raw.__anext__()


async def read_body(response: httpx.Response, limit: int | None) -> bytes:
    """Read and decode a streamed response's body, at most ``limit`` decoded bytes.

    The response is closed when this returns or raises.

    Args:
        response: Sent with ``stream=True``, body not read yet.
        limit: The most decoded bytes accepted, or ``None`` for no limit.

    Returns:
        The decoded body.

    Raises:
        BodyTooLargeError: The decoded body passed ``limit`` (reading stopped there).
        UndecodableBodyError: An encoding not asked for, or corrupt data.
        httpx.TransportError: The connection failed while reading.
    """
    if response.is_stream_consumed:
        # Read before it reached us (a mock transport's prepared response, an
        # event hook that read it): httpx has decoded it already.
        body = response.content
        await response.aclose()
        if limit is not None and len(body) > limit:
            raise BodyTooLargeError(body[:limit])
        return body
    raw = response.aiter_raw()
    try:
        decoder = Decoder(response.headers.get_list("content-encoding", split_commas=True))
        chunks: list[bytes] = []
        size = 0
        async for data in raw:
            for piece in decoder.feed(data):
                size += len(piece)
                if limit is not None and size > limit:
                    chunks.append(piece[: len(piece) - (size - limit)])
                    await _abandon(response, raw)
                    raise BodyTooLargeError(b"".join(chunks))
                chunks.append(piece)
        return b"".join(chunks)
    except UndecodableBodyError:
        await _abandon(response, raw)
        raise
    finally:
        await response.aclose()
