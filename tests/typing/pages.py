"""Type-only checks of ``JobIterator.pages()``: mypy --strict runs over this file; never executed.

The page iterator closes like the job iterator: ``async with``, ``aclose()``
and :func:`contextlib.aclosing` all type-check.
"""

from __future__ import annotations

import contextlib

import ci_async


async def pages_in_async_with(ci: ci_async.Session) -> list[str | None]:
    tokens: list[str | None] = []
    async with ci.list_jobs(page_size=100).pages() as pages:
        async for page in pages:
            tokens.append(page.next_token)
            break
    return tokens


async def pages_closed_by_hand(ci: ci_async.Session) -> int:
    pages: ci_async.PageIterator = ci.list_jobs().pages()
    try:
        first: ci_async.JobPage = await pages.__anext__()
        return len(first.jobs)
    finally:
        await pages.aclose()


async def pages_in_aclosing(ci: ci_async.Session) -> list[ci_async.Job]:
    jobs: list[ci_async.Job] = []
    async with contextlib.aclosing(ci.list_jobs().pages()) as pages:
        async for page in pages:
            jobs.extend(page.jobs)
    return jobs
