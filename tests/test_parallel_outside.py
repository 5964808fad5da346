"""Parallel listing against a list service written apart from ``ci_async.testing``.

The emulator and the parallel listing were built side by side: a misreading of
the API shared by both would pass every test that pairs them. The service here
is written from the API reference alone, and differs from the emulator where
the reference leaves room:

* its ``NextToken`` is the offset of the next page (``<NextToken>25</NextToken>``,
  as on the API page), and the last page carries an empty ``<NextToken/>``;
* it keeps creation times to the millisecond (or to the second) and compares
  ``startCreationTime``/``endCreationTime`` with them at that precision,
  inclusive or exclusive, while it prints them to the second, in UTC;
* it orders jobs created in the same millisecond by a hash of their ids.

A parallel listing must hand out exactly what the sequential listing of the
same service hands out, in the same order, whatever of these it meets.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import attrs
import httpx
import pytest

from ci_async import Credentials, RetryPolicy, Session

pytestmark = pytest.mark.anyio

BUCKET = "examplebucket-1250000000"
REGION = "ap-beijing"
CREDENTIALS = Credentials("AKIDoutsideTheProject", "outside-secret-key")
FAST = RetryPolicy(backoff=0.001, max_backoff=0.002)
WIRE_TIME = "%Y-%m-%dT%H:%M:%S%z"
STATES = ("Success", "Failed", "Running")
START = datetime(2025, 3, 1, tzinfo=timezone.utc)
BEIJING = timezone(timedelta(hours=8))


@attrs.define
class ListService:
    """``GET /inventorytriggerjob``, from the API reference: see the module docstring.

    Attributes:
        created: Each job's creation time, in milliseconds since the epoch.
        bounds: ``"inclusive"`` or ``"exclusive"``: how both time bounds compare.
        precision: ``"millisecond"`` or ``"second"``: the creation times the
            bounds are compared with (the bounds themselves name a second).
        latency: Seconds each answer takes.
        refuse_one_second: Answer ``400 InvalidArgument`` when both bounds name
            the same second.
        read_offsets: Read the UTC offset a bound is written with; ``False``:
            take every bound as Beijing time (``+0800``, the offset of every
            example on the API page), whatever it says.
        ignore: The time bounds it leaves out of its answers (by parameter name),
            as a service that does not know them would.
        most_requests: Fail the test (from the request beyond them) after this
            many requests in all.
        timeless: The jobs (by index) whose creation time it prints as ``-``
            while it compares the bounds with it.
        queries: Every request's query parameters, in the order they arrived.
        served: The jobs its answers held, in all.
        most_in_flight: The most requests it was answering at once.
    """

    created: list[int]
    bounds: str = "inclusive"
    precision: str = "millisecond"
    latency: float = 0.0
    refuse_one_second: bool = False
    read_offsets: bool = True
    ignore: tuple[str, ...] = ()
    most_requests: int | None = None
    timeless: frozenset[int] = frozenset()
    queries: list[dict[str, str]] = attrs.Factory(list)
    served: int = 0
    most_in_flight: int = 0
    _in_flight: int = 0

    def job_id(self, index: int) -> str:
        """The id of the job at ``index`` in :attr:`created`."""
        return f"j{index:05d}outside"

    def expected(self, *, ascending: bool = False, states: tuple[str, ...] = ()) -> list[str]:
        """Every job id the service lists, in its order."""
        return [self.job_id(index) for index in self._selected({}, ascending, states)]

    def _selected(
        self, query: Mapping[str, str], ascending: bool, states: tuple[str, ...]
    ) -> list[int]:
        def stamp(index: int) -> int:
            milliseconds = self.created[index]
            return milliseconds if self.precision == "millisecond" else milliseconds // 1000 * 1000

        def bound(name: str) -> int | None:
            text = query.get(name)
            if text is None or name in self.ignore:
                return None
            when = datetime.strptime(text, WIRE_TIME)
            if not self.read_offsets:
                when = when.replace(tzinfo=BEIJING)
            return int(when.timestamp()) * 1000

        start, end = bound("startCreationTime"), bound("endCreationTime")
        inclusive = self.bounds == "inclusive"
        chosen = []
        for index in range(len(self.created)):
            if states and STATES[index % 3] not in states:
                continue
            at = stamp(index)
            if start is not None and (at < start if inclusive else at <= start):
                continue
            if end is not None and (at > end if inclusive else at >= end):
                continue
            chosen.append(index)
        chosen.sort(
            key=lambda index: (self.created[index], hashlib.sha256(b"%d" % index).digest()),
            reverse=not ascending,
        )
        return chosen

    async def answer(self, query: Mapping[str, str]) -> tuple[int, bytes]:
        """The status and XML body of a list request with ``query``."""
        self.queries.append(dict(query))
        if self.most_requests is not None and len(self.queries) > self.most_requests:
            raise AssertionError(f"more than {self.most_requests} requests")
        self._in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self._in_flight)
        try:
            if self.latency:
                await anyio.sleep(self.latency)
            return self._answer(query)
        finally:
            self._in_flight -= 1

    def _answer(self, query: Mapping[str, str]) -> tuple[int, bytes]:
        size = int(query.get("size", "10"))
        order = query.get("orderByTime", "Desc")
        same = query.get("startCreationTime") == query.get("endCreationTime") is not None
        if (
            not 1 <= size <= 100
            or order not in ("Desc", "Asc")
            or (self.refuse_one_second and same)
        ):
            error = "<Error><Code>InvalidArgument</Code><Message>bad</Message></Error>"
            return 400, error.encode()
        states = tuple(query["states"].split(",")) if "states" in query else ()
        chosen = self._selected(query, order == "Asc", states)
        offset = int(query.get("nextToken", "0"))
        parts = ["<Response><RequestId>outside</RequestId>"]
        page = chosen[offset : offset + size]
        self.served += len(page)
        for index in page:
            second = datetime.fromtimestamp(self.created[index] // 1000, timezone.utc)
            printed = "-" if index in self.timeless else second.strftime(WIRE_TIME)
            parts.append(
                f"<JobsDetail><Code>Success</Code><Message/><Type>Job</Type>"
                f"<Name>outside-{index}</Name><JobId>{self.job_id(index)}</JobId>"
                f"<State>{STATES[index % 3]}</State>"
                f"<CreationTime>{printed}</CreationTime>"
                "<StartTime>-</StartTime><EndTime>-</EndTime></JobsDetail>"
            )
        following = offset + size
        parts.append(
            f"<NextToken>{following}</NextToken>" if following < len(chosen) else "<NextToken/>"
        )
        parts.append("</Response>")
        return 200, "".join(parts).encode()

    def transport(self) -> httpx.AsyncBaseTransport:
        """The service in process."""

        async def handle(request: httpx.Request) -> httpx.Response:
            assert request.url.path == "/inventorytriggerjob"
            assert request.headers["Authorization"].startswith("q-sign-algorithm=sha1&")
            status, body = await self.answer(dict(request.url.params))
            return httpx.Response(status, content=body, headers={"Content-Type": "application/xml"})

        return httpx.MockTransport(handle)


def milliseconds(when: datetime) -> int:
    """``when`` in milliseconds since the epoch."""
    return int(when.timestamp()) * 1000 + when.microsecond // 1000


def dense_and_sparse(seed: int) -> list[int]:
    """2,000 jobs: 1,200 in five minutes, four a second (on the quarter seconds), 800 over a week.

    Every fourth job of the dense stretch is created on a whole second (``.000``),
    where a bound naming that second meets it exactly; the sparse jobs fall on
    random milliseconds, a few on the same second.
    """
    rng = random.Random(seed)
    dense = [milliseconds(START + timedelta(days=3)) + 250 * step for step in range(1200)]
    week = 7 * 24 * 3600 * 1000
    sparse = [milliseconds(START) + rng.randrange(week) for _ in range(800)]
    created = dense + sparse
    rng.shuffle(created)
    return created


def session(transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> Session:
    """A session to the service, with fast retries."""
    return Session(
        BUCKET, REGION, credentials=CREDENTIALS, retry=FAST, transport=transport, **options
    )


async def listed(client: Session, **options: Any) -> list[str]:
    """Every job id of a listing, in order."""
    return [job.job_id async for job in client.list_jobs(**options)]


@pytest.mark.parametrize("precision", ["millisecond", "second"])
@pytest.mark.parametrize("bounds", ["inclusive", "exclusive"])
@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_the_same_jobs_in_the_same_order_as_sequentially(
    precision: str, bounds: str, order: str
) -> None:
    """Every job once, in the service's order, whatever its bounds' precision and semantics."""
    service = ListService(dense_and_sparse(seed=5), bounds=bounds, precision=precision)
    async with session(service.transport()) as client:
        sequential = await listed(client, order=order, page_size=10)
        parallel = await listed(client, order=order, page_size=10, parallel=8)

    assert service.expected(ascending=order == "asc") == sequential
    assert sequential == parallel


def scheduled_and_random(seed: int) -> list[int]:
    """An hour: 3 jobs at exactly every whole minute (``.000``), single jobs between.

    The single jobs fall on random milliseconds other than ``.000``, each in a
    second of its own: every second holding more than one job is a minute's,
    whose jobs a bound naming that second meets exactly.
    """
    rng = random.Random(seed)
    begin = milliseconds(START)
    seconds = [second for second in rng.sample(range(1, 3600), 1800) if second % 60]
    created = [begin + second * 1000 + rng.randrange(1, 1000) for second in seconds]
    created += [begin + minute * 1000 for minute in range(0, 3600, 60) for _ in range(3)]
    rng.shuffle(created)
    return created


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_jobs_created_on_whole_seconds_are_no_proof_of_the_end_bound(order: str) -> None:
    """A second whose jobs were all created at ``.000`` says nothing of later ones.

    The bound check asks for such a second alone and gets every job of it
    back: from a service that compares the bounds with milliseconds, because
    they were all created at its very start. The start bound takes in the
    whole second it names either way; the end bound may take in only its
    ``.000``. A window that then asked for ``[lo, hi - 1]`` lost whatever was
    created later in its last second (13 of 1,955 jobs here, with 8 windows).
    """
    service = ListService(scheduled_and_random(seed=1), precision="millisecond")
    async with session(service.transport()) as client:
        sequential = await listed(client, order=order, page_size=20)
        parallel = await listed(client, order=order, page_size=20, parallel=8)

    assert service.expected(ascending=order == "asc") == sequential
    assert checked_seconds(service)  # (the check was made, and passed)
    assert sequential == parallel


@pytest.mark.parametrize("bounds", ["inclusive", "exclusive"])
@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_a_job_printed_with_no_creation_time_is_handed_out_once(
    bounds: str, order: str
) -> None:
    """A job whose ``CreationTime`` is ``-`` belongs to no window: it comes once.

    Every window that receives it (those whose extra second holds it) kept
    it: it came twice. Each job without a creation time is handed out the
    first time only; every other job comes in the sequential listing's order.
    """
    rng = random.Random(4)
    begin = milliseconds(START)
    created = [begin + rng.randrange(3600 * 1000) for _ in range(600)]
    timeless = frozenset(rng.sample(range(600), 40))
    service = ListService(created, bounds=bounds, timeless=timeless)
    async with session(service.transport()) as client:
        sequential = await listed(client, order=order, page_size=10)
        parallel = await listed(client, order=order, page_size=10, parallel=8)

    hidden = {service.job_id(index) for index in timeless}
    assert 600 == len(sequential) == len(set(sequential))
    assert sorted(sequential) == sorted(parallel)
    assert [job for job in sequential if job not in hidden] == [
        job for job in parallel if job not in hidden
    ]


@pytest.mark.parametrize("precision", ["millisecond", "second"])
async def test_filters_and_limit_combine(precision: str) -> None:
    """``states`` and ``limit`` with ``parallel``: the sequential listing's first jobs."""
    service = ListService(dense_and_sparse(seed=8), precision=precision)
    async with session(service.transport()) as client:
        states = ["Failed", "Running"]
        sequential = await listed(client, states=states, page_size=20)
        parallel = await listed(client, states=states, page_size=20, parallel=6, limit=900)

    assert service.expected(states=("Failed", "Running")) == sequential
    assert sequential[:900] == parallel


