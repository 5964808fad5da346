"""Type-only checks of the names the packages serve lazily: mypy --strict runs over this file.

``ci_async.__version__`` and everything in ``ci_async.testing.__all__`` are
imported on first use at run time; type checkers see each with its own type
(and flag a misspelt name, which ``tests/test_public_typing.py`` checks).
"""

from __future__ import annotations

import ci_async
import ci_async.testing
from ci_async.testing import (
    DEFAULT_CREDENTIALS,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
    FakeClock,
    Fault,
    FaultPlan,
    RecordedRequest,
    ServerStats,
    StoredJob,
)


def version() -> str:
    return ci_async.__version__


def emulator_names() -> tuple[object, ...]:
    credentials: ci_async.Credentials = DEFAULT_CREDENTIALS
    emulator: Emulator = ci_async.testing.Emulator()
    server: type[EmulatorServer] = EmulatorServer  # (each name is a class, or mypy says)
    others = (EmulatorTransport, FakeClock, Fault, FaultPlan, RecordedRequest, ServerStats)
    return (credentials, emulator, server, StoredJob, *others)
