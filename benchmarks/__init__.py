"""Benchmarks of ci_async against the raw floors and the official SDK.

Run everything with ``nox -s bench`` (or ``python -m benchmarks.run``); see
``docs/performance.md`` for the method and the figures.
"""
