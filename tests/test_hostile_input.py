"""Hostile input, fuzzed with hypothesis: every argument and every answer.

Arguments: each public entry point either works or raises ``ValueError`` /
``TypeError`` -- nothing else -- and an invalid argument sends no request (a
recording ``httpx.MockTransport`` stands in for the service). A valid one
sends exactly the request it describes: a job id lands in the path and
nowhere else, filters land in their own query parameters, text in a create
body comes back out of the XML unchanged.

Answers: whatever bytes the service sends, with whatever status, a call
returns records or raises a :class:`~ci_async.CIError` -- never ``KeyError``,
``ExpatError`` or another stray exception. Entity declarations are refused.

Every fuzz test counts the examples it actually ran (:data:`EXAMPLES_RUN`);
the end of a pytest run that includes this module prints them, per test and
in all (async tests count once per event loop).
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import string
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, TypeVar, cast
from urllib.parse import unquote_to_bytes

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ci_async import (
    CIError,
    Credentials,
    JobInput,
    JobNotFoundError,
    JobState,
    JobType,
    Output,
    ResponseParseError,
    RetryPolicy,
    ServiceError,
    Session,
    ThrottledError,
    TimeInterval,
    TransportError,
    WaitTimeoutError,
)
from ci_async._decode import (
    decode_describe,
    decode_job_response,
    decode_list,
    error_from_response,
)

from ._session_support import make_job
from ._xml import decode_create_request, encode_response

pytestmark = pytest.mark.timeout(300)

BUCKET = "examplebucket-1250000000"
REGION = "ap-beijing"
PREFIX = "/inventorytriggerjob"
LIST_PARAMS = {
    "type",
    "states",
    "orderByTime",
    "startCreationTime",
    "endCreationTime",
    "workflowId",
    "jobId",
    "name",
    "size",
    "nextToken",
}


#: How many examples each fuzz test actually ran in this session (both event loops
#: summed for the async ones): reported at the end of the run by tests/conftest.py.
EXAMPLES_RUN: Counter[str] = Counter()

_T = TypeVar("_T", bound=Callable[..., Any])


def fuzz(examples: int) -> Callable[[_T], _T]:
    """Hypothesis settings for one fuzz test (``examples`` at most, no deadline), counted.

    Every example that reaches the test's body is counted in :data:`EXAMPLES_RUN`,
    so the figures reported are what ran, not the ``max_examples`` asked for
    (hypothesis stops early when a strategy has no more distinct examples).
    """
    chosen = settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
        ],
    )

    def decorate(test: _T) -> _T:
        name = test.__name__
        counted: Callable[..., Any]
        if inspect.iscoroutinefunction(test):

            @functools.wraps(test)
            async def counted(*args: Any, **kwargs: Any) -> Any:
                EXAMPLES_RUN[name] += 1
                return await test(*args, **kwargs)

        else:

            @functools.wraps(test)
            def counted(*args: Any, **kwargs: Any) -> Any:
                EXAMPLES_RUN[name] += 1
                return test(*args, **kwargs)

        return cast("_T", chosen(counted))

    return decorate


# --- a recording service -----------------------------------------------------------------


class Recorder:
    """A MockTransport handler that records requests and answers ``reply(request)``."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.reply: Callable[[httpx.Request], httpx.Response] = self.echo

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply(request)

    @staticmethod
    def echo(request: httpx.Request) -> httpx.Response:
        """Describe: the job asked for; list: an empty last page; create: a job; cancel: OK."""
        path = request.url.path
        if request.method == "GET" and path.startswith(PREFIX + "/"):
            job_id = path[len(PREFIX) + 1 :]
            job = make_job(0)
            body = encode_response([type(job)(**{**_fields(job), "job_id": job_id})])
        elif request.method == "POST":
            body = encode_response([make_job(1)])
        else:
            body = encode_response([])
        return httpx.Response(200, content=body)


def _fields(job: Any) -> dict[str, Any]:
    import attrs

    return {field.name: getattr(job, field.name) for field in attrs.fields(type(job))}


class NullSigner:
    """Signs nothing: the recorder checks no signature."""

    async def sign(self, request: httpx.Request) -> None:
        """Leave the request as it is."""


@asynccontextmanager
async def recorded_session(**kwargs: Any) -> AsyncIterator[tuple[Session, Recorder]]:
    """A session whose every request goes to a Recorder."""
    recorder = Recorder()
    kwargs.setdefault("retry", None)
    async with Session(
        BUCKET,
        REGION,
        signer=NullSigner(),
        transport=httpx.MockTransport(recorder),
        **kwargs,
    ) as session:
        yield session, recorder


# --- strategies ------------------------------------------------------------------------------

