"""The contenders: the same jobs (list everything, describe many) done five ways.

Each name states the transport and the parser:

* ``sdk[requests, etree+Xml2Dict]`` - Tencent's ``cos-python-sdk-v5``. It
  sends with ``requests`` and parses with ``xml.etree.ElementTree`` turned
  into dicts by its own ``Xml2Dict`` (then ``str()`` and ``eval()``: see
  ``qcloud_cos.cos_comm.xml_to_dict``). It has no paging: the listing
  follows ``NextToken`` by hand on one thread; describes run on a thread pool
  as wide as the others' concurrency.
* ``floor[httpx, xmltodict.parse]`` / ``floor[aiohttp, xmltodict.parse]`` -
  the least a client can do: a bare loop that signs each request (the
  library's own ``sign_v5``), sends it, reads the body, ``xmltodict.parse``-s
  it (the client's parser, called as the client calls it: ``xml_attribs=False``,
  one ``JobsDetail`` read as a list of one) and follows ``NextToken``. No
  records, no retries, no validation.
* ``ci_async[httpx]`` - :class:`ci_async.Session` with its default transport
  (httpx's own ``AsyncHTTPTransport``).
* ``ci_async[aiohttp]`` - the same with ``transport=ci_async.AiohttpTransport()``.

The ci_async contenders parse however the library does (``xmltodict.parse``).

Every function returns what it got: a count and a digest of the job ids in
order, so the harness can check that all contenders saw the same jobs, in the
same order, before it reports any timing.

Third-party clients are imported inside the functions that use them, so a
worker process holds only its own contender's modules (the size of the heap
changes how long a full garbage collection pass stalls the event loop).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import itertools
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs
import httpx

import ci_async
from ci_async._signing import sign_v5
from ci_async._wire import format_time, parse_time

LIST_PATH = "/inventorytriggerjob"

SDK = "sdk[requests, etree+Xml2Dict]"
FLOOR_HTTPX = "floor[httpx, xmltodict.parse]"
FLOOR_AIOHTTP = "floor[aiohttp, xmltodict.parse]"
CI_HTTPX = "ci_async[httpx]"
CI_AIOHTTP = "ci_async[aiohttp]"
ALL = (SDK, FLOOR_HTTPX, FLOOR_AIOHTTP, CI_HTTPX, CI_AIOHTTP)
ASYNC = (FLOOR_HTTPX, FLOOR_AIOHTTP, CI_HTTPX, CI_AIOHTTP)


@attrs.frozen
class Target:
    """Where a benchmark server listens, and the key pair it accepts."""

    url: str
    bucket: str
    region: str
    secret_id: str
    secret_key: str

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``."""
        return self.url.removeprefix("http://")

    @property
    def credentials(self) -> ci_async.Credentials:
        """The pair as ci_async credentials."""
        return ci_async.Credentials(self.secret_id, self.secret_key)


def _windows(value: Iterable[Sequence[int]] | None) -> tuple[tuple[int, int], ...] | None:
    """Windows as tuples (they arrive as JSON lists)."""
    return None if value is None else tuple((lo, hi) for lo, hi in value)


@attrs.frozen
class ListOptions:
    """How to list: page size, prefetch, consumer work per page, parallel partitions."""

    size: int = 100
    prefetch: bool = True
    work: float = 0.0
    parallel: int | None = None
    #: ci_async only: ``Session(parse_processes=...)``, list pages parsed in worker processes.
    parse_processes: int = 0
    #: The floor only: list these ``[lo, hi)`` creation seconds at once (see
    #: :func:`list_floor_httpx_windows`); ``None``: one sequential chain.
    windows: tuple[tuple[int, int], ...] | None = attrs.field(default=None, converter=_windows)


@attrs.frozen
class Listed:
    """What one listing (or batch of describes) returned.

    ``first_at`` is the ``time.perf_counter()`` when the first page arrived
    (async listers only; the loop-stall measure starts there).
    """

    count: int
    digest: str
    first_at: float = 0.0


def digest(ids: Iterable[str]) -> str:
    """A short digest of the ids, in order."""
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


# --- transports (shims until the rebuilt core lands) ------------------------------------------


def aiohttp_transport() -> httpx.AsyncBaseTransport:
    """``ci_async.AiohttpTransport()``: the opt-in aiohttp transport."""
    return ci_async.AiohttpTransport()


def parallel_supported() -> bool:
    """Whether ``Session.list_jobs`` accepts ``parallel=`` (the parallel-listing issue)."""
    return "parallel" in inspect.signature(ci_async.Session.list_jobs).parameters


