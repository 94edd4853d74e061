"""Archive stage: `archive add --manifest FILE`, a list of known material in one command.

A manifest names each file with its provenance:

    items:                          # YAML (a list, or a mapping with `items`), JSON, JSONL
      - file: 2019_parade.jpg       # relative to the manifest
        source: sample-news-archive
        first_seen: 2019-05-09
        title: Parade rehearsal
        tags: [parade, 2019]        # a list, or "a;b"

or CSV with the header `file,source,first_seen,title,tags` (tags separated by `;`).
Command-line `--source/--first-seen/--title/--tag` fill what a row leaves out. Rows are
checked first: a row without a file, source or first_seen, or with a bad date, stops the
whole manifest (every bad row reported by line, nothing added). Files that are missing
or unreadable then fail one by one, as in `archive add FILES`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from osintkit.archive.models import parse_date
from osintkit.errors import ArchiveError, InputError

FIELDS = ("file", "source", "first_seen", "title", "tags")
MAX_BYTES = 50_000_000


@dataclass
class Entry:
    """One manifest row, validated: the file and its provenance."""

    line: int
    path: Path
    source: str
    first_seen: str
    title: str | None = None
    tags: list[str] = field(default_factory=list)

    def meta_key(self) -> tuple[Any, ...]:
        return (self.source, self.first_seen, self.title, tuple(self.tags))


class _Loader(yaml.SafeLoader):
    """Safe YAML keeping dates as text (parse_date reads them)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in res if tag != "tag:yaml.org,2002:timestamp"]
    for ch, res in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _rows(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        yield from _csv_rows(path, text, "\t" if suffix == ".tsv" else ",")
    elif suffix in (".jsonl", ".ndjson"):
        yield from _jsonl_rows(text)
    else:
        yield from _yaml_rows(path, text)


def _csv_rows(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if "file" not in {h.strip().lower() for h in reader.fieldnames or []}:
        raise InputError(f"{path}: line 1: CSV header needs a `file` column "
                         f"(columns: {', '.join(FIELDS)})", code="invalid_manifest")
    for row in reader:
        yield reader.line_num, {(k or "").strip().lower(): v for k, v in row.items()}


def _jsonl_rows(text: str) -> Iterator[tuple[int, Any]]:
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield n, json.loads(line)
            except ValueError as exc:
                yield n, ValueError(f"not valid JSON: {exc}")


def _yaml_rows(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    try:
        node = yaml.compose(text, Loader=_Loader)  # JSON is YAML too; keeps line numbers
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML/JSON: {' '.join(str(exc).split())}",
                         code="invalid_manifest") from None
    if isinstance(node, yaml.MappingNode):
        node = next((v for k, v in node.value if k.value == "items"), None)
    if not isinstance(node, yaml.SequenceNode):
        raise InputError(f"{path}: a manifest is a list of items (or `items: [...]`) "
                         "with file, source, first_seen, title, tags", code="invalid_manifest")
    loader = _Loader("")
    for child in node.value:
        yield child.start_mark.line + 1, loader.construct_document(child)


def _tags(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.replace(",", ";").split(";") if t.strip()]
    if isinstance(value, list):
        return [str(t).strip() for t in value if str(t).strip()]
    raise ValueError("tags: a list, or text separated by ';'")


def _entry(base: Path, line: int, row: Any, defaults: dict[str, Any]) -> Entry:
    if isinstance(row, Exception):
        raise row
    if isinstance(row, str):
        row = {"file": row}
    if not isinstance(row, dict):
        raise ValueError(f"an item is a mapping ({', '.join(FIELDS)})")
    unknown = sorted(set(map(str, row)) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    file = str(row.get("file") or "").strip()
    if not file:
        raise ValueError("no `file`")
    source = str(row.get("source") or defaults.get("source") or "").strip()
    seen = row.get("first_seen") or defaults.get("first_seen")
    if not source or not seen:
        raise ValueError(f"{file}: needs source and first_seen (in the row or --source/"
                         "--first-seen)")
    try:
        first = parse_date(seen)
    except ArchiveError as exc:
        raise ValueError(f"{file}: {exc.message}") from None
    path = Path(file).expanduser()
    tags = _tags(row.get("tags")) or list(defaults.get("tags") or [])
    title = row.get("title") or defaults.get("title")
    return Entry(line, path if path.is_absolute() else base / path, source, first,
                 str(title) if title else None, tags)


def read_add_manifest(path: str | Path, source: str | None = None,
                      first_seen: Any = None, title: str | None = None,
                      tags: tuple[str, ...] = ()) -> list[Entry]:
    """The manifest's entries, validated. Raises InputError (exit 2) naming every bad row,
    so a manifest with a typo adds nothing."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path}: manifest is larger than {MAX_BYTES} bytes",
                             code="too_large")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: manifest not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read manifest ({exc})", code="unreadable") from None
    defaults = {"source": source, "first_seen": first_seen, "title": title, "tags": list(tags)}
    entries, bad = [], []
    for line, row in _rows(path, text):
        try:
            entries.append(_entry(path.parent, line, row, defaults))
        except (ValueError, TypeError) as exc:
            bad.append(f"line {line}: {' '.join(str(exc).split())}")
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise InputError(f"{path}: {'; '.join(bad[:5])}{more}; nothing added",
                         code="invalid_manifest")
    if not entries:
        raise InputError(f"{path}: manifest lists no files", code="empty")
    return entries


def groups(entries: list[Entry]) -> list[tuple[Entry, list[Path]]]:
    """Entries sharing their provenance, in manifest order: one `Archive.add` call each."""
    out: dict[tuple[Any, ...], tuple[Entry, list[Path]]] = {}
    for e in entries:
        out.setdefault(e.meta_key(), (e, []))[1].append(e.path)
    return list(out.values())
