"""The official SDK (cos-python-sdk-v5) against the emulator on a loopback port.

This keeps the emulator honest: a real, independent client signs and sends
describe, list, create and cancel, and gets back what the store holds.

Quirks of the SDK the emulator accepts, as the service must:

* With ``IP=``/``Port=`` it sends ``Host: <bucket>.cos.<region>.myqcloud.com``
  (the COS host, not the CI one) and signs that.
* ``?cancel`` is appended to the URL but not signed (``q-url-param-list`` is
  empty); ``content-length`` is signed on POST and PUT (``0`` for cancel).
* The list call always sends ``type`` (default ``Workflow``), ``orderByTime``,
  ``states``, ``size`` and *empty* ``nextToken``, ``workflowId`` and ``jobId``,
  and signs them all, empty values included.
* Create sends the ``<?xml ...?>`` declaration and no ``Content-Type``.
* Temporary credentials go in ``x-ci-security-token`` (signed).
* Its error parser wants a COS-style ``<Resource>`` element: for CI's documented
  ``<Error><Code/><Message/><RequestId/><TraceId/></Error>`` it reports the code
  as ``"Unknown"`` (the status and the raw XML are right), so the tests read the
  raw message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from ci_async import Credentials
from ci_async.testing import Emulator, EmulatorServer
from ci_async.testing._render import format_time

SECRET_ID = "AKIDofficialsdk00000000000000000000"
SECRET_KEY = "official-sdk-secret-key"


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An emulator with 45 generated jobs, accepting the test key pair."""
    emulator = Emulator(credentials=Credentials(SECRET_ID, SECRET_KEY), seed=17)
    emulator.generate(45)
    return emulator


@pytest.fixture(name="server")
def fixture_server(emulator: Emulator) -> Iterator[EmulatorServer]:
    """The emulator on a loopback port."""
    with emulator.serve() as server:
        yield server


def sdk(server: EmulatorServer, **config: Any) -> CosS3Client:
    """An official client pointed at the emulator (no retries: failures show at once)."""
    options: dict[str, Any] = {
        "Region": "ap-beijing",
        "SecretId": SECRET_ID,
        "SecretKey": SECRET_KEY,
        "Scheme": "http",
        "IP": "127.0.0.1",
        "Port": server.port,
    }
    options.update(config)
    return CosS3Client(CosConfig(**options), retry=0)


@pytest.fixture(name="client")
def fixture_client(server: EmulatorServer) -> CosS3Client:
    """The official client with the right key."""
    return sdk(server)


def test_describe_returns_the_stored_job(emulator: Emulator, client: CosS3Client) -> None:
    """ci_get_inventory_trigger_jobs gets the job as stored."""
    stored = emulator.jobs[7]
    answer = client.ci_get_inventory_trigger_jobs(Bucket=emulator.bucket, JobID=stored.job_id)
    (detail,) = answer["JobsDetail"]
    assert (stored.job_id, stored.type, stored.name) == (
        detail["JobId"],
        detail["Type"],
        detail["Name"],
    )
    assert emulator.state(stored.job_id) == detail["State"]
    assert format_time(stored.creation_time) == detail["CreationTime"]


def test_describe_unknown_job(emulator: Emulator, client: CosS3Client) -> None:
    """An unknown id comes back in NonExistJobIds."""
    answer = client.ci_get_inventory_trigger_jobs(Bucket=emulator.bucket, JobID="bunknown")
    assert "bunknown" == answer["NonExistJobIds"]


@pytest.mark.parametrize("job_type", ["Workflow", "Job"])
def test_list_by_hand_following_next_token(
    emulator: Emulator, client: CosS3Client, job_type: str
) -> None:
    """Paging with NextToken by hand lists every job of the type, newest first."""
    listed: list[str] = []
    token = ""
    while True:
        answer = client.ci_list_inventory_trigger_jobs(
            Bucket=emulator.bucket, Type=job_type, Size=4, NextToken=token
        )
        listed += [detail["JobId"] for detail in answer.get("JobsDetail", [])]
        token = answer.get("NextToken") or ""
        if not token:
            break
    expected = [stored.job_id for stored in reversed(emulator.jobs) if stored.type == job_type]
    assert expected == listed


def test_list_with_filters(emulator: Emulator, client: CosS3Client) -> None:
    """States, order and a creation-time range (with its '+') pass through the SDK."""
    now = emulator.now()
    start = emulator.jobs[10].creation_time
    answer = client.ci_list_inventory_trigger_jobs(
        Bucket=emulator.bucket,
        Type="Job",
        States="Success,Failed",
        OrderByTime="Asc",
        StartCreationTime=format_time(start),
        Size=100,
    )
    expected = [
        stored.job_id
        for stored in emulator.jobs
        if stored.type == "Job"
        and stored.creation_time >= start
        and stored.state_at(now) in ("Success", "Failed")
    ]
    assert expected == [detail["JobId"] for detail in answer.get("JobsDetail", [])]


