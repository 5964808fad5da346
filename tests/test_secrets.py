"""Secrets: no key, token or signature in any log record, exception or repr; TLS by default.

Every error path is driven with canary credentials (a temporary pair: key and
token) against the emulator, or a raw socket server sending broken HTTP, on a
loopback port while every logger records at DEBUG (httpx, httpcore and aiohttp
included), on three variants: asyncio over httpx's transport, asyncio over
:class:`~ci_async.AiohttpTransport`, trio over httpx's. Then every log record,
every exception of the chain (``__cause__``/``__context__``, their ``str``,
``repr``, ``args``, attributes such as ``request``, ``request_info`` and
``headers``, the traceback rendered with the locals of every frame as Sentry,
rich or ``pytest --showlocals`` would, and pickle) and the ``repr`` of every
object a user may print is searched for the canaries, for every
``q-signature`` sent and for the signing keys derived from the secret key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import pickle
import socket
import ssl
import threading
import traceback
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from xml.sax.saxutils import escape

import anyio
import httpx
import pytest

from ci_async import (
    AiohttpTransport,
    AuthError,
    CIError,
    CosSigner,
    Credentials,
    CredentialsError,
    JobInput,
    JobNotFoundError,
    PaginationError,
    ResponseParseError,
    RetryPolicy,
    ServerError,
    Session,
    SessionClosedError,
    ThrottledError,
    TransportError,
    WaitTimeoutError,
)
from ci_async._signing import TOKEN_HEADER, parse_authorization
from ci_async.testing import Emulator, EmulatorServer

from ._session_support import LOOPS_AND_TRANSPORTS, make_job
from .reliability._raw import RawConnection, header_of, raw_server
from .reliability._support import BUCKET, REGION, NullSigner, closed_port, page_body

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

CANARY_ID = "AKIDcanary00000000000000000000000000"
CANARY_KEY = "CANARYKEY-3f9a2c7e5b1d48a6b0c9e7f2a4d6c8e0"
CANARY_TOKEN = "CANARYTOKEN-8e1c5a9f3b7d42e6a0f8c4b2d6e9a1c3"
WRONG_KEY = "CANARYKEY-wrong-77a1e3c5b9d04f2a6c8e0b1d3f5a7c9e"
WRONG_TOKEN = "CANARYTOKEN-wrong-1b3d5f7a9c0e42a4c6e8a0b2d4f6a8c0"
CREDENTIALS = Credentials(CANARY_ID, CANARY_KEY, token=CANARY_TOKEN)
FAST = RetryPolicy(max_attempts=2, backoff=0.001, max_backoff=0.002)


# --- what must never show ------------------------------------------------------------------


def secrets_of(emulator: Emulator) -> list[str]:
    """The canaries, every signature the emulator received, and the keys derived to sign."""
    found = [CANARY_KEY, CANARY_TOKEN, WRONG_KEY, WRONG_TOKEN]
    for request in emulator.requests:
        authorization = request.header("authorization")
        if not authorization:
            continue
        fields = parse_authorization(authorization)
        found.append(fields["q-signature"])
        for key in (CANARY_KEY, WRONG_KEY):
            derived = hmac.new(key.encode(), fields["q-key-time"].encode(), hashlib.sha1)
            found.append(derived.hexdigest())
    return found


def exception_texts(exc: BaseException) -> list[str]:
    """Everything an exception chain can show.

    Its traceback, plain and rendered with the locals of every frame (what
    Sentry, rich or ``pytest --showlocals`` print); and for each exception of
    the chain: ``str``, ``repr``, ``args``, every attribute (private ones
    too), the headers of any request, response or aiohttp ``request_info``
    reachable from it, and its pickle.
    """
    texts = ["".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        texts += [repr(value) for value in vars(current).values()]
        texts += frame_locals(current)
        for name in ("request", "response", "request_info", "headers", "history"):
            try:
                value = getattr(current, name, None)
            except RuntimeError:  # httpx: "The .request property has not been set."
                continue
            texts += reachable_texts(value)
        if type(current).__module__ == "ci_async":
            texts.append(pickle.dumps(current).decode("latin-1"))
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return texts


def frame_locals(exc: BaseException) -> list[str]:
    """The locals of the library's frames of ``exc``'s traceback, as a renderer shows them.

    (What ``traceback.TracebackException(..., capture_locals=True)``, Sentry or
    rich print: ``name = repr(value)``; a ``repr`` that fails is skipped, as
    those renderers do.) Every frame counts but the tests' own, whose locals
    hold the canaries on purpose.
    """
    texts: list[str] = []
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        if str(frame.f_globals.get("__name__", "")).startswith("tests."):
            continue  # the test's own frames: what they hold is the test's business
        for name, value in frame.f_locals.items():
            try:
                texts.append(f"{frame.f_code.co_name}: {name} = {value!r}")
            except Exception:
                continue
    return texts


def reachable_texts(value: object) -> list[str]:
    """``repr`` of ``value`` and, for requests, responses and headers, every raw header value."""
    if value is None:
        return []
    texts = [repr(value)]
    headers = getattr(value, "headers", value)
    if isinstance(headers, httpx.Headers):
        texts.append(repr(headers.raw))
    elif hasattr(headers, "items"):
        texts.append(repr(list(headers.items())))
    return texts


def log_texts(records: list[logging.LogRecord]) -> list[str]:
    """Every log record, formatted with its exception, and all its attributes."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(record) + repr(vars(record)) for record in records]


