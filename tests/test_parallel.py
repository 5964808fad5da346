"""Parallel listing: the same jobs, in the same order, as a sequential listing, faster.

Every case compares ``list_jobs(..., parallel=N)`` with the sequential listing
of the same emulator: identical ids in identical order, whatever the order,
the filters, the service's treatment of time bounds (inclusive or exclusive),
the skew of creation times, faults and retries, resumption from a token taken
part way, and the event loop.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar, cast

import anyio
import anyio.lowlevel
import httpx
import pytest

from ci_async import (
    Job,
    JobType,
    PaginationError,
    RetryPolicy,
    ServiceError,
    Session,
    TransportError,
    _parallel,
)
from ci_async._parallel_check import BoundCheck
from ci_async._parallel_token import TOKEN_PREFIX, Snapshot, decode_token, encode_token
from ci_async._parallel_window import Window
from ci_async._query import PageQuery
from ci_async._repeats import drop_repeats
from ci_async.testing import Emulator, RecordedRequest

from ._session_support import FAST_EMULATOR, connect

pytestmark = pytest.mark.anyio

CST = timezone(timedelta(hours=8))
MONTH = (datetime(2024, 5, 1, tzinfo=CST), datetime(2024, 5, 31, 23, 59, 59, tzinfo=CST))
HOT = (datetime(2024, 5, 20, 12, tzinfo=CST), datetime(2024, 5, 20, 12, 0, 59, tzinfo=CST))


def skewed(bounds: str, jobs: int = 3000, *, seed: int = 1, **options: Any) -> Emulator:
    """An emulator with ``jobs`` jobs, 90% of them in one minute (~45 a second)."""
    emulator = Emulator(seed=seed, time_bounds=bounds, record_requests=True, **options)
    emulator.generate(jobs, seed=seed, between=MONTH, hotspot=HOT)
    return emulator


async def ids(session: Session, **options: Any) -> list[str]:
    """Every job id of a listing, in order."""
    return [job.job_id async for job in session.list_jobs(page_size=100, **options)]


class Wrapper(httpx.AsyncBaseTransport):
    """Wraps a transport: its answers are read in full and handed on; closing closes it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class InFlight(Wrapper):
    """Wraps a transport; counts list requests in flight and the most at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        super().__init__(inner)
        self.now = 0
        self.most = 0
        self.total = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.total += 1
        self.most = max(self.most, self.now)
        try:
            return await super().handle_async_request(request)
        finally:
            self.now -= 1


class Rounds(Wrapper):
    """Wraps a transport; answers requests in rounds, counting them: round trips, without a clock.

    A round is every request the listing starts before it has to wait for an
    answer: :meth:`drive` lets them through once every other task is blocked.
    With a network round trip per round, the rounds are what a listing's wall
    time is made of.

    A round's answers arrive one at a time, each taken in before the next, in
    an order fixed by the requests (their query without the token), not by
    the event loop's scheduling (trio's varies from run to run): the order
    sorted, or, with ``shuffle``, that order shuffled by ``random.Random(shuffle)``.
    The same listing takes the same rounds on every run and on either loop.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, shuffle: int | None = None) -> None:
        super().__init__(inner)
        self.order = None if shuffle is None else random.Random(shuffle)
        self.waiting: list[tuple[str, anyio.Event]] = []
        self.rounds = 0
        self.answered: list[str] = []  # each request (without its token), in the order answered

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        turn = anyio.Event()
        self.waiting.append((str(request.url.copy_remove_param("nextToken")), turn))
        await turn.wait()
        return await super().handle_async_request(request)

    async def drive(self) -> None:
        """Release a round each time every other task is blocked (run it in a task group)."""
        while True:
            await anyio.wait_all_tasks_blocked()
            if not self.waiting:
                await anyio.lowlevel.checkpoint()
                continue
            self.rounds += 1
            turns = sorted(self.waiting, key=lambda waiting: waiting[0])
            self.waiting = []
            if self.order is not None:
                self.order.shuffle(turns)
            for request, turn in turns:
                self.answered.append(request)
                turn.set()
                await anyio.wait_all_tasks_blocked()  # that answer is taken in


class JobsFetched(Wrapper):
    """Wraps a transport; counts the jobs in the answers to list requests."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        super().__init__(inner)
        self.jobs = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.url.path.endswith("/inventorytriggerjob"):
            self.jobs += response.content.count(b"<JobId>")
        return response


class ShortPages(Wrapper):
    """Wraps a transport; a list request asks for at most ``most`` jobs, whatever its ``size``.

    A service whose pages hold fewer jobs than asked (a lower cap, or ``size``
    ignored). The request's signature no longer matches: use an emulator that
    does not verify signatures.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, most: int) -> None:
        super().__init__(inner)
        self.most = most

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/inventorytriggerjob"):
            size = min(int(request.url.params.get("size", "10")), self.most)
            request.url = request.url.copy_set_param("size", str(size))
        return await super().handle_async_request(request)


