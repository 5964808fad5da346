"""The public API as type checkers and annotation readers see it.

* ``typing.get_type_hints()`` (and so ``attrs.resolve_types()`` and cattrs)
  works on every public class, although each says ``ci_async`` (or
  ``ci_async.testing``) as its ``__module__``, where its annotations' names
  are not defined.
* mypy --strict accepts the snippets of ``tests/typing/`` (what users write),
  and rejects the misspelt names of :data:`REJECTED` (the packages' lazy
  ``__getattr__`` is invisible to type checkers).
* ``JobIterator.pages()`` returns the public :class:`ci_async.PageIterator`.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import re
import subprocess
import sys
import textwrap
import typing
from pathlib import Path
from types import ModuleType

import attrs
import pytest

import ci_async
import ci_async.testing

from ._session_support import ListService, Recorder, session_for

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = Path(__file__).resolve().parent / "typing"


def _public_classes() -> list[tuple[ModuleType, str]]:
    found = []
    for module in (ci_async, ci_async.testing):
        for name in module.__all__:
            value = getattr(module, name)
            # (On Python 3.10 a Callable alias passes isinstance(x, type).)
            if isinstance(value, type) and getattr(value, "__origin__", None) is None:
                found.append((module, name))
    return found


_CLASSES = _public_classes()
_CLASS_IDS = [f"{module.__name__}.{name}" for module, name in _CLASSES]
_RECORDS = [(module, name) for module, name in _CLASSES if attrs.has(getattr(module, name))]
_RECORD_IDS = [f"{module.__name__}.{name}" for module, name in _RECORDS]


# --- get_type_hints on the public classes -------------------------------------------


@pytest.mark.parametrize(("module", "name"), _CLASSES, ids=_CLASS_IDS)
def test_get_type_hints_works_on_every_public_class(module: ModuleType, name: str) -> None:
    """Each annotation of a public class resolves, its own and its bases'."""
    cls = getattr(module, name)
    hints = typing.get_type_hints(cls)
    extras = typing.get_type_hints(cls, include_extras=True)
    own = inspect.get_annotations(cls)

    assert set(own) <= set(hints) == set(extras)
    assert [] == [key for key, value in own.items() if isinstance(value, str)]


@pytest.mark.parametrize(("module", "name"), _CLASSES, ids=_CLASS_IDS)
def test_public_classes_still_print_as_the_public_module(module: ModuleType, name: str) -> None:
    """Resolving the annotations keeps ``__module__`` the public one."""
    assert module.__name__ == getattr(module, name).__module__


@pytest.mark.parametrize(("module", "name"), _RECORDS, ids=_RECORD_IDS)
def test_attrs_resolve_types_works_on_every_record(module: ModuleType, name: str) -> None:
    """``attrs.resolve_types()`` (what cattrs calls) gives each field a real type."""
    cls = attrs.resolve_types(getattr(module, name))

    assert [] == [field.name for field in attrs.fields(cls) if isinstance(field.type, str)]


def test_some_annotations_name_what_the_public_module_lacks() -> None:
    """The check above is not vacuous: ``ci_async`` itself defines no ``datetime``."""
    assert "datetime" not in vars(ci_async)
    creation_time = typing.get_type_hints(ci_async.Job)["creation_time"]
    assert typing.get_type_hints(ci_async.TimeInterval)["start"] == creation_time


