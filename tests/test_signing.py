"""The v5 signature: published vectors, CosSigner behaviour, and the official SDK as an oracle."""

from __future__ import annotations

import types
from collections.abc import Iterator
from unittest import mock
from urllib.parse import quote

import anyio
import httpx
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qcloud_cos import CosConfig, cos_auth

from ci_async import CosSigner, Credentials, Signer
from ci_async._signing import compute_signature, parse_authorization, sign_v5

# --------------------------------------------------------------------------- #
# Published vectors (reference/API.md)
# --------------------------------------------------------------------------- #

KEY_ABD = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"
ID_ABD = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"
KEY_C = "AKIDZfbOA78asKUYBcXFrJD0a1ICvR98JM"
ID_C = "QmFzZTY0IGlzIGEgZ2VuZXJp"
HOST_AB = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com"
PATH_AB = "/exampleobject(腾讯云)"

HEADERS_A = {
    "content-length": "13",
    "content-md5": "mQ/fVh815F3k6TAUm8m0eg==",
    "content-type": "text/plain",
    "date": "Thu, 16 May 2019 06:45:51 GMT",
    "host": HOST_AB,
    "x-cos-acl": "private",
    "x-cos-grant-read": 'uin="100000000011"',
}
HEADERS_B = {"date": "Thu, 16 May 2019 06:55:53 GMT", "host": HOST_AB}
PARAMS_B = [
    ("response-content-type", "application/octet-stream"),
    ("response-cache-control", "max-age=600"),
]

# Key times of the vectors are exact: no quantisation, no skew.
EXACT = {"skew": 0, "granularity": 1, "expires": 7200}


def test_vector_a() -> None:
    """Vector A (PUT with seven headers, non-ASCII path) reproduces exactly."""
    assert "3b8851a11a569213c17ba8fa7dcf2abec6935172" == compute_signature(
        KEY_ABD, "PUT", PATH_AB, [], HEADERS_A, "1557989151;1557996351"
    )


def test_vector_b() -> None:
    """Vector B (GET with encoded query parameters) reproduces exactly."""
    assert "01681b8c9d798a678e43b685a9f1bba0f6c0e012" == compute_signature(
        KEY_ABD, "GET", PATH_AB, PARAMS_B, HEADERS_B, "1557989753;1557996953"
    )


def test_vector_c() -> None:
    """Vector C (x-cos-* headers only) reproduces exactly."""
    headers = {
        "host": "testbucket-125000000.cos.ap-guangzhou.myqcloud.com",
        "x-cos-content-sha1": "db8ac1c259eb89d4a131b253bacfca5f319d54f2",
        "x-cos-stroage-class": "nearline",
    }
    assert "ce4ac0ecbcdb30538b3fee0a97cc6389694ce53a" == compute_signature(
        KEY_C, "PUT", "/testfile2", [], headers, "1480932292;1481012292"
    )


def test_vector_d() -> None:
    """Vector D (a range header, as the caller selected it) reproduces exactly."""
    headers = {"host": "bucket1-1254000000.cos.ap-beijing.myqcloud.com", "range": "bytes=0-3"}
    assert "4b6cbab14ce01381c29032423481ebffd514e8be" == compute_signature(
        KEY_ABD, "GET", "/testfile", [], headers, "1417773892;1417853898"
    )


def test_sign_v5_vector_a_full_value() -> None:
    """sign_v5 writes the whole Authorization value, lists sorted and ';'-joined."""
    expected = (
        f"q-sign-algorithm=sha1&q-ak={ID_ABD}&q-sign-time=1557989151;1557996351"
        "&q-key-time=1557989151;1557996351"
        "&q-header-list=content-length;content-md5;content-type;date;host;x-cos-acl;"
        "x-cos-grant-read&q-url-param-list=&q-signature=3b8851a11a569213c17ba8fa7dcf2abec6935172"
    )
    assert expected == sign_v5(
        secret_id=ID_ABD,
        secret_key=KEY_ABD,
        method="PUT",
        path=PATH_AB,
        params=[],
        headers=list(HEADERS_A.items()),
        key_time="1557989151;1557996351",
    )