#: Text that includes what breaks paths, queries, headers and XML.
HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            ".",
            "..",
            "../etc/passwd",
            "a/../b",
            "%2F",
            "a%2fb",
            "%252F",
            "?x=1",
            "a#b",
            "a\r\nX-Evil: 1",
            "a\nb",
            "a\x00b",
            "\u202e",
            "\ufeff",
            "a\\b",
            "a,b",
            "a;b",
            "a&b=c",
            "</Name><Evil/>",
            "<![CDATA[x]]>",
            "&amp;",
            "x" * 129,
            "x" * 128,
            "b" + "0" * 32,
            "\ud800",
            "\uffff",
            "ｂ０１２",
            "a／b",
        ]
    ),
)
#: Anything at all where a str or a number is expected.
ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE,
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
)
ZONES: st.SearchStrategy[tzinfo] = st.one_of(
    st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m))),
    st.just(timezone(timedelta(seconds=30))),  # an offset the wire format cannot write
)
NAIVE_OR_AWARE = st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30)) | st.datetimes(
    datetime(1, 1, 2), datetime(9999, 12, 30), timezones=ZONES
)


def mostly(
    valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """``valid`` nine times in ten, ``hostile`` otherwise: most calls get past validation."""
    return st.integers(0, 9).flatmap(lambda n: hostile if n == 0 else valid)


#: Text the library should accept: printable, any script, no separators.
SAFE_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["C", "Z"]), min_size=1, max_size=30
)
#: Job ids the library should accept (including characters legal but odd in a path).
SAFE_IDS = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + "-_.~:@;=+!$&'()*")
    | st.characters(codec="utf-8", exclude_categories=["C", "Z"], exclude_characters="/?#%\\,."),
    min_size=1,
    max_size=40,
).filter(lambda text: ".." not in text)
AWARE = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m))),
)


def valid_job_id(text: object) -> bool:
    """Whether the library should accept ``text`` as a job id (the documented rule)."""
    import unicodedata

    return (
        isinstance(text, str)
        and 0 < len(text) <= 128
        and not any(ch in "/?#%\\," for ch in text)
        and not any(ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in text)
        and text != "."
        and ".." not in text
    )


# --- the documented rules, written out independently ----------------------------------------------
#
# Each fuzz test below asserts that the library refuses an input exactly when
# these say it is invalid (and accepts it exactly when they say it is valid),
# so a refusal is checked too, not only an acceptance.


def int_between(value: object, low: int, high: int | None = None) -> bool:
    """An int (not a bool) with ``low <= value <= high`` (no upper bound when ``high`` is None)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return low <= value and (high is None or value <= high)


def is_seconds(value: object, *, allow_zero: bool = False) -> bool:
    """A finite number of seconds, > 0 (or >= 0 with ``allow_zero``); not a bool."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and (value >= 0 if allow_zero else value > 0)


def sendable(value: object, max_length: int | None = None) -> bool:
    """Non-empty text that UTF-8 can carry (no lone surrogate), at most ``max_length`` long."""
    if not isinstance(value, str) or not value:
        return False
    if max_length is not None and len(value) > max_length:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: Characters XML 1.0 cannot carry (a create body is XML).
NOT_XML = set(map(chr, [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]))


def xml_text(value: object) -> bool:
    """Sendable text that XML 1.0 can carry."""
    return sendable(value) and not any(char in NOT_XML for char in str(value))


def wire_time(value: object) -> bool:
    """An aware datetime whose UTC offset is whole minutes, that exists in Beijing time too."""
    if not isinstance(value, datetime):
        return False
    offset = value.utcoffset()
    if offset is None or offset.total_seconds() % 60:
        return False
    try:
        value.astimezone(timezone(timedelta(hours=8)))
    except OverflowError:
        return False
    return True


def valid_state(value: object) -> bool:
    """A JobState, one of its wire strings, or "All"."""
    return isinstance(value, JobState) or (
        isinstance(value, str) and value in {*(s.value for s in JobState), "All"}
    )


def valid_states(value: object) -> bool:
    """None, one state, or a non-empty iterable (not a str) of states."""
    if value is None or isinstance(value, str):
        return value is None or valid_state(value)
    if not isinstance(value, Iterable):
        return False
    items = list(value)
    if "All" in items and any(item != "All" for item in items):
        return False  # All alone, or states without it
    return bool(items) and all(valid_state(item) for item in items)


