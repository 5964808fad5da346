"""Credentials, the environment, async providers, and keeping secrets out of text."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timezone

import anyio
import attrs
import httpx
import pytest

from ci_async import CosSigner, Credentials, CredentialsError
from ci_async._credentials import CredentialSource
from ci_async._signing import compute_signature, parse_authorization

SECRET_ID = "AKIDexample0123456789"
SECRET_KEY = "sEcReTkEy-0123456789abcdef"
TOKEN = "tOkEn-0123456789abcdefghijklmnopqrstuvwxyz"
OTHER_KEY = "oThErKeY-9876543210fedcba"
T0 = 1_700_000_000.0
URL = "https://examplebucket-1250000000.ci.ap-beijing.myqcloud.com/inventorytriggerjob"

ENV_NAMES = (
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SESSION_TOKEN",
    "COS_SECRET_ID",
    "COS_SECRET_KEY",
    "COS_SESSION_TOKEN",
)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Provider:
    """An async provider that counts calls and returns what it is told."""

    def __init__(self, *results: Credentials | BaseException) -> None:
        self.results = list(results)
        self.calls = 0

    async def __call__(self) -> Credentials:
        self.calls += 1
        result = self.results[min(self.calls, len(self.results)) - 1]
        if isinstance(result, BaseException):
            raise result
        return result


def _temporary(expires_at: float, key: str = SECRET_KEY, token: str = TOKEN) -> Credentials:
    return Credentials(SECRET_ID, key, token, expires_at=_at(expires_at))


async def _sign(signer: CosSigner) -> httpx.Request:
    request = httpx.Request("GET", URL)
    await signer.sign(request)
    return request


def _assert_no_secret(text: str) -> None:
    for secret in (SECRET_KEY, TOKEN, OTHER_KEY):
        assert secret not in text


# --------------------------------------------------------------------------- #
# Credentials
# --------------------------------------------------------------------------- #


def test_repr_hides_key_and_token() -> None:
    """repr() shows neither the secret key nor the token."""
    _assert_no_secret(repr(Credentials(SECRET_ID, SECRET_KEY, TOKEN, _at(T0))))


def test_str_hides_key_and_token() -> None:
    """str() shows neither the secret key nor the token."""
    _assert_no_secret(str(Credentials(SECRET_ID, SECRET_KEY, TOKEN, _at(T0))))


def test_repr_shows_id_and_expiry() -> None:
    """repr() shows what identifies the credentials: the id and the expiry."""
    creds = Credentials(SECRET_ID, SECRET_KEY, expires_at=_at(T0))
    assert f"Credentials(secret_id='{SECRET_ID}', expires_at={_at(T0)!r})" == repr(creds)


def test_credentials_are_frozen() -> None:
    """Credentials cannot be changed after construction."""
    creds = Credentials(SECRET_ID, SECRET_KEY)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        creds.secret_key = OTHER_KEY  # type: ignore[misc]


def test_token_defaults_to_none() -> None:
    """Permanent credentials have no token and no expiry."""
    creds = Credentials(SECRET_ID, SECRET_KEY)
    assert (None, None) == (creds.token, creds.expires_at)


def test_naive_expiry_is_rejected() -> None:
    """A naive expires_at raises ValueError."""
    with pytest.raises(ValueError, match="timezone-aware"):
        Credentials(SECRET_ID, SECRET_KEY, expires_at=datetime(2030, 1, 1))


def test_non_datetime_expiry_is_rejected() -> None:
    """A non-datetime expires_at raises TypeError."""
    with pytest.raises(TypeError, match="expires_at"):
        Credentials(SECRET_ID, SECRET_KEY, expires_at=T0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"secret_id": ""}, ValueError, "secret_id"),
        ({"secret_id": 5}, TypeError, "secret_id"),
        ({"secret_id": f"AKID{SECRET_KEY}é"}, ValueError, "secret_id"),
        ({"secret_key": ""}, ValueError, "secret_key"),
        ({"secret_key": None}, TypeError, "secret_key"),
        ({"secret_key": f"{SECRET_KEY}\n"}, ValueError, "secret_key"),
        ({"secret_key": f" {SECRET_KEY}"}, ValueError, "secret_key"),
        ({"secret_key": SECRET_KEY.encode()}, TypeError, "secret_key"),
        ({"token": ""}, ValueError, "token"),
        ({"token": f"{TOKEN}\t"}, ValueError, "token"),
        ({"token": f"{TOKEN}腾"}, ValueError, "token"),
    ],
)
def test_bad_fields_are_rejected_without_echo(
    kwargs: dict[str, object], error: type[Exception], field: str
) -> None:
    """A malformed field raises an error naming the field, never showing the value."""
    fields: dict[str, object] = {"secret_id": SECRET_ID, "secret_key": SECRET_KEY, **kwargs}
    with pytest.raises(error, match=field) as info:
        Credentials(**fields)  # type: ignore[arg-type]
    _assert_no_secret(str(info.value))


# --------------------------------------------------------------------------- #
# Credentials.from_env
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            {"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY},
            Credentials(SECRET_ID, SECRET_KEY),
            id="tencentcloud-pair",
        ),
        pytest.param(
            {
                "TENCENTCLOUD_SECRET_ID": SECRET_ID,
                "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
                "TENCENTCLOUD_SESSION_TOKEN": TOKEN,
            },
            Credentials(SECRET_ID, SECRET_KEY, TOKEN),
            id="tencentcloud-pair-and-token",
        ),
        pytest.param(
            {"COS_SECRET_ID": SECRET_ID, "COS_SECRET_KEY": SECRET_KEY},
            Credentials(SECRET_ID, SECRET_KEY),
            id="cos-pair",
        ),
        pytest.param(
            {"COS_SECRET_ID": SECRET_ID, "COS_SECRET_KEY": SECRET_KEY, "COS_SESSION_TOKEN": TOKEN},
            Credentials(SECRET_ID, SECRET_KEY, TOKEN),
            id="cos-pair-and-token",
        ),
        pytest.param(
            {
                "TENCENTCLOUD_SECRET_ID": SECRET_ID,
                "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
                "COS_SECRET_ID": "AKIDcos",
                "COS_SECRET_KEY": OTHER_KEY,
            },
            Credentials(SECRET_ID, SECRET_KEY),
            id="tencentcloud-wins",
        ),
        pytest.param(
            {
                "COS_SECRET_ID": SECRET_ID,
                "COS_SECRET_KEY": SECRET_KEY,
                "TENCENTCLOUD_SESSION_TOKEN": TOKEN,
            },
            Credentials(SECRET_ID, SECRET_KEY),
            id="token-of-other-family-ignored",
        ),
        pytest.param(
            {
                "TENCENTCLOUD_SECRET_ID": SECRET_ID,
                "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
                "COS_SESSION_TOKEN": TOKEN,
            },
            Credentials(SECRET_ID, SECRET_KEY),
            id="cos-token-ignored-with-tencentcloud-pair",
        ),
        pytest.param(
            {
                "TENCENTCLOUD_SECRET_ID": "",
                "TENCENTCLOUD_SECRET_KEY": "",
                "COS_SECRET_ID": SECRET_ID,
                "COS_SECRET_KEY": SECRET_KEY,
            },
            Credentials(SECRET_ID, SECRET_KEY),
            id="empty-means-unset",
        ),
        pytest.param(
            {
                "TENCENTCLOUD_SECRET_ID": SECRET_ID,
                "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
                "TENCENTCLOUD_SESSION_TOKEN": "",
            },
            Credentials(SECRET_ID, SECRET_KEY),
            id="empty-token-means-none",
        ),
    ],
)
def test_from_env(environ: dict[str, str], expected: Credentials) -> None:
    """from_env picks the right variables for each combination."""
    assert expected == Credentials.from_env(environ)


def test_from_env_nothing_set_names_the_variables() -> None:
    """With nothing set, the error names the variables to set."""
    with pytest.raises(CredentialsError) as info:
        Credentials.from_env({"UNRELATED": "x"})
    message = str(info.value)
    assert [True] * 4 == [
        name in message
        for name in (
            "TENCENTCLOUD_SECRET_ID",
            "TENCENTCLOUD_SECRET_KEY",
            "COS_SECRET_ID",
            "COS_SECRET_KEY",
        )
    ]


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({"TENCENTCLOUD_SECRET_ID": SECRET_ID}, "TENCENTCLOUD_SECRET_KEY"),
        ({"TENCENTCLOUD_SECRET_KEY": SECRET_KEY}, "TENCENTCLOUD_SECRET_ID"),
        ({"COS_SECRET_ID": SECRET_ID}, "COS_SECRET_KEY"),
        ({"COS_SECRET_KEY": SECRET_KEY, "COS_SESSION_TOKEN": TOKEN}, "COS_SECRET_ID"),
        (
            {
                "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
                "COS_SECRET_ID": SECRET_ID,
                "COS_SECRET_KEY": SECRET_KEY,
            },
            "TENCENTCLOUD_SECRET_ID",
        ),
    ],
)
def test_from_env_half_a_pair(environ: dict[str, str], missing: str) -> None:
    """Half a pair is an error naming the missing variable (never a silent fallback)."""
    with pytest.raises(CredentialsError, match=missing) as info:
        Credentials.from_env(environ)
    _assert_no_secret(str(info.value))


def test_from_env_malformed_value_is_not_echoed() -> None:
    """A malformed value gives a CredentialsError that names variables, not the value."""
    environ = {"COS_SECRET_ID": SECRET_ID, "COS_SECRET_KEY": f"{SECRET_KEY} \n"}
    with pytest.raises(CredentialsError, match="COS_SECRET_KEY") as info:
        Credentials.from_env(environ)
    assert (None, False) == (info.value.__cause__, SECRET_KEY in str(info.value))


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an argument, from_env reads os.environ."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
    assert Credentials(SECRET_ID, SECRET_KEY) == Credentials.from_env()


def test_signer_without_credentials_reads_env_at_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CosSigner(None) reads the environment when constructed, not when signing."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COS_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("COS_SECRET_KEY", SECRET_KEY)
    signer = CosSigner(clock=lambda: T0)
    monkeypatch.setenv("COS_SECRET_ID", "AKIDchanged")
    request = httpx.Request("GET", URL)
    anyio.run(signer.sign, request)
    assert SECRET_ID == parse_authorization(request.headers["Authorization"])["q-ak"]


def test_signer_without_credentials_fails_at_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CosSigner(None) with an empty environment raises CredentialsError at once."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CredentialsError, match="TENCENTCLOUD_SECRET_ID"):
        CosSigner()


def test_bad_credentials_type() -> None:
    """Something that is neither Credentials, a callable nor None is a TypeError."""
    with pytest.raises(TypeError, match="dict"):
        CosSigner({"secret_id": SECRET_ID, "secret_key": SECRET_KEY})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# The token header
# --------------------------------------------------------------------------- #


@pytest.mark.anyio
async def test_token_header_is_set() -> None:
    """Temporary credentials put their token in x-ci-security-token."""
    request = await _sign(CosSigner(Credentials(SECRET_ID, SECRET_KEY, TOKEN), clock=lambda: T0))
    assert TOKEN == request.headers["x-ci-security-token"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("url", "headers", "expected"),
    [
        ("https://b-1250000000.cos.ap-beijing.myqcloud.com/x", {}, "x-cos-security-token"),
        ("https://b-1250000000.ci.ap-beijing.myqcloud.com/x", {}, "x-ci-security-token"),
        (  # an endpoint by address, the bucket's host named in Host
            "http://10.0.0.1/x",
            {"Host": "b-1250000000.cos.ap-beijing.myqcloud.com"},
            "x-cos-security-token",
        ),
    ],
)
async def test_the_token_header_is_the_hosts(
    url: str, headers: dict[str, str], expected: str
) -> None:
    """``x-cos-security-token`` on COS hosts, ``x-ci-security-token`` on CI hosts (API page)."""
    request = httpx.Request("GET", url, headers=headers)
    await CosSigner(Credentials(SECRET_ID, SECRET_KEY, TOKEN), clock=lambda: T0).sign(request)

    tokens = [name for name in request.headers if name.endswith("security-token")]
    assert [expected] == tokens
    assert TOKEN == request.headers[expected]
    assert expected in parse_authorization(request.headers["Authorization"])["q-header-list"]


@pytest.mark.anyio
async def test_token_header_is_signed() -> None:
    """The token header is listed and covered by the signature."""
    request = await _sign(CosSigner(Credentials(SECRET_ID, SECRET_KEY, TOKEN), clock=lambda: T0))
    auth = parse_authorization(request.headers["Authorization"])
    expected = compute_signature(
        SECRET_KEY,
        "GET",
        "/inventorytriggerjob",
        [],
        {"host": request.url.host, "x-ci-security-token": TOKEN},
        auth["q-key-time"],
    )
    assert ("host;x-ci-security-token", expected) == (auth["q-header-list"], auth["q-signature"])


@pytest.mark.anyio
async def test_no_token_no_header() -> None:
    """Permanent credentials add no token header."""
    request = await _sign(CosSigner(Credentials(SECRET_ID, SECRET_KEY), clock=lambda: T0))
    assert "x-ci-security-token" not in request.headers


@pytest.mark.anyio
async def test_refreshed_token_replaces_the_old_one() -> None:
    """Re-signing after a refresh sends the new token, once."""
    clock = Clock()
    provider = Provider(_temporary(T0 + 3600), _temporary(T0 + 7200, token="tOkEn-2"))
    signer = CosSigner(provider, clock=clock)
    request = httpx.Request("GET", URL)
    await signer.sign(request)
    clock.now = T0 + 3500
    await signer.sign(request)
    assert ["tOkEn-2"] == request.headers.get_list("x-ci-security-token")


# --------------------------------------------------------------------------- #
# Async providers
# --------------------------------------------------------------------------- #


@pytest.mark.anyio
async def test_provider_is_called_lazily() -> None:
    """Constructing a signer does not call the provider."""
    provider = Provider(_temporary(T0 + 3600))
    CosSigner(provider, clock=Clock())
    assert 0 == provider.calls


@pytest.mark.anyio
async def test_provider_result_is_cached() -> None:
    """Many signatures before the refresh margin make one provider call."""
    clock = Clock()
    provider = Provider(_temporary(T0 + 3600))
    signer = CosSigner(provider, clock=clock)
    for step in range(0, 3300, 300):
        clock.now = T0 + step
        await _sign(signer)
    assert 1 == provider.calls


@pytest.mark.anyio
async def test_provider_without_expiry_is_called_once() -> None:
    """Credentials without expires_at are never refreshed."""
    clock = Clock()
    provider = Provider(Credentials(SECRET_ID, SECRET_KEY))
    signer = CosSigner(provider, clock=clock)
    await _sign(signer)
    clock.now = T0 + 10**9
    await _sign(signer)
    assert 1 == provider.calls


@pytest.mark.parametrize(("offset", "calls"), [(3299.0, 1), (3300.0, 2), (3301.0, 2)])
@pytest.mark.anyio
async def test_refresh_margin(offset: float, calls: int) -> None:
    """Credentials are refreshed once the clock is within 300 s of their expiry."""
    clock = Clock()
    provider = Provider(_temporary(T0 + 3600), _temporary(T0 + 7200))
    signer = CosSigner(provider, clock=clock)
    await _sign(signer)
    clock.now = T0 + offset
    await _sign(signer)
    assert calls == provider.calls


@pytest.mark.anyio
async def test_custom_refresh_margin() -> None:
    """refresh_margin moves the refresh point."""
    clock = Clock()
    provider = Provider(_temporary(T0 + 3600), _temporary(T0 + 7200))
    signer = CosSigner(provider, clock=clock, refresh_margin=1000)
    await _sign(signer)
    clock.now = T0 + 2601
    await _sign(signer)
    assert 2 == provider.calls


@pytest.mark.anyio
async def test_short_lived_credentials_refresh_at_half_life() -> None:
    """Credentials living less than twice the margin are refreshed at half their life."""
    clock = Clock()
    provider = Provider(_temporary(T0 + 200), _temporary(T0 + 400))
    signer = CosSigner(provider, clock=clock)
    await _sign(signer)
    clock.now = T0 + 99
    await _sign(signer)
    first = provider.calls
    clock.now = T0 + 100
    await _sign(signer)
    assert (1, 2) == (first, provider.calls)


@pytest.mark.anyio
async def test_refresh_uses_the_new_key() -> None:
    """After a refresh the signature is made with the new secret key."""
    clock = Clock()
    provider = Provider(_temporary(T0 + 3600), _temporary(T0 + 7200, key=OTHER_KEY))
    signer = CosSigner(provider, clock=clock)
    await _sign(signer)
    clock.now = T0 + 3310  # same key-time minute as long as the key time is unchanged
    request = await _sign(signer)
    auth = parse_authorization(request.headers["Authorization"])
    expected = compute_signature(
        OTHER_KEY,
        "GET",
        "/inventorytriggerjob",
        [],
        {"host": request.url.host, "x-ci-security-token": TOKEN},
        auth["q-key-time"],
    )
    assert expected == auth["q-signature"]


@pytest.mark.anyio
async def test_single_flight_refresh() -> None:
    """Fifty tasks waiting for credentials cause exactly one provider call."""
    release = anyio.Event()
    calls = 0

    async def provider() -> Credentials:
        nonlocal calls
        calls += 1
        await release.wait()
        return _temporary(T0 + 3600)

    signer = CosSigner(provider, clock=lambda: T0)
    signed: list[str] = []

    async def sign_one() -> None:
        request = await _sign(signer)
        signed.append(request.headers["Authorization"])

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(sign_one)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert (1, 50, 1) == (calls, len(signed), len(set(signed)))


@pytest.mark.anyio
async def test_single_flight_failure_is_shared() -> None:
    """When the one refresh fails, every waiter gets a CredentialsError; one call is made."""
    release = anyio.Event()
    calls = 0

    async def provider() -> Credentials:
        nonlocal calls
        calls += 1
        await release.wait()
        raise RuntimeError(SECRET_KEY)

    signer = CosSigner(provider, clock=lambda: T0)
    errors: list[CredentialsError] = []

    async def sign_one() -> None:
        try:
            await _sign(signer)
        except CredentialsError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(sign_one)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert (1, 50) == (calls, len(errors))


@pytest.mark.anyio
async def test_provider_failure_becomes_credentials_error() -> None:
    """A provider's exception becomes CredentialsError with the original as cause."""
    boom = RuntimeError("token service unavailable")
    signer = CosSigner(Provider(boom), clock=Clock())
    with pytest.raises(CredentialsError, match="RuntimeError") as info:
        await _sign(signer)
    assert boom is info.value.__cause__


