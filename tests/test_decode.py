"""XML decoding and encoding: samples, quirks, hostile input, round trips, times."""

from __future__ import annotations

import contextlib
import json
import pickle
import string
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ci_async import (
    Job,
    JobInput,
    JobPage,
    JobParam,
    JobState,
    JobType,
    Operation,
    Output,
    ResponseParseError,
    TimeInterval,
)
from ci_async._decode import (
    MAX_DEPTH,
    MAX_HINT,
    decode_describe,
    decode_job_response,
    decode_list,
    next_token_hint,
)
from ci_async._wire import format_time, parse_time

from ._xml import (
    CreateRequest,
    decode_create_request,
    encode_create_request,
    encode_job,
    encode_response,
)

DATA = Path(__file__).parent / "data"
CST = timezone(timedelta(hours=8))
REQUEST_ID = "NjJiZDU1ZmZfOTBmYTUwNjRfNzdjY18xYQ=="
DECODERS: list[Callable[[bytes], object]] = [
    decode_list,
    decode_describe,
    decode_job_response,
    decode_create_request,
]

WORKFLOW_JOB = Job(
    job_id="b3deffea2f84911ec9cb15254008618d9",
    type=JobType.WORKFLOW,
    name="demo",
    state=JobState.RUNNING,
    code="Success",
    message=None,
    creation_time=datetime(2022, 6, 27, 15, 23, 10, tzinfo=CST),
    start_time=None,
    end_time=None,
    input=JobInput(prefix="input", manifest=None, url_file=None, object=None),
    operation=Operation(
        time_interval=TimeInterval(
            start=datetime(2022, 2, 1, 12, 0, 0, tzinfo=CST),
            end=datetime(2022, 5, 1, 12, 0, 0, tzinfo=CST),
        ),
        workflow_ids=("w7476ff3564ee45b7b490d64bccaba6cc",),
        queue_id=None,
        user_data=None,
        callback=None,
        job_param=None,
        output=None,
        job_level=None,
        tag=None,
    ),
)

JOB_JOB = Job(
    job_id="be8f65004eb8511eaaed4f377124a303c",
    type=JobType.JOB,
    name="demo",
    state=JobState.RUNNING,
    code="Success",
    message=None,
    creation_time=datetime(2022, 6, 27, 15, 23, 10, tzinfo=CST),
    start_time=datetime(2022, 6, 27, 15, 23, 11, tzinfo=CST),
    end_time=datetime(2022, 6, 27, 15, 25, 10, tzinfo=CST),
    input=JobInput(prefix="input", manifest=None, url_file=None, object=None),
    operation=Operation(
        time_interval=TimeInterval(
            start=datetime(2022, 2, 1, 12, 0, 0, tzinfo=CST),
            end=datetime(2022, 5, 1, 12, 0, 0, tzinfo=CST),
        ),
        workflow_ids=(),
        queue_id="p893bcda225bf4945a378da6662e81a89",
        user_data="this is my inventorytriggerjob",
        callback="https://www.callback.com",
        job_param=JobParam(template_id="t1460606b9752148c4ab182f55163ba7cd"),
        output=Output(
            region="ap-chongqing",
            bucket="test-1234567890",
            object="output/${InventoryTriggerJobId}/out.mp4",
        ),
        job_level=0,
        tag=None,
    ),
)


def _read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _response(details: str, extra: str = "") -> bytes:
    return f"<Response><RequestId>r</RequestId>{details}{extra}</Response>".encode()


def _detail(**overrides: str | None) -> str:
    """A minimal JobsDetail; keyword values replace (or with None drop) child elements."""
    children: dict[str, str | None] = {
        "JobId": "<JobId>j1</JobId>",
        "Type": "<Type>Job</Type>",
        "State": "<State>Running</State>",
        "CreationTime": "<CreationTime>2022-06-27T15:23:10+0800</CreationTime>",
    }
    children.update(overrides)
    return "<JobsDetail>" + "".join(v for v in children.values() if v is not None) + "</JobsDetail>"


def _one(details: str) -> Job:
    return decode_job_response(_response(details))


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize("name", ["describe_workflow_job.xml", "describe_workflow_job_zh.xml"])
def test_describe_sample(name: str) -> None:
    """The describe samples give the Workflow job, no missing ids, and the request id."""
    assert ((WORKFLOW_JOB,), (), REQUEST_ID) == decode_describe(_read(name))


def test_list_sample() -> None:
    """The list sample gives both jobs (every field), NextToken 25 and the request id."""
    assert JobPage((WORKFLOW_JOB, JOB_JOB), "25", REQUEST_ID) == decode_list(
        _read("list_two_jobs.xml")
    )