def test_create_then_cancel(emulator: Emulator, client: CosS3Client) -> None:
    """ci_create_inventory_trigger_jobs stores the job; ci_delete_... cancels it."""
    answer = client.ci_create_inventory_trigger_jobs(
        Bucket=emulator.bucket,
        JobBody={
            "Name": "sdk-job",
            "Type": "Workflow",
            "Input": {"Prefix": "input/"},
            "Operation": {
                "TimeInterval": {
                    "Start": "2022-02-01T12:00:00+0800",
                    "End": "2022-05-01T12:00:00+0800",
                },
                "WorkflowIds": "w7476ff3564ee45b7b490d64bccaba6cc",
            },
        },
    )
    (detail,) = answer["JobsDetail"]
    stored = emulator.job(detail["JobId"])
    assert ("sdk-job", ("w7476ff3564ee45b7b490d64bccaba6cc",), "Submitted") == (
        stored.name,
        stored.workflow_ids,
        detail["State"],
    )
    response = client.ci_delete_inventory_trigger_jobs(Bucket=emulator.bucket, JobId=stored.job_id)
    assert (200, "Cancel") == (response.status_code, emulator.state(stored.job_id))


def test_create_independent_job(emulator: Emulator, client: CosS3Client) -> None:
    """A Job-type body with its operation fields is stored as sent."""
    answer = client.ci_create_inventory_trigger_jobs(
        Bucket=emulator.bucket,
        JobBody={
            "Name": "sdk-transcode",
            "Type": "Job",
            "Input": {"Prefix": "videos/"},
            "Operation": {
                "Tag": "Transcode",
                "JobParam": {"TemplateId": "t1460606b9752148c4ab182f55163ba7cd"},
                "Output": {"Region": "ap-chongqing", "Bucket": "test-1234567890", "Object": "o"},
                "JobLevel": "0",
            },
        },
    )
    stored = emulator.job(answer["JobsDetail"][0]["JobId"])
    assert ("Transcode", "t1460606b9752148c4ab182f55163ba7cd", "ap-chongqing", 0) == (
        stored.tag,
        stored.template_id,
        stored.output_region,
        stored.job_level,
    )


def test_sdk_requests_as_recorded(emulator: Emulator, client: CosS3Client) -> None:
    """The SDK signs the COS host and leaves ?cancel unsigned: the emulator accepts both."""
    stored = emulator.add_job(state="Running")
    client.ci_delete_inventory_trigger_jobs(Bucket=emulator.bucket, JobId=stored.job_id)
    (request,) = emulator.requests
    authorization = request.header("authorization") or ""
    assert f"{emulator.bucket}.cos.ap-beijing.myqcloud.com" == request.header("host")
    assert "&q-url-param-list=&" in authorization
    assert (("cancel", ""),) == request.query


def test_wrong_secret_key_is_refused(emulator: Emulator, server: EmulatorServer) -> None:
    """With a wrong key the SDK gets a 403 SignatureDoesNotMatch."""
    client = sdk(server, SecretKey="not-the-key")
    with pytest.raises(CosServiceError) as caught:
        client.ci_get_inventory_trigger_jobs(Bucket=emulator.bucket, JobID=emulator.jobs[0].job_id)
    assert 403 == caught.value.get_status_code()
    assert "<Code>SignatureDoesNotMatch</Code>" in caught.value.get_origin_msg()


def test_temporary_credentials() -> None:
    """The SDK's x-ci-security-token satisfies an emulator configured with a token."""
    token_emulator = Emulator(credentials=Credentials(SECRET_ID, SECRET_KEY, token="sts-token"))
    token_emulator.add_job(job_id="b1")
    with token_emulator.serve() as token_server:
        answer = sdk(token_server, Token="sts-token").ci_get_inventory_trigger_jobs(
            Bucket=token_emulator.bucket, JobID="b1"
        )
        with pytest.raises(CosServiceError) as caught:
            sdk(token_server).ci_get_inventory_trigger_jobs(
                Bucket=token_emulator.bucket, JobID="b1"
            )
    assert "b1" == answer["JobsDetail"][0]["JobId"]
    assert 403 == caught.value.get_status_code()
    assert "<Code>AccessDenied</Code>" in caught.value.get_origin_msg()
