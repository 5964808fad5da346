"""Development sessions: tests, lint, typecheck, docs, demo, bench, soak.

Run ``nox`` for the default set (tests, lint, typecheck) or ``nox -s NAME``.
The test matrix covers every CPython from the classifiers that is installed
and actually runs here; with only one present, the suite runs on that one.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
# Reused locally (fast reruns); built afresh in CI (CI=true), as .ci/run also asks.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
nox.options.reuse_existing_virtualenvs = not IN_CI
nox.options.sessions = ["tests", "coverage", "lint", "typecheck"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
SUPPORTED = nox.project.python_versions(PYPROJECT)  # from the classifiers
MAIN_PYTHON = "3.12"


def _runs(version: str) -> bool:
    """Whether ``python<version>`` exists on PATH *and* starts (pyenv shims may not)."""
    exe = shutil.which(f"python{version}")
    if exe is None:
        return False
    try:
        probe = subprocess.run(
            [exe, "-c", "import sys; sys.exit(0)"], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


@functools.cache
def installed_pythons() -> list[str]:
    """Supported versions that are present here; at least the running one if it is supported."""
    found = [v for v in SUPPORTED if _runs(v)]
    if not found:
        current = f"{sys.version_info.major}.{sys.version_info.minor}"
        found = [current] if current in SUPPORTED else [SUPPORTED[-1]]
    return found


def one_python() -> str:
    """The preferred single interpreter for the non-matrix sessions."""
    pythons = installed_pythons()
    return MAIN_PYTHON if MAIN_PYTHON in pythons else pythons[-1]


def install_project(session: nox.Session, *groups: str, extras: str = "aiohttp,testing") -> None:
    """Install the dependency groups, then the project itself (not editable)."""
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))
    session.install(f".[{extras}]" if extras else ".")


@nox.session(python=installed_pythons())
def tests(session: nox.Session) -> None:
    """Run the test suite with branch coverage (``nox -s tests -- -k signer`` to filter)."""
    install_project(session, "tests")
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        *session.posargs,
        env={"COVERAGE_FILE": str(ROOT / f".coverage.{session.python}")},
    )


@nox.session(python=one_python())
def coverage(session: nox.Session) -> None:
    """Combine the coverage data of every tests run and report it."""
    session.install("coverage[toml]>=7.5")
    data = sorted(ROOT.glob(".coverage.*"))
    if not data:
        session.skip("no coverage data: run `nox -s tests` first")
    session.run("coverage", "combine", *map(str, data))
    session.run("coverage", "report")


@nox.session(python=one_python())
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=one_python())
def typecheck(session: nox.Session) -> None:
    """Mypy strict over the package, its tests (the typing tests among them), benchmarks,
    examples and this noxfile."""
    install_project(session, "typing")
    session.run("mypy", "ci_async", "tests", "benchmarks", "examples", "noxfile.py")


@nox.session(python=one_python())
def docs(session: nox.Session) -> None:
    """Build the HTML docs (warnings are errors) and run every example in them."""
    install_project(session, "docs", "tests")
    out = ROOT / "docs" / "_build" / "html"
    session.run("sphinx-build", "-W", "-n", "--keep-going", "-b", "html", "docs", str(out))
    session.run("pytest", "tests/test_docs.py", "tests/test_examples_notebook.py", "-q")
    session.log(f"docs: {out / 'index.html'}")


@nox.session(python=one_python())
def demo(session: nox.Session) -> None:
    """The main job: an emulator on loopback, listed page by page through the client."""
    install_project(session, extras="aiohttp,testing")
    session.run("python", "examples/demo.py", *session.posargs)


@nox.session(python=one_python())
def bench(session: nox.Session) -> None:
    """Benchmarks against the floors and the official SDK; prints a table of ratios."""
    install_project(session, "bench")
    session.run("python", "-m", "benchmarks.run", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(python=one_python())
def soak(session: nox.Session) -> None:
    """Minutes of load under injected faults: no job lost, memory flat (``-- --seconds 60``)."""
    install_project(session, "tests")
    session.run("python", "-m", "benchmarks.soak", *session.posargs, env={"PYTHONPATH": str(ROOT)})
