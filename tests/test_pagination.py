"""JobIterator against a scripted fake service: order, limit, resume, prefetch, closing."""

from __future__ import annotations

import gc
import time
import tracemalloc
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import httpx
import pytest

from ci_async import Job, JobIterator, JobPage, PaginationError, SessionClosedError, TransportError
from ci_async._query import PageQuery

from ._session_support import ListService, Recorder, error, make_job, session_for, xml
from ._xml import encode_response

pytestmark = pytest.mark.anyio


#: The most requests a listing that must stop early may make before the test fails.
MAX_REQUESTS = 10


def ids(count: int, start: int = 0) -> list[str]:
    return [f"j{index:08d}" for index in range(start, start + count)]


async def collect(iterator: JobIterator) -> list[str]:
    return [job.job_id async for job in iterator]


def tokens(recorder: Recorder) -> list[str | None]:
    return [request.url.params.get("nextToken") for request in recorder.requests]


def sizes(recorder: Recorder) -> list[str | None]:
    return [request.url.params.get("size") for request in recorder.requests]


@pytest.mark.parametrize("prefetch", [True, False])
async def test_every_job_is_yielded_once_in_order(prefetch: bool) -> None:
    """All pages are followed until NextToken is absent."""
    service = ListService(95)
    recorder = Recorder(service)
    async with session_for(recorder) as session:
        got = await collect(session.list_jobs(page_size=20, prefetch=prefetch))

    assert ids(95) == got
    assert [None, "t20", "t40", "t60", "t80"] == tokens(recorder)


async def test_filters_are_sent_on_every_page() -> None:
    """Filters and size go with every page request."""
    recorder = Recorder(ListService(25))
    async with session_for(recorder) as session:
        await collect(session.list_jobs(type="Workflow", states=["Running"], page_size=10))

    assert 3 == len(recorder.requests)
    for request in recorder.requests:
        assert "Workflow" == request.url.params["type"]
        assert "Running" == request.url.params["states"]
        assert "10" == request.url.params["size"]


async def test_no_request_is_made_before_iteration() -> None:
    """list_jobs returns at once without I/O."""
    recorder = Recorder(ListService(5))
    async with session_for(recorder) as session:
        session.list_jobs()

    assert [] == recorder.requests


async def test_an_empty_listing_yields_nothing() -> None:
    """No jobs, no NextToken: the iteration ends."""
    recorder = Recorder(ListService(0))
    async with session_for(recorder) as session:
        iterator = session.list_jobs()
        got = await collect(iterator)

    assert ([], True, None) == (got, iterator.exhausted, iterator.next_token)


async def test_empty_pages_with_a_token_are_skipped() -> None:
    """A page with no jobs but a NextToken is followed."""
    pages = {
        None: encode_response([], next_token="a"),
        "a": encode_response([make_job(1)], next_token="b"),
        "b": encode_response([]),
    }

    async def handler(request: httpx.Request) -> httpx.Response:
        return xml(200, pages[request.url.params.get("nextToken")])

    async with session_for(Recorder(handler)) as session:
        assert ["j00000001"] == await collect(session.list_jobs())


# --- limit ------------------------------------------------------------------------------


async def test_limit_never_fetches_an_unneeded_page() -> None:
    """limit=150 with page_size=100 asks 100 then 50, and nothing more."""
    recorder = Recorder(ListService(1000))
    async with session_for(recorder) as session:
        got = await collect(session.list_jobs(page_size=100, limit=150))

    assert ids(150) == got
    assert ([None, "t100"], ["100", "50"]) == (tokens(recorder), sizes(recorder))


async def test_limit_on_a_page_boundary_fetches_no_extra_page() -> None:
    """limit=200 with page_size=100 makes exactly two requests, prefetch or not."""
    recorder = Recorder(ListService(1000))
    async with session_for(recorder) as session:
        got = await collect(session.list_jobs(page_size=100, limit=200))

    assert (200, 2) == (len(got), len(recorder.requests))