def test_sample_times_are_aware_at_plus_eight() -> None:
    """Sample times carry the +08:00 offset."""
    job = decode_list(_read("list_two_jobs.xml")).jobs[1]
    times = [job.creation_time, job.start_time, job.end_time]
    assert [timedelta(hours=8)] * 3 == [t.utcoffset() for t in times if t is not None]


def test_sample_raw_keeps_the_detail_mapping() -> None:
    """Job.raw is the decoded JobsDetail mapping, unknown to no field."""
    job = decode_list(_read("list_two_jobs.xml")).jobs[1]
    assert ("0", "ap-chongqing") == (
        job.raw["Operation"]["JobLevel"],
        job.raw["Operation"]["Output"]["Region"],
    )


def test_describe_not_found_sample() -> None:
    """A describe answer without JobsDetail lists the missing id."""
    assert ((), ("b00000000000000000000000000000000",), "NjJiZDU1ZmZfOTBmYTUwNjRfNzdjY18xYg==") == (
        decode_describe(_read("describe_not_found.xml"))
    )


def test_last_page_sample() -> None:
    """An empty last page has no jobs and no token."""
    assert JobPage((), None, "NjJiZDU1ZmZfOTBmYTUwNjRfNzdjY18xYw==") == decode_list(
        _read("list_last_page_empty.xml")
    )


def test_create_answer_is_one_job() -> None:
    """decode_job_response returns the single JobsDetail."""
    assert WORKFLOW_JOB == decode_job_response(_read("describe_workflow_job.xml"))


@pytest.mark.parametrize("details", ["", _detail() + _detail()])
def test_create_answer_needs_exactly_one_job(details: str) -> None:
    """decode_job_response refuses zero or several JobsDetail."""
    with pytest.raises(ResponseParseError, match="exactly one"):
        decode_job_response(_response(details))


# --------------------------------------------------------------------------- quirks


def test_empty_message_is_none() -> None:
    """<Message/> decodes to None."""
    assert _one(_detail(Message="<Message/>")).message is None


def test_message_text() -> None:
    """A non-empty Message is kept."""
    assert "failed to read" == _one(_detail(Message="<Message>failed to read</Message>")).message


def test_absent_containers_are_empty_records() -> None:
    """No Input/Operation gives empty JobInput/Operation; no times gives None."""
    job = _one(_detail(CreationTime=None))
    assert (JobInput(), Operation(), None) == (job.input, job.operation, job.creation_time)


def test_empty_containers_are_empty_records() -> None:
    """<Input/> and <Operation/> decode like absent ones."""
    job = _one(_detail(Input="<Input/>", Operation="<Operation/>"))
    assert (JobInput(), Operation()) == (job.input, job.operation)


def test_all_input_kinds() -> None:
    """Prefix, Manifest, UrlFile and Object all decode."""
    xml = (
        "<Input><Prefix>p/</Prefix><Manifest>m.json</Manifest>"
        "<UrlFile>u.txt</UrlFile><Object>o.mp4</Object></Input>"
    )
    assert JobInput("p/", "m.json", "u.txt", "o.mp4") == _one(_detail(Input=xml)).input


def test_empty_time_interval_is_none() -> None:
    """<TimeInterval/> decodes to no interval."""
    operation = _one(_detail(Operation="<Operation><TimeInterval/></Operation>")).operation
    assert operation.time_interval is None


def test_time_interval_half_open() -> None:
    """A TimeInterval with only Start has end None."""
    xml = (
        "<Operation><TimeInterval><Start>2022-02-01T12:00:00+0800</Start>"
        "</TimeInterval></Operation>"
    )
    interval = TimeInterval(datetime(2022, 2, 1, 12, tzinfo=CST), None)
    assert interval == _one(_detail(Operation=xml)).operation.time_interval


def test_dash_times_are_none() -> None:
    """'-' (not yet) decodes to None."""
    job = _one(_detail(StartTime="<StartTime>-</StartTime>", EndTime="<EndTime>-</EndTime>"))
    assert (None, None) == (job.start_time, job.end_time)


def test_workflow_ids_comma_separated() -> None:
    """Comma-separated WorkflowIds become a tuple (spaces and empty parts dropped)."""
    xml = "<Operation><WorkflowIds>w1, w2,,w3</WorkflowIds></Operation>"
    assert ("w1", "w2", "w3") == _one(_detail(Operation=xml)).operation.workflow_ids


def test_workflow_ids_repeated_elements() -> None:
    """Repeated WorkflowIds elements are joined."""
    xml = "<Operation><WorkflowIds>w1</WorkflowIds><WorkflowIds>w2,w3</WorkflowIds></Operation>"
    assert ("w1", "w2", "w3") == _one(_detail(Operation=xml)).operation.workflow_ids


def test_job_level_integer() -> None:
    """JobLevel decodes to an int."""
    xml = "<Operation><JobLevel>2</JobLevel></Operation>"
    assert 2 == _one(_detail(Operation=xml)).operation.job_level