@pytest.mark.anyio
async def test_provider_failure_message_hides_secrets() -> None:
    """The CredentialsError text never repeats the provider's message (it may hold secrets)."""
    signer = CosSigner(Provider(RuntimeError(f"{SECRET_KEY} {TOKEN}")), clock=Clock())
    with pytest.raises(CredentialsError) as info:
        await _sign(signer)
    _assert_no_secret(str(info.value))


@pytest.mark.anyio
async def test_provider_credentials_error_passes_through() -> None:
    """A CredentialsError raised by the provider reaches the caller unchanged."""
    error = CredentialsError("role not assumable")
    signer = CosSigner(Provider(error), clock=Clock())
    with pytest.raises(CredentialsError) as info:
        await _sign(signer)
    assert error is info.value


@pytest.mark.anyio
async def test_provider_returning_wrong_type() -> None:
    """A provider returning something other than Credentials is a CredentialsError."""

    async def provider() -> Credentials:
        return {"secret_id": SECRET_ID, "secret_key": SECRET_KEY}  # type: ignore[return-value]

    with pytest.raises(CredentialsError, match="returned dict") as info:
        await _sign(CosSigner(provider, clock=Clock()))
    _assert_no_secret(str(info.value))


@pytest.mark.anyio
async def test_sync_provider_is_rejected() -> None:
    """A provider that is not async is a CredentialsError saying so."""
    sync_provider: Callable[[], Credentials] = lambda: Credentials(SECRET_ID, SECRET_KEY)  # noqa: E731
    signer = CosSigner(sync_provider, clock=Clock())  # type: ignore[arg-type]
    with pytest.raises(CredentialsError, match="async"):
        await _sign(signer)


