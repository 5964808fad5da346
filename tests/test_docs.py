"""The documentation's examples run, and the API reference covers the public API.

Every fenced ``python`` block of ``docs/*.md`` and ``README.md`` is executed,
page by page, in the order it appears, with one namespace per page (as a
notebook would run them): a later block sees what an earlier one defined.

What the blocks run against: an :class:`~ci_async.testing.Emulator` served on
a loopback port, as ``python -m ci_async emulator`` serves one: on the wall
clock, with the quick timeline (a created job ends within 2 s), the API
documentation's sample jobs, and the environment a user has after pasting its
``export`` lines (``CI_ASYNC_ENDPOINT``, ``CI_ASYNC_BUCKET``,
``CI_ASYNC_REGION`` and the credentials). A :class:`ci_async.Session`
constructed without ``endpoint=`` (nor a ``transport`` or ``http_client``)
is pointed at the emulator too, so the pages can show the code a user writes,
unchanged. (``tests/test_newcomer.py`` runs the README's example and the
quickstart against the real command instead, in subprocesses.)

How a block runs:

* Top-level ``await`` is allowed (the pages show notebook-style code): such a
  block runs on one event loop per page (asyncio, in a helper thread, like a
  notebook kernel), so sessions made by one block work in the next.
* A block with an ``if __name__ == "__main__":`` guard, or calling
  ``asyncio.run(...)`` at the top level, is a script: it runs in the main
  thread with ``__name__`` set to ``"__main__"`` (so its
  ``asyncio.run(main())`` starts its own loop, as it would for the user).
* Other blocks run on the page's loop thread too (plain code, as in a notebook cell).

Markers, an HTML comment on the line right before a fence (invisible both on
GitHub and in the built site):

* ``<!-- docs-test: skip -->``: the block is shown, not run (say why in the text).
* ``<!-- docs-test: pytest -->``: the block is a test module; it is written to
  a temporary directory and run by ``pytest`` in a subprocess, which must pass
  (this is how the pytest plugin's fixtures are shown working).
* ``<!-- docs-test: console -->`` before a ``console`` block: its ``$`` lines
  run. ``export NAME=VALUE`` sets the variable (except the credentials and
  ``CI_ASYNC_ENDPOINT``, which point at the emulator already); ``ci-async ...``
  and ``python -m ci_async ...`` run the command line in-process and must exit
  with status 0. A pipe's later stages and an output redirection are ignored.

Hidden setup: ``<!-- invisible-code-block: python`` ... ``-->`` runs its code
(in the page's namespace, in order) without showing it; the emulator is in the
namespace as ``emulator`` for such blocks, e.g. to add a job an example then
describes.

Job ids: a page may only show ids that exist in the emulator a user starts
(the two sample jobs), or the all-zero id that stands for one that does not
(``test_job_ids_exist_in_the_standalone_emulator``).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import itertools
import os
import re
import shlex
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import attrs
import pytest

import ci_async
import ci_async.testing
from ci_async import _cli as cli
from ci_async.testing._samples import SAMPLE_JOBS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"

#: Seeded jobs in each page's emulator.
PAGE_JOBS = 60

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<mode>[a-z-]+)\s*-->\s*$")
_INVISIBLE = re.compile(r"^\s*<!--\s*invisible-code-block:\s*python\s*$")
_PYTHON_INFOS = frozenset({"python", "py", "python3"})
#: Where a console line's command ends: a pipe, a redirection, a comment.
_SHELL_STOPS = frozenset({"|", ">", ">>", "&&", ";"})
_CONSOLE_INFOS = frozenset({"console", "shell-session"})
#: Variables a console block's ``export`` must not change: the harness set them.
_HARNESS_VARIABLES = frozenset(
    {
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "TENCENTCLOUD_SESSION_TOKEN",
        "COS_SECRET_ID",
        "COS_SECRET_KEY",
        "COS_SESSION_TOKEN",
        "CI_ASYNC_ENDPOINT",
        "CI_ASYNC_BUCKET",
        "CI_ASYNC_REGION",
    }
)


@attrs.frozen
class Block:
    """One runnable piece of a page.

    Attributes:
        path: The page.
        line: The 1-based line of the block's first line of code.
        source: The code.
        mode: ``"run"``, ``"skip"``, ``"pytest"`` or ``"console"``.
    """

    path: Path
    line: int
    source: str
    mode: str

    @property
    def where(self) -> str:
        """``docs/page.md:LINE``, for messages."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def parse_blocks(path: Path) -> list[Block]:
    """Return the python blocks of a Markdown page (visible and invisible), in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    marker = "run"
    i = 0
    while i < len(lines):
        line = lines[i]
        if found := _MARKER.match(line):
            marker = found["mode"]
            i += 1
            continue
        if _INVISIBLE.match(line):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "-->")
            code = textwrap.dedent("\n".join(lines[i + 1 : end]))
            blocks.append(Block(path, i + 2, code, "run"))
            i = end + 1
            continue
        if opening := _FENCE.match(line):
            fence = opening["fence"]
            closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
            end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), len(lines))
            info = opening["info"].strip().split()
            indent = len(opening["indent"])
            code = "\n".join(text[indent:] for text in lines[i + 1 : end])
            language = info[0] if info else ""
            runnable = (language in _PYTHON_INFOS and marker != "console") or (
                language in _CONSOLE_INFOS and marker in {"console", "skip"}
            )
            if runnable:
                blocks.append(Block(path, i + 2, code, marker))
            elif marker != "run":
                pytest.fail(f"{path.name}:{i + 1}: docs-test marker before a non-python block")
            marker = "run"
            i = end + 1
            continue
        if line.strip():
            marker = "run"  # a marker applies to the very next block only
        i += 1
    return blocks


def _pages() -> list[Path]:
    return [*sorted(DOCS.glob("*.md")), README]


def _runnable_pages() -> list[Any]:
    return [
        pytest.param(path, id=str(path.relative_to(ROOT)))
        for path in _pages()
        if any(block.mode != "skip" for block in parse_blocks(path))
    ]


def _compile(block: Block) -> Any:
    """Compile a block so that tracebacks point at the Markdown page's lines."""
    tree = ast.parse(block.source, filename=str(block.path), mode="exec")
    ast.increment_lineno(tree, block.line - 1)
    return compile(tree, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


async def _await_block(code: Any, namespace: dict[str, Any]) -> None:
    """Run a block compiled with top-level ``await`` on the running event loop."""
    await eval(code, namespace)


def _is_script(block: Block) -> bool:
    """Whether a block is a script: a ``__name__`` guard, or ``asyncio.run(...)`` at the top."""
    return any(
        _is_main_guard(node) or _is_asyncio_run(node) for node in ast.parse(block.source).body
    )


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def _is_asyncio_run(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "run"
        and isinstance(node.value.func.value, ast.Name)
        and node.value.func.value.id == "asyncio"
    )


def _run_pytest_block(block: Block, directory: Path, env: dict[str, str]) -> None:
    """Run a block that is a test module with pytest in a subprocess; it must pass."""
    module = directory / f"test_docs_block_{block.line}.py"
    module.write_text(block.source, encoding="utf-8")
    options = ["-q", "-p", "no:cacheprovider", "-W", "error"]
    if importlib.util.find_spec("pytest_asyncio") is not None:
        # Installed here (pytest-aiohttp needs it); it warns unless this is set.
        options += ["-o", "asyncio_default_fixture_loop_scope=function"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *options, str(module)],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"{block.where}: pytest failed\n{result.stdout}\n{result.stderr}"


def _run_console_block(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the ``$`` lines of a console block: exports and the command line."""
    for number, line in enumerate(block.source.splitlines(), start=block.line):
        if not line.startswith("$ "):
            continue
        lexer = shlex.shlex(line[2:], posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(itertools.takewhile(lambda word: word not in _SHELL_STOPS, lexer))
        if words[0] == "export":
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                if name not in _HARNESS_VARIABLES:
                    monkeypatch.setenv(name, value)
            continue
        if words[0] == "ci-async":
            argv = words[1:]
        elif words[:3] == ["python", "-m", "ci_async"]:
            argv = words[3:]
        else:
            pytest.fail(f"{block.path.name}:{number}: cannot run {words[0]!r}")
        status = cli.main(argv)
        assert 0 == status, f"{block.path.name}:{number}: {line!r} exited with {status}"


@pytest.fixture(name="emulator")
def fixture_emulator() -> ci_async.testing.Emulator:
    """A seeded emulator for one page, set up as ``python -m ci_async emulator`` sets one up."""
    emulator = ci_async.testing.Emulator(clock=time.time, timeline="quick")
    emulator.generate(PAGE_JOBS)
    emulator.add_samples()
    return emulator


@pytest.fixture(name="endpoint")
def fixture_endpoint(emulator: ci_async.testing.Emulator) -> Iterator[str]:
    """The page's emulator, served on a loopback port."""
    with emulator.serve() as server:
        yield server.url


@pytest.fixture(name="redirected")
def fixture_redirected(
    emulator: ci_async.testing.Emulator, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Credentials in the environment, and sessions without ``endpoint=`` sent to the emulator.

    Returns:
        The environment for subprocesses (``pytest`` blocks).
    """
    credentials = emulator.credentials
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", credentials.secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", credentials.secret_key)
    monkeypatch.delenv("TENCENTCLOUD_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("CI_ASYNC_ENDPOINT", endpoint)
    monkeypatch.setenv("CI_ASYNC_BUCKET", emulator.bucket)
    monkeypatch.setenv("CI_ASYNC_REGION", emulator.region)
    original: Callable[..., None] = ci_async.Session.__init__

    def redirected_init(self: ci_async.Session, *args: Any, **kwargs: Any) -> None:
        # Only sessions bound for the real service: not those given a place
        # to go (an endpoint, or a transport or client, e.g. Emulator.session()).
        if all(kwargs.get(name) is None for name in ("endpoint", "transport", "http_client")):
            kwargs["endpoint"] = endpoint
        original(self, *args, **kwargs)

    monkeypatch.setattr(ci_async.Session, "__init__", redirected_init)
    return dict(os.environ)


@pytest.mark.parametrize("page", _runnable_pages())
def test_page_examples_run(
    page: Path,
    emulator: ci_async.testing.Emulator,
    redirected: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every python block of the page runs against the emulator, in order, without error."""
    monkeypatch.chdir(tmp_path)  # examples may write files
    namespace: dict[str, Any] = {"__name__": "__docs__", "emulator": emulator}
    with anyio.from_thread.start_blocking_portal("asyncio") as portal:
        for block in parse_blocks(page):
            if block.mode == "skip":
                continue
            if block.mode == "pytest":
                _run_pytest_block(block, tmp_path, redirected)
                continue
            if block.mode == "console":
                _run_console_block(block, monkeypatch)
                continue
            code = _compile(block)
            if _is_script(block):
                namespace["__name__"] = "__main__"
                try:
                    exec(code, namespace)
                finally:
                    namespace["__name__"] = "__docs__"
            elif code.co_flags & inspect.CO_COROUTINE:
                portal.call(_await_block, code, namespace)
            else:
                portal.call(exec, code, namespace)
    capsys.readouterr()  # the examples print; their output is not compared


@pytest.mark.parametrize("mode", ["run", "skip", "pytest"])
def test_markers_are_understood(mode: str, tmp_path: Path) -> None:
    """A marker comment sets the mode of the next python block only."""
    page = tmp_path / "page.md"
    marker = "" if mode == "run" else f"<!-- docs-test: {mode} -->\n"
    page.write_text(f"{marker}```python\nx = 1\n```\n\n```python\ny = 2\n```\n")
    assert [mode, "run"] == [block.mode for block in parse_blocks(page)]


def test_invisible_blocks_are_found(tmp_path: Path) -> None:
    """Hidden setup code in an HTML comment is a block, at its own line number."""
    page = tmp_path / "page.md"
    page.write_text("# T\n\n<!-- invisible-code-block: python\nx = 1\n-->\n")
    assert [Block(page, 4, "x = 1", "run")] == parse_blocks(page)


def test_python_inside_other_fences_is_not_run(tmp_path: Path) -> None:
    """A python fence shown inside a longer fence (e.g. Markdown source) is text, not code."""
    page = tmp_path / "page.md"
    page.write_text("````markdown\n```python\nx = 1\n```\n````\n")
    assert [] == parse_blocks(page)


def test_docs_have_examples() -> None:
    """The pages hold runnable examples (the parser is not silently finding none)."""
    runnable = [block for path in _pages() for block in parse_blocks(path) if block.mode == "run"]
    assert len(runnable) >= 20


#: Job ids the standalone emulator holds (its sample jobs), and the one that stands for none.
_SAMPLE_IDS = frozenset(job["job_id"] for job in SAMPLE_JOBS)
_MISSING_ID = "b00000000000000000000000000000000"
_JOB_ID = re.compile(r"\bb[0-9a-f]{32}\b")


@pytest.mark.parametrize(
    "path",
    [*_pages(), *sorted((ROOT / "examples").glob("*.py"))],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_job_ids_exist_in_the_standalone_emulator(path: Path) -> None:
    """Every job id a page or example shows is a sample job, or the all-zero missing one."""
    shown = set(_JOB_ID.findall(path.read_text(encoding="utf-8")))
    assert set() == shown - _SAMPLE_IDS - {_MISSING_ID}


def test_the_sample_ids_are_what_the_pattern_finds() -> None:
    """The id pattern matches the sample ids (so the test above is not vacuous)."""
    assert _SAMPLE_IDS == set(_JOB_ID.findall(" ".join(sorted(_SAMPLE_IDS))))


def test_readme_states_the_two_commands() -> None:
    """The README names the demo and test commands verbatim."""
    text = README.read_text(encoding="utf-8")
    for command in (
        "python3 -m pip install nox && nox -s demo",
        "python3 -m pip install nox && nox -s tests",
    ):
        assert command in text


# --- the API reference -------------------------------------------------------

_AUTODOC = re.compile(
    r"^\.\. auto(?:class|function|data|exception|attribute)::\s+(?P<name>[\w.]+)\s*$",
    re.MULTILINE,
)


def _documented_names() -> set[str]:
    return set(_AUTODOC.findall((DOCS / "api.md").read_text(encoding="utf-8")))


def _public_names() -> list[str]:
    return [f"ci_async.{name}" for name in ci_async.__all__] + [
        f"ci_async.testing.{name}" for name in ci_async.testing.__all__
    ]


def _resolve(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(sys.modules[module], name)


@pytest.mark.parametrize("name", _public_names())
def test_public_name_is_in_the_api_reference(name: str) -> None:
    """Every name in ``__all__`` has an autodoc entry in docs/api.md."""
    assert name in _documented_names()


@pytest.mark.parametrize("name", _public_names())
def test_public_name_has_a_docstring(name: str) -> None:
    """Every name in ``__all__`` carries its own docstring (or, for data, a ``#:`` comment)."""
    obj = _resolve(name)
    # issubclass(type(obj), type), not inspect.isclass(): on Python 3.10 a
    # generic alias such as CredentialsProvider passes for a class.
    if issubclass(type(obj), type) or inspect.isfunction(obj):
        assert inspect.getdoc(obj)
    else:
        assert _has_doc_comment(name)


def _has_doc_comment(dotted: str) -> bool:
    """Whether a constant is documented with a ``#:`` comment where it is defined."""
    name = dotted.rpartition(".")[2]
    comment = re.compile(rf"^#:.*\n(?:#:.*\n)*{re.escape(name)}\b", re.MULTILINE)
    package = ROOT / "ci_async"
    return any(comment.search(path.read_text(encoding="utf-8")) for path in package.rglob("*.py"))


_MEMBERS = re.compile(
    r"^\.\. autoclass:: (?P<name>[\w.]+)\n\n(?P<members>(?:   \.\. auto\w+:: \w+\n)+)",
    re.MULTILINE,
)


@pytest.mark.parametrize("name", ["ci_async.Session", "ci_async.JobIterator"])
def test_listed_members_are_all_the_public_ones(name: str) -> None:
    """Classes whose members docs/api.md lists in reading order miss none of them."""
    listed = {
        found["name"]: {line.split("::")[1].strip() for line in found["members"].splitlines()}
        for found in _MEMBERS.finditer((DOCS / "api.md").read_text(encoding="utf-8"))
    }
    public = {member for member in dir(_resolve(name)) if not member.startswith("_")}
    assert public == listed[name]


def test_api_reference_documents_only_public_names() -> None:
    """docs/api.md names nothing that is not exported (no stale entries)."""
    assert set() == _documented_names() - set(_public_names())
