"""What docs/transports.md says about proxies, checked on loopback.

The "proxy" is a second emulator: a request sent through it arrives there in
absolute form (``GET http://127.0.0.1:PORT/...``) and is recorded, while the
endpoint's emulator sees nothing. So each test tells exactly which way the
request went.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

import ci_async
from ci_async.testing import Emulator, EmulatorServer

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(name="endpoint_emulator")
def fixture_endpoint_emulator() -> Emulator:
    emulator = Emulator()
    emulator.add_job(job_id="b3deffea2f84911ec9cb15254008618d9", state="Success")
    return emulator


@pytest.fixture(name="proxy_emulator")
def fixture_proxy_emulator() -> Emulator:
    return Emulator(verify_signatures=False)


@pytest.fixture(name="servers")
def fixture_servers(
    endpoint_emulator: Emulator, proxy_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[EmulatorServer, EmulatorServer]]:
    """Both emulators on loopback ports, and no proxy variable of the test run's own."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with endpoint_emulator.serve() as endpoint, proxy_emulator.serve() as proxy:
        yield endpoint, proxy


async def describe(
    emulator: Emulator, endpoint: EmulatorServer, transport: ci_async.AiohttpTransport | None
) -> None:
    """One describe, whatever answers it (the proxy emulator does not know the job)."""
    async with ci_async.Session(
        emulator.bucket,
        emulator.region,
        endpoint=endpoint.url,
        credentials=emulator.credentials,
        transport=transport,
        retry=None,
    ) as ci:
        with contextlib.suppress(ci_async.CIError):
            await ci.get_job("b3deffea2f84911ec9cb15254008618d9")


@pytest.mark.anyio
@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY", "http_proxy"])
async def test_the_default_transport_uses_the_environment_s_proxy(
    variable: str,
    servers: tuple[EmulatorServer, EmulatorServer],
    endpoint_emulator: Emulator,
    proxy_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``HTTP_PROXY`` (or ``ALL_PROXY``, any case) sends the request to the proxy."""
    endpoint, proxy = servers
    monkeypatch.setenv(variable, proxy.url)
    await describe(endpoint_emulator, endpoint, None)
    assert (0, 1) == (len(endpoint_emulator.requests), len(proxy_emulator.requests))
    assert proxy_emulator.requests[0].path.startswith(endpoint.url)  # absolute form


@pytest.mark.anyio
async def test_no_proxy_lets_the_emulator_be_reached_directly(
    servers: tuple[EmulatorServer, EmulatorServer],
    endpoint_emulator: Emulator,
    proxy_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``NO_PROXY=127.0.0.1,localhost``, as the page advises for the emulator."""
    endpoint, proxy = servers
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    await describe(endpoint_emulator, endpoint, None)
    assert (1, 0) == (len(endpoint_emulator.requests), len(proxy_emulator.requests))


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # aiohttp runs under asyncio only
@pytest.mark.anyio
async def test_aiohttp_transport_ignores_the_environment_s_proxy(
    anyio_backend: str,
    servers: tuple[EmulatorServer, EmulatorServer],
    endpoint_emulator: Emulator,
    proxy_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``AiohttpTransport`` goes straight to the endpoint, ``HTTP_PROXY`` or not."""
    endpoint, proxy = servers
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    await describe(endpoint_emulator, endpoint, ci_async.AiohttpTransport())
    assert (1, 0) == (len(endpoint_emulator.requests), len(proxy_emulator.requests))
