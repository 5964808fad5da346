"""The emulator's XML has exactly the shape of the service's published samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import xmltodict

from ci_async.testing import Emulator, FakeClock
from ci_async.testing._render import format_time, parse_time, render_error

from ._support import parse, send

DATA = Path(__file__).parent.parent / "data"
SAMPLE_NOW = parse_time("2022-06-27T15:24:00+0800")

pytestmark = pytest.mark.anyio


def sample(name: str) -> dict[str, Any]:
    document: dict[str, Any] = xmltodict.parse(
        (DATA / name).read_bytes(), force_list={"JobsDetail"}
    )
    return document


def sample_emulator() -> Emulator:
    """An emulator holding the two jobs of the samples, at the samples' time."""
    emulator = Emulator(clock=FakeClock(start=SAMPLE_NOW), verify_signatures=False)
    emulator.add_job(
        job_id="b3deffea2f84911ec9cb15254008618d9",
        type="Workflow",
        name="demo",
        state="Running",
        start_after=3600,  # the sample shows no StartTime yet
        creation_time="2022-06-27T15:23:10+0800",
        prefix="input",
        time_interval=("2022-02-01T12:00:00+0800", "2022-05-01T12:00:00+0800"),
        workflow_ids=["w7476ff3564ee45b7b490d64bccaba6cc"],
    )
    return emulator


def test_format_time_writes_china_standard_time() -> None:
    """Times are written in UTC+8 with a +0800 offset."""
    assert "2022-06-27T15:23:10+0800" == format_time(1_656_314_590)


@pytest.mark.parametrize(
    "text", ["2022-06-27T15:23:10+0800", "2022-06-27T15:23:10+08:00", "2022-06-27T07:23:10Z"]
)
def test_parse_time_accepts_offsets(text: str) -> None:
    """+0800, +08:00 and Z all parse to the same instant."""
    assert 1_656_314_590 == parse_time(text)


def test_parse_time_needs_a_time_zone() -> None:
    """A naive time is refused."""
    with pytest.raises(ValueError, match="not a time like"):
        parse_time("2022-06-27T15:23:10")


@pytest.mark.parametrize("text", ["-", ""])
def test_parse_time_refuses_not_yet(text: str) -> None:
    """The service's "not yet" is no time to filter or seed by."""
    with pytest.raises(ValueError, match="not a time like"):
        parse_time(text)


async def test_describe_matches_the_sample(anyio_backend: str) -> None:
    """A describe answer is the sample document, field for field."""
    response = await send(
        sample_emulator(), "GET", "/inventorytriggerjob/b3deffea2f84911ec9cb15254008618d9"
    )
    expected = sample("describe_workflow_job.xml")
    document = xmltodict.parse(response.content, force_list={"JobsDetail"})
    expected["Response"]["RequestId"] = document["Response"]["RequestId"]
    assert expected == document


async def test_list_matches_the_sample(anyio_backend: str) -> None:
    """A list answer with both job types is the sample document (but for the token)."""
    emulator = sample_emulator()
    emulator.add_job(
        job_id="be8f65004eb8511eaaed4f377124a303c",
        type="Job",
        name="demo",
        state="Running",
        creation_time="2022-06-27T15:23:10+0800",
        prefix="input",
        time_interval=("2022-02-01T12:00:00+0800", "2022-05-01T12:00:00+0800"),
        queue_id="p893bcda225bf4945a378da6662e81a89",
        user_data="this is my inventorytriggerjob",
        callback="https://www.callback.com",
        template_id="t1460606b9752148c4ab182f55163ba7cd",
        output_region="ap-chongqing",
        output_bucket="test-1234567890",
        output_object="output/${InventoryTriggerJobId}/out.mp4",
        job_level=0,
    )
    response = await send(emulator, "GET", "/inventorytriggerjob", params={"size": "1"})
    first = xmltodict.parse(response.content, force_list={"JobsDetail"})
    token = first["Response"]["NextToken"]
    response = await send(
        emulator, "GET", "/inventorytriggerjob", params={"size": "1", "nextToken": token}
    )
    second = xmltodict.parse(response.content, force_list={"JobsDetail"})
    expected = sample("list_two_jobs.xml")["Response"]
    details = second["Response"]["JobsDetail"] + first["Response"]["JobsDetail"]
    # The sample's Job-type job ran 15:23:11-15:25:10 yet says Running: the emulator
    # only shows times that have passed, so compare everything else.
    for detail in (expected["JobsDetail"][1], details[1]):
        detail.pop("StartTime")
        detail.pop("EndTime")
    assert expected["JobsDetail"] == details


