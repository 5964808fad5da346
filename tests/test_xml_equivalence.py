"""The decoder's XML step builds exactly the dicts ``xmltodict.parse`` builds.

``ci_async._decode`` turns bytes into dicts with a lean expat handler instead
of calling :func:`xmltodict.parse` (see docs/performance.md: it costs about 40%
of the time). These tests keep xmltodict as the oracle: on the seed samples and
on generated documents (attributes, mixed content, whitespace, repeated and
empty elements, nesting, non-ASCII text) both must give equal results, and
where xmltodict refuses a document the decoder refuses it too.
"""

from __future__ import annotations

from pathlib import Path
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_async import ResponseParseError
from ci_async._decode import _FORCE_LIST, _parse

DATA = Path(__file__).parent / "data"


def oracle(body: bytes) -> object:
    """What xmltodict makes of ``body`` with the decoder's settings."""
    return xmltodict.parse(body, force_list=set(_FORCE_LIST), disable_entities=True)


@pytest.mark.parametrize("sample", sorted(p.name for p in DATA.glob("*.xml")))
def test_seed_samples_match_xmltodict(sample: str) -> None:
    """Every sample response parses to xmltodict's dicts."""
    body = (DATA / sample).read_bytes()
    assert oracle(body) == _parse(body)


NAMES = st.sampled_from(["Response", "JobsDetail", "Job", "Name", "State", "a", "b", "Ä", "x-y"])
TEXT = st.text(
    alphabet=st.characters(
        exclude_categories=["Cs"],
        exclude_characters="\x00\ufffe\uffff",
        max_codepoint=0x2FFF,
    ).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20),
    max_size=12,
)
ATTRS = st.dictionaries(st.sampled_from(["id", "type", "n"]), TEXT, max_size=2)


def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """An element with optional attributes, holding text and children mixed."""

    def render(name: str, attrs: dict[str, str], parts: list[str]) -> str:
        attributes = "".join(f" {key}={quoteattr(value)}" for key, value in attrs.items())
        if not parts:
            return f"<{name}{attributes}/>"
        return f"<{name}{attributes}>{''.join(parts)}</{name}>"

    part = st.one_of(TEXT.map(escape), children)
    return st.builds(render, NAMES, ATTRS, st.lists(part, max_size=4))


DOCUMENTS = st.recursive(
    st.builds(lambda name, text: f"<{name}>{escape(text)}</{name}>", NAMES, TEXT),
    element,
    max_leaves=25,
)


@settings(max_examples=1500, deadline=None)
@given(DOCUMENTS, st.sampled_from(["", '<?xml version="1.0" encoding="UTF-8"?>\n']))
def test_generated_documents_match_xmltodict(document: str, prolog: str) -> None:
    """Generated documents parse to exactly xmltodict's dicts."""
    body = (prolog + document).encode("utf-8")
    assert oracle(body) == _parse(body)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_refuses_what_xmltodict_refuses(body: bytes) -> None:
    """Bytes xmltodict cannot parse give ResponseParseError; bytes it can give its dicts."""
    try:
        expected = oracle(body)
    except expat.ExpatError:
        with pytest.raises(ResponseParseError):
            _parse(body)
    else:
        try:
            got = _parse(body)
        except ResponseParseError:
            # The decoder refuses DTDs outright, which xmltodict only defuses.
            assert b"<!" in body
        else:
            assert expected == got