def valid_filters(filters: dict[str, Any]) -> bool:
    """Whether ``list_jobs(**filters)`` is valid, by the documented rules."""
    get = filters.get
    after, before = get("created_after"), get("created_before")
    order: Any = get("order")
    checks = [
        get("type") is None
        or isinstance(get("type"), JobType)
        or (isinstance(get("type"), str) and get("type") in {t.value for t in JobType}),
        valid_states(get("states")),
        order is None or (isinstance(order, str) and order.lower() in {"desc", "asc"}),
        after is None or wire_time(after),
        before is None or wire_time(before),
        *(
            get(name) is None or sendable(get(name), 1024)
            for name in ("workflow_id", "job_id", "name")
        ),
        get("page_size") is None or int_between(get("page_size"), 1, 100),
        get("limit") is None or int_between(get("limit"), 0),
        get("next_token") is None or sendable(get("next_token")),
        isinstance(get("prefetch", True), bool),
        get("deadline") is None or is_seconds(get("deadline")),
    ]
    if not all(checks):
        return False
    if after is not None and after.microsecond:  # (rounded up to the next whole second)
        if after.replace(microsecond=0) >= datetime.max.replace(microsecond=0, tzinfo=after.tzinfo):
            return False
        after = after.replace(microsecond=0) + timedelta(seconds=1)
        if not wire_time(after):
            return False
    return after is None or before is None or after <= before


def valid_get_jobs(job_ids: object, concurrency: object) -> bool:
    """An iterable (not a str or bytes) of valid ids, and an int concurrency >= 1."""
    if isinstance(job_ids, str | bytes) or not isinstance(job_ids, Iterable):
        return False
    return all(valid_job_id(each) for each in job_ids) and int_between(concurrency, 1)


def valid_wait(job_id: object, wait: object, poll_interval: object, on_update: object) -> bool:
    """A valid id, a timeout of None or seconds > 0, a poll interval > 0, a callable or None."""
    return (
        valid_job_id(job_id)
        and (wait is None or is_seconds(wait))
        and is_seconds(poll_interval)
        and (on_update is None or callable(on_update))
    )


BUCKET_RULE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?-[0-9]{1,20}")
REGION_RULE = re.compile(r"[a-z]{2,12}(?:-[a-z0-9]{1,32}){1,3}")


def valid_create(arguments: dict[str, Any]) -> bool:
    """Whether ``create_job(**arguments)`` is valid, by the documented rules."""
    get = arguments.get
    name, job_input = get("name"), get("input")
    if not (isinstance(name, str) and re.fullmatch(r"[\w-]{1,128}", name)):
        return False
    if not isinstance(job_input, JobInput):
        return False
    sources = [
        value
        for value in (job_input.prefix, job_input.manifest, job_input.url_file, job_input.object)
        if value is not None
    ]
    if len(sources) != 1 or not xml_text(sources[0]):
        return False
    workflow_ids = get("workflow_ids", ())
    if isinstance(workflow_ids, str | bytes) or not isinstance(workflow_ids, Iterable):
        return False
    workflow_ids = list(workflow_ids)
    if not all(
        isinstance(each, str)
        and each
        and "," not in each
        and not any(char.isspace() for char in each)
        and xml_text(each)
        for each in workflow_ids
    ):
        return False
    texts = ("tag", "queue_id", "template_id", "user_data", "callback")
    if not all(get(field) is None or xml_text(get(field)) for field in texts):
        return False
    level = get("job_level")
    if level is not None and not int_between(level, 0, 2):
        return False
    output = get("output")
    if output is not None:
        if not isinstance(output, Output):
            return False
        if output.bucket is not None and not BUCKET_RULE.fullmatch(output.bucket):
            return False
        if output.region is not None and not REGION_RULE.fullmatch(output.region):
            return False
        if output.object is not None and not xml_text(output.object):
            return False
    interval = get("time_interval")
    if interval is not None:
        if not isinstance(interval, TimeInterval):
            return False
        start, end = interval.start, interval.end
        if not all(when is None or wire_time(when) for when in (start, end)):
            return False
        if start is not None and end is not None and start > end:
            return False
    job_fields = [field for field in (*texts, "job_level", "output") if get(field) is not None]
    return bool(workflow_ids) != bool(job_fields)


def valid_endpoint(value: object, *, allow_insecure_http: bool) -> bool:
    """An absolute http(s) URL without userinfo, query or fragment; http only to loopback."""
    import ipaddress

    if not isinstance(value, str):
        return False
    text = value.strip()
    try:
        text.encode("utf-8")  # a lone surrogate cannot be sent (httpx would not say so itself)
        url = httpx.URL(text)
    except (httpx.InvalidURL, UnicodeEncodeError):
        return False
    if url.scheme not in {"http", "https"} or not url.host or url.userinfo:
        return False
    if url.query or url.fragment or "?" in text or "#" in text:
        return False
    if url.scheme == "http" and not allow_insecure_http:
        host = url.host.strip("[]")
        if host.lower() != "localhost":
            try:
                return ipaddress.ip_address(host).is_loopback
            except ValueError:
                return False
    return True


