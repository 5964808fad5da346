"""The composite ``next_token`` of a parallel listing: only what the library writes is read.

A parallel listing's token holds its windows left (see
:mod:`ci_async._parallel_token`). A token the library could not have written
(edited, truncated, forged carelessly) would lose or repeat jobs if it were
followed: it is refused with a ``ValueError`` at the ``list_jobs(...)`` call,
before any request. Every token a listing does write is still accepted, and
a service's extreme creation times never break a parallel listing.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import random
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, cast

import httpx
import pytest

from ci_async import PaginationError, RetryPolicy, ServiceError, Session
from ci_async._parallel_token import (
    MAX_COMPOSITE_LENGTH,
    MAX_SECOND,
    MAX_TOKEN_LENGTH,
    MAX_WINDOWS,
    MIN_SECOND,
    TOKEN_PREFIX,
    Snapshot,
    check_token,
    decode_token,
    filters_fingerprint,
    when,
)
from ci_async._query import ListFilters
from ci_async._wire import BEIJING, format_time, parse_time
from ci_async.testing import Emulator

from ._session_support import Recorder, connect, session_for, xml
from .test_parallel_outside import BUCKET, CREDENTIALS, REGION, ListService
from .test_parallel_random import Faulty, creation_times, listing_options

pytestmark = pytest.mark.anyio

DESC = filters_fingerprint(ListFilters().params(order="Desc"))
ASC = filters_fingerprint(ListFilters(order="asc").params(order="Asc"))

#: What a listing newest first writes: its head (the seconds from 1000 on, its
#: second page next), a started window, one not started, the rest.
DESC_WINDOWS: list[list[Any]] = [
    [1000, None, True, "head-2", None, None],
    [900, 1000, False, "t-7", 899, 1000],
    [800, 900, False, None, None, None],
    [None, 800, False, None, None, None],
]
#: The same, oldest first (the window bounds sent as a service with inclusive bounds gets them).
ASC_WINDOWS: list[list[Any]] = [
    [None, 800, True, "head-2", None, None],
    [800, 900, False, "t-7", 800, 899],
    [900, 1000, False, None, None, None],
    [1000, None, False, None, None, None],
]


def desc_body() -> dict[str, Any]:
    """The JSON of a composite token a listing newest first writes (a fresh copy)."""
    return {"o": "desc", "p": 4, "f": DESC, "w": copy.deepcopy(DESC_WINDOWS)}


def asc_body() -> dict[str, Any]:
    """The JSON of a composite token a listing oldest first writes (a fresh copy)."""
    return {"o": "asc", "p": 4, "f": ASC, "w": copy.deepcopy(ASC_WINDOWS)}


def composite(body: object) -> str:
    """``body`` as a composite token, encoded as the library encodes one."""
    text = json.dumps(body, separators=(",", ":"))
    return TOKEN_PREFIX + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def raw_composite(data: bytes) -> str:
    """Any bytes behind the composite token's prefix."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("=")


async def empty_page(request: httpx.Request) -> httpx.Response:
    """A list answer with no job and no token."""
    return xml(200, b"<Response><RequestId>r</RequestId></Response>")


def changed(edit: Callable[[dict[str, Any]], object], base: Callable[[], dict[str, Any]]) -> str:
    """The token of ``base()`` after ``edit`` changed it in place."""
    body = base()
    edit(body)
    return composite(body)


def windows(*items: list[Any]) -> Callable[[dict[str, Any]], object]:
    """An edit that replaces the windows."""
    return lambda body: body.update(w=list(items))


def setting(index: int, field: int, value: object) -> Callable[[dict[str, Any]], object]:
    """An edit that sets one field of one window."""
    return lambda body: body["w"][index].__setitem__(field, value)


def key(name: str, value: object) -> Callable[[dict[str, Any]], object]:
    """An edit that sets one key of the body."""
    return lambda body: body.update({name: value})