async def test_small_limit_without_page_size_asks_only_that_many() -> None:
    """limit=3 sends size=3 (the service default would be 10)."""
    recorder = Recorder(ListService(50))
    async with session_for(recorder) as session:
        got = await collect(session.list_jobs(limit=3))

    assert (ids(3), ["3"]) == (got, sizes(recorder))


async def test_limit_zero_makes_no_request() -> None:
    """limit=0 yields nothing and asks nothing."""
    recorder = Recorder(ListService(50))
    async with session_for(recorder) as session:
        assert [] == await collect(session.list_jobs(limit=0))

    assert [] == recorder.requests


async def test_a_service_ignoring_size_is_cut_at_the_limit() -> None:
    """Extra jobs beyond limit are not yielded; next_token re-fetches that page."""

    async def handler(_: httpx.Request) -> httpx.Response:
        return xml(200, encode_response([make_job(i) for i in range(10)], next_token="t10"))

    async with session_for(Recorder(handler)) as session:
        iterator = session.list_jobs(limit=4)
        got = await collect(iterator)

    assert (ids(4), None) == (got, iterator.next_token)


# --- resume -----------------------------------------------------------------------------


async def test_next_token_points_at_the_partly_consumed_page() -> None:
    """Mid-page, next_token is the current page's own token (at-least-once)."""
    recorder = Recorder(ListService(50))
    async with session_for(recorder) as session:
        iterator = session.list_jobs(page_size=10, prefetch=False)
        for _ in range(15):
            await iterator.__anext__()

        assert "t10" == iterator.next_token


async def test_next_token_moves_past_a_fully_yielded_page() -> None:
    """After the last job of a page, next_token is the following page's token."""
    recorder = Recorder(ListService(50))
    async with session_for(recorder) as session:
        iterator = session.list_jobs(page_size=10, prefetch=False)
        for _ in range(20):
            await iterator.__anext__()

        assert ("t20", 2) == (iterator.next_token, len(recorder.requests))


async def test_next_token_before_iteration_is_the_starting_token() -> None:
    """A fresh iterator reports the token it starts from."""
    async with session_for(Recorder(ListService(5))) as session:
        assert None is session.list_jobs().next_token
        assert "t30" == session.list_jobs(next_token="t30").next_token


async def test_resuming_from_a_checkpoint_loses_and_repeats_nothing() -> None:
    """Checkpoint after each processed job, crash, resume: every job exactly once."""
    recorder = Recorder(ListService(73))
    processed: list[str] = []
    checkpoint: str | None = None
    async with session_for(recorder) as session:
        iterator = session.list_jobs(page_size=10)
        async for job in iterator:
            processed.append(job.job_id)
            checkpoint = iterator.next_token
            if len(processed) == 30:
                break
        await iterator.aclose()
        processed += await collect(session.list_jobs(page_size=10, next_token=checkpoint))

    assert ids(73) == processed


async def test_resuming_mid_page_repeats_only_that_page() -> None:
    """Stopping mid-page and resuming repeats the jobs already seen on that page."""
    recorder = Recorder(ListService(40))
    async with session_for(recorder) as session:
        iterator = session.list_jobs(page_size=10, prefetch=False)
        first = [(await iterator.__anext__()).job_id for _ in range(13)]
        rest = await collect(session.list_jobs(page_size=10, next_token=iterator.next_token))

    assert ids(3, start=10) == sorted(set(first) & set(rest))
    assert ids(40) == sorted(set(first) | set(rest))


async def test_limit_stop_leaves_the_token_to_continue() -> None:
    """After limit, next_token continues right after the last job yielded."""
    recorder = Recorder(ListService(100))
    async with session_for(recorder) as session:
        iterator = session.list_jobs(page_size=10, limit=25)
        first = await collect(iterator)
        second = await collect(session.list_jobs(page_size=10, next_token=iterator.next_token))

    assert (ids(100), False) == (first + second, iterator.exhausted)


# --- pages ------------------------------------------------------------------------------