def valid_session(arguments: dict[str, Any]) -> bool:
    """Whether ``Session(signer=..., **arguments)`` is valid, by the documented rules."""
    get = arguments.get
    insecure = get("allow_insecure_http", False)
    bucket, region = get("bucket"), get("region")
    return (
        isinstance(insecure, bool)
        and isinstance(bucket, str)
        and bool(BUCKET_RULE.fullmatch(bucket))
        and isinstance(region, str)
        and bool(REGION_RULE.fullmatch(region))
        and (
            "endpoint" not in arguments
            or get("endpoint") is None
            or valid_endpoint(get("endpoint"), allow_insecure_http=insecure)
        )
        and (get("timeout") is None or is_seconds(get("timeout")))
        and (get("max_connections") is None or int_between(get("max_connections"), 1))
        and (get("max_response_bytes") is None or int_between(get("max_response_bytes"), 1))
        and (get("retry") is None or isinstance(get("retry"), RetryPolicy))
    )


def valid_retry_policy(
    max_attempts: object, backoff: object, max_backoff: object, max_retry_after: object
) -> bool:
    """An int >= 1 of attempts, and finite numbers of seconds >= 0."""
    return int_between(max_attempts, 1) and all(
        is_seconds(value, allow_zero=True) for value in (backoff, max_backoff, max_retry_after)
    )


def header_safe(value: object, *, ascii_only: bool) -> bool:
    """Non-empty printable text without spaces (and ASCII when it is sent in a header)."""
    return (
        isinstance(value, str)
        and bool(value)
        and " " not in value
        and value.isprintable()
        and (value.isascii() or not ascii_only)
    )


def valid_credentials(secret_id: object, secret_key: object, token: object) -> bool:
    """An ASCII id, a key, and no token or an ASCII one: each non-empty, printable, no spaces."""
    return (
        header_safe(secret_id, ascii_only=True)
        and header_safe(secret_key, ascii_only=False)
        and (token is None or header_safe(token, ascii_only=True))
    )


# --- job ids -------------------------------------------------------------------------------------

INJECTIONS = [
    "../x",
    "a/../b",
    "..",
    ".",
    "a/b",
    "%2F",
    "a%2Fb",
    "%2e%2e",
    "?x=1",
    "a?cancel",
    "a#b",
    "a\r\nb",
    "a\nb",
    "a\rb",
    "a\x00b",
    "a\tb",
    "a b",
    "a\\b",
    "a,b",
    "\u2028",
    "x" * 129,
    "",
]


@pytest.mark.anyio
@pytest.mark.parametrize("job_id", INJECTIONS)
async def test_path_injection_in_a_job_id_is_refused(job_id: str) -> None:
    """Traversal, encoded slash, query, fragment, CR/LF, NUL, too long: ValueError, no request."""
    async with recorded_session() as (session, recorder):
        for call in (session.get_job, session.cancel_job, session.wait_for_job):
            with pytest.raises(ValueError, match="job"):
                await call(job_id)
        with pytest.raises(ValueError, match="job"):
            await session.get_jobs(["ok", job_id])

    assert [] == recorder.requests


@pytest.mark.anyio
@given(job_id=mostly(SAFE_IDS, HOSTILE) | HOSTILE)
@fuzz(800)
async def test_a_job_id_lands_in_the_path_or_is_refused(job_id: str) -> None:
    """Any text: a request for exactly /inventorytriggerjob/<id>, or ValueError and no request."""
    async with recorded_session() as (session, recorder):
        try:
            job = await session.get_job(job_id)
        except ValueError:
            event("refused")
            assert not valid_job_id(job_id)
            assert [] == recorder.requests
            return

    event("accepted")
    assert valid_job_id(job_id)
    assert job_id == job.job_id
    (request,) = recorder.requests
    assert (f"{PREFIX}/{job_id}", b"") == (request.url.path, request.url.query)
    raw = request.url.raw_path
    assert (2, f"{PREFIX}/{job_id}".encode()) == (raw.count(b"/"), unquote_to_bytes(raw))


@pytest.mark.anyio
@given(
    job_ids=mostly(st.lists(mostly(SAFE_IDS, HOSTILE), max_size=5), ANYTHING),
    concurrency=mostly(st.integers(1, 32), ANYTHING),
)
@fuzz(300)
async def test_get_jobs_arguments_work_or_are_refused_before_any_request(
    job_ids: Any, concurrency: Any
) -> None:
    """get_jobs: a lookup of the distinct ids, or ValueError/TypeError and no request."""
    valid = valid_get_jobs(job_ids, concurrency)
    async with recorded_session() as (session, recorder):
        try:
            found = await session.get_jobs(job_ids, concurrency=concurrency)
        except (ValueError, TypeError) as exc:
            event(f"refused: {type(exc).__name__}")
            reason = str(exc)
            assert not valid, f"refused valid arguments: {reason}"
            assert [] == recorder.requests
            return
        event("accepted")
        assert valid, "accepted invalid arguments"

    assert list(dict.fromkeys(job_ids)) == [job.job_id for job in found.jobs]
    assert len(found.jobs) == len(recorder.requests)