def _sign(signer: CosSigner, request: httpx.Request) -> dict[str, str]:
    anyio.run(signer.sign, request)
    return parse_authorization(request.headers["Authorization"])


def test_cos_signer_vector_a() -> None:
    """CosSigner signs vector A's httpx request (exact key time from the clock) identically."""
    signer = CosSigner(Credentials(ID_ABD, KEY_ABD), clock=lambda: 1557989151.0, **EXACT)
    request = httpx.Request(
        "PUT",
        f"https://{HOST_AB}{PATH_AB}",
        headers={k: v for k, v in HEADERS_A.items() if k not in {"host", "content-length"}},
        content=b"ci is awesome",
    )
    auth = _sign(signer, request)
    assert "3b8851a11a569213c17ba8fa7dcf2abec6935172" == auth["q-signature"]


def test_cos_signer_vector_b() -> None:
    """CosSigner signs vector B's httpx request (query from the URL) identically."""
    signer = CosSigner(Credentials(ID_ABD, KEY_ABD), clock=lambda: 1557989753.0, **EXACT)
    request = httpx.Request(
        "GET",
        f"https://{HOST_AB}{PATH_AB}?response-content-type=application%2Foctet-stream"
        "&response-cache-control=max-age%3D600",
        headers={"date": HEADERS_B["date"]},
    )
    auth = _sign(signer, request)
    assert "01681b8c9d798a678e43b685a9f1bba0f6c0e012" == auth["q-signature"]


def test_cos_signer_vector_b_lists() -> None:
    """CosSigner's q-header-list and q-url-param-list for vector B are sorted names."""
    signer = CosSigner(Credentials(ID_ABD, KEY_ABD), clock=lambda: 1557989753.0, **EXACT)
    request = httpx.Request("GET", f"https://{HOST_AB}/o?b=1&a=2", headers=HEADERS_B)
    auth = _sign(signer, request)
    assert ("date;host", "a;b") == (auth["q-header-list"], auth["q-url-param-list"])


# --------------------------------------------------------------------------- #
# The algorithm's details
# --------------------------------------------------------------------------- #


def test_mapping_and_pairs_are_equivalent() -> None:
    """Headers and params may be given as a mapping or as pairs."""
    pairs = compute_signature("k", "GET", "/", [("a", "1")], [("host", "h")], "1;2")
    mapping = compute_signature("k", "GET", "/", {"a": "1"}, {"host": "h"}, "1;2")
    assert pairs == mapping


def test_input_order_does_not_matter() -> None:
    """Parameters and headers are sorted before signing."""
    first = compute_signature("k", "GET", "/", [("b", "1"), ("a", "2")], [], "1;2")
    second = compute_signature("k", "GET", "/", [("a", "2"), ("b", "1")], [], "1;2")
    assert first == second


def test_names_are_case_insensitive() -> None:
    """Names are lower-cased; values are not."""
    upper = compute_signature("k", "GET", "/", [("A", "X")], [("Host", "H")], "1;2")
    lower = compute_signature("k", "GET", "/", [("a", "X")], [("host", "H")], "1;2")
    assert upper == lower


def test_values_are_case_sensitive() -> None:
    """A value's case changes the signature."""
    upper = compute_signature("k", "GET", "/", [("a", "X")], [], "1;2")
    lower = compute_signature("k", "GET", "/", [("a", "x")], [], "1;2")
    assert upper != lower


def test_method_is_case_insensitive() -> None:
    """The method is signed lower-cased."""
    assert compute_signature("k", "get", "/", [], [], "1;2") == compute_signature(
        "k", "GET", "/", [], [], "1;2"
    )


def test_repeated_names_are_listed_per_occurrence() -> None:
    """A repeated parameter is signed and listed once per occurrence, ordered by value."""
    auth = parse_authorization(
        sign_v5(
            secret_id="id",
            secret_key="k",
            method="GET",
            path="/",
            params=[("a", "2"), ("a", "1")],
            headers=[],
            key_time="1;2",
        )
    )
    reordered = compute_signature("k", "GET", "/", [("a", "1"), ("a", "2")], [], "1;2")
    assert ("a;a", reordered) == (auth["q-url-param-list"], auth["q-signature"])