async def test_pages_yield_whole_pages_with_their_tokens() -> None:
    """pages() gives JobPage records whose next_token resumes after them."""
    recorder = Recorder(ListService(25))
    async with session_for(recorder) as session:
        pages = [page async for page in session.list_jobs(page_size=10).pages()]

    assert [10, 10, 5] == [len(page.jobs) for page in pages]
    assert ["t10", "t20", None] == [page.next_token for page in pages]
    assert ["r0", "r10", "r20"] == [page.request_id for page in pages]
    assert all(isinstance(page, JobPage) for page in pages)


async def test_pages_respect_the_limit() -> None:
    """pages() stops at limit, asking a smaller last page."""
    recorder = Recorder(ListService(100))
    async with session_for(recorder) as session:
        pages = [page async for page in session.list_jobs(page_size=10, limit=15).pages()]

    assert ([10, 5], ["10", "5"]) == ([len(page) for page in pages], sizes(recorder))


async def test_jobs_and_pages_cannot_be_mixed() -> None:
    """One iterator is consumed one way only."""
    async with session_for(Recorder(ListService(30))) as session:
        iterator = session.list_jobs(page_size=10)
        await iterator.__anext__()
        with pytest.raises(RuntimeError):
            iterator.pages()


# --- retries and bad tokens -------------------------------------------------------------


async def test_retried_pages_resend_the_same_token() -> None:
    """A page that fails is retried with its own token; no job is lost or repeated."""
    service = ListService(50)
    failed: set[str | None] = set()

    async def fault(request: httpx.Request) -> httpx.Response | None:
        token = request.url.params.get("nextToken")
        if token in {"t10", "t30"} and token not in failed:
            failed.add(token)
            return error(503, "ServiceUnavailable")
        if token == "t20" and "t20" not in failed:
            failed.add(token)
            raise httpx.ReadError("reset")
        return None

    service.fault = fault
    recorder = Recorder(service)
    async with session_for(recorder) as session:
        got = await collect(session.list_jobs(page_size=10))

    assert ids(50) == got
    assert [None, "t10", "t10", "t20", "t20", "t30", "t30", "t40"] == tokens(recorder)


async def test_a_repeated_token_raises_after_its_page() -> None:
    """A NextToken sent twice stops the iteration with PaginationError."""
    pages = {
        None: encode_response([make_job(0)], next_token="a"),
        "a": encode_response([make_job(1)], next_token="b"),
        "b": encode_response([make_job(2)], next_token="a"),
    }

    async def handler(request: httpx.Request) -> httpx.Response:
        # A bound of its own: without the guard the listing would cycle for ever
        # (and never yield to the event loop for a timeout to fire).
        assert len(recorder.requests) <= MAX_REQUESTS, "the token cycle was not detected"
        return xml(200, pages[request.url.params.get("nextToken")])

    recorder = Recorder(handler)
    got: list[str] = []

    async def consume(iterator: JobIterator) -> None:
        async for job in iterator:
            got.append(job.job_id)

    async with session_for(recorder) as session:
        with pytest.raises(PaginationError) as caught:
            await consume(session.list_jobs(limit=50))

    assert (ids(3), "a", 3) == (got, caught.value.next_token, len(recorder.requests))


async def test_a_token_equal_to_the_starting_token_is_repeated() -> None:
    """A page pointing back to the token that fetched it is a loop."""

    async def handler(_: httpx.Request) -> httpx.Response:
        # Without the guard every later page repeats job 0 (dropped as a duplicate)
        # and the listing would ask for ever: this bound makes that a failure.
        assert len(recorder.requests) <= MAX_REQUESTS, "the repeated token was not detected"
        return xml(200, encode_response([make_job(0)], next_token="same"))

    recorder = Recorder(handler)
    async with session_for(recorder) as session:
        iterator = session.list_jobs(next_token="same")
        await iterator.__anext__()
        with pytest.raises(PaginationError):
            await iterator.__anext__()