def many_windows(count: int) -> dict[str, Any]:
    """A listing newest first with ``count`` windows of ten seconds each (head included)."""
    top = 10 * count
    items: list[list[Any]] = [[top - 10, None, True, None, None, None]]
    items += [[top - 10 * (i + 1), top - 10 * i, False, None, None, None] for i in range(1, count)]
    items[-1][0] = None
    return {"o": "desc", "p": 64, "f": DESC, "w": items}


# Each: a token the library never writes, with what was done to it.
DAMAGED: list[Any] = [
    # the windows: missing, repeated, out of order, overlapping, apart
    pytest.param(changed(windows(), desc_body), id="no-window"),
    pytest.param(changed(lambda b: b["w"].pop(), desc_body), id="last-window-dropped"),
    pytest.param(changed(lambda b: b["w"].pop(1), desc_body), id="middle-window-dropped"),
    pytest.param(changed(lambda b: b["w"].insert(0, b["w"][0]), desc_body), id="head-repeated"),
    pytest.param(changed(lambda b: b["w"].insert(1, b["w"][1]), desc_body), id="window-repeated"),
    pytest.param(changed(lambda b: b["w"].reverse(), desc_body), id="reversed"),
    pytest.param(changed(lambda b: b["w"].reverse(), asc_body), id="asc-reversed"),
    pytest.param(changed(lambda b: b.update(o="asc", f=ASC), desc_body), id="other-order"),
    pytest.param(changed(setting(2, 1, 950), desc_body), id="overlap"),
    pytest.param(changed(setting(2, 1, 850), desc_body), id="gap"),
    pytest.param(
        changed(
            windows(
                [None, 800, True, None, None, None],
                [800, 800, False, None, None, None],
                [800, None, False, None, None, None],
            ),
            asc_body,
        ),
        id="asc-empty-window",
    ),
    pytest.param(
        changed(
            windows(
                [950, None, True, None, None, None],
                [1000, 950, False, None, None, None],
                [None, 1000, False, None, None, None],
            ),
            desc_body,
        ),
        id="lo-above-hi",
    ),
    # the head: one, first, never alone
    pytest.param(changed(setting(1, 2, True), desc_body), id="two-heads"),
    pytest.param(changed(setting(0, 2, False), desc_body), id="open-window-not-head"),
    pytest.param(changed(setting(0, 2, False), asc_body), id="asc-open-window-not-head"),
    pytest.param(changed(windows([None, None, True, "t", None, None]), desc_body), id="head-alone"),
    pytest.param(changed(setting(0, 4, 999), desc_body), id="head-sends-a-bound"),
    # the bounds a window's requests send, as its range gives them
    pytest.param(changed(setting(1, 4, 901), desc_body), id="after-inside-window"),
    pytest.param(changed(setting(1, 5, 1001), desc_body), id="before-beyond-hi"),
    pytest.param(changed(setting(1, 5, 998), desc_body), id="before-inside-window"),
    pytest.param(changed(setting(1, 4, 798), asc_body), id="asc-after-beyond-lo"),
    pytest.param(changed(setting(1, 5, 897), asc_body), id="asc-before-inside-window"),
    pytest.param(changed(setting(3, 5, 2000), asc_body), id="asc-open-end-sends-before"),
    # seconds: whole numbers that a datetime can hold
    pytest.param(changed(setting(1, 0, 10**30), desc_body), id="huge-second"),
    pytest.param(
        changed(
            windows(
                [-(10**11), None, True, None, None, None],
                [None, -(10**11), False, None, None, None],
            ),
            desc_body,
        ),
        id="negative-second-before-year-1",
    ),
    pytest.param(
        changed(
            windows(
                [MAX_SECOND + 1, None, True, None, None, None],
                [None, MAX_SECOND + 1, False, None, None, None],
            ),
            desc_body,
        ),
        id="past-max-second",
    ),
    pytest.param(
        changed(
            windows(
                [MIN_SECOND - 1, None, True, None, None, None],
                [None, MIN_SECOND - 1, False, None, None, None],
            ),
            desc_body,
        ),
        id="before-min-second",
    ),
    pytest.param(changed(setting(1, 0, 900.0), desc_body), id="float-second"),
    pytest.param(changed(setting(1, 0, "900"), desc_body), id="text-second"),
    pytest.param(changed(setting(1, 0, True), desc_body), id="bool-second"),
    pytest.param(changed(setting(1, 2, 0), desc_body), id="int-head-flag"),
    # a window's token: what a plain next_token may be
    pytest.param(changed(setting(1, 3, ""), desc_body), id="empty-window-token"),
    pytest.param(changed(setting(1, 3, "a\ud800b"), desc_body), id="surrogate-window-token"),
    pytest.param(
        changed(setting(1, 3, "T" * (MAX_TOKEN_LENGTH + 1)), desc_body), id="overlong-window-token"
    ),
    pytest.param(changed(setting(1, 3, 7), desc_body), id="int-window-token"),
    # how the listing runs
    *[
        pytest.param(changed(key("p", p), desc_body), id=f"parallel-{p!r}")
        for p in (0, 1, 65, 100_000, -4, True, 4.0, "4", None)
    ],
    *[
        pytest.param(changed(key("o", o), desc_body), id=f"order-{o!r}")
        for o in ("Desc", "down", None, ["desc"])
    ],
    *[
        pytest.param(changed(key("f", f), desc_body), id=f"filters-{f!r}")
        for f in ("f", "", DESC.upper(), DESC + "0", 123)
    ],
    # the shape
    pytest.param(changed(lambda b: b.update(x=1), desc_body), id="extra-key"),
    pytest.param(changed(lambda b: b.pop("p"), desc_body), id="missing-key"),
    pytest.param(composite([]), id="body-a-list"),
    pytest.param(composite("w"), id="body-a-string"),
    pytest.param(composite(None), id="body-null"),
    pytest.param(changed(lambda b: b.update(w={"0": DESC_WINDOWS[0]}), desc_body), id="w-a-dict"),
    pytest.param(changed(lambda b: b["w"][1].pop(), desc_body), id="window-of-five"),
    pytest.param(changed(lambda b: b["w"][1].append(None), desc_body), id="window-of-seven"),
    pytest.param(changed(lambda b: b["w"].__setitem__(1, "w"), desc_body), id="window-a-string"),
    pytest.param(composite(many_windows(MAX_WINDOWS + 1)), id="too-many-windows"),
    # the encoding
    pytest.param(TOKEN_PREFIX, id="nothing"),
    pytest.param(TOKEN_PREFIX + "!!!", id="not-base64"),
    pytest.param(TOKEN_PREFIX + "e30=", id="padded"),
    pytest.param(TOKEN_PREFIX + "e30", id="empty-object"),
    pytest.param(composite(desc_body())[:-6], id="truncated"),
    pytest.param(raw_composite(b"\xff\xfe{}"), id="not-utf8"),
    pytest.param(raw_composite(b"{"), id="not-json"),
    pytest.param(
        raw_composite(b'{"o":"desc","p":4,"f":"' + DESC.encode() + b'","w":[]}x'), id="tail"
    ),
    pytest.param(raw_composite(b"[" * 100_000 + b"]" * 100_000), id="deeply-nested"),
    pytest.param(raw_composite(b'{"p":' + b"1" * 5000 + b"}"), id="5000-digit-number"),
    pytest.param(raw_composite(b'{"p":NaN}'), id="nan"),
]


