"""Describe, create, cancel, state progression and routing (raw HTTP, in process)."""

from __future__ import annotations

from typing import Any

import pytest

from ci_async.testing import Emulator, FakeClock

from ._support import error_code, ids_of, parse, send

pytestmark = pytest.mark.anyio

PATH = "/inventorytriggerjob"

WORKFLOW_REQUEST = b"""<Request><Name>nightly-run</Name><Type>Workflow</Type>
<Input><Prefix>videos/</Prefix></Input>
<Operation><TimeInterval><Start>2022-02-01T12:00:00+0800</Start>
<End>2022-05-01T12:00:00+0800</End></TimeInterval>
<WorkflowIds>w7476ff3564ee45b7b490d64bccaba6cc</WorkflowIds></Operation></Request>"""

JOB_REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<Request><Name>转码_1</Name><Type>Job</Type><Input><Manifest>inv/manifest.json</Manifest></Input>
<Operation><Tag>Transcode</Tag><UserData>ud</UserData><CallBack>https://cb.example</CallBack>
<JobParam><TemplateId>t1460606b9752148c4ab182f55163ba7cd</TemplateId></JobParam>
<Output><Region>ap-chongqing</Region><Bucket>test-1234567890</Bucket><Object>out.mp4</Object></Output>
<JobLevel>1</JobLevel></Operation></Request>""".encode()

JOB_HEAD = b"<Request><Name>n</Name><Type>Job</Type><Input><Prefix>p</Prefix></Input>"


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An emulator with a few generated jobs."""
    emulator = Emulator(seed=12)
    emulator.generate(30)
    return emulator


async def create(emulator: Emulator, body: bytes) -> dict[str, Any]:
    response = await send(
        emulator, "POST", PATH, content=body, headers={"Content-Type": "application/xml"}
    )
    assert 200 == response.status_code, response.text
    details: list[dict[str, Any]] = parse(response)["Response"]["JobsDetail"]
    assert 1 == len(details)
    return details[0]


async def test_describe_one_job(emulator: Emulator, anyio_backend: str) -> None:
    """GET /inventorytriggerjob/<id> answers that job's JobsDetail."""
    stored = emulator.jobs[3]
    document = parse(await send(emulator, "GET", f"{PATH}/{stored.job_id}"))
    assert [stored.job_id] == ids_of(document)
    assert "NonExistJobIds" not in document["Response"]


async def test_describe_unknown_job_is_reported_missing(
    emulator: Emulator, anyio_backend: str
) -> None:
    """An unknown id is a 200 with NonExistJobIds and no JobsDetail."""
    response = await send(emulator, "GET", f"{PATH}/bnope")
    document = parse(response)["Response"]
    assert (200, ["bnope"]) == (response.status_code, document["NonExistJobIds"])
    assert "JobsDetail" not in document


async def test_describe_several_ids(emulator: Emulator, anyio_backend: str) -> None:
    """Comma-separated ids: found ones in the order asked, the others in NonExistJobIds."""
    first, second = emulator.jobs[5].job_id, emulator.jobs[1].job_id
    document = parse(await send(emulator, "GET", f"{PATH}/{first},bmissing,{second},{first}"))
    assert [first, second] == ids_of(document)
    assert ["bmissing"] == document["Response"]["NonExistJobIds"]


@pytest.mark.parametrize("ids", [",", "a,,b", ",".join(f"b{i}" for i in range(101))])
async def test_describe_bad_id_lists(emulator: Emulator, ids: str, anyio_backend: str) -> None:
    """Empty ids or more than 100 ids are invalid."""
    response = await send(emulator, "GET", f"{PATH}/{ids}")
    assert (400, "InvalidArgument") == (response.status_code, error_code(response))


async def test_create_workflow_job(emulator: Emulator, anyio_backend: str) -> None:
    """POST answers the new job, Submitted, and stores it."""
    detail = await create(emulator, WORKFLOW_REQUEST)
    assert ("nightly-run", "Workflow", "Submitted") == (
        detail["Name"],
        detail["Type"],
        detail["State"],
    )
    assert "w7476ff3564ee45b7b490d64bccaba6cc" == detail["Operation"]["WorkflowIds"]
    assert "2022-02-01T12:00:00+0800" == detail["Operation"]["TimeInterval"]["Start"]
    stored = emulator.job(detail["JobId"])
    assert ("videos/", emulator.now()) == (stored.prefix, stored.creation_time)


