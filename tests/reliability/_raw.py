"""A loopback TCP server whose every byte is scripted: for answers no real HTTP server sends.

Each connection is served in its own thread by a *behaviour*: a function given
the connection and the request head it read, which writes whatever bytes it
likes (a malformed status line, a header that never ends, ``100 Continue``
forever, a reset mid-body). Behaviours that would go on for ever check
:attr:`RawConnection.stopping` between writes, so the server stops by itself
when its ``with`` block ends, and a write to a client that has gone away ends
the behaviour too.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import attrs

#: How long a behaviour may wait for the request head before giving up.
_READ_TIMEOUT = 10.0


@attrs.define
class RawConnection:
    """One accepted connection, as a behaviour sees it.

    Attributes:
        sock: The connected socket.
        head: The request head read from it (up to and including the blank line).
        stopping: Set when the server stops: a behaviour that loops checks it.
    """

    sock: socket.socket
    head: bytes
    stopping: threading.Event

    def send(self, data: bytes) -> bool:
        """Write ``data``; ``False`` once the client has gone (or the server stops)."""
        if self.stopping.is_set():
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds``; ``False`` if the server stopped meanwhile."""
        return not self.stopping.wait(seconds)

    def reset(self) -> None:
        """Close with a TCP reset (``SO_LINGER`` 0) instead of an orderly close."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def hold(self) -> None:
        """Keep the connection open, silent, until the client leaves or the server stops."""
        self.sock.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                if not self.sock.recv(65536):
                    return
            except TimeoutError:
                continue
            except OSError:
                return


Behaviour = Callable[[RawConnection], object]


class RawServer:
    """Serve ``behaviour`` on every connection to a loopback port, from threads.

    Use it as a context manager; it stops on exit (its behaviours see
    :attr:`RawConnection.stopping` and every socket is closed).

    Attributes:
        heads: The request head of every connection, in order of arrival.
    """

    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.heads: list[bytes] = []
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="raw-server", daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give a session."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RawServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._acceptor.join(timeout=10)
        for thread in self._threads:
            thread.join(timeout=10)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            head = _read_head(sock, self._stopping)
            if head is None:
                return
            self.heads.append(head)
            sock.settimeout(5.0)
            with contextlib.suppress(OSError):
                self._behaviour(RawConnection(sock, head, self._stopping))


def _read_head(sock: socket.socket, stopping: threading.Event) -> bytes | None:
    """The request head (through the blank line), or ``None`` if the client left first."""
    sock.settimeout(0.05)
    data = b""
    waited = 0.0
    while b"\r\n\r\n" not in data:
        if stopping.is_set() or waited > _READ_TIMEOUT:
            return None
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            waited += 0.05
            continue
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def header_of(head: bytes, name: str) -> str | None:
    """The value of header ``name`` in a request head (case-insensitive), if present."""
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name.lower().encode():
            return value.strip().decode("latin-1")
    return None


@contextlib.contextmanager
def raw_server(behaviour: Behaviour) -> Iterator[RawServer]:
    """:class:`RawServer` as a context manager function."""
    with RawServer(behaviour) as server:
        yield server
