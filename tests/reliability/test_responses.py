"""Broken, odd and hostile answers over real loopback HTTP: records or a typed error, never a crash.

Answers the emulator can produce come from its fault plan; the others from a
scripted server (:class:`~tests.reliability._support.ScriptedService`) on a
loopback port.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from ci_async import (
    JobPage,
    JobState,
    PaginationError,
    ResponseParseError,
    ServerError,
    Session,
)
from ci_async.testing import Emulator, EmulatorServer

from .._session_support import make_job
from . import _support
from ._support import GUARD, Reply, Seen, drain, page_body, scripted, session_on

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

MB = 1024 * 1024


async def all_ids(session: Session, **kwargs: object) -> list[str]:
    """Every job id of a full listing, in the order yielded."""
    with anyio.fail_after(GUARD):
        return [job.job_id async for job in session.list_jobs(**kwargs)]  # type: ignore[arg-type]


def ids(count: int, start: int = 0) -> list[str]:
    """The ids make_job gives for ``range(start, start + count)``."""
    return [make_job(index).job_id for index in range(start, start + count)]


def pages(*contents: tuple[list[int], str | None]) -> dict[str | None, Reply]:
    """Scripted list pages by the token that asks for them: ``(job indexes, NextToken)``."""
    tokens: list[str | None] = [None, *(token for _, token in contents[:-1])]
    return {
        token: Reply(page_body([make_job(i) for i in indexes], next_token))
        for token, (indexes, next_token) in zip(tokens, contents, strict=True)
    }


def by_token(table: dict[str | None, Reply]) -> Callable[[Seen], Reply]:
    """A scripted answer choosing the page by the request's nextToken."""

    def answer(request: Seen) -> Reply:
        return table[request.params.get("nextToken")]

    return answer


# --- malformed bodies (the emulator's faults) -------------------------------------------------


@pytest.mark.parametrize(
    ("inject", "match"),
    [
        pytest.param(lambda plan: plan.truncate_next(1), "malformed XML", id="truncated"),
        pytest.param(lambda plan: plan.malformed_next(1), "malformed XML", id="mismatched-tag"),
        pytest.param(lambda plan: plan.empty_body_next(1), "malformed XML", id="empty-200"),
        pytest.param(lambda plan: plan.wrong_root_next(1), "<Result>", id="wrong-root"),
    ],
)
async def test_a_broken_list_answer_raises_response_parse_error(
    inject: object, match: str, emulator: Emulator, session: Session
) -> None:
    """Truncated, mis-nested, empty or wrongly rooted XML: ResponseParseError, not retried.

    (A broken page whose bytes still show a ``NextToken`` may have had the
    following page requested while it was decoded: that request is cancelled.)
    """
    inject(emulator.faults)  # type: ignore[operator]

    with pytest.raises(ResponseParseError, match=match):
        await all_ids(session)

    first_page = [r for r in emulator.requests if r.params.get("nextToken") is None]
    assert (1, True) == (len(first_page), len(emulator.requests) <= 2)


@pytest.mark.parametrize(
    "inject",
    [
        pytest.param(lambda plan: plan.truncate_next(1), id="truncated"),
        pytest.param(lambda plan: plan.empty_body_next(1), id="empty-200"),
        pytest.param(lambda plan: plan.wrong_root_next(1), id="wrong-root"),
    ],
)
async def test_a_broken_describe_answer_raises_response_parse_error(
    inject: object, emulator: Emulator, session: Session
) -> None:
    """The same for get_job: a typed error carrying a short snippet of the body."""
    inject(emulator.faults)  # type: ignore[operator]

    with anyio.fail_after(GUARD), pytest.raises(ResponseParseError) as caught:
        await session.get_job(emulator.jobs[0].job_id)

    assert len(caught.value.snippet) <= 200


async def test_a_broken_page_can_be_resumed_from_next_token(
    emulator: Emulator, session: Session
) -> None:
    """After a parse error on page two, resuming from next_token yields the rest, none twice."""
    emulator.faults.truncate_next(1, when=lambda r: "nextToken" in r.params)
    first = session.list_jobs(page_size=10)
    got: list[str] = []
    with pytest.raises(ResponseParseError):
        await drain(first, got)

    got += await all_ids(session, page_size=10, next_token=first.next_token)

    assert [job.job_id for job in reversed(emulator.jobs)] == got


# --- error pages that are not XML ----------------------------------------------------------


