"""An aiohttp backend that serves CI jobs over HTTP, sharing one ci_async Session.

Routes:

* ``GET /jobs?page_size=20&next_token=...``: one page of jobs as JSON,
  ``{"jobs": [...], "next_token": "..." | null}``. The caller passes the token
  back to get the next page; the backend keeps no state between requests.
  Optional filters: ``states=Running,Failed``, ``type=Job``, ``order=asc``.
* ``GET /jobs/{job_id}``: one job as JSON (``Job.to_dict()``); ``404`` when it
  does not exist, ``400`` for a malformed id.
* ``GET /jobs.ndjson``: every job (same filters), streamed as JSON lines while
  the pages arrive; memory stays at one or two pages. A client that leaves
  early ends the listing, quietly (a DEBUG line, no error logged).

Errors the service or network may cause once retries are spent (throttling,
5xx, timeouts) become a ``503`` JSON answer in one middleware.

Run it against the real service (credentials from ``TENCENTCLOUD_SECRET_ID`` /
``TENCENTCLOUD_SECRET_KEY``)::

    CI_ASYNC_BUCKET=examplebucket-1250000000 CI_ASYNC_REGION=ap-beijing \
        python examples/aiohttp_backend.py --port 8080

or against the emulator (``python -m ci_async emulator`` prints the ``export``
lines that point it there: paste them, then run this).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import attrs
from aiohttp import web

import ci_async


@attrs.frozen(kw_only=True)
class Settings:
    """Where the backend finds the CI service.

    Attributes:
        bucket: The bucket, ``BucketName-APPID``.
        region: The bucket's region, e.g. ``ap-beijing``.
        endpoint: A base URL overriding the service's (e.g. the emulator's), or ``None``.
        credentials: The key pair, or ``None`` to read it from the environment.
    """

    bucket: str
    region: str
    endpoint: str | None = None
    credentials: ci_async.Credentials | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from ``CI_ASYNC_BUCKET``, ``CI_ASYNC_REGION`` and ``CI_ASYNC_ENDPOINT``."""
        return cls(
            bucket=os.environ.get("CI_ASYNC_BUCKET", "examplebucket-1250000000"),
            region=os.environ.get("CI_ASYNC_REGION", "ap-beijing"),
            endpoint=os.environ.get("CI_ASYNC_ENDPOINT") or None,
        )


logger = logging.getLogger(__name__)

#: Where the application keeps its shared session (typed: no string keys).
CI = web.AppKey("ci", ci_async.Session)

#: Largest page a caller may ask for (the service's own maximum).
MAX_PAGE_SIZE = 100


def _filters(query: Mapping[str, str]) -> dict[str, Any]:
    """``list_jobs`` filters from the query string; bad values raise ``ValueError``."""
    filters: dict[str, Any] = {}
    if states := query.get("states"):
        filters["states"] = states.split(",")
    if job_type := query.get("type"):
        filters["type"] = job_type
    if order := query.get("order"):
        filters["order"] = order
    return filters


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def list_jobs(request: web.Request) -> web.Response:
    """One page of jobs, and the token for the next."""
    try:
        page_size = int(request.query.get("page_size", "20"))
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError
        listing = request.app[CI].list_jobs(
            page_size=page_size,
            next_token=request.query.get("next_token") or None,
            prefetch=False,  # one page per request: never fetch one to throw away
            **_filters(request.query),
        )
    except ValueError:
        return _bad_request("bad page_size or filter")
    async with listing:
        page = await anext(listing.pages())
    return web.json_response(
        {"jobs": [job.to_dict() for job in page], "next_token": page.next_token}
    )


async def get_job(request: web.Request) -> web.Response:
    """One job, or a 404."""
    job_id = request.match_info["job_id"]
    try:
        job = await request.app[CI].get_job(job_id)
    except ci_async.JobNotFoundError:
        return web.json_response({"error": "job not found", "job_id": job_id}, status=404)
    except ValueError:
        return _bad_request("malformed job id")
    return web.json_response(job.to_dict())


async def export_jobs(request: web.Request) -> web.StreamResponse:
    """Every job, as JSON lines, streamed while the pages arrive.

    A client may leave before the end. aiohttp does not cancel the handler then
    (not by default, since 3.9: ``handler_cancellation=False``): the next write
    raises ``ConnectionResetError`` instead. The handler stops there, quietly:
    the listing is closed (no page fetched for nobody) and the response
    returned, which aiohttp drops without logging an error.
    """
    try:
        listing = request.app[CI].list_jobs(page_size=MAX_PAGE_SIZE, **_filters(request.query))
    except ValueError:
        return _bad_request("bad filter")
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    async with listing:  # closes the listing however the handler ends
        try:
            async for job in listing:
                if not response.prepared:
                    # Prepared on the first job: an error before it is still a clean 503.
                    await response.prepare(request)
                await response.write(json.dumps(job.to_dict()).encode() + b"\n")
            if not response.prepared:
                await response.prepare(request)
            await response.write_eof()
        except ConnectionResetError:  # aiohttp's ClientConnectionResetError among them
            logger.debug("client %s left during the export", request.remote)
    return response


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def unavailable_on_transient_errors(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Answer 503 when the service stays unavailable after the session's retries."""
    try:
        return await handler(request)
    except (ci_async.ThrottledError, ci_async.ServerError, ci_async.TransportError) as exc:
        return web.json_response(
            {"error": "the CI service is unavailable", "detail": type(exc).__name__},
            status=503,
        )


def create_app(settings: Settings) -> web.Application:
    """The application: routes, the error middleware, and the shared session's lifetime."""

    async def ci_session(app: web.Application) -> AsyncIterator[None]:
        async with ci_async.Session(
            bucket=settings.bucket,
            region=settings.region,
            endpoint=settings.endpoint,
            credentials=settings.credentials,
        ) as ci:
            app[CI] = ci
            yield

    app = web.Application(middlewares=[unavailable_on_transient_errors])
    app.cleanup_ctx.append(ci_session)
    app.router.add_get("/jobs", list_jobs)
    app.router.add_get("/jobs.ndjson", export_jobs)
    app.router.add_get("/jobs/{job_id}", get_job)
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the application (settings from the environment)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    web.run_app(create_app(Settings.from_env()), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