async def test_what_a_listing_writes_is_read_back_as_it_was() -> None:
    """The two tokens every damaged one below is made from are accepted, unchanged, no request."""
    recorder = Recorder(empty_page)
    async with session_for(recorder) as session:
        session.list_jobs(next_token=composite(desc_body()))
        session.list_jobs(next_token=composite(asc_body()), order="asc")
        session.list_jobs(next_token=composite(many_windows(MAX_WINDOWS)))

    desc = Snapshot(tuple(cast("Any", tuple(w)) for w in DESC_WINDOWS), False, 4, DESC)
    assert desc == decode_token(composite(desc_body()))
    assert [] == recorder.requests


@pytest.mark.parametrize("token", DAMAGED)
async def test_a_token_the_library_never_writes_is_refused_at_the_call(token: str) -> None:
    """ValueError from list_jobs(...) itself, in the damaged-token style: no request."""
    recorder = Recorder(empty_page)
    async with session_for(recorder) as session:
        with pytest.raises(ValueError, match=r"^next_token is a damaged ci_async parallel"):
            session.list_jobs(next_token=token, parallel=4)

    assert [] == recorder.requests


async def test_a_refusal_quotes_nothing_of_the_token() -> None:
    """The message names the fault, not the token's text (untrusted, maybe long)."""
    recorder = Recorder(empty_page)
    async with session_for(recorder) as session:
        with pytest.raises(ValueError, match="lone surrogate") as caught:
            session.list_jobs(next_token=changed(setting(1, 3, "SeCrEt\udc80X"), desc_body))

    assert "SeCrEt" not in str(caught.value)
    assert len(str(caught.value)) < 200


