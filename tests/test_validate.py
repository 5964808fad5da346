"""Argument validation: bad input raises before any request is made."""

from __future__ import annotations

import ast
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from ci_async import (
    JobInput,
    JobNotFoundError,
    JobState,
    JobType,
    Output,
    Session,
    TimeInterval,
)
from ci_async._checks import job_id as check_job_id
from ci_async._config import bucket_name, endpoint_url, region_name
from ci_async._create import CreateJobRequest
from ci_async._query import ListFilters
from ci_async.testing import Emulator

from ._session_support import BUCKET, REGION, CountingSigner, Recorder, session_for

pytestmark = pytest.mark.anyio

CST = timezone(timedelta(hours=8))
AWARE = datetime(2022, 6, 27, 15, 23, 10, tzinfo=CST)
NAIVE = datetime(2022, 6, 27, 15, 23, 10)


@pytest.fixture(name="recorder")
def fixture_recorder() -> Recorder:
    """A service that must never be called."""

    async def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected request {request.method} {request.url}")

    return Recorder(never)


# --- bucket, region, endpoint -----------------------------------------------------------


@pytest.mark.parametrize("bucket", ["examplebucket-1250000000", "a-1", "my-bucket-2-1250000000"])
def test_good_buckets_pass(bucket: str) -> None:
    """BucketName-APPID forms are accepted."""
    assert bucket == bucket_name(bucket)


@pytest.mark.parametrize(
    "bucket",
    ["", "examplebucket", "Example-1250000000", "example_bucket-125", "-x-125", "x--", "x-12a"],
)
def test_bad_buckets_raise_value_error(bucket: str) -> None:
    """Anything but lowercase name, hyphen, digits is refused with a clear message."""
    with pytest.raises(ValueError, match="BucketName-APPID"):
        bucket_name(bucket)


@pytest.mark.parametrize("region", ["ap-beijing", "na-siliconvalley", "ap-beijing-fsi", "eu-x1"])
def test_good_regions_pass(region: str) -> None:
    """Region names such as ap-beijing are accepted."""
    assert region == region_name(region)


@pytest.mark.parametrize("region", ["", "beijing", "AP-BEIJING", "ap_beijing", "ap-beijing/x"])
def test_bad_regions_raise_value_error(region: str) -> None:
    """Malformed regions are refused."""
    with pytest.raises(ValueError, match="region"):
        region_name(region)


def test_session_rejects_a_bad_bucket() -> None:
    """Session validates the bucket up front."""
    with pytest.raises(ValueError, match="bucket"):
        Session("Bad Bucket", REGION, signer=CountingSigner())


def test_session_rejects_a_bad_region() -> None:
    """Session validates the region up front."""
    with pytest.raises(ValueError, match="region"):
        Session(BUCKET, "nowhere", signer=CountingSigner())


def test_default_endpoint_is_the_bucket_host() -> None:
    """Without endpoint the session targets https://{bucket}.ci.{region}.myqcloud.com."""
    session = Session(BUCKET, REGION, signer=CountingSigner())

    assert f"https://{BUCKET}.ci.{REGION}.myqcloud.com" == session.endpoint


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("http://127.0.0.1:8321", "http://127.0.0.1:8321"),
        ("http://localhost:8321/", "http://localhost:8321"),
        ("http://[::1]:8321", "http://[::1]:8321"),
        ("https://ci.example.com/prefix/", "https://ci.example.com/prefix"),
    ],
)
def test_good_endpoints_pass(endpoint: str, expected: str) -> None:
    """Https anywhere, plain http on loopback; a trailing slash is dropped."""
    assert expected == str(endpoint_url(endpoint, allow_insecure_http=False)).rstrip("/")


def test_an_endpoint_with_a_lone_surrogate_is_a_plain_value_error() -> None:
    """Found by fuzzing: httpx raised UnicodeEncodeError, not InvalidURL, for such a URL."""
    for endpoint in ("\ud800", "https://example.com/\ud800", "https://exa\ud800mple.com"):
        with pytest.raises(ValueError, match="endpoint") as caught:
            endpoint_url(endpoint, allow_insecure_http=False)
        assert type(caught.value) is ValueError
        assert "\\ud800" in str(caught.value)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://ci.example.com",
        "ftp://127.0.0.1",
        "127.0.0.1:8321",
        "https://user:pw@ci.example.com",
        "https://ci.example.com/?x=1",
        "https://ci.example.com/#frag",
        "https://",
    ],
)
def test_bad_endpoints_raise_value_error(endpoint: str) -> None:
    """Non-http(s), userinfo, query, fragment and insecure remote http are refused."""
    with pytest.raises(ValueError, match="endpoint"):
        endpoint_url(endpoint, allow_insecure_http=False)


