"""The emulator command: ``python -m ci_async.testing`` (``python -m ci_async emulator``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping

import httpx
import pytest

from ci_async._signing import sign_v5
from ci_async.testing._cli import advertised_url, build_emulator, main, parse_args

from ._support import parse

SECRET_ID = "AKIDcommandline000000000000000000000"
SECRET_KEY = "command-line-secret-key"
ENV_NAMES = (
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SESSION_TOKEN",
    "COS_SECRET_ID",
    "COS_SECRET_KEY",
    "COS_SESSION_TOKEN",
)


class Running:
    """A started emulator process and what it printed before its URL."""

    def __init__(self, process: subprocess.Popen[str], url: str, printed: list[str]) -> None:
        self.process = process
        self.url = url
        self.printed = printed

    def get(self, path: str, *, secret_id: str, secret_key: str) -> httpx.Response:
        return self.request("GET", path, secret_id=secret_id, secret_key=secret_key)

    def request(
        self,
        method: str,
        path: str,
        *,
        secret_id: str = SECRET_ID,
        secret_key: str = SECRET_KEY,
        host: str | None = None,
        content: bytes | None = None,
        timeout: float = 10,
    ) -> httpx.Response:
        """A request signed by hand over the Host sent (by default, the URL's)."""
        host = host or self.url.removeprefix("http://")
        start = int(time.time()) - 60
        authorization = sign_v5(
            secret_id=secret_id,
            secret_key=secret_key,
            method=method,
            path=path,
            params=[],
            headers={"host": host},
            key_time=f"{start};{start + 600}",
        )
        return httpx.request(
            method,
            self.url + path,
            headers={"Authorization": authorization, "Host": host},
            content=content,
            timeout=timeout,
        )

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        _, self.stderr = self.process.communicate(timeout=20)  # also closes the pipes
        return self.process.returncode

    stderr = ""


def exports(running: Running) -> dict[str, str]:
    """The variables of the ``export NAME=VALUE`` lines printed before the URL."""
    return dict(
        line.removeprefix("export ").split("=", 1)
        for line in running.printed
        if line.startswith("export ")
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ENV_NAMES}
    env.update(extra)
    return env


def start(*args: str, env: Mapping[str, str] | None = None) -> Running:
    process = subprocess.Popen(
        [sys.executable, "-m", "ci_async.testing", "--port", "0", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env or clean_env()),
    )
    assert process.stdout is not None
    printed: list[str] = []
    for line in process.stdout:
        if line.startswith("http://"):
            return Running(process, line.strip(), printed)
        printed.append(line.rstrip("\n"))
    _, stderr = process.communicate(timeout=20)
    pytest.fail(f"no URL printed; stderr: {stderr}")


@pytest.fixture(name="running")
def fixture_running() -> Iterator[Running]:
    """The emulator command with explicit credentials and 12 jobs."""
    running = start("--jobs", "12", "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY)
    yield running
    running.stop()


def test_prints_url_and_serves(running: Running) -> None:
    """The printed URL serves the seeded jobs to a correctly signed request."""
    response = running.get("/inventorytriggerjob", secret_id=SECRET_ID, secret_key=SECRET_KEY)
    assert (200, 10) == (response.status_code, response.text.count("<JobsDetail>"))


def test_wrong_key_refused(running: Running) -> None:
    """Signatures are verified against the given pair."""
    response = running.get("/inventorytriggerjob", secret_id=SECRET_ID, secret_key="wrong")
    assert 403 == response.status_code


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signals(running: Running, signum: int) -> None:
    """SIGTERM and SIGINT stop the server with exit status 0."""
    assert 0 == running.stop(signum)


def test_generates_and_prints_credentials_without_any() -> None:
    """With no flags and no environment, a printed, working pair is generated."""
    running = start("--jobs", "1")
    try:
        printed = exports(running)
        response = running.get(
            "/inventorytriggerjob",
            secret_id=printed["TENCENTCLOUD_SECRET_ID"],
            secret_key=printed["TENCENTCLOUD_SECRET_KEY"],
        )
        assert 200 == response.status_code
    finally:
        running.stop()


def test_reads_the_client_environment() -> None:
    """Without flags, the client's environment variables give the pair (it is not printed)."""
    env = clean_env(TENCENTCLOUD_SECRET_ID=SECRET_ID, TENCENTCLOUD_SECRET_KEY=SECRET_KEY)
    running = start("--jobs", "1", env=env)
    try:
        response = running.get("/inventorytriggerjob", secret_id=SECRET_ID, secret_key=SECRET_KEY)
        assert (200, []) == (
            response.status_code,
            [line for line in running.printed if "SECRET" in line],
        )
    finally:
        running.stop()


def test_prints_exports_that_point_at_it(running: Running) -> None:
    """The printed exports name the URL, the bucket and the region the client needs."""
    assert {
        "CI_ASYNC_ENDPOINT": running.url,
        "CI_ASYNC_BUCKET": "examplebucket-1250000000",
        "CI_ASYNC_REGION": "ap-beijing",
    } == exports(running)


def test_printed_exports_configure_the_command_line() -> None:
    """With only the printed exports set, ``python -m ci_async jobs list`` lists its jobs.

    Three seeded ones and the two sample jobs of the API documentation.
    """
    running = start("--jobs", "3")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ci_async", "jobs", "list", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(**exports(running)),
        )
        assert (0, 5) == (result.returncode, len(result.stdout.splitlines()))
    finally:
        running.stop()


def test_no_verify() -> None:
    """--no-verify serves unsigned requests."""
    running = start("--jobs", "3", "--no-verify")
    try:
        assert 200 == httpx.get(running.url + "/inventorytriggerjob").status_code
    finally:
        running.stop()


def test_prerender() -> None:
    """--prerender serves the same pages."""
    running = start("--jobs", "30", "--no-verify", "--prerender", "--seed", "4")
    try:
        first = httpx.get(running.url + "/inventorytriggerjob").text
        second = httpx.get(running.url + "/inventorytriggerjob").text
        assert first == second
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--secret-id", "only-half"], "give both --secret-id and --secret-key, or neither"),
        (["--jobs", "-1"], "argument --jobs: must be a whole number, 0 or more, got '-1'"),
        (["--port", "70000"], "argument --port: must be from 0 to 65535"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--speed", "0"], "argument --speed: must be a number above 0, got '0'"),
        (["--speed", "nan"], "argument --speed: must be a number above 0"),
        (["--latency", "-1"], "argument --latency: must be a number of seconds, 0 or more"),
        (["--timeline", "fast"], "argument --timeline: invalid choice: 'fast'"),
        (["--time-bounds", "open"], "argument --time-bounds: invalid choice: 'open'"),
        (["--bucket", "Example"], "argument --bucket: must be BucketName-APPID"),
        (["--region", "AP_BEIJING"], "argument --region: must be a region such as ap-beijing"),
        (["--host", ""], "argument --host: must be an address"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A usage error: one line on stderr worded as the jobs commands word theirs, exit 2."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    captured = capsys.readouterr()
    assert (2, "") == (caught.value.code, captured.out)
    (line,) = captured.err.splitlines()
    assert line.startswith(f"error: {message}")
    assert line.endswith(" (see 'python -m ci_async emulator --help')")


def test_usage_errors_name_the_program_given(capsys: pytest.CaptureFixture[str]) -> None:
    """Run as ``ci-async emulator``, the hint names that program."""
    with pytest.raises(SystemExit):
        main(["--bogus"], prog="ci-async emulator")
    assert capsys.readouterr().err.endswith(" (see 'ci-async emulator --help')\n")


def test_busy_port_is_one_error_line_and_exit_1() -> None:
    """A port in use: nothing on stdout, one stderr line suggesting --port 0, exit status 1."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "ci_async.testing", "--port", str(port), "--jobs", "5"],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
    assert (1, "") == (result.returncode, result.stdout)
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: address already in use")
    assert "--port 0" in line


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    """--help describes the options, new ones included."""
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert 0 == caught.value.code
    text = capsys.readouterr().out
    for option in (
        "--secret-key",
        "--region",
        "--timeline",
        "--speed",
        "--no-samples",
        "--time-bounds",
        "--latency",
    ):
        assert option in text


# --- what the command serves -------------------------------------------------

CREATE = b"""<Request><Name>from-outside</Name><Type>Workflow</Type>
<Input><Prefix>in/</Prefix></Input>
<Operation><WorkflowIds>w7476ff3564ee45b7b490d64bccaba6cc</WorkflowIds></Operation></Request>"""
SAMPLE_IDS = ("b3deffea2f84911ec9cb15254008618d9", "be8f65004eb8511eaaed4f377124a303c")


def test_a_created_job_ends_on_its_own_with_default_flags(running: Running) -> None:
    """create, then poll: with default flags a new job reaches Success or Failed by itself."""
    created = running.request("POST", "/inventorytriggerjob", content=CREATE)
    assert 200 == created.status_code, created.text
    job_id = parse(created.content)["Response"]["JobsDetail"][0]["JobId"]
    seen = []
    deadline = time.monotonic() + 60  # a bound on a broken emulator, not a timing check
    while time.monotonic() < deadline:
        described = running.request("GET", f"/inventorytriggerjob/{job_id}")
        seen.append(parse(described.content)["Response"]["JobsDetail"][0]["State"])
        if seen[-1] in ("Success", "Failed"):
            break
        time.sleep(0.1)  # real time must pass for the job to move on
    assert "Submitted" == seen[0]
    assert seen[-1] in ("Success", "Failed"), seen


def test_the_documented_sample_jobs_are_there(running: Running) -> None:
    """By default, the API page's sample jobs exist, in their states."""
    response = running.request("GET", "/inventorytriggerjob/" + ",".join(SAMPLE_IDS))
    details = parse(response.content)["Response"]["JobsDetail"]
    assert [("Workflow", "Success"), ("Job", "Running")] == [
        (detail["Type"], detail["State"]) for detail in details
    ]


def test_no_samples() -> None:
    """--no-samples leaves them out: describing them reports them missing."""
    running = start("--jobs", "2", "--no-verify", "--no-samples")
    try:
        response = httpx.get(running.url + "/inventorytriggerjob/" + ",".join(SAMPLE_IDS))
        assert list(SAMPLE_IDS) == parse(response.content)["Response"]["NonExistJobIds"]
    finally:
        running.stop()


def test_region_and_bucket_flags_are_served_and_enforced() -> None:
    """--bucket/--region: exported, served, and a Host naming another region is NoSuchBucket."""
    args = ("--bucket", "media-1300000000", "--region", "ap-shanghai")
    running = start("--jobs", "1", "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY, *args)
    try:
        ours = running.request(
            "GET", "/inventorytriggerjob", host=f"{args[1]}.ci.ap-shanghai.myqcloud.com"
        )
        other = running.request(
            "GET", "/inventorytriggerjob", host=f"{args[1]}.ci.ap-beijing.myqcloud.com"
        )
        assert (200, 404) == (ours.status_code, other.status_code)
        assert "NoSuchBucket" == parse(other.content)["Error"]["Code"]
        assert ("media-1300000000", "ap-shanghai") == (
            exports(running)["CI_ASYNC_BUCKET"],
            exports(running)["CI_ASYNC_REGION"],
        )
    finally:
        running.stop()


@pytest.mark.parametrize(("host", "loopback"), [("0.0.0.0", "127.0.0.1"), ("::", "[::1]")])
def test_all_interfaces_advertise_a_loopback_url(host: str, loopback: str) -> None:
    """--host 0.0.0.0 or :: prints a usable loopback URL and says so on stderr."""
    if host == "::" and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    running = start(
        "--host", host, "--jobs", "1", "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY
    )
    try:
        endpoint = exports(running)["CI_ASYNC_ENDPOINT"]
        assert endpoint == running.url
        assert endpoint.startswith(f"http://{loopback}:")
        assert 200 == running.request("GET", "/inventorytriggerjob").status_code
    finally:
        running.stop()
    assert f"listening on all interfaces ({host} port" in running.stderr
    wildcard = f"[{host}]" if ":" in host else host
    assert not [line for line in running.printed if f"//{wildcard}:" in line]


def test_latency_flag_delays_answers() -> None:
    """--latency: an answer waits longer than a short read timeout allows."""
    running = start("--jobs", "1", "--no-verify", "--latency", "30")
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(running.url + "/inventorytriggerjob", timeout=0.2)
    finally:
        assert 0 == running.stop()


# --- the emulator the command builds (in process) --------------------------------


def test_defaults_of_the_command_line_emulator() -> None:
    """Default flags: quick timeline on the wall clock, inclusive bounds, no latency, samples."""
    emulator = build_emulator(parse_args(["--jobs", "3", "--no-verify"]))
    assert ("quick", 1.0, "inclusive", 0.0) == (
        emulator.timeline,
        emulator.speed,
        emulator.time_bounds,
        emulator.latency,
    )
    assert ("examplebucket-1250000000", "ap-beijing") == (emulator.bucket, emulator.region)
    assert {"Success", "Running"} == {emulator.state(job_id) for job_id in SAMPLE_IDS}
    assert 5 == len(emulator)


def test_flags_reach_the_emulator() -> None:
    """Every setting flag is the emulator's setting."""
    args = parse_args(
        [
            "--jobs", "4",
            "--no-verify",
            "--no-samples",
            "--timeline", "realistic",
            "--speed", "60",
            "--time-bounds", "exclusive",
            "--latency", "0.02",
            "--bucket", "media-1300000000",
            "--region", "ap-shanghai",
        ]
    )  # fmt: skip
    emulator = build_emulator(args)
    assert ("realistic", 60.0, "exclusive", 0.02, 4) == (
        emulator.timeline,
        emulator.speed,
        emulator.time_bounds,
        emulator.latency,
        len(emulator),
    )
    assert ("media-1300000000", "ap-shanghai") == (emulator.bucket, emulator.region)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8321"),
        ("0.0.0.0", "http://127.0.0.1:8321"),
        ("::", "http://[::1]:8321"),
        ("::1", "http://[::1]:8321"),
        ("localhost", "http://localhost:8321"),
    ],
)
def test_advertised_url(host: str, url: str) -> None:
    """Wildcards become the loopback address of their family; other hosts are kept."""
    assert url == advertised_url(host, 8321)