@pytest.mark.parametrize("precision", ["millisecond", "second"])
@pytest.mark.parametrize("bounds", ["inclusive", "exclusive"])
async def test_a_token_taken_halfway_resumes_exactly(bounds: str, precision: str) -> None:
    """A listing from the ``next_token`` of a page halfway through hands out the rest."""
    service = ListService(dense_and_sparse(seed=2), bounds=bounds, precision=precision)
    expected = service.expected()
    async with session(service.transport()) as client:
        first: list[str] = []
        token = None
        async with client.list_jobs(page_size=10, parallel=8) as jobs:
            async for page in jobs.pages():
                first += [job.job_id for job in page]
                token = page.next_token
                if len(first) >= len(expected) // 2:
                    break
        assert token is not None
        rest = await listed(client, page_size=10, parallel=8, next_token=token)

    assert expected == first + rest


@pytest.mark.parametrize("order", ["desc", "asc"])
@pytest.mark.parametrize("ignore", [(), ("startCreationTime", "endCreationTime")])
async def test_a_plain_token_taken_within_a_crowded_second_resumes_exactly(
    order: str, ignore: tuple[str, ...]
) -> None:
    """A sequential listing's token from within a second of 300 jobs resumes a parallel one.

    The resumed head's first pages hold only the rest of that second, whose
    start was handed out before the token. Cut there, the head would leave
    that second to the windows after it, which list it whole: the jobs of
    that second before the token came twice (151 and 159 of them here).
    """
    rng = random.Random(5)
    begin = milliseconds(START)
    created = [begin + rng.randrange(3600 * 1000) for _ in range(400)]
    crowded = begin + 1800 * 1000
    created += [crowded + rng.randrange(1000) for _ in range(300)]
    service = ListService(created, precision="second", ignore=ignore)
    expected = service.expected(ascending=order == "asc")
    start = next(i for i, job in enumerate(expected) if int(job[1:6]) >= 400)  # (crowded ids)
    async with session(service.transport()) as client:
        first: list[str] = []
        async with client.list_jobs(order=order, page_size=10) as jobs:
            async for page in jobs.pages():
                first += [job.job_id for job in page]
                token = page.next_token
                if len(first) >= start + 150:
                    break
        rest = await listed(client, order=order, page_size=10, parallel=4, next_token=token)

    assert all(int(job[1:6]) >= 400 for job in expected[len(first) - 10 : len(first) + 20])
    assert expected == first + rest


