"""How the command line (and the demo) renders jobs: JSON lines, the table, the detail view."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ci_async._format import (
    JobTable,
    escape,
    format_count,
    format_job,
    format_table,
    format_time,
    job_to_json,
)
from ci_async._models import (
    Job,
    JobInput,
    JobParam,
    JobState,
    JobType,
    Operation,
    Output,
    TimeInterval,
)

CST = timezone(timedelta(hours=8))
CREATED = datetime(2022, 6, 27, 15, 23, 10, tzinfo=CST)

JOB_KEYS = [
    "job_id",
    "type",
    "name",
    "state",
    "code",
    "message",
    "creation_time",
    "start_time",
    "end_time",
    "input",
    "operation",
]


def make_job(**fields: object) -> Job:
    values: dict[str, object] = {
        "job_id": "b3deffea2f84911ec9cb15254008618d9",
        "type": JobType.JOB,
        "name": "resize",
        "state": JobState.RUNNING,
        "code": "Success",
        "creation_time": CREATED,
        "start_time": CREATED + timedelta(seconds=5),
        "input": JobInput(prefix="photos/"),
        "operation": Operation(
            queue_id="q1",
            job_param=JobParam(template_id="t1"),
            output=Output(region="ap-chongqing", bucket="out-1250000000", object="o/${Id}"),
            job_level=1,
            tag="Transcode",
        ),
        "raw": {"JobId": "b3deffea2f84911ec9cb15254008618d9"},
    }
    values.update(fields)
    return Job(**values)  # type: ignore[arg-type]


# --- JSON --------------------------------------------------------------------


def json_of(job: Job) -> Any:
    """The job as the command line's ``--json`` prints it, parsed back."""
    return json.loads(job_to_json(job))


def test_json_has_stable_keys_in_field_order() -> None:
    """A job's JSON object has the record's typed fields, in order, and not ``raw``."""
    assert JOB_KEYS == list(json_of(make_job()))


def test_json_writes_datetimes_as_iso_8601_with_offset() -> None:
    """Datetimes keep their UTC offset; unset ones are null."""
    data = json_of(make_job())
    assert ("2022-06-27T15:23:10+08:00", None) == (data["creation_time"], data["end_time"])


def test_json_writes_enums_as_wire_strings() -> None:
    """Type and state are the service's spellings."""
    data = json_of(make_job())
    assert ("Job", "Running") == (data["type"], data["state"])


def test_json_keeps_unknown_states() -> None:
    """A state this version does not know passes through as its string."""
    assert "Archived" == json_of(make_job(state="Archived"))["state"]


def test_json_nests_input_and_operation() -> None:
    """Nested records become nested objects; tuples become lists."""
    job = make_job(
        type=JobType.WORKFLOW,
        operation=Operation(
            workflow_ids=("w1", "w2"),
            time_interval=TimeInterval(start=CREATED, end=None),
        ),
    )
    operation = json_of(job)["operation"]
    assert (["w1", "w2"], {"start": "2022-06-27T15:23:10+08:00", "end": None}) == (
        operation["workflow_ids"],
        operation["time_interval"],
    )


def test_job_to_json_is_one_line_that_parses_back() -> None:
    """The JSON line decodes to ``Job.to_dict()``, and contains no newline."""
    job = make_job(name="two\nlines \u4e2d\u6587")
    line = job_to_json(job)
    assert ("\n" not in line, job.to_dict()) == (True, json.loads(line))


# --- table -------------------------------------------------------------------


def test_format_time_shows_offset_and_dash_for_unset() -> None:
    """Table times are ISO 8601 with a space, ``-`` when unset."""
    assert ("2022-06-27 15:23:10+08:00", "-") == (format_time(CREATED), format_time(None))


def test_format_count_groups_thousands() -> None:
    """Counts have thousands separators."""
    assert "3,400" == format_count(3400)


def test_table_columns_line_up() -> None:
    """Every column starts at the same offset on every line."""
    jobs = [make_job(name="a"), make_job(name="a much longer name", state=JobState.SUCCESS)]
    lines = format_table(jobs).splitlines()
    starts = {line.index("2022-06-27") for line in lines[1:]}
    assert (1, lines[0].index("CREATED")) == (len(starts), starts.pop())


def test_table_header_names_every_column() -> None:
    """The header has job id, type, state, name, created, started, ended."""
    header = JobTable().header()
    assert ["JOB", "ID", "TYPE", "STATE", "NAME", "CREATED", "STARTED", "ENDED"] == header.split()