@pytest.mark.anyio
@given(
    job_id=mostly(SAFE_IDS, HOSTILE),
    wait=mostly(st.none() | st.floats(0.5, 1e9), ANYTHING),
    poll_interval=mostly(st.floats(1e-6, 1e6), ANYTHING),
    on_update=mostly(st.none() | st.just(repr) | st.just(lambda job: None), ANYTHING),
)
@fuzz(300)
async def test_wait_for_job_arguments_work_or_are_refused_before_any_request(
    job_id: str, wait: Any, poll_interval: Any, on_update: Any
) -> None:
    """wait_for_job: the (terminal) job, or ValueError/TypeError and no request."""
    valid = valid_wait(job_id, wait, poll_interval, on_update)
    async with recorded_session() as (session, recorder):
        recorder.reply = lambda request: httpx.Response(
            200, content=encode_response([_terminal(request)])
        )
        try:
            with anyio.fail_after(5):
                job = await session.wait_for_job(
                    job_id, timeout=wait, poll_interval=poll_interval, on_update=on_update
                )
        except (ValueError, TypeError) as exc:
            event(f"refused: {type(exc).__name__}")
            reason = str(exc)
            assert not valid, f"refused valid arguments: {reason}"
            assert [] == recorder.requests
            return
        except WaitTimeoutError:
            # A valid but tiny timeout (microseconds) can pass before the first answer.
            event("timed out")
            assert valid
            assert isinstance(wait, float)
            assert wait < 0.5
            return
        event("accepted")
        assert valid, "accepted invalid arguments"

    assert (job_id, 1) == (job.job_id, len(recorder.requests))


def _terminal(request: httpx.Request) -> Any:
    job = make_job(0, state=JobState.SUCCESS)
    return type(job)(**{**_fields(job), "job_id": request.url.path[len(PREFIX) + 1 :]})


# --- list filters ----------------------------------------------------------------------------

FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "type": mostly(st.sampled_from([*JobType, "Workflow", "Job"]), ANYTHING),
        "states": mostly(
            st.lists(st.sampled_from([*JobState, "Running", "All"]), min_size=1, max_size=4)
            | st.sampled_from([*JobState, "All"]),
            ANYTHING | st.lists(HOSTILE, max_size=2),
        ),
        "order": mostly(st.sampled_from(["desc", "asc", "DESC", "Asc"]), ANYTHING),
        "created_after": mostly(AWARE, NAIVE_OR_AWARE | ANYTHING),
        "created_before": mostly(AWARE, NAIVE_OR_AWARE | ANYTHING),
        "workflow_id": mostly(HOSTILE, ANYTHING),
        "job_id": mostly(HOSTILE, ANYTHING),
        "name": mostly(HOSTILE, ANYTHING),
        "page_size": mostly(st.integers(1, 100), st.integers() | ANYTHING),
        "limit": mostly(st.integers(0, 500), st.integers() | ANYTHING),
        "next_token": mostly(HOSTILE, ANYTHING),
        "prefetch": mostly(st.booleans(), ANYTHING),
        "deadline": mostly(st.floats(0.5, 1e6), ANYTHING),
    },
)


@pytest.mark.anyio
@given(filters=FILTERS)
@fuzz(1200)
async def test_list_filters_work_or_are_refused_at_once(filters: dict[str, Any]) -> None:
    """list_jobs: each filter in its own parameter, or ValueError/TypeError at once, no request."""
    valid = valid_filters(filters)
    async with recorded_session() as (session, recorder):
        try:
            iterator = session.list_jobs(**filters)
        except (ValueError, TypeError) as exc:
            event(f"refused: {type(exc).__name__}")
            reason = str(exc)
            assert not valid, f"refused valid filters: {reason}"
            assert [] == recorder.requests
            return
        event("accepted")
        assert valid, "accepted invalid filters"
        assert [] == recorder.requests
        try:
            with anyio.fail_after(5):
                jobs = [job async for job in iterator]
        except TransportError as exc:
            # A valid but tiny deadline (say 1e-300 s) can pass before the first page.
            event("deadline passed")
            reason = str(exc)
            assert "deadline exceeded" in reason
            assert filters["deadline"] < 0.5
            return

    assert [] == jobs
    if filters.get("limit") == 0:
        assert [] == recorder.requests
        return
    (request,) = recorder.requests
    params = request.url.params
    assert set(params) <= LIST_PARAMS
    assert len(params.multi_items()) == len(set(params))
    for argument, param in (("workflow_id", "workflowId"), ("job_id", "jobId"), ("name", "name")):
        assert filters.get(argument) == params.get(param)
    assert filters.get("next_token") == params.get("nextToken")
    assert (request.url.path, request.method) == (PREFIX, "GET")