def leaked(texts: list[str], secrets: list[str]) -> list[str]:
    """The secrets found in any of the texts (expected: none)."""
    return sorted({secret for secret in secrets for text in texts if secret in text})


# --- fixtures --------------------------------------------------------------------------------


#: The transport of the sessions made here: set per test by ``anyio_backend`` below.
TRANSPORT = "httpx"


@pytest.fixture(name="anyio_backend", params=LOOPS_AND_TRANSPORTS)
def fixture_anyio_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every case under asyncio on both transports, and under trio (httpx's transport)."""
    global TRANSPORT
    backend, TRANSPORT = request.param
    try:
        yield backend
    finally:
        TRANSPORT = "httpx"


@pytest.fixture(name="debug_logs")
def fixture_debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger (httpx, httpcore, aiohttp, ci_async, the emulator) recorded at DEBUG."""
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An emulator that accepts only the canary credentials (a temporary pair: with a token)."""
    emulator = Emulator(credentials=CREDENTIALS, seed=11)
    emulator.generate(25)
    return emulator


@pytest.fixture(name="server")
def fixture_server(emulator: Emulator) -> Iterator[EmulatorServer]:
    """The emulator on a loopback port."""
    with emulator.serve() as server:
        yield server


def canary_session(url: str, emulator: Emulator, **kwargs: Any) -> Session:
    """A session signing with the canary credentials on the emulator's clock."""
    kwargs.setdefault(
        "signer", CosSigner(kwargs.pop("credentials", CREDENTIALS), clock=emulator.clock)
    )
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("timeout", 2.0)
    if TRANSPORT == "aiohttp" and "http_client" not in kwargs:
        kwargs.setdefault("transport", AiohttpTransport())
    return Session(BUCKET, REGION, endpoint=url, **kwargs)


# --- error paths -------------------------------------------------------------------------------

Scenario = Callable[[Emulator, str, list[BaseException]], Awaitable[None]]


@contextlib.contextmanager
def expect(
    caught: list[BaseException], kind: type[BaseException], match: str | None = None
) -> Iterator[None]:
    """pytest.raises that also keeps the exception for inspection."""
    with pytest.raises(kind, match=match) as info:
        yield
    caught.append(info.value)


async def auth_failure(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """A wrong secret key: 403 SignatureDoesNotMatch."""
    wrong = Credentials(CANARY_ID, WRONG_KEY, token=CANARY_TOKEN)
    async with canary_session(url, emulator, credentials=wrong) as session:
        with expect(caught, AuthError):
            await session.get_job(emulator.jobs[0].job_id)


async def token_rejected(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """A wrong session token: 403."""
    wrong = Credentials(CANARY_ID, CANARY_KEY, token=WRONG_TOKEN)
    async with canary_session(url, emulator, credentials=wrong) as session:
        with expect(caught, AuthError):
            await session.get_job(emulator.jobs[0].job_id)


async def server_error(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """5xx on every attempt."""
    emulator.faults.fail_next(10, status=503)
    async with canary_session(url, emulator) as session:
        with expect(caught, ServerError):
            await session.get_job(emulator.jobs[0].job_id)


async def throttled(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """429 on every attempt."""
    emulator.faults.throttle_next(10, retry_after=0)
    async with canary_session(url, emulator) as session:
        with expect(caught, ThrottledError):
            async for _ in session.list_jobs():
                pass


async def connection_refused(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """Nothing listens (the requests are signed all the same)."""
    async with canary_session(f"http://127.0.0.1:{closed_port()}", emulator) as session:
        with expect(caught, TransportError):
            await session.get_job(emulator.jobs[0].job_id)


async def read_timeout(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """The server never answers."""
    emulator.faults.hang_next(10)
    async with canary_session(url, emulator, timeout=0.2) as session:
        with expect(caught, TransportError):
            await session.get_job(emulator.jobs[0].job_id)


async def connection_reset(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """The connection is reset mid-body."""
    emulator.faults.reset_next(10)
    async with canary_session(url, emulator) as session:
        with expect(caught, TransportError):
            await session.get_job(emulator.jobs[0].job_id)


async def parse_error(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """Malformed XML."""
    emulator.faults.malformed_next(1)
    async with canary_session(url, emulator) as session:
        with expect(caught, ResponseParseError):
            await session.get_job(emulator.jobs[0].job_id)


async def pagination_error(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """A repeated NextToken."""
    emulator.faults.repeat_token_next(1)
    async with canary_session(url, emulator) as session:
        with expect(caught, PaginationError):
            async for _ in session.list_jobs(page_size=5):
                pass


async def not_found(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """An unknown job."""
    async with canary_session(url, emulator) as session:
        with expect(caught, JobNotFoundError):
            await session.get_job("b" + "0" * 32)


async def wait_timeout(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """wait_for_job runs out of time on a running job."""
    job = emulator.add_job(name="forever", state="Running")
    async with canary_session(url, emulator) as session:
        with expect(caught, WaitTimeoutError):
            await session.wait_for_job(job.job_id, timeout=0.2, poll_interval=0.05)


async def create_refused(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """create_job answered with a 5xx (not retried)."""
    emulator.faults.fail_next(1, status=500, op="create")
    async with canary_session(url, emulator) as session:
        with expect(caught, ServerError):
            await session.create_job(name="x", input=JobInput(prefix="in/"), workflow_ids=["w"])


async def validation_error(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """Bad arguments, refused before any request."""
    async with canary_session(url, emulator) as session:
        with expect(caught, ValueError, match="job_id"):
            await session.get_job("../" + emulator.jobs[0].job_id)
        with expect(caught, ValueError, match="page_size"):
            session.list_jobs(page_size=0)


async def session_closed(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """A call on a closed session."""
    session = canary_session(url, emulator)
    await session.get_job(emulator.jobs[0].job_id)
    await session.aclose()
    with expect(caught, SessionClosedError):
        await session.get_job(emulator.jobs[0].job_id)


async def provider_raises(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """The credentials provider fails."""

    async def provider() -> Credentials:
        msg = "the STS endpoint is unreachable"
        raise RuntimeError(msg)

    async with canary_session(url, emulator, credentials=provider) as session:
        with expect(caught, CredentialsError):
            await session.get_job(emulator.jobs[0].job_id)


async def provider_returns_garbage(
    emulator: Emulator, url: str, caught: list[BaseException]
) -> None:
    """The provider returns a dict holding the key instead of Credentials."""

    async def provider() -> Credentials:
        return {"secret_key": CANARY_KEY, "token": CANARY_TOKEN}  # type: ignore[return-value]

    async with canary_session(url, emulator, credentials=provider) as session:
        with expect(caught, CredentialsError):
            await session.get_job(emulator.jobs[0].job_id)


async def provider_returns_expired(
    emulator: Emulator, url: str, caught: list[BaseException]
) -> None:
    """The provider returns credentials that have already expired."""
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    expired = Credentials(CANARY_ID, CANARY_KEY, token=CANARY_TOKEN, expires_at=past)

    async def provider() -> Credentials:
        return expired

    async with canary_session(url, emulator, credentials=provider) as session:
        with expect(caught, CredentialsError):
            await session.get_job(emulator.jobs[0].job_id)


async def bad_environment(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """Credentials in the environment that are malformed, or half there."""
    with expect(caught, CredentialsError):
        Credentials.from_env({"COS_SECRET_ID": CANARY_ID, "COS_SECRET_KEY": f"{CANARY_KEY} x"})
    with expect(caught, CredentialsError):
        Credentials.from_env({"TENCENTCLOUD_SECRET_KEY": CANARY_KEY})
    with expect(caught, CredentialsError):
        Credentials.from_env(
            {
                "COS_SECRET_ID": CANARY_ID,
                "COS_SECRET_KEY": CANARY_KEY,
                "COS_SESSION_TOKEN": f"{CANARY_TOKEN}\n",
            }
        )


async def bad_credentials(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """Credentials refused by their validators."""
    with expect(caught, ValueError, match="secret_key"):
        Credentials(CANARY_ID, f"{CANARY_KEY}\r\nX-Evil: 1")
    with expect(caught, ValueError, match="token"):
        Credentials(CANARY_ID, CANARY_KEY, token=f"{CANARY_TOKEN} ")
    with expect(caught, ValueError, match="token"):
        Credentials(CANARY_ID, CANARY_KEY, token=f"{CANARY_TOKEN}é")


async def endpoint_with_password(emulator: Emulator, url: str, caught: list[BaseException]) -> None:
    """An endpoint URL carrying a password, refused for several reasons."""
    for endpoint in (
        f"https://user:{CANARY_KEY}@example.com",
        f"http://user:{CANARY_KEY}@example.com",
        f"ftp://user:{CANARY_KEY}@example.com",
        f"https://user:{CANARY_KEY}@example.com/?q=1",
        f"https://user:{CANARY_KEY}@exa mple.com",
    ):
        with expect(caught, ValueError, match="endpoint"):
            Session(BUCKET, REGION, endpoint=endpoint, signer=NullSigner())


SCENARIOS: dict[str, Scenario] = {
    function.__name__: function
    for function in (
        auth_failure,
        token_rejected,
        server_error,
        throttled,
        connection_refused,
        read_timeout,
        connection_reset,
        parse_error,
        pagination_error,
        not_found,
        wait_timeout,
        create_refused,
        validation_error,
        session_closed,
        provider_raises,
        provider_returns_garbage,
        provider_returns_expired,
        bad_environment,
        bad_credentials,
        endpoint_with_password,
    )
}


@pytest.mark.parametrize("name", SCENARIOS)
async def test_an_error_path_shows_no_secret(
    name: str,
    emulator: Emulator,
    server: EmulatorServer,
    debug_logs: pytest.LogCaptureFixture,
    anyio_backend: str,
) -> None:
    """The error raised and everything logged at DEBUG carry no key, token or signature."""
    caught: list[BaseException] = []
    with anyio.fail_after(30):
        await SCENARIOS[name](emulator, server.url, caught)

    texts = log_texts(debug_logs.records)
    for exc in caught:
        texts += exception_texts(exc)
    assert caught
    assert [] == leaked(texts, secrets_of(emulator))


async def test_a_provider_message_is_not_copied_into_the_error(
    emulator: Emulator, server: EmulatorServer
) -> None:
    """A provider whose exception quotes the key: CredentialsError names only the type."""

    async def provider() -> Credentials:
        msg = f"bad answer from STS: {CANARY_KEY}"
        raise RuntimeError(msg)

    async with canary_session(server.url, emulator, credentials=provider) as session:
        with pytest.raises(CredentialsError) as caught:
            await session.get_job(emulator.jobs[0].job_id)

    error = caught.value
    assert [] == leaked([str(error), repr(error), repr(error.args)], [CANARY_KEY])
    assert "RuntimeError" in str(error)


# --- hostile servers: broken HTTP, resets, silence ----------------------------------------------


class RecordingSigner:
    """A :class:`CosSigner` with the canary credentials that remembers every Authorization set.

    (The signatures of requests that never reached a server, such as over a
    TLS handshake that failed, are secrets to look for too.)
    """

    def __init__(self, credentials: Credentials = CREDENTIALS) -> None:
        self._signer = CosSigner(credentials)
        self.authorizations: list[str] = []

    async def sign(self, request: httpx.Request) -> None:
        """Sign with the canaries; keep the Authorization header."""
        await self._signer.sign(request)
        self.authorizations.append(request.headers["authorization"])

    def secrets(self) -> list[str]:
        """The canaries, every signature made, and the keys derived to make them."""
        found = [CANARY_KEY, CANARY_TOKEN]
        for authorization in self.authorizations:
            fields = parse_authorization(authorization)
            found.append(fields["q-signature"])
            derived = hmac.new(CANARY_KEY.encode(), fields["q-key-time"].encode(), hashlib.sha1)
            found.append(derived.hexdigest())
        return found


def _head(status: bytes, *headers: bytes, length: int = 0) -> bytes:
    lines = [b"HTTP/1.1 " + status, *headers, b"content-length: " + str(length).encode()]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _reset_mid_body(conn: RawConnection) -> None:
    conn.send(_head(b"200 OK", length=5000) + b"<Response><JobsDetail>")
    conn.reset()


def _close_mid_body(conn: RawConnection) -> None:
    conn.send(_head(b"200 OK", length=5000) + b"<Response><JobsDetail>")


def _silence(conn: RawConnection) -> None:
    conn.hold()


def _continue_forever(conn: RawConnection) -> None:
    while conn.send(b"HTTP/1.1 100 Continue\r\n\r\n") and conn.pause(0.05):
        pass


def _sends(data: bytes) -> Callable[[RawConnection], None]:
    def behave(conn: RawConnection) -> None:
        conn.send(data)

    return behave


MALFORMED_XML = b"<Response><JobsDetail><JobId>x</JobsDetail>"
ERROR_XML = b"<Error><Code>InternalError</Code><Message>boom</Message></Error>"
STATUS_LINE = b"HTTP/1.1 2OO OK\r\ncontent-length: 0\r\n\r\n"
LONG_HEADER = b"x-long: " + b"a" * 100_000
HOSTILE_SERVERS: dict[str, tuple[Callable[[RawConnection], None], type[Exception]]] = {
    "malformed-status-line": (_sends(STATUS_LINE), TransportError),
    "not-http-at-all": (_sends(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), TransportError),
    "malformed-header": (_sends(_head(b"200 OK", b"Broken Header Line")), TransportError),
    "header-line-too-long": (_sends(_head(b"200 OK", LONG_HEADER)), CIError),
    "bad-content-length": (_sends(_head(b"200 OK", b"content-length: 1x")), TransportError),
    "reset-mid-body": (_reset_mid_body, TransportError),
    "closed-mid-body": (_close_mid_body, TransportError),
    "read-timeout": (_silence, TransportError),
    "attempt-timeout": (_continue_forever, TransportError),
    "malformed-xml": (
        _sends(_head(b"200 OK", length=len(MALFORMED_XML)) + MALFORMED_XML),
        ResponseParseError,
    ),
    # "connection: close": the retry must not race the server thread closing a kept-alive
    # connection (a request written into a socket being closed is answered by a reset).
    "server-error": (
        _sends(_head(b"500 Oops", b"connection: close", length=len(ERROR_XML)) + ERROR_XML),
        ServerError,
    ),
}


@pytest.mark.parametrize("name", HOSTILE_SERVERS)
async def test_a_hostile_server_leaves_no_secret_in_the_chain_or_the_locals(
    name: str, debug_logs: pytest.LogCaptureFixture, anyio_backend: str
) -> None:
    """Broken HTTP, resets and silence: no secret in the chain, its attributes, locals or logs."""
    behaviour, expected = HOSTILE_SERVERS[name]
    signer = RecordingSigner()

    with raw_server(behaviour) as server:
        session = canary_session(server.url, Emulator(), signer=signer, timeout=0.3, retry=FAST)
        async with session:
            with anyio.fail_after(30), pytest.raises(expected) as caught:
                await session.get_job("b0123")

    assert server.heads
    assert all(header_of(head, "x-ci-security-token") == CANARY_TOKEN for head in server.heads)
    texts = log_texts(debug_logs.records) + exception_texts(caught.value)
    assert [] == leaked(texts, signer.secrets())


async def test_a_failed_tls_handshake_leaves_no_secret(
    tls_server: tuple[TlsServer, Any], debug_logs: pytest.LogCaptureFixture, anyio_backend: str
) -> None:
    """An untrusted certificate, the request signed with the canaries: no secret anywhere."""
    server, _ = tls_server
    signer = RecordingSigner()

    session = canary_session(f"https://127.0.0.1:{server.port}", Emulator(), signer=signer)
    async with session:
        with anyio.fail_after(30), pytest.raises(TransportError) as caught:
            await session.get_job("b0123")

    texts = log_texts(debug_logs.records) + exception_texts(caught.value)
    assert "CERTIFICATE_VERIFY_FAILED" in "".join(texts)
    assert signer.authorizations
    assert [] == leaked(texts, signer.secrets())


async def test_the_request_on_a_chained_httpx_error_has_its_secrets_masked(
    anyio_backend: str,
) -> None:
    """The httpx exception chained to a TransportError keeps a request whose secrets are masked."""
    signer = RecordingSigner()

    async with canary_session(
        f"http://127.0.0.1:{closed_port()}", Emulator(), signer=signer, retry=None
    ) as session:
        with anyio.fail_after(30), pytest.raises(TransportError) as caught:
            await session.get_job("b0123")

    cause = caught.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    headers = cause.request.headers
    assert ("[masked]", "[masked]") == (headers["authorization"], headers["x-ci-security-token"])
    assert (None, None) == (cause.__traceback__, cause.__context__)


def _echoes(status: bytes, body: Callable[[str, str], bytes]) -> Callable[[RawConnection], None]:
    """A server that writes the request back: its head in the body, its token as request id.

    (A debugging proxy or echo endpoint does this; the library must not copy
    what it signed with into an error, a log line or a record.)
    """

    def behave(conn: RawConnection) -> None:
        head = conn.head.decode("latin-1")
        token = header_of(conn.head, "x-ci-security-token") or ""
        data = body(head, token)
        conn.send(
            _head(
                status,
                b"x-cos-request-id: " + token.encode(),
                b"connection: close",
                length=len(data),
            )
            + data
        )

    return behave


def _error_echo(head: str, token: str) -> bytes:
    text = f"<Error><Code>AccessDenied</Code><Message>{escape(head)}</Message>"
    return (text + f"<RequestId>{token}</RequestId></Error>").encode()


def _json_echo(head: str, token: str) -> bytes:
    return json.dumps({"headers": head, "token": token}).encode()


ECHOING_SERVERS: dict[str, tuple[Callable[[RawConnection], None], type[Exception]]] = {
    "403-echo": (_echoes(b"403 Forbidden", _error_echo), AuthError),
    "503-echo-retried": (_echoes(b"503 Slow Down", _error_echo), ServerError),
    "200-json-echo": (_echoes(b"200 OK", _json_echo), ResponseParseError),
}


@pytest.mark.parametrize("name", ECHOING_SERVERS)
async def test_a_server_echoing_the_request_leaves_no_secret_in_errors_or_logs(
    name: str, debug_logs: pytest.LogCaptureFixture, anyio_backend: str
) -> None:
    """The signature and token a server writes back are masked before anything reads them."""
    behaviour, expected = ECHOING_SERVERS[name]
    signer = RecordingSigner()

    with raw_server(behaviour) as server:
        session = canary_session(server.url, Emulator(), signer=signer, retry=FAST)
        async with session:
            with anyio.fail_after(30), pytest.raises(expected) as caught:
                await session.get_job("b0123")

    assert server.heads
    assert all(CANARY_TOKEN.encode() in head for head in server.heads)  # it did echo them
    # httpcore's own DEBUG record of the response headers, as they came, is not
    # the library's: the token echoed in a header shows there (docs/errors.md).
    records = [r for r in debug_logs.records if "receive_response_headers" not in r.getMessage()]
    texts = log_texts(records) + exception_texts(caught.value)
    assert "[masked]" in "".join(exception_texts(caught.value))
    assert [] == leaked(texts, signer.secrets())


class _EchoingTransport(httpx.AsyncBaseTransport):
    """A transport whose failure quotes the request's headers (as a careless one might)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        token, authorization = request.headers[TOKEN_HEADER], request.headers["authorization"]
        msg = f"cannot connect: token {token}, authorization {authorization}"
        raise httpx.ConnectError(msg, request=request)


async def test_a_transport_failure_quoting_the_headers_leaves_no_secret(
    debug_logs: pytest.LogCaptureFixture, anyio_backend: str
) -> None:
    """A transport's exception text that quotes the request is masked like the request."""
    if TRANSPORT == "aiohttp":
        pytest.skip("the transport is the test's own")
    signer = RecordingSigner()

    session = canary_session(
        "http://127.0.0.1:9", Emulator(), signer=signer, transport=_EchoingTransport()
    )
    async with session:
        with anyio.fail_after(30), pytest.raises(TransportError) as caught:
            await session.get_job("b0123")

    assert len(signer.authorizations) == FAST.max_attempts  # retried, re-signed
    texts = log_texts(debug_logs.records) + exception_texts(caught.value)
    assert "[masked]" in str(caught.value)
    assert [] == leaked(texts, signer.secrets())


# --- reprs -------------------------------------------------------------------------------------


async def test_reprs_show_no_secret(
    emulator: Emulator, server: EmulatorServer, anyio_backend: str
) -> None:
    """Session, signer, credentials, iterator and recorded requests print no secret."""
    async with canary_session(server.url, emulator) as session:
        iterator = session.list_jobs(page_size=5)
        await iterator.__anext__()
        shown = [
            repr(session),
            repr(session._sender._settings.signer),
            repr(CREDENTIALS),
            str(CREDENTIALS),
            repr(iterator),
            repr(emulator),
            repr(server),
            repr(emulator.faults),
            *map(repr, emulator.requests),
        ]
        await iterator.aclose()

    assert [] == leaked(shown, secrets_of(emulator))
    assert CANARY_ID in repr(CREDENTIALS)


async def test_a_recorded_request_masks_authorization_and_token(
    emulator: Emulator, server: EmulatorServer, anyio_backend: str
) -> None:
    """The emulator keeps the headers for assertions but its repr masks them."""
    async with canary_session(server.url, emulator) as session:
        await session.get_job(emulator.jobs[0].job_id)

    request = emulator.requests[0]
    shown = repr(request)
    assert (request.header("authorization") or "").startswith("q-sign-algorithm=sha1")
    assert CANARY_TOKEN == request.header("x-ci-security-token")
    assert ("authorization", "***") in eval(shown.split("headers=", 1)[1].split(", body=")[0])
    assert [] == leaked([shown], secrets_of(emulator))


# --- TLS -----------------------------------------------------------------------------------------


class TlsServer:
    """A loopback TLS server in a thread: a canned answer on each connection that shakes hands."""

    def __init__(self, context: ssl.SSLContext, body: bytes) -> None:
        self._context = context
        self._answer = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\n"
            + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.refused_handshakes = 0
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TlsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    with self._context.wrap_socket(conn, server_side=True) as tls:
                        data = b""
                        while b"\r\n\r\n" not in data:
                            chunk = tls.recv(65536)
                            if not chunk:
                                break
                            data += chunk
                        tls.sendall(self._answer)
                        self.answered += 1
                except (ssl.SSLError, OSError):
                    self.refused_handshakes += 1


@pytest.fixture(name="tls_server")
def fixture_tls_server() -> Iterator[tuple[TlsServer, Any]]:
    """A TLS server whose certificate (for 127.0.0.1) no default trust store knows."""
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with TlsServer(context, page_body([make_job(0)])) as server:
        yield server, authority


async def test_tls_certificates_are_verified_by_default(
    tls_server: tuple[TlsServer, Any], anyio_backend: str
) -> None:
    """An untrusted certificate: TransportError, no request gets through (either transport)."""
    server, _ = tls_server
    url = f"https://127.0.0.1:{server.port}"

    async with Session(BUCKET, REGION, endpoint=url, signer=NullSigner(), retry=None) as session:
        with anyio.fail_after(10), pytest.raises(TransportError) as caught:
            await session.get_job("j00000000")

    assert "CERTIFICATE_VERIFY_FAILED" in "".join(exception_texts(caught.value))
    assert 0 == server.answered


async def test_a_trusted_certificate_is_accepted(
    tls_server: tuple[TlsServer, Any], anyio_backend: str
) -> None:
    """The same server, its authority trusted by the user's client: the call succeeds."""
    server, authority = tls_server
    context = ssl.create_default_context()
    authority.configure_trust(context)

    async with (
        httpx.AsyncClient(verify=context) as client,
        Session(
            BUCKET,
            REGION,
            endpoint=f"https://127.0.0.1:{server.port}",
            signer=NullSigner(),
            http_client=client,
        ) as session,
    ):
        with anyio.fail_after(10):
            job = await session.get_job("j00000000")

    assert "j00000000" == job.job_id


async def test_the_aiohttp_transport_verifies_certificates_by_default(
    tls_server: tuple[TlsServer, Any], anyio_backend: str
) -> None:
    """AiohttpTransport, opted in, refuses the untrusted certificate too."""
    if anyio_backend != "asyncio":
        pytest.skip("AiohttpTransport runs under asyncio only")
    server, _ = tls_server
    url = f"https://127.0.0.1:{server.port}"

    async with Session(
        BUCKET,
        REGION,
        endpoint=url,
        signer=NullSigner(),
        retry=None,
        transport=AiohttpTransport(),
    ) as session:
        with anyio.fail_after(10), pytest.raises(TransportError) as caught:
            await session.get_job("j00000000")

    assert "CERTIFICATE_VERIFY_FAILED" in "".join(exception_texts(caught.value))
    assert 0 == server.answered


# --- plain http -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8321",
        "http://127.9.9.9",
        "http://localhost:8321",
        "http://LOCALHOST",
        "http://[::1]:8321",
    ],
)
def test_plain_http_is_accepted_for_loopback(endpoint: str) -> None:
    """Loopback hosts may use http:// (the emulator)."""
    session = Session(BUCKET, REGION, endpoint=endpoint, signer=NullSigner())

    assert session.endpoint.startswith("http://")


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://example.com",
        "http://10.0.0.1:8321",
        "http://0.0.0.0:8321",
        "http://127.0.0.1.example.com",
        "http://localhost.example.com",
        "http://[::ffff:10.0.0.1]",
        f"http://{BUCKET}.ci.{REGION}.myqcloud.com",
    ],
)
def test_plain_http_is_refused_for_other_hosts(endpoint: str) -> None:
    """Any other host needs https://, or allow_insecure_http=True."""
    with pytest.raises(ValueError, match="allow_insecure_http"):
        Session(BUCKET, REGION, endpoint=endpoint, signer=NullSigner())

    session = Session(
        BUCKET, REGION, endpoint=endpoint, signer=NullSigner(), allow_insecure_http=True
    )
    assert session.endpoint.startswith("http://")


def test_https_is_accepted_for_any_host() -> None:
    """https:// needs no opt-in."""
    session = Session(BUCKET, REGION, endpoint="https://example.com", signer=NullSigner())

    assert "https://example.com" == session.endpoint
