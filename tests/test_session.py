"""Session: describe calls, closing, loop affinity, transports and custom signers."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import anyio
import httpx
import pytest
import trio

from ci_async import (
    JobLookup,
    JobNotFoundError,
    ServerError,
    ServiceError,
    Session,
    SessionClosedError,
)
from ci_async.testing import Emulator, EmulatorServer

from ._session_support import (
    BUCKET,
    REGION,
    SECRET,
    CountingSigner,
    ListService,
    Recorder,
    error,
    make_job,
    session_for,
    xml,
)
from ._xml import encode_response

pytestmark = pytest.mark.anyio


class DescribeService:
    """Describes ``j<8 digits>`` ids below ``count``; others are in NonExistJobIds."""

    def __init__(self, count: int = 100) -> None:
        self.count = count

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        job_id = request.url.path.rsplit("/", 1)[1]
        index = int(job_id[1:]) if job_id[1:].isdigit() else math.inf
        if index < self.count:
            return xml(200, encode_response([make_job(int(index))], request_id="rq"))
        return xml(200, encode_response([], request_id="rq", non_exist_ids=[job_id]))


# --- get_job ----------------------------------------------------------------------------


async def test_get_job_returns_the_job() -> None:
    """GET /inventorytriggerjob/<id> is decoded into a Job."""
    recorder = Recorder(DescribeService())
    async with session_for(recorder) as session:
        job = await session.get_job("j00000005")

    assert make_job(5) == job
    assert ["/inventorytriggerjob/j00000005"] == recorder.paths
    assert "GET" == recorder.requests[0].method


async def test_requests_go_to_the_endpoint_and_are_signed() -> None:
    """The request targets the session's endpoint and carries the signer's header."""
    recorder = Recorder(DescribeService())
    async with session_for(recorder, endpoint="http://127.0.0.1:9/prefix") as session:
        await session.get_job("j00000001")

    request = recorder.requests[0]
    assert "http://127.0.0.1:9/prefix/inventorytriggerjob/j00000001" == str(request.url)
    assert SECRET in request.headers["Authorization"]


async def test_a_job_in_non_exist_job_ids_is_not_found() -> None:
    """An id listed in NonExistJobIds raises JobNotFoundError naming it."""
    async with session_for(Recorder(DescribeService(count=0))) as session:
        with pytest.raises(JobNotFoundError) as caught:
            await session.get_job("j00000001")

    assert ("j00000001", "rq") == (caught.value.job_id, caught.value.request_id)


async def test_an_answer_without_jobs_is_not_found() -> None:
    """A 200 with no JobsDetail and no NonExistJobIds raises JobNotFoundError."""

    async def handler(_: httpx.Request) -> httpx.Response:
        return xml(200, encode_response([]))

    async with session_for(Recorder(handler)) as session:
        with pytest.raises(JobNotFoundError):
            await session.get_job("j00000001")


@pytest.mark.parametrize(("status", "code"), [(400, "ResourceNotFound"), (404, "NoSuchJob")])
async def test_not_found_answers_raise_job_not_found(status: int, code: str) -> None:
    """ResourceNotFound (400) and 404 are JobNotFoundError with the id."""

    async def handler(_: httpx.Request) -> httpx.Response:
        return error(status, code)

    async with session_for(Recorder(handler)) as session:
        with pytest.raises(JobNotFoundError) as caught:
            await session.get_job("j00000001")

    assert "j00000001" == caught.value.job_id


async def test_no_such_bucket_is_not_a_missing_job() -> None:
    """404 NoSuchBucket is a plain ServiceError."""

    async def handler(_: httpx.Request) -> httpx.Response:
        return error(404, "NoSuchBucket")

    async with session_for(Recorder(handler)) as session:
        with pytest.raises(ServiceError) as caught:
            await session.get_job("j00000001")

    assert not isinstance(caught.value, JobNotFoundError)


# --- get_jobs ---------------------------------------------------------------------------


async def test_get_jobs_keeps_the_order_asked_and_reports_missing() -> None:
    """Found jobs in the order asked; missing ids in the order asked."""
    async with session_for(Recorder(DescribeService(count=10))) as session:
        lookup = await session.get_jobs(["j00000007", "j00000099", "j00000002", "j00000050"])

    assert JobLookup((make_job(7), make_job(2)), ("j00000099", "j00000050")) == lookup


async def test_get_jobs_looks_up_duplicates_once() -> None:
    """A repeated id is fetched and reported once, where it first appears."""
    recorder = Recorder(DescribeService(count=10))
    async with session_for(recorder) as session:
        lookup = await session.get_jobs(["j00000003", "j00000001", "j00000003", "j00000077"] * 2)

    assert ((make_job(3), make_job(1)), ("j00000077",)) == (lookup.jobs, lookup.missing)
    assert 3 == len(recorder.requests)


async def test_get_jobs_of_nothing_is_empty() -> None:
    """No ids, no requests, an empty lookup."""
    recorder = Recorder(DescribeService())
    async with session_for(recorder) as session:
        assert JobLookup((), ()) == await session.get_jobs([])

    assert [] == recorder.requests


async def test_get_jobs_bounds_concurrency() -> None:
    """No more than `concurrency` requests are in flight at once."""
    service = DescribeService(count=200)

    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.wait_all_tasks_blocked()
        return await service(request)

    recorder = Recorder(slow)
    async with session_for(recorder) as session:
        lookup = await session.get_jobs([f"j{i:08d}" for i in range(100)], concurrency=7)

    assert (100, 7) == (len(lookup.jobs), recorder.max_in_flight)


async def test_get_jobs_propagates_other_errors_and_stops() -> None:
    """An error other than not-found is raised as itself and the rest is cancelled."""
    started = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal started
        started += 1
        if request.url.path.endswith("j00000003"):
            return error(500, "InternalError")
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    async with session_for(Recorder(handler), retry=None) as session:
        with anyio.fail_after(10), pytest.raises(ServerError):
            await session.get_jobs([f"j{i:08d}" for i in range(50)], concurrency=4)

    assert started < 50


async def test_many_concurrent_tasks_share_one_session() -> None:
    """Hundreds of tasks can use one session at once."""
    recorder = Recorder(DescribeService(count=500))
    found: list[str] = []
    async with session_for(recorder) as session:

        async def one(index: int) -> None:
            found.append((await session.get_job(f"j{index:08d}")).job_id)

        async with anyio.create_task_group() as group:
            for index in range(300):
                group.start_soon(one, index)

    assert 300 == len(set(found))


# --- closing ----------------------------------------------------------------------------


async def test_calls_after_close_raise_session_closed() -> None:
    """Every call on a closed session raises SessionClosedError."""
    session = session_for(Recorder(DescribeService()))
    await session.get_job("j00000001")
    await session.aclose()

    with pytest.raises(SessionClosedError):
        await session.get_job("j00000001")
    assert session.closed


async def test_aclose_is_idempotent() -> None:
    """Closing twice is harmless."""
    session = session_for(Recorder(DescribeService()))
    await session.aclose()
    await session.aclose()

    assert session.closed


async def test_a_closed_session_cannot_be_entered() -> None:
    """`async with` on a closed session raises."""
    session = session_for(Recorder(DescribeService()))
    await session.aclose()

    with pytest.raises(SessionClosedError):
        async with session:
            pass


class ClosingTransport(httpx.MockTransport):
    """A mock transport that records whether it was closed."""

    closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_async_with_closes_the_sessions_own_client() -> None:
    """The client the session created (and so its transport) is closed on exit."""
    transport = ClosingTransport(DescribeService())
    async with Session(BUCKET, REGION, signer=CountingSigner(), transport=transport) as session:
        await session.get_job("j00000001")
        assert not transport.closed

    assert transport.closed


async def test_a_user_supplied_client_is_used_and_left_open() -> None:
    """http_client is used as is and not closed by the session."""
    recorder = Recorder(DescribeService())
    async with httpx.AsyncClient(transport=recorder.transport()) as client:
        async with Session(
            BUCKET, REGION, signer=CountingSigner(), http_client=client, retry=None
        ) as session:
            await session.get_job("j00000001")

        assert (False, 1) == (client.is_closed, len(recorder.requests))


# --- loops and transports ---------------------------------------------------------------


def _session() -> Session:
    return session_for(Recorder(DescribeService()))


def test_a_session_is_tied_to_its_first_asyncio_loop() -> None:
    """Using a session from a second asyncio loop raises a clear RuntimeError."""
    session = _session()
    asyncio.run(session.get_job("j00000001"))

    with pytest.raises(RuntimeError, match="another event loop"):
        asyncio.run(session.get_job("j00000001"))
    asyncio.run(session.aclose())


def test_a_session_is_tied_to_its_first_trio_run() -> None:
    """Using a session from a second trio.run raises a clear RuntimeError."""
    session = _session()
    trio.run(session.get_job, "j00000001")

    with pytest.raises(RuntimeError, match="another event loop"):
        trio.run(session.get_job, "j00000001")
    trio.run(session.aclose)


def test_a_session_cannot_move_from_asyncio_to_trio() -> None:
    """A session first used under asyncio refuses trio."""
    session = _session()
    asyncio.run(session.get_job("j00000001"))

    with pytest.raises(RuntimeError, match="another event loop"):
        trio.run(session.get_job, "j00000001")
    trio.run(session.aclose)


async def test_the_default_transport_is_httpx_own_whatever_is_installed(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With aiohttp installed, a default session still sends through httpx.AsyncHTTPTransport."""
    import aiohttp  # noqa: F401 - installed, and so importable: it must not matter

    sent: list[str] = []
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def spy(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return await original(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", spy)
    emulator = Emulator(seed=1)
    job = emulator.add_job(name="x")
    with emulator.serve() as server:
        async with Session(
            BUCKET, REGION, endpoint=server.url, credentials=emulator.credentials
        ) as session:
            await session.get_job(job.job_id)

    assert [f"/inventorytriggerjob/{job.job_id}"] == sent


async def test_an_explicit_transport_is_used() -> None:
    """transport= carries every request."""
    recorder = Recorder(DescribeService())
    async with Session(
        BUCKET, REGION, signer=CountingSigner(), transport=recorder.transport()
    ) as session:
        await session.get_job("j00000001")

    assert 1 == len(recorder.requests)


async def test_requests_carry_the_library_user_agent() -> None:
    """The session's own client sends User-Agent: ci-async/<version>."""
    recorder = Recorder(DescribeService())
    async with session_for(recorder) as session:
        await session.get_job("j00000001")

    assert recorder.requests[0].headers["User-Agent"].startswith("ci-async/")


async def test_the_sessions_own_client_sends_no_cookies_back() -> None:
    """Requests go straight to the transport: a Set-Cookie is not sent back."""

    async def handler(request: httpx.Request) -> httpx.Response:
        response = await DescribeService()(request)
        response.headers["Set-Cookie"] = "tracker=1; Path=/"
        return response

    recorder = Recorder(handler)
    async with session_for(recorder) as session:
        await session.get_job("j00000001")
        await session.get_job("j00000002")

    assert "cookie" not in recorder.requests[1].headers


async def test_a_user_supplied_client_runs_its_hooks() -> None:
    """A http_client's send() is used, so its event hooks see every request."""
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    recorder = Recorder(DescribeService())
    client = httpx.AsyncClient(transport=recorder.transport(), event_hooks={"request": [hook]})
    async with (
        client,
        Session(BUCKET, REGION, signer=CountingSigner(), http_client=client) as session,
    ):
        await session.get_job("j00000001")

    assert ["/inventorytriggerjob/j00000001"] == seen


class SyncSigner:
    """A signer whose ``sign`` is a plain function: it signs, and returns ``None``."""

    def sign(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = "q-sign-algorithm=sha1"


async def test_a_signer_whose_sign_is_not_async_is_named_in_a_type_error() -> None:
    """``sign`` must return an awaitable: a plain one is refused, naming it, with no request."""
    recorder = Recorder(DescribeService())
    async with Session(
        BUCKET,
        REGION,
        signer=SyncSigner(),  # type: ignore[arg-type]
        transport=recorder.transport(),
    ) as session:
        with pytest.raises(TypeError, match=r"SyncSigner\.sign must be a coroutine function"):
            await session.get_job("j00000001")

    assert [] == recorder.requests


async def test_a_user_supplied_clients_defaults_apply_to_every_request() -> None:
    """A http_client's default query parameters, cookies, headers and timeout are all sent."""
    recorder = Recorder(ListService(3))
    client = httpx.AsyncClient(
        transport=recorder.transport(),
        params={"extra": "1"},
        cookies={"kept": "v"},
        headers={"X-Team": "media", "User-Agent": "theirs/2"},
        timeout=httpx.Timeout(7.0, connect=2.0),
    )
    async with (
        client,
        Session(BUCKET, REGION, signer=CountingSigner(), http_client=client) as session,
    ):
        assert 3 == len([job async for job in session.list_jobs(page_size=10)])

    request = recorder.requests[0]
    assert [("extra", "1"), ("size", "10")] == sorted(request.url.params.multi_items())
    assert "kept=v" == request.headers["Cookie"]
    assert "media" == request.headers["X-Team"]
    assert "theirs/2" == request.headers["User-Agent"]
    assert httpx.Timeout(7.0, connect=2.0).as_dict() == request.extensions["timeout"]


@pytest.mark.parametrize("mode", ["transport", "default"])
async def test_the_sessions_own_requests_are_what_build_request_makes(mode: str) -> None:
    """The session's own clients' requests: as ``AsyncClient.build_request`` makes them.

    The same URL, the same headers (in process, in the same order), the same timeout: the
    session makes them from its clients' defaults rather than through
    ``build_request``, and must add and drop nothing.
    """
    timeout = httpx.Timeout(9.0, pool=1.5)
    recorder = Recorder(ListService(25))
    if mode == "default":
        app = RequestRecorder(recorder)
        async with (
            EmulatorServer(app) as server,
            Session(
                BUCKET,
                REGION,
                endpoint=server.url,
                signer=CountingSigner(),
                timeout=timeout,
                retry=None,
            ) as session,
        ):
            listed = [job async for job in session.list_jobs(page_size=10, states="Failed")]
            url = server.url
    else:
        async with session_for(recorder, timeout=timeout) as session:
            listed = [job async for job in session.list_jobs(page_size=10, states="Failed")]
        url = session.endpoint

    assert 25 == len(listed)
    headers = {"User-Agent": recorder.requests[0].headers["User-Agent"]}
    async with httpx.AsyncClient(headers=headers, timeout=timeout) as reference:
        for sent in recorder.requests:
            # (on a port of its own, the session names the bucket's host itself)
            extra = {"Host": sent.headers["Host"]} if mode == "default" else {}
            built = reference.build_request(
                "GET",
                url + sent.url.path,
                params=[(k, v) for k, v in sent.url.params.multi_items()],
                headers=extra | {"Accept-Encoding": sent.headers["Accept-Encoding"]},
            )
            assert str(built.url) == str(sent.url)
            unsigned = [(k, v) for k, v in sent.headers.multi_items() if k != "authorization"]
            if mode == "transport":
                assert list(built.headers.multi_items()) == unsigned
                assert built.extensions == sent.extensions
            else:  # (the order the server saw them in is the server's)
                assert sorted(built.headers.multi_items()) == sorted(unsigned)


class RequestRecorder:
    """An ASGI app handing each request, as received, to a :class:`Recorder`."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = scope["query_string"].decode()
        request = httpx.Request(
            scope["method"],
            f"http://{scope['server'][0]}:{scope['server'][1]}{scope['raw_path'].decode()}"
            + (f"?{query}" if query else ""),
            headers=[(k.decode(), v.decode()) for k, v in scope["headers"]],
        )
        response = await self.recorder(request)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(b"content-type", b"application/xml")],
            }
        )
        await send({"type": "http.response.body", "body": response.content})


@pytest.mark.parametrize("mode", ["transport", "http_client", "default"])
async def test_only_a_transport_passed_in_is_handed_requests_directly(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``transport=``: each request goes to the transport, not through ``AsyncClient.send``.

    The session's own client over it would add nothing but its cost; its own
    default clients (proxies from the environment) and a ``http_client``
    (hooks, mounts) still send.
    """
    sends: list[str] = []
    send = httpx.AsyncClient.send

    async def counted(client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        sends.append(request.url.path)
        return await send(client, request, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", counted)
    recorder = Recorder(DescribeService())
    if mode == "default":
        app = ProxyRecorder()  # (a plain server here: no proxy is set)
        async with (
            EmulatorServer(app) as server,
            Session(
                BUCKET, REGION, endpoint=server.url, signer=CountingSigner(), retry=None
            ) as session,
        ):
            job = await session.get_job("j00000001")
        reached = app.targets
    elif mode == "http_client":
        async with (
            httpx.AsyncClient(transport=recorder.transport()) as client,
            Session(BUCKET, REGION, signer=CountingSigner(), http_client=client) as session,
        ):
            job = await session.get_job("j00000001")
        reached = recorder.paths
    else:
        async with session_for(recorder) as session:
            job = await session.get_job("j00000001")
        reached = recorder.paths

    assert "j00000001" == job.job_id
    assert ["/inventorytriggerjob/j00000001"] == reached
    expected = [] if mode == "transport" else ["/inventorytriggerjob/j00000001"]
    assert expected == sends


class ProxyRecorder:
    """An ASGI app standing in for an HTTP proxy: records request targets, answers a describe."""

    def __init__(self) -> None:
        self.targets: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.targets.append(scope["raw_path"].decode())
        body = encode_response([make_job(1)], request_id="via-proxy")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
async def test_an_environment_proxy_applies_under_asyncio_and_trio(
    variable: str, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    """HTTP(S)_PROXY reaches the default transport the same way whatever the event loop."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    proxy = ProxyRecorder()
    async with EmulatorServer(proxy) as server:
        monkeypatch.setenv(variable, server.url)
        async with Session(
            BUCKET, REGION, endpoint="http://127.0.0.1:9", signer=CountingSigner()
        ) as session:
            job = await session.get_job("j00000001")

    assert "j00000001" == job.job_id
    assert ["http://127.0.0.1:9/inventorytriggerjob/j00000001"] == proxy.targets


async def test_no_proxy_bypasses_the_environment_proxy(
    monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    """NO_PROXY naming the endpoint's host sends directly."""
    recorder = ProxyRecorder()
    async with EmulatorServer(recorder) as target:
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with Session(BUCKET, REGION, endpoint=target.url, signer=CountingSigner()) as session:
            await session.get_job("j00000001")

    assert ["/inventorytriggerjob/j00000001"] == recorder.targets


# --- signers ----------------------------------------------------------------------------


async def test_a_remote_signer_works() -> None:
    """A signer delegating to another task over a memory stream signs every request."""
    requests_out, requests_in = anyio.create_memory_object_stream[
        tuple[str, anyio.abc.ObjectSendStream[str]]
    ]()

    async def signing_service() -> None:
        async with requests_in:
            async for canonical, reply in requests_in:
                async with reply:
                    await reply.send(f"remote-signature-for {canonical}")

    class RemoteSigner:
        async def sign(self, request: httpx.Request) -> None:
            reply_out, reply_in = anyio.create_memory_object_stream[str](1)
            await requests_out.send((f"{request.method} {request.url.path}", reply_out))
            async with reply_in:
                request.headers["Authorization"] = await reply_in.receive()

    recorder = Recorder(DescribeService())
    async with anyio.create_task_group() as group:
        group.start_soon(signing_service)
        async with Session(
            BUCKET, REGION, signer=RemoteSigner(), transport=recorder.transport()
        ) as session:
            lookup = await session.get_jobs(["j00000001", "j00000002"])
        await requests_out.aclose()

    assert 2 == len(lookup.jobs)
    assert {
        "remote-signature-for GET /inventorytriggerjob/j00000001",
        "remote-signature-for GET /inventorytriggerjob/j00000002",
    } == {request.headers["Authorization"] for request in recorder.requests}


def test_repr_shows_no_secret() -> None:
    """Repr names the bucket, region and endpoint only."""
    from ci_async import Credentials

    session = Session(BUCKET, REGION, credentials=Credentials("AKIDxxxx", SECRET))

    assert SECRET not in repr(session)
    assert BUCKET in repr(session)