async def test_an_html_gateway_page_is_retried(emulator: Emulator, session: Session) -> None:
    """A proxy's HTML 502 page counts as a 502: retried, then the job."""
    emulator.faults.html_error_next(2)

    with anyio.fail_after(GUARD):
        job = await session.get_job(emulator.jobs[0].job_id)

    assert emulator.jobs[0].job_id == job.job_id


async def test_an_html_gateway_page_that_persists_raises_server_error(
    emulator: Emulator, session: Session
) -> None:
    """HTML on every attempt: ServerError whose message is a short snippet of the page."""
    emulator.faults.html_error_next(10, status=504)

    with anyio.fail_after(GUARD), pytest.raises(ServerError) as caught:
        await session.get_job(emulator.jobs[0].job_id)

    error = caught.value
    assert (504, None) == (error.status_code, error.code)
    assert error.message is not None
    assert "504" in error.message
    assert len(error.message) <= 200


async def test_an_html_page_with_status_200_raises_response_parse_error(anyio_backend: str) -> None:
    """A captive portal answering 200 with HTML: ResponseParseError, not a crash."""
    html = b"<html><body><h1>Please log in</h1><br></body></html>"

    answer = Reply(html, content_type="text/html")
    async with scripted(lambda _: answer) as (_, url), session_on(url) as session:
        with pytest.raises(ResponseParseError):
            await all_ids(session)


async def test_an_error_document_with_status_200_raises_response_parse_error(
    anyio_backend: str,
) -> None:
    """An <Error> document on a 200 is not mistaken for an empty listing."""
    body = b"<Error><Code>InternalError</Code><Message>x</Message></Error>"

    async with scripted(lambda _: Reply(body)) as (_, url), session_on(url) as session:
        with pytest.raises(ResponseParseError, match="InternalError"):
            await all_ids(session)


# --- pages of 0, 1 and 100 jobs --------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 100])
async def test_a_single_page_of_n_jobs(count: int, anyio_backend: str) -> None:
    """One page of 0, 1 or 100 JobsDetail (one is a dict to xmltodict, not a list): all of them."""
    emulator = Emulator(seed=3)
    emulator.generate(count)

    async with emulator.serve() as server, session_on(server.url, emulator) as session:
        got = await all_ids(session, page_size=100)

    assert [job.job_id for job in reversed(emulator.jobs)] == got
    assert 1 == len(emulator.requests)


async def test_pages_of_100_jobs_are_followed(anyio_backend: str) -> None:
    """Full pages of 100: 250 jobs in three requests, each once."""
    emulator = Emulator(seed=4)
    emulator.generate(250)

    async with emulator.serve() as server, session_on(server.url, emulator) as session:
        got = await all_ids(session, page_size=100)

    assert (250, 250, 3) == (len(got), len(set(got)), len(emulator.requests))


async def test_an_empty_page_with_a_next_token_is_followed(anyio_backend: str) -> None:
    """0 JobsDetail but a NextToken: not the end; the next page is fetched."""
    table = pages(([0, 1], "a"), ([], "b"), ([2], None))

    async with scripted(by_token(table)) as (_, url), session_on(url) as session:
        got = await all_ids(session)

    assert ids(3) == got


# --- unknown content ------------------------------------------------------------------------


async def test_unknown_elements_and_values_are_kept(anyio_backend: str) -> None:
    """A new State and Type stay plain strings; unknown elements survive in Job.raw."""
    body = (
        page_body([make_job(0, state="Archived")])
        .replace(b"<Type>Workflow</Type>", b"<Type>Batch</Type>")
        .replace(b"</JobsDetail>", b"<Priority><Level>9</Level></Priority></JobsDetail>")
        .replace(b"</Response>", b"<TotalCount>1</TotalCount></Response>")
    )

    async with scripted(lambda _: Reply(body)) as (_, url), session_on(url) as session:
        with anyio.fail_after(GUARD):
            jobs = [job async for job in session.list_jobs()]

    job = jobs[0]
    assert ("Archived", "Batch", False) == (job.state, job.type, job.is_terminal)
    assert not isinstance(job.state, JobState)
    assert {"Level": "9"} == job.raw["Priority"]


# --- tokens ----------------------------------------------------------------------------------


