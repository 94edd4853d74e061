"""Safe reading of untrusted YAML and JSON: every YAML/JSON input goes through here.

Claim files, batch manifests (YAML, JSON arrays, JSON Lines), evidence manifests and
`archive import` JSONL are written by people we do not trust. Beyond what the safe
loaders already refuse (Python objects), this module refuses:

- **alias re-use**: a YAML node reached twice in one document (`*name` pointing at an
  anchor). Nested aliases expand exponentially once turned into text ("billion laughs":
  a 400-byte claim becomes an 80 MB report), so no alias may repeat a node;
- **deep nesting**: more than `MAX_DEPTH` levels of lists/mappings (100,000 `[` made the
  pure-Python parsers recurse until Python gave up);
- **duplicate keys**: a mapping naming one key twice (YAML and JSON parsers silently keep
  the last one, so a second `claimed_at` would win unseen).

Each refusal is a `LoadError` (a ValueError) with a one-line reason and a stable `code`;
the caller adds the file name and its own error code (`invalid_claim`, ...).
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml

MAX_DEPTH = 64  # a claim is 3 levels deep, a manifest 4: 64 leaves room and no stack risk

# Stable codes of the refusals (LoadError.code).
ALIAS = "yaml_alias"
TOO_DEEP = "too_deep"
DUPLICATE_KEY = "duplicate_key"
SYNTAX = "syntax"

# libyaml when PyYAML has it: ~20x faster, and it refuses absurd nesting itself instead
# of recursing until Python gives up.
_SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LoadError(ValueError):
    """Untrusted YAML/JSON refused: a one-line reason, a stable code and the line if known."""

    def __init__(self, reason: str, code: str = SYNTAX, line: int | None = None) -> None:
        self.reason = one_line(reason)
        self.code = code
        self.line = line
        super().__init__(f"line {line}: {self.reason}" if line else self.reason)


class Loader(_SafeLoader):  # type: ignore[misc,valid-type]
    """Safe YAML that keeps dates and times as text: claim.py parses them with their zones."""


Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def one_line(text: object) -> str:
    """`text` on one line, at most 300 characters."""
    out = " ".join(str(text).split())
    return out[:300] or (type(text).__name__ if isinstance(text, BaseException) else "")


# ---------------------------------------------------------------- YAML
def load_yaml(text: str) -> Any:
    """One YAML document → Python data (timestamps stay strings). Raises LoadError."""
    loader = Loader(text)
    try:
        node = compose(loader)
        if node is None:
            return None
        check_node(node)
        return construct(loader, node)
    finally:
        loader.dispose()


def compose(loader: Any) -> yaml.Node | None:
    """The single document's node graph, syntax errors as LoadError (with the line)."""
    try:
        return loader.get_single_node()
    except RecursionError:
        raise LoadError(f"nested deeper than {MAX_DEPTH} levels", TOO_DEEP) from None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc) from None


def construct(loader: Any, node: yaml.Node) -> Any:
    """Python data from a node already passed by `check_node`."""
    try:
        return loader.construct_document(node)
    except RecursionError:
        raise LoadError(f"nested deeper than {MAX_DEPTH} levels", TOO_DEEP) from None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc) from None


def _yaml_error(exc: yaml.YAMLError) -> LoadError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None)
    text = " ".join(filter(None, [getattr(exc, "context", None), problem])) if problem else exc
    code = TOO_DEEP if "nesting depth" in str(exc) else SYNTAX
    return LoadError(f"not valid YAML: {one_line(text)}", code, line)


def check_node(root: yaml.Node) -> None:
    """Refuse a node graph that reaches one node twice (aliases), nests deeper than
    MAX_DEPTH, or repeats a key in a mapping. Iterative: no recursion on hostile input."""
    seen: set[int] = set()
    todo: list[tuple[yaml.Node, int]] = [(root, 1)]
    while todo:
        node, depth = todo.pop()
        if id(node) in seen:
            raise LoadError("YAML aliases (*name) that repeat a node are refused "
                            "(alias expansion)", ALIAS, node.start_mark.line + 1)
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise LoadError(f"nested deeper than {MAX_DEPTH} levels", TOO_DEEP,
                            node.start_mark.line + 1)
        if isinstance(node, yaml.SequenceNode):
            todo.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            keys: set[tuple[str, str]] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    ident = (key.tag, key.value)
                    if ident in keys:
                        raise LoadError(f"duplicate key {key.value!r}", DUPLICATE_KEY,
                                        key.start_mark.line + 1)
                    keys.add(ident)
                todo.append((key, depth + 1))
                todo.append((value, depth + 1))


# ---------------------------------------------------------------- JSON
def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise LoadError(f"duplicate key {key!r}", DUPLICATE_KEY)
        out[key] = value
    return out


def _no_constant(name: str) -> float:
    raise LoadError(f"{name} is not a JSON number", SYNTAX)


def load_json(text: str, *, allow_nan: bool = True) -> Any:
    """One JSON value → Python data. Raises LoadError (duplicate keys, nesting; NaN and
    Infinity too with allow_nan=False, else the fields that take numbers refuse them)."""
    return json_value(text, 0, allow_nan=allow_nan)[0]


def json_value(text: str, pos: int = 0, *, allow_nan: bool = True,
               whole: bool = True) -> tuple[Any, int]:
    """Decode the JSON value starting at `pos` → (value, end). With `whole`, nothing but
    white space may follow it."""
    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates,
                               parse_constant=(float if allow_nan else _no_constant))
    try:
        value, end = decoder.raw_decode(text, _skip_space(text, pos))
    except RecursionError:
        raise LoadError(f"nested deeper than {MAX_DEPTH} levels", TOO_DEEP) from None
    except json.JSONDecodeError as exc:
        raise LoadError(f"not valid JSON: {exc.msg} (column {exc.colno})", SYNTAX,
                        exc.lineno) from None
    if whole and _skip_space(text, end) != len(text):
        raise LoadError("not valid JSON: extra data after the value", SYNTAX,
                        text.count("\n", 0, end) + 1)
    check_depth(value)
    return value, end


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def check_depth(value: Any) -> None:
    """Refuse data nested deeper than MAX_DEPTH (iterative)."""
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise LoadError(f"nested deeper than {MAX_DEPTH} levels", TOO_DEEP)
            children = item.values() if isinstance(item, dict) else item
            todo.extend((child, depth + 1) for child in children)


def finite(name: str, value: Any) -> float:
    """`value` as a finite float; booleans, NaN and infinities refused (ValueError)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number, got {one_line(repr(value))[:60]}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number
