"""RetryPolicy and the retry behaviour of the session's send loop."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

from ci_async import (
    AuthError,
    JobInput,
    JobNotFoundError,
    RetryPolicy,
    ServerError,
    ServiceError,
    ThrottledError,
    TransportError,
)

from ._session_support import SECRET, CountingSigner, Recorder, error, make_job, session_for, xml
from ._xml import encode_response

pytestmark = pytest.mark.anyio

OK_DESCRIBE = encode_response([make_job(1)], request_id="ok")


def ok(_: httpx.Request) -> httpx.Response:
    return xml(200, OK_DESCRIBE)


def failing_then_ok(failures: list[object]) -> Recorder:
    """A service answering (or raising) ``failures`` in turn, then OK."""
    script = list(failures)

    async def handler(request: httpx.Request) -> httpx.Response:
        if script:
            step = script.pop(0)
            if isinstance(step, BaseException):
                raise step
            assert isinstance(step, httpx.Response)
            return step
        if request.method == "POST":
            return xml(200, encode_response([make_job(7)]))
        return ok(request)

    return Recorder(handler)


# --- the policy itself ------------------------------------------------------------------


def test_delay_doubles_without_jitter() -> None:
    """Without jitter the delay is backoff * 2**(attempt-1)."""
    policy = RetryPolicy(backoff=0.5, jitter=False)

    assert [0.5, 1.0, 2.0] == [policy.delay(n, None) for n in (1, 2, 3)]


def test_delay_is_capped_by_max_backoff() -> None:
    """The exponential delay never exceeds max_backoff."""
    policy = RetryPolicy(backoff=1.0, max_backoff=3.0, jitter=False)

    assert 3.0 == policy.delay(10, None)


def test_huge_attempt_numbers_do_not_overflow() -> None:
    """An absurd attempt number still gives max_backoff."""
    policy = RetryPolicy(backoff=1.0, max_backoff=3.0, jitter=False)

    assert 3.0 == policy.delay(100_000, None)


def test_full_jitter_scales_the_cap_by_the_random_source() -> None:
    """Full jitter draws uniformly in [0, cap] from the injected source."""
    policy = RetryPolicy(backoff=1.0, random=lambda: 0.25)

    assert 1.0 == policy.delay(3, None)


def test_retry_after_is_a_lower_bound() -> None:
    """A Retry-After longer than the backoff wins."""
    policy = RetryPolicy(backoff=0.1, jitter=False)

    assert 5.0 == policy.delay(1, 5.0)


def test_retry_after_is_capped() -> None:
    """Retry-After beyond max_retry_after is cut to it."""
    policy = RetryPolicy(backoff=0.1, jitter=False, max_retry_after=2.0)

    assert 2.0 == policy.delay(1, 3600.0)


def test_short_retry_after_does_not_shorten_the_backoff() -> None:
    """A Retry-After shorter than the backoff leaves the backoff."""
    policy = RetryPolicy(backoff=1.0, jitter=False)

    assert 1.0 == policy.delay(1, 0.5)


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"max_attempts": 0}, ValueError),
        ({"max_attempts": True}, TypeError),
        ({"max_attempts": 1.5}, TypeError),
        ({"backoff": -1}, ValueError),
        ({"backoff": float("nan")}, ValueError),
        ({"max_backoff": float("inf")}, ValueError),
        ({"max_retry_after": -0.1}, ValueError),
        ({"backoff": "1"}, TypeError),
        ({"jitter": 1}, TypeError),
        ({"random": 0.5}, TypeError),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict[str, object], exc: type[Exception]) -> None:
    """Each invalid setting raises at construction."""
    with pytest.raises(exc):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen() -> None:
    """RetryPolicy is immutable."""
    policy = RetryPolicy()

    with pytest.raises(AttributeError):
        policy.max_attempts = 2  # type: ignore[misc]


def test_policy_equality_ignores_the_random_source() -> None:
    """Two policies with the same numbers are equal."""
    assert RetryPolicy(random=lambda: 0.1) == RetryPolicy()


# --- the send loop ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried(status: int) -> None:
    """GETs answered 429/5xx are retried and then succeed."""
    recorder = failing_then_ok([error(status, "InternalError"), error(status, "InternalError")])
    async with session_for(recorder) as session:
        job = await session.get_job("j00000001")

    assert ("j00000001", 3) == (job.job_id, len(recorder.requests))


async def test_attempts_are_bounded_by_max_attempts() -> None:
    """A persistent 503 is tried max_attempts times, then raised as ServerError."""
    recorder = failing_then_ok([error(503, "ServiceUnavailable")] * 10)
    async with session_for(recorder, retry=RetryPolicy(max_attempts=3, backoff=0.001)) as session:
        with pytest.raises(ServerError) as caught:
            await session.get_job("j00000001")

    assert (3, 503) == (len(recorder.requests), caught.value.status_code)


async def test_throttling_is_raised_after_retries() -> None:
    """A persistent 429 ends as ThrottledError."""
    recorder = failing_then_ok([error(429, "SlowDown")] * 10)
    async with session_for(recorder) as session:
        with pytest.raises(ThrottledError):
            await session.get_job("j00000001")

    assert 4 == len(recorder.requests)


async def test_no_retry_policy_means_one_request() -> None:
    """retry=None sends exactly one request."""
    recorder = failing_then_ok([error(503, "ServiceUnavailable")])
    async with session_for(recorder, retry=None) as session:
        with pytest.raises(ServerError):
            await session.get_job("j00000001")

    assert 1 == len(recorder.requests)


@pytest.mark.parametrize(
    ("status", "code", "exc"),
    [
        (403, "AccessDenied", AuthError),
        (401, "InvalidAuthorization", AuthError),
        (404, "NoSuchKey", JobNotFoundError),
        (400, "InvalidArgument", ServiceError),
        (400, "ResourceNotFound", JobNotFoundError),
        (409, "Conflict", ServiceError),
        (501, "NotImplemented", ServerError),
    ],
)
async def test_other_errors_are_never_retried(status: int, code: str, exc: type[Exception]) -> None:
    """4xx other than 429 (and 501) are raised after one request."""
    recorder = failing_then_ok([error(status, code)] * 4)
    async with session_for(recorder) as session:
        with pytest.raises(exc):
            await session.get_job("j00000001")

    assert 1 == len(recorder.requests)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        httpx.ReadTimeout("slow read"),
        httpx.ReadError("reset"),
        httpx.WriteError("broken pipe"),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.PoolTimeout("pool"),
    ],
)
async def test_transport_failures_are_retried_for_get(failure: Exception) -> None:
    """Connection failures and timeouts of a GET are retried."""
    recorder = failing_then_ok([failure])
    async with session_for(recorder) as session:
        await session.get_job("j00000001")

    assert 2 == len(recorder.requests)


async def test_transport_failure_after_retries_is_a_chained_transport_error() -> None:
    """Exhausted transport retries raise TransportError from the httpx exception."""
    recorder = failing_then_ok([httpx.ConnectError("refused")] * 4)
    async with session_for(recorder) as session:
        with pytest.raises(TransportError) as caught:
            await session.get_job("j00000001")

    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_every_attempt_is_signed_again() -> None:
    """The signer is called once per attempt."""
    recorder = failing_then_ok([error(503, "X"), httpx.ReadError("reset"), error(500, "Y")])
    signer = CountingSigner()
    async with session_for(recorder, signer=signer) as session:
        await session.get_job("j00000001")

    assert (4, 4) == (signer.calls, len(recorder.requests))


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("pool")],
)
async def test_create_is_retried_when_never_sent(failure: Exception) -> None:
    """A create that certainly never left is retried."""
    recorder = failing_then_ok([failure])
    async with session_for(recorder) as session:
        job = await session.create_job(name="n", input=JobInput(prefix="p/"), workflow_ids=["w1"])

    assert ("j00000007", 2) == (job.job_id, len(recorder.requests))


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadError("reset"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("disconnected"),
        httpx.WriteError("broken"),
        httpx.WriteTimeout("slow write"),
    ],
)
async def test_create_is_not_retried_once_possibly_sent(failure: Exception) -> None:
    """A create that may have reached the service is never sent again."""
    recorder = failing_then_ok([failure])
    async with session_for(recorder) as session:
        with pytest.raises(TransportError):
            await session.create_job(name="n", input=JobInput(prefix="p/"), workflow_ids=["w1"])

    assert 1 == len(recorder.requests)


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_create_is_not_retried_after_an_answer(status: int) -> None:
    """Any answer proves the create arrived: it is not re-sent."""
    recorder = failing_then_ok([error(status, "X")])
    async with session_for(recorder) as session:
        with pytest.raises(ServiceError):
            await session.create_job(name="n", input=JobInput(prefix="p/"), workflow_ids=["w1"])

    assert 1 == len(recorder.requests)


async def test_cancel_is_retried() -> None:
    """cancel_job is idempotent and retried on 503."""
    recorder = failing_then_ok([error(503, "X"), httpx.ReadError("reset")])
    async with session_for(recorder) as session:
        await session.cancel_job("j00000001")

    assert ["PUT"] * 3 == [request.method for request in recorder.requests]


async def test_retry_after_is_honoured_within_its_cap(caplog: pytest.LogCaptureFixture) -> None:
    """The logged delay is the server's Retry-After, capped at max_retry_after."""
    recorder = failing_then_ok([error(429, "SlowDown", **{"Retry-After": "3600"})])
    policy = RetryPolicy(backoff=0.001, max_retry_after=0.002)
    caplog.set_level(logging.WARNING, logger="ci_async")
    async with session_for(recorder, retry=policy) as session:
        await session.get_job("j00000001")

    assert [0.002] == [record.ci_delay for record in caplog.records]  # type: ignore[attr-defined]


