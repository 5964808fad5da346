"""The one send path: build, sign, send, read (capped), retry, and turn failures into CIError.

Every call of a :class:`~ci_async.Session` goes through :meth:`Sender.send`:

1. build the request as :meth:`httpx.AsyncClient.build_request` would
   (:meth:`Lanes.build_request <ci_async._client.Lanes.build_request>`; a
   fresh one on every attempt) and sign it (every attempt is re-signed);
2. wait for one of the session's request slots (at most ``max_in_flight``
   requests in flight; see below) and take a client for it
   (:class:`~ci_async._client.Lanes`);
3. send it with :meth:`httpx.AsyncClient.send` (``stream=True``), or straight
   to the transport the session was given (:meth:`Lanes.send
   <ci_async._client.Lanes.send>`), and read the body with
   :func:`~ci_async._body.read_body`, capped on the decoded bytes;
   steps 1 to 3 of one attempt must end within ``attempt_timeout``;
4. a 2xx answer is returned as a real :class:`httpx.Response` holding the
   decoded body; an error answer becomes the matching
   :class:`~ci_async.ServiceError`; a failure to connect, send or read
   becomes a :class:`~ci_async.TransportError`;
5. retryable failures are retried under the :class:`~ci_async.RetryPolicy`,
   within the caller's deadline, each retry logged on the ``ci_async`` logger.

Only public APIs of httpx are used. The request slots bound what is in flight
because httpx's own pool loses a slot for good when a request is cancelled just
after being handed a new connection (encode/httpcore#1093): the session's own
clients are therefore given pools without a connection limit, and the slots
(an :class:`anyio.Semaphore`, which cancellation cannot corrupt) do the bounding.

Exceptions never carry a secret: the httpx exception chained to a
:class:`~ci_async.TransportError` is a copy whose request has the
``Authorization`` and token headers masked, raised nowhere (no traceback, no
context), with any server text in its message escaped.
"""

from __future__ import annotations

import contextlib
import datetime
import inspect
import logging
import math
import socket
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NoReturn

import anyio
import attrs
import httpx

from ._body import ACCEPT_ENCODING, BodyTooLargeError, UndecodableBodyError, read_body
from ._client import Lanes, PooledClient
from ._config import Settings
from ._decode import MAX_ERROR_BODY, REQUEST_ID_HEADER, error_from_response
from ._echo import MASK, SECRET_HEADERS, masked_bytes, masked_text, secrets_of
from ._errors import (
    ResponseParseError,
    ServiceError,
    SessionClosedError,
    ThrottledError,
    TransportError,
)
from ._retry import retryable_exception, retryable_status
from ._text import shown

__all__ = ["AttemptTimeoutError", "Pace", "Sender"]

logger = logging.getLogger("ci_async")

#: Beyond this, a request URL is not left in the standard library's URL cache.
_LONG_URL = 4096
#: ``urllib.parse.urlsplit`` is an ``functools.lru_cache`` from Python 3.11 on.
_CLEAR_URL_CACHE = getattr(urllib.parse.urlsplit, "cache_clear", None)


class Pace:
    """A pause shared by the requests of one operation (the windows of a parallel listing).

    When the service throttles one of them (429, ``SlowDown``), every request
    of the group waits out the same pause before its next attempt, so a
    throttled listing slows down as a whole instead of each window backing
    off on its own while the others keep the pressure up.
    """

    def __init__(self) -> None:
        self._until = -math.inf

    @property
    def holding(self) -> bool:
        """Whether a pause is on now."""
        return self._until > anyio.current_time()

    async def wait(self) -> None:
        """Sleep until the shared pause is over (at once when there is none)."""
        # A loop, not an Event: another request may lengthen the pause while this one sleeps.
        while (left := self._until - anyio.current_time()) > 0:  # noqa: ASYNC110
            await anyio.sleep(left)

    def hold(self, seconds: float) -> None:
        """Pause the group for ``seconds`` from now (a longer pause already set wins)."""
        self._until = max(self._until, anyio.current_time() + seconds)


class AttemptTimeoutError(httpx.TimeoutException):
    """One attempt took longer than ``attempt_timeout`` in all."""