@pytest.mark.anyio
async def test_provider_returning_expired_credentials() -> None:
    """Credentials that have already expired are a CredentialsError."""
    signer = CosSigner(Provider(_temporary(T0 - 1)), clock=Clock())
    with pytest.raises(CredentialsError, match="expired"):
        await _sign(signer)


@pytest.mark.anyio
async def test_failed_refresh_keeps_valid_credentials(caplog: pytest.LogCaptureFixture) -> None:
    """A failed refresh before expiry keeps signing with the current credentials."""
    clock = Clock()
    provider = Provider(_temporary(T0 + 3600), RuntimeError(SECRET_KEY))
    signer = CosSigner(provider, clock=clock)
    await _sign(signer)
    clock.now = T0 + 3400
    with caplog.at_level(logging.WARNING, logger="ci_async"):
        request = await _sign(signer)
    assert (TOKEN, 2, 1) == (
        request.headers["x-ci-security-token"],
        provider.calls,
        len(caplog.records),
    )


@pytest.mark.anyio
async def test_failed_refresh_warning_hides_secrets(caplog: pytest.LogCaptureFixture) -> None:
    """The warning about a failed refresh contains no secret."""
    clock = Clock()
    signer = CosSigner(Provider(_temporary(T0 + 3600), RuntimeError(SECRET_KEY)), clock=clock)
    await _sign(signer)
    clock.now = T0 + 3400
    with caplog.at_level(logging.DEBUG, logger="ci_async"):
        await _sign(signer)
    _assert_no_secret(caplog.text)