#: A secret that must never be quoted back.
PASSWORD = "PW-s3cr3t-9d1f"


@pytest.mark.parametrize(
    "endpoint",
    [
        f"https://ci.example.com/?token={PASSWORD}",
        f"https://ci.example.com?token={PASSWORD}",
        f"https://ci.example.com/base?sign={PASSWORD}&x=1",
        f"http://ci.example.com/?token={PASSWORD}",
        f"http://127.0.0.1:8321/?token={PASSWORD}",
        f"ftp://ci.example.com/?token={PASSWORD}",
        f"https://ci.example.com/#token={PASSWORD}",
        f"https://ci.example.com/?#{PASSWORD}",
        f"https://exa mple.com/?token={PASSWORD}",
        f"https://ci.example.com:99999/?token={PASSWORD}",
        f"https://user:{PASSWORD}@ci.example.com/?token={PASSWORD}",
        f"//ci.example.com/?token={PASSWORD}",
        f"ci.example.com/?token={PASSWORD}",
    ],
)
@pytest.mark.parametrize("source", ["argument", "environment"])
def test_a_refused_endpoint_hides_its_query_like_its_userinfo(
    endpoint: str, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ValueError of an endpoint with a query (or fragment) shows neither, only a marker."""
    argument: str | None = None
    if source == "argument":
        argument = endpoint
    else:
        monkeypatch.setenv("CI_ASYNC_ENDPOINT", endpoint)

    with pytest.raises(ValueError, match=r"endpoint|CI_ASYNC_ENDPOINT") as caught:
        Session(BUCKET, REGION, signer=CountingSigner(), endpoint=argument)

    text = str(caught.value)
    assert PASSWORD not in text
    assert PASSWORD not in repr(caught.value.args)
    assert "token" not in text
    assert "hidden" in text or "unparseable" in text


def test_insecure_http_can_be_allowed() -> None:
    """allow_insecure_http accepts plain http to any host."""
    session = Session(
        BUCKET,
        REGION,
        signer=CountingSigner(),
        endpoint="http://ci.internal:8080",
        allow_insecure_http=True,
    )

    assert "http://ci.internal:8080" == session.endpoint


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"timeout": -1}, ValueError),
        ({"timeout": "10"}, TypeError),
        ({"retry": 3}, TypeError),
        ({"max_connections": 0}, ValueError),
        ({"http_client": object()}, TypeError),
        ({"transport": object()}, TypeError),
        ({"signer": object()}, TypeError),
    ],
)
def test_bad_session_options_raise(kwargs: dict[str, object], exc: type[Exception]) -> None:
    """Every Session option is type- and range-checked."""
    options: dict[str, object] = {"signer": CountingSigner(), **kwargs}
    with pytest.raises(exc):
        Session(BUCKET, REGION, **options)  # type: ignore[arg-type]


def test_signer_and_credentials_together_are_refused() -> None:
    """A signer holds its own keys: credentials beside it are an error."""
    from ci_async import Credentials

    with pytest.raises(ValueError, match="signer"):
        Session(BUCKET, REGION, signer=CountingSigner(), credentials=Credentials("id", "key"))


def test_http_client_and_transport_together_are_refused() -> None:
    """Only one of http_client and transport may be given."""
    with pytest.raises(ValueError, match="http_client"):
        Session(
            BUCKET,
            REGION,
            signer=CountingSigner(),
            http_client=httpx.AsyncClient(),
            transport=httpx.MockTransport(lambda _: httpx.Response(200)),
        )


# --- job ids ----------------------------------------------------------------------------


@pytest.mark.parametrize("job_id", ["b3deffea2f84911ec9cb15254008618d9", "a", "x" * 128, "a.b"])
def test_good_job_ids_pass(job_id: str) -> None:
    """Ordinary ids are accepted."""
    assert job_id == check_job_id(job_id)


@pytest.mark.parametrize(
    "job_id",
    [
        "",
        "x" * 129,
        "a/b",
        "a?b",
        "a#b",
        "a%2F",
        "a b",
        "a\tb",
        "a\nb",
        "a\x00b",
        "a\x7fb",
        "é\x7f",
        "a\u200bb",
        "..",
        "a..b",
        ".",
        "a\\b",
        "a,b",
    ],
)
async def test_bad_job_ids_raise_before_any_request(job_id: str, recorder: Recorder) -> None:
    """get_job/cancel_job/wait_for_job refuse bad ids with ValueError and send nothing."""
    async with session_for(recorder) as session:
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: session.get_job(job_id),
            lambda: session.cancel_job(job_id),
            lambda: session.wait_for_job(job_id),
            lambda: session.get_jobs(["ok", job_id]),
        ]
        for call in calls:
            with pytest.raises(ValueError, match="job"):
                await call()

    assert [] == recorder.requests


DOCS_ERRORS = Path(__file__).resolve().parent.parent / "docs" / "errors.md"


def _python_string(code: str) -> str:
    """A table cell's Python string: a literal, or a literal repeated (``"x" * 129``)."""
    node = ast.parse(code, mode="eval").body
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        text, times = ast.literal_eval(node.left), ast.literal_eval(node.right)
        assert isinstance(text, str)
        assert isinstance(times, int)
        return text * times
    value = ast.literal_eval(node)
    assert isinstance(value, str)
    return value


def documented_job_ids() -> list[tuple[str, bool]]:
    """The rows of the job-id table of docs/errors.md: (id, refused before any request?)."""
    rows: list[tuple[str, bool]] = []
    in_table = False
    for line in DOCS_ERRORS.read_text(encoding="utf-8").splitlines():
        if line.startswith("| Job id (as a Python string)"):
            in_table = True
            continue
        if not in_table or line.startswith("|---"):
            continue
        if not line.startswith("|"):
            break
        ids_cell, verdict = [cell.strip() for cell in line.strip("|").split("|")][:2]
        refused = verdict.startswith("yes")
        assert refused or verdict.startswith("no"), line
        rows += [(_python_string(code), refused) for code in re.findall(r"`([^`]+)`", ids_cell)]
    return rows


def test_the_job_id_table_of_the_docs_has_both_kinds_of_rows() -> None:
    """docs/errors.md lists job ids that are sent and job ids that are refused."""
    rows = documented_job_ids()
    assert {True, False} == {refused for _, refused in rows}
    assert ("123", False) in rows


@pytest.mark.parametrize(("job_id", "refused"), documented_job_ids())
async def test_job_ids_behave_as_docs_errors_says(job_id: str, refused: bool) -> None:
    """Refused ids raise ValueError, sending nothing; any other id is sent, the service judges."""

    async def not_found(request: httpx.Request) -> httpx.Response:
        body = b"<Response><NonExistJobIds>" + request.url.path.rsplit("/", 1)[1].encode()
        return httpx.Response(200, content=body + b"</NonExistJobIds></Response>")

    recorder = Recorder(not_found)
    async with session_for(recorder) as session:
        if refused:
            with pytest.raises(ValueError, match="job"):
                await session.get_job(job_id)
            assert [] == recorder.requests
            return
        with pytest.raises(JobNotFoundError) as caught:
            await session.get_job(job_id)

    assert [f"/inventorytriggerjob/{job_id}"] == [r.url.path for r in recorder.requests]
    assert (job_id, 200) == (caught.value.job_id, caught.value.status_code)


@pytest.mark.parametrize("job_id", [None, 12, b"abc"])
async def test_non_str_job_ids_raise_type_error(job_id: object, recorder: Recorder) -> None:
    """A job id that is not a str is a TypeError."""
    async with session_for(recorder) as session:
        with pytest.raises(TypeError):
            await session.get_job(job_id)  # type: ignore[arg-type]

    assert [] == recorder.requests


async def test_get_jobs_refuses_a_single_string(recorder: Recorder) -> None:
    """get_jobs("abc") would look up a, b, c: it is a TypeError instead."""
    async with session_for(recorder) as session:
        with pytest.raises(TypeError):
            await session.get_jobs("abc")

    assert [] == recorder.requests


# --- list filters -----------------------------------------------------------------------


def test_filters_map_to_query_parameters() -> None:
    """Each filter becomes its documented query parameter."""
    params = ListFilters(
        type=JobType.JOB,
        states=[JobState.RUNNING, "Failed"],
        order="ASC",
        created_after=AWARE,
        created_before=AWARE + timedelta(days=1),
        workflow_id="w1",
        job_id="j1",
        name="demo",
    ).params()

    assert [
        ("type", "Job"),
        ("states", "Running,Failed"),
        ("orderByTime", "Asc"),
        ("startCreationTime", "2022-06-27T15:23:10+0800"),
        ("endCreationTime", "2022-06-28T15:23:10+0800"),
        ("workflowId", "w1"),
        ("jobId", "j1"),
        ("name", "demo"),
    ] == params


def test_a_single_state_and_all_are_accepted() -> None:
    """States takes one value too, and the wire's All."""
    assert [("states", "All")] == ListFilters(states="All").params()
    assert [("states", "Cancel")] == ListFilters(states=JobState.CANCEL).params()


def test_duplicate_states_are_sent_once() -> None:
    """Repeated states collapse, order kept."""
    assert [("states", "Failed,Running")] == ListFilters(
        states=["Failed", "Running", JobState.FAILED]
    ).params()


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"type": "job"}, ValueError),
        ({"type": "Batch"}, ValueError),
        ({"type": 1}, ValueError),
        ({"states": ["running"]}, ValueError),
        ({"states": ["Running", "Done"]}, ValueError),
        ({"states": []}, ValueError),
        ({"states": 3}, TypeError),
        ({"order": "newest"}, ValueError),
        ({"order": 1}, TypeError),
        ({"created_after": NAIVE}, ValueError),
        ({"created_before": NAIVE}, ValueError),
        ({"created_after": "2022-06-27"}, TypeError),
        ({"created_after": AWARE, "created_before": AWARE - timedelta(seconds=1)}, ValueError),
        ({"workflow_id": ""}, ValueError),
        ({"job_id": 5}, TypeError),
        ({"name": b"x"}, TypeError),
        ({"page_size": 0}, ValueError),
        ({"page_size": 101}, ValueError),
        ({"page_size": 10.0}, TypeError),
        ({"page_size": True}, TypeError),
        ({"limit": -1}, ValueError),
        ({"limit": "5"}, TypeError),
        ({"deadline": 0}, ValueError),
        ({"deadline": -5}, ValueError),
        ({"deadline": float("nan")}, ValueError),
        ({"next_token": ""}, ValueError),
        ({"next_token": 25}, TypeError),
        ({"next_token": "\ud800"}, ValueError),
        ({"created_before": datetime.max.replace(tzinfo=timezone.utc)}, ValueError),
        ({"created_after": datetime.min.replace(tzinfo=timezone(timedelta(hours=14)))}, ValueError),
        ({"states": ["Running", "All"]}, ValueError),
        ({"prefetch": "yes"}, TypeError),
    ],
)
async def test_bad_filters_raise_when_list_jobs_is_called(
    kwargs: dict[str, object], exc: type[Exception], recorder: Recorder
) -> None:
    """list_jobs validates at call time, before any iteration or request."""
    async with session_for(recorder) as session:
        with pytest.raises(exc):
            session.list_jobs(**kwargs)  # type: ignore[arg-type]

    assert [] == recorder.requests


