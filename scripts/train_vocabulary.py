#!/usr/bin/env python3
"""Make osintkit/data/orb_vocabulary.npy: the visual words of the archive's candidate
index (osintkit/match/localfeat.py, osintkit/archive/bow.py).

ORB descriptors (1,000 per picture, at the size features are found on, plus a half-size
and a rotated copy so that words cover what copies do to a picture) of openly licensed
photos: the real camera JPEGs of ../shared/corpus (ianare/exif-samples, CC BY-SA 4.0)
and scikit-image's bundled photographs (public domain / CC0, see its data README).
Binary k-means in two levels (faiss k-means on the bits, centroids rounded: k-majority):
128 coarse clusters x 128 words = 16,384 words. Deterministic (fixed seeds). The file
holds only centroids (statistics of many descriptors), not pictures.

    python scripts/train_vocabulary.py [--out osintkit/data/orb_vocabulary.npy]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))
COARSE, FINE = 128, 128


def training_pictures() -> list[Image.Image]:
    out = []
    truth = json.loads((CORPUS / "exif-samples-truth.json").read_text())
    for rel, rec in sorted(truth["files"].items()):
        if rec.get("file_type") != "JPEG" or (rec.get("width") or 0) < 400:
            continue
        try:
            with Image.open(CORPUS / "exif-samples" / rel) as im:
                out.append(ImageOps.exif_transpose(im).convert("RGB"))
        except Exception:
            continue
    try:
        import skimage.data as data

        folder = Path(data.__file__).parent
        for name in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "camera.png",
                     "horse.png", "brick.png", "grass.png", "gravel.png", "coins.png",
                     "page.png", "text.png", "hubble_deep_field.jpg", "retina.jpg"):
            if (folder / name).is_file():
                out.append(Image.open(folder / name).convert("RGB"))
    except ImportError:
        pass
    return out


def descriptors(pictures: list[Image.Image]) -> np.ndarray:
    from osintkit.match.keypoints import WORK_SIZE
    from osintkit.match.localfeat import detect

    chunks = []
    for img in pictures:
        img = ImageOps.contain(img, (WORK_SIZE, WORK_SIZE))
        for variant in (img, img.resize((img.width // 2, img.height // 2)),
                        img.rotate(17, Image.Resampling.BICUBIC)):
            chunks.append(detect(variant, 1000)[1])
    return np.concatenate(chunks)


def kmajority(desc: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(k binary centroids, assignment) by faiss k-means on the unpacked bits."""
    import faiss

    bits = np.unpackbits(desc, axis=1).astype(np.float32)
    k = min(k, len(desc))
    km = faiss.Kmeans(bits.shape[1], k, niter=20, seed=seed, verbose=False,
                      min_points_per_centroid=1, max_points_per_centroid=100_000)
    km.train(bits)
    cents = np.packbits(km.centroids >= 0.5, axis=1)
    index = faiss.IndexBinaryFlat(256)
    index.add(cents)
    _, assign = index.search(desc, 1)
    return cents, assign[:, 0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "osintkit" / "data" / "orb_vocabulary.npy")
    ap.add_argument("--coarse-only", action="store_true",
                    help="only (re)make the coarse level of an existing vocabulary")
    args = ap.parse_args()
    if args.coarse_only:
        write_coarse(args.out)
        return
    import faiss

    faiss.omp_set_num_threads(2)
    desc = descriptors(training_pictures())
    print(f"{len(desc)} descriptors")
    coarse, assign = kmajority(desc, COARSE, seed=1)
    words = []
    for c in range(len(coarse)):
        member = desc[assign == c]
        if len(member) == 0:
            continue
        cents, _ = kmajority(member, FINE, seed=100 + c)
        words.append(cents)
    vocab = np.unique(np.concatenate(words), axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, vocab, allow_pickle=False)
    print(f"{len(vocab)} words -> {args.out} ({args.out.stat().st_size} bytes)")
    write_coarse(args.out)


def write_coarse(vocab_path: Path) -> None:
    """The coarse level the words are looked up through (localfeat.words): 128 binary
    centroids of the words themselves, saved beside them."""
    vocab = np.load(vocab_path)
    coarse, _ = kmajority(vocab, COARSE, seed=7)
    out = vocab_path.with_name(vocab_path.stem + "_coarse.npy")
    np.save(out, coarse, allow_pickle=False)
    print(f"{len(coarse)} coarse centroids -> {out}")


if __name__ == "__main__":
    main()
