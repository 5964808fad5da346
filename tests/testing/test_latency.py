"""The per-request latency setting: a real, non-blocking delay before every answer."""

from __future__ import annotations

import math

import anyio
import httpx
import pytest

from ci_async.testing import Emulator

from ._support import send

pytestmark = pytest.mark.anyio

PATH = "/inventorytriggerjob"


async def test_latency_delays_every_answer(anyio_backend: str) -> None:
    """Emulator(latency=60): an answer is not there within a 50 ms read timeout."""
    emulator = Emulator(latency=60)
    with pytest.raises(httpx.ReadTimeout):
        await send(emulator, "GET", PATH, timeout=0.05)
    emulator.latency = 0
    assert 200 == (await send(emulator, "GET", PATH)).status_code


async def test_latency_does_not_block_the_event_loop(anyio_backend: str) -> None:
    """While one request waits out its latency, the loop runs other tasks."""
    emulator = Emulator(latency=60)
    finished: list[int] = []

    async def request() -> None:
        response = await send(emulator, "GET", PATH, timeout=None)
        finished.append(response.status_code)

    async with anyio.create_task_group() as group:
        group.start_soon(request)
        group.start_soon(request)
        await anyio.wait_all_tasks_blocked()
        # Both requests arrived (they are recorded before the delay) and neither is done.
        assert (2, []) == (len(emulator.requests), finished)
        group.cancel_scope.cancel()


async def test_latency_survives_clearing_faults(anyio_backend: str) -> None:
    """faults.clear() removes fault latency, not the emulator's own setting."""
    emulator = Emulator(latency=60)
    emulator.faults.clear()
    emulator.faults.latency(0)
    assert 60 == emulator.latency
    with pytest.raises(httpx.ReadTimeout):
        await send(emulator, "GET", PATH, timeout=0.05)


async def test_fault_latency_adds_to_it(anyio_backend: str) -> None:
    """A latency fault for one operation adds to the setting (here from zero)."""
    emulator = Emulator(latency=0)
    emulator.faults.latency(60, op="describe")
    assert 200 == (await send(emulator, "GET", PATH)).status_code
    with pytest.raises(httpx.ReadTimeout):
        await send(emulator, "GET", f"{PATH}/b1", timeout=0.05)


async def test_latency_over_loopback(anyio_backend: str) -> None:
    """Over a real socket too: a long latency outlasts a short read timeout."""
    emulator = Emulator(latency=60, verify_signatures=False)
    async with emulator.serve() as server, httpx.AsyncClient(base_url=server.url) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(PATH, timeout=0.05)
        emulator.latency = 0
        assert 200 == (await client.get(PATH, timeout=5)).status_code


@pytest.mark.parametrize("seconds", [-0.01, math.inf, math.nan])
def test_bad_latency(seconds: float) -> None:
    """Negative and non-finite latencies are refused, in the constructor and later."""
    with pytest.raises(ValueError, match="latency must be"):
        Emulator(latency=seconds)
    emulator = Emulator()
    with pytest.raises(ValueError, match="latency must be"):
        emulator.latency = seconds
    assert 0 == emulator.latency
