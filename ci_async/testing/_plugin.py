"""pytest plugin: a seeded CI emulator for any test suite, in one fixture.

Registered through the ``pytest11`` entry point, so installing ``ci_async``
makes these fixtures available everywhere:

* ``ci_emulator`` — an :class:`~ci_async.testing.Emulator` seeded with jobs;
* ``ci_emulator_server`` — that emulator on a loopback port
  (:class:`~ci_async.testing.EmulatorServer`, ``.url``);
* ``ci_session`` — an in-process :class:`ci_async.Session` against it (an async
  fixture: use it from ``@pytest.mark.anyio`` tests).

Configure them per test or module with the ``ci_emulator`` marker::

    @pytest.mark.ci_emulator(jobs=50, seed=1)
    async def test_listing(ci_session, ci_emulator): ...

The marker accepts ``jobs`` (default 20), ``seed`` (default 0) and any
keyword of :class:`~ci_async.testing.Emulator`.

This module imports nothing heavy at import time, so it costs test suites that
do not use it next to nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .. import _session
    from ._emulator import Emulator
    from ._server import EmulatorServer

__all__ = [
    "fixture_ci_emulator",
    "fixture_ci_emulator_server",
    "fixture_ci_session",
    "pytest_configure",
]

_DEFAULT_JOBS = 20


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``ci_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        "ci_emulator(jobs=20, seed=0, **options): configure the ci_emulator fixture "
        "(number of seeded jobs, seed, and any ci_async.testing.Emulator keyword)",
    )


@pytest.fixture(name="ci_emulator")
def fixture_ci_emulator(request: pytest.FixtureRequest) -> Emulator:
    """A fresh :class:`~ci_async.testing.Emulator` seeded with jobs (see the marker)."""
    from ._emulator import Emulator  # imported here: keeps the plugin cheap to import

    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("ci_emulator"))):
        if marker.args:
            msg = "use keywords with @pytest.mark.ci_emulator, e.g. ci_emulator(jobs=50)"
            raise pytest.UsageError(msg)
        options.update(marker.kwargs)
    jobs = options.pop("jobs", _DEFAULT_JOBS)
    options.setdefault("seed", 0)
    emulator = Emulator(**options)
    if jobs:
        emulator.generate(jobs, seed=options["seed"])
    return emulator


@pytest.fixture(name="ci_emulator_server")
def fixture_ci_emulator_server(ci_emulator: Emulator) -> Iterator[EmulatorServer]:
    """The ``ci_emulator`` served on a loopback port; stopped after the test."""
    with ci_emulator.serve() as server:
        yield server


@pytest.fixture(name="ci_session")
async def fixture_ci_session(
    ci_emulator: Emulator, anyio_backend: object
) -> AsyncIterator[_session.Session]:
    """An in-process :class:`ci_async.Session` against ``ci_emulator`` (closed after the test)."""
    async with ci_emulator.session() as session:
        yield session