def session(
    target: Target, transport: httpx.AsyncBaseTransport | None, **options: Any
) -> ci_async.Session:
    """A :class:`ci_async.Session` aimed at ``target``."""
    return ci_async.Session(
        bucket=target.bucket,
        region=target.region,
        credentials=target.credentials,
        endpoint=target.url,
        transport=transport,
        **options,
    )


def ci_transport(name: str) -> httpx.AsyncBaseTransport | None:
    """The transport of ci_async contender ``name`` (``None``: the default, httpx's own)."""
    if name == CI_HTTPX:
        return None
    if name == CI_AIOHTTP:
        return aiohttp_transport()
    msg = f"not a ci_async contender: {name}"
    raise ValueError(msg)


# --- the floors' plumbing ----------------------------------------------------------------------


class FloorSigner:
    """The floors' signing: ``sign_v5`` over ``host`` and the query; key time reused 60 s."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._key_time = ""
        self._until = 0.0

    def headers(self, path: str, params: Sequence[tuple[str, str]]) -> dict[str, str]:
        now = time.time()
        if now >= self._until:
            start = int(now) - 60
            self._key_time = f"{start};{start + 3600}"
            self._until = now + 60
        authorization = sign_v5(
            secret_id=self._target.secret_id,
            secret_key=self._target.secret_key,
            method="GET",
            path=path,
            params=params,
            headers={"host": self._target.host},
            key_time=self._key_time,
        )
        return {"Host": self._target.host, "Authorization": authorization}


def parse(body: bytes) -> dict[str, Any]:
    """The floors' only processing: ``xmltodict.parse``, called as the client calls it."""
    import xmltodict

    document = xmltodict.parse(body, disable_entities=True, xml_attribs=False)
    response: dict[str, Any] = document["Response"] or {}
    details = response.get("JobsDetail")
    if isinstance(details, dict):  # one element: xmltodict gives it alone
        response["JobsDetail"] = [details]
    return response


def _list_params(token: str, size: int) -> list[tuple[str, str]]:
    params = [("size", str(size))]
    if token:
        params.append(("nextToken", token))
    return params


def _plain(options: ListOptions, name: str) -> None:
    if options.work or options.parallel or options.windows or options.parse_processes:
        msg = f"{name} lists sequentially with no consumer work"
        raise ValueError(msg)


# --- listing -------------------------------------------------------------------------------


async def list_ci_async(name: str, target: Target, options: ListOptions) -> Listed:
    """``Session.list_jobs``: job by job, or page by page with ``work`` seconds awaited each."""
    ids: list[str] = []
    first_at = 0.0
    extra: dict[str, Any] = {}
    if options.parallel:
        extra["parallel"] = options.parallel
    processes = {"parse_processes": options.parse_processes} if options.parse_processes else {}
    async with session(target, ci_transport(name), **processes) as ci:
        jobs = ci.list_jobs(page_size=options.size, prefetch=options.prefetch, **extra)
        if options.work:
            async with jobs:
                async for page in jobs.pages():
                    if not first_at:
                        first_at = time.perf_counter()
                    ids.extend(job.job_id for job in page)
                    await asyncio.sleep(options.work)
        else:
            async for job in jobs:
                if not first_at:
                    first_at = time.perf_counter()
                ids.append(job.job_id)
    return Listed(len(ids), digest(ids), first_at)


async def _floor_httpx_chain(
    client: httpx.AsyncClient,
    signer: FloorSigner,
    target: Target,
    size: int,
    filters: Sequence[tuple[str, str]] = (),
) -> AsyncIterator[dict[str, Any]]:
    """The bare loop over ``client``: sign, GET, ``xmltodict.parse``, follow the token."""
    token = ""
    while True:
        params = _list_params(token, size) + list(filters)
        response = await client.get(
            target.url + LIST_PATH,
            params=tuple(params),
            headers=signer.headers(LIST_PATH, params),
        )
        response.raise_for_status()
        page = parse(response.content)
        yield page
        token = page.get("NextToken") or ""
        if not token:
            break


async def _floor_httpx_pages(target: Target, size: int) -> AsyncIterator[dict[str, Any]]:
    """The bare ``httpx.AsyncClient`` loop (:func:`_floor_httpx_chain` on a client of its own)."""
    async with httpx.AsyncClient() as client:
        async for page in _floor_httpx_chain(client, FloorSigner(target), target, size):
            yield page