@pytest.mark.anyio
async def test_failed_refresh_is_retried_later() -> None:
    """After a failed refresh the provider is asked again after a pause, not per request."""
    clock = Clock()
    provider = Provider(_temporary(T0 + 3600), RuntimeError("down"), _temporary(T0 + 7200))
    signer = CosSigner(provider, clock=clock)
    await _sign(signer)
    clock.now = T0 + 3400
    await _sign(signer)
    clock.now = T0 + 3405
    await _sign(signer)
    during_pause = provider.calls
    clock.now = T0 + 3411
    await _sign(signer)
    assert (2, 3) == (during_pause, provider.calls)


@pytest.mark.anyio
async def test_failed_refresh_after_expiry_raises() -> None:
    """Once the cached credentials have expired, a failing provider raises."""
    clock = Clock()
    signer = CosSigner(Provider(_temporary(T0 + 3600), RuntimeError("down")), clock=clock)
    await _sign(signer)
    clock.now = T0 + 3600
    with pytest.raises(CredentialsError):
        await _sign(signer)


# --------------------------------------------------------------------------- #
# No secret in any text
# --------------------------------------------------------------------------- #


def test_signer_repr_hides_secrets() -> None:
    """repr()/str() of a CosSigner with static credentials show no key or token."""
    signer = CosSigner(Credentials(SECRET_ID, SECRET_KEY, TOKEN))
    _assert_no_secret(repr(signer) + str(signer))


def test_signer_repr_names_the_provider() -> None:
    """repr() of a CosSigner with a provider names the provider, not its arguments."""

    async def fetch(key: str) -> Credentials:
        return Credentials(SECRET_ID, key)

    signer = CosSigner(functools.partial(fetch, SECRET_KEY))
    _assert_no_secret(repr(signer) + str(signer))


def test_source_repr_hides_secrets() -> None:
    """The credential source's repr shows no key or token."""
    source = CredentialSource(Credentials(SECRET_ID, SECRET_KEY, TOKEN))
    _assert_no_secret(repr(source))


@pytest.mark.anyio
async def test_signer_repr_after_signing_hides_secrets() -> None:
    """Signing (which caches derived keys) leaves no secret or signature in the repr."""
    signer = CosSigner(Credentials(SECRET_ID, SECRET_KEY, TOKEN), clock=lambda: T0)
    request = await _sign(signer)
    signature = parse_authorization(request.headers["Authorization"])["q-signature"]
    text = repr(signer) + str(signer)
    assert (False, True) == (signature in text, SECRET_ID in text)
    _assert_no_secret(text)