class Sender:
    """Sends a session's requests over its :class:`~ci_async._client.PooledClient`, with retries.

    Args:
        settings: The validated settings.

    Attributes:
        pool: The client, its request slots and their lifecycle.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.pool = PooledClient(settings)
        self._attempts = 1 if settings.retry is None else settings.retry.max_attempts
        headers = {"Accept-Encoding": ACCEPT_ENCODING}
        if settings.target.host_header is not None:
            headers["Host"] = settings.target.host_header
        self._headers = headers

    # --- one call ---------------------------------------------------------------------

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        query: str | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        deadline_at: float | None = None,
        pace: Pace | None = None,
        sent: anyio.Event | None = None,
    ) -> httpx.Response:
        """Send one call, retrying as the policy allows; return the 2xx answer, body read.

        Args:
            method: HTTP method.
            path: Path below the endpoint, starting with ``/``.
            params: Query parameters.
            query: A raw query string (e.g. ``"cancel"``), instead of ``params``.
            content: Request body.
            headers: Extra request headers.
            idempotent: Whether the request may be sent again after it may
                have reached the server (``False``: only after it certainly did not).
            deadline_at: :func:`anyio.current_time` by which every attempt and
                pause must be over.
            pace: A pause shared with other requests: waited out before each
                attempt, and set for all of them when this one is throttled.
            sent: Set once the request is on its way: written to the connection
                (httpx's own transport reports it through the ``trace``
                extension), or, over any other transport, handed to it; also as
                soon as it has to wait (a pause, or no free slot), and when an
                attempt ends. Whoever waits for it does not wait on the network.

        Returns:
            A :class:`httpx.Response` with the decoded body read (``content``),
            its ``request`` and ``elapsed`` set.

        Raises:
            httpx.InvalidURL: The request cannot be built (e.g. far too long).
            ServiceError: The service's error answer (its subclass), after retries.
            TransportError: Transport failures after retries, or the deadline passed.
            ResponseParseError: A 2xx body over the cap, or in an encoding not asked for.
            SessionClosedError: The session was closed.
        """
        with self.pool.call():  # closing the session ends the call at once
            lanes = await self.pool.get()
            url = self._settings.target.base_url + path + (f"?{query}" if query else "")
            request_headers = self._headers if not headers else {**self._headers, **headers}
            deadline = math.inf if deadline_at is None else deadline_at
            extensions = None if sent is None or not lanes.traced else {"trace": _on_written(sent)}
            failure: BaseException | None = None
            attempt = 0
            while True:
                attempt += 1
                final = attempt >= self._attempts
                request = lanes.build_request(
                    method,
                    url,
                    params=list(params) if params else None,
                    content=content,
                    headers=request_headers,
                    extensions=extensions,
                )
                if pace is not None and pace.holding:
                    if sent is not None:
                        sent.set()
                    with anyio.CancelScope(deadline=deadline) as pausing:
                        await pace.wait()
                    if pausing.cancelled_caught:
                        self._fail_deadline(request, attempt, failure)
                # One scope bounds the attempt: by the deadline, or by attempt_timeout.
                limit = self._settings.attempt_timeout
                bound = deadline if limit is None else min(deadline, anyio.current_time() + limit)
                with anyio.CancelScope(deadline=bound) as scope:
                    outcome = await self._attempt(lanes, request, idempotent=idempotent, sent=sent)
                if scope.cancelled_caught:
                    if bound >= deadline:
                        self._fail_deadline(request, attempt, failure)
                    msg = f"the attempt took longer than attempt_timeout ({limit:g}s)"
                    outcome = _Failure.of(
                        AttemptTimeoutError(msg, request=request), idempotent=idempotent
                    )
                if len(request.url.raw_path) > _LONG_URL and _CLEAR_URL_CACHE is not None:
                    # httpx's cookie handling runs every request's URL through
                    # urllib.parse.urlsplit, whose cache (3.11+) keeps the last 128 URLs:
                    # with 60 KB page tokens, 15 MB held for nothing. Let go of ours.
                    _CLEAR_URL_CACHE()
                if isinstance(outcome, httpx.Response):
                    if outcome.is_success:
                        return outcome
                    failure = self._service_error(outcome)
                    if final or not retryable_status(outcome.status_code, idempotent=idempotent):
                        raise failure
                else:
                    failure = outcome.error
                    if self.pool.closed:
                        raise SessionClosedError from failure
                    if final or not outcome.retryable:
                        self._fail_transport(request, outcome, attempt)
                assert self._settings.retry is not None  # more than one attempt
                retry_after = failure.retry_after if isinstance(failure, ServiceError) else None
                delay = self._settings.retry.delay(attempt, retry_after)
                if pace is not None and isinstance(failure, ThrottledError):
                    pace.hold(delay)
                if anyio.current_time() + delay >= deadline:
                    self._fail_deadline(request, attempt, failure)
                _log_retry(request, attempt, self._attempts, delay, failure)
                await anyio.sleep(delay)
                self.pool.check_open()

    async def _attempt(
        self, lanes: Lanes, request: httpx.Request, *, idempotent: bool, sent: anyio.Event | None
    ) -> httpx.Response | _Failure:
        """One attempt: the answer (2xx or not), or the transport failure."""
        try:
            await self._acquire(lanes.slots, request, sent)
            client = lanes.take()
            try:
                signing = self._settings.signer.sign(request)
                if not inspect.isawaitable(signing):
                    _not_async(self._settings.signer, signing)
                await signing
                if sent is not None and not lanes.traced:
                    sent.set()  # (no word from the transport when it is written)
                started = time.perf_counter()
                response = await lanes.send(client, request)
                answer = await self._read(response, secrets_of(request))
                answer.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
                return answer
            finally:
                lanes.give(client)
        except (httpx.HTTPError, OSError) as exc:
            return _Failure.of(exc, idempotent=idempotent, secrets=secrets_of(request))
        except RuntimeError as exc:
            if self.pool.closed:  # httpx: "Cannot send a request, as the client has been closed."
                return _Failure.of(exc, idempotent=idempotent, secrets=secrets_of(request))
            raise
        finally:
            if sent is not None:
                sent.set()

    async def _acquire(
        self, slots: anyio.Semaphore, request: httpx.Request, sent: anyio.Event | None
    ) -> None:
        """Wait for a request slot, at most the ``pool`` timeout."""
        try:
            slots.acquire_nowait()  # the common case: a slot is free (no timer needed)
        except anyio.WouldBlock:
            if sent is not None:
                sent.set()  # not going out at once: nobody waits for it
        else:
            return  # (no checkpoint here: the request that follows has plenty)
        pool = self._settings.timeout.pool
        with anyio.move_on_after(pool) as waiting:
            await slots.acquire()
        if waiting.cancelled_caught:
            msg = f"no request slot free within the pool timeout ({pool:g}s)"
            raise httpx.PoolTimeout(msg, request=request)

    async def _read(self, response: httpx.Response, secrets: tuple[str, ...]) -> httpx.Response:
        """The answer with its body read and decoded, as a new :class:`httpx.Response`.

        Whatever it writes back of ``secrets`` (the request's) is masked in its
        body and headers, before anything reads them (see :mod:`ci_async._echo`).
        """
        headers = [
            (name, masked_text(value, secrets))
            for name, value in response.headers.multi_items()
            if name not in {"content-encoding", "content-length"}
        ]
        request_id = next((value for name, value in headers if name == REQUEST_ID_HEADER), None)
        cap = self._settings.max_response_bytes
        if not response.is_success:
            cap = MAX_ERROR_BODY if cap is None else min(cap, MAX_ERROR_BODY)
        elif cap is not None and not response.headers.get("content-encoding"):
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                await response.aclose()
                _too_large(response, cap, b"", request_id)
        # The body's own exceptions are internal: each is turned into what it
        # means after its except block, so that none is chained to what is raised.
        over_cap: bytes | None = None
        undecodable: str | None = None
        try:
            body = await read_body(response, cap)
        except BodyTooLargeError as exc:
            body = over_cap = exc.prefix  # an error answer: its start says all there is
        except UndecodableBodyError as exc:
            undecodable = str(exc)
            body = f"(an error answer that cannot be read: {undecodable})".encode()
        body = masked_bytes(body, secrets)
        if response.is_success and over_cap is not None:
            _too_large(response, cap, body, request_id)
        if response.is_success and undecodable is not None:
            raise ResponseParseError(
                f"cannot read the answer: {undecodable}",
                status_code=response.status_code,
                request_id=request_id,
            )
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=body,
            request=response.request,
            extensions={
                "http_version": response.http_version.encode("ascii", "replace"),
                "reason_phrase": response.reason_phrase.encode("ascii", "replace"),
            },
        )

    # --- failures ---------------------------------------------------------------------

    @staticmethod
    def _service_error(response: httpx.Response) -> ServiceError:
        return error_from_response(
            response.status_code,
            response.content,
            response.headers,
            method=response.request.method,
            url=str(response.request.url),
        )

    @staticmethod
    def _fail_transport(request: httpx.Request, failure: _Failure, attempts: int) -> NoReturn:
        error = failure.error
        if failure.no_such_host:
            text = (
                f"could not resolve host {shown(request.url.host, 100)!r}: "
                "check the bucket and region, or the endpoint"
            )
        else:
            text = (
                f"{type(error).__name__}: {error} (after {attempts} attempt{'s' * (attempts > 1)})"
            )
        raise TransportError(text, method=request.method, url=str(request.url)) from error

    @staticmethod
    def _fail_deadline(
        request: httpx.Request, attempt: int, failure: BaseException | None
    ) -> NoReturn:
        text = f"deadline exceeded after {attempt} attempt{'s' * (attempt > 1)}"
        if failure is not None:
            text += f"; last failure: {type(failure).__name__}"
        raise TransportError(text, method=request.method, url=str(request.url)) from failure


@attrs.frozen
class _Failure:
    """A failed attempt: a secret-free copy of what was raised, and what to do about it."""

    error: BaseException
    retryable: bool
    no_such_host: bool

    @classmethod
    def of(cls, exc: BaseException, *, idempotent: bool, secrets: tuple[str, ...] = ()) -> _Failure:
        no_such_host = _no_such_host(exc)
        return cls(
            _scrubbed(exc, secrets),
            retryable=retryable_exception(exc, idempotent=idempotent) and not no_such_host,
            no_such_host=no_such_host,
        )


def _not_async(signer: object, returned: object) -> NoReturn:
    msg = (
        f"{type(signer).__name__}.sign must be a coroutine function (async def): "
        f"it returned {type(returned).__name__}, not an awaitable"
    )
    raise TypeError(msg)


def _on_written(sent: anyio.Event) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    """A ``trace`` extension (httpx's own transport): sets ``sent`` once the request is written."""

    async def trace(event_name: str, _info: dict[str, Any]) -> None:
        # httpcore's events: "http11.send_request_body.complete", "http2...." likewise.
        if event_name.endswith(".send_request_body.complete"):
            sent.set()

    return trace


def _too_large(
    response: httpx.Response, limit: int | None, start: bytes, request_id: str | None
) -> NoReturn:
    msg = (
        f"the answer is larger than max_response_bytes ({limit} bytes); "
        "pass a larger max_response_bytes (or None) to Session to accept it"
    )
    raise ResponseParseError(
        msg,
        snippet=start,
        status_code=response.status_code,
        request_id=request_id,
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes and contexts, each once."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 16:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _no_such_host(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure to resolve the host name (not worth retrying)."""
    return any(isinstance(item, socket.gaierror) for item in _causes(exc))


def _message(exc: BaseException) -> str:
    """What ``exc`` says; when it says nothing, what the first cause that does says.

    (httpx's exceptions wrap httpcore's, which wrap the OS, TLS or event-loop
    error: none of those carries the request, so their text is safe to quote.)
    """
    text = str(exc)
    if text:
        return text
    for cause in _causes(exc)[1:]:
        # (Not a cancellation: a timeout's own "Cancelled via cancel scope ..." says nothing.)
        if isinstance(cause, Exception) and str(cause):
            return f"{type(cause).__name__}: {cause}"
    return type(exc).__name__


def _masked(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` (method, URL, headers) with secret headers masked, no body."""
    headers = httpx.Headers(request.headers)
    for name in SECRET_HEADERS:
        if name in headers:
            headers[name] = MASK
    return httpx.Request(request.method, request.url, headers=headers)


def _scrubbed(exc: BaseException, secrets: tuple[str, ...]) -> BaseException:
    """A copy of ``exc`` safe to chain: same type and (escaped) message, masked request.

    The copy was never raised: it has no traceback, cause or context, so none
    of the frames, locals or exceptions behind the original come along. What
    its text quotes of ``secrets`` (the request's) is masked.
    """
    message = shown(masked_text(_message(exc), secrets), 500)
    kind = type(exc)
    try:
        copy = kind(message)
    except Exception:  # a constructor wanting other arguments
        copy = (httpx.TransportError if isinstance(exc, httpx.HTTPError) else OSError)(message)
    if isinstance(exc, httpx.RequestError) and isinstance(copy, httpx.RequestError):
        with contextlib.suppress(RuntimeError):  # the original had no request
            copy.request = _masked(exc.request)
    # The OS error at the root (a name that does not resolve, a refused connection,
    # a certificate refused) is worth keeping, and carries nothing of the request.
    for cause in reversed(_causes(exc)[1:]):
        if isinstance(cause, OSError):
            args = [masked_text(a, secrets) if isinstance(a, str) else a for a in cause.args]
            with contextlib.suppress(Exception):
                copy.__cause__ = type(cause)(*args)
            break
    return copy


def _log_retry(
    request: httpx.Request, attempt: int, attempts: int, delay: float, failure: BaseException
) -> None:
    if isinstance(failure, ServiceError):
        reason = f"{failure.status_code} {shown(failure.code or '', 64)}".rstrip()
        request_id = None if failure.request_id is None else shown(failure.request_id, 100)
    else:
        reason = type(failure).__name__
        request_id = None
    logger.warning(
        "retrying %s %s in %.3fs: attempt %d of %d failed with %s [request_id=%s]",
        request.method,
        request.url.path,
        delay,
        attempt,
        attempts,
        reason,
        request_id,
        extra={
            "ci_method": request.method,
            "ci_path": request.url.path,
            "ci_attempt": attempt,
            "ci_delay": delay,
            "ci_reason": reason,
            "ci_request_id": request_id,
        },
    )
