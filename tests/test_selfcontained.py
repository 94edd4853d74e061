"""The repository tests itself (issue 13): the real files in tests/data are whole, known
and small; no test or README example reads ../shared except the corpus-only tests."""

from __future__ import annotations

import hashlib
import json
import re
import sys

from conftest import DATA, EXIF_SAMPLES, ROOT, TESTS, TRUTH_FILE

CORPUS_LIST = ROOT / "scripts" / "corpus" / "exif-samples.sha256"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_every_committed_sample_is_in_the_truth_with_its_hash_and_in_the_corpus_list():
    truth = json.loads(TRUTH_FILE.read_text())["files"]
    files = sorted(str(p.relative_to(EXIF_SAMPLES)) for p in EXIF_SAMPLES.rglob("*")
                   if p.is_file())
    assert files == sorted(truth), "tests/data files and their ExifTool truth differ"
    listed = dict(reversed(line.split("  ", 1))
                  for line in CORPUS_LIST.read_text(encoding="utf-8").splitlines())
    for rel in files:
        digest = _sha256((EXIF_SAMPLES / rel).read_bytes())
        assert digest == truth[rel]["sha256"] == listed[rel], rel


def test_test_data_stays_small_and_names_its_source_and_licence():
    size = sum(p.stat().st_size for p in EXIF_SAMPLES.rglob("*") if p.is_file())
    assert size < 4_500_000, f"tests/data/exif-samples is {size} bytes"
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "ianare/exif-samples" in readme and "CC BY-SA 4.0" in readme
    assert "5332a9cf0220e9c6c93f88a187daa90808051e10" in readme


def test_the_fetch_script_pins_the_same_commit():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import fetch_corpus
    finally:
        sys.path.pop(0)
    assert fetch_corpus.COMMIT == "5332a9cf0220e9c6c93f88a187daa90808051e10"
    assert len(fetch_corpus.expected()) == 110


def test_no_test_module_reads_the_shared_corpus_directly():
    """Only conftest.py knows ../shared; tests ask for `full_corpus` (skipped without it)."""
    offenders = [p.name for p in sorted(TESTS.glob("*.py"))
                 if p.name not in ("conftest.py", "test_selfcontained.py")
                 and re.search(r"""/\s*["']shared["']|["']shared/|/work/shared|\.\./shared""",
                               p.read_text(encoding="utf-8"))]
    assert not offenders, offenders


def test_doc_examples_use_files_of_the_repository():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    blocks = [b for page in pages for b in re.findall(r"```(?:console|sh|bash|python)?\n(.*?)```",
                                                      page.read_text(encoding="utf-8"), re.DOTALL)]
    assert len(blocks) > 20
    assert not [b for b in blocks if "../shared" in b]
