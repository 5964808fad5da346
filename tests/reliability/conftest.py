"""Fixtures of the reliability tests: an emulator on a real loopback port and a session on it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from ci_async import Session
from ci_async.testing import Emulator, EmulatorServer

from .._session_support import LOOPS_AND_TRANSPORTS
from . import _support
from ._support import RetryLog, session_on

#: Jobs in the default emulator: three pages of ten.
JOBS = 25


@pytest.fixture(name="anyio_backend", params=LOOPS_AND_TRANSPORTS)
def fixture_anyio_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every case under asyncio on both transports, and under trio (httpx's transport)."""
    backend, _support.TRANSPORT = request.param
    try:
        yield backend
    finally:
        _support.TRANSPORT = "httpx"


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """An emulator with a few pages of jobs."""
    emulator = Emulator(seed=7)
    emulator.generate(JOBS)
    return emulator


@pytest.fixture(name="server")
def fixture_server(emulator: Emulator) -> Iterator[EmulatorServer]:
    """The emulator on a real loopback port."""
    with emulator.serve() as server:
        yield server


@pytest.fixture(name="session")
async def fixture_session(
    emulator: Emulator, server: EmulatorServer, anyio_backend: str
) -> AsyncIterator[Session]:
    """A session over loopback HTTP, on the transport of the test's variant."""
    async with session_on(server.url, emulator) as session:
        yield session


@pytest.fixture(name="retry_log")
def fixture_retry_log() -> Iterator[RetryLog]:
    """The retry records logged by ``ci_async`` during the test."""
    handler = RetryLog()
    logger = logging.getLogger("ci_async")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
