"""The in-process transport: the emulator's ASGI app behind ``httpx.ASGITransport``.

It adds what a network would do and ``ASGITransport`` does not:

* the emulator's "drop connection" signal becomes ``httpx.RemoteProtocolError``
  ("Server disconnected without sending a response."), a reset mid-body
  ``httpx.ReadError``;
* the request's read timeout (``request.extensions["timeout"]["read"]``) is
  enforced between response events, so a hang or a long latency ends in
  ``httpx.ReadTimeout`` as it would on a socket;
* cancellation (``anyio.fail_after``, ``move_on_after``, task cancellation)
  stops a hanging request at once.
"""

from __future__ import annotations

import math

import anyio
import httpx

from ._app import EmulatorApp, Message, Receive, Scope, Send
from ._faults import DropConnection, ResetConnection

__all__ = ["EmulatorTransport"]


class EmulatorTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport that serves requests from an emulator, in process.

    Works under asyncio and trio. Obtain one with
    :meth:`Emulator.transport() <ci_async.testing.Emulator.transport>`.

    Args:
        app: The emulator's ASGI application.
    """

    def __init__(self, app: EmulatorApp) -> None:
        self._app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request`` through the emulator app.

        Args:
            request: The request, as ``httpx`` hands it to a transport.

        Returns:
            The emulator's response, its body read in full.

        Raises:
            httpx.RemoteProtocolError: The emulator dropped the connection.
            httpx.ReadError: The emulator reset the connection mid-body.
            httpx.ReadTimeout: No response event within the read timeout.
        """
        timeouts = request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read")
        deadline = math.inf if read_timeout is None else anyio.current_time() + read_timeout
        scope = anyio.CancelScope(deadline=deadline)
        app = self._app

        async def timed_app(asgi_scope: Scope, receive: Receive, send: Send) -> None:
            async def timed_send(message: Message) -> None:
                if read_timeout is not None:
                    scope.deadline = anyio.current_time() + read_timeout
                await send(message)

            await app(asgi_scope, receive, timed_send)

        inner = httpx.ASGITransport(app=timed_app)
        with scope:
            try:
                return await inner.handle_async_request(request)
            except DropConnection:
                msg = "Server disconnected without sending a response."
                raise httpx.RemoteProtocolError(msg, request=request) from None
            except ResetConnection:
                msg = "connection reset by the server while reading the response body"
                raise httpx.ReadError(msg, request=request) from None
        msg = f"no response from the emulator within {read_timeout} s"
        raise httpx.ReadTimeout(msg, request=request)
