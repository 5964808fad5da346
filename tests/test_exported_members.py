"""The public surface: exactly `__all__`, sorted, importable, printed as ``ci_async``."""

from __future__ import annotations

import inspect

import ci_async
import ci_async.testing


def _is_class(value: object) -> bool:
    """A real class (on Python 3.10 a ``Callable[...]`` alias passes ``isclass``)."""
    return inspect.isclass(value) and getattr(value, "__origin__", None) is None


def test_all_is_sorted_and_unique() -> None:
    """``__all__`` is sorted and lists each name once."""
    assert sorted(set(ci_async.__all__)) == ci_async.__all__
    assert sorted(set(ci_async.testing.__all__)) == ci_async.testing.__all__


def test_all_matches_public_attributes() -> None:
    """Every public class or function in the namespace is in ``__all__``, and nothing else."""
    public = {
        name
        for name, value in vars(ci_async).items()
        if not name.startswith("_") and (_is_class(value) or inspect.isfunction(value))
    }
    assert public == set(ci_async.__all__) - {"CredentialsProvider"}


def test_every_name_resolves() -> None:
    """Each exported name is importable from the package."""
    for module in (ci_async, ci_async.testing):
        for name in module.__all__:
            assert getattr(module, name) is not None, name


def test_classes_print_as_public_module() -> None:
    """Exported classes say ``ci_async.X`` in reprs and tracebacks, not the private module."""
    for name in ci_async.__all__:
        value = getattr(ci_async, name)
        if _is_class(value):
            assert value.__module__ == "ci_async", name


def test_version_comes_from_metadata() -> None:
    """``__version__`` is the installed distribution's version."""
    from importlib.metadata import version

    assert version("ci-async") == ci_async.__version__
