"""Decoding cost: ``decode_list`` against ``xmltodict.parse`` alone on a 100-job page.

Target: turning a page into records costs at most 25% more than parsing its
XML with xmltodict (the part no decoder can avoid).

Run ``python benchmarks/bench_decode.py``; import :func:`run` for the figures.
The script always exits 0: it reports PASS/FAIL, it does not gate.
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

import xmltodict

from ci_async._decode import _TIME_CACHE, _jobs, decode_list

TARGET_OVERHEAD = 0.25
_STATES = ["Submitted", "Running", "Success", "Failed", "Pause", "Cancel"]
_TZ = timezone(timedelta(hours=8))


def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S+0800")


def build_page(n: int = 100, *, seed: int = 0) -> bytes:
    """A list answer with ``n`` jobs, mixed types and states, laid out like the service's."""
    rng = random.Random(seed)
    base = datetime(2022, 6, 27, 15, 23, 10, tzinfo=_TZ)
    details = []
    for i in range(n):
        created = base + timedelta(seconds=37 * i + rng.randrange(30))
        state = rng.choice(_STATES)
        started = "-" if state == "Submitted" else _fmt(created + timedelta(seconds=1))
        ended = (
            _fmt(created + timedelta(seconds=rng.randrange(60, 7200)))
            if state in {"Success", "Failed", "Cancel"}
            else "-"
        )
        failed = state == "Failed"
        job_id = f"{'b' if i % 2 else 'j'}{rng.getrandbits(128):032x}"
        common = f"""
      <Code>{"InternalError" if failed else "Success"}</Code>
      <Type>{"Workflow" if i % 2 else "Job"}</Type>
      {"<Message>process failed, please retry</Message>" if failed else "<Message/>"}
      <Name>batch-{i % 7}</Name>
      <JobId>{job_id}</JobId>
      <State>{state}</State>
      <CreationTime>{_fmt(created)}</CreationTime>
      <StartTime>{started}</StartTime>
      <EndTime>{ended}</EndTime>
      <Input>
          <Prefix>input/{i % 5}/</Prefix>
      </Input>"""
        interval = """
          <TimeInterval>
              <Start>2022-02-01T12:00:00+0800</Start>
              <End>2022-05-01T12:00:00+0800</End>
          </TimeInterval>"""
        if i % 2:
            operation = f"""{interval}
          <WorkflowIds>w7476ff3564ee45b7b490d64bccaba6c{i % 3}</WorkflowIds>"""
        else:
            operation = f"""{interval}
          <QueueId>p893bcda225bf4945a378da6662e81a89</QueueId>
          <UserData>this is my inventorytriggerjob {i}</UserData>
          <CallBack>https://www.callback.com/hook</CallBack>
          <JobParam>
              <TemplateId>t1460606b9752148c4ab182f55163ba7cd</TemplateId>
          </JobParam>
          <Output>
              <Region>ap-chongqing</Region>
              <Bucket>test-1234567890</Bucket>
              <Object>output/${{InventoryTriggerJobId}}/out-{i}.mp4</Object>
          </Output>
          <JobLevel>{i % 3}</JobLevel>"""
        details.append(
            f"""  <JobsDetail>{common}
      <Operation>{operation}
      </Operation>
  </JobsDetail>"""
        )
    body = "\n".join(details)
    return (
        "<Response>\n"
        "  <RequestId>NjJiZDU1ZmZfOTBmYTUwNjRfNzdjY18xYQ==</RequestId>\n"
        f"{body}\n"
        "  <NextToken>25</NextToken>\n"
        "</Response>\n"
    ).encode()


def _xmltodict_only(body: bytes) -> object:
    return xmltodict.parse(body, disable_entities=True, force_list={"JobsDetail"})


def run(*, jobs: int = 100, pairs: int = 200, cold: bool = True) -> dict[str, float]:
    """Time both decoders on the same page and return the figures.

    ``xmltodict.parse`` and ``decode_list`` are called in alternation,
    ``pairs`` times each, one call per measurement; the overhead is the
    median of the per-pair ratios, so machine noise (other processes,
    frequency changes) hits both sides alike. The garbage collector is off
    while timing, as in :mod:`timeit`.

    Args:
        jobs: Jobs on the page.
        pairs: Measured (parse, decode) pairs; medians are reported.
        cold: Clear the decoder's time cache before every call, so every
            distinct time on the page is parsed (the realistic case: a real
            listing rarely sees the same page twice).

    Returns:
        ``jobs``, ``bytes``, ``xmltodict_us`` and ``decode_us`` (medians),
        ``records_us`` (their difference), ``records_alone_us`` (records built
        from an already parsed document, median), ``overhead`` (median of the
        per-pair ratios decode/parse, minus 1), ``overhead_min`` (from the
        fastest calls of each) and ``target``.
    """
    body = build_page(jobs)
    assert len(decode_list(body).jobs) == jobs
    response = _xmltodict_only(body)["Response"]  # type: ignore[index]

    def decode() -> object:
        if cold:
            _TIME_CACHE.clear()
        return decode_list(body)

    def parse() -> object:
        return _xmltodict_only(body)

    def records() -> object:
        if cold:
            _TIME_CACHE.clear()
        return _jobs(response)

    clock = time.perf_counter
    parse_us: list[float] = []
    decode_us: list[float] = []
    records_us: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for func in (parse, decode, records):  # warm up
            func()
        for _ in range(pairs):
            start = clock()
            parse()
            middle = clock()
            decode()
            end = clock()
            records()
            last = clock()
            parse_us.append((middle - start) * 1e6)
            decode_us.append((end - middle) * 1e6)
            records_us.append((last - end) * 1e6)
    finally:
        if gc_was_enabled:
            gc.enable()
    parse_median = statistics.median(parse_us)
    decode_median = statistics.median(decode_us)
    return {
        "jobs": float(jobs),
        "bytes": float(len(body)),
        "xmltodict_us": parse_median,
        "decode_us": decode_median,
        "records_us": decode_median - parse_median,
        "records_alone_us": statistics.median(records_us),
        "overhead": statistics.median(d / p for d, p in zip(decode_us, parse_us, strict=True)) - 1,
        "overhead_min": min(decode_us) / min(parse_us) - 1,
        "target": TARGET_OVERHEAD,
    }


def _report(label: str, figures: dict[str, float]) -> None:
    verdict = "PASS" if figures["overhead"] <= figures["target"] else "FAIL"
    print(
        f"{label}: {int(figures['jobs'])} jobs, {figures['bytes'] / 1024:.1f} KiB\n"
        f"  xmltodict.parse   {figures['xmltodict_us']:9.1f} us\n"
        f"  decode_list       {figures['decode_us']:9.1f} us"
        f"  (records {figures['records_us']:.1f} us,"
        f" {figures['records_us'] / figures['jobs']:.2f} us/job)\n"
        f"  records alone     {figures['records_alone_us']:9.1f} us"
        f"  ({figures['records_alone_us'] / figures['jobs']:.2f} us/job,"
        f" {figures['records_alone_us'] / figures['xmltodict_us']:.1%} of parsing)\n"
        f"  overhead          {figures['overhead']:9.1%}"
        f"  (fastest calls: {figures['overhead_min']:.1%})"
        f"  (target <= {figures['target']:.0%})  {verdict}"
    )


def main() -> int:
    print(f"Python {sys.version.split()[0]}")
    _report("every time parsed (cold cache)", run())
    _report("times cached (same page again)", run(cold=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
