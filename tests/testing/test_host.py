"""One bucket in one region: the ``Host`` header is checked like the service's endpoints.

Requests are built and signed by hand (``sign_v5`` over the ``Host`` sent), in
process and over loopback, so that the check is seen exactly as a client whose
endpoint is an IP literal but who names its bucket and region would meet it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ci_async import ServiceError
from ci_async._signing import sign_v5
from ci_async.testing import Emulator, EmulatorServer

from ._support import error_code, ids_of, parse

pytestmark = pytest.mark.anyio

PATH = "/inventorytriggerjob"
BUCKET = "examplebucket-1250000000"
REGION = "ap-beijing"


def signed(
    emulator: Emulator, host: str, *, method: str = "GET", path: str = PATH
) -> dict[str, str]:
    """Headers of a request for ``host``, signed (host included) with the emulator's pair."""
    now = int(emulator.now())
    credentials = emulator.credentials
    authorization = sign_v5(
        secret_id=credentials.secret_id,
        secret_key=credentials.secret_key,
        method=method,
        path=path,
        params=[],
        headers={"host": host},
        key_time=f"{now - 60};{now + 3600}",
    )
    return {"Host": host, "Authorization": authorization}


async def get_in_process(emulator: Emulator, host: str, path: str = PATH) -> httpx.Response:
    async with emulator.http_client() as client:
        return await client.get(path, headers=signed(emulator, host, path=path))


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """The default bucket and region, with one job."""
    emulator = Emulator()
    emulator.add_job(job_id="b1", state="Success")
    return emulator


@pytest.mark.parametrize(
    "host",
    [
        f"other-1250000000.ci.{REGION}.myqcloud.com",
        f"{BUCKET}.ci.ap-shanghai.myqcloud.com",
        f"{BUCKET}.cos.ap-guangzhou.myqcloud.com",
        f"{BUCKET}.pic.ap-beijing-1.myqcloud.com",
        f"examplebucket-1250000001.cos.{REGION}.myqcloud.com",
        f"{BUCKET.upper()}.CI.AP-SHANGHAI.MYQCLOUD.COM",
        f"{BUCKET}.ci.ap-shanghai.myqcloud.com:443",
    ],
)
async def test_another_bucket_or_region_is_no_such_bucket(
    emulator: Emulator, host: str, anyio_backend: str
) -> None:
    """A service host naming another bucket or region: 404 NoSuchBucket, an <Error> body."""
    response = await get_in_process(emulator, host)
    assert (404, "NoSuchBucket") == (response.status_code, error_code(response))
    assert "application/xml" == response.headers["content-type"]


@pytest.mark.parametrize(
    "host",
    [
        f"{BUCKET}.ci.{REGION}.myqcloud.com",
        f"{BUCKET}.cos.{REGION}.myqcloud.com",
        f"{BUCKET}.pic.{REGION}.myqcloud.com",
        f"{BUCKET}.ci.{REGION}.myqcloud.com:8321",
        "127.0.0.1:8321",
        "[::1]:8321",
        "localhost",
        "ci.example.test",
    ],
)
async def test_our_bucket_and_region_or_other_hosts_are_served(
    emulator: Emulator, host: str, anyio_backend: str
) -> None:
    """The bucket and region served, and hosts not of the service's form, are answered."""
    response = await get_in_process(emulator, host)
    assert 200 == response.status_code, response.text
    assert ["b1"] == ids_of(parse(response))


async def test_the_region_given_is_the_one_served(anyio_backend: str) -> None:
    """Emulator(region=...) serves that region and refuses the default one."""
    emulator = Emulator(region="ap-shanghai", bucket="media-1300000000")
    served = await get_in_process(emulator, "media-1300000000.ci.ap-shanghai.myqcloud.com")
    refused = await get_in_process(emulator, "media-1300000000.ci.ap-beijing.myqcloud.com")
    assert (200, 404) == (served.status_code, refused.status_code)
    assert "NoSuchBucket" == error_code(refused)


async def test_the_check_comes_before_the_signature(emulator: Emulator, anyio_backend: str) -> None:
    """A wrong region is reported as such even when the request is not signed at all."""
    async with emulator.http_client() as client:
        response = await client.get(PATH, headers={"Host": f"{BUCKET}.ci.ap-nanjing.myqcloud.com"})
    assert (404, "NoSuchBucket") == (response.status_code, error_code(response))


async def test_describe_and_create_are_checked_too(emulator: Emulator, anyio_backend: str) -> None:
    """Every operation goes through the same check (describe shown here)."""
    response = await get_in_process(
        emulator, f"{BUCKET}.ci.ap-chengdu.myqcloud.com", path=f"{PATH}/b1"
    )
    assert (404, "NoSuchBucket") == (response.status_code, error_code(response))


async def test_sessions_in_another_region_meet_the_error(
    emulator: Emulator, anyio_backend: str
) -> None:
    """A session built for another region (in process) gets the service's error, not jobs."""
    async with emulator.session(region="ap-shanghai") as session:
        with pytest.raises(ServiceError) as caught:
            await session.get_job("b1")
    assert (404, "NoSuchBucket") == (caught.value.status_code, caught.value.code)


@pytest.fixture(name="server")
def fixture_server(emulator: Emulator) -> Iterator[EmulatorServer]:
    """The emulator on a loopback port."""
    with emulator.serve() as server:
        yield server


@pytest.mark.parametrize(
    ("host", "status"),
    [
        (f"{BUCKET}.ci.{REGION}.myqcloud.com", 200),
        (f"{BUCKET}.cos.{REGION}.myqcloud.com", 200),
        (f"{BUCKET}.ci.ap-shanghai.myqcloud.com", 404),
        (f"other-1250000000.ci.{REGION}.myqcloud.com", 404),
    ],
)
async def test_over_loopback(
    emulator: Emulator, server: EmulatorServer, host: str, status: int, anyio_backend: str
) -> None:
    """Over a real socket to 127.0.0.1, the Host header sent decides, as in process."""
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        response = await client.get(PATH, headers=signed(emulator, host))
    assert status == response.status_code, response.text
    if status == 404:
        assert "NoSuchBucket" == error_code(response)


async def test_loopback_address_as_host_is_served(
    emulator: Emulator, server: EmulatorServer, anyio_backend: str
) -> None:
    """The Host an IP-literal endpoint naturally sends (127.0.0.1:PORT) is served."""
    host = server.url.removeprefix("http://")
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        response = await client.get(PATH, headers=signed(emulator, host))
    assert 200 == response.status_code, response.text
