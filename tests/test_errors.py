"""The exception hierarchy and the mapping of error answers to exceptions."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ci_async
from ci_async import (
    AuthError,
    CIError,
    CredentialsError,
    Job,
    JobNotFoundError,
    PaginationError,
    ResponseParseError,
    ServerError,
    ServiceError,
    SessionClosedError,
    ThrottledError,
    TransportError,
    WaitTimeoutError,
)
from ci_async._decode import error_from_response
from ci_async._errors import redact_url

DATA = Path(__file__).parent / "data"
URL = "https://examplebucket-1250000000.ci.ap-beijing.myqcloud.com/inventorytriggerjob/j1"
SIGNATURE = "q-sign-algorithm=sha1&q-ak=AKIDsecretid&q-signature=0123456789abcdef0123456789abcdef"


def _error_xml(code: str, message: str = "boom", request_id: str = "req-body") -> bytes:
    return (
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId><TraceId>trace-1</TraceId></Error>"
    ).encode()


def _map(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None, url: str = URL
) -> ServiceError:
    return error_from_response(status, body, headers or {}, method="GET", url=url)


# --------------------------------------------------------------------------- hierarchy


@pytest.mark.parametrize(
    "cls",
    [
        ServiceError,
        TransportError,
        ResponseParseError,
        PaginationError,
        CredentialsError,
        WaitTimeoutError,
        SessionClosedError,
    ],
)
def test_every_error_is_a_cierror(cls: type[Exception]) -> None:
    """Every exception derives from CIError."""
    assert issubclass(cls, CIError)


@pytest.mark.parametrize("cls", [JobNotFoundError, AuthError, ThrottledError, ServerError])
def test_service_errors_are_service_errors(cls: type[Exception]) -> None:
    """The status-specific errors derive from ServiceError."""
    assert issubclass(cls, ServiceError)


def test_module_docstring_draws_every_error() -> None:
    """The hierarchy in the module docstring names every exception class."""
    doc = ci_async._errors.__doc__ or ""
    missing = [name for name in ci_async._errors.__all__ if name not in doc]
    assert [] == missing


def test_service_error_is_keyword_only() -> None:
    """ServiceError takes keyword arguments only."""
    with pytest.raises(TypeError):
        ServiceError(403)  # type: ignore[call-arg]


# --------------------------------------------------------------------------- str / repr


@pytest.fixture(name="denied")
def fixture_denied() -> ServiceError:
    """An AccessDenied error with every field set."""
    return AuthError(
        status_code=403,
        code="AccessDenied",
        message="Access denied.",
        request_id="NjJi",
        trace_id="trace-1",
        method="GET",
        url="https://host/inventorytriggerjob/j1",
    )


def test_service_error_str(denied: ServiceError) -> None:
    """str() reads: code (status): message [request_id=...] METHOD url."""
    assert (
        "AccessDenied (403): Access denied. [request_id=NjJi] GET https://host/inventorytriggerjob/j1"
        == str(denied)
    )


def test_service_error_str_without_details() -> None:
    """str() of a bare status still says what happened."""
    assert "HTTP error (502)" == str(ServerError(status_code=502))


def test_service_error_repr(denied: ServiceError) -> None:
    """repr() names the class and the fields."""
    assert repr(denied).startswith("AuthError(status_code=403, code='AccessDenied', ")


def test_service_error_str_shortens_long_messages() -> None:
    """A huge message is cut in str() but kept whole on the attribute."""
    error = ServiceError(status_code=400, code="InvalidArgument", message="x" * 5000)
    assert (5000, True) == (len(error.message or ""), len(str(error)) < 300)


def test_url_userinfo_is_stripped() -> None:
    """Userinfo in the URL never reaches the error."""
    error = ServiceError(status_code=400, url="https://id:key@host/path?size=1#frag")
    assert "https://host/path?size=1" == error.url


def test_url_signature_parameters_are_masked() -> None:
    """Signature-like query parameters are masked, others kept."""
    url = redact_url("https://host/p?q-signature=abc&x-ci-security-token=tok&size=10")
    assert "https://host/p?q-signature=***&x-ci-security-token=***&size=10" == url


def test_next_token_parameter_is_not_a_secret() -> None:
    """The nextToken parameter is kept in URLs: it is not a credential."""
    assert "https://host/p?nextToken=25" == redact_url("https://host/p?nextToken=25")


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_redact_url_never_raises(url: str) -> None:
    """redact_url returns a string for any input."""
    assert isinstance(redact_url(url), str)


def test_no_authorization_in_error_text() -> None:
    """Neither str() nor repr() of a mapped error shows Authorization or userinfo secrets."""
    error = error_from_response(
        403,
        _error_xml("SignatureDoesNotMatch"),
        {"Authorization": SIGNATURE, "x-ci-request-id": "r"},
        method="GET",
        url="https://AKIDsecretid:topsecret@host/inventorytriggerjob/j1?q-signature=0123456789abcdef",
    )
    text = str(error) + repr(error)
    assert [] == [s for s in ("0123456789abcdef", "topsecret", "AKIDsecretid") if s in text]


def test_not_found_str_names_the_job() -> None:
    """JobNotFoundError's message leads with the job id."""
    error = JobNotFoundError(job_id="j1", status_code=400, code="ResourceNotFound")
    assert str(error).startswith("job 'j1' not found: ResourceNotFound (400)")


