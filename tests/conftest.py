"""Shared fixtures: every async test runs under asyncio and trio."""

from __future__ import annotations

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
