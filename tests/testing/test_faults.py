"""Fault injection, in process: every fault mode and how faults are matched."""

from __future__ import annotations

import threading
from xml.parsers.expat import ExpatError

import anyio
import httpx
import pytest
import xmltodict

from ci_async.testing import Emulator, FaultPlan, RecordedRequest

from ._support import error_code, parse, send

pytestmark = pytest.mark.anyio

PATH = "/inventorytriggerjob"


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An emulator with enough jobs for several pages."""
    emulator = Emulator(seed=21)
    emulator.generate(25)
    return emulator


async def get(emulator: Emulator, path: str = PATH, **kwargs: object) -> httpx.Response:
    return await send(emulator, "GET", path, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "InternalError"),
        (502, "BadGateway"),
        (503, "ServiceUnavailable"),
        (504, "GatewayTimeout"),
        (429, "SlowDown"),
    ],
)
async def test_fail_next_answers_errors_then_recovers(
    emulator: Emulator, status: int, code: str, anyio_backend: str
) -> None:
    """fail_next(n) fails exactly n requests with the status's usual code."""
    emulator.faults.fail_next(2, status=status)
    responses = [await get(emulator) for _ in range(3)]
    assert [status, status, 200] == [response.status_code for response in responses]
    assert code == error_code(responses[0])


async def test_fail_next_with_custom_code(emulator: Emulator, anyio_backend: str) -> None:
    """The error code and message can be chosen."""
    emulator.faults.fail_next(status=503, code="SlowDown", message="busy")
    error = parse(await get(emulator))["Error"]
    assert ("SlowDown", "busy") == (error["Code"], error["Message"])


async def test_throttle_sends_retry_after(emulator: Emulator, anyio_backend: str) -> None:
    """throttle_next answers 429 SlowDown with a Retry-After header."""
    emulator.faults.throttle_next(retry_after=3)
    response = await get(emulator)
    assert (429, "SlowDown", "3") == (
        response.status_code,
        error_code(response),
        response.headers["retry-after"],
    )


async def test_retry_after_fraction(emulator: Emulator, anyio_backend: str) -> None:
    """A fractional Retry-After is written as given."""
    emulator.faults.fail_next(status=503, retry_after=0.5)
    assert "0.5" == (await get(emulator)).headers["retry-after"]


async def test_faults_come_before_signature_checks(emulator: Emulator, anyio_backend: str) -> None:
    """An unsigned request still gets the injected 503 (the fault is in front)."""
    emulator.faults.fail_next(status=503)
    assert 503 == (await get(emulator, signed=False)).status_code


async def test_html_error_page(emulator: Emulator, anyio_backend: str) -> None:
    """html_error_next answers a gateway's HTML page with a 502."""
    emulator.faults.html_error_next()
    response = await get(emulator)
    assert (502, "text/html") == (response.status_code, response.headers["content-type"])
    assert response.text.startswith("<html>")


async def test_empty_body(emulator: Emulator, anyio_backend: str) -> None:
    """empty_body_next answers 200 with nothing in it."""
    emulator.faults.empty_body_next()
    response = await get(emulator)
    assert (200, b"") == (response.status_code, response.content)


async def test_truncated_xml(emulator: Emulator, anyio_backend: str) -> None:
    """truncate_next answers the first half of the document, properly framed."""
    emulator.faults.truncate_next()
    truncated = (await get(emulator, params={"size": "1"})).content
    whole = (await get(emulator, params={"size": "1"})).content
    assert whole.startswith(truncated.split(b"<RequestId>")[0])
    assert len(truncated) < len(whole)
    with pytest.raises(ExpatError):
        xmltodict.parse(truncated)


async def test_malformed_xml(emulator: Emulator, anyio_backend: str) -> None:
    """malformed_next answers XML that is not well-formed."""
    emulator.faults.malformed_next()
    response = await get(emulator)
    assert 200 == response.status_code
    with pytest.raises(ExpatError):
        xmltodict.parse(response.content)


async def test_wrong_root(emulator: Emulator, anyio_backend: str) -> None:
    """wrong_root_next answers a well-formed document with another root element."""
    emulator.faults.wrong_root_next()
    assert ["Result"] == list(xmltodict.parse((await get(emulator)).content))


async def test_repeated_token(emulator: Emulator, anyio_backend: str) -> None:
    """repeat_token_next sends back the token that was asked for."""
    first = parse(await get(emulator, params={"size": "5"}))["Response"]["NextToken"]
    emulator.faults.repeat_token_next()
    second = parse(await get(emulator, params={"size": "5", "nextToken": first}))
    assert first == second["Response"]["NextToken"]


async def test_repeated_token_waits_for_a_token(emulator: Emulator, anyio_backend: str) -> None:
    """A request without nextToken does not use the fault up."""
    emulator.faults.repeat_token_next()
    first = parse(await get(emulator, params={"size": "5"}))["Response"]["NextToken"]
    assert 1 == emulator.faults.pending
    second = parse(await get(emulator, params={"size": "5", "nextToken": first}))
    assert (first, 0) == (second["Response"]["NextToken"], emulator.faults.pending)


async def test_drop_connection(emulator: Emulator, anyio_backend: str) -> None:
    """drop_next closes the connection without an answer: RemoteProtocolError."""
    emulator.faults.drop_next()
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        await get(emulator)
    assert 200 == (await get(emulator)).status_code


