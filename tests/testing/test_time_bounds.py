"""Creation-time bounds, inclusive or exclusive, and one token chain per filter combination."""

from __future__ import annotations

import pytest

from ci_async.testing import Emulator, FakeClock
from ci_async.testing._render import format_time

from ._support import error_code, ids_of, list_pages, parse, send

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000.0
PATH = "/inventorytriggerjob"
SECONDS = 30
PER_SECOND = 3


def make(time_bounds: str) -> Emulator:
    """Three jobs in each of 30 consecutive seconds (ids sort within a second)."""
    emulator = Emulator(clock=FakeClock(start=T0 + 3600), time_bounds=time_bounds)
    for second in range(SECONDS):
        for index in range(PER_SECOND):
            emulator.add_job(job_id=job_id(second, index), creation_time=T0 + second)
    return emulator


def job_id(second: int, index: int) -> str:
    return f"b{second:04d}{index:02d}"


def created_in(seconds: range) -> list[str]:
    """The ids created in those seconds, oldest first."""
    return [job_id(second, index) for second in seconds for index in range(PER_SECOND)]


def window(start: int | None, end: int | None) -> dict[str, str]:
    params = {}
    if start is not None:
        params["startCreationTime"] = format_time(T0 + start)
    if end is not None:
        params["endCreationTime"] = format_time(T0 + end)
    return params


async def listed(emulator: Emulator, params: dict[str, str], size: int = 100) -> list[str]:
    pages = await list_pages(emulator, {**params, "size": str(size), "orderByTime": "Asc"})
    return [job for page in pages for job in page]


@pytest.mark.parametrize(
    ("start", "end", "inclusive", "exclusive"),
    [
        (3, 6, range(3, 7), range(4, 6)),
        (3, None, range(3, SECONDS), range(4, SECONDS)),
        (None, 6, range(7), range(6)),
        (5, 5, range(5, 6), range(0)),
        (5, 6, range(5, 7), range(0)),
        (-10, 0, range(1), range(0)),
        (SECONDS - 1, SECONDS + 10, range(SECONDS - 1, SECONDS), range(0)),
    ],
)
@pytest.mark.parametrize("time_bounds", ["inclusive", "exclusive"])
async def test_bounds(
    time_bounds: str,
    start: int | None,
    end: int | None,
    inclusive: range,
    exclusive: range,
    anyio_backend: str,
) -> None:
    """Jobs created exactly on a bound second are listed (inclusive) or left out (exclusive)."""
    expected = inclusive if time_bounds == "inclusive" else exclusive
    assert created_in(expected) == await listed(make(time_bounds), window(start, end))


@pytest.mark.parametrize("time_bounds", ["inclusive", "exclusive"])
@pytest.mark.parametrize("order", ["Asc", "Desc"])
async def test_pages_split_inside_a_bound_second(
    time_bounds: str, order: str, anyio_backend: str
) -> None:
    """Pages of 2 cut through the seconds of three jobs: every job in the window exactly once."""
    emulator = make(time_bounds)
    pages = await list_pages(emulator, {**window(10, 14), "size": "2", "orderByTime": order})
    seen = [job for page in pages for job in page]
    expected = created_in(range(10, 15) if time_bounds == "inclusive" else range(11, 14))
    assert (expected if order == "Asc" else expected[::-1]) == seen


@pytest.mark.parametrize("time_bounds", ["inclusive", "exclusive"])
async def test_job_id_filter_respects_the_bounds(time_bounds: str, anyio_backend: str) -> None:
    """The jobId filter with a window whose bound is that job's second: kept only when inclusive."""
    params = {**window(7, 9), "jobId": job_id(7, 1)}
    expected = [job_id(7, 1)] if time_bounds == "inclusive" else []
    assert expected == await listed(make(time_bounds), params)


@pytest.mark.parametrize("time_bounds", ["inclusive", "exclusive"])
async def test_interleaved_windows_each_follow_their_own_chain(
    time_bounds: str, anyio_backend: str
) -> None:
    """Adjacent windows paged round-robin (as parallel listers do) cover every job once."""
    emulator = make(time_bounds)
    # Windows that tile the 30 seconds under each rule: [a, a+4] or (a-1, a+5).
    if time_bounds == "inclusive":
        windows = [window(start, start + 4) for start in range(0, SECONDS, 5)]
    else:
        windows = [window(start - 1, start + 5) for start in range(0, SECONDS, 5)]
    tokens: dict[int, str | None] = dict.fromkeys(range(len(windows)), "")
    seen: dict[int, list[str]] = {index: [] for index in tokens}
    while any(token is not None for token in tokens.values()):
        for index, token in tokens.items():
            if token is None:
                continue
            params = {**windows[index], "size": "4", "orderByTime": "Desc"}
            if token:
                params["nextToken"] = token
            response = await send(emulator, "GET", PATH, params=params)
            assert 200 == response.status_code, response.text
            document = parse(response)
            seen[index] += ids_of(document)
            tokens[index] = document["Response"].get("NextToken") or None
    for index, ids in seen.items():
        assert created_in(range(index * 5, index * 5 + 5))[::-1] == ids
    everything = [job for ids in seen.values() for job in ids]
    assert sorted(everything) == [stored.job_id for stored in emulator.jobs]


async def first_token(emulator: Emulator, params: dict[str, str]) -> str:
    response = await send(emulator, "GET", PATH, params={**params, "size": "2"})
    token: str = parse(response)["Response"]["NextToken"]
    return token


@pytest.mark.parametrize(
    "other",
    [
        window(5, 9),
        window(0, 5),
        window(0, None),
        {**window(0, 4), "type": "Job"},
        {**window(0, 4), "states": "Running"},
        {**window(0, 4), "name": "demo"},
        {**window(0, 4), "workflowId": "w1"},
        {**window(0, 4), "jobId": job_id(1, 1)},
    ],
)
async def test_a_token_is_refused_with_other_filters(
    other: dict[str, str], anyio_backend: str
) -> None:
    """A token from the [0, 4] window does not continue another window or filter: 400."""
    emulator = make("inclusive")
    token = await first_token(emulator, window(0, 4))
    response = await send(emulator, "GET", PATH, params={**other, "nextToken": token})
    assert (400, "InvalidArgument") == (response.status_code, error_code(response))
    assert "other filters" in response.text


async def test_a_token_survives_a_new_page_size_and_spelling(anyio_backend: str) -> None:
    """The same filters written differently (+08:00, states order) and another size continue."""
    emulator = make("inclusive")
    params = {**window(0, 4), "states": "Submitted,Running,Success,Failed"}
    response = await send(emulator, "GET", PATH, params={**params, "size": "2"})
    first = parse(response)["Response"]
    respelled = {
        "startCreationTime": params["startCreationTime"].replace("+0800", "+08:00"),
        "endCreationTime": params["endCreationTime"],
        "states": "Failed,Success,Running,Submitted",
        "size": "100",
        "nextToken": first["NextToken"],
    }
    response = await send(emulator, "GET", PATH, params=respelled)
    assert 200 == response.status_code, response.text
    rest = ids_of(parse(response))
    assert created_in(range(5))[::-1] == [detail["JobId"] for detail in first["JobsDetail"]] + rest


def test_time_bounds_option() -> None:
    """The default is inclusive; other values than inclusive/exclusive are refused."""
    assert ("inclusive", "exclusive") == (
        Emulator().time_bounds,
        Emulator(time_bounds="exclusive").time_bounds,
    )
    with pytest.raises(ValueError, match="time_bounds must be"):
        Emulator(time_bounds="half-open")
