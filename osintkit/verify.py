"""The pipeline for one claim: the only place that strings the stages together.

    claim ──► fetch ──► media (metadata, hashes) ──► archive ──► checks ──► report

`verify_claim` reads as the six numbered steps of its docstring; `verify_target` turns
what a user typed (a URL, a file, a directory or a claim file) into a Claim first.
One bad media item never stops the others: its failure is recorded in the report.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from osintkit.checks import CheckContext, MediaItem, run_checks, select_checks
from osintkit.checks.verdict import decide
from osintkit.claim import Claim, apply_overrides, is_claim_file, load_claim
from osintkit.errors import NOT_FOUND, UNREADABLE, ErrorInfo, InputError, error_info
from osintkit.report.model import Report
from osintkit.report.render import write_report
from osintkit.spread import origin_of

EVIDENCE_DIR = "evidence"


@dataclass
class VerifyOptions:
    """How to verify. Every field has a default; batch passes them as a dict."""

    formats: tuple[str, ...] = ("json", "html", "md")
    tolerance_hours: float = 24.0  # slack on every date comparison (zones, camera clocks)
    max_distance: int | None = None  # archive PDQ distance limit (None: the archive's default)
    video_every: float = 1.0  # seconds between sampled video frames
    search_archive: bool = True
    fast: bool = False  # archive: hash views only (no local features, no copy/scene verdict)
    allow_private: bool = False  # fetch: allow private/loopback addresses
    max_bytes: int = 200_000_000
    max_items: int = 50
    timeout: float = 30.0
    proxy: str | None = None
    analyst: str | None = None  # custody: who runs the verification (else the claim's)
    case: str | None = None  # custody: the case number (else the claim file's `case`)
    checks: tuple[str, ...] | None = None  # run only these check codes (None: all)
    skip_checks: tuple[str, ...] = ()  # never run these check codes

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["formats"] = list(self.formats)
        out["checks"] = None if self.checks is None else list(self.checks)
        out["skip_checks"] = list(self.skip_checks)
        return out

    def check_note(self) -> str | None:
        """What the verdict must say when not every check ran, else None."""
        if self.checks is None and not self.skip_checks:
            return None
        ran = "only " + ", ".join(self.checks) if self.checks is not None else "all checks"
        left = f" except {', '.join(self.skip_checks)}" if self.skip_checks else ""
        return f"checks run by request: {ran}{left}; a finding the others would make is not here"


@dataclass
class _Collected:
    """What step 1 gathered: media to read, the fetched page, failures."""

    media: list[MediaItem] = field(default_factory=list)
    page: Any = None
    captures: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    furniture: list[dict[str, Any]] = field(default_factory=list)  # page furniture, not checked
    intakes: dict[str, dict[str, Any]] = field(default_factory=dict)  # media id -> custody


def verify_claim(claim: Claim, out_dir: str | Path, *, db_url: str | None = None,
                 options: VerifyOptions | None = None) -> Report:
    """Verify one claim and write its report into out_dir.

    1. Collect the media: fetch each URL (evidence kept in out_dir/evidence), add local files.
    2. Read metadata and hashes of every media item (video frames included).
    3. Search the archive of known material for every item.
    4. Run the registered checks → findings.
    5. Decide the verdict from the findings (documented rules).
    6. Build the report and write it (report.json / .html / .md).
    """
    from osintkit.report import archive_block, custody
    from osintkit.report.levels import media_levels
    from osintkit.report.mapsvg import map_data
    from osintkit.report.next_steps import Facts, next_steps

    opts = options or VerifyOptions()
    try:  # an unknown check code is a usage error, before anything is fetched
        select_checks(opts.checks, opts.skip_checks)
    except ValueError as exc:
        raise InputError(str(exc), code="usage") from None
    out = Path(out_dir)
    started = custody.now_utc()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the report folder: {exc.strerror or exc}",
                         code=UNREADABLE) from None
    # 1. Collect the media (local files: custody recorded at intake).
    got = _collect(claim, out / EVIDENCE_DIR, opts)
    # 2. Metadata and hashes.
    for item in got.media:
        _read_item(item, opts, got.intakes.get(item.id))
    # 3. Archive search; the spread of the media over the claim's URLs.
    archive_info = _search_archive(got.media, db_url, opts)
    spread = _spread(claim, got.media)
    # 4. Checks.
    ctx = CheckContext(claim=claim, media=got.media, page=got.page, out_dir=out,
                       tolerance=timedelta(hours=opts.tolerance_hours), spread=spread)
    findings, check_errors = run_checks(ctx, opts.checks, opts.skip_checks)
    # 5. Verdict, with what the archive could not show; a level per media item; next steps.
    ok = sum(1 for m in got.media if m.ok)
    verdict = decide(findings, media_ok=ok, media_failed=len(got.media) - ok)
    notes = archive_block.reasons(archive_info, ok) + [n for n in [opts.check_note()] if n]
    at = len(verdict.reasons) - (verdict.level in ("no-contradiction-found", "corroborated"))
    verdict.reasons[at:at] = notes  # before the closing "this does not confirm" sentence
    levels = media_levels(got.media, findings, claim, archive_info)
    steps = next_steps(Facts(claim, got.media, findings, archive_info, got.page))
    # 6. Report.
    report = Report(claim=claim, media=got.media, findings=findings, verdict=verdict,
                    out_dir=out, page=got.page, captures=got.captures,
                    errors=got.errors + [{**m.error.to_dict(), "media": m.id}
                                         for m in got.media if m.error],
                    check_errors=check_errors, archive=archive_info, options=opts.to_dict(),
                    furniture=got.furniture,
                    custody=custody.block(claim, got.media, got.intakes, opts.analyst,
                                          opts.case, started),
                    media_levels=levels, next_steps=steps, map=map_data(claim, got.media),
                    spread=spread)
    write_report(report, out, opts.formats)
    return report


# ---------------------------------------------------------------- step 1
def _collect(claim: Claim, evidence: Path, opts: VerifyOptions) -> _Collected:
    from osintkit.report.custody import intake

    got = _Collected()
    for n, url in enumerate(claim.urls, 1):  # one evidence folder per URL
        _fetch_into(got, url, evidence if n == 1 else evidence.with_name(f"{evidence.name}-{n}"),
                    opts)
    local: list[MediaItem] = []
    if claim.media:
        from osintkit.media.probe import iter_inputs

        def skipped(path: Path, reason: str) -> None:
            got.errors.append({"code": "skipped", "message": f"{path}: {reason}"})

        for inp in iter_inputs(claim.media, skipped):
            error = inp.error
            if error is not None and error.code == NOT_FOUND:
                error = ErrorInfo(NOT_FOUND, missing_message(str(inp.path)))
            item = MediaItem(id="", name=inp.path.name, path=inp.path, error=error)
            got.media.append(item)
            local.append(item)
    for n, item in enumerate(got.media, 1):
        item.id = f"m{n}"
    for item in local:  # custody: what was received, before anything reads it
        if item.ok and item.path is not None:
            record = intake(item.path)
            if record is not None:
                got.intakes[item.id] = record
    return got


def _fetch_into(got: _Collected, url: str, evidence: Path, opts: VerifyOptions) -> None:
    from osintkit.fetch import fetch

    try:
        cap = fetch(url, evidence, allow_private=opts.allow_private, max_bytes=opts.max_bytes,
                    max_items=opts.max_items, timeout=opts.timeout, proxy=opts.proxy)
    except Exception as exc:  # an unreachable URL is this URL's failure, not the claim's
        got.errors.append({**error_info(exc).to_dict(), "url": url})
        return
    got.page = got.page or cap.page
    got.captures.append({"url": url, "out_dir": str(cap.out_dir), "ok": cap.ok,
                         "items": len(cap.items),
                         "error": cap.error.to_dict() if cap.error else None})
    if cap.error:
        got.errors.append({**cap.error.to_dict(), "url": url})
    for fi in cap.items:
        if fi.role != "claim":  # page furniture: listed in the report, never checked
            got.furniture.append({"url": fi.url, "found_on": fi.found_on, "why": fi.why,
                                  "kind": fi.kind, "file": fi.path.name if fi.path else None})
            continue
        got.media.append(MediaItem(id="", name=_url_name(fi.final_url or fi.url),
                                   path=fi.path, source_url=fi.url, kind=fi.kind,
                                   fetched=fi, error=None if fi.ok else fi.error,
                                   origin=origin_of(fi, cap.page, url)))


def _url_name(url: str) -> str:
    tail = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return tail or urlsplit(url).netloc or url


# ---------------------------------------------------------------- step 2
def _read_item(item: MediaItem, opts: VerifyOptions,
               intake: dict[str, Any] | None = None) -> None:
    if not item.ok or item.path is None:
        return
    from osintkit.match.hashfile import hash_file
    from osintkit.media.metadata import read_metadata

    item.metadata = read_metadata(item.path)
    if not item.metadata.ok:
        item.error = item.metadata.error
        return
    item.kind = item.metadata.kind
    # a video keeps its reduced frames for the robust archive search (dropped after it)
    item.hashes = hash_file(item.path, every=opts.video_every,
                            pixels=opts.search_archive and not opts.fast)
    if not item.hashes.ok:
        item.error = item.hashes.error
    elif intake is not None and item.hashes.sha256 not in (None, intake["sha256"]):
        item.error = ErrorInfo(UNREADABLE, f"{item.path}: the file changed while it was "
                                           "being verified (sha256 differs from intake)")


# ---------------------------------------------------------------- step 3
def _search_archive(media: list[MediaItem], db_url: str | None,
                    opts: VerifyOptions) -> dict[str, Any]:
    """Search every hashed item; the archive block of the report (identity, content, state).

    Never creates an archive: a missing or unusable one is recorded (`error`) and the
    verdict says the archive was not searched."""
    from osintkit.archive import open_archive
    from osintkit.archive.store import parse_url
    from osintkit.report.archive_block import describe

    info: dict[str, Any] = {"searched": False}
    if not opts.search_archive:
        return {**info, "skipped": "--no-archive was given"}
    try:
        target = parse_url(db_url)
        info.update(url=target.display, identity=target.display)
        with open_archive(db_url, create=False) as archive:
            info.update(describe(archive, not opts.fast))
            todo = [m for m in media if m.ok and m.hashes is not None]
            notes: list[str] = []
            for item in todo:
                item.matches = archive.search(item.hashes, max_distance=opts.max_distance,
                                              robust=not opts.fast)
                item.archived = {m.item_id: archive.get(m.item_id) for m in item.matches}
                item.hashes.pixels = None  # a video's kept frames: only the search needs them
                notes += [n for n in archive.last_notes if n not in notes]
            info["searched"] = bool(todo)
            info["mode"] = "fast" if opts.fast else "robust"
            if notes:
                info["notes"] = notes
            if not todo:
                info["skipped"] = "no media could be read"
    except Exception as exc:  # an unusable archive is reported, the other checks still run
        info["error"] = error_info(exc).message
    for item in media:
        if item.hashes is not None:
            item.hashes.pixels = None
    return info


def _spread(claim: Claim, media: list[MediaItem]) -> list[Any]:
    """A claim with several URLs: its media grouped by what they show (spread.py)."""
    if len(claim.urls) < 2:
        return []
    from osintkit.spread import build_spread

    return build_spread(media)


def check_archive(db_url: str | None, options: VerifyOptions | None = None) -> None:
    """Refuse, before any work, an archive that does not exist or cannot be opened.

    Raises ArchiveError (exit 2, one line). Never creates anything: a typo in --db must not
    become an empty archive that passes a recycled claim. Nothing to check with
    --no-archive (`options.search_archive` False).
    """
    from osintkit.archive import open_archive
    from osintkit.archive.store import NO_ARCHIVE, parse_url
    from osintkit.errors import ArchiveError

    if options is not None and not options.search_archive:
        return
    try:
        open_archive(db_url, create=False).close()
    except ArchiveError as exc:
        if exc.code != NO_ARCHIVE:
            raise
        if not db_url:
            raise ArchiveError(
                f"no archive to search: the default archive {parse_url(None).display} does "
                "not exist; give --db URL (or OSINTKIT_DB), build one with `osintkit archive "
                "add`, or pass --no-archive", code=NO_ARCHIVE) from None
        raise ArchiveError(f"{exc.message.rstrip(')')}; or pass --no-archive)",
                           code=NO_ARCHIVE) from None


# ---------------------------------------------------------------- targets
_URL_RE = re.compile(r"^https?://", re.IGNORECASE)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "claim"


_MEDIA_SUFFIXES = frozenset(("jpg", "jpeg", "png", "gif", "webp", "heic", "heif", "avif",
                             "tif", "tiff", "bmp", "mp4", "mov", "m4v", "mkv", "webm", "avi",
                             "3gp", "ts", "yaml", "yml", "json", "txt", "csv", "md", "html"))
_HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+([a-z]{2,24})(?::\d+)?"
                      r"(?:[/?#].*)?$", re.IGNORECASE)


def url_hint(text: str) -> str | None:
    """`https://TEXT` when a missing path looks like a URL typed without its scheme
    (t.me/s/channel/1, example.org/post), else None."""
    m = _HOST_RE.match(text.strip())
    if not m or text.startswith(("/", ".", "~")):
        return None
    host = text.split("/", 1)[0]
    if m.group(1).lower() in _MEDIA_SUFFIXES and "/" not in text and "?" not in text:
        return None  # photo.jpg is a file name, not a host
    if host.rsplit(".", 1)[-1].lower() in _MEDIA_SUFFIXES:
        return None
    return f"https://{text.strip()}"


def missing_message(text: str) -> str:
    """One line for a target or media path that does not exist (with a URL hint)."""
    hint = url_hint(text)
    tail = f" (a URL needs its scheme: did you mean {hint} ?)" if hint else ""
    return f"{text}: no such file, directory or http(s) URL{tail}"


def claim_for_targets(targets: list[str]) -> Claim:
    """URLs, files and directories as one claim; or a single claim file (YAML/JSON).

    A path that does not exist stays in the claim as a media item that failed (listed in
    the report's errors, the other media still checked), as in a claim file."""
    if not targets:
        raise InputError("nothing to verify: give a URL, a file, a directory or a claim file")
    files = [t for t in targets if not _URL_RE.match(t) and is_claim_file(t)]
    if files:
        if len(targets) > 1:
            raise InputError(f"{files[0]}: a claim file must be the only target",
                             code="invalid_claim")
        return load_claim(files[0])
    urls, media = [], []
    for t in targets:
        if _URL_RE.match(t):
            urls.append(t)
        else:
            media.append(Path(t))
    first = urls[0] if urls else Path(media[0]).name
    name = _url_name(first) if urls else first
    return Claim(id=_slug(name), urls=urls, media=media)


DEFAULT_OUT = Path("osintkit-reports")


def verify_target(target: str | list[str], out_dir: str | Path | None = None, *,
                  db_url: str | None = None, options: VerifyOptions | None = None,
                  **overrides: Any) -> Report:
    """Resolve URL|FILE|DIR|CLAIM.yaml into a Claim, apply overrides, verify it.

    `overrides`: claim_date, claim_place, radius_km, place_name, posted_at, tz (see
    `claim.apply_overrides`). Without out_dir: ./osintkit-reports/<claim id>.
    Raises InputError (exit 2) for unusable targets, ArchiveError (exit 2) when the
    archive to search does not exist or cannot be opened (see `check_archive`).
    """
    targets = [target] if isinstance(target, str) else list(target)
    claim = apply_overrides(claim_for_targets(targets), **overrides)
    check_archive(db_url, options)
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT / _slug(claim.id)
    return verify_claim(claim, out, db_url=db_url, options=options)


def unusable_reason(report: Report) -> ErrorInfo | None:
    """Why a report has nothing to show (no media item could be read), else None."""
    if report.usable:
        return None
    if report.errors:
        first = next((e for e in report.errors if e.get("code") != "skipped"), report.errors[0])
        return ErrorInfo(first.get("code", "unusable"),
                         f"nothing could be verified: {first.get('message')}")
    return ErrorInfo("empty", "nothing could be verified: the claim has no media")
