"""The command line against the emulator on a loopback port.

The emulator runs in this process (a real HTTP server in a thread); the
command runs in process (``_cli.main``) or as ``python -m ci_async`` in a
subprocess, with the credentials in its environment, and signs every request.
The other ``test_cli_*`` modules share the fixtures and helpers defined here.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ci_async import _cli
from ci_async._cli._commands import state_change_time
from ci_async._cli._hints import NOT_FOUND_HINT
from ci_async._cli._output import Progress
from ci_async._signing import Credentials
from ci_async.testing import Emulator, EmulatorServer, RecordedRequest

from .test_cli_format import CST, make_job

SECRET_ID = "AKIDcli0test0000000000000000000000"
SECRET_KEY = "cli-test-secret-key-0000000000000"


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """60 generated jobs on a frozen clock, signatures verified against a test key pair."""
    emulator = Emulator(credentials=Credentials(SECRET_ID, SECRET_KEY), seed=11)
    emulator.generate(60)
    return emulator


@pytest.fixture(name="server")
def fixture_server(emulator: Emulator) -> Iterator[EmulatorServer]:
    """The emulator on a loopback port, stopped after the test."""
    with emulator.serve() as server:
        yield server


@pytest.fixture(name="cli_env")
def fixture_cli_env(emulator: Emulator, server: EmulatorServer) -> dict[str, str]:
    """An environment naming the emulator and holding its key pair (nothing else of ours)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TENCENTCLOUD_", "COS_", "CI_ASYNC_"))
    }
    env.update(
        TENCENTCLOUD_SECRET_ID=SECRET_ID,
        TENCENTCLOUD_SECRET_KEY=SECRET_KEY,
        CI_ASYNC_BUCKET=emulator.bucket,
        CI_ASYNC_REGION="ap-beijing",
        CI_ASYNC_ENDPOINT=server.url,
    )
    return env