@pytest.mark.parametrize("value", ["high", "1.5", "9" * 5000])
def test_job_level_not_integer_is_an_error(value: str) -> None:
    """A JobLevel that is not an integer is a ResponseParseError, not a silent None."""
    xml = f"<Operation><JobLevel>{value}</JobLevel></Operation>"
    with pytest.raises(ResponseParseError, match="JobLevel"):
        _one(_detail(Operation=xml))


def test_tag_decodes() -> None:
    """Operation/Tag decodes."""
    xml = "<Operation><Tag>Transcode</Tag></Operation>"
    assert "Transcode" == _one(_detail(Operation=xml)).operation.tag


def test_unknown_state_and_type_kept_as_strings() -> None:
    """States and types this version does not know stay plain strings."""
    job = _one(_detail(State="<State>Archived</State>", Type="<Type>Pipeline</Type>"))
    assert ("Archived", "Pipeline", False, False) == (
        job.state,
        job.type,
        isinstance(job.state, JobState),
        isinstance(job.type, JobType),
    )


@pytest.mark.parametrize("state", list(JobState))
def test_known_states_are_members(state: JobState) -> None:
    """Every documented state decodes to its JobState member."""
    assert state is _one(_detail(State=f"<State>{state.value}</State>")).state


def test_non_exist_ids_comma_separated() -> None:
    """NonExistJobIds text is split on commas."""
    body = _response("", "<NonExistJobIds>a, b,c</NonExistJobIds>")
    assert ("a", "b", "c") == decode_describe(body)[1]


def test_non_exist_ids_repeated_elements() -> None:
    """Repeated NonExistJobIds elements are all kept, in order."""
    body = _response("", "<NonExistJobIds>a</NonExistJobIds><NonExistJobIds>b</NonExistJobIds>")
    assert ("a", "b") == decode_describe(body)[1]


def test_an_empty_jobs_detail_is_no_job() -> None:
    """``<JobsDetail/>`` (how some writers put an empty list) holds no job, on any page."""
    jobs, missing, _ = decode_describe(
        _response("<JobsDetail/>", "<NonExistJobIds>x</NonExistJobIds>")
    )
    assert ((), ("x",)) == (jobs, missing)
    page = decode_list(_response("<JobsDetail/>" + _detail() + "<JobsDetail></JobsDetail>"))
    assert ["j1"] == [job.job_id for job in page.jobs]


def test_describe_found_and_missing() -> None:
    """A describe answer can hold jobs and missing ids together."""
    jobs, missing, _ = decode_describe(_response(_detail(), "<NonExistJobIds>x</NonExistJobIds>"))
    assert (["j1"], ("x",)) == ([job.job_id for job in jobs], missing)


@pytest.mark.parametrize("token", ["", "<NextToken/>", "<NextToken>  </NextToken>"])
def test_next_token_absent_or_empty_is_none(token: str) -> None:
    """An absent or empty NextToken means the last page."""
    assert decode_list(_response(_detail(), token)).next_token is None


def test_one_jobs_detail_is_a_one_job_page() -> None:
    """A single JobsDetail (a dict to xmltodict) still gives a one-job page."""
    assert ["j1"] == [job.job_id for job in decode_list(_response(_detail()))]


def test_empty_response_root() -> None:
    """<Response/> is an empty last page."""
    assert JobPage((), None, None) == decode_list(b"<Response/>")


def test_attributes_are_ignored() -> None:
    """Attributes on elements (and a namespace on the root) do not get in the way."""
    body = (
        b'<Response xmlns="http://ci.example/doc"><RequestId>r</RequestId>'
        b'<JobsDetail id="1"><JobId lang="en">j1</JobId><Type>Job</Type>'
        b'<State a="b">Success</State><Message kind="x"/></JobsDetail></Response>'
    )
    job = decode_list(body).jobs[0]
    assert ("j1", JobState.SUCCESS, None) == (job.job_id, job.state, job.message)
    # Nor are they kept: raw holds the text alone.
    assert ("j1", "Success", None) == (job.raw["JobId"], job.raw["State"], job.raw["Message"])


def test_unknown_elements_are_kept_in_raw() -> None:
    """Elements this version does not know are ignored by the record but kept in raw."""
    job = _one(_detail(Progress="<Progress>42</Progress>"))
    assert "42" == job.raw["Progress"]


def test_str_body_accepted() -> None:
    """A str body decodes like bytes."""
    assert ["j1"] == [job.job_id for job in decode_list(_response(_detail()).decode())]


def test_xml_declaration_and_encoding() -> None:
    """An XML declaration with an encoding expat knows is honoured."""
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        + _response(_detail(Name="<Name>café</Name>")).decode()
    )
    assert "café" == decode_list(body.encode("latin-1")).jobs[0].name