async def test_error_document_shape(anyio_backend: str) -> None:
    """Errors have the <Error> root with Code, Message, RequestId and TraceId."""
    emulator = Emulator()
    response = await send(emulator, "GET", "/inventorytriggerjob", signed=False)
    error = parse(response)["Error"]
    assert ["Code", "Message", "RequestId", "TraceId"] == list(error)
    assert response.headers["x-ci-request-id"] == error["RequestId"]


async def test_common_response_headers(anyio_backend: str) -> None:
    """Server: tencent-ci, x-ci-request-id, application/xml and a Date."""
    response = await send(Emulator(), "GET", "/inventorytriggerjob")
    headers = response.headers
    assert ("tencent-ci", "application/xml") == (headers["server"], headers["content-type"])
    assert headers["x-ci-request-id"] == parse(response)["Response"]["RequestId"]
    assert headers["date"].endswith(" GMT")


async def test_request_ids_are_unique(anyio_backend: str) -> None:
    """Every answer carries a fresh request id."""
    emulator = Emulator()
    responses = [await send(emulator, "GET", "/inventorytriggerjob") for _ in range(5)]
    assert 5 == len({response.headers["x-ci-request-id"] for response in responses})


def test_error_text_is_escaped() -> None:
    """Markup in a message cannot break the document."""
    body = render_error("InvalidArgument", "bad <value> & more", "r1", "t1")
    assert "bad <value> & more" == xmltodict.parse(body)["Error"]["Message"]


async def test_names_are_escaped(anyio_backend: str) -> None:
    """A name with XML special characters round-trips."""
    emulator = Emulator(verify_signatures=False)
    stored = emulator.add_job(name="a<b>&'\"c")
    response = await send(emulator, "GET", f"/inventorytriggerjob/{stored.job_id}")
    assert "a<b>&'\"c" == parse(response)["Response"]["JobsDetail"][0]["Name"]


async def test_date_header_follows_the_emulator_clock(anyio_backend: str) -> None:
    """The Date header is the emulator's time, like the times in the jobs."""
    emulator = Emulator(clock=FakeClock(start=1_700_000_000))
    response = await send(emulator, "GET", "/inventorytriggerjob")
    assert "Tue, 14 Nov 2023 22:13:20 GMT" == response.headers["date"]


async def test_add_samples_serves_the_documented_samples(anyio_backend: str) -> None:
    """add_samples(): both sample jobs, with every field of the samples but state and times."""
    emulator = Emulator(verify_signatures=False)
    added = emulator.add_samples()
    assert {"b3deffea2f84911ec9cb15254008618d9": "Success"} | {
        "be8f65004eb8511eaaed4f377124a303c": "Running"
    } == {job.job_id: emulator.state(job.job_id) for job in added}
    response = await send(emulator, "GET", "/inventorytriggerjob", params={"size": "2"})
    document = xmltodict.parse(response.content, force_list={"JobsDetail"})
    details = document["Response"]["JobsDetail"]
    expected = sample("list_two_jobs.xml")["Response"]["JobsDetail"]
    # Newest first; both were created in the same second, so by id, descending.
    assert ["be8f65004eb8511eaaed4f377124a303c", "b3deffea2f84911ec9cb15254008618d9"] == [
        detail["JobId"] for detail in details
    ]
    described = details[1]
    assert ("Success", "2022-06-27T15:23:11+0800", "2022-06-27T15:25:10+0800") == (
        described.pop("State"),
        described.pop("StartTime"),
        described.pop("EndTime"),
    )
    running = details[0]
    assert ("Running", "2022-06-27T15:23:11+0800", "-") == (
        running.pop("State"),
        running.pop("StartTime"),
        running.pop("EndTime"),
    )
    for detail in expected:
        for key in ("State", "StartTime", "EndTime"):
            detail.pop(key)
    assert expected == [described, running]


def test_add_samples_twice_is_refused() -> None:
    """The sample ids are unique: a second add_samples() adds nothing and says why."""
    emulator = Emulator()
    emulator.add_samples()
    with pytest.raises(ValueError, match="exist already"):
        emulator.add_samples()
    assert 2 == len(emulator)