async def rounds_of(
    emulator: Emulator,
    *,
    most: int | None = None,
    shuffle: int | None = None,
    answered: list[str] | None = None,
    **options: Any,
) -> tuple[int, list[str]]:
    """The rounds of requests a listing takes (see :class:`Rounds`), and its ids.

    ``most``: the service's pages hold at most that many jobs (:class:`ShortPages`).
    ``shuffle``: the seed of the order a round's answers arrive in (``None``: sorted).
    ``answered``: receives the requests (without their tokens) in the order answered.
    """
    inner = emulator.transport()
    transport = Rounds(inner if most is None else ShortPages(inner, most), shuffle)
    async with (
        emulator.session(transport=transport, retry=FAST_EMULATOR) as session,
        anyio.create_task_group() as group,
    ):
        group.start_soon(transport.drive)
        got = await ids(session, **options)
        group.cancel_scope.cancel()
    if answered is not None:
        answered.extend(transport.answered)
    return transport.rounds, got


# The orders a round's answers arrive in (see Rounds): sorted, and two shuffles. In
# each of 3 and 65, an earlier version took more rounds than a test below allows (on
# skewed data, on short pages): its buffer and look-ahead counted pages, and a sparse
# stretch's pages, a few jobs each, filled them.
ORDERS = [None, 3, 65]

_Test = TypeVar("_Test", bound=Callable[..., Awaitable[None]])


def counts_rounds(test: _Test) -> _Test:
    """Run ``test`` in each of :data:`ORDERS` (a ``shuffle`` argument), under trio.

    A listing takes the same rounds under asyncio
    (:func:`test_the_rounds_are_the_same_on_both_loops`), where
    ``wait_all_tasks_blocked`` polls every 0.1 s: the round tests would take minutes.
    """
    marked = pytest.mark.parametrize("anyio_backend", ["trio"])(test)
    return cast("_Test", pytest.mark.parametrize("shuffle", ORDERS)(marked))


@pytest.fixture(name="bounds", params=["inclusive", "exclusive"])
def fixture_bounds(request: pytest.FixtureRequest) -> str:
    """How the emulator treats startCreationTime/endCreationTime."""
    return str(request.param)


# --- same jobs, same order ----------------------------------------------------------------


@pytest.mark.parametrize("order", ["desc", "asc"])
@pytest.mark.parametrize("parallel", [2, 8])
async def test_parallel_lists_the_same_jobs_in_the_same_order(
    bounds: str, order: str, parallel: int
) -> None:
    """Skewed data (many jobs per second), both orders and bound semantics: identical ids."""
    emulator = skewed(bounds)
    async with connect(emulator) as session:
        expected = await ids(session, order=order)
        got = await ids(session, order=order, parallel=parallel)

    assert 3000 == len(expected)
    assert expected == got


async def test_without_a_page_size_a_parallel_listing_asks_for_pages_of_100() -> None:
    """``page_size`` left out: no ``size`` sequentially, 100 on every window's request in parallel.

    The sequential listing gets the service's pages of 10; both list the same
    jobs in the same order. Windows are sized in pages: pages of 10 would take
    ten times the requests (see docs/parallel.md). Only the probe asks for less.
    """
    emulator = skewed("inclusive", jobs=500)
    async with connect(emulator) as session:
        expected = [job.job_id async for job in session.list_jobs()]
        sequential = list(emulator.requests)
        emulator.requests.clear()
        got = [job.job_id async for job in session.list_jobs(parallel=4)]

    assert 500 == len(expected)
    assert expected == got
    assert 50 == len(sequential)
    assert all("size" not in request.params for request in sequential)
    sizes = [request.params.get("size") for request in emulator.requests]
    assert 1 == sizes.count("1")  # the probe
    assert len(sizes) - 1 == sizes.count("100") >= 5


@pytest.mark.parametrize(
    "filters",
    [
        {"states": ["Success", "Failed"]},
        {"type": "Job"},
        {"created_after": datetime(2024, 5, 20, 12, 0, 30, tzinfo=CST)},
        {"created_before": datetime(2024, 5, 20, 12, 0, 30, tzinfo=CST)},
        {
            "created_after": datetime(2024, 5, 10, tzinfo=CST),
            "created_before": datetime(2024, 5, 20, 12, 0, 10, tzinfo=CST),
            "states": "Success",
            "order": "asc",
        },
    ],
    ids=["states", "type", "after", "before", "all"],
)
async def test_every_filter_combines_with_parallel(bounds: str, filters: dict[str, Any]) -> None:
    """Filters (time bounds on busy seconds included) give what a sequential listing gives."""
    emulator = skewed(bounds)
    async with connect(emulator) as session:
        expected = await ids(session, **filters)
        got = await ids(session, parallel=6, **filters)

    assert expected  # the filters leave something to list
    assert expected == got


async def test_over_loopback_with_latency_under_both_loops(anyio_backend: str) -> None:
    """A real HTTP server with 5 ms per request: same ids, more than one request at a time."""
    emulator = skewed("inclusive", jobs=2000, latency=0.005)
    with emulator.serve() as server:
        async with connect(emulator, server) as session:
            expected = await ids(session)
            before = server.stats.connections_opened
            got = await ids(session, parallel=8)
            opened = server.stats.connections_opened - before

    assert expected == got
    assert opened > 1  # the windows really went out side by side