async def test_page_errors_propagate_after_retries() -> None:
    """A page that keeps failing raises, and the iterator can be retried later."""
    service = ListService(30)
    broken = True

    async def fault(request: httpx.Request) -> httpx.Response | None:
        if broken and request.url.params.get("nextToken") == "t10":
            return error(503, "ServiceUnavailable")
        return None

    service.fault = fault
    async with session_for(Recorder(service)) as session:
        iterator = session.list_jobs(page_size=10)
        got = [(await iterator.__anext__()).job_id for _ in range(10)]
        with pytest.raises(Exception, match="503"):
            await iterator.__anext__()
        broken = False
        got += await collect(iterator)

    assert ids(30) == got


# --- prefetch ---------------------------------------------------------------------------


async def test_prefetch_requests_the_next_page_while_the_consumer_works() -> None:
    """With prefetch the second page is requested before the consumer asks for it."""
    service = ListService(20)
    async with session_for(Recorder(service)) as session:
        iterator = session.list_jobs(page_size=10)
        await iterator.__anext__()
        with anyio.fail_after(10):
            await service.arrival("t10").wait()
        await iterator.aclose()


async def test_without_prefetch_nothing_is_requested_ahead() -> None:
    """prefetch=False fetches a page only when it is needed."""
    recorder = Recorder(ListService(20))
    async with session_for(recorder) as session:
        iterator = session.list_jobs(page_size=10, prefetch=False)
        for _ in range(10):
            await iterator.__anext__()

        assert 1 == len(recorder.requests)


async def test_prefetch_failure_surfaces_when_the_page_is_reached() -> None:
    """A failing prefetch does not disturb the current page; it raises at the next one."""
    service = ListService(20)

    async def fault(request: httpx.Request) -> httpx.Response | None:
        if request.url.params.get("nextToken") == "t10":
            return error(403, "AccessDenied")
        return None

    service.fault = fault
    async with session_for(Recorder(service)) as session:
        iterator = session.list_jobs(page_size=10)
        got = [(await iterator.__anext__()).job_id for _ in range(10)]
        with pytest.raises(Exception, match="AccessDenied"):
            await iterator.__anext__()

    assert ids(10) == got


async def test_the_next_page_is_requested_while_this_one_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A consumer waiting for a page: the next request reaches the service before it is decoded.

    Over a transport that does not report when a request is written (this
    in-process one), the page is decoded once the next request has been handed
    to the transport. Only the first page is awaited here: the fake service
    answers the later ones before the consumer is back for them, and those
    are decoded as they come.
    """
    from ci_async import _decode, _session

    service = ListService(30)
    recorder = Recorder(service)
    build_list = _decode.build_list
    requested_when_decoded: dict[str | None, bool] = {}

    def decode_and_look(doc: dict[str, Any], body: bytes) -> JobPage:
        page = build_list(doc, body)
        requested_when_decoded[page.next_token] = page.next_token in tokens(recorder)
        return page

    monkeypatch.setattr(_session, "build_list", decode_and_look)
    async with session_for(recorder) as session:
        got = await collect(session.list_jobs(page_size=10))

    assert ids(30) == got
    assert requested_when_decoded["t10"]
    assert [None, "t10", "t20"] == tokens(recorder)


async def test_a_page_taken_is_let_go_before_the_next_is_fetched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The iterator holds no job of a page it has handed out once it goes for the next.

    A consumer that keeps nothing then has one page of records (and the XML
    they were decoded from) in memory while the next is decoded, not two.
    (With prefetch, a page that arrives while the consumer is still busy is
    decoded then, beside the page being consumed: that is its point.)
    """
    from ci_async import _decode, _session

    build_list = _decode.build_list
    firsts: list[weakref.ref[Job]] = []
    alive_when_decoded: list[bool] = []

    def decode_and_look(doc: dict[str, Any], body: bytes) -> JobPage:
        alive_when_decoded.append(any(first() is not None for first in firsts))
        page = build_list(doc, body)
        firsts.append(weakref.ref(page.jobs[0]))
        return page

    monkeypatch.setattr(_session, "build_list", decode_and_look)
    async with session_for(Recorder(ListService(30))) as session:
        got = await collect(session.list_jobs(page_size=10, prefetch=False))

    assert ids(30) == got
    assert [False, False, False] == alive_when_decoded