@pytest.mark.anyio
@pytest.mark.parametrize("argument", ["workflow_id", "job_id", "name", "next_token"])
async def test_text_that_cannot_be_sent_is_refused_at_the_call(argument: str) -> None:
    """A lone surrogate cannot be encoded: ValueError from list_jobs(), not from the first page."""
    async with recorded_session() as (session, recorder):
        with pytest.raises(ValueError, match="surrogate"):
            session.list_jobs(**cast("dict[str, Any]", {argument: "a\ud800b"}))

    assert [] == recorder.requests


# --- create ----------------------------------------------------------------------------------

ONE_INPUT = st.one_of(
    st.builds(JobInput, prefix=HOSTILE),
    st.builds(JobInput, manifest=HOSTILE),
    st.builds(JobInput, url_file=HOSTILE),
    st.builds(JobInput, object=HOSTILE),
)
ANY_INPUT = st.builds(
    JobInput,
    prefix=st.none() | HOSTILE,
    manifest=st.none() | HOSTILE,
    url_file=st.none() | HOSTILE,
    object=st.none() | HOSTILE,
)
#: Job names the service allows: letters (any script), digits, ``_`` and ``-``.
JOB_NAMES = st.from_regex(r"[\w-]{1,30}", fullmatch=True)
WORKFLOW = st.fixed_dictionaries(
    {
        "name": mostly(JOB_NAMES, SAFE_TEXT | HOSTILE | ANYTHING),
        "input": mostly(ONE_INPUT, ANY_INPUT | ANYTHING),
        "workflow_ids": mostly(
            st.lists(SAFE_IDS, min_size=1, max_size=3), st.lists(HOSTILE, max_size=3) | ANYTHING
        ),
    },
    optional={
        "time_interval": mostly(
            # (A naive time never gets into a TimeInterval: the record refuses it.)
            st.builds(TimeInterval, st.none() | AWARE, st.none() | AWARE),
            ANYTHING,
        ),
        "user_data": st.integers(0, 19).flatmap(lambda n: HOSTILE if n == 0 else st.nothing()),
    },
)
JOB = st.fixed_dictionaries(
    {
        "name": mostly(JOB_NAMES, SAFE_TEXT | HOSTILE | ANYTHING),
        "input": mostly(ONE_INPUT, ANY_INPUT | ANYTHING),
        "tag": mostly(SAFE_TEXT, HOSTILE | ANYTHING),
    },
    optional={
        "queue_id": mostly(SAFE_TEXT, HOSTILE | ANYTHING),
        "template_id": mostly(SAFE_TEXT, HOSTILE | ANYTHING),
        "user_data": mostly(HOSTILE, ANYTHING),
        "callback": mostly(SAFE_TEXT, HOSTILE | ANYTHING),
        "output": mostly(
            st.builds(
                Output,
                st.none() | st.just(REGION),
                st.none() | st.just(BUCKET),
                st.none() | HOSTILE,
            ),
            st.builds(Output, HOSTILE, HOSTILE, HOSTILE) | ANYTHING,
        ),
        "job_level": mostly(st.integers(0, 2), st.integers() | ANYTHING),
        "time_interval": mostly(
            st.builds(TimeInterval, st.none() | AWARE, st.none() | AWARE), ANYTHING
        ),
        "workflow_ids": st.integers(0, 9).flatmap(
            lambda n: st.lists(HOSTILE, max_size=2) if n == 0 else st.just(())
        ),
    },
)
CREATE = WORKFLOW | JOB


@pytest.mark.anyio
@given(arguments=CREATE)
@fuzz(800)
async def test_create_arguments_work_or_are_refused_before_any_request(
    arguments: dict[str, Any],
) -> None:
    """create_job: one POST whose XML carries the text unchanged, or ValueError/TypeError."""
    valid = valid_create(arguments)
    async with recorded_session() as (session, recorder):
        try:
            await session.create_job(**arguments)
        except (ValueError, TypeError) as exc:
            event(f"refused: {type(exc).__name__}")
            reason = str(exc)
            assert not valid, f"refused valid arguments: {reason}"
            assert [] == recorder.requests
            return
        event("accepted")
        assert valid, "accepted invalid arguments"

    # The body carries the text intact (surrounding whitespace aside: XML readers,
    # the service's as ours, strip it), and nothing else: no element was injected.
    (request,) = recorder.requests
    sent = decode_create_request(request.content)
    assert arguments["name"].strip() == sent.name
    assert _stripped(arguments["input"]) == sent.input
    assert (arguments.get("user_data") or "").strip() == (sent.operation.user_data or "")