async def test_a_repeated_next_token_raises_pagination_error(
    emulator: Emulator, session: Session
) -> None:
    """A token the service already sent: the page's jobs, then PaginationError, no loop."""
    emulator.faults.repeat_token_next(1)
    # Without the guard the listing would go round for ever: past ten requests the
    # emulator refuses (a 400), which fails this test at once instead of at the guard.
    emulator.faults.fail_next(1000, status=400, when=lambda _: len(emulator.requests) > 10)
    got: list[str] = []

    with anyio.fail_after(GUARD), pytest.raises(PaginationError) as caught:
        await drain(session.list_jobs(page_size=10), got)

    assert [job.job_id for job in reversed(emulator.jobs)][:20] == got
    assert emulator.requests[1].params["nextToken"] == caught.value.next_token


async def test_a_token_cycle_over_several_pages_raises_pagination_error(anyio_backend: str) -> None:
    """Tokens a, b, then a again: detected on the repeat, each job yielded once before it."""
    table = pages(([0], "a"), ([1], "b"), ([2], "a"))

    async with scripted(by_token(table)) as (service, url), session_on(url) as session:
        got: list[str] = []
        with anyio.fail_after(GUARD), pytest.raises(PaginationError):
            # limit: without the guard the cycle yields jobs for ever; this ends it.
            await drain(session.list_jobs(limit=50), got)

    assert (ids(3), 3) == (got, len(service.requests))


async def test_a_10_kb_next_token_is_sent_back_verbatim(anyio_backend: str) -> None:
    """A 10 KB token with URL-special characters goes back exactly as received."""
    token = ("A+/=&?#%é" * 1200)[:10240]
    table = pages(([0], token), ([1], None))

    async with scripted(by_token(table)) as (service, url), session_on(url) as session:
        got = await all_ids(session)

    assert ids(2) == got
    assert token == service.requests[1].params["nextToken"]


async def test_a_10_kb_next_token_can_be_resumed_from(anyio_backend: str) -> None:
    """The iterator's next_token, however long the service made it, is accepted to resume."""
    token = "T" * 10240
    table = pages(([0], token), ([1], None))

    async with scripted(by_token(table)) as (_, url), session_on(url) as session:
        first = session.list_jobs()
        with anyio.fail_after(GUARD):
            await first.__anext__()
        saved = first.next_token
        await first.aclose()
        rest = await all_ids(session, next_token=saved)

    assert (token, ids(1, 1)) == (saved, rest)


# --- duplicates ------------------------------------------------------------------------------


async def test_a_job_repeated_on_the_next_page_is_yielded_once(anyio_backend: str) -> None:
    """Offset tokens shift when jobs are added: a job seen on the previous page is not repeated."""
    table = pages(([0, 1, 2], "p2"), ([2, 3, 4], "p3"), ([4, 5], None))

    async with scripted(by_token(table)) as (_, url), session_on(url) as session:
        got = await all_ids(session)

    assert ids(6) == got


