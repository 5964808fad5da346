"""``python -m ci_async``: the command line (see :mod:`ci_async._cli`)."""

from __future__ import annotations

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m ci_async"))
