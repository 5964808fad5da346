"""Signature verification: every way a request can be refused, and what is accepted."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import pytest

from ci_async import Credentials
from ci_async._signing import sign_v5
from ci_async.testing import Emulator, FakeClock

from ._support import error_code, send

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000
PATH = "/inventorytriggerjob"
HOST = "examplebucket-1250000000.ci.ap-beijing.myqcloud.com"

V5_TAIL = (
    "q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-key-time=1;2&q-header-list="
    "&q-url-param-list=&q-signature=00"
)


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An emulator at a fixed time, with one job."""
    emulator = Emulator(clock=FakeClock(start=NOW))
    emulator.add_job(job_id="b1")
    return emulator


async def crafted(
    emulator: Emulator,
    *,
    method: str = "GET",
    path: str = PATH,
    send_path: str | None = None,
    params: Sequence[tuple[str, str]] = (),
    signed_params: Sequence[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    signed_headers: dict[str, str] | None = None,
    key_time: str = f"{NOW - 60};{NOW + 3600}",
    secret_id: str | None = None,
    secret_key: str | None = None,
) -> httpx.Response:
    """A request signed by hand, so that each part can be made wrong on purpose."""
    credentials = emulator.credentials
    authorization = sign_v5(
        secret_id=secret_id or credentials.secret_id,
        secret_key=secret_key or credentials.secret_key,
        method=method,
        path=path,
        params=list(params if signed_params is None else signed_params),
        headers={"host": HOST} if signed_headers is None else signed_headers,
        key_time=key_time,
    )
    all_headers = {"Authorization": authorization, **(headers or {})}
    async with emulator.http_client() as client:
        return await client.request(
            method, send_path or path, params=list(params), headers=all_headers
        )


def refused(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, error_code(response)


async def test_a_good_signature_is_accepted(emulator: Emulator, anyio_backend: str) -> None:
    """A correctly signed request is served."""
    response = await crafted(emulator, params=[("size", "5")])
    assert 200 == response.status_code, response.text


async def test_missing_authorization(emulator: Emulator, anyio_backend: str) -> None:
    """No Authorization header: 401 MissingAuthorization."""
    response = await send(emulator, "GET", PATH, signed=False)
    assert (401, "MissingAuthorization") == refused(response)


@pytest.mark.parametrize(
    "value",
    [
        "Bearer abc",
        "q-sign-algorithm=sha1&q-ak=x",
        V5_TAIL.replace("sha1", "md5"),
        V5_TAIL.replace("q-sign-time=1;2", "q-sign-time=x"),
        V5_TAIL.replace("1;2", "9;2"),
    ],
)
async def test_malformed_authorization(emulator: Emulator, value: str, anyio_backend: str) -> None:
    """Anything but a v5 sha1 value: 401 InvalidAuthorization."""
    response = await send(emulator, "GET", PATH, headers={"Authorization": value}, signed=False)
    assert (401, "InvalidAuthorization") == refused(response)


async def test_wrong_secret_key(emulator: Emulator, anyio_backend: str) -> None:
    """Signed with another key: 403 SignatureDoesNotMatch."""
    response = await crafted(emulator, secret_key="not-the-key")
    assert (403, "SignatureDoesNotMatch") == refused(response)


async def test_unknown_secret_id(emulator: Emulator, anyio_backend: str) -> None:
    """Another SecretId: 401 SecretidNotExist."""
    response = await crafted(emulator, secret_id="AKIDsomeoneelse")
    assert (401, "SecretidNotExist") == refused(response)


async def test_expired_key_time(emulator: Emulator, anyio_backend: str) -> None:
    """A key time that ended before the emulator's now: 401 SignatureExpired."""
    response = await crafted(emulator, key_time=f"{NOW - 7200};{NOW - 1}")
    assert (401, "SignatureExpired") == refused(response)


async def test_key_time_from_the_future(emulator: Emulator, anyio_backend: str) -> None:
    """A key time starting well after now: 403 RequestTimeTooSkewed."""
    response = await crafted(emulator, key_time=f"{NOW + 3600};{NOW + 7200}")
    assert (403, "RequestTimeTooSkewed") == refused(response)


async def test_small_clock_skew_is_tolerated(emulator: Emulator, anyio_backend: str) -> None:
    """A key time starting a minute ahead (a fast client clock) is fine."""
    response = await crafted(emulator, key_time=f"{NOW + 60};{NOW + 3600}")
    assert 200 == response.status_code, response.text


async def test_signatures_expire_as_the_clock_advances(
    emulator: Emulator, anyio_backend: str
) -> None:
    """The key time is checked against the emulator's clock."""
    emulator.advance(2 * 3600)
    assert (401, "SignatureExpired") == refused(await crafted(emulator))


async def test_emulator_signer_follows_the_clock(emulator: Emulator, anyio_backend: str) -> None:
    """emulator.signer() signs with the emulator's clock, so advancing does not expire it."""
    emulator.advance(30 * 86_400)
    response = await send(emulator, "GET", PATH)
    assert 200 == response.status_code, response.text


async def test_unsigned_host(emulator: Emulator, anyio_backend: str) -> None:
    """A signature that does not cover host: 403 AccessDenied."""
    response = await crafted(emulator, signed_headers={})
    assert (403, "AccessDenied") == refused(response)


async def test_unsigned_host_allowed_when_configured(anyio_backend: str) -> None:
    """require_signed_host=False accepts the documentation's empty header list."""
    emulator = Emulator(clock=FakeClock(start=NOW), require_signed_host=False)
    response = await crafted(emulator, signed_headers={})
    assert 200 == response.status_code, response.text


async def test_tampered_parameter(emulator: Emulator, anyio_backend: str) -> None:
    """A signed parameter changed after signing: 403 SignatureDoesNotMatch."""
    response = await crafted(emulator, params=[("size", "100")], signed_params=[("size", "10")])
    assert (403, "SignatureDoesNotMatch") == refused(response)


async def test_listed_parameter_missing(emulator: Emulator, anyio_backend: str) -> None:
    """A parameter named in q-url-param-list but absent: 403 SignatureDoesNotMatch."""
    response = await crafted(emulator, params=[], signed_params=[("size", "10")])
    assert (403, "SignatureDoesNotMatch") == refused(response)


async def test_unsigned_extra_parameter_is_accepted(emulator: Emulator, anyio_backend: str) -> None:
    """Parameters outside q-url-param-list are allowed (the SDK leaves ?cancel unsigned)."""
    response = await crafted(
        emulator, method="PUT", path=f"{PATH}/b1", params=[("cancel", "")], signed_params=[]
    )
    assert 200 == response.status_code, response.text


async def test_tampered_path(emulator: Emulator, anyio_backend: str) -> None:
    """A request sent to another path than signed: 403 SignatureDoesNotMatch."""
    response = await crafted(emulator, path=f"{PATH}/b1", send_path=f"{PATH}/b2")
    assert (403, "SignatureDoesNotMatch") == refused(response)


async def test_tampered_signed_header(emulator: Emulator, anyio_backend: str) -> None:
    """A signed header changed after signing: 403 SignatureDoesNotMatch."""
    response = await crafted(
        emulator,
        headers={"x-ci-trace": "changed"},
        signed_headers={"host": HOST, "x-ci-trace": "original"},
    )
    assert (403, "SignatureDoesNotMatch") == refused(response)


async def test_listed_header_missing(emulator: Emulator, anyio_backend: str) -> None:
    """A header named in q-header-list but absent: 403 SignatureDoesNotMatch."""
    response = await crafted(emulator, signed_headers={"host": HOST, "x-ci-trace": "a"})
    assert (403, "SignatureDoesNotMatch") == refused(response)


async def test_method_is_signed(emulator: Emulator, anyio_backend: str) -> None:
    """A signature for GET does not authorise a PUT."""
    authorization = sign_v5(
        secret_id=emulator.credentials.secret_id,
        secret_key=emulator.credentials.secret_key,
        method="GET",
        path=f"{PATH}/b1",
        params=[("cancel", "")],
        headers={"host": HOST},
        key_time=f"{NOW - 60};{NOW + 3600}",
    )
    async with emulator.http_client() as client:
        response = await client.put(f"{PATH}/b1?cancel", headers={"Authorization": authorization})
    assert (403, "SignatureDoesNotMatch") == refused(response)


@pytest.fixture(name="temporary")
def fixture_temporary() -> Emulator:
    """An emulator whose credentials carry a session token."""
    credentials = Credentials("AKIDtemporary", "temporary-key", token="session-token-1")
    return Emulator(credentials=credentials, clock=FakeClock(start=NOW))


async def test_token_required_for_temporary_credentials(
    temporary: Emulator, anyio_backend: str
) -> None:
    """Without the token header: 403 AccessDenied."""
    response = await crafted(temporary)
    assert (403, "AccessDenied") == refused(response)


@pytest.mark.parametrize("header", ["x-ci-security-token", "x-cos-security-token"])
async def test_token_header_accepted(temporary: Emulator, header: str, anyio_backend: str) -> None:
    """The token in x-ci-security-token or x-cos-security-token is accepted."""
    response = await crafted(
        temporary,
        headers={header: "session-token-1"},
        signed_headers={"host": HOST, header: "session-token-1"},
    )
    assert 200 == response.status_code, response.text


async def test_wrong_token(temporary: Emulator, anyio_backend: str) -> None:
    """Another token: 403 AccessDenied."""
    response = await crafted(
        temporary,
        headers={"x-ci-security-token": "stolen"},
        signed_headers={"host": HOST, "x-ci-security-token": "stolen"},
    )
    assert (403, "AccessDenied") == refused(response)


async def test_cos_signer_with_token_is_accepted(temporary: Emulator, anyio_backend: str) -> None:
    """The client's signer adds and signs the token header the emulator expects."""
    response = await send(temporary, "GET", PATH)
    assert 200 == response.status_code, response.text


async def test_verification_can_be_switched_off(anyio_backend: str) -> None:
    """verify_signatures=False serves unsigned requests."""
    emulator = Emulator(verify_signatures=False)
    response = await send(emulator, "GET", PATH, signed=False)
    assert 200 == response.status_code


async def test_verification_can_be_toggled(emulator: Emulator, anyio_backend: str) -> None:
    """The verify_signatures property switches checks at run time."""
    emulator.verify_signatures = False
    assert 200 == (await send(emulator, "GET", PATH, signed=False)).status_code
    emulator.verify_signatures = True
    assert 401 == (await send(emulator, "GET", PATH, signed=False)).status_code


async def test_utf8_path_is_verified(emulator: Emulator, anyio_backend: str) -> None:
    """The decoded UTF-8 path is what is signed."""
    response = await crafted(emulator, path=f"{PATH}/任务")
    document = response.text
    assert 200 == response.status_code, document
    assert "<NonExistJobIds>任务</NonExistJobIds>" in document
