"""Development sessions: tests, coverage, lint, typecheck, docs, demo, bench, soak.

Run ``nox`` for the default set (tests, coverage, lint, typecheck) or ``nox -s NAME``.
The test matrix covers every CPython from the classifiers that is installed
and actually runs here; with only one present, the suite runs on that one,
and the tests session says which supported versions it skipped, and why.

Virtual environments are made with uv when it is installed (on ``PATH``, or
as the ``uv`` package beside nox, as ``.ci/run`` installs it), else with
virtualenv, which nox always brings: the choice is made here, quietly,
rather than by nox trying uv first and reporting it missing.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox


def _has_uv() -> bool:
    """Whether uv is installed: on PATH (or as ``$UV``), or as the ``uv`` package beside nox."""
    if shutil.which(os.environ.get("UV") or "uv"):
        return True
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found, unused-ignore]

        return bool(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return False


class _NoUvNotice(logging.Filter):
    """Drops nox's "uv binary not found.": nox probes for uv whatever the backend."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "uv binary not found."


nox.needs_version = ">=2025.2.9"
if _has_uv():
    nox.options.default_venv_backend = "uv"
else:
    nox.options.default_venv_backend = "virtualenv"
    logging.getLogger("nox").addFilter(_NoUvNotice())  # virtualenv was chosen: no news
# Reused locally (fast reruns); built afresh in CI (CI=true), as .ci/run also asks.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
nox.options.reuse_existing_virtualenvs = not IN_CI
nox.options.sessions = ["tests", "coverage", "lint", "typecheck"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
SUPPORTED = nox.project.python_versions(PYPROJECT)  # from the classifiers
MAIN_PYTHON = "3.12"


def why_not(version: str) -> str | None:
    """``None`` when ``python<version>`` is on PATH *and* starts; else why it cannot be used."""
    exe = shutil.which(f"python{version}")
    if exe is None:
        return f"no python{version} on PATH"
    try:
        probe = subprocess.run(
            [exe, "-c", "import sys; sys.exit(0)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{exe} does not start ({type(exc).__name__})"
    if probe.returncode == 0:
        return None
    said = next((line.strip() for line in probe.stderr.splitlines() if line.strip()), "")
    if said.startswith("pyenv:"):  # a pyenv shim for a version not selected
        return f"{said} (select it too: pyenv global/shell, or PYENV_VERSION)"
    return f"{exe} does not start (exit status {probe.returncode})"


@functools.cache
def survey() -> tuple[list[str], dict[str, str]]:
    """The supported versions that run here, and why each other one does not."""
    found: list[str] = []
    skipped: dict[str, str] = {}
    for version in SUPPORTED:
        reason = why_not(version)
        if reason is None:
            found.append(version)
        else:
            skipped[version] = reason
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    if not found:  # nox finds the interpreter it runs on by its version
        found = [current] if current in SUPPORTED else [SUPPORTED[-1]]
        skipped.pop(found[0], None)
    return found, skipped


def installed_pythons() -> list[str]:
    """Supported versions that are present here; at least the running one if it is supported."""
    return survey()[0]


def one_python() -> str:
    """The preferred single interpreter for the non-matrix sessions."""
    pythons = installed_pythons()
    return MAIN_PYTHON if MAIN_PYTHON in pythons else pythons[-1]


#: uv installs no bytecode unless asked (pip does): without it every fresh process
#: compiles what it imports, which the first-request benchmark would measure.
COMPILE_BYTECODE = {"UV_COMPILE_BYTECODE": "1"}


def install_project(session: nox.Session, *groups: str, extras: str = "aiohttp,testing") -> None:
    """Install the dependency groups, then the project itself (not editable), with bytecode."""
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group), env=COMPILE_BYTECODE)
    session.install(f".[{extras}]" if extras else ".", env=COMPILE_BYTECODE)


_SAID: set[str] = set()


def _say_skipped(session: nox.Session) -> None:
    """Once per nox run: the supported versions the matrix leaves out, and why."""
    if "skipped" in _SAID:
        return
    _SAID.add("skipped")
    found, skipped = survey()
    session.log(f"tests: on Python {', '.join(found)} (supported: {', '.join(SUPPORTED)})")
    for version, reason in skipped.items():
        session.log(f"tests: skipped Python {version}: {reason}")


@nox.session(python=installed_pythons())
def tests(session: nox.Session) -> None:
    """Run the test suite with branch coverage (``nox -s tests -- -k signer`` to filter)."""
    _say_skipped(session)
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
    """The main job: the library's story against an emulator on loopback (examples/demo.py)."""
    install_project(session, extras="aiohttp,testing")
    session.run("python", "examples/demo.py", *session.posargs)


@nox.session(python=one_python())
def bench(session: nox.Session) -> None:
    """Every performance target side by side (``-- --quick``: a smoke run); benchmarks/README.md."""
    install_project(session, "bench")
    session.run("python", "-m", "benchmarks.run", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(python=one_python())
def soak(session: nox.Session) -> None:
    """Minutes of load under injected faults: no job lost, memory flat (``-- --seconds 60``)."""
    install_project(session, "tests")
    session.run("python", "-m", "benchmarks.soak", *session.posargs, env={"PYTHONPATH": str(ROOT)})