async def test_create_independent_job(emulator: Emulator, anyio_backend: str) -> None:
    """A Job-type request keeps every operation field and gets a queue."""
    detail = await create(emulator, JOB_REQUEST)
    operation = detail["Operation"]
    assert ("转码_1", "inv/manifest.json") == (detail["Name"], detail["Input"]["Manifest"])
    assert {
        "Tag": "Transcode",
        "UserData": "ud",
        "CallBack": "https://cb.example",
        "JobParam": {"TemplateId": "t1460606b9752148c4ab182f55163ba7cd"},
        "Output": {"Region": "ap-chongqing", "Bucket": "test-1234567890", "Object": "out.mp4"},
        "JobLevel": "1",
    }.items() <= operation.items()
    assert operation["QueueId"].startswith("p")


async def test_created_job_is_listed_first(emulator: Emulator, anyio_backend: str) -> None:
    """The new job is the newest: first in a default listing."""
    detail = await create(emulator, WORKFLOW_REQUEST)
    document = parse(await send(emulator, "GET", PATH, params={"size": "1"}))
    assert [detail["JobId"]] == ids_of(document)


async def test_created_job_progresses_with_the_clock(
    emulator: Emulator, anyio_backend: str
) -> None:
    """Submitted, then Running at its start, then Success or Failed at its end."""
    job_id = (await create(emulator, WORKFLOW_REQUEST))["JobId"]
    stored = emulator.job(job_id)
    assert stored.started_at is not None
    assert stored.ended_at is not None
    seen = []
    for moment in (stored.started_at - 1, stored.started_at, stored.ended_at):
        emulator.advance(moment - emulator.now())
        response = await send(emulator, "GET", f"{PATH}/{job_id}")
        seen.append(parse(response)["Response"]["JobsDetail"][0]["State"])
    assert ["Submitted", "Running", stored.outcome] == seen


async def test_progression_is_deterministic(anyio_backend: str) -> None:
    """The same seed and clock give the same job id and the same outcome."""

    async def run() -> tuple[str, str]:
        emulator = Emulator(seed=77, clock=FakeClock(start=1_700_000_000))
        job_id = (await create(emulator, WORKFLOW_REQUEST))["JobId"]
        emulator.advance(24 * 3600)
        return job_id, emulator.state(job_id)

    assert await run() == await run()


async def test_failed_jobs_carry_an_error_code(emulator: Emulator, anyio_backend: str) -> None:
    """A Failed job has a Code other than Success and a Message."""
    stored = emulator.add_job(start_after=1, run_for=1, outcome="Failed", code="X1")
    emulator.advance(5)
    detail = parse(await send(emulator, "GET", f"{PATH}/{stored.job_id}"))["Response"]
    assert ("Failed", "X1") == (detail["JobsDetail"][0]["State"], detail["JobsDetail"][0]["Code"])
    assert detail["JobsDetail"][0]["Message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "MissingContent"),
        (b"<Request><Name>x</Name>", "InvalidContent"),
        (b"<Other/>", "InvalidContent"),
        (b'<!DOCTYPE r [<!ENTITY e "x">]><Request/>', "InvalidContent"),
        (b"<Request><Type>Workflow</Type></Request>", "InvalidArgument"),
        (b"<Request><Name>bad name!</Name><Type>Job</Type></Request>", "InvalidArgument"),
        (b"<Request><Name>n</Name><Type>Other</Type></Request>", "InvalidArgument"),
        (b"<Request><Name>n</Name><Type>Job</Type></Request>", "InvalidArgument"),
        (
            b"<Request><Name>n</Name><Type>Workflow</Type><Input><Prefix>p</Prefix></Input></Request>",
            "InvalidArgument",
        ),
        (
            JOB_HEAD + b"<Operation><JobLevel>7</JobLevel></Operation></Request>",
            "InvalidArgument",
        ),
        (
            JOB_HEAD + b"<Operation><TimeInterval><Start>soon</Start></TimeInterval></Operation>"
            b"</Request>",
            "InvalidArgument",
        ),
    ],
)
async def test_bad_create_requests(
    emulator: Emulator, body: bytes, code: str, anyio_backend: str
) -> None:
    """Empty, malformed or incomplete bodies get 400 with the matching code."""
    before = len(emulator)
    response = await send(emulator, "POST", PATH, content=body)
    assert (400, code) == (response.status_code, error_code(response))
    assert before == len(emulator)


