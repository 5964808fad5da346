"""The package's shape: public APIs of its dependencies only, small modules, a small Session.

Static checks over the source of ``ci_async`` (the emulator under
``ci_async/testing`` included for the first): they fail when a change reaches
into a dependency's private names, or lets a module or the Session grow past
the size the project holds itself to.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ci_async"
DEPENDENCIES = ("httpx", "httpcore", "h11", "aiohttp", "anyio", "xmltodict", "attrs", "yarl")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _dependency_names(tree: ast.Module) -> set[str]:
    """Local names bound to a dependency's module or one of its objects by an import."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in DEPENDENCIES:
                    names.add((alias.asname or alias.name).split(".")[0])
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] in DEPENDENCIES
        ):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_private_name_of_a_dependency_is_used(path: Path) -> None:
    """No ``dep._private`` (nor ``from dep._private import``) anywhere in the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = _dependency_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] in DEPENDENCIES and any(part.startswith("_") for part in parts[1:]):
                found.append(f"line {node.lineno}: from {node.module} import ...")
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in names
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert [] == found


@pytest.mark.parametrize(
    "path",
    [path for path in _modules() if "testing" not in path.relative_to(PACKAGE).parts],
    ids=lambda path: str(path.relative_to(PACKAGE)),
)
def test_no_module_outside_the_emulator_is_over_700_lines(path: Path) -> None:
    """One module, one job: none grows past 700 lines."""
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 700


def test_the_session_class_is_at_most_350_lines() -> None:
    """Session is a facade: configuration and the operations, each a few lines."""
    tree = ast.parse((PACKAGE / "_session.py").read_text(encoding="utf-8"))
    (session,) = [
        node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Session"
    ]
    assert session.end_lineno is not None
    assert session.end_lineno - session.lineno + 1 <= 350


def test_importing_ci_async_imports_no_aiohttp() -> None:
    """Aiohttp is imported only when AiohttpTransport is built (checked in a fresh interpreter)."""
    import subprocess

    code = "import sys, ci_async, ci_async.testing; print('aiohttp' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "False" == result.stdout.strip()