def test_transport_error_str() -> None:
    """TransportError's message names the request."""
    error = TransportError("connection refused", method="GET", url="http://127.0.0.1:1/x")
    assert "connection refused (GET http://127.0.0.1:1/x)" == str(error)


def test_parse_error_snippet_is_short_and_one_line() -> None:
    """ResponseParseError keeps at most 200 characters of the body, on one line."""
    error = ResponseParseError("bad", snippet=b"<html>\n<body>" + b"x" * 1000)
    assert (200, False) == (len(error.snippet), "\n" in error.snippet)


def test_parse_error_str_shows_snippet() -> None:
    """str(ResponseParseError) ends with the snippet."""
    assert "bad: '<html>'" == str(ResponseParseError("bad", snippet=b"<html>"))


def test_pagination_error_shortens_token_in_message() -> None:
    """A long NextToken is cut in the message but whole on the attribute."""
    token = "t" * 500
    error = PaginationError("NextToken repeated", next_token=token)
    assert (token, True) == (error.next_token, len(str(error)) < 80)


def test_wait_timeout_error_str() -> None:
    """WaitTimeoutError says which job, how long and the last state seen."""
    job = Job(job_id="j1", type="Job", state="Running")
    error = WaitTimeoutError("j1", job, timeout=30)
    assert "job 'j1' did not finish within 30s (last state: Running)" == str(error)


def test_wait_timeout_error_attributes() -> None:
    """WaitTimeoutError carries the job id and the last job seen."""
    job = Job(job_id="j1", type="Job", state="Running")
    error = WaitTimeoutError("j1", job)
    assert ("j1", job, None) == (error.job_id, error.last_job, error.timeout)


def test_session_closed_error_default_message() -> None:
    """SessionClosedError has a helpful default message."""
    assert "the session is closed" == str(SessionClosedError())


_ERRORS = [
    ServiceError(status_code=400, code="InvalidArgument", message="m", request_id="r", url=URL),
    JobNotFoundError(job_id="j1", status_code=400, code="ResourceNotFound", method="GET", url=URL),
    AuthError(status_code=403, code="AccessDenied", trace_id="t"),
    ThrottledError(status_code=429, code="SlowDown", retry_after=1.5),
    ServerError(status_code=503),
    TransportError("read timeout", method="GET", url=URL),
    ResponseParseError("bad", snippet=b"<x", status_code=200, request_id="r"),
    PaginationError("repeated", next_token="25"),
    CredentialsError("no credentials"),
    WaitTimeoutError("j1", Job(job_id="j1", type="Job", state="Running"), timeout=3.0),
    SessionClosedError(),
]


@pytest.mark.parametrize("error", _ERRORS, ids=lambda e: type(e).__name__)
def test_errors_pickle(error: Exception) -> None:
    """Every error survives pickling with its class, message and attributes."""
    copy = pickle.loads(pickle.dumps(error))
    assert (type(error), str(error), vars(error)) == (type(copy), str(copy), vars(copy))