async def test_an_overlong_composite_token_is_refused_before_it_is_decoded() -> None:
    """Longer than MAX_COMPOSITE_LENGTH: refused by its length (a valid body behind it)."""
    token = composite(desc_body())
    token += "A" * (MAX_COMPOSITE_LENGTH + 1 - len(token))
    recorder = Recorder(empty_page)
    async with session_for(recorder) as session:
        with pytest.raises(ValueError, match=r"damaged.*longer than"):
            session.list_jobs(next_token=token)

    assert [] == recorder.requests


# --- a real listing's token, tampered with --------------------------------------------------


async def test_a_real_token_tampered_with_is_refused_and_untampered_resumes_exactly() -> None:
    """A listing's token at a page boundary: edited, refused with no request; as is, exact."""
    emulator = Emulator(seed=2)
    emulator.generate(400, seed=2)
    async with connect(emulator) as session:
        everything = [job.job_id async for job in session.list_jobs()]
        seen: list[str] = []
        async with session.list_jobs(parallel=4, page_size=10) as listing:
            async for page in listing.pages():
                seen += [job.job_id for job in page]
                token = page.next_token
                if len(seen) >= 40:
                    break
        assert token is not None
        data = token[len(TOKEN_PREFIX) :]
        body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        assert len(body["w"]) >= 3
        tampered = [
            {**body, "w": []},
            {**body, "w": body["w"][:-1]},
            {**body, "w": [body["w"][0], *body["w"]]},
            {**body, "w": body["w"][::-1]},
            {**body, "p": 100_000},
        ]
        emulator.clear_requests()
        for each in tampered:
            with pytest.raises(ValueError, match="damaged"):
                session.list_jobs(next_token=composite(each))
        refused_with = len(emulator.requests)
        rest = [job.job_id async for job in session.list_jobs(next_token=token)]

    assert 0 == refused_with
    assert everything == seen + rest


# --- every token a listing writes is read ---------------------------------------------------


async def tokens_of(session: Session, **options: Any) -> list[str]:
    """Every composite next_token of a listing, read after each job (and after a failure)."""
    tokens: list[str] = []
    iterator = session.list_jobs(**options)
    try:
        async for _ in iterator:
            token = iterator.next_token
            if token is not None and token.startswith(TOKEN_PREFIX):
                tokens.append(token)
    except ServiceError:
        token = iterator.next_token
        if token is not None and token.startswith(TOKEN_PREFIX):
            tokens.append(token)
    finally:
        await iterator.aclose()
    return tokens