async def list_beside(
    monkeypatch: pytest.MonkeyPatch,
    task: Callable[[], Coroutine[Any, Any, None]],
    before_parse: Callable[[], None],
    before_build: Callable[[], None],
) -> list[str]:
    """List 30 jobs (3 pages, no prefetch) beside ``task``, hooks before each half of a decode."""
    from ci_async import _decode, _parsing, _session

    parse_document, build_list = _decode.parse_document, _decode.build_list

    def parse(body: bytes) -> dict[str, Any]:
        before_parse()
        return parse_document(body)

    def build(doc: dict[str, Any], body: bytes) -> JobPage:
        before_build()
        return build_list(doc, body)

    monkeypatch.setattr(_parsing, "parse_document", parse)
    monkeypatch.setattr(_session, "build_list", build)
    async with session_for(Recorder(ListService(30))) as session, anyio.create_task_group() as tg:
        tg.start_soon(task)
        await anyio.wait_all_tasks_blocked()
        got = await collect(session.list_jobs(page_size=10, prefetch=False))
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    return got


async def test_a_task_woken_by_a_pages_parse_runs_before_its_records_are_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parse of a page and the building of its records each take a turn of the loop.

    A task woken while a page is parsed runs before the page's records are
    built, and one woken while they are built runs before the next page is
    parsed. Building the records is what sets off the garbage collector's
    passes; a stall is then the parse or the records and a pass, not more.
    """
    steps: list[str] = []
    wake = [anyio.Event()]

    def step(name: str) -> Callable[[], None]:
        def hook() -> None:
            steps.append(name)
            wake[0].set()

        return hook

    async def woken() -> None:
        while True:
            await wake[0].wait()
            wake[0] = anyio.Event()
            steps.append("woken")

    got = await list_beside(monkeypatch, woken, step("parse"), step("build"))

    assert ids(30) == got
    assert ["parse", "woken", "build", "woken"] * 3 == steps


async def test_a_timer_due_during_a_pages_parse_fires_before_its_records_are_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 1 ms ticker beside a parse that keeps the CPU for 5 ms ticks before the records."""
    ticks = [0]
    at_parse = [0]
    ticked_in_between: list[bool] = []

    def parse() -> None:
        at_parse[0] = ticks[0]
        busy_until = time.perf_counter() + 0.005  # the CPU work of a long parse
        while time.perf_counter() < busy_until:
            pass

    def build() -> None:
        ticked_in_between.append(ticks[0] > at_parse[0])

    async def ticker() -> None:
        while True:
            await anyio.sleep(0.001)
            ticks[0] += 1

    got = await list_beside(monkeypatch, ticker, parse, build)

    assert ids(30) == got
    assert [True, True, True] == ticked_in_between


async def test_a_request_started_on_a_wrong_hint_is_dropped() -> None:
    """A page whose bytes show another NextToken than it holds: its own token is followed.

    The hint is read off the bytes (the last ``<NextToken>`` tag); here a
    CDATA section after the real token holds a different one.
    """
    service = ListService(30)

    async def decoy(request: httpx.Request) -> httpx.Response | None:
        token = request.url.params.get("nextToken")
        if token == "decoy":
            return error(400, "InvalidToken")
        if token is not None:
            return None
        body = encode_response(service.jobs[:10], next_token="t10")
        extra = b"<Note><![CDATA[<NextToken>decoy</NextToken>]]></Note></Response>"
        return xml(200, body.replace(b"</Response>", extra))

    service.fault = decoy
    recorder = Recorder(service)
    async with session_for(recorder) as session:
        got = await collect(session.list_jobs(page_size=10))

    assert ids(30) == got
    assert ["t10", "t20"] == [token for token in tokens(recorder) if token not in (None, "decoy")]


