"""The contenders: the same two jobs (list everything, describe many) done four ways.

* ``ci_async`` — the library with its default settings.
* ``floor-httpx`` / ``floor-aiohttp`` — the least a client can do: a bare
  loop that signs, sends, reads and ``xmltodict.parse``-s each answer and
  follows ``NextToken``; no records, no retries, no validation.
* ``sdk`` — Tencent's ``cos-python-sdk-v5``: listing follows ``NextToken`` by
  hand (the SDK has no paging); describes run on a thread pool as wide as the
  async contenders' concurrency.

Every function returns what it got (a count, and with ``verify=True`` a digest
of the job ids in order), so the harness can check that all contenders saw the
same jobs before it reports any timing.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import attrs
import httpx
import xmltodict

import ci_async
from ci_async._signing import sign_v5

LIST_PATH = "/inventorytriggerjob"


@attrs.frozen
class Target:
    """Where the benchmark emulator listens, and the key pair it accepts."""

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


@attrs.frozen
class Listed:
    """What one listing returned: the number of jobs and, when asked, a digest of their ids."""

    count: int
    digest: str | None = None


def _digest(ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


class FloorSigner:
    """The floors' signing: the v5 signature over ``host`` and the query, key time reused 60 s."""

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


def _parse(body: bytes) -> dict[str, Any]:
    """The floors' only processing: the same xmltodict call the library makes."""
    document = xmltodict.parse(body, disable_entities=True, force_list={"JobsDetail"})
    response: dict[str, Any] = document["Response"]
    return response


def _list_params(token: str, size: int) -> list[tuple[str, str]]:
    params = [("size", str(size))]
    if token:
        params.append(("nextToken", token))
    return params


# --- listing -------------------------------------------------------------------------------


async def list_ci_async(target: Target, *, size: int = 100, verify: bool = False) -> Listed:
    """``Session.list_jobs`` with default settings (prefetch on, aiohttp transport)."""
    count = 0
    ids: list[str] = []
    async with ci_async.Session(
        target.bucket, target.region, endpoint=target.url, credentials=target.credentials
    ) as session:
        async for job in session.list_jobs(page_size=size):
            count += 1
            if verify:
                ids.append(job.job_id)
    return Listed(count, _digest(ids) if verify else None)


async def list_floor_httpx(target: Target, *, size: int = 100, verify: bool = False) -> Listed:
    """A bare ``httpx.AsyncClient`` loop: sign, GET, ``xmltodict.parse``, follow the token."""
    signer = FloorSigner(target)
    count = 0
    ids: list[str] = []
    token = ""
    async with httpx.AsyncClient() as client:
        while True:
            params = _list_params(token, size)
            response = await client.get(
                target.url + LIST_PATH,
                params=tuple(params),
                headers=signer.headers(LIST_PATH, params),
            )
            response.raise_for_status()
            page = _parse(response.content)
            jobs = page.get("JobsDetail") or ()
            count += len(jobs)
            if verify:
                ids.extend(job["JobId"] for job in jobs)
            token = page.get("NextToken") or ""
            if not token:
                break
    return Listed(count, _digest(ids) if verify else None)


async def list_floor_aiohttp(target: Target, *, size: int = 100, verify: bool = False) -> Listed:
    """The same bare loop over ``aiohttp.ClientSession``."""
    signer = FloorSigner(target)
    count = 0
    ids: list[str] = []
    token = ""
    async with aiohttp.ClientSession() as session:
        while True:
            params = _list_params(token, size)
            async with session.get(
                target.url + LIST_PATH, params=params, headers=signer.headers(LIST_PATH, params)
            ) as response:
                response.raise_for_status()
                body = await response.read()
            page = _parse(body)
            jobs = page.get("JobsDetail") or ()
            count += len(jobs)
            if verify:
                ids.extend(job["JobId"] for job in jobs)
            token = page.get("NextToken") or ""
            if not token:
                break
    return Listed(count, _digest(ids) if verify else None)


def sdk_client(target: Target, *, pool: int = 10) -> Any:
    """A ``CosS3Client`` aimed at the emulator (``IP``/``Port``), with a pool of ``pool``."""
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


def list_sdk(target: Target, *, size: int = 100, verify: bool = False) -> Listed:
    """``ci_list_inventory_trigger_jobs`` page by page (``Type=''``: all types, as the others)."""
    client = sdk_client(target)
    count = 0
    ids: list[str] = []
    token = ""
    while True:
        page = client.ci_list_inventory_trigger_jobs(
            Bucket=target.bucket, Size=size, NextToken=token, Type=""
        )
        jobs = page.get("JobsDetail") or ()
        count += len(jobs)
        if verify:
            ids.extend(job["JobId"] for job in jobs)
        token = page.get("NextToken") or ""
        if not token:
            break
    return Listed(count, _digest(ids) if verify else None)


# --- describes -----------------------------------------------------------------------------


async def _in_flight(
    ids: Sequence[str], inflight: int, one: Callable[[str], Awaitable[bool]]
) -> int:
    """Run ``one`` over ``ids`` with ``inflight`` workers; return how many returned True."""
    pending: Iterator[str] = iter(ids)
    found = 0

    async def worker() -> None:
        nonlocal found
        for job_id in pending:
            if await one(job_id):
                found += 1

    await asyncio.gather(*(worker() for _ in range(inflight)))
    return found


def _described(page: dict[str, Any], job_id: str) -> bool:
    jobs = page.get("JobsDetail") or ()
    return any(job.get("JobId") == job_id for job in jobs)


async def describe_ci_async(target: Target, ids: Sequence[str], inflight: int) -> int:
    """``Session.get_job`` from ``inflight`` tasks, default settings."""
    async with ci_async.Session(
        target.bucket, target.region, endpoint=target.url, credentials=target.credentials
    ) as session:

        async def one(job_id: str) -> bool:
            return (await session.get_job(job_id)).job_id == job_id

        return await _in_flight(ids, inflight, one)


async def describe_floor_httpx(target: Target, ids: Sequence[str], inflight: int) -> int:
    """Bare httpx (its own transport, default pool) from ``inflight`` tasks."""
    signer = FloorSigner(target)
    async with httpx.AsyncClient() as client:

        async def one(job_id: str) -> bool:
            path = f"{LIST_PATH}/{job_id}"
            response = await client.get(target.url + path, headers=signer.headers(path, ()))
            response.raise_for_status()
            return _described(_parse(response.content), job_id)

        return await _in_flight(ids, inflight, one)


async def describe_floor_aiohttp(target: Target, ids: Sequence[str], inflight: int) -> int:
    """Bare aiohttp (a connector as wide as ``inflight``) from ``inflight`` tasks."""
    signer = FloorSigner(target)
    connector = aiohttp.TCPConnector(limit=inflight)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(job_id: str) -> bool:
            path = f"{LIST_PATH}/{job_id}"
            async with session.get(target.url + path, headers=signer.headers(path, ())) as response:
                response.raise_for_status()
                body = await response.read()
            return _described(_parse(body), job_id)

        return await _in_flight(ids, inflight, one)


def describe_sdk(target: Target, ids: Sequence[str], inflight: int) -> int:
    """``ci_get_inventory_trigger_jobs`` from a thread pool of ``inflight`` threads."""
    client = sdk_client(target, pool=inflight)

    def one(job_id: str) -> bool:
        page = client.ci_get_inventory_trigger_jobs(Bucket=target.bucket, JobID=job_id)
        return _described(page, job_id)

    with ThreadPoolExecutor(max_workers=inflight) as pool:
        return sum(pool.map(one, ids))