def test_utf16_body() -> None:
    """A UTF-16 body with a byte order mark decodes."""
    body = _response(_detail(Name="<Name>演示</Name>")).decode().encode("utf-16")
    assert "演示" == decode_list(body).jobs[0].name


def test_unsupported_encoding_is_a_parse_error() -> None:
    """A multi-byte encoding expat cannot read is a ResponseParseError."""
    body = '<?xml version="1.0" encoding="GBK"?>' + _response(_detail()).decode()
    with pytest.raises(ResponseParseError):
        decode_list(body.encode("gbk"))


def test_huge_text_decodes() -> None:
    """A very long text value is decoded, not refused."""
    name = "n" * 1_000_000
    assert len(name) == len(_one(_detail(Name=f"<Name>{name}</Name>")).name or "")


# --------------------------------------------------------------------------- bad shapes


@pytest.mark.parametrize(
    ("details", "where"),
    [
        (_detail(Input="<Input>input</Input>"), "Input"),
        (_detail(Operation="<Operation>op</Operation>"), "Operation"),
        (
            _detail(Operation="<Operation><TimeInterval>x</TimeInterval></Operation>"),
            "TimeInterval",
        ),
        (_detail(Operation="<Operation><JobParam>t</JobParam></Operation>"), "JobParam"),
        (_detail(Operation="<Operation><Output>o</Output></Operation>"), "Output"),
        (_detail(State="<State><Value>Running</Value></State>"), "State"),
        (_detail(JobId="<JobId><Id>j</Id></JobId>"), "JobId"),
        (_detail(State="<State>Running</State><State>Failed</State>"), "State"),
        (_detail(Input="<Input/><Input/>"), "Input"),
        (_detail(JobId=None), "JobId"),
        (_detail(JobId="<JobId/>"), "JobId"),
        (_detail(Type=None), "Type"),
        (_detail(State=None), "State"),
        ("<JobsDetail>text</JobsDetail>", "JobsDetail"),
        (_detail(CreationTime="<CreationTime>yesterday</CreationTime>"), "CreationTime"),
        (
            _detail(CreationTime="<CreationTime>2022-13-27T15:23:10+0800</CreationTime>"),
            "CreationTime",
        ),
    ],
    ids=lambda value: value if len(value) < 20 else None,
)
def test_bad_shapes_are_parse_errors(details: str, where: str) -> None:
    """Wrong types, repeated singletons and missing ids raise ResponseParseError naming the node."""
    with pytest.raises(ResponseParseError, match=where):
        decode_list(_response(details))


@pytest.mark.parametrize(
    "body",
    [b"<Response>text</Response>", b"<Response><RequestId><X/></RequestId></Response>"],
)
def test_bad_response_shapes(body: bytes) -> None:
    """A text root or a container RequestId is a ResponseParseError."""
    with pytest.raises(ResponseParseError):
        decode_list(body)


def test_error_root_on_200_is_a_parse_error() -> None:
    """An <Error> document where a <Response> is expected names the error code."""
    with pytest.raises(ResponseParseError, match=r"<Error> \(code 'AccessDenied'\)"):
        decode_list(_read("error_access_denied.xml"))


@pytest.mark.parametrize("body", [b"", b"   ", b"not xml", b"<Response>", b"\xff\xfe\x00<"])
def test_not_xml_is_a_parse_error(body: bytes) -> None:
    """Empty, non-XML and unterminated bodies raise ResponseParseError."""
    with pytest.raises(ResponseParseError):
        decode_list(body)


def test_parse_error_carries_a_snippet() -> None:
    """A parse error shows the start of the body."""
    with pytest.raises(ResponseParseError) as info:
        decode_list(_read("error_proxy.html"))
    assert info.value.snippet.startswith("<html> <head><title>502 Bad Gateway")


def test_shape_error_carries_a_snippet() -> None:
    """A shape error shows the start of the body too."""
    with pytest.raises(ResponseParseError) as info:
        decode_list(_response("<JobsDetail>text</JobsDetail>"))
    assert info.value.snippet.startswith("<Response><RequestId>r</RequestId>")


def _billion_laughs(levels: int = 10) -> bytes:
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)]
    return (
        '<?xml version="1.0"?><!DOCTYPE lolz [' + "".join(entities) + "]>"
        f"<Response><RequestId>&lol{levels - 1};</RequestId></Response>"
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        _billion_laughs(),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<Response><RequestId>&x;</RequestId></Response>"
        ),
        _billion_laughs().decode().encode("utf-16"),
        b'<!DOCTYPE r SYSTEM "http://127.0.0.1:1/evil.dtd"><Response/>',
        b"<!DOCTYPE Response><Response/>",
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p">%p;]><Response/>',
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "billion-laughs-utf16",
        "external-dtd",
        "plain-doctype",
        "parameter-entity",
    ],
)
def test_dtds_are_refused(body: bytes) -> None:
    """Any DOCTYPE (entity bombs, external entities and DTDs) is refused before expansion."""
    with pytest.raises(ResponseParseError, match="DOCTYPE"):
        decode_list(body)


