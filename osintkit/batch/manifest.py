"""Batch stage, step 1: read a manifest of claims (YAML list, JSON array, JSON Lines, CSV),
or claim files themselves (`osintkit batch claims/*.yaml`).

Every entry becomes a `Row`: a Claim built by `claim.claim_from_dict`, or the one-line
reason (with the line number) why it could not be. An entry may also be the path of a
claim file (a YAML/JSON string, a CSV `claim_file` cell, a line of a .txt list), relative
to the manifest: its media are then relative to the claim file. Only an unusable file
raises.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from osintkit.claim import claim_from_dict
from osintkit.errors import ErrorInfo, InputError
from osintkit.safeload import Loader, LoadError, check_node, compose, construct, json_value

CSV_COLUMNS = ("id", "url", "claimed_at", "lat", "lon", "radius_km", "media")
CSV_EXTRA = ("title", "claimant", "place", "timezone", "posted_at", "notes", "analyst", "case",
             "claim_file")
INVALID_ROW = "invalid_row"
MAX_MANIFEST_BYTES = 100_000_000
_Loader = Loader  # the safe YAML loader of claim files (osintkit/safeload.py)


@dataclass
class Row:
    """One manifest entry: a claim record that parsed, or the reason it did not."""

    line: int
    id: str
    record: dict[str, Any] | None = None
    claim: Any = None  # osintkit.claim.Claim
    error: ErrorInfo | None = None
    source: Path | None = None  # the claim file the record came from (media relative to it)


@dataclass
class Manifest:
    """A parsed manifest: its rows in file order."""

    path: Path
    format: str  # "yaml" | "json" (an array) | "jsonl" | "csv" | "txt" | "claims"
    rows: list[Row]
    name: str = ""  # the batch's name (JUnit <testsuites name>): the manifest's stem

    @property
    def good(self) -> list[Row]:
        return [r for r in self.rows if r.error is None]

    @property
    def bad(self) -> list[Row]:
        return [r for r in self.rows if r.error is not None]


def read_manifest(path: str | Path) -> Manifest:
    """Parse a YAML list, JSON array, JSON Lines or CSV manifest; bad rows keep their error.

    Raises InputError (exit 2) only when the file as a whole is unusable.
    """
    path = Path(path)
    text = _read_text(path)
    fmt = _manifest_format(path, text)
    entries = {"yaml": _yaml_entries, "json": _json_array_entries, "jsonl": _jsonl_entries,
               "csv": _csv_entries, "txt": _txt_entries}[fmt]
    rows = [_row(path, line, rec) for line, rec in entries(path, text)]
    _mark_duplicates(path, rows)
    if not rows:
        raise InputError(f"{path}: manifest holds no claims", code="empty")
    return Manifest(path, fmt, rows, path.stem)


def read_sources(paths: list[str | Path]) -> Manifest:
    """What `osintkit batch` was given: one manifest, or claim files (and manifests).

    A claim file (a YAML/JSON mapping, not a list) is one row, numbered by its position
    on the command line; a manifest among several paths adds its rows.
    Raises InputError when nothing usable was given.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("nothing to run: give a manifest or claim files", code="empty")
    if len(paths) == 1 and not is_claim_path(paths[0]):
        return read_manifest(paths[0])
    rows: list[Row] = []
    for n, p in enumerate(paths, 1):
        if is_claim_path(p):
            rows.append(_claim_file_row(p, n, p))
        else:
            rows.extend(read_manifest(p).rows)
    base = Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    _mark_duplicates(base, rows)
    return Manifest(base, "claims", rows, base.name or "claims")


def is_claim_path(path: Path) -> bool:
    """A claim file (one mapping) rather than a manifest (a list of claims)?"""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json") or not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    body = "\n".join(line for line in head.splitlines()
                     if line.strip() and not line.lstrip().startswith("#"))
    if suffix == ".json":
        return body.lstrip().startswith("{") and "\n{" not in body.strip()[1:] and \
            _json_mapping(path)
    first = body.lstrip()[:1]
    return bool(body) and first not in ("-", "[") and not re.search(r"^claims\s*:", body,
                                                                     re.MULTILINE)


def _json_mapping(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8-sig")), dict)
    except (OSError, ValueError, RecursionError):
        return False


def _claim_file_row(claim_path: Path, line: int, where: Path) -> Row:
    """A row from a claim file: the record is its mapping, media relative to it."""
    from osintkit.claim import read_mapping

    default_id = claim_path.stem
    try:
        rec = read_mapping(claim_path)
        claim_id = str(rec.get("id") or default_id)
        claim = claim_from_dict(rec, base_dir=claim_path.parent, default_id=claim_id,
                                source=claim_path)
        if not claim.urls and not claim.media:
            raise ValueError("nothing to verify: give urls or media")
        json.dumps(rec)
    except InputError as exc:
        return Row(line, default_id, error=ErrorInfo(INVALID_ROW, exc.message),
                   source=claim_path)
    except Exception as exc:
        return Row(line, default_id, error=ErrorInfo(INVALID_ROW, f"{claim_path}: "
                                                     f"{one_line(exc)}"), source=claim_path)
    rec = {**rec, "id": claim_id}
    return Row(line, claim_id, rec, claim, source=claim_path)


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise InputError(f"{path}: manifest is larger than {MAX_MANIFEST_BYTES} bytes "
                             "(split it)", code="too_large")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: manifest not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read manifest: {exc.strerror or exc}",
                         code="unreadable") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: manifest is not UTF-8 text (byte {exc.start})",
                         code="invalid_manifest") from None


def _manifest_format(path: Path, text: str) -> str:
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


def _row(path: Path, line: int, rec: Any) -> Row:
    default_id = f"line-{line}"
    if isinstance(rec, Exception):
        return Row(line, default_id, error=_row_error(path, line, rec))
    if isinstance(rec, str):  # the path of a claim file, relative to the manifest
        target = Path(rec).expanduser()
        row = _claim_file_row(target if target.is_absolute() else path.parent / target,
                              line, path)
        if row.error is not None:
            row.error = ErrorInfo(INVALID_ROW, f"{path}: line {line}: {row.error.message}")
        return row
    if not isinstance(rec, dict):
        err = ValueError("a claim is a mapping (id, claimed_at, place, urls, media, ...) "
                         "or the path of a claim file")
        return Row(line, default_id, error=_row_error(path, line, err))
    claim_id = str(rec.get("id") or default_id)
    try:
        claim = claim_from_dict(rec, base_dir=path.parent, default_id=claim_id, source=path)
        if not claim.urls and not claim.media:
            raise ValueError("nothing to verify: give urls or media")
        json.dumps(rec)  # tasks travel as JSON: no YAML sets, binaries or odd keys

    except Exception as exc:  # any bad value is this row's error; the others still run
        return Row(line, claim_id, rec, error=_row_error(path, line, exc))
    return Row(line, claim_id, rec, claim)


def _row_error(path: Path, line: int, exc: Exception) -> ErrorInfo:
    return ErrorInfo(INVALID_ROW, f"{path}: line {line}: {one_line(exc)}")


def _mark_duplicates(path: Path, rows: list[Row]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        if row.error:
            continue
        folder = folder_name(row.id).lower()  # case-insensitive file systems
        if folder in seen:
            row.error = ErrorInfo(INVALID_ROW, f"{path}: line {row.line}: duplicate id "
                                  f"{row.id!r} (first at line {seen[folder]})")
        else:
            seen[folder] = row.line


def folder_name(claim_id: str) -> str:
    """A safe folder name for a claim id (ids come from untrusted manifests)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", claim_id).strip("._")[:120]
    return name or "claim"


def one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