def random_case(seed: int) -> tuple[ListService, dict[str, Any], bool]:
    """The service, the listing's options and whether it fails part-way, for ``seed``.

    The random listings of ``test_parallel_random.py``, in either order by
    turns: a service may leave the time bounds out (the listing then goes on
    with one unsplit chain: that shape is written too), and a listing may
    fail part-way with an error that is not retried.
    """
    rng = random.Random(f"tokens/{seed}")
    created = creation_times(rng) or [1_740_787_200_000]
    service = ListService(
        created,
        bounds=rng.choice(["inclusive", "exclusive"]),
        precision=rng.choice(["millisecond", "second"]),
        ignore=rng.choice([(), (), ("startCreationTime", "endCreationTime"), ("endCreationTime",)]),
    )
    options = listing_options(rng, created)
    options.update(
        order=("desc", "asc")[seed % 2],
        parallel=rng.choice([2, 3, 4, 8]),
        page_size=rng.choice([2, 3, 10]),
    )
    return service, options, rng.random() < 0.3


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
async def test_every_token_a_listing_writes_is_accepted(seed: int) -> None:
    """Read after every job of a random listing, each token is accepted to resume (no request)."""
    service, options, failing = random_case(seed)
    transport = Faulty(service.transport(), random.Random(seed), 0.02 if failing else 0.0)
    retry = None if failing else RetryPolicy(backoff=0.0005, max_backoff=0.001)
    async with Session(
        BUCKET, REGION, credentials=CREDENTIALS, retry=retry, transport=transport
    ) as client:
        tokens = await tokens_of(client, **options)
        asked = len(service.queries)
        for token in tokens:
            client.list_jobs(next_token=token, **options)  # raises if refused

    assert asked == len(service.queries)


async def test_the_listings_above_write_heads_and_many_windows_in_both_orders() -> None:
    """What the rules are about is written by those listings: a head, several windows."""
    shapes: set[tuple[bool, bool]] = set()
    for seed in SEEDS:
        service, options, _ = random_case(seed)
        async with Session(
            BUCKET, REGION, credentials=CREDENTIALS, transport=service.transport()
        ) as client:
            for token in await tokens_of(client, **options):
                snapshot = decode_token(token)
                if len(snapshot.windows) > 3:
                    shapes.add((snapshot.ascending, snapshot.windows[0][2]))

    assert {(False, True), (True, True), (False, False), (True, False)} == shapes


# --- the window seconds --------------------------------------------------------------------


def test_the_seconds_a_window_may_hold_are_datetimes_in_beijing_time() -> None:
    """The extremes a token may hold (a bound sent is a second beyond a window's) are sendable."""
    for second in (MIN_SECOND - 1, MIN_SECOND, 0, 1_700_000_000, MAX_SECOND):
        sent = when(second)
        assert (second, BEIJING) == (int(sent.timestamp()), sent.tzinfo)
        assert 4 == len(format_time(sent).split("-")[0])
    assert datetime.fromtimestamp(1_700_000_000, tz=BEIJING) == when(1_700_000_000)


async def test_a_token_at_the_edges_of_the_seconds_lists_without_error() -> None:
    """Windows at MIN_SECOND and MAX_SECOND send their bounds: no exception, requests made."""
    edges = {
        "o": "desc",
        "p": 2,
        "f": DESC,
        "w": [
            [MAX_SECOND, None, True, "h", None, None],
            [MIN_SECOND, MAX_SECOND, False, "w", MIN_SECOND - 1, MAX_SECOND],
            [None, MIN_SECOND, False, None, None, None],
        ],
    }
    recorder = Recorder(empty_page)
    async with session_for(recorder) as session:
        got = [job async for job in session.list_jobs(next_token=composite(edges))]

    sent = {request.url.params.get("startCreationTime") for request in recorder.requests}
    assert [] == got
    assert "0002-01-01T07:59:59+0800" in sent