def test_annotations_are_resolved_in_a_fresh_interpreter() -> None:
    """``get_type_hints`` on a record right after ``import ci_async``, nothing else imported."""
    code = (
        "import typing, ci_async, ci_async.testing\n"
        "for cls in (ci_async.Job, ci_async.Credentials, ci_async.RetryPolicy,\n"
        "            ci_async.testing.StoredJob, ci_async.testing.Fault):\n"
        "    typing.get_type_hints(cls)\n"
        "print(ci_async.Job.__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert ("", "ci_async") == (result.stderr, result.stdout.strip())


# --- JobIterator.pages() --------------------------------------------------------------


@pytest.mark.anyio
async def test_pages_returns_the_public_page_iterator() -> None:
    """``pages()`` returns a :class:`ci_async.PageIterator`, which closes its JobIterator."""
    async with session_for(Recorder(ListService(25))) as session:
        iterator = session.list_jobs(page_size=10)
        pages = iterator.pages()
        assert isinstance(pages, ci_async.PageIterator)
        assert "ci_async" == type(pages).__module__
        async with contextlib.aclosing(pages) as same:
            assert pages is same
            assert 10 == len((await same.__anext__()).jobs)
        with pytest.raises(StopAsyncIteration):  # closing either closes both
            await iterator.pages().__anext__()
        async with session.list_jobs(page_size=10).pages() as more:
            assert [10, 10, 5] == [len(page.jobs) async for page in more]


# --- mypy --strict ------------------------------------------------------------------

#: Snippets mypy --strict must reject: each line marked ``# E: code`` has that error, no
#: other line has one.
REJECTED = {
    "version_typo": """
        import ci_async

        status = ci_async.JobStatus  # E: attr-defined
        version: str = ci_async.__version__
    """,
    "testing_import_typo": """
        from ci_async.testing import Emulater  # E: attr-defined
        from ci_async.testing import Emulator

        Emulator()
        del Emulater
    """,
    "testing_attribute_typo": """
        import ci_async.testing

        ci_async.testing.FakeClok()  # E: attr-defined
        ci_async.testing.FakeClock()
    """,
}

_MARK = re.compile(r"#\s*E:\s*(?P<code>[\w-]+)")
_ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")


def _snippets() -> list[Path]:
    return sorted(path for path in SNIPPETS.glob("*.py") if not path.name.startswith("test_"))


@pytest.fixture(scope="module", name="mypy_errors")
def fixture_mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """One mypy --strict run over tests/typing and the rejected snippets: errors per file."""
    pytest.importorskip("mypy.api", reason="mypy is in the typing dependency group")
    folder = tmp_path_factory.mktemp("rejected")
    files = []
    for name, source in REJECTED.items():
        path = folder / f"rejected_{name}.py"
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
        files.append(path)
    command = [
        *(sys.executable, "-m", "mypy", "--strict", "--no-pretty", "--no-error-summary"),
        *("--hide-error-context", "--show-error-codes", "--no-color-output"),
        *("--cache-dir", str(tmp_path_factory.mktemp("mypy-cache"))),
        *map(str, [*_snippets(), *files]),
    ]
    # From the project's root, so that pyproject.toml's [tool.mypy] applies.
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    errors: dict[str, set[str]] = {}
    for line in result.stdout.splitlines():
        if found := _ERROR.match(line):
            key = Path(found["path"]).name
            errors.setdefault(key, set()).add(f"{found['line']}: {found['code']}")
        elif ": error:" in line:
            errors.setdefault("unparsed", set()).add(line)
    return errors


@pytest.mark.parametrize("path", _snippets(), ids=lambda path: path.name)
def test_typing_snippets_pass_mypy_strict(path: Path, mypy_errors: dict[str, set[str]]) -> None:
    """What users write (``tests/typing/*.py``) type-checks under mypy --strict."""
    assert set() == mypy_errors.get(path.name, set())
    assert set() == mypy_errors.get("unparsed", set())


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_misspelt_names_fail_mypy_strict(name: str, mypy_errors: dict[str, set[str]]) -> None:
    """A misspelt public name is a type error, not ``Any`` (nor ``str``)."""
    lines = textwrap.dedent(REJECTED[name]).lstrip().splitlines()
    expected = {
        f"{number}: {found['code']}"
        for number, line in enumerate(lines, start=1)
        if (found := _MARK.search(line))
    }
    assert expected == mypy_errors.get(f"rejected_{name}.py", set())


def test_the_names_snippet_imports_every_lazy_name() -> None:
    """``tests/typing/names.py`` checks each name ``ci_async.testing`` serves."""
    tree = ast.parse((SNIPPETS / "names.py").read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "ci_async.testing"
        for alias in node.names
    }
    assert set(ci_async.testing.__all__) == imported