@pytest.mark.parametrize("parallel", [1, 4])
async def test_a_job_repeated_within_a_page_is_yielded_once(
    anyio_backend: str, parallel: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The same JobsDetail twice in one page: once, and said at INFO, sequential or parallel."""
    table = pages(([0, 1, 1, 2], None))

    with caplog.at_level(logging.INFO, logger="ci_async"):
        async with scripted(by_token(table)) as (_, url), session_on(url) as session:
            got = await all_ids(session, parallel=parallel)

    assert ids(3) == got
    skipped = [r.getMessage() for r in caplog.records if "listed twice" in r.getMessage()]
    assert [message.split(" [")[0] for message in skipped] == [
        "skipped 1 job(s) the service listed twice"
    ]


async def test_duplicates_do_not_count_against_the_limit(anyio_backend: str) -> None:
    """The limit counts distinct jobs yielded: a dropped duplicate leaves room for the next."""
    table = pages(([0, 1, 2], "p2"), ([2, 3, 4], None))

    async with scripted(by_token(table)) as (_, url), session_on(url) as session:
        got = await all_ids(session, limit=4, page_size=3)

    assert ids(4) == got


# --- very large answers ------------------------------------------------------------------------


def huge_page(size: int) -> bytes:
    """A well-formed list answer of about ``size`` bytes of distinct jobs (``size`` ignored)."""
    page = page_body([make_job(0)])
    detail = page[
        page.index(b"<JobsDetail>") : page.rindex(b"</JobsDetail>") + len(b"</JobsDetail>")
    ]
    template = detail.replace(make_job(0).job_id.encode(), b"j%08d")
    count = size // len(detail) + 1
    return b"<Response>" + b"".join(template % index for index in range(count)) + b"</Response>"


async def test_a_50_mb_answer_is_refused_by_its_content_length(anyio_backend: str) -> None:
    """A declared 50 MB body is refused before it is read: ResponseParseError, no retry."""
    body = huge_page(50 * MB)

    async with scripted(lambda _: Reply(body)) as (service, url), session_on(url) as session:
        with pytest.raises(ResponseParseError, match="max_response_bytes"):
            await all_ids(session)

    assert 1 == len(service.requests)


async def test_a_50_mb_answer_without_content_length_is_cut_off(anyio_backend: str) -> None:
    """A chunked 50 MB body: reading stops at the cap, the connection is dropped, typed error."""
    body = huge_page(50 * MB)
    reply = Reply(body, chunk_size=256 * 1024, length=-1)

    async with (
        scripted(lambda _: reply) as (service, url),
        session_on(url, max_response_bytes=MB) as session,
    ):
        with pytest.raises(ResponseParseError, match="max_response_bytes"):
            await all_ids(session)

    assert service.bytes_sent < len(body)


async def test_a_large_answer_is_decoded_when_the_cap_allows_it(anyio_backend: str) -> None:
    """With max_response_bytes=None a 5 MB page is simply decoded: records, not an error."""
    body = huge_page(5 * MB)

    async with (
        scripted(lambda _: Reply(body)) as (_, url),
        session_on(url, max_response_bytes=None) as session,
    ):
        with anyio.fail_after(GUARD * 3):
            count = sum([1 async for _ in session.list_jobs()])

    assert body.count(b"<JobsDetail>") == count


async def test_a_huge_error_page_still_gives_a_server_error(anyio_backend: str) -> None:
    """A 503 with a 50 MB body: retried like any 503, then ServerError with a short snippet."""
    body = b"<html>" + b"x" * (50 * MB) + b"</html>"
    reply = Reply(body, status=503, content_type="text/html")

    async with scripted(lambda _: reply) as (service, url), session_on(url) as session:
        with anyio.fail_after(GUARD), pytest.raises(ServerError) as caught:
            await session.get_job("b0123")

    assert 4 == len(service.requests)
    assert caught.value.message is not None
    assert len(caught.value.message) <= 200


# --- entity tricks -------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Response><RequestId>&lol4;</RequestId></Response>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Response><RequestId>&xxe;</RequestId></Response>"""


@pytest.mark.parametrize(
    "body",
    [pytest.param(BILLION_LAUGHS, id="billion-laughs"), pytest.param(EXTERNAL_ENTITY, id="xxe")],
)
async def test_entity_declarations_are_refused(body: bytes, anyio_backend: str) -> None:
    """DOCTYPE/ENTITY in an answer: ResponseParseError, nothing expanded or fetched."""
    async with scripted(lambda _: Reply(body)) as (_, url), session_on(url) as session:
        with pytest.raises(ResponseParseError, match="DOCTYPE"):
            await all_ids(session)
        with anyio.fail_after(GUARD), pytest.raises(ResponseParseError, match="DOCTYPE"):
            await session.get_job("b0123")


async def test_the_emulator_on_loopback_is_the_reference(
    emulator: Emulator, server: EmulatorServer, session: Session
) -> None:
    """Sanity check of the fixtures: the plain listing is every job, newest first."""
    got = await all_ids(session, page_size=10)

    assert [job.job_id for job in reversed(emulator.jobs)] == got


async def test_over_httpx_the_next_request_reaches_the_server_before_the_page_is_decoded(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over httpx's own transport a page is decoded once the next request is written.

    The decoder of the first page blocks the loop until the server (in its own
    thread) has the request for the second: it can only get there if it was
    written before decoding began.
    """
    if _support.TRANSPORT != "httpx":
        pytest.skip("AiohttpTransport does not report when a request is written")
    from ci_async import _decode, _session

    arrived = threading.Event()

    def answer(request: Seen) -> Reply:
        token = request.params.get("nextToken")
        if token == "t1":
            arrived.set()
        return Reply(page_body([make_job(1 if token else 0)], None if token else "t1"))

    build_list = _decode.build_list
    arrived_when_decoded: list[bool] = []

    def decode_after_arrival(doc: dict[str, Any], body: bytes) -> JobPage:
        page = build_list(doc, body)
        if page.next_token == "t1":
            arrived_when_decoded.append(arrived.wait(GUARD / 2))
        return page

    monkeypatch.setattr(_session, "build_list", decode_after_arrival)
    async with scripted(answer) as (_, url), session_on(url) as session:
        got = await all_ids(session)

    assert (ids(2), [True]) == (got, arrived_when_decoded)
