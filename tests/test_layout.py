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


FLOW = ("claim", "fetch", "media", "match", "archive", "checks", "report")  # docs/design.md
# Known imports against the flow, each with its reason.
AGAINST_FLOW = {
    ("fetch", "osintkit.media.probe"): "sniffing a download's type (probe has no deps)",
    ("match", "osintkit.archive.compare_video"): "`compare` of a video runs the archive's "
    "robust video search over a one-file source: one engine, so compare and verify agree",
}


def flow_violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a stage's package to a later stage's (shared modules are free)."""
    def stage(module: str) -> str | None:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 and parts[1] in FLOW else None

    bad = []
    for name, deps in sorted(graph.items()):
        here = stage(name)
        for dep in sorted(deps):
            there = stage(dep)
            if here and there and FLOW.index(there) > FLOW.index(here) \
                    and (here, dep) not in AGAINST_FLOW:
                bad.append(f"{name} -> {dep}")
    return bad


def test_the_flow_checker_finds_a_backward_import():
    graph = {"osintkit.match.views": {"osintkit.archive.core", "osintkit.errors"},
             "osintkit.archive.core": {"osintkit.match.views"},
             "osintkit.fetch.capture": {"osintkit.media.probe"}}
    assert flow_violations(graph) == ["osintkit.match.views -> osintkit.archive.core"]


def test_imports_follow_the_flow():
    """claim -> fetch -> media -> match -> archive -> checks -> report: a stage imports
    earlier stages only (the match stage never the archive, the media stage never match)."""
    bad = flow_violations(import_graph())
    assert not bad, "imports against the flow:\n" + "\n".join(bad)


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


# --- one place per rule: PDQ's thresholds are written in HASHERS (osintkit/match/hashing.py)
PDQ_NUMBERS = {31, 50}  # PDQ's near-match distance and its quality floor
THRESHOLDS_HOME = "match/hashing.py"
# The other 31s and 50s in the code of osintkit/, each with why it is not a PDQ rule:
# (module, text of its line) -> reason. A new one is a PDQ threshold written twice (read
# it from HASHERS) or another rule, to be listed here.
NOT_PDQ = {
    ("verify.py", "max_items: int = 50"): "media items fetched per claim URL",
    ("cli/fetch.py", '"--max-items"'): "the same default, on the command line",
    ("fetch/capture.py", 'options.get("max_items") or 50'): "the same default",
    ("fetch/capture.py", "max_items: int = 50"): "the same default",
    ("fetch/sources/ytdlp.py", 'ctx.options.get("max_items") or 50'): "the same default",
    ("fetch/pages.py", "_MIN_IMG_SIDE = 50"): "pixels: smaller <img> are icons",
    ("media/forensics/quant.py", "if q < 50 else"): "libjpeg's quality scaling (IJG)",
    ("media/forensics/quant.py", "(base * scale + 50) // 100"): "libjpeg's rounding",
    ("claim.py", "<= 31"): "days of a month",
    ("archive/bow.py", "max(50.0, STOP_SHARE * n)"): "images: stop-word document count",
    ("archive/index.py", "n >= 2**31"): "int32 range of the index's row numbers",
    ("batch/isolate.py", "MAX_TASKS = 50"): "claims per worker process",
}


def bare_numbers(source: str, values: set[int]) -> list[tuple[int, str]]:
    """(line number, line) of each number literal in the code (not in comments or
    strings) whose value is in `values`."""
    import io
    import tokenize

    lines = source.splitlines()
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NUMBER:
            value = ast.literal_eval(tok.string)
            if not isinstance(value, complex) and value in values:
                out.append((tok.start[0], lines[tok.start[0] - 1].strip()))
    return out


def test_the_number_finder_sees_code_only():
    src = ("NEAR = 31\nif d <= 31 and q >= 50.0:\n    pass\n# within 31 bits\n"
           "msg = 'PDQ 31'\nx = (310, 0x31, 131, 5.0)\n")
    assert [n for n, _ in bare_numbers(src, PDQ_NUMBERS)] == [1, 2, 2]


def test_pdq_thresholds_are_written_once():
    """31 and 50 are written in the HASHERS declaration and read from there everywhere
    else (docs/design.md, one place per rule)."""
    home = PACKAGE / THRESHOLDS_HOME
    tree = ast.parse(home.read_text(encoding="utf-8"))
    (decl,) = [n for n in tree.body if isinstance(n, ast.AnnAssign | ast.Assign) and
               "HASHERS" in ast.unparse(n.target if isinstance(n, ast.AnnAssign)
                                        else n.targets[0])]
    at_home = bare_numbers(home.read_text(encoding="utf-8"), PDQ_NUMBERS)
    assert {n for n, _ in at_home} and \
        all(decl.lineno <= n <= decl.end_lineno for n, _ in at_home), at_home
    stray, used = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == THRESHOLDS_HOME:
            continue
        for n, line in bare_numbers(path.read_text(encoding="utf-8"), PDQ_NUMBERS):
            known = [key for key in NOT_PDQ if key[0] == rel and key[1] in line]
            used.update(known)
            if not known:
                stray.append(f"osintkit/{rel}:{n}: {line}")
    assert not stray, "PDQ threshold written outside HASHERS?\n" + "\n".join(stray)
    assert used == set(NOT_PDQ), f"stale NOT_PDQ entries: {set(NOT_PDQ) - used}"


def test_the_docs_table_of_hash_kinds_says_what_hashers_says():
    """docs/matching.md lists each kind's bits and near threshold (and PDQ's quality
    floor): the numbers come from HASHERS, so the page must agree with it."""
    import re

    from osintkit.match.hashing import HASHERS

    text = (ROOT / "docs" / "matching.md").read_text(encoding="utf-8")
    table = {m[0]: (int(m[1]), int(m[2])) for m in
             re.findall(r"^\| `(\w+)` \| (\d+)[^|]*\| [^|]+\| (\d+) \|", text, re.M)}
    assert table == {k: (h.bits, h.threshold) for k, h in HASHERS.items()}
    pdq_row = next(line for line in text.splitlines() if line.startswith("| `pdq` |"))
    assert f"below {HASHERS['pdq'].min_quality} " in pdq_row
