"""Sphinx configuration of the amq_python documentation (``sphinx-build -W -n docs OUT``).

Pages are Markdown (MyST) or reStructuredText; the API reference comes from the docstrings
(autodoc). ``_ext/amq_docs.py`` generates the migration page's list of differences from the
tests' tables and resolves the private module paths that type hints carry to public names.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]

import amq_python  # noqa: E402  (after the path is set, for a build from a plain checkout)

project = "amq_python"
author = "the amq_python authors"
copyright = "the amq_python authors, Apache-2.0"
release = amq_python.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "amq_docs",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples", "_ext"]
myst_heading_anchors = 3
smartquotes = False  # code in the tests' tables (symbol('None')) must keep its quotes

html_theme = "furo"
html_title = f"amq_python {release}"

autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = False
autoclass_content = "both"

# The build needs no network, so there is no intersphinx inventory of the standard library:
# these standard classes in signatures stay plain text instead of failing the nitpicky build.
nitpick_ignore = [
    ("py:class", name)
    for name in (
        "_asyncio.Future",
        "collections.abc.AsyncIterator",
        "collections.abc.Iterable",
        "enum.IntEnum",
        "types.TracebackType",
        "uuid.UUID",
    )
]

# Classes that public signatures mention but that are public in neither amq_python nor
# python-qpid-proton: shown as plain text, each for the reason given.
amq_private_in_signatures = {
    "Selectable": "what Container.selectable() returns; an object, not a class to use",
    "_Fetcher": "BlockingReceiver's own handler; BlockingConnection.create_receiver() makes both",
    "Host": "the protocol by which a Task or an Acceptor sees the Container that made it",
}
