"""Listing: every filter, both orders, page sizes and tokens (raw HTTP, in process)."""

from __future__ import annotations

import pytest

from ci_async.testing import Emulator, FakeClock
from ci_async.testing._render import format_time

from ._support import error_code, ids_of, list_pages, parse, send

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000.0
PATH = "/inventorytriggerjob"


@pytest.fixture(name="emulator")
def fixture_emulator() -> Emulator:
    """Twelve jobs one hour apart: even ones Workflow, odd ones Job, in mixed states."""
    emulator = Emulator(clock=FakeClock(start=T0 + 20 * 3600))
    states = ["Running", "Success", "Failed", "Submitted", "Pause", "Cancel"]
    for index in range(12):
        emulator.add_job(
            job_id=f"b{index:032x}",
            type="Workflow" if index % 2 == 0 else "Job",
            name="nightly" if index < 4 else f"job-{index}",
            state=states[index % 6],
            creation_time=T0 + index * 3600,
            workflow_ids=["w-special"] if index in (2, 8) else None,
        )
    return emulator


def ids(*indexes: int) -> list[str]:
    return [f"b{index:032x}" for index in indexes]


async def listed(emulator: Emulator, **params: str) -> list[str]:
    response = await send(emulator, "GET", PATH, params=params)
    assert 200 == response.status_code, response.text
    return ids_of(parse(response))


async def test_default_order_is_newest_first(emulator: Emulator, anyio_backend: str) -> None:
    """Without orderByTime the newest job comes first, ten per page."""
    assert ids(11, 10, 9, 8, 7, 6, 5, 4, 3, 2) == await listed(emulator)


async def test_ascending_order(emulator: Emulator, anyio_backend: str) -> None:
    """orderByTime=Asc lists the oldest first."""
    assert ids(0, 1, 2) == await listed(emulator, orderByTime="Asc", size="3")


async def test_explicit_descending_order(emulator: Emulator, anyio_backend: str) -> None:
    """orderByTime=Desc is the default order."""
    assert ids(11, 10) == await listed(emulator, orderByTime="Desc", size="2")


@pytest.mark.parametrize(("job_type", "parity"), [("Workflow", 0), ("Job", 1)])
async def test_type_filter(
    emulator: Emulator, job_type: str, parity: int, anyio_backend: str
) -> None:
    """The type filter keeps only jobs of that type."""
    expected = ids(*[index for index in range(11, -1, -1) if index % 2 == parity])
    assert expected == await listed(emulator, type=job_type, size="100")


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ("Running", [6, 0]),
        ("Failed,Pause", [10, 8, 4, 2]),
        ("Submitted", [9, 3]),
        ("Cancel", [11, 5]),
        ("Success", [7, 1]),
        ("All", list(range(11, -1, -1))),
        ("All,Running", list(range(11, -1, -1))),
    ],
)
async def test_states_filter(
    emulator: Emulator, states: str, expected: list[int], anyio_backend: str
) -> None:
    """The states filter is a comma list; All means every state."""
    assert ids(*expected) == await listed(emulator, states=states, size="100")


async def test_states_follow_the_clock(anyio_backend: str) -> None:
    """A job leaves the Running filter when the clock passes its end."""
    emulator = Emulator()
    stored = emulator.add_job(start_after=5, run_for=60, outcome="Success")
    emulator.advance(10)
    assert [stored.job_id] == await listed(emulator, states="Running")
    emulator.advance(60)
    assert [] == await listed(emulator, states="Running")
    assert [stored.job_id] == await listed(emulator, states="Success")


async def test_creation_time_range_is_inclusive(emulator: Emulator, anyio_backend: str) -> None:
    """The startCreationTime and endCreationTime bounds are included their bounds."""
    params = {
        "startCreationTime": format_time(T0 + 3 * 3600),
        "endCreationTime": format_time(T0 + 5 * 3600),
    }
    assert ids(5, 4, 3) == await listed(emulator, **params)


async def test_start_creation_time_alone(emulator: Emulator, anyio_backend: str) -> None:
    """A startCreationTime alone keeps the newer jobs."""
    assert ids(10, 11) == await listed(
        emulator, startCreationTime=format_time(T0 + 10 * 3600), orderByTime="Asc"
    )


