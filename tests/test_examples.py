"""Every example of the documentation runs (issue 18 §1: the `verify --help` example once
created `/demo.sqlite` and passed a recycled claim; issue 19: the docs' examples too).

- `sh` blocks of the README and of docs/*.md, and the `--help` examples: every `osintkit`
  command runs as written, in order, in a sandbox folder laid out as a user's would be
  after `make demo` (samples/, demo-out/archive.sqlite, the files the examples name). Only
  what cannot exist offline is replaced: https:// hosts by a local server (with
  --allow-private), `postgresql://...` by the test PostgreSQL server,
  `tcp://scheduler:8786` by a local Dask cluster; `| jq ...` is dropped (the JSON is
  parsed instead) and `> FILE` writes stdout to FILE. Synopsis lines (`osintkit meta
  FILE|DIR...`) are not commands.
- `console` blocks: each `$ osintkit ...` line runs in a real shell (jq pipes included)
  in that sandbox, and the lines shown after it must appear in its output, in order
  (`...` in a line stands for any text: absolute paths). A block that needs the network
  says so in a `<!-- not run: why -->` comment above it.
- `python` blocks (README, docs/python-api.md) run, in order, in one interpreter in the
  sandbox; their asserts are their checks.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from fixtures_channel import sandbox_channel

from osintkit.cli import cli

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN = re.compile(r"<!-- not run: [^>]+ -->\n$")
SYNOPSIS = re.compile(r"(^|[\s\[|])[A-Z]{2,}(\b|\.\.\.)")  # FILE|DIR..., URL, [-o DIR]
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


def blocks(lang: str, pages: list[Path] = PAGES) -> list[tuple[str, str]]:
    """(page, body) of the fenced blocks of `lang`, unless marked not run."""
    out = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(rf"```{lang}\n(.*?)```", text, re.S):
            if not NOT_RUN.search(text[:m.start()]):
                out.append((page.name, m.group(1)))
    return out


def doc_examples() -> list[str]:
    """The `osintkit` commands of the `sh` blocks (synopsis lines left out)."""
    out = []
    for _, body in blocks("sh"):
        out += [c for c in _commands(body) if not SYNOPSIS.search(c.split("| jq")[0])]
    return out


def console_examples() -> list[tuple[str, str, list[str]]]:
    """(page, command, the output lines shown after it) of the `console` blocks."""
    out = []
    for page, body in blocks("console"):
        for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]:
            command, *shown = chunk.rstrip("\n").split("\n")
            out.append((page, command.split("  #")[0].strip(), shown))
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
    from osintkit.match.vpdq import vpdq_hash, write_vpdq

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
    shutil.copytree(media, root / "media")  # `osintkit hash media/`
    shutil.copytree(media, root / "claim-media", ignore=shutil.ignore_patterns("*.mp4"))
    (root / "archive").mkdir()
    shutil.copy(archived / "2019_parade.jpg", root / "archive" / "original.jpg")
    shutil.copy(archived / "2020_launch.mp4", root / "original.mp4")
    (root / "tests").mkdir()
    (root / "tests" / "data").symlink_to(ROOT / "tests" / "data")  # the meta example's HEIC
    for folder in ("old-footage", "old"):
        (root / folder).mkdir()
        for name in ("2019_parade.jpg", "2021_convoy.jpg", "2020_launch.mp4"):
            shutil.copy(archived / name, root / folder / name)
    write_vpdq(vpdq_hash(archived / "2020_launch.mp4"), root / "original.vpdq")
    from osintkit.match.hashfile import hash_file

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


def test_the_doc_examples_run(runner, request, sandbox):
    examples = doc_examples()
    assert len(examples) >= 40
    assert not [c for c in examples if "FILE|DIR" in c or "URL [" in c]  # synopses
    for command in examples:
        _run(runner, request, sandbox, command)
    report = json.loads((sandbox[0] / "out" / "sample-contradicted-far" / "report.json")
                        .read_text())
    assert report["verdict"]["level"] == "contradicted"
    assert (sandbox[0] / "match.png").is_file()  # `compare ... --visual match.png`


def test_the_console_examples_show_what_they_print(sandbox):
    """Each `$ osintkit ...` of a console block runs in a shell (jq included); the lines
    shown after it appear in its output, in that order."""
    examples = console_examples()
    assert len(examples) >= 5
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}", "COLUMNS": "200"}
    for page, command, shown in examples:
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=sandbox[0],
                              capture_output=True, text=True, env=env, timeout=300)
        want = next((code for pattern, code in EXPECTED_EXIT if re.search(pattern, command)),
                    0)
        assert proc.returncode == want, (page, command, proc.stderr[-2000:])
        missing = _unshown(shown, (proc.stdout + proc.stderr).splitlines())
        assert not missing, (page, command, missing, proc.stdout[-3000:])


def _unshown(shown: list[str], got: list[str]) -> list[str]:
    """The shown lines not found in `got` in order (`...` in a line: any text)."""
    at = 0
    for line in shown:
        if line.strip() in ("", "..."):
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in line.rstrip().split("...")))
        while at < len(got) and not pattern.fullmatch(got[at].rstrip()):
            at += 1
        if at == len(got):
            return [line]
        at += 1
    return []


def test_the_python_examples_run(sandbox):
    """README's and docs/python-api.md's Python, in one interpreter, in the sandbox."""
    code = [body for _, body in blocks("python", [ROOT / "README.md",
                                                 ROOT / "docs" / "python-api.md"])]
    assert len(code) >= 4
    proc = subprocess.run([sys.executable, "-c", "\n".join(code)], cwd=sandbox[0],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "contradicted" in proc.stdout and "2021_convoy.jpg" in proc.stdout