async def test_name_longer_than_128_is_refused(emulator: Emulator, anyio_backend: str) -> None:
    """Names are at most 128 characters."""
    body = WORKFLOW_REQUEST.replace(b"nightly-run", b"n" * 129)
    response = await send(emulator, "POST", PATH, content=body)
    assert (400, "InvalidArgument") == (response.status_code, error_code(response))


@pytest.mark.parametrize("state", ["Submitted", "Running", "Pause"])
async def test_cancel_an_unfinished_job(state: str, anyio_backend: str) -> None:
    """PUT ?cancel moves a waiting, running or paused job to Cancel."""
    emulator = Emulator()
    stored = emulator.add_job(state=state)
    response = await send(emulator, "PUT", f"{PATH}/{stored.job_id}?cancel")
    assert 200 == response.status_code, response.text
    assert "RequestId" in parse(response)["Response"]
    assert "Cancel" == emulator.state(stored.job_id)


async def test_cancel_is_idempotent(anyio_backend: str) -> None:
    """Canceling a canceled job succeeds again (a retried cancel is harmless)."""
    emulator = Emulator()
    stored = emulator.add_job(state="Cancel")
    response = await send(emulator, "PUT", f"{PATH}/{stored.job_id}?cancel")
    assert (200, "Cancel") == (response.status_code, emulator.state(stored.job_id))


@pytest.mark.parametrize("state", ["Success", "Failed"])
async def test_cancel_a_finished_job_is_refused(state: str, anyio_backend: str) -> None:
    """A job that finished cannot be canceled: 400 InvalidArgument."""
    emulator = Emulator()
    stored = emulator.add_job(state=state)
    response = await send(emulator, "PUT", f"{PATH}/{stored.job_id}?cancel")
    assert (400, "InvalidArgument") == (response.status_code, error_code(response))
    assert state == emulator.state(stored.job_id)


async def test_cancel_unknown_job(emulator: Emulator, anyio_backend: str) -> None:
    """Canceling an unknown id is 400 ResourceNotFound."""
    response = await send(emulator, "PUT", f"{PATH}/bnope?cancel")
    assert (400, "ResourceNotFound") == (response.status_code, error_code(response))


async def test_canceled_job_shows_its_end_time(anyio_backend: str) -> None:
    """After a cancel the job reports Cancel with an EndTime."""
    emulator = Emulator()
    stored = emulator.add_job()
    await send(emulator, "PUT", f"{PATH}/{stored.job_id}?cancel")
    detail = parse(await send(emulator, "GET", f"{PATH}/{stored.job_id}"))["Response"]
    assert ("Cancel", "-") == (
        detail["JobsDetail"][0]["State"],
        detail["JobsDetail"][0]["StartTime"],
    )
    assert "-" != detail["JobsDetail"][0]["EndTime"]


async def test_canceled_job_has_its_own_code_and_message(anyio_backend: str) -> None:
    """After a cancel the job's Code is Canceled (not Success), with a Message saying so."""
    emulator = Emulator()
    stored = emulator.add_job(state="Running")
    await send(emulator, "PUT", f"{PATH}/{stored.job_id}?cancel")
    describe = parse(await send(emulator, "GET", f"{PATH}/{stored.job_id}"))
    listing = parse(await send(emulator, "GET", PATH))
    for detail in (describe["Response"]["JobsDetail"][0], listing["Response"]["JobsDetail"][0]):
        assert ("Cancel", "Canceled", "the job was canceled") == (
            detail["State"],
            detail["Code"],
            detail["Message"],
        )


@pytest.mark.parametrize("how", ["add_job", "set_state"])
async def test_jobs_pinned_in_cancel_read_as_canceled(how: str, anyio_backend: str) -> None:
    """add_job(state="Cancel") and set_state(..., "Cancel") render the same Code."""
    emulator = Emulator()
    if how == "add_job":
        stored = emulator.add_job(state="Cancel")
    else:
        stored = emulator.set_state(emulator.add_job().job_id, "Cancel")
    detail = parse(await send(emulator, "GET", f"{PATH}/{stored.job_id}"))["Response"]
    assert "Canceled" == detail["JobsDetail"][0]["Code"]


@pytest.mark.parametrize(
    ("state", "code"), [("Submitted", "Success"), ("Running", "Success"), ("Pause", "Success")]
)
async def test_unfinished_jobs_keep_code_success(state: str, code: str, anyio_backend: str) -> None:
    """Jobs not failed nor canceled show Code Success, as the service's samples do."""
    emulator = Emulator()
    stored = emulator.add_job(state=state)
    detail = parse(await send(emulator, "GET", f"{PATH}/{stored.job_id}"))["Response"]
    assert (code, None) == (detail["JobsDetail"][0]["Code"], detail["JobsDetail"][0]["Message"])


