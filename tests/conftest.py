"""Shared fixtures: every async test runs under asyncio and trio."""

from __future__ import annotations

import pytest


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
