"""The package's layering: no module imports one that imports it back (directly or not).

Function-level imports count too: a cycle hidden inside a function still ties the two modules
together. A package's own ``__init__`` re-exports are not edges (they only gather names).
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in (SRC / "depthstyle").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            deps |= {t for t in targets if t in modules}
        graph[name] = {d for d in deps if d != name and not name.startswith(d + ".")
                       and not path.name == "__init__.py"}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_the_package():
    graph = import_graph()
    assert "depthstyle.depth.catalog" in graph and "depthstyle.style_cache" in graph
    assert cycles(graph) == []


def test_depth_layers_import_only_downwards():
    graph = import_graph()
    catalog = graph["depthstyle.depth.catalog"]
    assert not {m for m in catalog if m.startswith("depthstyle.depth")}
    assert "depthstyle.depth.download" not in graph["depthstyle.depth.transformers_backend"]
    assert "depthstyle.depth.resolve" not in graph["depthstyle.depth.sources"]
