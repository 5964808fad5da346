"""The installed version of ci_async.

The one lookup shared by ``__version__``, the ``User-Agent`` header and
``ci-async --version``.
"""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

__all__ = ["version"]


@functools.cache
def version() -> str:
    """The version of the installed ``ci-async`` distribution.

    Returns:
        The version string, or ``"unknown"`` when running from a source tree
        that was never installed.
    """
    try:
        return _distribution_version("ci-async")
    except PackageNotFoundError:
        return "unknown"
