"""Benchmarks of ci_async against bare httpx/aiohttp loops and the official SDK.

Run everything with ``nox -s bench`` (or ``python -m benchmarks.run``); see
``benchmarks/README.md`` for what each row measures and how.
"""