async def test_a_slow_consumer_has_at_most_one_page_fetched_ahead() -> None:
    """A consumer that stays on its first page: only the second page is requested."""
    service = ListService(50)
    recorder = Recorder(service)
    async with session_for(recorder) as session:
        iterator = session.list_jobs(page_size=10)
        await iterator.__anext__()
        with anyio.fail_after(10):
            await service.arrival("t10").wait()
        await anyio.wait_all_tasks_blocked()
        assert [None, "t10"] == tokens(recorder)
        await iterator.aclose()


class Hanging:
    """A service whose second page never answers; records the request's cancellation."""

    def __init__(self) -> None:
        self.started = anyio.Event()
        self.cancelled = anyio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("nextToken") is None:
            return xml(200, encode_response([make_job(0), make_job(1)], next_token="t2"))
        self.started.set()
        try:
            await anyio.sleep_forever()
        finally:
            self.cancelled.set()
        raise AssertionError  # pragma: no cover


async def test_aclose_cancels_the_prefetch() -> None:
    """aclose() cancels a page request in flight and returns once it ended."""
    service = Hanging()
    async with session_for(Recorder(service)) as session:
        iterator = session.list_jobs()
        await iterator.__anext__()
        with anyio.fail_after(10):
            await service.started.wait()
            await iterator.aclose()

        assert service.cancelled.is_set()


async def test_aclose_from_another_task_ends_a_waiting_consumer() -> None:
    """A consumer waiting for a prefetched page sees the iteration end when it is closed."""
    service = Hanging()
    got: list[str] = []
    async with session_for(Recorder(service)) as session:
        iterator = session.list_jobs()

        first_page = anyio.Event()

        async def consume() -> None:
            async for job in iterator:
                got.append(job.job_id)
                if len(got) == 2:
                    first_page.set()

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(consume)
                await first_page.wait()
                await service.started.wait()
                await anyio.wait_all_tasks_blocked()
                await iterator.aclose()

    assert (ids(2), True) == (got, service.cancelled.is_set())


async def test_async_with_closes_the_iterator() -> None:
    """Leaving `async with list_jobs()` cancels the prefetch."""
    service = Hanging()
    async with session_for(Recorder(service)) as session:
        async with session.list_jobs() as iterator:
            await iterator.__anext__()
            with anyio.fail_after(10):
                await service.started.wait()

        assert service.cancelled.is_set()


async def test_breaking_out_and_dropping_the_iterator_cancels_the_prefetch() -> None:
    """`break` then losing the iterator cancels the background request."""
    service = Hanging()
    async with session_for(Recorder(service)) as session:
        async for _ in session.list_jobs():
            with anyio.fail_after(10):
                await service.started.wait()
            break
        gc.collect()
        with anyio.fail_after(10):
            await service.cancelled.wait()


@pytest.mark.parametrize("prefetch", [True, False])
async def test_cancelling_the_consumer_mid_request_leaves_the_iterator_usable(
    prefetch: bool,
) -> None:
    """A consumer cancelled while its page is in flight can continue later."""
    service = ListService(20)
    gate = anyio.Event()

    async def fault(request: httpx.Request) -> httpx.Response | None:
        if request.url.params.get("nextToken") == "t10":
            await gate.wait()
        return None

    service.fault = fault
    async with session_for(Recorder(service)) as session:
        iterator = session.list_jobs(page_size=10, prefetch=prefetch)
        got = [(await iterator.__anext__()).job_id for _ in range(10)]
        async with anyio.create_task_group() as group:
            group.start_soon(iterator.__anext__)
            await service.arrival("t10").wait()
            await anyio.wait_all_tasks_blocked()
            group.cancel_scope.cancel()
        gate.set()
        got += await collect(iterator)

    assert ids(20) == got


