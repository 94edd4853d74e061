"""Checks stage: small registered functions that turn media facts into findings.

Each check is a function registered with a stable code and a severity:

    @check("GPS_FAR_FROM_CLAIMED_PLACE", severity="high")
    def gps_far(ctx: CheckContext) -> Finding | None:
        ...
        return ctx.finding("GPS 812 km from the claimed place", {"distance_km": 812})

A check with `scope="media"` (the default) runs once per readable media item
(`ctx.item`); `scope="claim"` runs once per claim (`ctx.item` is None). A check returns
None, one Finding or a list of them. Every module of this package is imported by
`load_checks()`, so a new module only has to exist to be picked up. Installed packages
add checks through the entry-point group `osintkit.checks` (the entry point names a
module whose `@check` functions register when it is imported; a package that fails to
load is reported, never stops a verification). The registry refuses duplicate codes;
`tests/test_checks.py` checks every built-in code is documented (docs/checks.md).
`run_checks(ctx, select=..., skip=...)` runs some of them (VerifyOptions.checks,
VerifyOptions.skip_checks).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osintkit.claim import Claim
from osintkit.errors import ErrorInfo, error_info

if TYPE_CHECKING:  # what the earlier stages hand on (imported for the types only)
    from osintkit.archive.models import Item, Match
    from osintkit.fetch.capture import FetchedItem
    from osintkit.fetch.pages import PageRecord
    from osintkit.match.hashfile import HashResult
    from osintkit.media.fields import Summary
    from osintkit.media.model import Metadata
    from osintkit.spread import SpreadGroup

SEVERITIES = ("info", "low", "medium", "high")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
DEFAULT_TOLERANCE = timedelta(hours=24)
_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{2,63}$")
ENTRY_POINTS = "osintkit.checks"  # the entry-point group of checks from other packages


@dataclass
class Finding:
    """One observation with its evidence. `media` is the media id ("m1") or None."""

    code: str
    severity: str
    message: str
    media: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "media": self.media,
                "message": self.message, "evidence": self.evidence}


@dataclass
class MediaItem:
    """One media item of a claim with everything the earlier stages learnt about it.

    `metadata` (media stage), `hashes` (match stage), `matches` the archive's matches
    (best first), `fetched` when the item came from a URL. `error` is set when the item
    could not be read; then the later fields may be missing.
    """

    id: str
    name: str
    path: Path | None = None
    source_url: str | None = None
    kind: str | None = None
    metadata: Metadata | None = None
    hashes: HashResult | None = None
    matches: list[Match] = field(default_factory=list)
    fetched: FetchedItem | None = None
    error: ErrorInfo | None = None
    archived: dict[int, Item] = field(default_factory=dict)  # item_id -> archive Item
    origin: dict[str, Any] | None = None  # the post/page that carried it (spread.origin_of)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def summary(self) -> Summary | None:
        """The metadata Summary (captured_at, gps, software...) or None."""
        return self.metadata.summary if self.metadata is not None else None


@dataclass
class CheckContext:
    """What a check sees: the claim, all media, the fetched page, and its own item."""

    claim: Claim
    media: list[MediaItem] = field(default_factory=list)
    page: PageRecord | None = None  # the claim's URL's page, when there is one
    item: MediaItem | None = None
    tolerance: timedelta = DEFAULT_TOLERANCE
    out_dir: Path | None = None  # the report folder: checks may write pictures under it
    spread: list[SpreadGroup] = field(default_factory=list)  # claims with several URLs
    code: str = ""  # set by run_checks for the running check
    severity: str = "info"

    def finding(self, message: str, evidence: dict[str, Any] | None = None, *,
                severity: str | None = None, media: str | None = None) -> Finding:
        """A Finding of the running check, about `ctx.item` unless `media` is given."""
        sev = severity or self.severity
        if sev not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {sev!r}")
        media_id = media if media is not None else (self.item.id if self.item else None)
        return Finding(self.code, sev, message, media_id, dict(evidence or {}))


CheckFunc = Callable[[CheckContext], "Finding | Iterable[Finding] | None"]


@dataclass(frozen=True)
class Check:
    """A registered check: its stable code, default severity, scope and function."""

    code: str
    severity: str
    scope: str
    func: CheckFunc
    summary: str


CHECKS: dict[str, Check] = {}


def check(code: str, severity: str, *, scope: str = "media") -> Callable[[CheckFunc], CheckFunc]:
    """Register a check under a stable code. Duplicate codes are refused."""
    if not _CODE_RE.match(code):
        raise ValueError(f"check code {code!r} must be UPPER_SNAKE_CASE")
    if severity not in SEVERITY_RANK:
        raise ValueError(f"check {code}: severity must be one of {SEVERITIES}")
    if scope not in ("media", "claim"):
        raise ValueError(f"check {code}: scope must be 'media' or 'claim'")

    def register(func: CheckFunc) -> CheckFunc:
        if code in CHECKS:
            raise ValueError(f"check code {code} is already registered "
                             f"by {CHECKS[code].func.__module__}")
        doc = (func.__doc__ or "").strip().splitlines()
        CHECKS[code] = Check(code, severity, scope, func, doc[0] if doc else "")
        return func

    return register


@dataclass
class CheckError:
    """A check that crashed: recorded in the report, never stops the other checks."""

    code: str
    media: str | None
    error: ErrorInfo

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.code, "media": self.media, **self.error.to_dict()}


_loaded = False
PLUGIN_ERRORS: list[CheckError] = []  # installed check packages that failed to load


def load_checks() -> dict[str, Check]:
    """Import every module of this package, then the `osintkit.checks` entry points of
    installed packages, and return the registry."""
    global _loaded
    if not _loaded:
        for mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
            importlib.import_module(f"{__name__}.{mod}")
        _load_entry_points()
        _loaded = True
    return CHECKS


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
        try:
            ep.load()  # importing the module registers its checks
        except Exception as exc:  # a broken or clashing package: said in every report
            info = error_info(exc)
            PLUGIN_ERRORS.append(CheckError(f"entry point {ep.name}", None, ErrorInfo(
                info.code, f"checks of {ep.value!r} not loaded: {info.message}")))


def select_checks(select: Iterable[str] | None = None,
                  skip: Iterable[str] = ()) -> list[Check]:
    """The registered checks to run: those in `select` (None: all) minus `skip`.
    ValueError naming an unknown code (a typo must not silently run everything)."""
    registry = load_checks()
    wanted = None if select is None else [c.upper() for c in select]
    dropped = {c.upper() for c in skip}
    unknown = sorted(c for c in [*(wanted or []), *dropped] if c not in registry)
    if unknown:
        raise ValueError(f"unknown check code(s): {', '.join(unknown)} "
                         "(docs/checks.md lists them)")
    return [chk for code, chk in registry.items()
            if (wanted is None or code in wanted) and code not in dropped]


def run_checks(ctx: CheckContext, select: Iterable[str] | None = None,
               skip: Iterable[str] = ()) -> tuple[list[Finding], list[CheckError]]:
    """Run the registered checks (all, or `select` minus `skip`); findings sorted most
    severe first. Checks packages that failed to load come back as errors."""
    findings: list[Finding] = []
    errors: list[CheckError] = []
    chosen = select_checks(select, skip)
    errors.extend(PLUGIN_ERRORS)
    for chk in chosen:
        items = [None] if chk.scope == "claim" else [m for m in ctx.media if m.ok]
        for item in items:
            sub = replace(ctx, item=item, code=chk.code, severity=chk.severity)
            try:
                findings.extend(_as_list(chk.func(sub)))
            except Exception as exc:  # one broken check never loses the others' findings
                errors.append(CheckError(chk.code, item.id if item else None,
                                         error_info(exc)))
    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.media or "", f.code))
    return findings, errors


def _as_list(result: Finding | Iterable[Finding] | None) -> list[Finding]:
    if result is None:
        return []
    if isinstance(result, Finding):
        return [result]
    return [f for f in result if f is not None]


# ---------------------------------------------------------------- helpers for checks
def parse_when(value: Any) -> datetime | None:
    """An ISO 8601 string (or datetime) from metadata/pages → datetime (maybe naive)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    if len(text) == 10:
        text += "T00:00:00"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
