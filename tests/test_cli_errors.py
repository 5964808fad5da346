"""The command line's errors: one ``error:`` line, with a hint that says what to do next.

Hints for a host name that does not resolve, for nothing listening at an
``--endpoint``, for a refused signature or key; ``--allow-insecure-http``;
the library's argument checks reported as usage errors; ``-v`` logging.
Subprocess runs use the emulator on a loopback port (fixtures from
:mod:`tests.test_cli`); the one name resolution is of a ``.invalid`` host,
which never resolves.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from ci_async import AuthError, TransportError, _cli
from ci_async._cli._commands import make_session
from ci_async._cli._hints import describe_error, hint_for, is_name_resolution_failure
from ci_async.testing import Emulator

from .test_cli import (  # noqa: F401 - fixtures are found by name
    SECRET_KEY,
    fixture_cli_env,
    fixture_emulator,
    fixture_env,
    fixture_server,
    run_cli,
)


def only_line(stderr: str) -> str:
    """The one line of ``stderr`` (fails the test if there are more or fewer)."""
    lines = stderr.splitlines()
    assert 1 == len(lines), stderr
    return lines[0]


# --- the service refused the request ------------------------------------------------


def test_wrong_key_hints_at_the_key_and_the_clock(
    emulator: Emulator, cli_env: dict[str, str]
) -> None:
    """A wrong secret key: one ``SignatureDoesNotMatch`` line naming the key and the clock."""
    env = {**cli_env, "TENCENTCLOUD_SECRET_KEY": "not-the-key"}
    result = run_cli(env, "jobs", "get", emulator.jobs[0].job_id)
    line = only_line(result.stderr)
    assert (1, True, True, True) == (
        result.returncode,
        line.startswith("error: SignatureDoesNotMatch (403): "),
        "request_id=" in line,
        line.endswith(
            "; hint: check TENCENTCLOUD_SECRET_KEY (or COS_SECRET_KEY) and that this "
            "machine's clock is right (signatures are time-bound)"
        ),
    )
    assert "not-the-key" not in result.stderr + result.stdout


def test_unknown_secret_id_hints_at_the_secret_id(
    emulator: Emulator, cli_env: dict[str, str]
) -> None:
    """A SecretId the service does not know: the hint names the SecretId variable."""
    env = {**cli_env, "TENCENTCLOUD_SECRET_ID": "AKIDnobody000000000000000000000000"}
    result = run_cli(env, "jobs", "get", emulator.jobs[0].job_id)
    line = only_line(result.stderr)
    assert (1, True) == (
        result.returncode,
        line.endswith("; hint: check TENCENTCLOUD_SECRET_ID (or COS_SECRET_ID)"),
    )


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("RequestTimeTooSkewed", "clock"),
        ("InvalidAccessKeyId", "TENCENTCLOUD_SECRET_ID"),
        ("AccessDenied", "CAM policy"),
        ("ExpiredToken", "TENCENTCLOUD_SESSION_TOKEN"),
    ],
)
def test_refusal_codes_have_hints(code: str, words: str) -> None:
    """Each refusal the user can act on gets a hint that names what to check."""
    hint = hint_for(AuthError(status_code=403, code=code, message="no"), endpoint=None)
    assert hint is not None
    assert words in hint


def test_a_code_without_a_known_remedy_gets_no_hint() -> None:
    """No hint rather than a wrong one: the line is the error alone."""
    error = AuthError(status_code=403, code="SomethingElse", message="no")
    assert describe_error(error, endpoint=None) == str(error)


def test_unknown_job_is_one_line_error(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Cancelling a job that does not exist is one error line with status 1."""
    status = _cli.main(["jobs", "cancel", "b0000000000000000000000000000beef"])
    err = capsys.readouterr().err
    assert (1, True) == (status, only_line(err).startswith("error: "))