async def test_an_empty_listing_and_a_one_page_listing() -> None:
    """Nothing to list, or all of it on the first page: no window is needed."""
    emulator = Emulator(seed=2)
    async with connect(emulator) as session:
        assert [] == await ids(session, parallel=4)
        emulator.generate(30, seed=2)
        expected = await ids(session)
        got = await ids(session, parallel=4)

    assert expected == got


async def test_uniform_spread_over_months() -> None:
    """The default spread (months of sparse jobs, a few recent ones): identical ids."""
    emulator = Emulator(seed=9)
    emulator.generate(2500, seed=9)
    async with connect(emulator) as session:
        assert await ids(session) == await ids(session, parallel=8)


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_seconds_holding_more_than_a_page_end_exactly(bounds: str, order: str) -> None:
    """~360 jobs a second in a 5-second burst (over 3 pages each): the listing ends, exact.

    A chain can stand on its window's own edge (a second beyond it filled its
    first page); splitting it there must not leave an empty window while a new
    one lists the same range again from the start, for ever.
    """
    burst = (datetime(2024, 5, 20, 12, tzinfo=CST), datetime(2024, 5, 20, 12, 0, 4, tzinfo=CST))
    emulator = Emulator(seed=5, time_bounds=bounds)
    emulator.generate(2000, seed=5, between=MONTH, hotspot=burst)
    async with connect(emulator) as session:
        expected = await ids(session, order=order)
        with anyio.fail_after(30):
            got = await ids(session, order=order, parallel=8)

    assert 2000 == len(expected)
    assert expected == got


def followed(*pages: list[int | None], most: int = 10) -> tuple[int, list[str]] | None:
    """The second the bound check would ask about after a chain's ``pages`` (job seconds)."""
    check, window, made = BoundCheck(), Window(None, None), 0
    for seconds in pages:
        jobs = []
        for second in seconds:
            when = None if second is None else datetime.fromtimestamp(second, timezone.utc)
            job = Job(job_id=f"j{made}", type=JobType.JOB, state="Success", creation_time=when)
            jobs.append(job)
            made += 1
        check.follow(window, jobs, seconds, most)
        if check.second is not None:
            return check.second[0], sorted(check.second[1])
    return None


def test_the_bound_check_asks_about_a_second_received_whole() -> None:
    """A second between two known seconds of one chain, 2 to ``most`` jobs, across pages too."""
    assert (7, ["j2", "j3"]) == followed([8, 8, 7, 7, 6])
    assert (7, ["j1", "j2", "j3"]) == followed([8, 7], [7, 7], [5])
    assert (6, ["j2", "j3"]) == followed([8, 7, 6, 6], [5])  # 7 has one job: not enough
    assert (5, ["j3", "j4"]) == followed([7, 7, 6], [5, 5, 4], most=2)  # ... nor 7 after nothing
    assert None is followed([9, 8, 8], [8, 8, 8, 7], most=4)  # 8: more than most
    assert None is followed([9, 8, 8, None, 7, 7, 6])  # 8 before, 7 after an unknown time
    assert None is followed([8, 8], [8, 8])  # the chain has not passed a second yet


@pytest.mark.parametrize(
    ("ascending", "lo", "hi", "position"), [(False, 99, 100, 100), (True, 100, 101, 99)]
)
def test_a_window_of_one_second_is_not_split_where_its_chain_overshot(
    ascending: bool, lo: int, hi: int, position: int
) -> None:
    """A chain standing a second beyond its one-second window (it asks for one more): no split.

    Halving "the seconds left", counted from where the chain stands, would cut
    at the window's own edge: an empty window for the chain, and a new one
    listing the same second again from the start.
    """

    async def fetch(query: PageQuery, deadline_at: float | None) -> Any:
        raise AssertionError

    pages = _parallel.ParallelPages(
        fetch,
        background=set(),
        parallel=8,
        page_size=100,
        ascending=ascending,
        after=None,
        before=None,
        limit=None,
        deadline_at=None,
        start=None,
        filters="",
    )
    window = Window(lo, hi, token="next", started=True, position=position)
    pages._windows.append(window)

    assert pages._split() is None
    assert (lo, hi) == (window.lo, window.hi)


def test_the_rounds_are_the_same_on_both_loops() -> None:
    """The rounds of a listing, and the order of its requests, do not depend on the event loop."""

    def listing(backend: str) -> tuple[int, list[str], list[str]]:
        emulator = Emulator(clock=lambda: 1.7e9, seed=5)
        emulator.generate(800, seed=5)
        answered: list[str] = []
        run = functools.partial(rounds_of, emulator, shuffle=3, answered=answered, parallel=8)
        rounds, got = anyio.run(run, backend=backend)
        return rounds, got, answered

    rounds, got, answered = listing("trio")

    assert 800 == len(got)
    assert len(answered) > rounds > 1  # several requests a round
    assert (rounds, got, answered) == listing("asyncio")


