"""The CLI skeleton: version, help, python -m, usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from osintkit import __version__
from osintkit.cli import cli


def test_version_is_printed(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_unknown_command_is_usage_error(runner):
    result = runner.invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.stderr


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "osintkit", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.strip().endswith(__version__)


def test_help_quotes_the_thresholds_from_where_they_are_written(runner):
    """Help that quotes a threshold fills it from HASHERS / match/compare.py: the number
    is written once, and the help says what the code does."""
    from osintkit.match.compare import SIMILAR_PDQ
    from osintkit.match.hashing import HASHERS

    pdq, phash = HASHERS["pdq"].threshold, HASHERS["phash"].threshold
    search = runner.invoke(cli, ["archive", "search", "--help"], terminal_width=200)
    assert search.exit_code == 0
    assert f"(default pdq={pdq}, phash={phash})" in search.stdout
    compare = runner.invoke(cli, ["compare", "--help"], terminal_width=200)
    assert compare.exit_code == 0
    text = " ".join(compare.stdout.split())
    assert f"near-duplicate (PDQ <= {pdq} of 256" in text and f"within {pdq}," in text
    assert f"similar (<= {SIMILAR_PDQ})" in text
    assert "{" not in search.stdout + compare.stdout  # no placeholder left unfilled


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_the_cli_starts_without_the_match_stage(args):
    """The thresholds in help are filled only when a command's help is shown: the version,
    or the list of commands, loads neither Pillow nor the match stage."""
    code = (f"import sys; from osintkit.cli import main; sys.argv = ['osintkit', *{args!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'PIL' "
            "or m.startswith('osintkit.match')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