def test_deep_nesting_is_refused() -> None:
    """Nesting deeper than MAX_DEPTH elements is refused: kept, it would break pickle and ==."""
    depth = 20_000
    deep = "<X>" * depth + "</X>" * depth
    with pytest.raises(ResponseParseError, match="nested deeper than 64 elements"):
        _one(_detail(Extra=deep))


@pytest.mark.parametrize(("depth", "refused"), [(62, False), (63, True)])
def test_nesting_up_to_the_limit_is_kept_whole(depth: int, refused: bool) -> None:
    """Up to MAX_DEPTH elements deep (Response > JobsDetail > X...): kept whole, and it pickles."""
    assert 64 == MAX_DEPTH
    deep = "<X>" * depth + "v" + "</X>" * depth
    if refused:
        with pytest.raises(ResponseParseError, match="nested deeper"):
            _one(_detail(Extra=deep))
        return
    job = _one(_detail(Extra=deep))
    assert job == pickle.loads(pickle.dumps(job))
    assert "v" in json.dumps(job.raw)


def test_deep_nesting_where_text_expected() -> None:
    """Deep nesting in a text field is a ResponseParseError."""
    deep = "<X>" * 20_000 + "</X>" * 20_000
    with pytest.raises(ResponseParseError, match="Name"):
        _one(_detail(Name=f"<Name>{deep}</Name>"))


@pytest.mark.parametrize(
    "name", ["list_two_jobs.xml", "describe_workflow_job.xml", "describe_not_found.xml"]
)
def test_truncated_at_every_position(name: str) -> None:
    """A sample cut at any byte decodes or raises ResponseParseError, nothing else."""
    body = _read(name).rstrip()
    outcomes = set()
    for end in range(len(body)):
        for decode in DECODERS:
            try:
                decode(body[:end])
            except ResponseParseError:
                outcomes.add("error")
            else:
                outcomes.add("ok")  # pragma: no cover -- a prefix is never a whole document
    assert {"error"} == outcomes


# --------------------------------------------------------------- hypothesis: hostile input

_NAMES = [
    "Response", "Request", "Error", "RequestId", "JobsDetail", "NextToken", "NonExistJobIds",
    "Code", "Message", "Type", "Name", "JobId", "State", "CreationTime", "StartTime", "EndTime",
    "Input", "Prefix", "Manifest", "UrlFile", "Object", "Operation", "TimeInterval", "Start", "End",
    "WorkflowIds", "QueueId", "UserData", "CallBack", "JobParam", "TemplateId", "Output",
    "Region", "Bucket", "JobLevel", "Tag",
]  # fmt: skip
_TEXTS = st.one_of(
    st.sampled_from(
        ["", "-", "Running", "Job", "Workflow", "0", "12", "x,y", "2022-06-27T15:23:10+0800",
         "2022-02-30T12:00:00+0800", "2022-06-27T15:23:10+2400", "&amp;", "&lt;x&gt;", "&#0;"]
    ),
    st.text(alphabet=string.printable.replace("<", "").replace("&", ""), max_size=30),
)  # fmt: skip


def _xml_tree() -> st.SearchStrategy[str]:
    def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        attribute = st.sampled_from(["", ' a="1"', ' xmlns="urn:x"', " b='&lt;'"])
        body = st.one_of(_TEXTS, st.lists(children, max_size=6).map("".join))
        return st.builds(
            lambda name, attr, content: f"<{name}{attr}>{content}</{name}>",
            st.sampled_from(_NAMES),
            attribute,
            body,
        )

    leaf = st.builds(lambda name: f"<{name}/>", st.sampled_from(_NAMES))
    return st.recursive(leaf, element, max_leaves=40)


@given(st.binary(max_size=2000))
@settings(max_examples=500, deadline=None)
def test_arbitrary_bytes_only_parse_errors(body: bytes) -> None:
    """Any bytes decode or raise ResponseParseError, for every decoder."""
    for decode in DECODERS:
        with contextlib.suppress(ResponseParseError):
            decode(body)


@given(_xml_tree(), st.sampled_from(["Response", "Request", "Error", "JobsDetail"]))
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_documents_only_parse_errors(tree: str, root: str) -> None:
    """Random documents built from the service's element names never crash a decoder."""
    body = f"<{root}>{tree}</{root}>".encode()
    for decode in DECODERS:
        with contextlib.suppress(ResponseParseError):
            decode(body)


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_sample_only_parse_errors(data: st.DataObject) -> None:
    """The list sample with a slice replaced by junk or another slice never crashes a decoder."""
    body = _read("list_two_jobs.xml")
    start = data.draw(st.integers(0, len(body)))
    end = data.draw(st.integers(start, min(len(body), start + 200)))
    junk = data.draw(
        st.binary(max_size=40)
        | st.sampled_from([b"<JobsDetail>", b"</Operation>", b"<Input>x</Input>", b"<State/>"])
        | st.just(body[data.draw(st.integers(0, len(body))) :][:100])
    )
    mutated = body[:start] + junk + body[end:]
    for decode in DECODERS:
        with contextlib.suppress(ResponseParseError):
            decode(mutated)