@pytest.fixture(name="env")
def fixture_env(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The same environment, applied to this process for in-process runs."""
    for key in list(os.environ):
        if key.startswith(("TENCENTCLOUD_", "COS_", "CI_ASYNC_")):
            monkeypatch.delenv(key)
    for key, value in cli_env.items():
        if key.startswith(("TENCENTCLOUD_", "CI_ASYNC_")):
            monkeypatch.setenv(key, value)
    return cli_env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m ci_async ARGS`` in a subprocess (a safety timeout, not an assertion)."""
    return subprocess.run(
        [sys.executable, "-m", "ci_async", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def pasted_token(stderr: str) -> str:
    """The ``--next-token`` value of the last stderr line, as a shell would read it."""
    words = shlex.split(stderr.splitlines()[-1].split("--next-token ", 1)[1])
    return words[0]


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def newest_first(emulator: Emulator) -> list[str]:
    return [job.job_id for job in reversed(emulator.jobs)]


def test_list_json_lists_every_job_newest_first(
    emulator: Emulator, cli_env: dict[str, str]
) -> None:
    """``jobs list --json`` over several pages gives every stored job, newest first."""
    result = run_cli(cli_env, "jobs", "list", "--json", "--page-size", "7")
    assert (0, newest_first(emulator)) == (
        result.returncode,
        [job["job_id"] for job in json_lines(result.stdout)],
    )


def test_list_json_records_match_the_store(emulator: Emulator, cli_env: dict[str, str]) -> None:
    """Each JSON line carries the stored job's type, name and state."""
    result = run_cli(cli_env, "jobs", "list", "--json", "--limit", "20")
    expected = [
        (job.job_id, job.type, job.name, emulator.state(job.job_id))
        for job in list(reversed(emulator.jobs))[:20]
    ]
    got = [(j["job_id"], j["type"], j["name"], j["state"]) for j in json_lines(result.stdout)]
    assert expected == got


def test_list_filters_order_and_limit(emulator: Emulator, cli_env: dict[str, str]) -> None:
    """Type, states, ascending order and limit select what the store says they should."""
    wanted = {"Success", "Failed"}
    expected = [
        job.job_id
        for job in emulator.jobs
        if job.type == "Job" and emulator.state(job.job_id) in wanted
    ][:5]
    result = run_cli(
        cli_env, "jobs", "list", "--json", "--type", "job", "--state", "Success,failed",
        "--order", "asc", "--limit", "5", "--page-size", "2",
    )  # fmt: skip
    assert (0, expected) == (result.returncode, [j["job_id"] for j in json_lines(result.stdout)])


def test_list_limit_tells_how_to_continue(emulator: Emulator, cli_env: dict[str, str]) -> None:
    """Stopping at ``--limit`` prints the token that continues right after it."""
    first = run_cli(cli_env, "jobs", "list", "--json", "--limit", "25", "--page-size", "10")
    token = pasted_token(first.stderr)
    rest = run_cli(cli_env, "jobs", "list", "--json", "--next-token", token, "--page-size", "10")
    listed = [j["job_id"] for j in json_lines(first.stdout) + json_lines(rest.stdout)]
    assert newest_first(emulator) == listed


def test_list_created_window(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``--created-after/--created-before`` keep the jobs created in the window."""
    jobs = emulator.jobs
    after, before = jobs[10].creation_time, jobs[40].creation_time
    expected = [job.job_id for job in reversed(jobs) if after <= job.creation_time <= before]
    status = _cli.main(
        [
            "jobs", "list", "--json",
            "--created-after", datetime.fromtimestamp(after, CST).isoformat(),
            "--created-before", datetime.fromtimestamp(before, timezone.utc).isoformat(),
        ]
    )  # fmt: skip
    assert (0, expected) == (status, [j["job_id"] for j in json_lines(capsys.readouterr().out)])


def test_list_table_has_a_row_per_job(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``--json`` the listing is a header and one aligned row per job."""
    status = _cli.main(["jobs", "list", "--page-size", "25"])
    lines = capsys.readouterr().out.splitlines()
    assert (0, "JOB ID", newest_first(emulator)) == (
        status,
        lines[0][:6],
        [line.split()[0] for line in lines[1:]],
    )


def test_list_without_matches_says_so(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty listing prints nothing on stdout and ``no jobs`` on stderr."""
    status = _cli.main(["jobs", "list", "--name", "no such name"])
    assert (0, ("", "no jobs\n")) == (status, tuple(capsys.readouterr()))


def test_get_several_ids_reports_the_missing_one(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``jobs get`` prints the found jobs in order, names the missing id, exits 1."""
    ids = [emulator.jobs[3].job_id, emulator.jobs[7].job_id]
    missing = "b0000000000000000000000000000beef"
    status = _cli.main(["jobs", "get", ids[0], missing, ids[1], "--json"])
    out, err = capsys.readouterr()
    assert (1, ids, f"error: job not found: {missing}; hint: {NOT_FOUND_HINT}\n") == (
        status,
        [j["job_id"] for j in json_lines(out)],
        err,
    )
    assert "check the id" in NOT_FOUND_HINT


@pytest.mark.parametrize("command", ["wait", "cancel"])
def test_a_job_not_found_says_what_to_check(
    command: str, emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``jobs wait`` or ``jobs cancel`` of an id that does not exist: an error line with a hint."""
    missing = "b0000000000000000000000000000beef"
    status = _cli.main(["jobs", command, missing])
    _, err = capsys.readouterr()
    assert 1 == status
    assert [f"hint: {NOT_FOUND_HINT}"] == err.strip().split("; ")[1:]
    assert err.startswith("error: ")
    assert missing in err


def test_get_prints_every_field(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``--json``, ``jobs get`` shows the job field by field."""
    job = emulator.add_job(name="detail", type="Job", queue_id="q-detail", template_id="t-9")
    status = _cli.main(["jobs", "get", job.job_id])
    out = capsys.readouterr().out
    assert (0, True, True) == (
        status,
        "job_id:" in out and job.job_id in out,
        "operation.job_param.template_id: t-9" in out,
    )


def test_create_workflow_job_then_list_it(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A created Workflow job is printed and then found by ``jobs list --job-id``."""
    status = _cli.main(
        [
            "jobs", "create", "--json", "--name", "nightly", "--prefix", "photos/",
            "--workflow-id", "w1", "--workflow-id", "w2",
            "--start", "2024-05-01T00:00:00+08:00", "--end", "2024-05-02T00:00:00+08:00",
        ]
    )  # fmt: skip
    job = json.loads(capsys.readouterr().out)
    _cli.main(["jobs", "list", "--json", "--job-id", job["job_id"]])
    assert (0, "Workflow", ["w1", "w2"], [job]) == (
        status,
        job["type"],
        job["operation"]["workflow_ids"],
        json_lines(capsys.readouterr().out),
    )


def test_create_job_job_stores_every_option(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A Job job's queue, template, tag, output, user data, callback and level reach the service."""
    status = _cli.main(
        [
            "jobs", "create", "--json", "--name", "resize", "--manifest", "inv/manifest.json",
            "--queue-id", "q1", "--template-id", "t1", "--tag", "Transcode",
            "--output-region", "ap-chongqing", "--output-bucket", "out-1250000000",
            "--output-object", "out/${InventoryTriggerJobId}", "--user-data", "hello",
            "--callback", "https://example.com/cb", "--job-level", "2",
        ]
    )  # fmt: skip
    stored = emulator.job(json.loads(capsys.readouterr().out)["job_id"])
    assert (
        0, "Job", "inv/manifest.json", "q1", "t1", "Transcode",
        ("ap-chongqing", "out-1250000000", "out/${InventoryTriggerJobId}"),
        "hello", "https://example.com/cb", 2,
    ) == (
        status, stored.type, stored.manifest, stored.queue_id, stored.template_id, stored.tag,
        (stored.output_region, stored.output_bucket, stored.output_object),
        stored.user_data, stored.callback, stored.job_level,
    )  # fmt: skip


def test_create_needs_exactly_one_input(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Two inputs at once are a usage error."""
    with pytest.raises(SystemExit) as excinfo:
        _cli.main(["jobs", "create", "--name", "x", "--prefix", "a", "--object", "b"])
    assert (2, 1) == (excinfo.value.code, len(capsys.readouterr().err.splitlines()))


def wait_in_subprocess(env: dict[str, str], job_id: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ci_async", "jobs", "wait", job_id, "--poll-interval", "0.05",
         "--json", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.parametrize(("final", "status"), [("Success", 0), ("Failed", 1), ("Cancel", 1)])
def test_wait_follows_the_job_to_its_end(
    emulator: Emulator, cli_env: dict[str, str], final: str, status: int
) -> None:
    """``jobs wait`` reports Running, then the final state; exit 0 only for Success."""
    job = emulator.add_job(state="Running")
    with wait_in_subprocess(cli_env, job.job_id) as proc:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the first poll has seen the job Running
        emulator.set_state(job.job_id, final)
        out, err = proc.communicate(timeout=120)
    assert (status, "Running", final, final) == (
        proc.returncode,
        first.split()[-1],
        err.split()[-1],
        json.loads(out)["state"],
    )


def test_wait_prints_state_changes_in_the_jobs_offset(
    emulator: Emulator, cli_env: dict[str, str]
) -> None:
    """On a machine in UTC-5, the state-change time is in the job's own +08:00."""
    job = emulator.add_job(state="Success")
    env = {**cli_env, "TZ": "EST+05"}
    with wait_in_subprocess(env, job.job_id) as proc:
        out, err = proc.communicate(timeout=120)
    date, clock, job_id, state = err.split()
    stamp = datetime.fromisoformat(f"{date} {clock}")
    assert (0, timedelta(hours=8), job.job_id, "Success", "+08:00") == (
        proc.returncode,
        stamp.utcoffset(),
        job_id,
        state,
        json.loads(out)["creation_time"][-6:],
    )


def test_state_change_time_uses_the_offset_of_the_jobs_times() -> None:
    """The rule itself: the job's offset when it has a time, else this machine's."""
    now = datetime(2024, 5, 1, 0, 0, 0, tzinfo=timezone.utc)
    with_time = make_job(creation_time=datetime(2024, 4, 30, 9, 0, tzinfo=CST))
    without = make_job(creation_time=None, start_time=None, end_time=None)
    assert ("2024-05-01 08:00:00+08:00", now.astimezone().isoformat(sep=" ")) == (
        state_change_time(with_time, now),
        state_change_time(without, now),
    )


def test_wait_timeout_exits_124(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A job still running when ``--timeout`` passes ends the wait with status 124."""
    job = emulator.add_job(state="Running")
    status = _cli.main(["jobs", "wait", job.job_id, "--timeout", "0.2", "--poll-interval", "0.05"])
    out, err = capsys.readouterr()
    assert (
        124,
        "",
        f"error: job '{job.job_id}' did not finish within 0.2s (last state: Running)",
    ) == (
        status,
        out,
        err.splitlines()[-1],
    )


def test_wait_for_a_finished_job_returns_at_once(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Waiting for a job that already failed prints it and exits 1."""
    job = emulator.add_job(state="Failed")
    status = _cli.main(["jobs", "wait", job.job_id])
    out = capsys.readouterr().out
    assert (1, True) == (status, "state:" in out and "Failed" in out)


def test_cancel_moves_the_job_to_cancel(
    emulator: Emulator, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``jobs cancel`` cancels on the service and prints the job in state Cancel."""
    job = emulator.add_job(state="Running")
    status = _cli.main(["jobs", "cancel", job.job_id, "--json"])
    assert (0, "Cancel", "Cancel") == (
        status,
        json.loads(capsys.readouterr().out)["state"],
        emulator.state(job.job_id),
    )


def test_head_closing_the_pipe_ends_quietly(cli_env: dict[str, str]) -> None:
    """``jobs list --json | head -n 5``: five lines, pipeline status 0, no traceback."""
    big = Emulator(credentials=Credentials(SECRET_ID, SECRET_KEY), seed=5)
    big.generate(1500)  # far more output than a pipe buffer holds
    with big.serve() as server:
        env = {**cli_env, "CI_ASYNC_ENDPOINT": server.url}
        command = f"{shlex.quote(sys.executable)} -m ci_async jobs list --json | head -n 5"
        result = subprocess.run(
            command, shell=True, env=env, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
    assert (0, 5, "") == (result.returncode, len(result.stdout.splitlines()), result.stderr)


def test_ctrl_c_prints_the_token_that_resumes(emulator: Emulator, cli_env: dict[str, str]) -> None:
    """Ctrl-C during a listing exits 130 and prints a --next-token that resumes it."""

    def later_page(request: RecordedRequest) -> bool:
        return "nexttoken" in {name.lower() for name, _ in request.query}

    emulator.faults.hang_next(1, op="list", when=later_page)  # page 2 never comes
    with subprocess.Popen(
        [sys.executable, "-m", "ci_async", "jobs", "list", "--json", "--page-size", "10"],
        env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        first_page = [proc.stdout.readline() for _ in range(10)]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    token = pasted_token(err)
    resumed = run_cli(cli_env, "jobs", "list", "--json", "--page-size", "10", "--next-token", token)
    listed = [j["job_id"] for j in json_lines("".join(first_page) + out + resumed.stdout)]
    assert (130, False, newest_first(emulator)) == (proc.returncode, "Traceback" in err, listed)


def test_progress_line_only_on_a_terminal(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """With stderr not a terminal, a listing writes nothing there."""
    status = _cli.main(["jobs", "list", "--json", "--page-size", "10"])
    assert (0, "") == (status, capsys.readouterr().err)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_erases_itself(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a terminal, stderr gets a progress line that is erased before the listing ends."""
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    status = _cli.main(["jobs", "list", "--json", "--page-size", "10"])
    text = terminal.getvalue()
    assert (0, True, True) == (
        status,
        "\u2026 10 jobs, 1 page" in text,
        text.endswith("\r\x1b[K"),
    )


def test_progress_counts_jobs_and_pages() -> None:
    """The progress line counts with separators and erases itself."""
    stream = io.StringIO()
    progress = Progress(stream)
    progress.update(3400, 34, force=True)
    progress.clear()
    assert "\r\x1b[K\u2026 3,400 jobs, 34 pages\r\x1b[K" == stream.getvalue()


def test_emulator_command_is_delegated(capsys: pytest.CaptureFixture[str]) -> None:
    """``ci-async emulator --help`` is the emulator's own help."""
    with pytest.raises(SystemExit) as excinfo:
        _cli.main(["emulator", "--help"], prog="ci-async")
    assert (0, True) == (excinfo.value.code, "--port" in capsys.readouterr().out)
