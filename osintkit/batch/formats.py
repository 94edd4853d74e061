"""Batch stage, step 1a: the manifest formats. Each reader turns a manifest's text into
entries (line number, parsed record or the Exception that record raised): a YAML list,
a JSON array, JSON Lines, CSV (one claim a row) or a .txt list of claim files.
Bad entries are values, never raised: manifest.py makes each one a row with its error.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from osintkit.errors import InputError, one_line
from osintkit.safeload import Loader, LoadError, check_node, compose, construct, json_value

CSV_COLUMNS = ("id", "url", "claimed_at", "lat", "lon", "radius_km", "media")
CSV_EXTRA = ("title", "claimant", "place", "timezone", "posted_at", "notes", "analyst", "case",
             "claim_file")


def manifest_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    head = text.lstrip()[:1]
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if head == "[" and suffix != ".csv":
        return "json"  # a JSON array of claims
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".txt", ".lst", ".list"):
        return "txt"  # one claim file per line
    if head == "{":
        return "jsonl"
    if head == "-":
        return "yaml"
    if text.split("\n", 1)[0].split(",")[0].strip() == "id":
        return "csv"
    raise InputError(f"{path}: unknown manifest format (use .yaml, .jsonl or .csv)",
                     code="unsupported")


Entry = tuple[int, Any]  # (line number, parsed record or an Exception)


def _yaml_entries(path: Path, text: str) -> Iterator[Entry]:
    """Each entry of a YAML list; aliases that repeat a node, deep nesting and duplicate
    keys make that entry's error (osintkit/safeload.py); a broken file raises."""
    loader = Loader(text)
    try:
        try:
            root = compose(loader)
        except LoadError as exc:
            where = f" line {exc.line}:" if exc.line else ""
            raise InputError(f"{path}:{where} {exc.reason}", code="invalid_manifest") from None
        if isinstance(root, yaml.MappingNode):  # also accept {claims: [...]}
            root = next((v for k, v in root.value if k.value == "claims"), root)
        if not isinstance(root, yaml.SequenceNode):
            raise InputError(f"{path}: a YAML manifest is a list of claims",
                             code="invalid_manifest")
        for node in root.value:
            line = node.start_mark.line + 1
            try:
                check_node(node)
                yield line, construct(loader, node)
            except LoadError as exc:
                yield line, ValueError(exc.reason)
    finally:
        loader.dispose()


def _json_array_entries(path: Path, text: str) -> Iterator[Entry]:
    """A JSON array, element by element, each with the line it starts on."""
    pos = text.index("[") + 1
    while True:
        pos = _skip(text, pos)
        if pos < len(text) and text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            item, end = json_value(text, pos, whole=False)
        except LoadError as exc:
            if exc.code == "syntax":  # the array cannot be followed past this point
                raise InputError(f"{path}: line {exc.line or line}: {exc.reason}",
                                 code="invalid_manifest") from None
            yield line, ValueError(exc.reason)  # nesting, duplicate keys: this entry only
            end = _value_end(text, pos)
            if end is None:
                raise InputError(f"{path}: line {line}: not valid JSON: {exc.reason}",
                                 code="invalid_manifest") from None
        else:
            yield line, item
        pos = _skip(text, end)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos >= len(text) or text[pos] != "]":
            line = text.count("\n", 0, pos) + 1
            raise InputError(f"{path}: line {line}: not valid JSON: expected ',' or ']'",
                             code="invalid_manifest")


def _value_end(text: str, pos: int) -> int | None:
    """Where the JSON value starting at `pos` ends, found with a plain decoder (which keeps
    duplicate keys); None when it cannot be decoded either."""
    try:
        return json.JSONDecoder().raw_decode(text, pos)[1]
    except (ValueError, RecursionError):
        return None


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _jsonl_entries(path: Path, text: str) -> Iterator[Entry]:
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            yield line, json_value(raw)[0]
        except LoadError as exc:
            yield line, ValueError(exc.reason)


def _txt_entries(path: Path, text: str) -> Iterator[Entry]:
    """A plain list of claim files, one path per line (`ls claims/*.yaml > list.txt`)."""
    for line, raw in enumerate(text.splitlines(), 1):
        if raw.strip() and not raw.lstrip().startswith("#"):
            yield line, raw.strip()


def _csv_entries(path: Path, text: str) -> Iterator[Entry]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        header, unknown = [], [one_line(exc)]
    else:
        unknown = [h for h in header if h not in CSV_COLUMNS + CSV_EXTRA]
    if not header or unknown or not {"id", "claim_file"} & set(header):
        raise InputError(f"{path}: line 1: CSV header must name columns from "
                         f"{','.join(CSV_COLUMNS)} (unknown: {','.join(unknown) or '-'})",
                         code="invalid_manifest")
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit(): skip the row
            yield reader.line_num, ValueError(f"not valid CSV: {one_line(exc)}")
            continue
        yield from _csv_row(header, cells, reader.line_num)


def _csv_row(header: list[str], cells: list[str], line: int) -> Iterator[Entry]:
    if not cells or cells[0].lstrip().startswith("#"):
        return
    if len(cells) != len(header):
        yield line, ValueError(f"expected {len(header)} fields, found {len(cells)}")
        return
    try:
        yield line, csv_record(dict(zip(header, cells, strict=True)))
    except ValueError as exc:
        yield line, exc


def csv_record(cells: dict[str, str]) -> dict[str, Any]:
    """A CSV row (`id,url,claimed_at,lat,lon,radius_km,media`) → a claim record.

    `url` and `media` may hold several values separated by `;` or `|`.
    """
    values = {k: v.strip() for k, v in cells.items() if v and v.strip()}
    if "claim_file" in values:  # the row names a claim file: it holds the claim
        return values["claim_file"]  # type: ignore[return-value]
    rec: dict[str, Any] = {k: values[k] for k in ("id", "claimed_at", "title", "claimant",
                                                   "timezone", "posted_at", "notes",
                                                   "analyst", "case")
                           if k in values}
    if "url" in values:
        rec["urls"] = _split(values["url"])
    if "media" in values:
        rec["media"] = _split(values["media"])
    place = {k: _number(k, values[k]) for k in ("lat", "lon", "radius_km") if k in values}
    if "place" in values:
        place["name"] = values["place"]
    if place:
        if "lat" not in place or "lon" not in place:
            raise ValueError("place: lat and lon go together")
        rec["place"] = place
    return rec


def _split(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;|]", text) if p.strip()]


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}: not a number: {text!r}") from None


READERS: dict[str, Callable[[Path, str], Iterator[Entry]]] = {
    "yaml": _yaml_entries, "json": _json_array_entries, "jsonl": _jsonl_entries,
    "csv": _csv_entries, "txt": _txt_entries}