# --------------------------------------------------------------------------- encoding

_SAFE_TEXT = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=["Cs", "Cc"], include_characters="\t\n\r"
    ),
    min_size=1,
    max_size=30,
).filter(lambda s: s == s.strip() and s != "-" and "\ufffe" not in s and "\uffff" not in s)
_IDS = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=20)
_TIMES = st.datetimes(
    min_value=datetime(1000, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m))),
).map(lambda dt: dt.replace(microsecond=0))
_OPT_TEXT = st.none() | _SAFE_TEXT


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


_INPUTS = st.builds(JobInput, _OPT_TEXT, _OPT_TEXT, _OPT_TEXT, _OPT_TEXT)
_OPERATIONS = st.builds(
    Operation,
    time_interval=_maybe(
        st.builds(TimeInterval, _maybe(_TIMES), _maybe(_TIMES)).filter(
            lambda t: t.start is not None or t.end is not None
        )
    ),
    workflow_ids=st.lists(_IDS, max_size=3).map(tuple),
    queue_id=_OPT_TEXT,
    user_data=_OPT_TEXT,
    callback=_OPT_TEXT,
    job_param=_maybe(st.builds(JobParam, _SAFE_TEXT)),
    output=_maybe(
        st.builds(Output, _OPT_TEXT, _OPT_TEXT, _OPT_TEXT).filter(lambda o: o != Output())
    ),
    job_level=_maybe(st.integers(-(10**6), 10**6)),
    tag=_OPT_TEXT,
)
_JOBS = st.builds(
    Job,
    job_id=_IDS,
    type=st.sampled_from([*JobType, "Pipeline"]),
    name=_OPT_TEXT,
    state=st.sampled_from([*JobState, "Archived"]),
    code=_OPT_TEXT,
    message=_OPT_TEXT,
    creation_time=_maybe(_TIMES),
    start_time=_maybe(_TIMES),
    end_time=_maybe(_TIMES),
    input=_INPUTS,
    operation=_OPERATIONS,
)


def test_encode_create_request_layout() -> None:
    """The create body uses the service's element names, in order, with escaped text."""
    body = encode_create_request(
        name="a<b>&c",
        type=JobType.JOB,
        input=JobInput(prefix="in/"),
        operation=Operation(
            time_interval=TimeInterval(
                datetime(2022, 2, 1, 12, tzinfo=CST), datetime(2022, 2, 1, 6, tzinfo=timezone.utc)
            ),
            workflow_ids=("w1", "w2"),
            queue_id="q",
            user_data="u",
            callback="https://cb",
            job_param=JobParam("t"),
            output=Output("ap-chongqing", "b-1", "o"),
            job_level=1,
            tag="Transcode",
        ),
    )
    # The order of the create page of an independent job (Tag after CallBack), and
    # times in Beijing time, as every example there and as the list bounds are sent.
    assert (
        b"<Request><Name>a&lt;b&gt;&amp;c</Name><Type>Job</Type><Input><Prefix>in/</Prefix></Input>"
        b"<Operation><TimeInterval><Start>2022-02-01T12:00:00+0800</Start>"
        b"<End>2022-02-01T14:00:00+0800</End></TimeInterval>"
        b"<WorkflowIds>w1,w2</WorkflowIds><QueueId>q</QueueId><UserData>u</UserData>"
        b"<CallBack>https://cb</CallBack><Tag>Transcode</Tag>"
        b"<JobParam><TemplateId>t</TemplateId></JobParam>"
        b"<Output><Region>ap-chongqing</Region><Bucket>b-1</Bucket><Object>o</Object></Output>"
        b"<JobLevel>1</JobLevel></Operation></Request>"
    ) == body


def test_encode_keeps_carriage_returns() -> None:
    """A CR in text is written as a character reference so it survives parsing."""
    body = encode_create_request(
        name="a\r\nb", type="Workflow", input=JobInput(), operation=Operation()
    )
    assert "a\r\nb" == decode_create_request(body).name


@pytest.mark.parametrize("text", ["nul\x00", "bell\x07", "\ufffe"])
def test_encode_refuses_characters_xml_cannot_carry(text: str) -> None:
    """Control characters XML 1.0 cannot carry are a ValueError, not a broken body."""
    with pytest.raises(ValueError, match="UserData"):
        encode_create_request(
            name="n", type="Job", input=JobInput(), operation=Operation(user_data=text)
        )


