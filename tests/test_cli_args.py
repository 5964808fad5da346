"""The command line's argument parser: option values, usage errors, help texts, version."""

from __future__ import annotations

import argparse
import importlib.metadata
from datetime import datetime, timedelta, timezone

import pytest

from ci_async import _cli

from .test_cli_format import CST


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T08:00:00+08:00", datetime(2024, 5, 1, 8, tzinfo=CST)),
        ("2024-05-01T08:00:00+0800", datetime(2024, 5, 1, 8, tzinfo=CST)),
        ("2024-05-01 08:00+08", datetime(2024, 5, 1, 8, tzinfo=CST)),
        ("2024-05-01T00:00:00Z", datetime(2024, 5, 1, tzinfo=timezone.utc)),
        (
            "2024-05-01T00:00:00.5-05:30",
            datetime(2024, 5, 1, 0, 0, 0, 500000, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
        ("2024-05-01 00:00:00,25z", datetime(2024, 5, 1, 0, 0, 0, 250000, tzinfo=timezone.utc)),
        ("  2024-02-29T23:59:59.123456-00:00 ", datetime(
            2024, 2, 29, 23, 59, 59, 123456, tzinfo=timezone.utc)),
        ("2024-05-01T00:00+23:59", datetime(
            2024, 5, 1, tzinfo=timezone(timedelta(hours=23, minutes=59)))),
    ],
)  # fmt: skip
def test_parse_datetime_accepts_iso_8601_with_offset(text: str, expected: datetime | None) -> None:
    """Offsets in every common spelling give the same aware datetime."""
    if expected is None:
        with pytest.raises(argparse.ArgumentTypeError):
            _cli.parse_datetime(text)
        return
    parsed = _cli.parse_datetime(text)
    assert (expected, expected.utcoffset()) == (parsed, parsed.utcoffset())


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T08:00:00",
        "2024-05-01",
        "yesterday",
        "2024-13-01T00:00Z",
        "2023-02-29T00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T00:60Z",
        "2024-05-01T00:00+24:00",
        "2024-05-01T00:00+08:60",
        "2024-05-01T00:00:00.1234567Z",
        "20240501T000000Z",
        "2024-05-01T00:00:00Z trailing",
        "2024-05-01t00:00:00Z",
    ],
)
def test_parse_datetime_rejects_naive_and_invalid(text: str) -> None:
    """A time without an offset, or not a date-time at all, is refused."""
    with pytest.raises(argparse.ArgumentTypeError):
        _cli.parse_datetime(text)