@counts_rounds
async def test_skewed_data_takes_a_fraction_of_the_round_trips(
    bounds: str, shuffle: int | None
) -> None:
    """90% of the jobs in one minute: parallel=8 takes about a third of the sequential rounds.

    When the pages buffered after the window in front fill the look-ahead, that
    window (the one the caller waits for) is still split, so its pages do not
    come one round trip at a time; and the sparse month's pages, needed last,
    take little of the buffer: it counts jobs, not pages.

    13 rounds with exclusive bounds; 15 to 16 with inclusive ones. A
    window listed newest first asks for the second after its own, which comes
    first on its chain: with inclusive bounds, about 75 jobs here, most of a
    page, fetched for nothing. (That an end bound takes in the whole second
    it names cannot be shown; see ``test_parallel_outside``.)
    """
    emulator = skewed(bounds, jobs=5000)
    sequential, expected = await rounds_of(emulator)
    parallel, got = await rounds_of(emulator, shuffle=shuffle, parallel=8)

    assert expected == got
    assert 50 == sequential
    assert parallel <= {"exclusive": 13, "inclusive": 17}[bounds]


@counts_rounds
@pytest.mark.parametrize("seed", [0, 9])
async def test_evenly_spread_data_takes_a_fraction_of_the_round_trips(
    seed: int, shuffle: int | None
) -> None:
    """5,000 jobs spread over months: parallel=8 takes under a third of the sequential rounds."""
    emulator = Emulator(clock=lambda: 1.7e9, seed=seed)
    emulator.generate(5000, seed=seed)
    sequential, expected = await rounds_of(emulator)
    parallel, got = await rounds_of(emulator, shuffle=shuffle, parallel=8)

    assert expected == got
    assert 50 == sequential
    assert parallel <= sequential / 3


@counts_rounds
async def test_pages_shorter_than_asked_do_not_cost_more_requests(
    bounds: str, shuffle: int | None
) -> None:
    """A service whose pages hold fewer jobs than asked: windows sized for its pages.

    What a page holds is learnt from a page with more to come, not taken from
    the ``size`` asked for: windows sized for 100 jobs on pages of 10 cost
    twice the sequential listing's requests, and more rounds. The buffer and
    the look-ahead are counted in such pages' worth of jobs.
    """
    most = 20
    emulator = Emulator(clock=lambda: 1.7e9, seed=3, time_bounds=bounds, verify_signatures=False)
    emulator.generate(1000, seed=3)
    sequential, expected = await rounds_of(emulator, most=most)
    requests = len(emulator.requests)
    emulator.requests.clear()
    parallel, got = await rounds_of(emulator, most=most, shuffle=shuffle, parallel=8)

    assert expected == got
    assert 1000 / most == sequential == requests
    assert parallel <= sequential / 4
    assert len(emulator.requests) <= 1.6 * requests


@counts_rounds
async def test_pages_far_ahead_are_given_back_when_the_front_needs_room(
    bounds: str, shuffle: int | None
) -> None:
    """Skewed data on pages of 10: the front of the listing is not starved by pages far ahead.

    The sparse month is carved and fetched in the first rounds, and its pages
    are needed only at the end. With 90% of the jobs in a minute (~45 a
    second, over four pages a second), those pages would fill the buffer and
    leave one request a round for the window the caller waits for. Pages
    beyond the look-ahead are given back (fetched again when their turn
    comes), so the windows in front get the slots.

    With inclusive bounds, each window newest first also fetches the second
    after its own first, over four pages here (see
    :func:`test_windows_fetch_little_beyond_their_seconds_whatever_the_bounds`):
    128 to 152 rounds and 578 to 610 requests, against 81 to 98 rounds and
    370 to 381 requests with exclusive bounds.
    """
    emulator = skewed(bounds, jobs=3000, verify_signatures=False)
    sequential, expected = await rounds_of(emulator, most=10)
    emulator.requests.clear()
    parallel, got = await rounds_of(emulator, most=10, shuffle=shuffle, parallel=8)

    assert expected == got
    assert 300 == sequential
    most_rounds, most_requests = {"exclusive": (0.5, 1.6), "inclusive": (0.55, 2.1)}[bounds]
    assert parallel <= most_rounds * sequential
    assert len(emulator.requests) <= most_requests * sequential


async def test_windows_fetch_little_beyond_their_seconds_whatever_the_bounds(
    bounds: str,
) -> None:
    """Skewed data (~75 jobs a second): what is fetched beyond the windows' own seconds.

    Each window asks for a second beyond each edge until the bound check
    shows that a start bound takes in the whole second it names; later
    windows then start at their own first second. With exclusive bounds the
    extra seconds bring nothing: at most a third more jobs fetched than
    listed. With inclusive ones, the second after a window's own still comes
    first on its chain, newest first, and is fetched whole: 1.54 to 1.63
    times as many jobs as listed. (That an end bound takes in the whole
    second it names cannot be shown: see ``test_parallel_outside``.)
    """
    emulator = skewed(bounds, jobs=5000)
    counter = JobsFetched(emulator.transport())
    async with emulator.session(transport=counter, retry=FAST_EMULATOR) as session:
        got = await ids(session, parallel=8)

    assert 5000 == len(got) == len(set(got))
    assert counter.jobs <= {"exclusive": 1.35, "inclusive": 1.7}[bounds] * len(got)