def test_a_time_interval_refuses_naive_times() -> None:
    """A naive datetime never gets into a TimeInterval (so never onto the wire)."""
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        TimeInterval(datetime(2022, 1, 1), None)


@given(
    name=_SAFE_TEXT,
    job_type=st.sampled_from([*JobType, "Pipeline"]),
    job_input=_INPUTS,
    operation=_OPERATIONS,
)
@settings(max_examples=300, deadline=None)
def test_create_request_round_trip(
    name: str, job_type: JobType | str, job_input: JobInput, operation: Operation
) -> None:
    """encode_create_request then decode_create_request gives back equal records."""
    body = encode_create_request(name=name, type=job_type, input=job_input, operation=operation)
    assert CreateRequest(name, job_type, job_input, operation) == decode_create_request(body)


@given(jobs=st.lists(_JOBS, max_size=4), token=_maybe(_IDS), request_id=_maybe(_IDS))
@settings(max_examples=150, deadline=None)
def test_response_round_trip(jobs: list[Job], token: str | None, request_id: str | None) -> None:
    """encode_response then decode_list gives back the same page."""
    body = encode_response(jobs, request_id=request_id, next_token=token)
    assert JobPage(tuple(jobs), token, request_id) == decode_list(body)


@given(jobs=st.lists(_JOBS, max_size=3), missing=st.lists(_IDS, max_size=3))
@settings(max_examples=100, deadline=None)
def test_describe_round_trip(jobs: list[Job], missing: list[str]) -> None:
    """encode_response with missing ids then decode_describe gives back jobs and ids."""
    body = encode_response(jobs, request_id="r", non_exist_ids=missing)
    assert (tuple(jobs), tuple(missing), "r") == decode_describe(body)


def test_encode_job_writes_unset_times_as_dash() -> None:
    """Unset times are written '-' as the service does."""
    xml = encode_job(Job(job_id="j", type="Job", state="Submitted"))
    assert "<StartTime>-</StartTime>" in xml


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-06-27T15:23:10+0800", datetime(2022, 6, 27, 15, 23, 10, tzinfo=CST)),
        ("2022-06-27T15:23:10+08:00", datetime(2022, 6, 27, 15, 23, 10, tzinfo=CST)),
        ("2022-06-27T07:23:10Z", datetime(2022, 6, 27, 7, 23, 10, tzinfo=timezone.utc)),
        (
            "2022-06-27T15:23:10.5-0330",
            datetime(2022, 6, 27, 15, 23, 10, 500000, tzinfo=timezone(-timedelta(hours=3.5))),
        ),
        ("-", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_time(text: str | None, expected: datetime | None) -> None:
    """Wire times (and their variants) parse to aware datetimes; '-' and empty to None."""
    value = parse_time(text)
    assert (expected, None if expected is None else expected.utcoffset()) == (
        value,
        None if value is None else value.utcoffset(),
    )


@pytest.mark.parametrize(
    "text",
    [
        "2022-06-27 15:23:10+0800",
        "2022-06-27T15:23:10",
        "2022-06-27T15:23+0800",
        "2022-06-27T24:00:00+0800",
        "2022-06-27T15:60:10+0800",
        "2022-06-27T15:23:10+0875",
        "2022-06-27T15:23:10+2400",
        "2022-02-29T15:23:10+0800",
        "２０２２-06-27T15:23:10+0800",
        "2022-06-27T15:23:10+0800 ",
        "0000-01-01T00:00:00+0000",
    ],
)
def test_parse_time_rejects(text: str) -> None:
    """Anything but the wire layout (or an impossible date) is a ValueError."""
    with pytest.raises(ValueError, match=r"2022-06-27T15:23:10\+0800|day|year|range"):
        parse_time(text)


@pytest.mark.parametrize(
    ("dt", "text"),
    [
        (datetime(2022, 6, 27, 15, 23, 10, tzinfo=CST), "2022-06-27T15:23:10+0800"),
        (datetime(2022, 6, 27, 15, 23, 10, 999, tzinfo=timezone.utc), "2022-06-27T15:23:10+0000"),
        (
            datetime(2022, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "2022-01-02T03:04:05+0530",
        ),
        (
            datetime(2022, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=45))),
            "2022-01-02T03:04:05+0545",
        ),
        (
            datetime(99, 1, 2, 3, 4, 5, tzinfo=timezone(-timedelta(hours=9, minutes=30))),
            "0099-01-02T03:04:05-0930",
        ),
    ],
)
def test_format_time(dt: datetime, text: str) -> None:
    """format_time writes the wire layout with the datetime's own offset."""
    assert text == format_time(dt)


def test_format_time_refuses_naive() -> None:
    """A naive datetime is a ValueError."""
    with pytest.raises(ValueError, match="aware"):
        format_time(datetime(2022, 1, 1))