_UNCARRIABLE_BODIES = [
    JOB_HEAD.replace(b"<Name>n</Name>", b"<Name>ok&#27;[2J</Name>") + b"</Request>",
    JOB_HEAD.replace(b"<Name>n</Name>", b"<Name>ok\x1b[2J</Name>") + b"</Request>",
    JOB_HEAD + b"<Operation><UserData>ok&#x1b;[2J</UserData></Operation></Request>",
    b"<?xml version='1.1'?>" + JOB_HEAD + b"<Operation><Tag>&#x1b;</Tag></Operation></Request>",
    JOB_HEAD + "<Operation><CallBack>a\ufffe</CallBack></Operation></Request>".encode(),
]


@pytest.mark.parametrize("body", _UNCARRIABLE_BODIES)
async def test_create_with_text_xml_cannot_carry_is_refused(
    body: bytes, anyio_backend: str
) -> None:
    """Text XML 1.0 cannot carry, raw or referenced, is a 400: no job made, pages stay whole."""
    emulator = Emulator()
    response = await send(
        emulator, "POST", PATH, content=body, headers={"Content-Type": "application/xml"}
    )
    assert (400, "InvalidContent") == (response.status_code, error_code(response))
    listing = await send(emulator, "GET", PATH)
    assert (0, 200, []) == (len(emulator), listing.status_code, ids_of(parse(listing)))


async def test_put_without_cancel(emulator: Emulator, anyio_backend: str) -> None:
    """PUT on a job needs ?cancel."""
    response = await send(emulator, "PUT", f"{PATH}/{emulator.jobs[0].job_id}")
    assert (400, "InvalidArgument") == (response.status_code, error_code(response))


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/", 404, "NotFound"),
        ("GET", "/jobs", 404, "NotFound"),
        ("DELETE", PATH, 405, "MethodNotAllowed"),
        ("DELETE", f"{PATH}/b1", 405, "MethodNotAllowed"),
        ("POST", f"{PATH}/b1", 405, "MethodNotAllowed"),
    ],
)
async def test_unknown_routes(
    emulator: Emulator, method: str, path: str, status: int, code: str, anyio_backend: str
) -> None:
    """Other paths and methods get an <Error> too."""
    response = await send(emulator, method, path)
    assert (status, code) == (response.status_code, error_code(response))


async def test_other_bucket_in_host(emulator: Emulator, anyio_backend: str) -> None:
    """A Host naming another bucket gets 404 NoSuchBucket."""
    async with emulator.http_client(
        base_url="https://other-1250000000.ci.ap-beijing.myqcloud.com"
    ) as client:
        request = client.build_request("GET", PATH)
        await emulator.signer().sign(request)
        response = await client.send(request)
    assert (404, "NoSuchBucket") == (response.status_code, error_code(response))


async def test_set_state_pins_a_job(emulator: Emulator, anyio_backend: str) -> None:
    """set_state forces a state that time does not change."""
    stored = emulator.add_job()
    emulator.set_state(stored.job_id, "Pause")
    emulator.advance(86_400)
    assert "Pause" == emulator.state(stored.job_id)


async def test_requests_are_recorded(emulator: Emulator, anyio_backend: str) -> None:
    """Every request lands in emulator.requests, with its operation and parameters."""
    await send(emulator, "GET", PATH, params={"size": "3"})
    await send(emulator, "PUT", f"{PATH}/bnope?cancel")
    assert [("list", {"size": "3"}), ("cancel", {"cancel": ""})] == [
        (request.operation, request.params) for request in emulator.requests
    ]


async def test_recorded_request_repr_masks_secrets(emulator: Emulator, anyio_backend: str) -> None:
    """The repr of a recorded request never shows the Authorization value."""
    await send(emulator, "GET", PATH)
    (request,) = emulator.requests
    authorization = request.header("Authorization")
    assert authorization is not None
    assert authorization.split("q-signature=")[1] not in repr(request)
    assert "'authorization', '***'" in repr(request)


async def test_recording_can_be_turned_off(anyio_backend: str) -> None:
    """record_requests=False keeps nothing."""
    emulator = Emulator(record_requests=False)
    await send(emulator, "GET", PATH)
    assert [] == emulator.requests
