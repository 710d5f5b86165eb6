"""Sphinx extension of the amq_python docs: generated pages parts and public-name references.

- ``known-differences`` and ``api-differences`` directives render the tables the tests own,
  ``KNOWN_DIFFERENCES`` of tests/test_known_differences.py and ``ALLOWED`` of
  tests/test_api_parity.py, read from the source with ``ast`` (no import of the tests or of
  python-qpid-proton), so the migration page and the tests cannot disagree.
- A ``missing-reference`` hook resolves a reference to a private module path (type hints carry
  ``amq_python._module.Name``), or to a name as a private module spells it (an import alias),
  to the public name of the same object, wherever the private module lives, so the reference
  documents only public modules.
- Base classes that are not public (``_Link``, ``Wrapper``) are shown as their own public bases.
- An attribute's value is shown only when it reads as a literal: an object's repr (a table of
  functions, an instance of a private class) says nothing to a reader.
- The ``command-output`` directive runs a ``python ...`` command at build time and shows the
  command and what it printed (``python -m amq_python.diagnose`` on the operations page), so
  the page shows what this version prints on the machine that built it, never a stale copy.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.addnodes import desc, desc_annotation, desc_signature, pending_xref
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_MODULES = (
    "amq_python",
    "amq_python.reactor",
    "amq_python.handlers",
    "amq_python.utils",
    "amq_python.aio",
    "amq_python.tracing",
)


def table(path: str, name: str) -> dict[str, Any]:
    """The literal dict assigned to ``name`` at the top level of the file at ``path``."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"), path)
    for statement in tree.body:
        if isinstance(statement, ast.AnnAssign):
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        else:
            continue
        if value is not None and any(getattr(t, "id", None) == name for t in targets):
            found = ast.literal_eval(value)
            if not isinstance(found, dict):
                raise TypeError(f"{path}: {name} is not a literal dict")
            return found
    raise LookupError(f"{path} has no top-level {name}")


def known_differences() -> list[tuple[str, str, str]]:
    """(key, title, reason) of each behaviour that differs from python-qpid-proton."""
    found = table("tests/test_known_differences.py", "KNOWN_DIFFERENCES")
    return [(key, title, reason) for key, (title, reason) in found.items()]


def api_differences() -> list[tuple[str, str]]:
    """(key, reason) of each signature-level difference, sorted by key."""
    return sorted(table("tests/test_api_parity.py", "ALLOWED").items())


def _item(term: list[nodes.Node], text: str) -> nodes.definition_list_item:
    return nodes.definition_list_item(
        "", nodes.term("", "", *term), nodes.definition("", nodes.paragraph(text=text + "."))
    )


class KnownDifferences(SphinxDirective):
    """The behaviours that differ on purpose, as a definition list: title, then why."""

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(ROOT / "tests/test_known_differences.py"))
        items = [
            _item([nodes.strong(text=title), nodes.Text(f"  ({key})")], reason)
            for key, title, reason in known_differences()
        ]
        return [nodes.definition_list("", *items)]


class ApiDifferences(SphinxDirective):
    """The signature-level differences: the parity test's key, then why."""

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(ROOT / "tests/test_api_parity.py"))
        items = [_item([nodes.literal(text=key)], reason) for key, reason in api_differences()]
        return [nodes.definition_list("", *items)]


class CommandOutput(SphinxDirective):
    """A ``python ...`` command, run at build time with the interpreter that runs Sphinx and the
    checkout first on its path, shown with what it printed; a failure fails the build."""

    required_arguments = 1
    final_argument_whitespace = True

    def run(self) -> list[nodes.Node]:
        command = self.arguments[0]
        words = shlex.split(command)
        if words[0] != "python":
            raise self.error(f"command-output runs python commands only, not {command!r}")
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        done = subprocess.run(
            [sys.executable, *words[1:]], cwd=ROOT, capture_output=True, text=True,
            timeout=120, stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path},
            check=False,
        )
        if done.returncode != 0:
            raise self.error(f"{command} exited with {done.returncode}: {done.stderr.strip()}")
        text = f"$ {command}\n{done.stdout.rstrip()}"
        block = nodes.literal_block(text, text, language="console")
        block["amq_command"] = command
        self.set_source_info(block)
        return [block]


def _walk(target: str) -> tuple[str, str, Any] | None:
    """(module name, qualified name, object) of a dotted ``amq_python`` target, or None."""
    parts = target.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return ".".join(parts[:split]), ".".join(parts[split:]), obj
    return None


