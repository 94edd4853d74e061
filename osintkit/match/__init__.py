"""Match stage: find one picture in another.

Flow: claim -> fetch -> media -> **match** -> archive -> checks -> report (docs/design.md).
The media stage hands over decoded pictures and sampled video frames; this stage turns
them into what can be compared and compares them; the archive stores what it computes
and searches with it.

* `hashing`: perceptual hashes of a decoded picture; `HASHERS` declares each hash kind
  and its thresholds (the one place they are written).
* `hashfile`: digests and hashes of whole files and video frames (`hash_file`,
  `hash_paths`, `HashResult`).
* `views`, `regions`: canonical views of a picture (content region of a screenshot,
  sub-views) hashed beside the whole.
* `keypoints`, `localfeat`, `geometry`: local features, the visual words that find
  candidates, and the geometric fit that confirms one picture inside another.
* `sameshot`: after a fit, the same photograph or another shot of the same scene.
* `segments`, `vpdq`: video, matched stretches of frames and ThreatExchange's vPDQ format.
* `compare`, `compare_robust`: two files side by side (`osintkit compare`).

Imports nothing: each module brings its own libraries (numpy, OpenCV...) when used.
"""