# --- create -----------------------------------------------------------------------------

WF = {"workflow_ids": ["w1"]}
JOB = {"tag": "Transcode", "queue_id": "q1", "template_id": "t1"}


def test_records_refuse_naive_times_when_built() -> None:
    """A naive datetime never gets into a TimeInterval, so never into a create."""
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeInterval(NAIVE, None)


@pytest.mark.parametrize("name", ["n", "转码-job_1", "x" * 128, "2024-05-01_daily"])
async def test_names_the_service_allows_are_sent(name: str) -> None:
    """Letters (Chinese ones too), digits, ``_`` and ``-``: the create pages' rule."""
    emulator = Emulator()
    async with emulator.session() as session:
        job = await session.create_job(name=name, input=JobInput(prefix="p/"), **WF)  # type: ignore[arg-type]

    assert name == job.name == emulator.job(job.job_id).name


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"name": "", "input": JobInput(prefix="p/"), **WF}, ValueError),
        ({"name": "x" * 129, "input": JobInput(prefix="p/"), **WF}, ValueError),
        ({"name": "   ", "input": JobInput(prefix="p/"), **WF}, ValueError),
        ({"name": "my job", "input": JobInput(prefix="p/"), **WF}, ValueError),
        ({"name": "v1.2", "input": JobInput(prefix="p/"), **WF}, ValueError),
        ({"name": "a/b", "input": JobInput(prefix="p/"), **WF}, ValueError),
        ({"name": " n", "input": JobInput(prefix="p/"), **WF}, ValueError),
        ({"name": 5, "input": JobInput(prefix="p/"), **WF}, TypeError),
        ({"name": "n", "input": JobInput(), **WF}, ValueError),
        ({"name": "n", "input": JobInput(prefix="p/", object="o"), **WF}, ValueError),
        ({"name": "n", "input": JobInput(prefix=""), **WF}, ValueError),
        ({"name": "n", "input": {"prefix": "p/"}, **WF}, TypeError),
        ({"name": "n", "input": JobInput(prefix="p/")}, ValueError),
        ({"name": "n", "input": JobInput(prefix="p/"), **WF, **JOB}, ValueError),
        ({"name": "n", "input": JobInput(prefix="p/"), **WF, "output": Output()}, ValueError),
        ({"name": "n", "input": JobInput(prefix="p/"), **WF, "job_level": 1}, ValueError),
        ({"name": "n", "input": JobInput(prefix="p/"), "workflow_ids": "w1"}, TypeError),
        ({"name": "n", "input": JobInput(prefix="p/"), "workflow_ids": ["w 1"]}, ValueError),
        ({"name": "n", "input": JobInput(prefix="p/"), "workflow_ids": [""]}, ValueError),
        ({"name": "n", "input": JobInput(prefix="p/"), **JOB, "job_level": 3}, ValueError),
        ({"name": "n", "input": JobInput(prefix="p/"), **JOB, "job_level": "1"}, TypeError),
        ({"name": "n", "input": JobInput(prefix="p/"), **JOB, "output": "b"}, TypeError),
        (
            {"name": "n", "input": JobInput(prefix="p/"), **JOB, "output": Output(bucket="B")},
            ValueError,
        ),
        ({"name": "n", "input": JobInput(prefix="p/"), "tag": ""}, ValueError),
        (
            {
                "name": "n",
                "input": JobInput(prefix="p/"),
                **WF,
                "time_interval": TimeInterval(AWARE, AWARE - timedelta(days=1)),
            },
            ValueError,
        ),
        ({"name": "n", "input": JobInput(prefix="p/"), **WF, "time_interval": (1, 2)}, TypeError),
        (
            {
                "name": "n",
                "input": JobInput(prefix="p/"),
                **WF,
                "time_interval": TimeInterval(None, datetime.max.replace(tzinfo=timezone.utc)),
            },
            ValueError,
        ),
    ],
)
async def test_invalid_creates_raise_before_any_request(
    kwargs: dict[str, object], exc: type[Exception], recorder: Recorder
) -> None:
    """Every bad create combination is refused without a request."""
    async with session_for(recorder) as session:
        with pytest.raises(exc):
            await session.create_job(**kwargs)  # type: ignore[arg-type]

    assert [] == recorder.requests


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({**WF}, JobType.WORKFLOW),
        ({**JOB}, JobType.JOB),
        ({"output": Output(region="ap-chongqing", bucket="out-1250000000")}, JobType.JOB),
    ],
)
def test_create_infers_the_type(kwargs: dict[str, object], expected: JobType) -> None:
    """workflow_ids make a Workflow job; Job fields make a Job job."""
    arguments: dict[str, object] = {
        "name": "n",
        "input": JobInput(prefix="p/"),
        "workflow_ids": (),
        "tag": None,
        "queue_id": None,
        "template_id": None,
        "output": None,
        "user_data": None,
        "callback": None,
        "job_level": None,
        "time_interval": None,
        **kwargs,
    }

    assert expected == CreateJobRequest.build(**arguments).type  # type: ignore[arg-type]


# --- other call arguments ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"timeout": 0}, ValueError),
        ({"poll_interval": 0}, ValueError),
        ({"poll_interval": "1"}, TypeError),
        ({"on_update": "print"}, TypeError),
    ],
)
async def test_bad_wait_arguments_raise_before_any_request(
    kwargs: dict[str, object], exc: type[Exception], recorder: Recorder
) -> None:
    """wait_for_job checks its numbers and callback first."""
    async with session_for(recorder) as session:
        with pytest.raises(exc):
            await session.wait_for_job("j1", **kwargs)  # type: ignore[arg-type]

    assert [] == recorder.requests


@pytest.mark.parametrize("concurrency", [0, -1])
async def test_bad_concurrency_raises_before_any_request(
    concurrency: int, recorder: Recorder
) -> None:
    """get_jobs needs at least one worker."""
    async with session_for(recorder) as session:
        with pytest.raises(ValueError, match="concurrency"):
            await session.get_jobs(["j1"], concurrency=concurrency)

    assert [] == recorder.requests