@counts_rounds
@pytest.mark.parametrize("seed", [0, 3])
async def test_splits_stay_where_they_save_requests(seed: int, shuffle: int | None) -> None:
    """5,000 jobs spread over months: few requests beyond the sequential listing's 50.

    Each request brings a whole page whatever its window's edge: a window is
    split only with three pages' worth of seconds left, and where its chain's
    page should end, so little is fetched beyond an edge only to be dropped.
    (How many splits a listing makes depends on the order its answers arrive
    in: in rounds, in a fixed order, the count is the same on every run.)
    """
    emulator = Emulator(clock=lambda: 1.7e9, seed=seed, record_requests=True)
    emulator.generate(5000, seed=seed)
    _, expected = await rounds_of(emulator)
    sequential = len(emulator.requests)
    emulator.requests.clear()
    _, got = await rounds_of(emulator, shuffle=shuffle, parallel=8)
    requests = len(emulator.requests)

    assert expected == got
    assert 50 == sequential
    assert requests <= 1.7 * sequential


# --- bounded resources -----------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [2, 5])
async def test_at_most_parallel_requests_in_flight(parallel: int) -> None:
    """Never more than ``parallel`` requests at once (the range probe included)."""
    emulator = skewed("inclusive", jobs=2000, latency=0.002)
    counter = InFlight(emulator.transport())
    async with emulator.session(transport=counter, retry=FAST_EMULATOR) as session:
        got = await ids(session, parallel=parallel)

    assert 2000 == len(got)
    assert 2 <= counter.most <= parallel


async def test_pages_fetched_ahead_of_the_consumer_are_bounded() -> None:
    """At every step, the pages fetched but not yet handed out stay within the stated bound."""
    emulator = skewed("inclusive", jobs=3000)
    parallel = 3
    ahead: list[int] = []
    async with (
        connect(emulator) as session,
        session.list_jobs(page_size=50, parallel=parallel) as listing,
    ):
        async for _ in listing.pages():
            await anyio.wait_all_tasks_blocked()  # every request started has finished
            source = listing._source
            assert isinstance(source, _parallel.ParallelPages)
            ahead.append(source._buffered())  # (pages given back are no longer held)

    # The listing does run ahead of its consumer, within 4 x parallel pages' worth of
    # jobs (+ a page in flight for each slot).
    assert max(ahead) > parallel * 50
    assert max(ahead) <= (4 * parallel + parallel) * 50


async def test_limit_stops_the_listing_without_running_ahead() -> None:
    """limit=250: exactly the first 250 jobs; requests stay close to what 250 jobs need."""
    emulator = skewed("inclusive")
    async with connect(emulator) as session:
        expected = (await ids(session))[:250]
        emulator.requests.clear()
        got = await ids(session, parallel=4, limit=250)
        requests = len(emulator.requests)

    assert expected == got
    assert requests <= 3 + 4 * 4 + 4  # pages needed + the look-ahead + in flight


# --- resuming ------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_a_token_taken_halfway_resumes_exactly(bounds: str, order: str) -> None:
    """Stop after some pages, resume from the page's next_token: no job lost or repeated."""
    emulator = skewed(bounds)
    async with connect(emulator) as session:
        expected = await ids(session, order=order)
        seen: list[str] = []
        token = None
        async with session.list_jobs(page_size=100, order=order, parallel=6) as listing:
            async for page in listing.pages():
                seen += [job.job_id for job in page]
                token = page.next_token
                if len(seen) >= 1200:
                    break
        assert token is not None
        assert token.startswith(TOKEN_PREFIX)
        rest = await ids(session, order=order, next_token=token)

    assert expected == seen + rest


async def test_a_token_taken_mid_page_repeats_at_most_that_page() -> None:
    """next_token mid-page resumes from that page's start (at least once, as sequentially)."""
    emulator = skewed("exclusive")
    async with connect(emulator) as session:
        expected = await ids(session)
        iterator = session.list_jobs(page_size=100, parallel=4)
        seen = [(await anext(iterator)).job_id for _ in range(750)]
        token = iterator.next_token
        await iterator.aclose()
        assert token is not None
        rest = await ids(session, next_token=token, parallel=4)

    overlap = len(seen) + len(rest) - len(expected)
    assert expected[: len(seen)] == seen
    assert expected == seen[: len(seen) - overlap] + rest
    assert 0 <= overlap <= 100


