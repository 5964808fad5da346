"""Sphinx configuration: MyST pages, furo theme, API reference from docstrings.

Built with ``sphinx-build -W -n`` (``nox -s docs``): every warning is an error
and every cross-reference must resolve. Intersphinx is not used because the
build runs without network access; references to types of other projects are
listed in ``nitpick_ignore`` below instead.
"""

from __future__ import annotations

import re
from importlib.metadata import version as _dist_version
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.nodes import find_pending_xref_condition

project = "ci_async"
author = "The ci_async developers"
copyright = "the ci_async developers"
release = _dist_version("ci-async")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"ci_async {release}"
# The pages are written for GitHub too: a heading's text is its anchor there.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]
# Pages pull in ../CHANGELOG.md and ../README.md-style files via {include}.
suppress_warnings: list[str] = []

# --- API reference ---------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
python_use_unqualified_type_names = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

nitpicky = True
# Types from other projects and the standard library: without intersphinx
# (the docs build offline) Sphinx cannot link them, so they are named, not
# linked. Each entry is one such external type, nothing of ci_async's own.
_EXTERNAL = {
    # standard library
    "datetime",
    "datetime.datetime",
    "datetime.timedelta",
    "enum.Enum",
    "Exception",
    "collections.abc.AsyncIterator",
    "collections.abc.Awaitable",
    "collections.abc.Callable",
    "collections.abc.Iterable",
    "collections.abc.Mapping",
    "collections.abc.Sequence",
    "typing.Any",
    "typing.Protocol",
    "types.TracebackType",
    "ssl.SSLContext",
    # httpx, the transport library
    "httpx.AsyncBaseTransport",
    "httpx.AsyncClient",
    "httpx.PoolTimeout",
    "httpx.Request",
    "httpx.Timeout",
    # aiohttp, beneath the opt-in AiohttpTransport
    "aiohttp.ClientSession",
}
# Private classes that public signatures mention: named, deliberately not documented.
_PRIVATE = {
    # The emulator's ASGI3 application (Emulator.app): only its call signature is public.
    "ci_async.testing._app.EmulatorApp",
    "EmulatorApp",
}
nitpick_ignore = [("py:class", name) for name in sorted(_EXTERNAL | _PRIVATE)]
nitpick_ignore_regex: list[tuple[str, str]] = []

#: Built-in names: shown as code, never linked (there is nothing to link them to
#: offline, and ``object`` would otherwise match attributes named ``object``).
_BUILTINS = frozenset({"None", "bool", "bytes", "dict", "float", "int", "list", "object", "str"})

_PRIVATE_MODULE = re.compile(r"^ci_async\.(?:testing\.)?_[a-z_]+\.")


def _public_target(target: str) -> str | None:
    """Map ``ci_async._models.Job`` to ``ci_async.Job`` (where it is documented)."""
    if not _PRIVATE_MODULE.match(target):
        return None
    head = "ci_async.testing." if target.startswith("ci_async.testing._") else "ci_async."
    return head + _PRIVATE_MODULE.sub("", target, count=1)


def _resolve_private(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.reference | None:
    """Resolve references to a private module's name through its public re-export."""
    if node.get("refdomain") != "py":
        return None
    public = _public_target(node.get("reftarget", ""))
    if public is None:
        return None
    domain = env.get_domain("py")
    node["reftarget"] = public
    resolved: nodes.reference | None = domain.resolve_xref(
        env, node.get("refdoc", ""), app.builder, node["reftype"], public, node, contnode
    )
    return resolved


def _unlink_builtins(app: Sphinx, doctree: nodes.document) -> None:
    """Replace references to built-in types by their text."""
    for node in list(doctree.findall(pending_xref)):
        if node.get("refdomain") == "py" and node.get("reftarget") in _BUILTINS:
            # With unqualified type names, the plain text is the "*" condition's.
            fallback = find_pending_xref_condition(node, "*")
            node.replace_self(fallback.children if fallback is not None else node.children)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the resolver for names re-exported from private modules."""
    app.connect("doctree-read", _unlink_builtins)
    app.connect("missing-reference", _resolve_private)
    return {"parallel_read_safe": True}