def checked_seconds(service: ListService) -> set[str]:
    """The seconds the listing asked about alone (both bounds naming the same second): the check."""
    return {
        query["startCreationTime"]
        for query in service.queries
        if query.get("startCreationTime") == query.get("endCreationTime") is not None
    }


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_windows_ask_for_their_own_first_second_once_whole_seconds_are_shown(
    order: str,
) -> None:
    """Bounds taking in whole seconds: once the check shows it, less is fetched beyond windows.

    2,000 jobs, eight a second, on pages of 10: a window spans a second or
    two, and a second more on each side brings 1.81 (newest first) and 1.87
    (oldest first) times as many jobs as listed, measured with the check
    refused. Once it has shown that a start bound takes in the whole second,
    a window asks for one second more at its end only: 1.69 and 1.25 times
    as many (newest first, that second comes first, so it is fetched whole).
    """
    start = milliseconds(START)
    service = ListService([start + 125 * step for step in range(2000)], precision="second")
    async with session(service.transport()) as client:
        parallel = await listed(client, order=order, page_size=10, parallel=8)

    assert service.expected(ascending=order == "asc") == parallel
    assert checked_seconds(service)
    assert service.served <= {"desc": 1.75, "asc": 1.3}[order] * len(parallel)


async def test_a_service_refusing_a_one_second_range_still_lists_everything() -> None:
    """However the listing checks the service's bounds, a refusal only costs that request."""
    service = ListService(dense_and_sparse(seed=3), precision="second", refuse_one_second=True)
    async with session(service.transport()) as client:
        parallel = await listed(client, page_size=10, parallel=8)

    assert service.expected() == parallel
    assert 1 == len(checked_seconds(service))


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_windows_write_their_bounds_as_the_api_page_does(order: str) -> None:
    """In Beijing time: exact even from a service that reads every bound as Beijing time."""
    service = ListService(dense_and_sparse(seed=4), read_offsets=False)
    async with session(service.transport()) as client:
        parallel = await listed(client, order=order, page_size=10, parallel=8)

    assert service.expected(ascending=order == "asc") == parallel
    windows = [query for query in service.queries if "startCreationTime" in query]
    assert windows
    assert all(query["startCreationTime"].endswith("+0800") for query in windows)