async def test_end_creation_time_alone(emulator: Emulator, anyio_backend: str) -> None:
    """An endCreationTime alone keeps the older jobs."""
    assert ids(1, 0) == await listed(emulator, endCreationTime=format_time(T0 + 3600))


async def test_time_with_colon_offset(emulator: Emulator, anyio_backend: str) -> None:
    """An offset written +08:00 is understood too."""
    text = format_time(T0 + 3600).replace("+0800", "+08:00")
    assert ids(1, 0) == await listed(emulator, endCreationTime=text)


async def test_workflow_id_filter(emulator: Emulator, anyio_backend: str) -> None:
    """The workflowId filter keeps the jobs that workflow triggered."""
    assert ids(8, 2) == await listed(emulator, workflowId="w-special")


async def test_job_id_filter(emulator: Emulator, anyio_backend: str) -> None:
    """The jobId filter keeps that one job."""
    assert ids(4) == await listed(emulator, jobId=ids(4)[0])


async def test_job_id_filter_with_other_filters(emulator: Emulator, anyio_backend: str) -> None:
    """The jobId filter combines with the other filters."""
    assert [] == await listed(emulator, jobId=ids(4)[0], type="Job")


async def test_name_filter(emulator: Emulator, anyio_backend: str) -> None:
    """The name filter keeps jobs with exactly that name."""
    assert ids(3, 2, 1, 0) == await listed(emulator, name="nightly")


async def test_filters_combine(emulator: Emulator, anyio_backend: str) -> None:
    """Several filters all apply."""
    assert ids(2) == await listed(emulator, name="nightly", type="Workflow", states="Failed")


async def test_empty_values_count_as_absent(emulator: Emulator, anyio_backend: str) -> None:
    """The official SDK sends nextToken=, workflowId= and jobId= empty."""
    assert ids(11, 10) == await listed(
        emulator, size="2", nextToken="", workflowId="", jobId="", states=""
    )


async def test_parameter_names_ignore_case(emulator: Emulator, anyio_backend: str) -> None:
    """'States' (as one documentation page spells it) works like 'states'."""
    assert ids(6, 0) == await listed(emulator, States="Running")


@pytest.mark.parametrize("count", [0, 1, 5, 6, 11])
async def test_page_boundaries(count: int, anyio_backend: str) -> None:
    """Pages hold size jobs; NextToken only when more follow (none for exactly size)."""
    emulator = Emulator()
    for index in range(count):
        emulator.add_job(creation_time=T0 + index)
    pages = await list_pages(emulator, {"size": "5"})
    expected_sizes = {0: [0], 1: [1], 5: [5], 6: [5, 1], 11: [5, 5, 1]}[count]
    assert expected_sizes == [len(page) for page in pages]


async def test_pages_together_list_every_job_once(anyio_backend: str) -> None:
    """Following NextToken yields all jobs in order, none twice."""
    emulator = Emulator(seed=5)
    emulator.generate(237)
    pages = await list_pages(emulator, {"size": "20", "orderByTime": "Asc"})
    listed_ids = [job_id for page in pages for job_id in page]
    assert [stored.job_id for stored in emulator.jobs] == listed_ids


async def test_filtered_pages_list_every_match_once(anyio_backend: str) -> None:
    """Paging through a filtered listing yields exactly the matches."""
    emulator = Emulator(seed=6)
    emulator.generate(300)
    now = emulator.now()
    expected = [
        stored.job_id
        for stored in reversed(emulator.jobs)
        if stored.type == "Job" and stored.state_at(now) in ("Success", "Failed")
    ]
    pages = await list_pages(emulator, {"size": "7", "type": "Job", "states": "Success,Failed"})
    assert expected == [job_id for page in pages for job_id in page]


async def test_no_token_on_the_last_page(emulator: Emulator, anyio_backend: str) -> None:
    """The last page has no NextToken element at all (by default)."""
    response = await send(emulator, "GET", PATH, params={"size": "100"})
    assert "NextToken" not in parse(response)["Response"]


