"""The README's main job: ``examples/demo.py`` tells the library's story, in a terminal's width.

The demo runs as ``nox -s demo`` runs it (no arguments), in a subprocess: an
emulator on loopback, then list, describe, create and wait, cancel, a typed
error and a resumed listing. It must fit a screen or two: at most 80 lines,
none wider than 100 columns.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ci_async._format import display_width

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"
#: The steps, in the order the demo tells them.
STEPS = [
    "1. List every job, page by page",
    "2. Describe one job",
    "3. Create a job, then wait for it",
    "4. Cancel a running job",
    "5. Catch a typed error",
    "6. Resume the listing from page 2's token",
]


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    """One run of the demo (the timeout is a safety net, not an assertion)."""
    return subprocess.run(
        [sys.executable, str(DEMO), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(name="demo", scope="module")
def fixture_demo() -> subprocess.CompletedProcess[str]:
    """The demo as ``nox -s demo`` runs it: 2,500 generated jobs and the 2 samples."""
    return run_demo()


@pytest.fixture(name="lines", scope="module")
def fixture_lines(demo: subprocess.CompletedProcess[str]) -> list[str]:
    return demo.stdout.splitlines()


def section(lines: list[str], number: int) -> list[str]:
    """The lines of step ``number`` (from its title to the next blank line)."""
    start = lines.index(STEPS[number - 1])
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def test_demo_exits_0_and_writes_nothing_on_stderr(demo: subprocess.CompletedProcess[str]) -> None:
    """Every check of the demo held."""
    assert (0, "") == (demo.returncode, demo.stderr)


def test_demo_fits_a_screen_or_two(lines: list[str]) -> None:
    """At most 80 lines, none over 100 columns (it is written for 80)."""
    assert len(lines) <= 80
    assert max(display_width(line) for line in lines) <= 100


def test_demo_tells_every_step_in_order(lines: list[str]) -> None:
    """The six steps' titles appear, in order."""
    assert STEPS == [line for line in lines if re.match(r"\d\. ", line)]


def test_demo_names_the_file_whose_code_it_runs(lines: list[str]) -> None:
    """The first and last lines point at examples/demo.py."""
    assert "examples/demo.py" in lines[0]
    assert "examples/demo.py" in lines[-1]


def test_demo_shows_each_step_s_code(lines: list[str]) -> None:
    """Each step shows the call it makes, as ``>>>`` lines."""
    calls = ["ci.list_jobs(", "ci.get_job(", "ci.create_job(", "ci.cancel_job(", "ci.get_job("]
    calls.append("next_token=token")
    for number, call in enumerate(calls, start=1):
        code = [line for line in section(lines, number) if line.lstrip()[:4] in (">>> ", "... ")]
        assert any(call in line for line in code), number


def test_demo_lists_a_few_pages_with_their_tokens_then_a_summary(lines: list[str]) -> None:
    """Three pages shown with tokens, the rest summed up: 26 pages, 2,502 jobs, each once."""
    listing = section(lines, 1)
    pages = [line for line in listing if re.match(r" +page +\d+ +\d+ jobs +next_token=\w", line)]
    assert 3 == len(pages)
    assert any(line.strip() == "... pages 4 to 26: the same, to the last token" for line in listing)
    assert any(line.strip().startswith("26 pages, 2,502 jobs in ") for line in listing)
    assert "check: each of the 2,502 jobs listed exactly once" in [s.strip() for s in listing]


def test_demo_describes_a_sample_job(lines: list[str]) -> None:
    """The describe shows the API's sample job, finished."""
    text = "\n".join(section(lines, 2))
    assert "Workflow job b3deffea2f84911ec9cb15254008618d9 'demo': Success" in text


def test_demo_waits_for_the_created_job_showing_its_states(lines: list[str]) -> None:
    """The created job's states are printed as they change, and it ends."""
    text = "\n".join(section(lines, 3))
    states = re.findall(r"^ +\d+\.\d\d s  (\w+)$", text, re.MULTILINE)
    assert states
    assert states[-1] in {"Success", "Failed"}
    assert len(states) == len(set(states))  # changes only, no repeats
    assert re.search(r"ended (Success|Failed) after \d+\.\d\d s", text)


def test_demo_cancels_a_running_job(lines: list[str]) -> None:
    assert "be8f65004eb8511eaaed4f377124a303c: Running -> Cancel" in "\n".join(section(lines, 4))


def test_demo_catches_a_typed_error(lines: list[str]) -> None:
    text = "\n".join(section(lines, 5))
    assert "caught JobNotFoundError: job_id=b00000000000000000000000000000000" in text


def test_demo_resumes_from_a_token(lines: list[str]) -> None:
    """2,502 jobs less the first two pages, exactly those of the first pass."""
    text = "\n".join(section(lines, 6))
    assert "2,302 jobs, from the first job of page 3 to the end" in text
    assert "check: exactly the jobs the first pass listed after page 2" in text


def test_demo_options_change_the_listing() -> None:
    """``--jobs 300 --page-size 50 --pages 2``: 7 pages, two of them shown."""
    result = run_demo("--jobs", "300", "--page-size", "50", "--pages", "2")
    listing = section(result.stdout.splitlines(), 1)
    assert (0, "") == (result.returncode, result.stderr)
    assert any(line.strip().startswith("7 pages, 302 jobs in ") for line in listing)
    assert any(line.strip() == "... pages 3 to 7: the same, to the last token" for line in listing)


def test_demo_refuses_a_bad_page_size() -> None:
    """A page size the service would refuse is a usage error, before anything starts."""
    result = run_demo("--page-size", "101")
    assert (2, "") == (result.returncode, result.stdout)
    assert result.stderr.startswith("error: ")
