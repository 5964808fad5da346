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
from ci_async.testing._cli import main

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
        host = self.url.removeprefix("http://")
        start = int(time.time()) - 60
        authorization = sign_v5(
            secret_id=secret_id,
            secret_key=secret_key,
            method="GET",
            path=path,
            params=[],
            headers={"host": host},
            key_time=f"{start};{start + 600}",
        )
        return httpx.get(self.url + path, headers={"Authorization": authorization})

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        self.process.communicate(timeout=20)  # also closes the pipes
        return self.process.returncode


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
    """With only the printed exports set, ``python -m ci_async jobs list`` lists its jobs."""
    running = start("--jobs", "3")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ci_async", "jobs", "list", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(**exports(running)),
        )
        assert (0, 3) == (result.returncode, len(result.stdout.splitlines()))
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
    "argv",
    [["--secret-id", "only-half"], ["--jobs", "-1"], ["--port", "70000"], ["--bogus"]],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad arguments are a usage error (exit status 2)."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert 2 == caught.value.code
    assert "error:" in capsys.readouterr().err


def test_busy_port_exits_1() -> None:
    """A port that cannot be bound gives exit status 1 and a message."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "ci_async.testing", "--port", str(port), "--no-verify"],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
    assert 1 == result.returncode
    assert "cannot serve" in result.stderr


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    """--help describes the options."""
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert 0 == caught.value.code
    assert "--secret-key" in capsys.readouterr().out
