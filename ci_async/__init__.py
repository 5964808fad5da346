"""An asyncio client for the Tencent Cloud Infinite (CI) batch data processing job API.

Everything public is importable from here; the implementation lives in private
modules (``ci_async._session``, ``ci_async._signing``, ...).
"""

from __future__ import annotations

import inspect
import logging
import sys
import typing

# --- public re-exports (keep __all__ sorted; tests/test_exported_members.py checks it) ---
from ._aiohttp import AiohttpTransport
from ._credentials import Credentials, CredentialsProvider
from ._errors import (
    AuthError,
    CIError,
    CredentialsError,
    JobNotFoundError,
    PaginationError,
    ResponseParseError,
    ServerError,
    ServiceError,
    SessionClosedError,
    ThrottledError,
    TransportError,
    WaitTimeoutError,
)
from ._models import (
    Job,
    JobInput,
    JobLookup,
    JobPage,
    JobParam,
    JobState,
    JobType,
    Operation,
    Output,
    TimeInterval,
)
from ._pagination import JobIterator, PageIterator
from ._retry import RetryPolicy
from ._session import Session
from ._signing import CosSigner, Signer

__all__: list[str] = [
    "AiohttpTransport",
    "AuthError",
    "CIError",
    "CosSigner",
    "Credentials",
    "CredentialsError",
    "CredentialsProvider",
    "Job",
    "JobInput",
    "JobIterator",
    "JobLookup",
    "JobNotFoundError",
    "JobPage",
    "JobParam",
    "JobState",
    "JobType",
    "Operation",
    "Output",
    "PageIterator",
    "PaginationError",
    "ResponseParseError",
    "RetryPolicy",
    "ServerError",
    "ServiceError",
    "Session",
    "SessionClosedError",
    "Signer",
    "ThrottledError",
    "TimeInterval",
    "TransportError",
    "WaitTimeoutError",
]

#: The installed distribution's version (read from its metadata on first use).
__version__: str


def _publish(cls: type, module: str) -> None:
    """Name ``module`` (``ci_async`` or ``ci_async.testing``) as the home of ``cls``.

    Its own string annotations (``from __future__ import annotations``) are
    resolved first, in the namespace of the module that defines it: they name
    what that module imports (``datetime``, ``Callable``), which the public
    module does not have, and ``typing.get_type_hints()`` (and so
    ``attrs.resolve_types()`` and cattrs) looks them up in ``cls.__module__``.
    A name that module imports only for type checkers (to break an import
    cycle, as ``Job`` in ``_errors``) is then looked up among the public
    names. One that cannot be resolved fails the import, here.
    """
    own = inspect.get_annotations(cls)
    if own:
        try:
            try:
                hints = typing.get_type_hints(cls, include_extras=True)
            except NameError:
                namespace = {name: globals()[name] for name in __all__}
                namespace.update(vars(sys.modules[cls.__module__]))
                hints = typing.get_type_hints(cls, namespace, namespace, include_extras=True)
        except Exception as exc:
            msg = f"cannot resolve the annotations of {cls.__module__}.{cls.__qualname__}: {exc!r}"
            raise RuntimeError(msg) from exc
        cls.__annotations__ = {name: hints[name] for name in own}
    cls.__module__ = module


# Print public classes as ``ci_async.Session`` rather than ``ci_async._session.Session``
# (in reprs, tracebacks, help() and the API reference), as httpx does; their own
# functions too, which pydoc 3.13 names after each method.
for _name in __all__:
    _value = globals()[_name]
    # (Only our own classes: on Python 3.10 a Callable alias passes isinstance(x, type).)
    if isinstance(_value, type) and _value.__module__.startswith("ci_async."):
        _publish(_value, "ci_async")
        for _member in vars(_value).values():
            _function = _member.fget if isinstance(_member, property) else _member
            if callable(_function) and str(getattr(_function, "__module__", "")).startswith(
                "ci_async._"
            ):
                _function.__module__ = "ci_async"
del _name, _value, _member, _function

# A library does not print unless asked: retries are logged on "ci_async" at
# WARNING, and reach stderr only once the application configures logging.
logging.getLogger("ci_async").addHandler(logging.NullHandler())


# Only at run time: to type checkers, a module-level __getattr__ would make every
# misspelt name an attribute (``ci_async.JobStatus`` a str). What it serves is
# declared above (``__version__``).
if not typing.TYPE_CHECKING:

    def __getattr__(name: str) -> str:
        if name == "__version__":
            from ._version import version

            return version()
        msg = f"module 'ci_async' has no attribute {name!r}"
        raise AttributeError(msg)