def test_non_ascii_name_is_encoded_then_lower_cased() -> None:
    """A non-ASCII name is listed percent-encoded with lower-case hex (as the SDKs do)."""
    auth = parse_authorization(
        sign_v5(
            secret_id="id",
            secret_key="k",
            method="GET",
            path="/",
            params=[("腾", "")],
            headers=[],
            key_time="1;2",
        )
    )
    assert "%e8%85%be" == auth["q-url-param-list"]


@pytest.mark.parametrize("key_time", ["", "1", "1;", ";2", "a;b", "1;2;3", "١;٢"])
def test_malformed_key_time_is_rejected(key_time: str) -> None:
    """A key time that is not '<digits>;<digits>' raises ValueError."""
    with pytest.raises(ValueError, match="key_time"):
        compute_signature("k", "GET", "/", [], [], key_time)


# --------------------------------------------------------------------------- #
# parse_authorization
# --------------------------------------------------------------------------- #


def test_parse_authorization_round_trips() -> None:
    """parse_authorization returns every field sign_v5 wrote."""
    value = sign_v5(
        secret_id="AKIDx",
        secret_key="k",
        method="GET",
        path="/",
        params=[("size", "10")],
        headers={"host": "h"},
        key_time="1;2",
    )
    fields = parse_authorization(value)
    expected = {
        "q-sign-algorithm": "sha1",
        "q-ak": "AKIDx",
        "q-sign-time": "1;2",
        "q-key-time": "1;2",
        "q-header-list": "host",
        "q-url-param-list": "size",
        "q-signature": compute_signature("k", "GET", "/", {"size": "10"}, {"host": "h"}, "1;2"),
    }
    assert expected == fields


def test_parse_authorization_missing_field() -> None:
    """A missing field is named in the ValueError."""
    with pytest.raises(ValueError, match="q-signature"):
        parse_authorization(
            "q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-key-time=1;2"
            "&q-header-list=&q-url-param-list="
        )


def test_parse_authorization_garbage() -> None:
    """A value that is not name=value pairs raises ValueError."""
    with pytest.raises(ValueError, match="malformed"):
        parse_authorization("Bearer abc")


def test_parse_authorization_error_hides_the_signature() -> None:
    """The ValueError for a malformed value never quotes the value (or its signature)."""
    value = "q-signature=deadbeefcafe&q-signature=deadbeefcafe&junk"
    with pytest.raises(ValueError, match="twice") as info:
        parse_authorization(value)
    assert "deadbeefcafe" not in str(info.value)


# --------------------------------------------------------------------------- #
# CosSigner
# --------------------------------------------------------------------------- #

CREDS = Credentials("AKIDtest", "test-secret-key")
NOW = 1_700_000_012.5
CI_URL = "https://examplebucket-1250000000.ci.ap-beijing.myqcloud.com"


def test_cos_signer_is_a_signer() -> None:
    """CosSigner satisfies the runtime-checkable Signer protocol."""
    assert isinstance(CosSigner(CREDS), Signer)


def test_any_object_with_async_sign_is_a_signer() -> None:
    """A user's own class with an async sign() satisfies the protocol."""

    class Remote:
        async def sign(self, request: httpx.Request) -> None:
            request.headers["Authorization"] = "signed elsewhere"

    assert isinstance(Remote(), Signer)


def test_default_key_time_is_quantised() -> None:
    """By default the key time starts a minute before the current minute."""
    signer = CosSigner(CREDS, clock=lambda: NOW, expires=3600)
    auth = _sign(signer, httpx.Request("GET", f"{CI_URL}/inventorytriggerjob"))
    assert "1699999920;1700003640" == auth["q-key-time"]