async def test_a_plain_service_token_resumes_in_parallel_and_sequentially() -> None:
    """The token of a sequential page resumes a parallel listing; a parallel head's token too."""
    emulator = skewed("inclusive")
    async with connect(emulator) as session:
        expected = await ids(session)
        first = await anext(session.list_jobs(page_size=100).pages())
        assert first.next_token is not None
        assert not first.next_token.startswith(TOKEN_PREFIX)
        rest = await ids(session, next_token=first.next_token, parallel=5)

    assert expected == [job.job_id for job in first] + rest


def test_a_composite_token_is_versioned_json() -> None:
    """The token says what it holds: the windows left and how the listing runs."""
    snapshot = Snapshot(
        (
            (None, 1, True, None, None, None),
            (1, 5, False, "t/1+é", 0, 5),
            (5, None, False, None, None, None),
        ),
        True,
        4,
        "0123456789ab",
    )
    token = encode_token(snapshot)

    assert token is not None
    assert token.startswith("ci_async.parallel.v1.")
    assert snapshot == decode_token(token)


async def test_a_damaged_or_foreign_token_is_refused_at_once() -> None:
    """A damaged composite token, or one of a listing with other filters: ValueError, no request."""
    emulator = skewed("inclusive", jobs=500)
    async with connect(emulator) as session:
        async with session.list_jobs(page_size=100, parallel=4) as listing:
            pages = listing.pages()
            await anext(pages)
            page = await anext(pages)
        token = page.next_token
        assert token is not None
        emulator.requests.clear()
        with pytest.raises(ValueError, match="damaged"):
            session.list_jobs(next_token=TOKEN_PREFIX + "!!!")
        with pytest.raises(ValueError, match="other filters"):
            session.list_jobs(next_token=token, states="Failed")
        with pytest.raises(ValueError, match="other filters or another order"):
            session.list_jobs(next_token=token, order="asc")

    assert [] == emulator.requests


# --- failures -----------------------------------------------------------------------------------


async def test_random_faults_are_retried_and_each_retry_resends_its_token() -> None:
    """10% 5xx/429/dropped answers: same ids; every retried request repeats its token."""
    emulator = skewed("exclusive", jobs=2000)
    async with connect(emulator) as session:
        expected = await ids(session)
        emulator.requests.clear()
        emulator.faults.random(0.1, seed=4)
        got = await ids(session, parallel=6)

    assert expected == got
    faulted = [r for r in emulator.requests if r.fault is not None]
    assert faulted
    following = {id(r): i for i, r in enumerate(emulator.requests)}
    for request in faulted:
        same = [
            r
            for r in emulator.requests[following[id(request)] + 1 :]
            if r.query == request.query and r.fault is None
        ]
        assert same, f"no retry of {request.query}"


async def test_a_throttled_window_pauses_every_window() -> None:
    """One 429 with Retry-After 0.4 s: no other request starts during that pause."""
    emulator = skewed("inclusive", jobs=2000, latency=0.01, clock=time.time)  # real time stamps
    with emulator.serve() as server:
        retry = RetryPolicy(backoff=0.001, max_backoff=0.002, max_retry_after=5)
        async with connect(emulator, server, retry=retry) as session:
            emulator.faults.throttle_next(
                1, retry_after=0.4, when=lambda r: "endCreationTime" in r.params
            )
            got = 0
            async for _ in session.list_jobs(page_size=100, parallel=6):
                got += 1
    throttled = next(r for r in emulator.requests if r.fault is not None)
    during = [r for r in emulator.requests if throttled.time < r.time < throttled.time + 0.35]
    after = [r for r in emulator.requests if r.time >= throttled.time + 0.35]

    assert 2000 == got
    # Only the requests already on their way when the 429 came back arrive during the
    # pause (at most the other five slots); everything else waits for its end.
    assert len(during) <= 5
    assert after


async def test_a_failure_in_a_later_window_is_raised_typed() -> None:
    """A 403 on some window's request ends the listing with AuthError, not a partial silence."""
    emulator = skewed("inclusive", jobs=2000)
    emulator.faults.fail_next(
        1, status=403, code="AccessDenied", when=lambda r: "endCreationTime" in r.params
    )
    async with connect(emulator, retry=None) as session:
        with pytest.raises(ServiceError) as caught:
            await ids(session, parallel=4)

    assert (403, "AccessDenied") == (caught.value.status_code, caught.value.code)


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_a_listing_that_failed_resumes_from_its_next_token_losing_nothing(
    order: str,
) -> None:
    """The ``next_token`` read after a failure resumes with every job not handed out.

    The third request sending an ``endCreationTime`` fails (no retries): the
    listing raises once the pages before it are handed out. Its composite token
    then resumes the rest, from at most one page before where it stopped.
    """
    emulator = skewed("inclusive", jobs=3000)
    windowed = itertools.count()
    emulator.faults.fail_next(
        1,
        status=500,
        when=lambda r: "endCreationTime" in r.params and next(windowed) == 2,
    )
    async with connect(emulator, retry=None) as session:
        expected = await ids(session, order=order)
        first: list[str] = []
        iterator = session.list_jobs(page_size=100, parallel=4, order=order)

        async def drain() -> None:
            async for job in iterator:
                first.append(job.job_id)

        with pytest.raises(ServiceError) as caught:
            await drain()
        token = iterator.next_token
        await iterator.aclose()
        rest = await ids(session, order=order, parallel=4, next_token=token)

    assert 500 == caught.value.status_code
    assert token is not None
    assert token.startswith(TOKEN_PREFIX)
    assert expected[: len(first)] == first
    start = len(expected) - len(rest)
    assert expected[start:] == rest
    assert 0 <= len(first) - start <= 100


