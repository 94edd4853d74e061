"""Documentation stays true: every command has help with an example and is in the README."""

from __future__ import annotations

import re

import click
import pytest
from conftest import ROOT

from osintkit.cli import cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


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
def test_every_command_appears_in_readme(path):
    assert f"osintkit {' '.join(path)}" in README, f"README never shows `osintkit {' '.join(path)}`"


def test_readme_shows_the_two_commands():
    assert "make demo" in README and "make test" in README


def test_readme_exit_codes_table():
    assert re.search(r"\|\s*2\s*\|", README)
