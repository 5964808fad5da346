"""A loopback server that makes list pages up as it goes: ``python -m benchmarks._synth``.

For the memory rows, where the emulator would first have to generate (and
hold) a million jobs: this server holds none. Job ``i`` of ``--jobs`` is
written from one of four fixed shapes with the id ``b`` + ``i`` in 32 hex
digits, so every page is valid, distinct and cheap to make (well under a
millisecond for 100 jobs). It answers ``GET /inventorytriggerjob`` with
``size`` and ``nextToken``, HTTP/1.1 with keep-alive, and checks no
signature. It is independent of :mod:`ci_async.testing` on purpose: a second
server implementation the client must agree with.

``--token-bytes B`` makes every ``NextToken`` ``B`` characters long (the
position, then filler that differs from page to page), for the row that lists
with very long tokens; by default tokens are the position in decimal.

Prints its base URL once it listens; stops on SIGTERM/SIGINT or when stdin
closes (so it never outlives the benchmark that started it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import threading
from urllib.parse import parse_qs, urlsplit

LIST_PATH = "/inventorytriggerjob"
_MAX_HEAD = 256 * 1024

# Four job shapes, as the service writes them (compact, no whitespace); {id} is replaced.
_SHAPES = (
    (
        "<JobsDetail><Code>Success</Code><Type>Workflow</Type><Message/><Name>snapshot_{n}</Name>"
        "<JobId>{id}</JobId><State>Submitted</State><CreationTime>2024-06-27T15:23:10+0800"
        "</CreationTime><StartTime>-</StartTime><EndTime>-</EndTime><Input><Prefix>videos/2023/"
        "</Prefix></Input><Operation><TimeInterval><Start>2024-05-01T12:00:00+0800</Start><End>"
        "2024-06-01T12:00:00+0800</End></TimeInterval><WorkflowIds>w7476ff3564ee45b7b490d64bccaba6cc"
        "</WorkflowIds></Operation></JobsDetail>"
    ),
    (
        "<JobsDetail><Code>Success</Code><Type>Workflow</Type><Message/><Name>animation-audit_{n}"
        "</Name><JobId>{id}</JobId><State>Success</State><CreationTime>2024-06-27T15:20:45+0800"
        "</CreationTime><StartTime>2024-06-27T15:21:01+0800</StartTime><EndTime>"
        "2024-06-27T15:21:34+0800</EndTime><Input><Prefix>uploads/</Prefix></Input><Operation>"
        "<WorkflowIds>w495490544e1a11f1a793525400cca5a5</WorkflowIds></Operation></JobsDetail>"
    ),
    (
        "<JobsDetail><Code>Success</Code><Type>Job</Type><Message/><Name>audit-transcode_{n}</Name>"
        "<JobId>{id}</JobId><State>Running</State><CreationTime>2024-06-27T15:17:39+0800"
        "</CreationTime><StartTime>2024-06-27T15:18:09+0800</StartTime><EndTime>-</EndTime><Input>"
        "<UrlFile>urls/list-002.txt</UrlFile></Input><Operation><TimeInterval><Start>"
        "2024-04-21T12:56:28+0800</Start><End>2024-05-01T12:17:54+0800</End></TimeInterval>"
        "<QueueId>pb812e8c3ff8511f093d952540019488d</QueueId><UserData>batch 4192</UserData>"
        "<Tag>DigitalWatermark</Tag><JobParam><TemplateId>t1b86766d0ff8511f09c55525400dd84f3"
        "</TemplateId></JobParam><Output><Region>ap-beijing</Region><Bucket>output-1257102305"
        "</Bucket><Object>output/${{InventoryTriggerJobId}}/out.mp4</Object></Output><JobLevel>0"
        "</JobLevel></Operation></JobsDetail>"
    ),
    (
        "<JobsDetail><Code>TemplateNotExist</Code><Type>Workflow</Type><Message>the template does "
        "not exist</Message><Name>内容审核_{n}</Name><JobId>{id}</JobId><State>Failed</State>"
        "<CreationTime>2024-06-27T15:17:38+0800</CreationTime><StartTime>2024-06-27T15:17:53+0800"
        "</StartTime><EndTime>2024-06-27T15:18:06+0800</EndTime><Input><Manifest>"
        "inventory/archive/manifest.json</Manifest></Input><Operation><WorkflowIds>"
        "w499ee8ef4e1a11f1b082525400e3e706</WorkflowIds></Operation></JobsDetail>"
    ),
)


def job_id(index: int) -> str:
    """The id of job ``index``: 33 characters, as the service's."""
    return f"b{index:032x}"


class Pages:
    """Pages of ``jobs`` synthetic jobs, with tokens of ``token_bytes`` characters (0: short)."""

    def __init__(self, jobs: int, token_bytes: int = 0) -> None:
        self.jobs = jobs
        self.token_bytes = token_bytes

    def token(self, position: int) -> str:
        head = f"{position:012d}"
        if self.token_bytes <= len(head):
            return str(position)
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        start = position % len(letters)
        filler = (letters[start:] + letters[:start]) * (self.token_bytes // len(letters) + 1)
        return head + filler[: self.token_bytes - len(head)]

    @staticmethod
    def position(token: str) -> int:
        return int(token[:12]) if len(token) > 12 else int(token)

    def page(self, token: str, size: int) -> bytes:
        start = self.position(token) if token else 0
        end = min(self.jobs, start + size)
        parts = [f"<Response><RequestId>c3ludGgtcmVxdWVzdC0{start:08d}</RequestId>"]
        parts += (
            _SHAPES[index % 4].format(id=job_id(index), n=index) for index in range(start, end)
        )
        if end < self.jobs:
            parts.append(f"<NextToken>{self.token(end)}</NextToken>")
        parts.append("</Response>")
        return "".join(parts).encode()


class _Connection(asyncio.Protocol):
    def __init__(self, pages: Pages) -> None:
        self._pages = pages
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD and self._transport is not None:
                    self._transport.close()
                return
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        assert self._transport is not None
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, _ = request_line.split(" ", 2)
        url = urlsplit(target)
        status, body = "200 OK", b""
        if method != "GET" or url.path != LIST_PATH:
            status = "404 Not Found"
            body = b"<Error><Code>NoSuchKey</Code><Message>not here</Message></Error>"
        else:
            query = parse_qs(url.query)
            try:
                size = min(100, int(query.get("size", ["10"])[0]))
                body = self._pages.page(query.get("nextToken", [""])[0], size)
            except ValueError:
                status = "400 Bad Request"
                body = b"<Error><Code>InvalidArgument</Code><Message>bad</Message></Error>"
        self._transport.write(
            (
                f"HTTP/1.1 {status}\r\nContent-Type: application/xml\r\n"
                f"Content-Length: {len(body)}\r\nServer: tencent-ci\r\n\r\n"
            ).encode()
            + body
        )


async def serve(pages: Pages, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(pages), "127.0.0.1", port)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)

    # stdin closing (the benchmark ended, or died) stops the server too.
    def watch_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    port = server.sockets[0].getsockname()[1]
    print(f"# {pages.jobs} synthetic jobs, tokens of {pages.token_bytes or 'a few'} bytes")
    print(f"http://127.0.0.1:{port}", flush=True)
    try:
        await stop.wait()
    finally:
        server.close()  # (not wait_closed(): it would wait for the clients' connections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._synth")
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--token-bytes", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve(Pages(args.jobs, args.token_bytes), args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