def _stripped(value: JobInput) -> JobInput:
    fields = {
        name: (text.strip() or None) if text else text for name, text in _fields(value).items()
    }
    return JobInput(**fields)


# --- the session and the other records -------------------------------------------------------

SESSION = st.fixed_dictionaries(
    {
        "bucket": mostly(
            st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?-[0-9]{1,12}", fullmatch=True),
            st.sampled_from(["A-1", "examplebucket", "-1", "a--"]) | HOSTILE | ANYTHING,
        ),
        "region": mostly(
            st.sampled_from([REGION, "ap-beijing-fsi", "na-siliconvalley", "ap-shanghai-adc"]),
            st.sampled_from(["AP-BEIJING", "beijing", "ap-", "-ap"]) | HOSTILE | ANYTHING,
        ),
    },
    optional={
        "endpoint": mostly(
            st.sampled_from(
                [
                    "http://127.0.0.1:8321",
                    "http://localhost",
                    "http://[::1]:1/",
                    "https://example.com",
                    "https://example.com/base/",
                    "https://[2001:db8::1]:8443",
                ]
            ),
            st.sampled_from(
                ["http://example.com", "ftp://x", "https://u:p@h", "https://h/?q", "//h", "h"]
            )
            | HOSTILE
            | ANYTHING,
        ),
        "timeout": mostly(st.none() | st.floats(0.001, 1e6), ANYTHING),
        "max_connections": mostly(st.integers(1, 1000), st.integers() | ANYTHING),
        "max_response_bytes": mostly(st.none() | st.integers(1, 10**12), ANYTHING),
        "retry": mostly(st.none() | st.just(RetryPolicy()), ANYTHING),
        "allow_insecure_http": mostly(st.booleans(), ANYTHING),
    },
)


@given(arguments=SESSION)
@fuzz(1200)
def test_session_arguments_work_or_are_refused(arguments: dict[str, Any]) -> None:
    """Session(...): a session, or ValueError/TypeError (it makes no connection either way)."""
    valid = valid_session(arguments)
    try:
        session = Session(signer=NullSigner(), **arguments)
    except (ValueError, TypeError) as exc:
        event(f"refused: {type(exc).__name__}")
        reason = str(exc)
        assert not valid, f"refused valid arguments: {reason}"
        return
    event("accepted")
    assert valid, "accepted invalid arguments"

    assert arguments["bucket"] == session.bucket
    assert session.endpoint.startswith(("https://", "http://"))


@given(
    max_attempts=mostly(st.integers(1, 100), st.integers() | ANYTHING),
    backoff=mostly(st.floats(0, 1e6), ANYTHING),
    max_backoff=mostly(st.floats(0, 1e6), ANYTHING),
    max_retry_after=mostly(st.floats(0, 1e6), ANYTHING),
    attempt=st.integers(0, 10**6),
    retry_after=st.none() | st.floats(allow_nan=True, allow_infinity=True),
)
@fuzz(700)
def test_retry_policy_arguments_work_or_are_refused(
    max_attempts: Any,
    backoff: Any,
    max_backoff: Any,
    max_retry_after: Any,
    attempt: int,
    retry_after: float | None,
) -> None:
    """RetryPolicy(...) or ValueError/TypeError; a valid policy's delay is finite and >= 0."""
    valid = valid_retry_policy(max_attempts, backoff, max_backoff, max_retry_after)
    try:
        policy = RetryPolicy(
            max_attempts=max_attempts,
            backoff=backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
        )
    except (ValueError, TypeError) as exc:
        event(f"refused: {type(exc).__name__}")
        reason = str(exc)
        assert not valid, f"refused valid arguments: {reason}"
        return
    event("accepted")
    assert valid, "accepted invalid arguments"

    delay = policy.delay(attempt, retry_after)
    assert math.isfinite(delay)
    assert 0 <= delay <= max(policy.max_backoff, policy.max_retry_after)


@given(
    secret_id=mostly(st.text(alphabet=string.ascii_letters + string.digits, min_size=1), ANYTHING),
    secret_key=mostly(SAFE_TEXT, ANYTHING),
    token=mostly(st.none() | st.text(alphabet=string.ascii_letters + "+/=", min_size=1), ANYTHING),
)
@fuzz(700)
def test_credentials_work_or_are_refused(secret_id: Any, secret_key: Any, token: Any) -> None:
    """Credentials(...) holds only header-safe text, or raises ValueError/TypeError."""
    valid = valid_credentials(secret_id, secret_key, token)
    try:
        credentials = Credentials(secret_id, secret_key, token=token)
    except (ValueError, TypeError) as exc:
        event(f"refused: {type(exc).__name__}")
        reason = str(exc)
        assert not valid, f"refused valid credentials: {reason}"
        return
    event("accepted")
    assert valid, "accepted invalid credentials"

    for text in (credentials.secret_id, credentials.token or "x"):
        assert text.isascii()
        assert text.isprintable()
        assert " " not in text