# --------------------------------------------------------------------------- mapping

_TABLE = [
    (301, "PermanentRedirect", ServiceError),
    (307, "TemporaryRedirect", ServiceError),
    (400, "InvalidArgument", ServiceError),
    (400, "MissingContent", ServiceError),
    (400, "InvalidContent", ServiceError),
    (400, "InvalidHost", ServiceError),
    (400, "ResourceNotFound", JobNotFoundError),
    (400, "ResourceAccessDenied", ServiceError),
    (400, "ResourceDownloadFailed", ServiceError),
    (400, "CIRoleNotExist", ServiceError),
    (401, "MissingAuthorization", AuthError),
    (401, "InvalidAuthorization", AuthError),
    (401, "AccessDenied", AuthError),
    (401, "SecretidNotExist", AuthError),
    (401, "SignatureExpired", AuthError),
    (403, "AccessDenied", AuthError),
    (403, "SignatureDoesNotMatch", AuthError),
    (403, "RequestTimeTooSkewed", AuthError),
    (404, "NoSuchBucket", ServiceError),
    (404, "NoSuchKey", JobNotFoundError),
    (429, "SlowDown", ThrottledError),
    (429, "TooManyRequests", ThrottledError),
    (503, "SlowDown", ThrottledError),
    (500, "InternalError", ServerError),
    (502, "BadGateway", ServerError),
    (503, "ServiceUnavailable", ServerError),
    (504, "GatewayTimeout", ServerError),
]


@pytest.mark.parametrize(("status", "code", "cls"), _TABLE, ids=[f"{s}-{c}" for s, c, _ in _TABLE])
def test_error_mapping(status: int, code: str, cls: type[ServiceError]) -> None:
    """Each documented status/code pair maps to its exception class (exactly)."""
    assert cls is type(_map(status, _error_xml(code)))


def test_error_fields_from_body() -> None:
    """Code, message, request id and trace id come from the <Error> document."""
    error = _map(403, _error_xml("AccessDenied", "no", "req-9"))
    assert ("AccessDenied", "no", "req-9", "trace-1", 403, "GET") == (
        error.code,
        error.message,
        error.request_id,
        error.trace_id,
        error.status_code,
        error.method,
    )


def test_error_sample_file() -> None:
    """The sample error document maps to AuthError with its fields."""
    error = _map(403, (DATA / "error_access_denied.xml").read_bytes())
    assert (AuthError, "AccessDenied", "NjJiZDU1ZmZfOTBmYTUwNjRfNzdjY18xYQ==") == (
        type(error),
        error.code,
        error.request_id,
    )


def test_not_found_carries_job_id_from_url() -> None:
    """JobNotFoundError from a describe URL knows the job id."""
    assert "j1" == _map(400, _error_xml("ResourceNotFound")).job_id  # type: ignore[attr-defined]


LIST_URL = "https://examplebucket-1250000000.ci.ap-beijing.myqcloud.com/inventorytriggerjob?size=10"


@pytest.mark.parametrize(
    ("status", "code"), [(400, "ResourceNotFound"), (404, "NoSuchKey"), (404, None)]
)
def test_not_found_on_a_listing_is_no_job_not_found(status: int, code: str | None) -> None:
    """A listing (or a create) names no job: its ResourceNotFound or 404 is a plain ServiceError."""
    error = _map(status, _error_xml(code) if code else b"", url=LIST_URL)
    assert ServiceError is type(error)
    assert (status, code) == (error.status_code, error.code)


def test_request_id_from_header_when_body_has_none() -> None:
    """Without a body request id, x-ci-request-id is used (any header case)."""
    assert "hdr" == _map(502, b"", {"X-CI-Request-Id": "hdr"}).request_id


def test_request_id_prefers_body() -> None:
    """The body's RequestId wins over the header."""
    assert "req-body" == _map(500, _error_xml("InternalError"), {"x-ci-request-id": "h"}).request_id


def test_html_body_gives_status_and_snippet() -> None:
    """A proxy's HTML page maps by status, with a short one-line snippet as message."""
    error = _map(502, (DATA / "error_proxy.html").read_bytes())
    assert (ServerError, None, True, True) == (
        type(error),
        error.code,
        (error.message or "").startswith("<html> <head><title>502 Bad Gateway</title>"),
        len(error.message or "") <= 200,
    )