async def test_empty_token_on_the_last_page_when_asked(anyio_backend: str) -> None:
    """empty_last_token=True writes <NextToken/> on the last page."""
    emulator = Emulator(empty_last_token=True)
    response = await send(emulator, "GET", PATH)
    assert b"<NextToken/>" in response.content


async def test_token_is_stable_while_jobs_are_created(anyio_backend: str) -> None:
    """Jobs created between pages neither shift a Desc listing nor repeat a job."""
    emulator = Emulator()
    for index in range(9):
        emulator.add_job(creation_time=T0 + index)
    seen: list[str] = []
    token = ""
    while True:
        params = {"size": "2", **({"nextToken": token} if token else {})}
        document = parse(await send(emulator, "GET", PATH, params=params))
        seen += ids_of(document)
        emulator.add_job(creation_time=emulator.now())  # newer than everything listed
        token = document["Response"].get("NextToken") or ""
        if not token:
            break
    original = [stored.job_id for stored in emulator.jobs if stored.creation_time < T0 + 9]
    assert list(reversed(original)) == seen


async def test_ascending_listing_reaches_jobs_created_meanwhile(anyio_backend: str) -> None:
    """An Asc listing picks up jobs created while it runs, each exactly once."""
    emulator = Emulator()
    for index in range(4):
        emulator.add_job(creation_time=T0 + index)
    first = parse(await send(emulator, "GET", PATH, params={"size": "3", "orderByTime": "Asc"}))
    late = emulator.add_job(creation_time=emulator.now())
    token = first["Response"]["NextToken"]
    rest = parse(
        await send(
            emulator, "GET", PATH, params={"size": "3", "orderByTime": "Asc", "nextToken": token}
        )
    )
    assert [*ids_of(first), *ids_of(rest)] == [stored.job_id for stored in emulator.jobs]
    assert late.job_id == ids_of(rest)[-1]


@pytest.mark.parametrize(
    "params",
    [
        {"size": "0"},
        {"size": "101"},
        {"size": "-1"},
        {"size": "ten"},
        {"orderByTime": "desc"},
        {"type": "workflow"},
        {"states": "Running,Done"},
        {"states": "All,Nope"},
        {"startCreationTime": "2022-06-27 15:23:10"},
        {"endCreationTime": "yesterday"},
        {"nextToken": "25"},
    ],
)
async def test_bad_values_are_invalid_arguments(
    emulator: Emulator, params: dict[str, str], anyio_backend: str
) -> None:
    """Out-of-range or malformed values get 400 InvalidArgument."""
    response = await send(emulator, "GET", PATH, params=params)
    assert (400, "InvalidArgument") == (response.status_code, error_code(response))


async def test_size_limits_are_accepted(emulator: Emulator, anyio_backend: str) -> None:
    """size=1 and size=100 are both valid."""
    assert 1 == len(await listed(emulator, size="1"))
    assert 12 == len(await listed(emulator, size="100"))


async def test_token_from_the_other_order_is_invalid(
    emulator: Emulator, anyio_backend: str
) -> None:
    """A Desc token does not continue an Asc listing."""
    first = parse(await send(emulator, "GET", PATH, params={"size": "2"}))
    token = first["Response"]["NextToken"]
    response = await send(emulator, "GET", PATH, params={"nextToken": token, "orderByTime": "Asc"})
    assert (400, "InvalidArgument") == (response.status_code, error_code(response))


async def test_prerendered_pages_match_rendered_ones(anyio_backend: str) -> None:
    """prerender=True serves the same jobs (the cached page is reused)."""
    plain, cached = (
        Emulator(seed=8, clock=FakeClock(T0)),
        Emulator(seed=8, clock=FakeClock(T0), prerender=True),
    )
    plain.generate(120, seed=1)
    cached.generate(120, seed=1)
    expected = await list_pages(plain, {"size": "50"})
    assert expected == await list_pages(cached, {"size": "50"})
    assert expected == await list_pages(cached, {"size": "50"})


async def test_prerendered_pages_see_new_jobs(anyio_backend: str) -> None:
    """A change to the store invalidates cached pages."""
    emulator = Emulator(prerender=True)
    await listed(emulator)
    stored = emulator.add_job()
    assert [stored.job_id] == await listed(emulator)