# --- answers ---------------------------------------------------------------------------------

NAMES = [
    "Response", "Error", "RequestId", "JobsDetail", "NextToken", "NonExistJobIds", "Code",
    "Message", "Type", "Name", "JobId", "State", "CreationTime", "StartTime", "EndTime", "Input",
    "Prefix", "Operation", "TimeInterval", "Start", "End", "WorkflowIds", "JobLevel", "Output",
    "JobParam", "TemplateId", "x:JobId", "Unknown",
]  # fmt: skip
TEXTS = st.one_of(
    st.sampled_from(
        ["", "-", "j00000000", "Running", "Archived", "1", "x", "2022-06-27T15:23:10+0800",
         "9999-12-31T23:59:59-2359", "&amp;", "&#x10FFFF;", "&#0;", "&lol;", "<![CDATA[<x>]]>",
         "<!-- c -->", "<?pi x?>", "]]>", "\x00", "\ud800"]
    ),
    st.text(alphabet=string.printable, max_size=20),
    st.text(max_size=8),
)  # fmt: skip
PROLOGS = st.sampled_from(
    [
        "",
        '<?xml version="1.0"?>',
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="GBK"?>',
        '<?xml version="1.1"?>',
        "\ufeff",
        "<!DOCTYPE Response>",
        '<!DOCTYPE r [<!ENTITY e "x">]>',
        '<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/hostname">]>',
        '<!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd">',
    ]
)


def _documents() -> st.SearchStrategy[bytes]:
    def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        attributes = st.sampled_from(
            ["", ' a="1"', ' xmlns="urn:x"', " xmlns:x='urn:y'", ' b="&e;"']
        )
        content = TEXTS | st.lists(children, max_size=5).map("".join)
        return st.builds(
            lambda name, attribute, body: f"<{name}{attribute}>{body}</{name}>",
            st.sampled_from(NAMES),
            attributes,
            content,
        )

    leaf = TEXTS | st.sampled_from(NAMES).map(lambda name: f"<{name}/>")
    tree = st.recursive(leaf, element, max_leaves=30)
    root = st.sampled_from(["Response", "Error", "Result", "JobsDetail"])
    encoding = st.sampled_from(["utf-8", "utf-16", "latin-1", "gbk"])
    return st.builds(
        lambda prolog, name, body, codec: (f"{prolog}<{name}>{body}</{name}>").encode(
            codec, "replace"
        ),
        PROLOGS,
        root,
        tree,
        encoding,
    )


ANSWERS = _documents() | st.binary(max_size=300)


@given(body=ANSWERS)
@fuzz(2000)
def test_any_answer_decodes_or_raises_response_parse_error(body: bytes) -> None:
    """The decoders return records or raise ResponseParseError, nothing else."""
    snippets = []
    for decode in (decode_list, decode_describe, decode_job_response):
        try:
            decode(body)
        except ResponseParseError as exc:
            snippets.append(exc.snippet)

    assert all(len(snippet) <= 200 for snippet in snippets)


@given(
    status=st.integers(100, 599),
    body=ANSWERS,
    retry_after=st.none() | HOSTILE | st.floats().map(str) | st.integers().map(str),
    request_id=st.none() | st.text(alphabet=string.printable, max_size=20),
)
@fuzz(1500)
def test_any_error_answer_becomes_a_service_error(
    status: int, body: bytes, retry_after: str | None, request_id: str | None
) -> None:
    """error_from_response never raises; Retry-After is None or a finite number >= 0."""
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if request_id is not None:
        headers["x-ci-request-id"] = request_id

    error = error_from_response(status, body, headers, method="GET", url="https://h/p")

    assert isinstance(error, ServiceError)
    assert status == error.status_code
    if isinstance(error, ThrottledError) and error.retry_after is not None:
        assert math.isfinite(error.retry_after)
        assert error.retry_after >= 0
    assert len(str(error)) < 1000


@pytest.mark.anyio
@given(
    status=st.sampled_from([200, 200, 200, 201, 204, 400, 403, 404, 429, 500, 503]), body=ANSWERS
)
@fuzz(600)
async def test_any_answer_through_a_session_gives_records_or_a_ci_error(
    status: int, body: bytes
) -> None:
    """get_job and list_jobs on a fuzzed answer: records, or a CIError subclass."""
    async with recorded_session() as (session, recorder):
        recorder.reply = lambda _: httpx.Response(status, content=body)
        with anyio.fail_after(5):
            try:
                await session.get_job("j00000000")
            except JobNotFoundError:
                pass
            except CIError:
                pass
            try:
                async for _ in session.list_jobs():
                    pass
            except CIError:
                pass