def test_missing_credentials_name_the_variables(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without credentials the error names the environment variables to set."""
    monkeypatch.delenv("TENCENTCLOUD_SECRET_ID")
    monkeypatch.delenv("TENCENTCLOUD_SECRET_KEY")
    status = _cli.main(["jobs", "list"])
    err = capsys.readouterr().err
    assert (1, True) == (status, "TENCENTCLOUD_SECRET_ID" in only_line(err))


# --- the host: does not resolve, does not listen ---------------------------------------


def resolution_failure(message: str, *, linked: bool) -> TransportError:
    """A TransportError as the library raises it for a name that does not resolve.

    Args:
        message: The text of the ``httpx.ConnectError``.
        linked: Whether the ``socket.gaierror`` is on the chain (as with both
            of today's transports) or only in the text.
    """
    error = TransportError("ConnectError: " + message, method="GET", url="https://h/x")
    cause = httpx.ConnectError(message)
    if linked:
        cause.__cause__ = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "message",
    [
        "[Errno -2] Name or service not known",
        "[Errno 8] nodename nor servname provided, or not known",
        "[Errno 11001] getaddrinfo failed",
    ],
)
def test_resolver_messages_are_recognised_without_a_linked_gaierror(message: str) -> None:
    """The fallback: an ``httpx.ConnectError`` carrying a resolver's words."""
    assert is_name_resolution_failure(resolution_failure(message, linked=False))


def test_a_refused_connection_is_not_a_resolution_failure() -> None:
    """A connect error of another kind does not get the resolution hint."""
    error = TransportError("ConnectError: refused")
    error.__cause__ = httpx.ConnectError("[Errno 111] Connection refused")
    assert (False, None) == (is_name_resolution_failure(error), hint_for(error, endpoint=None))


def test_unresolvable_service_host_hints_at_region_and_bucket() -> None:
    """Without --endpoint the host is built from bucket and region: the hint names both."""
    error = resolution_failure("odd wording", linked=True)
    assert describe_error(error, endpoint=None).endswith(
        "; hint: the host name does not resolve: check --region (or CI_ASYNC_REGION), "
        "e.g. ap-beijing, and --bucket (or CI_ASYNC_BUCKET), BucketName-APPID"
    )


def test_unresolvable_endpoint_hints_at_the_endpoint(cli_env: dict[str, str]) -> None:
    """``--endpoint https://nonexistent.invalid``: one line, exit 1, the hint names --endpoint.

    ``.invalid`` never resolves (RFC 2606); the short timeout bounds a resolver
    that cannot be reached.
    """
    result = run_cli(
        cli_env, "--endpoint", "https://nonexistent.invalid", "--timeout", "2", "jobs", "get", "b1"
    )
    line = only_line(result.stderr)
    assert (1, True, True) == (
        result.returncode,
        line.startswith("error: "),
        line.endswith(
            "; hint: the host name does not resolve: check --endpoint (or CI_ASYNC_ENDPOINT)"
        ),
    )


def test_unreachable_endpoint_is_one_line_error_with_a_hint(cli_env: dict[str, str]) -> None:
    """Nothing listens at the endpoint: one error line after the retries, naming --endpoint."""
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**cli_env, "CI_ASYNC_ENDPOINT": f"http://127.0.0.1:{port}"}
    result = run_cli(env, "jobs", "get", "b1")
    line = only_line(result.stderr)
    assert (1, True, True) == (
        result.returncode,
        line.startswith("error: "),
        "; hint: nothing listens there: check --endpoint (or CI_ASYNC_ENDPOINT)" in line,
    )


# --- plain http ------------------------------------------------------------------


def test_plain_http_to_a_remote_host_names_the_flag(cli_env: dict[str, str]) -> None:
    """The refusal names ``--allow-insecure-http``, not the library's keyword; exit 2."""
    result = run_cli(cli_env, "--endpoint", "http://ci.example.com:8080", "jobs", "get", "b1")
    expected = (
        "error: the endpoint http://ci.example.com:8080 uses plain http to a host that is not "
        "loopback: use https, or pass --allow-insecure-http to send requests unencrypted"
    )
    assert (2, expected) == (result.returncode, only_line(result.stderr))


@pytest.mark.parametrize(
    "argv",
    [
        ["--allow-insecure-http", "--endpoint", "http://ci.example.com", "jobs", "get", "b1"],
        ["jobs", "get", "b1", "--endpoint", "http://ci.example.com", "--allow-insecure-http"],
    ],
)
def test_allow_insecure_http_reaches_the_session(argv: list[str], env: dict[str, str]) -> None:
    """Before or after ``jobs``, the flag lets the session accept a remote plain-http endpoint."""
    args = _cli.build_parser("ci-async").parse_args(argv)
    session = make_session(args)  # no request is made
    assert "http://ci.example.com" == session.endpoint


def test_allow_insecure_http_sends_the_request(cli_env: dict[str, str]) -> None:
    """With the flag the request is attempted: a resolution error (1), not a usage error (2)."""
    result = run_cli(
        cli_env, "--allow-insecure-http", "--endpoint", "http://nonexistent.invalid",
        "--timeout", "2", "jobs", "get", "b1",
    )  # fmt: skip
    assert (1, True) == (result.returncode, "does not resolve" in only_line(result.stderr))


# --- the library's argument checks --------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--prefix", "p"], "error: give either workflow_ids (a Workflow job) or the fields"),
        (["--prefix", "p", "--workflow-id", "w1", "--job-level", "7"], "error: job_level"),
        (
            ["--prefix", "p", "--workflow-id", "w1",
             "--start", "2024-05-02T00:00:00Z", "--end", "2024-05-01T00:00:00Z"],
            "error: time_interval",
        ),
    ],
)  # fmt: skip
def test_create_rules_are_the_librarys_and_a_usage_error(
    options: list[str],
    message: str,
    emulator: Emulator,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The library checks a job before sending it; the command line reports that, exit 2."""
    status = _cli.main(["jobs", "create", "--name", "x", *options])
    assert (2, True, 0) == (
        status,
        only_line(capsys.readouterr().err).startswith(message),
        len([r for r in emulator.requests if r.method == "POST"]),
    )


def test_invalid_job_id_is_a_usage_error(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A job id that cannot be sent is refused before any request, with status 2."""
    status = _cli.main(["jobs", "get", "a/b"])
    assert (2, "error: job id must not contain '/', got 'a/b'\n") == (
        status,
        capsys.readouterr().err,
    )


def test_a_job_id_of_no_particular_format_is_sent(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``jobs get 123``: the library knows no id format, so the service is asked (status 1)."""
    before = len(emulator.requests)
    status = _cli.main(["jobs", "get", "123"])
    err = capsys.readouterr().err
    asked = [request.path for request in emulator.requests[before:]]
    assert (1, ["/inventorytriggerjob/123"]) == (status, asked)
    assert "123" in only_line(err), err


# --- logging -------------------------------------------------------------------------


def test_verbose_logs_requests_without_secrets(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``-v`` logs each request on stderr; neither the key nor a signature appears."""
    status = _cli.main(["-v", "jobs", "get", emulator.jobs[0].job_id])
    err = capsys.readouterr().err
    assert (0, True) == (status, "HTTP Request: GET" in err)
    assert SECRET_KEY not in err
    assert "q-signature" not in err


def test_verbose_shows_retries(emulator: Emulator, cli_env: dict[str, str]) -> None:
    """``-v`` shows a retry, whether the library logs it at WARNING or at INFO."""
    emulator.faults.fail_next(1, status=503, op="describe")
    result = run_cli(cli_env, "-v", "jobs", "get", emulator.jobs[0].job_id, "--json")
    retries = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert (0, 1) == (result.returncode, len(retries))


def test_without_verbose_a_retry_writes_nothing(
    emulator: Emulator, cli_env: dict[str, str]
) -> None:
    """Without ``-v`` a run that needed a retry writes its result and nothing on stderr."""
    emulator.faults.fail_next(1, status=503, op="describe")
    result = run_cli(cli_env, "jobs", "get", emulator.jobs[0].job_id, "--json")
    assert (0, "", 1) == (result.returncode, result.stderr, len(result.stdout.splitlines()))