async def test_the_deadline_bounds_the_whole_parallel_listing() -> None:
    """deadline=0.3 with 50 ms per request: TransportError before the listing could finish."""
    emulator = skewed("inclusive", jobs=3000)
    with emulator.serve() as server:
        emulator.latency = 0.05
        async with connect(emulator, server) as session:
            with anyio.fail_after(10), pytest.raises(TransportError, match="deadline"):
                await ids(session, parallel=2, deadline=0.3)


async def test_a_repeated_token_in_a_window_is_a_pagination_error() -> None:
    """A window whose chain repeats a token raises PaginationError instead of looping."""
    emulator = Emulator(seed=3)
    busy = datetime(2024, 5, 20, 12, tzinfo=CST)
    emulator.generate(100, seed=3, between=MONTH)
    emulator.generate(600, seed=4, between=(busy, busy))  # one second: one chain of 6 pages
    emulator.faults.repeat_token_next(
        1, when=lambda r: "endCreationTime" in r.params and "nextToken" in r.params
    )
    async with connect(emulator) as session:
        with anyio.fail_after(20), pytest.raises(PaginationError):
            await ids(session, parallel=4)


# --- lifetime -------------------------------------------------------------------------------------


async def test_aclose_cancels_every_request_in_flight(anyio_backend: str) -> None:
    """Break out after one page with requests hanging: aclose() leaves no connection open."""
    emulator = skewed("inclusive", jobs=3000)
    with emulator.serve() as server:
        async with connect(emulator, server) as session:
            emulator.faults.hang_next(20, when=lambda r: "endCreationTime" in r.params)
            with anyio.fail_after(10):
                async with session.list_jobs(page_size=100, parallel=6) as iterator:
                    async for _ in iterator:
                        # Wait (in the consumer, as a slow one would) for windows to hang.
                        while not [r for r in emulator.requests if r.fault == "hang"]:  # noqa: ASYNC110
                            await anyio.sleep(0.01)
                        break
            hung = len([r for r in emulator.requests if r.fault == "hang"])
            # Every hanging request's connection was closed by the client (the kept-alive
            # idle ones may stay open in the pool: the session is still open).
            with anyio.fail_after(10):
                while server.stats.connections_closed < hung:  # noqa: ASYNC110 - another thread
                    await anyio.sleep(0.01)
            assert hung > 0


async def test_dropping_a_parallel_listing_cancels_its_requests_and_starts_none() -> None:
    """`break`, then the iterator lost without aclose(): what is in flight is cancelled.

    As a sequential listing's prefetch is; nothing new starts afterwards.
    """
    emulator = skewed("inclusive", jobs=3000)
    counter = InFlight(emulator.transport())
    async with emulator.session(transport=counter, retry=FAST_EMULATOR) as session:
        emulator.faults.hang_next(1000, when=lambda r: "endCreationTime" in r.params)
        with anyio.fail_after(10):
            async for _ in session.list_jobs(page_size=100, parallel=6):
                while counter.now < 2:  # noqa: ASYNC110 - windows hanging, as in a slow consumer
                    await anyio.sleep(0.01)
                break
        gc.collect()
        started = counter.total
        with anyio.fail_after(10):
            while counter.now:  # noqa: ASYNC110 - the hanging requests end when cancelled
                await anyio.sleep(0.01)
        await anyio.wait_all_tasks_blocked()
        assert started == counter.total
        assert [] == [r for r in session._background if not r.done]


async def test_aclose_from_another_task_ends_a_consumer_waiting_in_a_parallel_listing() -> None:
    """The consumer waiting for a window's page sees the iteration end, not a hang."""
    emulator = skewed("inclusive", jobs=3000)
    counter = InFlight(emulator.transport())
    got: list[str] = []
    async with emulator.session(transport=counter, retry=FAST_EMULATOR) as session:
        emulator.faults.hang_next(1000, when=lambda r: "nextToken" in r.params)
        iterator = session.list_jobs(page_size=100, parallel=4)

        async def consume() -> None:
            async for job in iterator:
                got.append(job.job_id)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(consume)
                while len(got) < 100 or counter.now < 2:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                await anyio.wait_all_tasks_blocked()
                await iterator.aclose()
        assert 0 == counter.now
        next_token = iterator.next_token

    assert got
    assert next_token is not None  # not taken for the end of the listing
    assert not iterator.exhausted