def test_table_row_shows_dash_for_unset_times() -> None:
    """A job that has not ended shows ``-`` in the ended column."""
    row = JobTable([make_job()]).row(make_job())
    assert row.endswith("  -")


def test_table_clips_long_names() -> None:
    """Names wider than the limit are cut with an ellipsis."""
    row = JobTable([], min_name=10, max_name=10).row(make_job(name="x" * 50))
    assert "xxxxxxxxx\u2026 " in row


def test_table_escapes_control_characters() -> None:
    """A name with a newline or an escape sequence stays on one line, escaped."""
    row = JobTable(min_name=20).row(make_job(name="evil\n\x1b[2J"))
    assert ("\n" not in row, "\x1b" not in row, "evil\\n\\x1b[2J" in row) == (True, True, True)


def test_table_rows_have_no_trailing_spaces() -> None:
    """Lines end at their last character."""
    lines = format_table([make_job(), make_job(name=None)]).splitlines()
    assert [line.rstrip() for line in lines] == lines


# --- detail ------------------------------------------------------------------


def test_format_job_shows_nested_fields_by_path() -> None:
    """Nested values appear as dotted keys with their values."""
    text = format_job(make_job())
    assert "operation.output.bucket:" in text
    assert "out-1250000000" in text.split("operation.output.bucket:")[1].splitlines()[0]


def test_format_job_shows_unset_top_level_fields_as_dash() -> None:
    """Top-level fields are always listed; unset ones as ``-``."""
    lines = dict(line.split(":", 1) for line in format_job(make_job()).splitlines())
    assert "-" == lines["end_time"].strip()


def test_format_job_omits_unset_nested_fields() -> None:
    """Input fields without a value are not listed."""
    assert "input.manifest" not in format_job(make_job())


# --- escaping service text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain name", "plain name"),
        ("\u4e2d\u6587 caf\u00e9", "\u4e2d\u6587 caf\u00e9"),
        ("two\nlines", "two\\nlines"),
        ("carriage\rreturn", "carriage\\rreturn"),
        ("\x1b]0;pwned\x07\x1b[2J", "\\x1b]0;pwned\\x07\\x1b[2J"),
        ("c1 \x9b2J", "c1 \\x9b2J"),
        ("bidi \u202etxt.exe", "bidi \\u202etxt.exe"),
        ("tab\there", "tab\\there"),
        (JobState.FAILED, "Failed"),
    ],
)
def test_escape_makes_every_non_printable_character_visible(text: object, expected: str) -> None:
    """Control and invisible characters become their escapes; printable text is unchanged."""
    assert expected == escape(text)


def test_escape_cuts_long_text_with_an_ellipsis() -> None:
    """A megabyte of text comes back as ``limit`` characters, the last an ellipsis."""
    cut = escape("x" * 1_000_000, limit=200)
    assert (200, "x" * 199 + "\u2026") == (len(cut), cut)


def test_escape_never_cuts_inside_an_escape() -> None:
    """Escapes count by their visible length, and are kept whole or not at all."""
    assert ("\\x1b\\x1b\u2026", "abcdef") == (
        escape("\x1b" * 100, limit=10),
        escape("abcdef", limit=6),
    )


def test_json_escapes_c1_controls_and_invisible_characters() -> None:
    """JSON lines are printable (no raw ESC, CSI or bidi override) and decode to the same job."""
    job = make_job(name="a\x9b2J\u202e\x1b[0m\nb", message="\x7f")
    line = job_to_json(job)
    assert (True, job.to_dict()) == (line.isprintable(), json.loads(line))


def test_table_bounds_every_cell_of_a_hostile_job() -> None:
    """Huge ids and states cannot blow a table row up (nor the columns of later rows)."""
    job = make_job(job_id="i" * 100_000, state="S\n" * 100_000, name="n\x1b" * 100_000)
    table = JobTable([job], min_name=10, max_name=40)
    row = table.row(job)
    assert (True, True) == (row.isprintable(), len(row) < 300)


def test_format_job_escapes_and_bounds_values() -> None:
    """Detail values are one printable line each, at most 1,000 characters."""
    text = format_job(make_job(message="m\r\n" * 10_000, name="\x1b[31mred"))
    lines = text.split("\n")
    values = dict(line.split(":", 1) for line in lines)
    assert (True, True, True, "\\x1b[31mred") == (
        all(line.isprintable() for line in lines),
        990 < len(values["message"].strip()) <= 1000,
        values["message"].endswith("\u2026"),
        values["name"].strip(),
    )