def public_target(target: str) -> str | None:
    """The public dotted name of the object a private path names (``amq_python._x.Name``)."""
    parts = target.split(".")
    if parts[0] != "amq_python" or not any(part.startswith("_") for part in parts[1:-1]):
        return None
    found = _walk(target)
    if found is None:
        return None
    module, qualname, obj = found
    head = qualname.split(".")[0]
    top = getattr(importlib.import_module(module), head)
    public_parent = ".".join(p for p in module.split(".") if not p.startswith("_"))
    candidates = [public_parent] + [m for m in PUBLIC_MODULES if m != public_parent]
    for candidate in candidates:
        public = importlib.import_module(candidate) if candidate in PUBLIC_MODULES else None
        if public is not None and getattr(public, head, None) is top:
            return f"{candidate}.{qualname}"
    return None


def public_names() -> dict[int, str]:
    """id of each object in a public module's ``__all__`` -> its first public dotted name."""
    names: dict[int, str] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            names.setdefault(id(getattr(module, name)), f"{module_name}.{name}")
    return names


def spelled_in_private_module(name: str, context: str | None = None) -> str | None:
    """The public name of what ``name`` (no dots) means in amq_python's private modules: an
    annotation kept as text, such as an import alias, is resolved where it was written. The
    private modules of ``context`` (the public module being documented, say
    ``amq_python.aio``) are asked first, then all of them; the name must mean one object."""
    private = [
        (module_name, module)
        for module_name, module in list(sys.modules.items())
        if module_name.startswith("amq_python.")
        and any(part.startswith("_") for part in module_name.split("."))
        and hasattr(module, name)
    ]

    def public_parent(module_name: str) -> str:
        return ".".join(part for part in module_name.split(".") if not part.startswith("_"))

    nearby = [module for module_name, module in private if public_parent(module_name) == context]
    for modules in (nearby, [module for _, module in private]):
        found = {id(getattr(module, name)) for module in modules}
        if len(found) == 1:
            return public_names().get(found.pop())
        if found:
            return None
    return None


def qualify(app: Sphinx, doctree: nodes.document) -> None:
    """Before resolution, give each bare name in a signature its meaning in the source: a
    builtin (``type``) is the builtin, not ``Array.type``; an alias written in a private module
    (``EngineSender``) becomes the public name of what it stands for."""
    for node in list(doctree.findall(pending_xref)):
        target = node.get("reftarget", "")
        if node.get("refdomain") != "py" or "." in target:
            continue
        if isinstance(getattr(builtins, target, None), type):
            node.replace_self(node.children)  # plain text, as Sphinx shows builtins
            continue
        public = spelled_in_private_module(target, node.get("py:module"))
        if public is not None:
            node["reftarget"] = public
            node.attributes.pop("refspecific", None)


def resolve_private(app: Sphinx, env: Any, node: Any, contnode: nodes.Element) -> Any:
    """Resolve a reference to a private path through the object's public name; show a class
    listed in ``amq_private_in_signatures`` (conf.py, each with why) as plain text."""
    if node.get("refdomain") != "py":
        return None
    reftarget = node["reftarget"]
    if reftarget.rsplit(".", 1)[-1] in app.config.amq_private_in_signatures:
        return contnode
    target = public_target(reftarget)
    if target is None:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], target, node, contnode
    )


def public_bases(
    app: Sphinx, name: str, obj: Any, options: Any, bases: list[type]
) -> None:
    """Show a class's bases as public ones: a private base is replaced by its own bases."""
    public = public_names()

    def shown(base: type) -> list[type]:
        if id(base) in public or not base.__module__.startswith("amq_python"):
            return [base]
        return [b for parent in base.__bases__ if parent is not object for b in shown(parent)]

    bases[:] = list(dict.fromkeys(b for base in bases for b in shown(base))) or [object]


def drop_object_values(app: Sphinx, doctree: nodes.document) -> None:
    """Remove the ``= <object repr>`` part of attribute and data signatures."""
    for description in doctree.findall(desc):
        if description.get("domain") != "py" or description.get("objtype") not in (
            "attribute", "data"
        ):
            continue
        for signature in description.findall(desc_signature):
            for annotation in list(signature.findall(desc_annotation)):
                text = annotation.astext().strip()
                if text.startswith("=") and "<" in text:
                    annotation.parent.remove(annotation)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("known-differences", KnownDifferences)
    app.add_directive("api-differences", ApiDifferences)
    app.add_directive("command-output", CommandOutput)
    app.add_config_value("amq_private_in_signatures", {}, "env", dict)
    app.connect("doctree-read", qualify)
    app.connect("doctree-read", drop_object_values)
    app.connect("missing-reference", resolve_private)
    app.connect("autodoc-process-bases", public_bases)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