async def test_concurrent_use_of_one_iterator_is_refused() -> None:
    """Two tasks advancing one iterator at once is a RuntimeError."""
    service = ListService(20)
    gate = anyio.Event()

    async def fault(_: httpx.Request) -> httpx.Response | None:
        await gate.wait()
        return None

    service.fault = fault
    async with session_for(Recorder(service)) as session:
        iterator = session.list_jobs(page_size=10)
        async with anyio.create_task_group() as group:
            group.start_soon(iterator.__anext__)
            await service.arrival(None).wait()
            with pytest.raises(RuntimeError, match="another task"):
                await iterator.__anext__()
            gate.set()


# --- closing ----------------------------------------------------------------------------


async def test_a_closed_iterator_ends() -> None:
    """After aclose(), iteration stops."""
    async with session_for(Recorder(ListService(20))) as session:
        iterator = session.list_jobs(page_size=10)
        await iterator.__anext__()
        await iterator.aclose()

        assert [] == await collect(iterator)


async def test_iterators_of_a_closed_session_raise() -> None:
    """A live iterator raises SessionClosedError once its session is closed."""
    session = session_for(Recorder(ListService(20)))
    iterator = session.list_jobs(page_size=10)
    await iterator.__anext__()
    await session.aclose()

    with pytest.raises(SessionClosedError):
        await iterator.__anext__()


async def test_list_jobs_on_a_closed_session_raises() -> None:
    """list_jobs itself refuses a closed session."""
    session = session_for(Recorder(ListService(20)))
    await session.aclose()

    with pytest.raises(SessionClosedError):
        session.list_jobs()


async def test_deadline_bounds_the_whole_iteration() -> None:
    """With a deadline, a page that never comes raises TransportError."""
    service = Hanging()
    async with session_for(Recorder(service)) as session:
        iterator = session.list_jobs(deadline=0.2, prefetch=False)
        await iterator.__anext__()
        await iterator.__anext__()
        with anyio.fail_after(20), pytest.raises(TransportError, match="deadline"):
            await iterator.__anext__()


# --- the repeated-token guard's memory --------------------------------------------------------

LONG_TOKEN = 60_000


def long_token(index: int) -> str:
    """A distinct 60 KB token: a long common prefix, the page number at the end."""
    return "P" * (LONG_TOKEN - 8) + f"{index:08d}"


async def listing_of_long_tokens(pages: int, *, cycle_to: int | None = None) -> JobIterator:
    """An iterator over ``pages`` one-job pages whose tokens are 60 KB each, run to the end.

    The page after the last points back to page ``cycle_to`` when given (a cycle),
    else there is none. Tokens are made afresh on every call, as a service's would
    be: only what the iterator keeps stays alive.
    """

    async def fetch(query: PageQuery, deadline_at: float | None) -> JobPage:
        token = query.token
        index = 0 if token is None else int(token[-8:])
        following: int | None = index + 1
        if index + 1 == pages:
            following = cycle_to
        next_token = None if following is None else long_token(following)
        await anyio.lowlevel.checkpoint()
        return JobPage((make_job(index),), next_token, None)

    iterator = JobIterator(fetch, check_open=lambda: None, background=set(), prefetch=False)
    with anyio.fail_after(60):
        async for _ in iterator:
            pass
    return iterator


async def test_the_guard_keeps_a_digest_per_token_not_the_token() -> None:
    """1,000 pages of 60 KB tokens: the iterator holds well under a megabyte, not 60 MB."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        iterator = await listing_of_long_tokens(1000)
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert iterator.exhausted
    assert held - before < 1024 * 1024, f"{(held - before) / 2**20:.1f} MiB held"


async def test_a_cycle_of_long_tokens_is_still_caught() -> None:
    """Tokens that differ only in their last characters: no false repeat; a real cycle caught."""
    with pytest.raises(PaginationError) as caught:
        await listing_of_long_tokens(50, cycle_to=7)

    assert long_token(7) == caught.value.next_token
    assert len(str(caught.value)) < 200
