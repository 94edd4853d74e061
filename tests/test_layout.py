"""The shape of the code: no import cycle, no reaching into another module's privates,
no module past 500 lines. Read from the source (ast), so any new module is covered."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "osintkit"
MAX_LINES = 500  # ~400 is the aim (docs/design.md); past 500 a module must be split


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package __init__)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _targets(name: str, is_pkg: bool, node: ast.Import | ast.ImportFrom,
             known: dict[str, tuple[Path, bool]]) -> set[str]:
    """The osintkit modules an import statement names (a submodule when it is one)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in known}
    base = node.module or ""
    if node.level:
        pkg = name.split(".") if is_pkg else name.split(".")[:-1]
        pkg = pkg[:len(pkg) - node.level + 1]
        base = ".".join(pkg + ([base] if base else []))
    out = {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
    return out & set(known)


def import_graph() -> dict[str, set[str]]:
    """Module -> the osintkit modules it imports anywhere in its body: at the top, inside
    functions and under TYPE_CHECKING alike (each is a dependency of the design)."""
    known = _modules()
    graph = {}
    for name, (path, is_pkg) in known.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                deps |= _targets(name, is_pkg, node, known)
        graph[name] = deps - {name}
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others."""
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {tuple(sorted({node} | {o for o in reach[node] if node in reach.get(o, ())}))
              for node in graph if node in reach[node]}
    return sorted(list(g) for g in groups)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_submodule_imports_are_resolved():
    graph = import_graph()
    assert "osintkit.archive.write" in graph["osintkit.archive.core"]  # from pkg import mod
    assert "osintkit.cli.common" in graph["osintkit.cli.media"]


def test_no_import_cycle_in_osintkit():
    graph = import_graph()
    found = cycles(graph)
    detail = "; ".join(" <-> ".join(c) for c in found)
    assert not found, f"import cycles: {detail}"


def test_no_module_reaches_into_another_modules_privates():
    """No `from osintkit.x import _private`, no `other._private` attribute (own `self`
    and `cls` only; `super()` and namedtuple's `_replace` are the libraries' API)."""
    bad = []
    for name, (path, _) in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("osintkit"):
                bad += [f"{name}: imports {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__") and node.attr != "_replace":
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
                if isinstance(owner, ast.Call) and ast.unparse(owner.func) == "super":
                    continue
                bad.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(
    p.relative_to(PACKAGE)))
def test_module_is_not_too_long(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)}: {lines} lines (split it)"