async def test_reset_mid_body(emulator: Emulator, anyio_backend: str) -> None:
    """reset_next breaks the connection during the body: ReadError."""
    emulator.faults.reset_next(after_bytes=10)
    with pytest.raises(httpx.ReadError):
        await get(emulator)


async def test_hang_ends_in_read_timeout(emulator: Emulator, anyio_backend: str) -> None:
    """hang_next never answers: the client's read timeout fires."""
    emulator.faults.hang_next()
    with pytest.raises(httpx.ReadTimeout):
        await get(emulator, timeout=0.05)


async def test_hang_honours_cancellation(emulator: Emulator, anyio_backend: str) -> None:
    """A hung request without timeout ends when the caller cancels it."""
    emulator.faults.hang_next()
    with anyio.move_on_after(0.05) as scope:
        await get(emulator, timeout=None)
    assert scope.cancelled_caught
    assert 200 == (await get(emulator)).status_code


async def test_latency_beyond_the_read_timeout(emulator: Emulator, anyio_backend: str) -> None:
    """Latency longer than the read timeout ends in ReadTimeout; latency(0) clears it."""
    emulator.faults.latency(60)
    with pytest.raises(httpx.ReadTimeout):
        await get(emulator, timeout=0.05)
    emulator.faults.latency(0)
    assert 200 == (await get(emulator, timeout=5)).status_code


async def test_delay_next_applies_once(emulator: Emulator, anyio_backend: str) -> None:
    """delay_next delays only the next request."""
    emulator.faults.delay_next(seconds=60)
    with pytest.raises(httpx.ReadTimeout):
        await get(emulator, timeout=0.05)
    assert 200 == (await get(emulator, timeout=5)).status_code


async def test_trickle_delivers_the_whole_body(emulator: Emulator, anyio_backend: str) -> None:
    """trickle_next sends the answer in small pieces; it arrives intact."""
    emulator.faults.trickle_next(chunk_size=200, interval=0.001)
    trickled = await get(emulator, params={"size": "2"})
    assert 2 == len(parse(trickled)["Response"]["JobsDetail"])
    assert "trickle" == emulator.requests[-1].fault


async def test_match_by_operation(emulator: Emulator, anyio_backend: str) -> None:
    """op= limits a fault to one operation."""
    emulator.faults.fail_next(status=500, op="describe")
    assert 200 == (await get(emulator)).status_code
    assert 500 == (await get(emulator, f"{PATH}/bx")).status_code


async def test_match_by_method_and_path(emulator: Emulator, anyio_backend: str) -> None:
    """method= and path= (a glob) limit a fault."""
    emulator.faults.fail_next(status=500, method="put", path=f"{PATH}/*")
    assert 200 == (await get(emulator, f"{PATH}/bx")).status_code
    stored = emulator.add_job()
    response = await send(emulator, "PUT", f"{PATH}/{stored.job_id}?cancel")
    assert 500 == response.status_code


async def test_match_by_predicate(emulator: Emulator, anyio_backend: str) -> None:
    """when= takes any predicate over the recorded request."""
    emulator.faults.fail_next(status=502, when=lambda r: r.params.get("size") == "7")
    assert 200 == (await get(emulator, params={"size": "6"})).status_code
    assert 502 == (await get(emulator, params={"size": "7"})).status_code


async def test_rules_apply_in_order(emulator: Emulator, anyio_backend: str) -> None:
    """Queued faults are used one request at a time, first queued first."""
    emulator.faults.fail_next(status=500)
    emulator.faults.fail_next(status=502)
    statuses = [(await get(emulator)).status_code for _ in range(3)]
    assert [500, 502, 200] == statuses


async def test_applied_fault_is_recorded(emulator: Emulator, anyio_backend: str) -> None:
    """The recorded request names the fault it got."""
    emulator.faults.fail_next(status=503)
    await get(emulator)
    await get(emulator)
    assert ["status", None] == [request.fault for request in emulator.requests]


def test_clear_forgets_everything() -> None:
    """clear() drops queued faults and latency."""
    plan = FaultPlan()
    plan.fail_next(3)
    plan.latency(1)
    plan.clear()
    request = RecordedRequest(method="GET", path=PATH, query=(), headers=(), body=b"", time=0)
    assert (0, None, 0.0) == (plan.pending, plan.take(request), plan.latency_for(request))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda plan: plan.fail_next(0), "at least 1"),
        (lambda plan: plan.drop_next(op="delete"), "op must be"),
        (lambda plan: plan.latency(-1), "negative"),
        (lambda plan: plan.trickle_next(chunk_size=0), "chunk_size"),
    ],
)
def test_bad_fault_arguments(call: object, message: str) -> None:
    """Nonsense arguments are refused at once."""
    with pytest.raises(ValueError, match=message):
        call(FaultPlan())  # type: ignore[operator]


def test_plan_is_thread_safe() -> None:
    """Faults queued and taken from many threads are each used exactly once."""
    plan = FaultPlan()
    request = RecordedRequest(method="GET", path=PATH, query=(), headers=(), body=b"", time=0)
    taken: list[object] = []

    def queue_and_take() -> None:
        for _ in range(500):
            plan.fail_next()
        for _ in range(500):
            taken.append(plan.take(request))

    threads = [threading.Thread(target=queue_and_take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (0, 2000) == (plan.pending, sum(fault is not None for fault in taken))


def test_plan_repr_lists_pending_faults() -> None:
    """The repr shows what is queued."""
    plan = FaultPlan()
    plan.drop_next(2)
    assert "dropx2" in repr(plan)
