"""The previous release's --deep candidate votes (schema v4 ORB signatures), kept only so
that scripts/bench_matching.py can measure it beside the new default. Not part of the
package: the archive now finds candidates through its word index (archive/bow.py)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from osintkit.match.keypoints import MIN_SIDE, spread, work_gray

SIGNATURE_SIZE = 64  # ORB descriptors kept per archived image (2 KB) for candidate votes
QUERY_SIGNATURE = 400  # query descriptors that vote (spread like the archived ones)
VOTE_DISTANCE = 48  # of 256 bits: a descriptor this close votes for its image


def signature(img: Image.Image, n: int = SIGNATURE_SIZE) -> bytes:
    """The `n` strongest ORB descriptors of a picture (32 bytes each), concatenated: what
    the archive kept per image (schema v4) to pick deep-search candidates by voting.
    Superseded by the word index (archive/bow.py); kept for scripts/bench_matching.py,
    which measures the previous release's --deep beside the new default."""
    import cv2

    gray, _ = work_gray(img)
    if min(gray.shape) < MIN_SIDE:
        return b""
    kps, desc = cv2.ORB_create(nfeatures=n * 8).detectAndCompute(gray, None)
    if desc is None:
        return b""
    return np.ascontiguousarray(desc[spread(kps, gray.shape, n)]).tobytes()


def vote(query: Image.Image, signatures: np.ndarray, owners: np.ndarray, k: int,
         max_distance: int = VOTE_DISTANCE) -> list[int]:
    """Owners (item ids) of the signature rows that most of the query's own signature
    descriptors land closest to, best first (at most `k`, each with >= 2 votes).

    `signatures` is (N, 32) uint8, one ORB descriptor per row, `owners` (N,) their items.
    """
    q = np.frombuffer(signature(query, QUERY_SIGNATURE), dtype=np.uint8).reshape(-1, 32)
    if not len(q) or not len(signatures):
        return []
    best, dist = nearest_rows(q, signatures)
    votes: dict[int, int] = {}
    for item in owners[best[dist <= max_distance]].tolist():
        votes[item] = votes.get(item, 0) + 1
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    return [item for item, n in ranked[:k] if n >= 2]


def nearest_rows(q: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each 256-bit code in `q`, the nearest row of `rows` and its Hamming distance.

    faiss's binary flat index when installed (SIMD popcount, one thread: the machine is
    shared), else a numpy scan -- about 10x slower, hence MAX_VOTE_ROWS in the archive.
    """
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        faiss.omp_set_num_threads(1)
        index = faiss.IndexBinaryFlat(256)
        index.add(np.ascontiguousarray(rows))
        dist, idx = index.search(np.ascontiguousarray(q), 1)
        return idx[:, 0].astype(np.int64), dist[:, 0].astype(np.int64)
    qd, sd = q.view("<u8"), np.ascontiguousarray(rows).view("<u8")
    best = np.zeros(len(qd), dtype=np.int64)
    dist = np.zeros(len(qd), dtype=np.int64)
    for start in range(0, len(qd), 32):
        block = qd[start:start + 32]
        d = np.zeros((len(block), len(sd)), dtype=np.uint16)
        for w in range(4):
            d += np.bitwise_count(block[:, w][:, None] ^ sd[:, w][None, :])
        best[start:start + 32] = d.argmin(axis=1)
        dist[start:start + 32] = d[np.arange(len(block)), best[start:start + 32]]
    return best, dist