def test_key_time_covers_skew_and_expires() -> None:
    """The key time starts >= skew seconds ago and ends >= expires seconds from now."""
    signer = CosSigner(CREDS, clock=lambda: NOW, expires=900)
    auth = _sign(signer, httpx.Request("GET", f"{CI_URL}/inventorytriggerjob"))
    start, end = (int(part) for part in auth["q-key-time"].split(";"))
    assert (True, True) == (start <= NOW - 60, end >= NOW + 900)


def test_key_time_is_shared_within_a_minute() -> None:
    """Requests signed within the same minute share one key time."""
    now = [NOW]
    signer = CosSigner(CREDS, clock=lambda: now[0])
    first = _sign(signer, httpx.Request("GET", f"{CI_URL}/a"))
    now[0] += 7
    second = _sign(signer, httpx.Request("GET", f"{CI_URL}/a"))
    assert first["q-key-time"] == second["q-key-time"]


def test_sign_time_equals_key_time() -> None:
    """q-sign-time and q-key-time are the same interval."""
    auth = _sign(CosSigner(CREDS, clock=lambda: NOW), httpx.Request("GET", f"{CI_URL}/a"))
    assert auth["q-key-time"] == auth["q-sign-time"]


def test_key_time_moves_on() -> None:
    """A later minute gets a new key time, and signatures stay verifiable."""
    now = [NOW]
    signer = CosSigner(CREDS, clock=lambda: now[0])
    _sign(signer, httpx.Request("GET", f"{CI_URL}/a"))
    now[0] += 61
    request = httpx.Request("GET", f"{CI_URL}/a")
    auth = _sign(signer, request)
    expected = compute_signature(
        CREDS.secret_key, "GET", "/a", [], {"host": request.url.host}, auth["q-key-time"]
    )
    assert ("1699999980;1700003700", expected) == (auth["q-key-time"], auth["q-signature"])


def test_q_ak_is_the_secret_id() -> None:
    """q-ak carries the secret id."""
    auth = _sign(CosSigner(CREDS, clock=lambda: NOW), httpx.Request("GET", f"{CI_URL}/a"))
    assert "AKIDtest" == auth["q-ak"]


def test_value_less_parameter_is_signed() -> None:
    """A value-less ?cancel is signed as cancel= (the official SDK leaves it out)."""
    request = httpx.Request("PUT", f"{CI_URL}/inventorytriggerjob/j1?cancel")
    auth = _sign(CosSigner(CREDS, clock=lambda: NOW), request)
    expected = compute_signature(
        CREDS.secret_key,
        "PUT",
        "/inventorytriggerjob/j1",
        [("cancel", "")],
        {"host": request.url.host, "content-length": "0"},
        auth["q-key-time"],
    )
    assert ("cancel", expected) == (auth["q-url-param-list"], auth["q-signature"])


def test_query_is_decoded_like_parse_qsl() -> None:
    """'+' is a space and escapes are decoded before re-encoding."""
    request = httpx.Request("GET", f"{CI_URL}/a?name=a+b%2Bc&states=Running%2CFailed&x=%E8%85%BE")
    auth = _sign(CosSigner(CREDS, clock=lambda: NOW), request)
    expected = compute_signature(
        CREDS.secret_key,
        "GET",
        "/a",
        [("name", "a b+c"), ("states", "Running,Failed"), ("x", "腾")],
        {"host": request.url.host},
        auth["q-key-time"],
    )
    assert expected == auth["q-signature"]


def test_only_chosen_headers_are_signed() -> None:
    """host, content-*, date and x-ci-*/x-cos-* are signed; other headers are not."""
    request = httpx.Request(
        "POST",
        f"{CI_URL}/inventorytriggerjob",
        headers={
            "Content-Type": "application/xml",
            "Content-MD5": "abc==",
            "Date": "Thu, 16 May 2019 06:55:53 GMT",
            "X-CI-Trace": "t",
            "X-Cos-Meta-A": "m",
            "User-Agent": "ua",
            "Accept": "*/*",
            "Range": "bytes=0-3",
            "Cache-Control": "no-cache",
        },
        content=b"<Request/>",
    )
    auth = _sign(CosSigner(CREDS, clock=lambda: NOW), request)
    expected = "content-length;content-md5;content-type;date;host;x-ci-trace;x-cos-meta-a"
    assert expected == auth["q-header-list"]


