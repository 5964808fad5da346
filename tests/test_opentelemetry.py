"""OpenTelemetry's httpx instrumentation sees the session's requests as httpx sends them.

The session sends every attempt through ``httpx.AsyncClient.send`` and httpx's
own transport, so the instrumentation (which wraps
``httpx.AsyncHTTPTransport.handle_async_request``) records one client span per
attempt, retries included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ci_async import Session
from ci_async.testing import Emulator

otel_httpx = pytest.importorskip("opentelemetry.instrumentation.httpx")
trace_sdk = pytest.importorskip("opentelemetry.sdk.trace")
export = pytest.importorskip("opentelemetry.sdk.trace.export")
in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")

pytestmark = pytest.mark.anyio


@pytest.fixture(name="spans")
def fixture_spans() -> Iterator[Any]:
    """The httpx instrumentation on for the test, its spans kept in memory."""
    exporter = in_memory.InMemorySpanExporter()
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(exporter))
    instrumentor = otel_httpx.HTTPXClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()


async def test_a_retried_get_job_gives_one_client_span_per_attempt(spans: Any) -> None:
    """503 then 200: two client spans, with those statuses, for one get_job."""
    emulator = Emulator(seed=4)
    job = emulator.add_job(name="traced")
    emulator.faults.fail_next(1, status=503)
    with emulator.serve() as server:
        async with Session(
            emulator.bucket,
            "ap-beijing",
            endpoint=server.url,
            credentials=emulator.credentials,
        ) as session:
            found = await session.get_job(job.job_id)

    finished = spans.get_finished_spans()
    statuses = [
        span.attributes.get("http.response.status_code", span.attributes.get("http.status_code"))
        for span in finished
    ]
    assert (job.job_id, [503, 200]) == (found.job_id, statuses)
    assert {"CLIENT"} == {span.kind.name for span in finished}
