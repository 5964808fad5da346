"""Helpers for the emulator tests: raw signed httpx requests and XML parsing.

The emulator is tested through raw HTTP, not through the client, so that a bug
in one cannot hide a bug in the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import xmltodict

from ci_async.testing import Emulator

Params = Mapping[str, str] | Sequence[tuple[str, str]] | None


async def send(
    emulator: Emulator,
    method: str,
    path: str,
    *,
    params: Params = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    signed: bool = True,
    timeout: float | None = 5.0,
) -> httpx.Response:
    """One request to the in-process emulator, signed with its own credentials."""
    async with emulator.http_client(timeout=timeout) as client:
        query = params if params is None or isinstance(params, Mapping) else tuple(params)
        request = client.build_request(method, path, params=query, content=content, headers=headers)
        if signed:
            await emulator.signer().sign(request)
        return await client.send(request)


def parse(response: httpx.Response | bytes) -> dict[str, Any]:
    """The XML body as xmltodict's dict, ``JobsDetail``/``NonExistJobIds`` always lists."""
    body = response if isinstance(response, bytes) else response.content
    document: dict[str, Any] = xmltodict.parse(
        body, force_list={"JobsDetail", "NonExistJobIds"}, disable_entities=True
    )
    return document


def ids_of(document: dict[str, Any]) -> list[str]:
    """The job ids of a ``<Response>``, in order."""
    return [detail["JobId"] for detail in document["Response"].get("JobsDetail", [])]


def error_code(response: httpx.Response) -> str:
    """The ``<Error><Code>`` of an error answer."""
    return str(parse(response)["Error"]["Code"])


async def list_pages(
    emulator: Emulator, params: Mapping[str, str] | None = None
) -> list[list[str]]:
    """Follow ``nextToken`` through a listing; the job ids of every page."""
    pages: list[list[str]] = []
    token = ""
    while True:
        query = dict(params or {})
        if token:
            query["nextToken"] = token
        response = await send(emulator, "GET", "/inventorytriggerjob", params=query)
        assert 200 == response.status_code, response.text
        document = parse(response)
        pages.append(ids_of(document))
        token = document["Response"].get("NextToken") or ""
        if not token:
            return pages
        assert len(pages) < 10_000, "the listing never ends"
