"""Shared fixtures: every async test runs under asyncio and trio."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from ci_async.testing import Emulator, EmulatorServer


@pytest.fixture(
    name="anyio_backend",
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param("trio", id="trio"),
    ],
)
def fixture_anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each async test under both event loops."""
    return str(request.param)


@pytest.fixture(name="via", params=["in-process", "loopback"])
def fixture_via(request: pytest.FixtureRequest) -> str:
    """How a session reaches the emulator: in process, or over loopback HTTP."""
    return str(request.param)


@pytest.fixture(name="target")
def fixture_target(emulator: Emulator, via: str) -> Iterator[EmulatorServer | None]:
    """The module's ``emulator`` on a loopback port, or ``None`` in process."""
    if via == "in-process":
        yield None
        return
    with emulator.serve() as server:
        yield server


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The number of examples each fuzz test of test_hostile_input.py actually ran."""
    module = sys.modules.get("tests.test_hostile_input")
    counts = getattr(module, "EXAMPLES_RUN", None)
    if not counts:
        return
    terminalreporter.write_sep("-", "hypothesis examples run (tests/test_hostile_input.py)")
    for name, count in sorted(counts.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{count:>8,}  {name}")
    terminalreporter.write_line(f"{sum(counts.values()):>8,}  in all")