# --- the filters' fingerprint ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"job_id": "j&name=x"}, {"job_id": "j", "name": "x"}),
        ({"name": "x&workflowId=w"}, {"name": "x", "workflow_id": "w"}),
        ({"job_id": "a=b"}, {"job_id": "a", "name": "b"}),
    ],
)
def test_the_fingerprint_tells_filters_apart_whatever_their_text(
    one: dict[str, str], other: dict[str, str]
) -> None:
    """Values holding '&' or '=' do not make two listings' filters look alike."""
    first = filters_fingerprint(ListFilters(**one).params(order="Desc"))
    second = filters_fingerprint(ListFilters(**other).params(order="Desc"))

    assert first != second


async def test_a_token_is_refused_by_a_listing_whose_filters_only_join_alike() -> None:
    """job_id='j', name='x' writes a token that job_id='j&name=x' refuses, with no request."""
    fingerprint = filters_fingerprint(ListFilters(job_id="j", name="x").params(order="Desc"))
    token = changed(lambda b: b.update(f=fingerprint), desc_body)
    recorder = Recorder(empty_page)
    async with session_for(recorder) as session:
        session.list_jobs(next_token=token, job_id="j", name="x")
        with pytest.raises(ValueError, match="other filters"):
            session.list_jobs(next_token=token, job_id="j&name=x")

    assert [] == recorder.requests


# --- a plain token in a parallel listing -------------------------------------------------------


@pytest.mark.parametrize("length", [MAX_TOKEN_LENGTH + 1, 100_000])
async def test_a_plain_token_too_long_to_send_is_refused_as_sequentially(length: int) -> None:
    """PaginationError, as the sequential listing raises it, and no request (not even the probe)."""
    outcomes: list[tuple[type[Exception], int]] = []
    for parallel in (None, 4):
        recorder = Recorder(empty_page)
        async with session_for(recorder) as session:
            iterator = session.list_jobs(next_token="t" * length, parallel=parallel)
            with pytest.raises(PaginationError, match="too long to send back") as caught:
                await anext(iterator)
        outcomes.append((type(caught.value), len(recorder.requests)))

    assert [(PaginationError, 0), (PaginationError, 0)] == outcomes


# --- check_token: what a token sent back may be, a window's or a plain one ----------------------


@pytest.mark.parametrize(
    "token",
    [
        "ZDE3MTQ1MjgwMDAuMHxiM2Rl",
        "25",
        "A+/=&?#%é",
        "x\u202ey",
        "a\r\nb\tc",
        "a\x00\x1b[31m\x7f\x9b",
        "T" * MAX_TOKEN_LENGTH,
    ],
    ids=["service", "offset", "url-special", "invisible", "control", "more-control", "longest"],
)
def test_check_token_accepts_what_a_service_sends(token: str) -> None:
    """Any text up to the cap comes back unchanged, and is a window's token too.

    (Control characters included: a token the service sent can be resumed
    from, whatever it holds; it is sent back percent-encoded.)
    """
    assert token == check_token(token)
    assert token == decode_token(changed(setting(1, 3, token), desc_body)).windows[1][3]


@pytest.mark.parametrize(
    ("token", "fault"),
    [
        ("", "empty"),
        ("T" * (MAX_TOKEN_LENGTH + 1), "at most"),
        ("a\udc80b", "lone surrogate"),
    ],
)
def test_check_token_refuses_what_cannot_be_sent_back_safely(token: str, fault: str) -> None:
    """ValueError naming the argument and the fault; the same fault damages a window's token."""
    with pytest.raises(ValueError, match=f"^next_token .*{fault}"):
        check_token(token)
    with pytest.raises(ValueError, match=f"^next_token is a damaged .*window's token .*{fault}"):
        decode_token(changed(setting(1, 3, token), desc_body))


