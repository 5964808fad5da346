"""``.ci/run``: in CI every environment is built afresh; locally they are reused.

The script runs in a scratch copy of the repository layout with stand-ins for
``python3`` and ``nox`` on ``PATH`` (shell scripts that log their arguments),
so no real environment is built and nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

FAKE_PYTHON = """#!/bin/sh
# A stand-in for python3: answers the version probe, makes a "venv", ignores pip.
echo "python $*" >> "$CALLS"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  cp "$0" "$3/bin/python"
  cp "$(dirname "$0")/nox" "$3/bin/nox"
fi
exit 0
"""

FAKE_NOX = """#!/bin/sh
# A stand-in for nox: logs its arguments; a tests session leaves coverage data.
echo "nox $*" >> "$CALLS"
case " $* " in *" tests "*) touch .coverage.fake ;; esac
exit 0
"""


def run_script(tmp_path: Path, *, ci: str | None) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run a copy of .ci/run in ``tmp_path`` with stale environments in place; its output, log."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    for stale in (tmp_path / ".ci" / ".venv" / "stale", tmp_path / ".nox" / "tests" / "stale"):
        stale.parent.mkdir(parents=True)
        stale.write_text("left by an earlier run")
    tools = tmp_path / "fake-bin"
    tools.mkdir()
    for name, text in (("python3", FAKE_PYTHON), ("nox", FAKE_NOX)):
        path = tools / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls.log"
    env = {"PATH": f"{tools}{os.pathsep}/usr/bin{os.pathsep}/bin", "CALLS": str(calls)}
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run(
        [bash, str(tmp_path / ".ci" / "run")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, calls.read_text() if calls.exists() else ""


@pytest.mark.parametrize("ci", ["true", "1", "TRUE"])
def test_in_ci_the_tools_venv_and_nox_environments_are_built_afresh(
    tmp_path: Path, ci: str
) -> None:
    """CI=true: the stale .ci/.venv and .nox are removed, and nox is told never to reuse."""
    result, calls = run_script(tmp_path, ci=ci)

    assert 0 == result.returncode, result.stderr
    assert not (tmp_path / ".ci" / ".venv" / "stale").exists()
    assert not (tmp_path / ".nox").exists()
    sessions = [line for line in calls.splitlines() if line.startswith("nox ")]
    assert 2 == len(sessions)
    assert all("--reuse-venv=never" in line for line in sessions)


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_outside_ci_the_environments_are_reused(tmp_path: Path, ci: str | None) -> None:
    """Without CI=true nothing is removed and nox reuses its environments."""
    result, calls = run_script(tmp_path, ci=ci)

    assert 0 == result.returncode, result.stderr
    assert (tmp_path / ".ci" / ".venv" / "stale").exists()
    assert (tmp_path / ".nox" / "tests" / "stale").exists()
    sessions = [line for line in calls.splitlines() if line.startswith("nox ")]
    assert 2 == len(sessions)
    assert not any("--reuse-venv" in line for line in sessions)
