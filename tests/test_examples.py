"""Every example of the archive, verify, batch, frames and evidence-check `--help` texts and
of their README sections runs (issue 18 §1: the `verify --help` example once created
`/demo.sqlite` and passed a recycled claim).

Each example runs as written, in order, in a sandbox folder laid out as a user's would be
after `make demo` (samples/, demo-out/archive.sqlite, the files the examples name). Only
what cannot exist offline is replaced: https:// hosts by a local server (with
--allow-private), `postgresql://...` by the test PostgreSQL server, `tcp://scheduler:8786`
by a local Dask cluster; `| jq ...` is dropped (the JSON is parsed instead) and `> FILE`
writes stdout to FILE.
"""

from __future__ import annotations

import glob
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from fixtures_channel import sandbox_channel

from osintkit.cli import cli

README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTIONS = ("## Archive of known material", "## Verify a claim", "## Many claims",
            "## Video: keyframes")
HELP_COMMANDS = (("archive", "add"), ("archive", "search"), ("archive", "list"),
                 ("archive", "stats"), ("archive", "export"), ("archive", "import"),
                 ("archive", "remove"), ("archive",), ("verify",), ("batch",), ("frames",),
                 ("evidence", "check"))
# Exit codes other than 0 that an example must give (a verdict at/above --fail-on...).
EXPECTED_EXIT = [
    (r"verify samples/claims/contradicted_recycled\.yaml", 1),  # recycled: contradicted
    (r"archive remove ", 1),  # no item 42 / that sha256 in the sandbox archive
    (r"verify photo\.jpg clip\.mp4 --claim-date 2026-04-17/", 1),  # clip.mp4 is archived
    (r"batch (claims\.yaml|samples/claims)", 1),  # the far-away claim is contradicted
]
NEEDS_FETCH = "evidence/claim-1"  # written by `osintkit fetch` (its own tests run it)


def readme_examples() -> list[str]:
    out = []
    for head in SECTIONS:
        start = README.index(head)
        end = README.find("\n## ", start + 1)
        body = README[start:end if end > 0 else None]
        for block in re.findall(r"```sh\n(.*?)```", body, re.S):
            out += _commands(block)
    return out


def help_examples(runner) -> list[str]:
    out = []
    for path in HELP_COMMANDS:
        text = runner.invoke(cli, [*path, "--help"]).stdout
        out += _commands(text[text.index("Example"):].split("\nOptions:")[0])
    return [c for c in out if NEEDS_FETCH not in c]


def _commands(text: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip().split("  #")[0].strip() for line in joined.splitlines()
            if line.strip().startswith("osintkit ")]


# ---------------------------------------------------------------- the sandbox
@pytest.fixture
def sandbox(tmp_path, samples_dir, sample_db, monkeypatch, http_server):
    from PIL import Image

    from osintkit.archive.store import parse_url
    from osintkit.vpdq import vpdq_hash, write_vpdq

    root = tmp_path / "work"
    shutil.copytree(samples_dir, root / "samples",
                    ignore=shutil.ignore_patterns("*.sqlite*", "*.npz"))
    media, archived = root / "samples" / "media", root / "samples" / "archive"
    db = Path(parse_url(sample_db).path)
    for target in ("demo-out/archive.sqlite", "known.sqlite"):
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(db, root / target)
    for name, src in (("photo.jpg", media / "strike_near.jpg"), ("clip.mp4", media / "launch.mp4"),
                      ("launch.mp4", media / "launch.mp4"), ("claim.mp4", media / "launch.mp4"),
                      ("claim.jpg", media / "recycled.jpg")):
        shutil.copy(src, root / name)
    Image.open(media / "recycled.jpg").save(root / "screenshot.png")
    for folder in ("old-footage", "old"):
        (root / folder).mkdir()
        for name in ("2019_parade.jpg", "2021_convoy.jpg", "2020_launch.mp4"):
            shutil.copy(archived / name, root / folder / name)
    write_vpdq(vpdq_hash(archived / "2020_launch.mp4"), root / "original.vpdq")
    from osintkit.hashing import hash_file

    h = hash_file(archived / "2018_market.jpg")
    for name in ("partner.csv", "partner-hashes.csv"):
        (root / name).write_text(f"pdq,md5,title\n{h.hashes['pdq']},{h.md5},market\n")
    (root / "claims.yaml").write_text("- samples/claims/corroborated.yaml\n"
                                      "- samples/claims/contradicted_far.yaml\n")
    (root / "claims.csv").write_text("id,url,claimed_at,lat,lon,radius_km,media\n"
                                     "near,,2026-04-18,37.2242,67.2783,25,photo.jpg\n")
    page = ('<!doctype html><html><head><title>Claim</title></head><body>'
            '<img src="/media/strike.jpg" width="480" height="360"></body></html>')
    for route in ("/post/1", "/s/somechannel/1234"):
        http_server.route(route, body=page, content_type="text/html; charset=utf-8")
    http_server.route("/media/strike.jpg", file=media / "strike_near.jpg",
                      content_type="image/jpeg")
    sandbox_channel(root, http_server)  # `archive add URL|EVIDENCE_DIR` (issue 17)
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_DATA_HOME", str(root / ".data"))  # the default archive: none yet
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / ".cache"))
    monkeypatch.delenv("OSINTKIT_DB", raising=False)
    return root, http_server.url("/").rstrip("/")