def test_signed_path_is_decoded() -> None:
    """The path is signed decoded (UTF-8), as the server sees it."""
    request = httpx.Request("GET", f"{CI_URL}/a%20b/%E8%85%BE")
    auth = _sign(CosSigner(CREDS, clock=lambda: NOW), request)
    expected = compute_signature(
        CREDS.secret_key, "GET", "/a b/腾", [], {"host": request.url.host}, auth["q-key-time"]
    )
    assert expected == auth["q-signature"]


def test_resigning_replaces_authorization() -> None:
    """Signing the same request again (a retry) leaves one Authorization header."""
    now = [NOW]
    signer = CosSigner(CREDS, clock=lambda: now[0])
    request = httpx.Request("GET", f"{CI_URL}/a")
    _sign(signer, request)
    now[0] += 120
    auth = _sign(signer, request)
    assert (1, "1700000040;1700003760") == (
        len(request.headers.get_list("authorization")),
        auth["q-key-time"],
    )


def test_host_with_port_is_signed_as_sent() -> None:
    """A non-default port is part of the signed host, as in the Host header."""
    request = httpx.Request("GET", "http://127.0.0.1:8321/inventorytriggerjob")
    auth = _sign(CosSigner(CREDS, clock=lambda: NOW), request)
    expected = compute_signature(
        CREDS.secret_key,
        "GET",
        "/inventorytriggerjob",
        [],
        {"host": "127.0.0.1:8321"},
        auth["q-key-time"],
    )
    assert expected == auth["q-signature"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"expires": 0}, ValueError),
        ({"expires": -1}, ValueError),
        ({"expires": float("inf")}, ValueError),
        ({"expires": True}, TypeError),
        ({"expires": "60"}, TypeError),
        ({"skew": -1}, ValueError),
        ({"granularity": 0}, ValueError),
        ({"granularity": 1.5}, ValueError),
        ({"clock": 5}, TypeError),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception]) -> None:
    """Out-of-range or mistyped arguments are rejected at construction."""
    with pytest.raises(error):
        CosSigner(CREDS, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# Differential tests against the official SDK (qcloud_cos.cos_auth.CosS3Auth)
#
# Apples to apples:
# * The SDK signs a fixed list of standard headers (cache-control, range,
#   expect, ...) but not ``date``; CosSigner signs host, content-type,
#   content-md5, content-length, date. Generated headers are therefore drawn
#   from the names both sign (host, content-type, content-md5, content-length,
#   x-cos-*, x-ci-*) plus names neither signs.
# * The SDK signs the object key it was given (decoded) as the path, and the
#   parameters it was given as a dict (no repeated names; names that collide
#   once lower-cased collapse): generated names are unique once encoded and
#   lower-cased.
# * The SDK's key time is now-60;now+expire at whole seconds: CosSigner with
#   skew=60, granularity=1 and an integer clock produces the same one, so the
#   whole Authorization value must match, not just q-signature.
# --------------------------------------------------------------------------- #

SDK_TIME = 1_700_000_000
SDK_EXPIRES = 3600

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_alnum = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
_tchar = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789!#$&'*+^_`|~-."), min_size=1)
_header_value = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20
) | st.builds(
    lambda a, b, c: f"{a} {b}{c}",
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=8),
    st.text(st.sampled_from(" \t=;,"), max_size=3),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=8),
)
_segment = st.text(st.characters(codec="utf-8", exclude_characters="/"), max_size=10).filter(
    lambda s: s not in {".", ".."}
)
_path = st.lists(_segment, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
_method = st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"])


def _unique_params(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    unique = []
    for name, value in pairs:
        encoded = quote(name, safe="").lower()
        if encoded not in seen:
            seen.add(encoded)
            unique.append((name, value))
    return unique


_params = st.lists(st.tuples(_text, _text | st.just("")), max_size=6).map(_unique_params)


@pytest.fixture(name="sdk_conf", scope="module")
def fixture_sdk_conf() -> CosConfig:
    """An SDK configuration holding the test key pair."""
    return CosConfig(Region="ap-beijing", SecretId=CREDS.secret_id, SecretKey=CREDS.secret_key)


@pytest.fixture(name="frozen_sdk_time", scope="module")
def fixture_frozen_sdk_time() -> Iterator[None]:
    """The SDK's signing module sees a fixed time.time()."""
    with mock.patch.object(cos_auth, "time", types.SimpleNamespace(time=lambda: SDK_TIME)):
        yield


def _sdk_authorization(
    conf: CosConfig,
    *,
    method: str,
    path: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    secret_key: str | None = None,
) -> str:
    if secret_key is not None:
        conf = CosConfig(Region="ap-beijing", SecretId=CREDS.secret_id, SecretKey=secret_key)
    auth = cos_auth.CosS3Auth(
        conf, key=path, params=dict(params), expire=SDK_EXPIRES, sign_host=False
    )
    prepared = requests.Request(method, "https://sdk.invalid/").prepare()
    # Exactly these headers, untouched by requests (a plain dict: no case folding).
    prepared.headers = headers  # type: ignore[assignment]
    auth(prepared)
    return str(prepared.headers["Authorization"])


_sdk_header_name = st.sampled_from(["host", "content-type", "content-md5", "content-length"]) | (
    st.tuples(st.sampled_from(["x-cos-", "x-ci-"]), _text).map("".join)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=_method,
    path=_path,
    params=_params,
    headers=st.lists(st.tuples(_sdk_header_name, _text), max_size=6).map(_unique_params),
    secret_key=_alnum.filter(bool),
)
@pytest.mark.usefixtures("frozen_sdk_time")
def test_sign_v5_matches_sdk(
    sdk_conf: CosConfig,
    method: str,
    path: str,
    params: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    secret_key: str,
) -> None:
    """sign_v5 equals the SDK's Authorization for any method, path, params and headers."""
    expected = _sdk_authorization(
        sdk_conf,
        method=method,
        path=path,
        params=params,
        headers=dict(headers),
        secret_key=secret_key,
    )
    ours = sign_v5(
        secret_id=CREDS.secret_id,
        secret_key=secret_key,
        method=method,
        path=path,
        params=params,
        headers=headers,
        key_time=f"{SDK_TIME - 60};{SDK_TIME + SDK_EXPIRES}",
    )
    assert expected == ours


_signed_name = st.sampled_from(["content-type", "content-md5"]) | st.tuples(
    st.sampled_from(["x-cos-", "x-ci-", "X-Cos-", "X-CI-"]), _tchar
).map("".join)
_unsigned_name = st.sampled_from(["user-agent", "accept", "x-request-id", "accept-language"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=_method,
    path=_path,
    params=_params,
    headers=st.lists(st.tuples(_signed_name | _unsigned_name, _header_value), max_size=6).map(
        _unique_params
    ),
    host=st.sampled_from(
        ["examplebucket-1250000000.ci.ap-beijing.myqcloud.com", "127.0.0.1:8321", "[::1]:9000"]
    ),
    body=st.binary(max_size=20),
)
@pytest.mark.usefixtures("frozen_sdk_time")
def test_cos_signer_matches_sdk(
    sdk_conf: CosConfig,
    method: str,
    path: str,
    params: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    host: str,
    body: bytes,
) -> None:
    """CosSigner on an httpx request equals the SDK's Authorization on the same request."""
    query: list[tuple[str, str | int | float | bool | None]] = list(params)
    request = httpx.Request(
        method,
        f"http://{host}{quote(path, safe='/')}",
        params=query,
        headers=headers,
        content=body if method not in {"GET", "HEAD"} else None,
    )
    assert path == request.url.path  # the request really carries the generated path
    signer = CosSigner(CREDS, clock=lambda: float(SDK_TIME), expires=SDK_EXPIRES, granularity=1)
    anyio.run(signer.sign, request)
    sent = {name: value for name, value in request.headers.items() if name != "authorization"}
    expected = _sdk_authorization(sdk_conf, method=method, path=path, params=params, headers=sent)
    assert expected == request.headers["Authorization"]
