"""The README's main job: ``examples/demo.py`` lists every page of an emulated bucket."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"


@pytest.fixture(name="demo", scope="module")
def fixture_demo() -> subprocess.CompletedProcess[str]:
    """One run of the demo: 300 jobs, 50 per page (a safety timeout, not an assertion)."""
    return subprocess.run(
        [sys.executable, str(DEMO), "--jobs", "300", "--page-size", "50"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def page_headers(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(r"page +\d+ ", line)]


def test_demo_exits_0(demo: subprocess.CompletedProcess[str]) -> None:
    """The demo succeeds and writes nothing on stderr."""
    assert (0, "") == (demo.returncode, demo.stderr)


def test_demo_prints_every_page(demo: subprocess.CompletedProcess[str]) -> None:
    """300 jobs at 50 per page: six page headers, numbered 1 to 6."""
    numbers = [int(line.split()[1]) for line in page_headers(demo.stdout)]
    assert [1, 2, 3, 4, 5, 6] == numbers


def test_demo_last_page_has_no_token(demo: subprocess.CompletedProcess[str]) -> None:
    """Only the last page header says there is no next token."""
    ends = ["next_token=(none" in line for line in page_headers(demo.stdout)]
    assert [False] * 5 + [True] == ends


def test_demo_summary_counts_every_job(demo: subprocess.CompletedProcess[str]) -> None:
    """The summary reports 6 pages and 300 jobs, each listed once."""
    summary = demo.stdout.split("\nsummary\n", 1)[1]
    fields = dict(line.split(None, 1) for line in summary.splitlines() if line.strip())
    assert ("6", "300 (300 distinct)") == (fields["pages"], fields["jobs"])
    assert "every one of the 300 jobs listed exactly once" in fields["check"]


def test_demo_summary_counts_states_and_types(demo: subprocess.CompletedProcess[str]) -> None:
    """The per-type counts add up to the number of jobs."""
    summary = demo.stdout.split("\nsummary\n", 1)[1]
    types_line = next(line for line in summary.splitlines() if line.strip().startswith("types"))
    counts = [int(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*)", types_line)]
    assert 300 == sum(counts)


def test_demo_quiet_prints_headers_and_summary_only() -> None:
    """``--quiet`` keeps one line per page and the summary, without tables."""
    result = subprocess.run(
        [sys.executable, str(DEMO), "--jobs", "120", "--page-size", "40", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (0, 3, False) == (
        result.returncode,
        len(page_headers(result.stdout)),
        "JOB ID" in result.stdout,
    )
