"""Documentation stays true: every command has help with an example and is in the docs;
the README stays a front page; the site builds without a warning."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from conftest import ROOT

from osintkit.cli import cli

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"
CLI_DOC = (DOCS / "cli.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, (*prefix, name)))
    return out


COMMANDS = _commands(cli)


EXPECTED = ["meta", "hash", "compare", "archive", "fetch", "evidence", "frames", "forensics",
            "verify", "batch"]


def test_every_stage_has_its_command():
    missing = [name for name in EXPECTED if (name,) not in COMMANDS]
    assert not missing, f"commands missing: {missing}"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_example(runner, path):
    result = runner.invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout, f"`osintkit {' '.join(path)} --help` has no Example"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_appears_in_the_command_line_page(path):
    assert f"osintkit {' '.join(path)}" in CLI_DOC, \
        f"docs/cli.md never shows `osintkit {' '.join(path)}`"


@pytest.mark.parametrize("name", [c for c in EXPECTED])
def test_the_readme_names_every_stage_command(name):
    assert f"`osintkit {name}" in README


def test_readme_is_a_front_page():
    assert len(README.splitlines()) <= 250
    for head in ("## Install and the two commands", "## Verify a claim on the samples",
                 "## Verdicts", "## Exit codes and errors", "## Documentation"):
        assert head in README


def test_every_link_of_the_readme_to_docs_exists():
    links = re.findall(r"\]\((docs/[^)#]+)", README)
    assert len(links) >= 15
    missing = sorted({link for link in links if not (ROOT / link).exists()})
    assert not missing, missing


def test_every_docs_page_is_in_the_site_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(nav: list) -> list[str]:
        out = []
        for entry in nav:
            for value in entry.values():
                out += pages(value) if isinstance(value, list) else [value]
        return out
    assert sorted(pages(config["nav"])) == sorted(p.name for p in DOCS.glob("*.md"))


def test_the_site_builds_without_a_warning(tmp_path):
    """`make docs`: mkdocs-material, strict (a broken link or anchor is an error)."""
    site = tmp_path / "site"
    proc = subprocess.run([str(Path(sys.executable).with_name("mkdocs")), "build", "--strict",
                           "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-3000:]
    assert (site / "python-api" / "index.html").is_file()
    assert "verify_claim" in (site / "python-api" / "index.html").read_text(encoding="utf-8")


def test_readme_shows_the_two_commands():
    assert "make demo" in README and "make test" in README


def test_readme_exit_codes_table():
    assert re.search(r"\|\s*2\s*\|", README)
