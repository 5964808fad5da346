"""``python -m ci_async.testing``: the same as ``python -m ci_async emulator``."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m ci_async.testing"))