async def test_windows_are_fetched_while_the_consumer_holds_the_first_page() -> None:
    """The far end arrives after the first page: the windows start then, not at the next pull."""
    emulator = skewed("inclusive", jobs=3000)
    emulator.faults.delay_next(1, seconds=0.2, when=lambda r: r.params.get("size") == "1")
    async with connect(emulator) as session:
        async with session.list_jobs(page_size=100, parallel=4) as iterator:
            first = await anext(iterator)
            # The consumer is busy with its first job: it asks for nothing more.
            with anyio.fail_after(5):
                while not [r for r in emulator.requests if "endCreationTime" in r.params]:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            windows = [r for r in emulator.requests if "endCreationTime" in r.params]
            rest = [job.job_id async for job in iterator]
        expected = await ids(session)
    assert len(windows) >= 1
    assert [first.job_id, *rest] == expected


async def test_a_page_the_listing_cannot_take_raises_to_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failure while taking a page in (in the request's task) reaches the caller.

    (It is not lost in the task, where the window would be fetched again and again.)
    """
    calls = 0

    def broken(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 2:
            msg = "cannot take this page"
            raise RuntimeError(msg)
        return drop_repeats(*args)

    monkeypatch.setattr(_parallel, "drop_repeats", broken)
    emulator = skewed("inclusive", jobs=1500)
    async with connect(emulator) as session:
        with anyio.fail_after(10), pytest.raises(RuntimeError, match="cannot take this page"):
            await ids(session, parallel=4)


async def test_a_failed_probe_raises_after_the_first_page() -> None:
    """The far-end probe fails (after its retries) once the first page is handed out: a typed error.

    The jobs of the head's page come first, then the probe's error, as a later
    page's error would come in a sequential listing (not a hang).
    """
    emulator = skewed("inclusive", jobs=1500)

    def probe(request: RecordedRequest) -> bool:
        return request.params.get("size") == "1"

    emulator.faults.latency(0.1, when=probe)  # the first page is handed out first
    emulator.faults.fail_next(100, status=500, when=probe)
    listed: list[str] = []

    async def collect(session: Session) -> None:
        async for job in session.list_jobs(page_size=100, parallel=4):
            listed.append(job.job_id)

    async with connect(emulator) as session:
        with anyio.fail_after(10), pytest.raises(ServiceError) as raised:
            await collect(session)
        emulator.faults.clear()
        expected = await ids(session)
    assert 500 == raised.value.status_code
    # The head's page, less the second it reached (that one is the windows'): in order.
    assert 0 < len(listed) <= 100
    assert expected[: len(listed)] == listed


async def test_jobs_created_during_a_descending_listing_are_not_listed() -> None:
    """Newest first: a job created after the listing started is not in it (as sequentially)."""
    emulator = skewed("inclusive", jobs=1500)
    async with connect(emulator) as session:
        expected = await ids(session)
        iterator = session.list_jobs(page_size=100, parallel=4)
        first = [(await anext(iterator)).job_id for _ in range(10)]
        emulator.advance(60)
        emulator.add_job(name="late")
        rest = [job.job_id async for job in iterator]

    assert expected == first + rest


@pytest.mark.parametrize("via", ["in-process", "loopback"])
async def test_jobs_created_during_an_ascending_listing_come_last_in_order(via: str) -> None:
    """Oldest first: the last window reaches up to "now", so the jobs created meanwhile come last.

    They are created as the first request for a window arrives (after the head's
    page and the probe), before any window's chain can have reached the end of
    the data: the listing lists them, once each and in the order they were
    created, after every job there was. (Created later, they are listed only
    if the last window's chain has not passed the end yet: the far end of a
    listing is often reached first.)
    """
    emulator = skewed("inclusive", jobs=3000)
    late: list[str] = []

    def create_late(request: RecordedRequest) -> bool:
        if not late and "startCreationTime" in request.params:
            emulator.advance(60)
            for _ in range(3):
                late.append(emulator.add_job(name="late").job_id)
                emulator.advance(1)
        return False  # a hook on each request's arrival, not a fault

    with contextlib.ExitStack() as stack:
        server = stack.enter_context(emulator.serve()) if via == "loopback" else None
        async with connect(emulator, server) as session:
            expected = await ids(session, order="asc")
            emulator.faults.fail_next(1, when=create_late)
            got = await ids(session, parallel=4, order="asc")

    assert 3 == len(late)
    assert expected + late == got


async def test_parallel_must_be_a_small_positive_int() -> None:
    """Parallel is 1 (sequential) to 64; anything else is refused at the call."""
    emulator = Emulator()
    emulator.generate(20)
    async with emulator.session() as session:
        for value, error in [(0, ValueError), (65, ValueError), (2.0, TypeError), ("4", TypeError)]:
            with pytest.raises(error):
                session.list_jobs(parallel=value)  # type: ignore[arg-type]
        assert 20 == len(await ids(session, parallel=1))


@pytest.fixture(autouse=True)
def _no_unraisable(recwarn: pytest.WarningsRecorder) -> Iterator[None]:
    """Nothing is left running or unclosed (pytest turns warnings into errors)."""
    yield
    assert [] == [str(w.message) for w in recwarn if issubclass(w.category, ResourceWarning)]