async def test_each_retry_is_logged_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    """Retry logs name method, path, attempt and request id, never the signature."""
    recorder = failing_then_ok([error(503, "SlowDown"), httpx.ReadError("reset")])
    caplog.set_level(logging.DEBUG, logger="ci_async")
    async with session_for(recorder) as session:
        await session.get_job("j00000001")

    messages = [record.getMessage() for record in caplog.records]
    assert 2 == len(messages)
    assert "GET /inventorytriggerjob/j00000001" in messages[0]
    assert "attempt 1 of 4" in messages[0]
    assert "request_id=req-503" in messages[0]
    assert "ReadError" in messages[1]
    assert not any(SECRET in text or "q-signature" in text for text in caplog.text.splitlines())


async def test_error_messages_carry_no_secret() -> None:
    """Neither the error nor its cause mentions the Authorization value."""
    recorder = failing_then_ok([httpx.ConnectError("refused")] * 4)
    async with session_for(recorder) as session:
        with pytest.raises(TransportError) as caught:
            await session.get_job("j00000001")

    assert SECRET not in f"{caught.value} {caught.value!r}"


async def test_deadline_stops_retrying_instead_of_sleeping_past_it() -> None:
    """A Retry-After beyond the deadline ends the iteration with TransportError at once."""
    recorder = failing_then_ok([error(503, "SlowDown", **{"Retry-After": "30"})] * 4)
    async with session_for(recorder) as session:
        iterator = session.list_jobs(deadline=5.0)
        with anyio.fail_after(20), pytest.raises(TransportError, match="deadline"):
            await iterator.__anext__()

    assert 1 == len(recorder.requests)


async def test_deadline_interrupts_a_hanging_request() -> None:
    """A request that never answers is cut at the deadline with TransportError."""

    async def hang(_: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    async with session_for(Recorder(hang)) as session:
        with anyio.fail_after(20), pytest.raises(TransportError, match="deadline"):
            await session.list_jobs(deadline=0.05).__anext__()


async def test_signer_failures_are_not_retried() -> None:
    """An exception from the signer propagates at once."""

    class Broken:
        async def sign(self, request: httpx.Request) -> None:
            raise LookupError("no key")

    recorder = failing_then_ok([])
    async with session_for(recorder, signer=Broken()) as session:  # type: ignore[arg-type]
        with pytest.raises(LookupError):
            await session.get_job("j00000001")

    assert [] == recorder.requests