@pytest.mark.parametrize("bound", ["created_after", "created_before"])
@pytest.mark.parametrize("parallel", [None, 8])
async def test_the_callers_bounds_are_written_in_beijing_time_too(
    bound: str, parallel: int | None
) -> None:
    """A UTC ``created_after`` or ``created_before`` goes out as the same instant at ``+0800``.

    From a service that reads every bound as Beijing time, a bound written at
    ``+0000`` lands eight hours away: the sequential listing got other jobs
    than the parallel one, whose windows keep to the caller's instant.
    """
    service = ListService(dense_and_sparse(seed=9), precision="second", read_offsets=False)
    edge = sorted(service.created)[900] // 1000
    async with session(service.transport()) as client:
        got = await listed(
            client,
            page_size=10,
            parallel=parallel,
            **{bound: datetime.fromtimestamp(edge, timezone.utc)},
        )

    after = bound == "created_after"
    second = {service.job_id(index): at // 1000 for index, at in enumerate(service.created)}
    expected = [
        job for job in service.expected() if (second[job] >= edge if after else second[job] <= edge)
    ]
    assert 0 < len(expected) < len(service.created)
    assert expected == got
    named = "startCreationTime" if after else "endCreationTime"
    assert all(query[named].endswith("+0800") for query in service.queries if named in query)


@pytest.mark.parametrize(
    "ignore",
    [("startCreationTime", "endCreationTime"), ("startCreationTime",), ("endCreationTime",)],
)
@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_a_service_leaving_out_the_time_bounds_costs_little_more_than_one_listing(
    ignore: tuple[str, ...], order: str
) -> None:
    """Jobs outside a window's bounds show that the service does not apply them.

    The listing then goes on with the window in front and one chain for all
    that is left, sending only the caller's bounds: every job once, in order,
    for at most about twice the jobs a sequential listing fetches (here the
    service's first answer outside its bounds comes early: 1.04 to 1.08 times,
    measured). Without this, each window's chain crossed every page before its
    own: 32 to 62 times as many jobs fetched as listed.
    """
    service = ListService(dense_and_sparse(seed=6), ignore=ignore, latency=0.001)
    async with session(service.transport()) as client:
        sequential = await listed(client, order=order, page_size=10)
        service.served = service.most_in_flight = 0
        parallel = await listed(client, order=order, page_size=10, parallel=8)

    assert service.expected(ascending=order == "asc") == sequential
    assert sequential == parallel
    assert service.served <= 1.5 * len(parallel)
    assert 2 <= service.most_in_flight <= 8


@pytest.mark.parametrize("bound", ["created_after", "created_before"])
@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_a_service_leaving_out_the_callers_own_bound_costs_little_more_than_one_listing(
    bound: str, order: str
) -> None:
    """Jobs beyond a bound of the caller's show that the service does not apply it either.

    A window whose edge is beyond the caller's bound sends the caller's bound
    instead of its own. A service that leaves that bound out answers with the
    jobs beyond it, as it does to the sequential listing (which hands them
    out): the listing goes on as above. Before, such jobs were not taken for
    a sign, and the windows carved from them listed the same seconds over and
    over: in the two orders where the jobs beyond the bound come first, past
    three times the sequential listing's 180 requests (where this test stops
    it).
    """
    ignored = "startCreationTime" if bound == "created_after" else "endCreationTime"
    rng = random.Random(8)
    hour, day = 3600 * 1000, 24 * 3600 * 1000
    begin = milliseconds(START)
    created = [begin + rng.randrange(hour) for _ in range(1200)]
    # A second with 30 pages' worth on either side, a day beyond the caller's bounds.
    created += [begin - day + rng.randrange(1000) for _ in range(300)]
    created += [begin + hour + day + rng.randrange(1000) for _ in range(300)]
    service = ListService(created, ignore=(ignored,))
    edge = START if bound == "created_after" else START + timedelta(hours=1)
    options = {"order": order, "page_size": 10, bound: edge}
    async with session(service.transport()) as client:
        sequential = await listed(client, **options)
        service.most_requests = 3 * len(service.queries)  # (not thousands)
        service.served = 0
        parallel = await listed(client, parallel=8, **options)

    assert service.expected(ascending=order == "asc") == sequential  # the bound left out
    assert sequential == parallel
    assert service.served <= 1.5 * len(parallel)


def growing(service: ListService, *, at_request: int, added: list[str]) -> httpx.AsyncBaseTransport:
    """The service in process; with request ``at_request``, five jobs newer than all are created.

    Their ids go to ``added``, in the order they were created (a millisecond to
    a minute apart, so also in the order the service lists them oldest first).
    """
    inner = service.transport()

    class Growing(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if len(service.queries) + 1 == at_request:
                for gap in (1, 400, 1000, 1500, 60_000):
                    service.created.append(max(service.created) + gap)
                    added.append(service.job_id(len(service.created) - 1))
            return await inner.handle_async_request(request)

    return Growing()


@pytest.mark.parametrize("ignore", [(), ("startCreationTime", "endCreationTime")])
@pytest.mark.parametrize("bounds", ["inclusive", "exclusive"])
@pytest.mark.parametrize("parallel", [None, 8])
async def test_jobs_created_during_an_ascending_listing_come_last_in_order(
    parallel: int | None, bounds: str, ignore: tuple[str, ...]
) -> None:
    """Oldest first, a listing reaches up to "now": jobs created while it runs come last.

    They are created with the third request of about 200 (after the head's page and
    the probe), before any chain can have reached the end of the data: the
    sequential and the parallel listing each list them all, once, after every
    job there was.
    """
    service = ListService(dense_and_sparse(seed=9), bounds=bounds, ignore=ignore)
    before = service.expected(ascending=True)
    added: list[str] = []
    async with session(growing(service, at_request=3, added=added)) as client:
        got = await listed(client, order="asc", page_size=10, parallel=parallel)

    assert 5 == len(added)
    assert before + added == got


@contextlib.asynccontextmanager
async def on_loopback(service: ListService) -> AsyncIterator[str]:
    """The service on a loopback port, served by aiohttp (not the emulator's server)."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        assert request.headers["Authorization"].startswith("q-sign-algorithm=sha1&")
        status, body = await service.answer(dict(request.query))
        return web.Response(status=status, body=body, content_type="application/xml")

    app = web.Application()
    app.router.add_get("/inventorytriggerjob", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("ignore", [(), ("startCreationTime", "endCreationTime")])
async def test_over_loopback_with_latency(ignore: tuple[str, ...]) -> None:
    """Over real HTTP with 5 ms an answer: the same ids, with several requests in flight.

    Also from a service that leaves the time bounds out (see above).
    """
    service = ListService(
        dense_and_sparse(seed=11), bounds="exclusive", latency=0.005, ignore=ignore
    )
    async with (
        on_loopback(service) as url,
        session(endpoint=url, allow_insecure_http=True) as client,
    ):
        sequential = await listed(client, page_size=50)
        service.most_in_flight = service.served = 0
        parallel = await listed(client, page_size=50, parallel=4)

    assert service.expected() == sequential == parallel
    assert 2 <= service.most_in_flight <= 4
    assert service.served <= 1.5 * len(parallel)  # (1.07 and 1.18 times, measured)
