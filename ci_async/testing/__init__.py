"""An emulator of the CI batch-job API, for tests, demos and benchmarks.

``ci_async.testing`` ships a fake CI server: an ASGI app over an in-memory job
store that speaks the real wire protocol (the official SDK works against it),
verifies v5 signatures, lets jobs progress on a clock the test controls, and
injects faults on demand. Use it in process or on a loopback port::

    from ci_async.testing import Emulator

    emulator = Emulator(seed=1)
    emulator.generate(500)
    async with emulator.session() as ci:  # in process
        job = await ci.get_job(emulator.jobs[0].job_id)

    with emulator.serve() as server:  # real HTTP on 127.0.0.1
        print(server.url)

A pytest plugin (``ci_emulator``, ``ci_emulator_server``, ``ci_session``
fixtures) is registered automatically when ``ci_async`` is installed; the
command ``python -m ci_async emulator`` runs a standalone server.

Public names (imported on first use, so that the pytest plugin, which lives in
this package, stays cheap to load):

* :class:`Emulator` — the fake service.
* :class:`EmulatorServer` — an emulator on a loopback port, in a thread.
* :class:`EmulatorTransport` — the in-process ``httpx`` transport.
* :class:`FakeClock` — a clock the test advances.
* :class:`FaultPlan` / :class:`Fault` — fault injection.
* :class:`RecordedRequest` — a request as the emulator saw it.
* :class:`ServerStats` — connection counters of a server.
* :class:`StoredJob` — a job as the emulator holds it.
* :data:`DEFAULT_CREDENTIALS` — the key pair accepted by default.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .. import _publish

if TYPE_CHECKING:
    from ._clock import FakeClock
    from ._emulator import DEFAULT_CREDENTIALS, Emulator
    from ._faults import Fault, FaultPlan
    from ._records import RecordedRequest
    from ._server import EmulatorServer, ServerStats
    from ._store import StoredJob
    from ._transport import EmulatorTransport

__all__ = [
    "DEFAULT_CREDENTIALS",
    "Emulator",
    "EmulatorServer",
    "EmulatorTransport",
    "FakeClock",
    "Fault",
    "FaultPlan",
    "RecordedRequest",
    "ServerStats",
    "StoredJob",
]

_HOMES = {
    "DEFAULT_CREDENTIALS": "._emulator",
    "Emulator": "._emulator",
    "EmulatorServer": "._server",
    "EmulatorTransport": "._transport",
    "FakeClock": "._clock",
    "Fault": "._faults",
    "FaultPlan": "._faults",
    "RecordedRequest": "._records",
    "ServerStats": "._server",
    "StoredJob": "._store",
}


# Only at run time: to type checkers, a module-level __getattr__ would make every
# misspelt name an attribute (``from ci_async.testing import Emulater`` an Any).
# They see each name it serves imported above instead.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            msg = f"module {__name__!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(home, __name__), name)
        if isinstance(value, type):
            # Its annotations resolved where it is defined, then named ci_async.testing's.
            _publish(value, __name__)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