@pytest.mark.parametrize(
    "argv",
    [
        ["jobs", "list", "--page-size", "0"],
        ["jobs", "list", "--limit", "many"],
        ["jobs", "list", "--type", "Batch"],
        ["jobs", "list", "--order", "sideways"],
        ["jobs", "list", "--created-after", "2024-05-01T00:00:00+25:00"],
        ["jobs", "wait", "b1", "--timeout", "-1"],
        ["jobs", "wait", "b1", "--poll-interval", "soon"],
        ["--timeout", "inf", "jobs", "list"],
        ["jobs", "list", "--bogus"],
        ["jobs", "get"],
    ],
)
def test_bad_arguments_are_one_line_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every malformed option value is refused with one ``error:`` line and status 2."""
    with pytest.raises(SystemExit) as excinfo:
        _cli.main(argv, prog="ci-async")
    err = capsys.readouterr().err
    assert (2, 1, True) == (excinfo.value.code, len(err.splitlines()), err.startswith("error: "))


def test_bare_command_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    """``ci-async jobs`` without a subcommand shows the jobs help on stderr, status 2."""
    status = _cli.main(["jobs"], prog="ci-async")
    assert (2, True) == (status, "{list,get,wait,create,cancel}" in capsys.readouterr().err)


def test_parser_merges_repeated_and_comma_separated_states() -> None:
    """``--state`` may be repeated and comma-separated, in any letter case."""
    args = _cli.build_parser("ci-async").parse_args(
        ["jobs", "list", "--state", "running,FAILED", "--state", "Cancel"]
    )
    assert [["Running", "Failed"], ["Cancel"]] == args.states


def test_parser_normalises_type_spelling() -> None:
    """``--type workflow`` becomes the wire spelling."""
    args = _cli.build_parser("ci-async").parse_args(["jobs", "list", "--type", "workflow"])
    assert "Workflow" == args.type


def test_parser_accepts_global_options_before_and_after_the_command() -> None:
    """``--endpoint`` before ``jobs`` and ``--bucket`` after ``list`` are both kept."""
    args = _cli.build_parser("ci-async").parse_args(
        ["--endpoint", "http://127.0.0.1:1", "jobs", "list", "--bucket", "b-1250000000"]
    )
    assert ("http://127.0.0.1:1", "b-1250000000") == (args.endpoint, args.bucket)


@pytest.mark.parametrize(
    "argv",
    [
        ["--allow-insecure-http", "jobs", "list"],
        ["jobs", "list", "--allow-insecure-http"],
        ["jobs", "wait", "b1", "--allow-insecure-http"],
    ],
)
def test_parser_accepts_allow_insecure_http_before_and_after_the_command(argv: list[str]) -> None:
    """``--allow-insecure-http`` is a connection option, like ``--endpoint``."""
    args = _cli.build_parser("ci-async").parse_args(argv)
    assert args.allow_insecure_http is True


def test_parser_leaves_allow_insecure_http_off_by_default() -> None:
    """Without the flag the session gets no insecure permission."""
    args = _cli.build_parser("ci-async").parse_args(["jobs", "list"])
    assert getattr(args, "allow_insecure_http", False) is False


def test_list_help_shows_a_token_that_looks_like_one(capsys: pytest.CaptureFixture[str]) -> None:
    """The resume example shows an opaque token, not a number that reads like an offset."""
    with pytest.raises(SystemExit):
        _cli.main(["jobs", "list", "--help"], prog="ci-async")
    out = capsys.readouterr().out
    example = [line for line in out.splitlines() if "ci-async jobs list --next-token " in line]
    token = example[0].split("--next-token ")[1].split()[0]
    assert (False, True) == (token.isdigit(), len(token) >= 16)


def test_parser_wait_timeout_is_the_whole_wait() -> None:
    """After ``jobs wait``, ``--timeout`` bounds the wait; the request timeout stays global."""
    args = _cli.build_parser("ci-async").parse_args(
        ["--timeout", "3", "jobs", "wait", "b1", "--timeout", "60"]
    )
    assert (3.0, 60.0) == (args.request_timeout, args.wait_timeout)


def test_usage_error_is_one_line_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid filter prints one ``error:`` line and exits with status 2."""
    with pytest.raises(SystemExit) as excinfo:
        _cli.main(["jobs", "list", "--state", "Sleeping"], prog="ci-async")
    err = capsys.readouterr().err
    assert (2, 1) == (excinfo.value.code, len(err.splitlines()))
    assert err.startswith("error: argument --state: invalid job state 'Sleeping'")


def test_missing_bucket_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--bucket`` or ``CI_ASYNC_BUCKET`` the command says which to set."""
    monkeypatch.delenv("CI_ASYNC_BUCKET", raising=False)
    status = _cli.main(["jobs", "get", "b1", "--region", "ap-beijing"], prog="ci-async")
    assert (2, "error: no bucket: pass --bucket or set CI_ASYNC_BUCKET\n") == (
        status,
        capsys.readouterr().err,
    )


@pytest.mark.parametrize(
    ("variable", "value", "option"),
    [
        ("CI_ASYNC_BUCKET", "Bad_Bucket", "--bucket"),
        ("CI_ASYNC_REGION", "ap beijing", "--region"),
    ],
)
def test_a_bad_value_from_the_environment_names_its_variable(
    variable: str,
    value: str,
    option: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refused bucket or region read from the environment names the variable, not the option."""
    monkeypatch.setenv("CI_ASYNC_BUCKET", "examplebucket-1250000000")
    monkeypatch.setenv("CI_ASYNC_REGION", "ap-beijing")
    monkeypatch.setenv(variable, value)
    status = _cli.main(["jobs", "get", "b1"], prog="ci-async")
    err = capsys.readouterr().err
    assert (2, 1) == (status, len(err.splitlines()))
    assert err.startswith(f"error: {variable} must ")
    assert repr(value) in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["jobs"],
        ["jobs", "list"],
        ["jobs", "get"],
        ["jobs", "wait"],
        ["jobs", "create"],
        ["jobs", "cancel"],
    ],
)
def test_every_help_text_has_an_example(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The help of the top level and of each command ends with examples."""
    with pytest.raises(SystemExit) as excinfo:
        _cli.main([*argv, "--help"], prog="ci-async")
    out = capsys.readouterr().out
    assert (0, True) == (excinfo.value.code, "ci-async jobs" in out.split("examples:")[-1])


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """The top-level help names every command with an example command line."""
    with pytest.raises(SystemExit):
        _cli.main(["--help"], prog="ci-async")
    out = capsys.readouterr().out
    for command in ["jobs list", "jobs get", "jobs wait", "jobs create", "jobs cancel", "emulator"]:
        assert f"ci-async {command} " in out, command


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints the program name and version."""
    with pytest.raises(SystemExit):
        _cli.main(["--version"], prog="ci-async")
    assert f"ci-async {importlib.metadata.version('ci-async')}\n" == capsys.readouterr().out
