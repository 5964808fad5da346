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

The example budgets below add up to about 14,000 examples per run (async
tests count once per event loop), in about half a minute.
"""

from __future__ import annotations

import math
import string
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, cast
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


def fuzz(examples: int) -> settings:
    """Hypothesis settings for one fuzz test: ``examples`` examples, no deadline."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
        ],
    )


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


def valid_job_id(text: str) -> bool:
    """Whether the library should accept ``text`` as a job id (the documented rule)."""
    import unicodedata

    return (
        0 < len(text) <= 128
        and not any(ch in "/?#%\\," for ch in text)
        and not any(ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in text)
        and text != "."
        and ".." not in text
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
    async with recorded_session() as (session, recorder):
        try:
            found = await session.get_jobs(job_ids, concurrency=concurrency)
        except (ValueError, TypeError) as exc:
            event(f"refused: {type(exc).__name__}")
            assert [] == recorder.requests
            return
        event("accepted")

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
            assert [] == recorder.requests
            return
        except WaitTimeoutError:
            # A valid but tiny timeout (microseconds) can pass before the first answer.
            event("timed out")
            assert isinstance(wait, float)
            assert wait < 0.5
            return
        event("accepted")

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
    async with recorded_session() as (session, recorder):
        try:
            iterator = session.list_jobs(**filters)
        except (ValueError, TypeError) as exc:
            event(f"refused: {type(exc).__name__}")
            assert [] == recorder.requests
            return
        event("accepted")
        assert [] == recorder.requests
        with anyio.fail_after(5):
            jobs = [job async for job in iterator]

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
WORKFLOW = st.fixed_dictionaries(
    {
        "name": mostly(SAFE_TEXT, HOSTILE | ANYTHING),
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
        "name": mostly(SAFE_TEXT, HOSTILE | ANYTHING),
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
    async with recorded_session() as (session, recorder):
        try:
            await session.create_job(**arguments)
        except (ValueError, TypeError) as exc:
            event(f"refused: {type(exc).__name__}")
            assert [] == recorder.requests
            return
        event("accepted")

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
    try:
        session = Session(signer=NullSigner(), **arguments)
    except (ValueError, TypeError) as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event("accepted")

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
    try:
        policy = RetryPolicy(
            max_attempts=max_attempts,
            backoff=backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
        )
    except (ValueError, TypeError) as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event("accepted")

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
    try:
        credentials = Credentials(secret_id, secret_key, token=token)
    except (ValueError, TypeError) as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event("accepted")

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
