#!/usr/bin/env python3
"""`make corpus`: the full exif-samples corpus for the corpus-only tests and benchmarks.

Fetches the public exif-samples repository (ianare/exif-samples on GitHub, CC BY-SA 4.0
for contributed images) at a pinned commit with git, checks every file against the
sha256 list committed in scripts/corpus/exif-samples.sha256, and lays it out as the tests
expect:

    DEST/exif-samples/...           the 110 files of the list
    DEST/exif-samples-truth.json    ExifTool 12.57's reading of them (committed here)

DEST is ../shared/corpus (beside the clone, as in CI) unless --dest or OSINTKIT_CORPUS
says otherwise; the tests read OSINTKIT_CORPUS too. When DEST already holds every file
with the right hash nothing is fetched. Needs git and the network (tests never do).
Exit 0: corpus present and verified; 1: a hash mismatch or a failed fetch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTS = ROOT / "scripts" / "corpus"
REPO = "https://github.com/ianare/exif-samples.git"
COMMIT = "5332a9cf0220e9c6c93f88a187daa90808051e10"  # 2025-04-22, "add note about archiving"


def expected() -> dict[str, str]:
    """{relative path: sha256} from the committed list."""
    out = {}
    for line in (LISTS / "exif-samples.sha256").read_text(encoding="utf-8").splitlines():
        digest, rel = line.split("  ", 1)
        out[rel] = digest
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def problems(folder: Path, want: dict[str, str]) -> list[str]:
    """Files of the list missing from `folder` or with another hash."""
    out = []
    for rel, digest in sorted(want.items()):
        path = folder / rel
        if not path.is_file():
            out.append(f"{rel}: missing")
        elif sha256(path) != digest:
            out.append(f"{rel}: sha256 differs from the committed list")
    return out


def fetch(into: Path, repo: str = REPO, commit: str = COMMIT) -> None:
    """The pinned commit's files into `into` (a shallow fetch of that one commit)."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(into), *args], check=True)

    git("init", "-q")
    git("remote", "add", "origin", repo)
    git("fetch", "-q", "--depth", "1", "origin", commit)
    git("-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = os.environ.get("OSINTKIT_CORPUS") or str(ROOT.parent / "shared" / "corpus")
    ap.add_argument("--dest", type=Path, default=Path(default),
                    help="where the corpus goes (default: %(default)s)")
    ap.add_argument("--repo", default=REPO, help="a mirror of the repository (git URL)")
    ap.add_argument("--commit", default=COMMIT, help="the commit to take (the hashes "
                    "are checked whatever it is)")
    args = ap.parse_args(argv)
    want = expected()
    dest: Path = args.dest
    samples = dest / "exif-samples"
    truth = dest / "exif-samples-truth.json"
    if samples.is_dir() and not problems(samples, want) and truth.is_file():
        print(f"corpus present and verified: {samples} ({len(want)} files)")
        return 0
    with tempfile.TemporaryDirectory(prefix="exif-samples-") as tmp:
        print(f"fetching {args.repo} at {args.commit[:12]} ...")
        try:
            fetch(Path(tmp), args.repo, args.commit)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"error: cannot fetch {args.repo} at {args.commit[:12]}: {exc}",
                  file=sys.stderr)
            return 1
        bad = problems(Path(tmp), want)
        if bad:
            print(f"error: fetched files do not match scripts/corpus/exif-samples.sha256: "
                  f"{'; '.join(bad[:5])}", file=sys.stderr)
            return 1
        for rel in want:
            target = samples / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(tmp) / rel, target)
    shutil.copyfile(LISTS / "exif-samples-truth.json", truth)
    bad = problems(samples, want)
    if bad:
        print(f"error: {samples}: {'; '.join(bad[:5])}", file=sys.stderr)
        return 1
    print(f"corpus ready and verified: {samples} ({len(want)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