def _postgres(request, root: Path) -> str:
    """The test PostgreSQL database, holding the sample archive (a team's shared one)."""
    from osintkit.archive import open_archive
    from osintkit.archive.exchange import import_file
    from osintkit.archive.export import export_jsonl

    url = request.getfixturevalue("postgres_server").new_database()
    dump = root / ".pg.jsonl"
    with open_archive("demo-out/archive.sqlite", create=False) as src, \
            dump.open("w") as fh:
        export_jsonl(src, fh, with_paths=True)
    with open_archive(url) as dst:
        assert import_file(dst, dump).ok
    return url


def _run(runner, request, sandbox, command: str) -> None:
    root, local = sandbox
    command = re.sub(r"https://(example\.org|t\.me)", local, command)
    if "postgresql://" in command:
        command = re.sub(r"postgresql://\S+", _postgres(request, root), command)
    if "tcp://scheduler:8786" in command:
        command = command.replace("tcp://scheduler:8786",
                                  request.getfixturevalue("dask_cluster"))
    pipe = "| jq" in command
    command = command.split("| jq")[0]
    redirect = None
    if " > " in command:
        command, redirect = (part.strip() for part in command.split(" > ", 1))
    args = []
    for token in shlex.split(command)[1:]:
        args += sorted(glob.glob(token)) if "*" in token else [token]
    if local in command or "--urls" in command:  # --urls: channels.txt names the server
        args.append("--allow-private")
    result = runner.invoke(cli, args)
    want = next((code for pattern, code in EXPECTED_EXIT if re.search(pattern, command)), 0)
    assert result.exit_code == want, (command, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, command
    if redirect:
        Path(redirect).write_text(result.stdout)
    if pipe or "--json" in args:
        for line in result.stdout.splitlines():
            json.loads(line)
    if want == 0:
        assert "Error: " not in result.stderr, (command, result.stderr)


def test_the_help_examples_run(runner, request, sandbox):
    examples = help_examples(runner)
    assert len(examples) >= 25
    for command in examples:
        _run(runner, request, sandbox, command)
    assert not Path("/demo.sqlite").exists()
    assert (sandbox[0] / "demo.sqlite").is_file()  # `--db sqlite:///demo.sqlite`: right here
    assert sorted(p.name for p in (sandbox[0] / "launch-frames").glob("*.jpg"))[0] == \
        "contact-sheet.jpg"


def test_the_readme_examples_run(runner, request, sandbox):
    examples = readme_examples()
    assert len(examples) >= 15
    for command in examples:
        _run(runner, request, sandbox, command)
    report = json.loads((sandbox[0] / "out" / "sample-contradicted-far" / "report.json")
                        .read_text())
    assert report["verdict"]["level"] == "contradicted"