def test_empty_body_gives_status_only() -> None:
    """An empty body maps by status with no code or message."""
    error = _map(503, b"")
    assert (ServerError, None, None) == (type(error), error.code, error.message)


def test_empty_404_is_not_found() -> None:
    """A bare 404 maps to JobNotFoundError."""
    assert JobNotFoundError is type(_map(404))


def test_malformed_xml_body_gives_snippet() -> None:
    """A truncated XML error body still maps by status, message a snippet."""
    error = _map(403, b"<Error><Code>AccessDen")
    assert (AuthError, None, "<Error><Code>AccessDen") == (type(error), error.code, error.message)


def test_error_in_response_root_is_understood() -> None:
    """An error document rooted at <Response> still yields its code."""
    body = b"<Response><Code>InvalidArgument</Code><Message>bad size</Message></Response>"
    assert ("InvalidArgument", "bad size") == (_map(400, body).code, _map(400, body).message)


def test_retry_after_seconds() -> None:
    """Retry-After in seconds becomes ThrottledError.retry_after."""
    error = _map(429, _error_xml("SlowDown"), {"Retry-After": "2.5"})
    assert 2.5 == error.retry_after


def test_retry_after_http_date() -> None:
    """Retry-After as an HTTP date becomes seconds from now."""
    when = datetime.now(timezone.utc) + timedelta(seconds=120)
    error = _map(429, b"", {"retry-after": format_datetime(when, usegmt=True)})
    assert 60 < (error.retry_after or 0) <= 121


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", ""])
def test_retry_after_invalid_is_ignored(value: str) -> None:
    """An unusable Retry-After gives retry_after None."""
    assert _map(429, b"", {"Retry-After": value}).retry_after is None


def test_retry_after_kept_on_server_errors() -> None:
    """A 503 with Retry-After (not SlowDown) still carries the delay."""
    error = _map(503, b"", {"Retry-After": "7"})
    assert (ServerError, 7.0) == (type(error), error.retry_after)


def test_doctype_error_body_is_not_parsed() -> None:
    """An error body with a DOCTYPE is treated as opaque text."""
    body = b'<!DOCTYPE x [<!ENTITY a "b">]><Error><Code>&a;</Code></Error>'
    assert (ServerError, None) == (type(_map(500, body)), _map(500, body).code)


@given(
    status=st.integers(min_value=0, max_value=999),
    body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode),
    headers=st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4),
    url=st.text(max_size=100),
)
@settings(max_examples=400, deadline=None)
def test_error_from_response_never_raises(
    status: int, body: bytes, headers: dict[str, str], url: str
) -> None:
    """Any status, body, headers and URL give a ServiceError with that status."""
    error = error_from_response(status, body, headers, method="GET", url=url)
    assert (True, status) == (isinstance(error, ServiceError), error.status_code)


def test_huge_xml_error_body_is_not_parsed() -> None:
    """An error body far larger than any error document maps by status with a snippet."""
    body = b"<Error><Code>SlowDown</Code><Message>" + b"x" * 100_000 + b"</Message></Error>"
    error = _map(500, body)
    assert (ServerError, None, True) == (
        type(error),
        error.code,
        (error.message or "").startswith("<Error><Code>SlowDown</Code>"),
    )


# --------------------------------------------------------------------------- server text

#: Server text that forges a log line, drives a terminal, hides itself, or is huge.
HOSTILE_TEXT = [
    "x\r\n2024-01-01 ERROR FORGED",
    "\x1b]0;pwned\x07\x1b[2J",
    "a\u2028b\u202ec\x00d\x85e",
    "R" * 1_000_000,
    "\r\n" * 10_000,
]


