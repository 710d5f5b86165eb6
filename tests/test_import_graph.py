"""amq_python's import graph, read from the source with ast: no module imports itself back.

lint-imports (scripts/test.sh, contracts in pyproject.toml) checks the layers; this keeps the
no-cycle rule visible in the suite too, and checks the annotation-only exceptions stay that."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "amq_python"

# The imports under TYPE_CHECKING that close a cycle of annotations (pyproject.toml's
# acyclic_siblings contract ignores the same ones): never imported at run time.
ANNOTATION_ONLY = {
    ("amq_python._core._transport", "amq_python._core._endpoints"),
    ("amq_python._core._endpoints", "amq_python._core._delivery"),
    ("amq_python.aio._links", "amq_python.aio._connection"),
    ("amq_python.broker.transactions", "amq_python.broker.handler"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of every node inside an ``if TYPE_CHECKING:`` block."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(child) for child in ast.walk(node))
    return inside


def _imported(
    name: str, path: Path, node: ast.Import | ast.ImportFrom, modules: set[str]
) -> set[str]:
    """The amq_python modules an import statement in module ``name`` loads (a ``from P import
    x`` loads ``P.x`` when that is a module, else ``P``)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & modules
    base = node.module or ""
    if node.level:
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join(package + ([node.module] if node.module else []))
    subs = {f"{base}.{alias.name}" for alias in node.names}
    loaded = subs & modules
    if subs - modules:
        loaded.add(base)
    return loaded & modules


def _graph(with_annotations: bool) -> dict[str, set[str]]:
    """Module -> the modules it imports: at run time (module level or in a function), and with
    ``with_annotations`` also under TYPE_CHECKING."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        skip = set() if with_annotations else _type_checking_nodes(tree)
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skip:
                edges |= _imported(name, path, node, set(modules))
        edges.discard(name)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_back_at_run_time() -> None:
    """Following the imports Python runs (module level and inside functions) from any module
    of amq_python never leads back to it."""
    graph = _graph(with_annotations=False)
    assert len(graph) > 50 and "amq_python._reactor._container" in graph
    assert _cycles(graph) == []


def test_only_the_named_annotations_close_a_cycle() -> None:
    """Counting TYPE_CHECKING imports too, the only cycles go through ANNOTATION_ONLY, and each
    of those is imported for annotations alone."""
    graph = _graph(with_annotations=True)
    for importer, imported in ANNOTATION_ONLY:
        assert imported in graph[importer], (importer, imported)
        graph[importer].discard(imported)
    assert _cycles(graph) == []
    runtime = _graph(with_annotations=False)
    assert [edge for edge in ANNOTATION_ONLY if edge[1] in runtime[edge[0]]] == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check can fail: a three-module circle and a two-module one are both reported."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d", "a"}, "f": set()}
    assert sorted(_cycles(graph)) == [["a", "b", "c"], ["d", "e"]]