def test_format_time_refuses_second_offsets() -> None:
    """An offset with seconds cannot be written and is a ValueError."""
    with pytest.raises(ValueError, match="minutes"):
        format_time(datetime(2022, 1, 1, tzinfo=timezone(timedelta(seconds=30))))


@given(_TIMES)
@example(datetime(2022, 6, 27, 15, 23, 10, tzinfo=timezone(timedelta(hours=5, minutes=45))))
@example(datetime(2022, 6, 27, 15, 23, 10, tzinfo=timezone(-timedelta(hours=23, minutes=59))))
@settings(max_examples=500, deadline=None)
def test_time_round_trip(dt: datetime) -> None:
    """parse_time(format_time(dt)) gives back dt with its offset."""
    value = parse_time(format_time(dt))
    assert (dt, dt.utcoffset()) == (value, None if value is None else value.utcoffset())


# --------------------------------------------------------------------------- the official SDK


@pytest.fixture(name="sdk_parse", scope="module")
def fixture_sdk_parse() -> Callable[[bytes], dict[str, Any]]:
    """The official SDK's response parsing (xml_to_dict + format_dict), as its CI calls use it."""
    cos_comm = pytest.importorskip("qcloud_cos.cos_comm")

    def parse(body: bytes) -> dict[str, Any]:
        data: dict[str, Any] = cos_comm.xml_to_dict(body)
        cos_comm.format_dict(data, ["JobsDetail"])
        return data

    return parse


@pytest.mark.parametrize(
    "name", ["list_two_jobs.xml", "describe_workflow_job.xml", "describe_workflow_job_zh.xml"]
)
def test_raw_matches_official_sdk_on_samples(
    name: str, sdk_parse: Callable[[bytes], dict[str, Any]]
) -> None:
    """Job.raw is the very mapping the official SDK returns for each JobsDetail."""
    body = _read(name)
    assert sdk_parse(body)["JobsDetail"] == [job.raw for job in decode_list(body).jobs]


@given(jobs=st.lists(_JOBS, min_size=1, max_size=3))
@settings(max_examples=100, deadline=None)
def test_raw_matches_official_sdk(
    jobs: list[Job], sdk_parse: Callable[[bytes], dict[str, Any]]
) -> None:
    """On generated answers too, Job.raw equals the official SDK's JobsDetail dicts."""
    body = encode_response(jobs, request_id="r", next_token="n")
    assert sdk_parse(body)["JobsDetail"] == [job.raw for job in decode_list(body).jobs]


# --- the NextToken hint --------------------------------------------------------------------

LONGEST = "t" * MAX_HINT


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        pytest.param(b"<Response><NextToken>abc</NextToken></Response>", "abc", id="plain"),
        pytest.param(b"<Response><NextToken> abc\n</NextToken></Response>", "abc", id="stripped"),
        pytest.param(b"<Response><JobsDetail/></Response>", None, id="absent"),
        pytest.param(b"<Response><NextToken></NextToken></Response>", None, id="empty"),
        pytest.param(b"<Response><NextToken/></Response>", None, id="self-closed"),
        pytest.param(b"<Response><NextToken>a&amp;b</NextToken></Response>", None, id="entity"),
        pytest.param(b"<R><NextToken>a<![CDATA[b]]></NextToken></R>", None, id="markup"),
        pytest.param(b"<R><NextToken>\xff\xfe</NextToken></R>", None, id="not-utf-8"),
        pytest.param(b"<R><NextToken>abc", None, id="unclosed"),
        pytest.param(
            b"<R><NextToken>one</NextToken><X><![CDATA[<NextToken>two</NextToken>]]></X></R>",
            "two",
            id="the-last-one",
        ),
        pytest.param(
            f"<R><NextToken>{LONGEST}</NextToken></R>".encode(), LONGEST, id="the-longest"
        ),
        pytest.param(f"<R><NextToken>{LONGEST}x</NextToken></R>".encode(), None, id="too-long"),
    ],
)
def test_the_next_token_hint_is_read_off_the_bytes_or_not_at_all(
    body: bytes, hint: str | None
) -> None:
    """The last NextToken element's plain text, up to MAX_HINT characters; else no hint."""
    assert hint == next_token_hint(body)


def test_the_hint_agrees_with_the_decoded_page_on_the_service_s_own_answers() -> None:
    """On the sample answers the hint is the token xmltodict reads."""
    jobs = [Job(job_id=f"j{i:08d}", type=JobType.JOB, state=JobState.RUNNING) for i in range(3)]
    for token in ["abc", "MTIzNDU2Nzg5MA==", "a b c", "日本"]:
        body = encode_response(jobs, next_token=token)
        assert (token, token) == (next_token_hint(body), decode_list(body).next_token)