async def list_floor_httpx(target: Target, options: ListOptions) -> Listed:
    """The bare httpx loop, keeping the ids (over ``options.windows`` at once, if given)."""
    if options.windows:
        return await list_floor_httpx_windows(target, options.windows, options.size)
    _plain(options, FLOOR_HTTPX)
    ids: list[str] = []
    first_at = 0.0
    async for page in _floor_httpx_pages(target, options.size):
        if not first_at:
            first_at = time.perf_counter()
        ids.extend(job["JobId"] for job in page.get("JobsDetail") or ())
    return Listed(len(ids), digest(ids), first_at)


def _second(text: str) -> int:
    return math.floor(parse_time(text).timestamp())  # type: ignore[union-attr]


async def equal_windows(target: Target, parts: int) -> list[tuple[int, int]]:
    """``parts`` windows of creation seconds ``[lo, hi)``, newest first, holding equal shares.

    Found by listing everything first (untimed): knowledge a client listing in
    parallel does not have. The windows cut between seconds, never inside one.
    """
    seconds = [
        _second(job["CreationTime"])
        async for page in _floor_httpx_pages(target, 100)
        for job in page.get("JobsDetail") or ()
    ]
    seconds.sort(reverse=True)
    edges = [seconds[0] + 1]
    for part in range(1, parts):
        edge = seconds[len(seconds) * part // parts]
        if edge < edges[-1]:
            edges.append(edge)
    if seconds[-1] < edges[-1]:
        edges.append(seconds[-1])
    return list(itertools.pairwise(reversed(edges)))[::-1]


async def list_floor_httpx_windows(
    target: Target, windows: Sequence[tuple[int, int]], size: int
) -> Listed:
    """The bare httpx loop over every window at once: the ceiling of a parallel listing.

    One ``NextToken`` chain per window, all in flight together, the ids joined in
    window order. Each window ``[lo, hi)`` asks for ``lo - 1`` to ``hi`` and keeps
    what was created in ``[lo, hi)`` (exact whether the server's bounds are
    inclusive or exclusive), as ``list_jobs(parallel=...)`` does.
    """
    signer = FloorSigner(target)

    async def chain(client: httpx.AsyncClient, lo: int, hi: int) -> list[str]:
        bounds = [
            ("startCreationTime", format_time(datetime.fromtimestamp(lo - 1, timezone.utc))),
            ("endCreationTime", format_time(datetime.fromtimestamp(hi, timezone.utc))),
        ]
        return [
            job["JobId"]
            async for page in _floor_httpx_chain(client, signer, target, size, bounds)
            for job in page.get("JobsDetail") or ()
            if lo <= _second(job["CreationTime"]) < hi
        ]

    async with httpx.AsyncClient() as client:
        chains = await asyncio.gather(*(chain(client, lo, hi) for lo, hi in windows))
    ids = [job_id for chain_ids in chains for job_id in chain_ids]
    return Listed(len(ids), digest(ids))


async def all_ids(target: Target) -> list[str]:
    """Every job id the server holds, in order (the bare httpx loop)."""
    return [
        job["JobId"]
        async for page in _floor_httpx_pages(target, 100)
        for job in page.get("JobsDetail") or ()
    ]


async def list_floor_aiohttp(target: Target, options: ListOptions) -> Listed:
    """The same bare loop over ``aiohttp.ClientSession``."""
    import aiohttp

    _plain(options, FLOOR_AIOHTTP)
    signer = FloorSigner(target)
    ids: list[str] = []
    first_at = 0.0
    token = ""
    async with aiohttp.ClientSession() as client:
        while True:
            params = _list_params(token, options.size)
            async with client.get(
                target.url + LIST_PATH, params=params, headers=signer.headers(LIST_PATH, params)
            ) as response:
                response.raise_for_status()
                body = await response.read()
            page = parse(body)
            if not first_at:
                first_at = time.perf_counter()
            ids.extend(job["JobId"] for job in page.get("JobsDetail") or ())
            token = page.get("NextToken") or ""
            if not token:
                break
    return Listed(len(ids), digest(ids), first_at)


def sdk_client(target: Target, *, pool: int = 10) -> Any:
    """A ``CosS3Client`` aimed at the server (``IP``/``Port``), with a pool of ``pool``."""
    from qcloud_cos import CosConfig, CosS3Client

    host, _, port = target.host.partition(":")
    config = CosConfig(
        Region=target.region,
        SecretId=target.secret_id,
        SecretKey=target.secret_key,
        Scheme="http",
        IP=host,
        Port=int(port),
        PoolConnections=pool,
        PoolMaxSize=pool,
    )
    return CosS3Client(config)


def list_sdk(target: Target, options: ListOptions) -> Listed:
    """``ci_list_inventory_trigger_jobs`` page by page (``Type=''``: all types, as the others)."""
    _plain(options, SDK)
    client = sdk_client(target)
    ids: list[str] = []
    token = ""
    while True:
        page = client.ci_list_inventory_trigger_jobs(
            Bucket=target.bucket, Size=options.size, NextToken=token, Type=""
        )
        ids.extend(job["JobId"] for job in page.get("JobsDetail") or ())
        token = page.get("NextToken") or ""
        if not token:
            break
    return Listed(len(ids), digest(ids))


ASYNC_LISTERS: dict[str, Callable[[Target, ListOptions], Coroutine[Any, Any, Listed]]] = {
    FLOOR_HTTPX: list_floor_httpx,
    FLOOR_AIOHTTP: list_floor_aiohttp,
    CI_HTTPX: lambda target, options: list_ci_async(CI_HTTPX, target, options),
    CI_AIOHTTP: lambda target, options: list_ci_async(CI_AIOHTTP, target, options),
}


# --- describes -----------------------------------------------------------------------------


async def _in_flight(
    ids: Sequence[str], inflight: int, one: Callable[[str], Awaitable[str | None]]
) -> list[str | None]:
    """Run ``one`` over ``ids`` from ``inflight`` tasks; the results in the order of ``ids``."""
    results: list[str | None] = [None] * len(ids)
    pending = iter(range(len(ids)))

    async def worker() -> None:
        for index in pending:
            results[index] = await one(ids[index])

    await asyncio.gather(*(worker() for _ in range(min(inflight, len(ids)))))
    return results


def _described(results: Sequence[str | None]) -> Listed:
    found = [job_id for job_id in results if job_id is not None]
    return Listed(len(found), digest(found))


def _job_id(page: dict[str, Any]) -> str | None:
    jobs = page.get("JobsDetail") or ()
    return str(jobs[0]["JobId"]) if jobs else None


async def describe_ci_async(name: str, target: Target, ids: Sequence[str], inflight: int) -> Listed:
    """``Session.get_jobs(ids, concurrency=inflight)`` with the session's default settings.

    (The session itself bounds what is in flight: 64 requests by default, so
    all of ``inflight`` here; see ``Session(max_connections=)``.)
    """
    async with session(target, ci_transport(name)) as ci:
        lookup = await ci.get_jobs(ids, concurrency=inflight)
    found = [job.job_id for job in lookup.jobs]
    return Listed(len(found), digest(found))


async def describe_floor_httpx(target: Target, ids: Sequence[str], inflight: int) -> Listed:
    """Bare httpx (its own transport, a pool as wide as ``inflight``) from ``inflight`` tasks."""
    signer = FloorSigner(target)
    limits = httpx.Limits(max_connections=inflight, max_keepalive_connections=inflight)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one(job_id: str) -> str | None:
            path = f"{LIST_PATH}/{job_id}"
            response = await client.get(target.url + path, headers=signer.headers(path, ()))
            response.raise_for_status()
            return _job_id(parse(response.content))

        return _described(await _in_flight(ids, inflight, one))


async def describe_floor_aiohttp(target: Target, ids: Sequence[str], inflight: int) -> Listed:
    """Bare aiohttp (a connector as wide as ``inflight``) from ``inflight`` tasks."""
    import aiohttp

    signer = FloorSigner(target)
    connector = aiohttp.TCPConnector(limit=inflight)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def one(job_id: str) -> str | None:
            path = f"{LIST_PATH}/{job_id}"
            async with client.get(target.url + path, headers=signer.headers(path, ())) as response:
                response.raise_for_status()
                body = await response.read()
            return _job_id(parse(body))

        return _described(await _in_flight(ids, inflight, one))


def describe_sdk(target: Target, ids: Sequence[str], inflight: int) -> Listed:
    """``ci_get_inventory_trigger_jobs`` from a pool of ``inflight`` threads."""
    from concurrent.futures import ThreadPoolExecutor

    client = sdk_client(target, pool=inflight)

    def one(job_id: str) -> str | None:
        return _job_id(client.ci_get_inventory_trigger_jobs(Bucket=target.bucket, JobID=job_id))

    with ThreadPoolExecutor(max_workers=inflight) as pool:
        return _described(list(pool.map(one, ids)))


ASYNC_DESCRIBERS: dict[str, Callable[[Target, Sequence[str], int], Coroutine[Any, Any, Listed]]] = {
    FLOOR_HTTPX: describe_floor_httpx,
    FLOOR_AIOHTTP: describe_floor_aiohttp,
    CI_HTTPX: lambda target, ids, n: describe_ci_async(CI_HTTPX, target, ids, n),
    CI_AIOHTTP: lambda target, ids, n: describe_ci_async(CI_AIOHTTP, target, ids, n),
}