def _hostile_errors(text: str) -> list[CIError]:
    """Every error that shows server text, each with ``text`` in every field that holds some."""
    job = Job(job_id="j1", type="Job", state=text)
    return [
        ServiceError(
            status_code=503, code=text, message=text, request_id=text, method="GET", url=URL + text
        ),
        ServerError(status_code=502, message=text, request_id=text),
        JobNotFoundError(job_id=text, status_code=200, message=text, request_id=text, url=URL),
        ResponseParseError(text, snippet=text, status_code=200, request_id=text),
        PaginationError(f"the service sent {text}", next_token=text),
        TransportError(f"ReadError: {text}", method="GET", url=URL + "?nextToken=" + text),
        WaitTimeoutError("j1", job, timeout=3.0),
    ]


@pytest.mark.parametrize(
    "text", HOSTILE_TEXT, ids=["crlf", "terminal", "invisible", "1mb", "crlfs"]
)
def test_server_text_in_a_message_is_escaped_and_bounded(text: str) -> None:
    """CR/LF, ESC and invisible characters become visible escapes; each piece is cut (with …)."""
    for error in _hostile_errors(text):
        shown = str(error)
        assert shown.isprintable(), f"{type(error).__name__}: {shown[:300]!r}"
        assert len(shown) < 2000, f"{type(error).__name__}: {len(shown)} characters"
        assert repr(error).isprintable(), f"{type(error).__name__}: {repr(error)[:300]}"
        assert len(repr(error)) < 10_000, f"{type(error).__name__}: {len(repr(error))}"


def test_escaped_text_reads_as_the_escapes_python_writes() -> None:
    """The escape of a CR/LF is the two characters backslash-r, backslash-n, as in a literal."""
    error = ServerError(
        status_code=503, code="Slow\nDown", message="x\r\nFORGED", request_id="\x1b"
    )
    assert "Slow\\nDown (503): x\\r\\nFORGED [request_id=\\x1b]" == str(error)


def test_attributes_keep_the_raw_server_text() -> None:
    """Only what is displayed changes: every attribute holds exactly what the server sent."""
    text = "x\r\n\x1b[2J" + "y" * 5000
    error = ServiceError(status_code=500, code=text, message=text, request_id=text, trace_id=text)
    parse = ResponseParseError("bad", request_id=text)
    token = PaginationError("repeated", next_token=text)
    assert [text] * 6 == [
        error.code,
        error.message,
        error.request_id,
        error.trace_id,
        parse.request_id,
        token.next_token,
    ]


def test_a_long_piece_is_cut_at_200_characters_with_a_marker() -> None:
    """Each piece of server text shows at most 200 characters, the last an ellipsis."""
    error = ServerError(status_code=503, message="m" * 5000, request_id="r" * 5000)
    text = str(error)
    assert ": " + "m" * 199 + "… [request_id=" + "r" * 199 + "…]" == text[text.index(": ") :]


@given(
    code=st.none() | st.text(max_size=300),
    message=st.none() | st.text(max_size=300),
    request_id=st.none() | st.text(max_size=300),
    url=st.none() | st.text(max_size=300),
)
@settings(max_examples=300, deadline=None)
def test_any_service_text_gives_one_printable_bounded_line(
    code: str | None, message: str | None, request_id: str | None, url: str | None
) -> None:
    """Whatever the pieces hold, str() of a ServiceError is one printable line of bounded length."""
    error = ServiceError(
        status_code=500, code=code, message=message, request_id=request_id, method="GET", url=url
    )
    assert str(error).isprintable()
    assert len(str(error)) <= 4 * 201 + 40


# --------------------------------------------------------------------------- not found on a 200


def test_a_job_reported_non_existent_on_a_200_is_not_called_an_http_error() -> None:
    """NonExistJobIds on a 200: the message says the service reported it, not 'HTTP error (200)'."""
    error = JobNotFoundError(
        job_id="b1",
        status_code=200,
        message="the service reported it as non-existent",
        request_id="r1",
        method="GET",
        url=URL,
    )
    assert (
        "job 'b1' not found: the service reported it as non-existent (HTTP 200)"
        f" [request_id=r1] GET {URL}"
    ) == str(error)


@pytest.mark.parametrize("status", [300, 400, 404, 500, 0, 999])
def test_a_status_that_is_not_2xx_without_a_code_is_an_http_error(status: int) -> None:
    """Without a code, a failing status still reads 'HTTP error (status)'."""
    assert f"HTTP error ({status})" == str(ServiceError(status_code=status))