def test_check_token_refuses_a_non_str() -> None:
    """TypeError, naming the argument given."""
    with pytest.raises(TypeError, match=r"^token must be a str, not bytes"):
        check_token(b"t", "token")


# --- extreme creation times from a service ---------------------------------------------------


LATEST = "9999-12-31T23:59:59+0000"  # second 253402300799: past what a window may name
EARLIEST = "0001-01-01T00:00:00+0800"  # second -62135625600: before it
LATER_STILL = "9999-12-31T23:59:59-0100"  # the year 10000, in UTC
EARLIER_STILL = "0001-01-01T00:00:00+1400"  # the year 0, in UTC


class TimedService:
    """A list endpoint over jobs created at the given wire times.

    Inclusive second bounds, newest or oldest first (equal seconds by id),
    ``NextToken`` the offset of the next page, as on the API page.
    """

    def __init__(self, times: list[str]) -> None:
        self.jobs = [(t, f"b{index:03d}") for index, t in enumerate(times)]

    @staticmethod
    def second(text: str) -> int:
        """The whole second a wire time names."""
        parsed = parse_time(text)
        assert parsed is not None
        return int(parsed.timestamp() // 1)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        start, end = params.get("startCreationTime"), params.get("endCreationTime")
        chosen = sorted(
            (
                (self.second(t), job_id, t)
                for t, job_id in self.jobs
                if (start is None or self.second(t) >= self.second(start))
                and (end is None or self.second(t) <= self.second(end))
            ),
            reverse=params.get("orderByTime", "Desc") == "Desc",
        )
        size, offset = int(params.get("size", "10")), int(params.get("nextToken", "0"))
        page = chosen[offset : offset + size]
        parts = [
            f"<JobsDetail><JobId>{job_id}</JobId><Type>Job</Type><State>Success</State>"
            f"<CreationTime>{t}</CreationTime></JobsDetail>"
            for _, job_id, t in page
        ]
        if offset + size < len(chosen):
            parts.append(f"<NextToken>{offset + size}</NextToken>")
        return xml(200, ("<Response>" + "".join(parts) + "</Response>").encode())


def a_year_daily(count: int) -> list[str]:
    """``count`` creation times a day apart, from 2024-01-01."""
    first = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()
    return [
        format_time(datetime.fromtimestamp(first + 86_400 * day, timezone.utc))
        for day in range(count)
    ]


EXTREMES = {
    "audit": [LATEST, "2024-05-01T00:00:00+0800", "2024-04-01T00:00:00+0800", EARLIEST],
    "latest": [LATEST, "2024-05-01T00:00:00+0800", "2024-04-01T00:00:00+0800"],
    "earliest": ["2024-05-01T00:00:00+0800", "2024-04-01T00:00:00+0800", EARLIEST],
    "a-whole-extreme-second": [LATER_STILL, LATEST, LATEST, *a_year_daily(6)],
    "a-whole-earliest-second": [*a_year_daily(6), EARLIEST, EARLIEST, EARLIER_STILL],
    "around-a-year": [LATER_STILL, LATEST, *a_year_daily(40), EARLIEST, EARLIEST],
}


@pytest.mark.parametrize("times", list(EXTREMES.values()), ids=list(EXTREMES))
@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_extreme_creation_times_list_as_sequentially(times: list[str], order: str) -> None:
    """Jobs from the years 1 and 9999: the parallel listing hands out what the sequential does."""
    service = TimedService(times)
    cases = list(itertools.product([1, 2, 3, 4], [2, 4]))
    got: list[list[str]] = []
    async with session_for(Recorder(service)) as session:
        expected = [job.job_id async for job in session.list_jobs(order=order)]
        for page_size, parallel in cases:
            listing = session.list_jobs(order=order, page_size=page_size, parallel=parallel)
            got.append([job.job_id async for job in listing])

    assert len(times) == len(expected)
    assert [expected] * len(cases) == got
