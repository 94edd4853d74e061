"""Command line, what every command shares: the group, the shared options and helpers.

The commands live in `media.py`, `archive.py`, `fetch.py` and `verify.py` beside it and
import this module; `osintkit/cli/__init__.py` imports them (which registers them).

Every command takes `--json` (JSON Lines, one object per input). Exit codes: 0 ok,
1 some input failed (or findings at/above --fail-on), 2 usage error / unusable input.
Errors are one line on stderr; `--debug` shows tracebacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from osintkit import __version__
from osintkit.errors import EXIT_FAIL, OsintkitError
from osintkit.redact import redact


@dataclass
class Settings:
    """Global options, available to every command as `ctx.obj`."""

    quiet: bool = False
    debug: bool = False


class CliError(click.ClickException):
    """A one-line error with our exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAIL) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _global_flag(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def set_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value and isinstance(ctx.obj, Settings):
            setattr(ctx.obj, name, True)
    return set_flag


def _add_global_options(cmd: click.Command) -> None:
    """`-q/--quiet` and `--debug` are accepted after the subcommand too
    (`osintkit verify x.jpg -q`), hidden from its help: they are the group's options."""
    taken = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
    for decls, name in ((["-q", "--quiet"], "quiet"), (["--debug"], "debug")):
        decls = [d for d in decls if d not in taken]
        if decls:
            cmd.params.append(click.Option(decls, is_flag=True, hidden=True,
                                           expose_value=False, is_eager=True,
                                           callback=_global_flag(name)))


class OsintkitGroup(click.Group):
    """Turns our exceptions into one-line errors; tracebacks only with --debug.

    Sub-groups are OsintkitGroups too, and every command added accepts the global
    `-q` and `--debug` after its name as well as before."""

    group_class = type

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _add_global_options(cmd)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        from osintkit.warnroute import install

        install()  # library warnings: into results, or one line on stderr, never raw
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OsintkitError as exc:
            if _debug(ctx):
                raise
            raise CliError(exc.message, exc.exit_code) from None
        except Exception as exc:
            if _debug(ctx):
                raise
            text = redact(" ".join(str(exc).split()))
            raise CliError(f"internal error: {type(exc).__name__}: {text} "
                           "(run with --debug for details)") from None


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.obj and ctx.obj.debug)


# ---------------------------------------------------------------- shared options
def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--json`: machine output, one JSON object per input per line."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print JSON Lines (one object per input).")(f)


def db_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--db URL` (or OSINTKIT_DB): sqlite:///relative.db, sqlite:////abs.db, a path, or
    postgresql://... (SQLAlchemy's convention)."""
    return click.option("--db", "db_url", envvar="OSINTKIT_DB", metavar="URL",
                        help="Archive: sqlite:///relative.db (from the working directory), "
                             "sqlite:////abs/path.db, a plain path, or postgresql://... "
                             "Default: archive.sqlite in the user data dir. Also "
                             "OSINTKIT_DB.")(f)


def jobs_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """`-j N`: worker processes."""
    return click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
                        help="Worker processes.")(f)


def address_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--allow-private` and `--allow-net CIDR`: the two ways past the address guard
    (fetch/guard.py), for the commands that fetch claim media (`fetch`, `archive add`)."""
    f = click.option("--allow-net", "allow_networks", multiple=True, metavar="CIDR",
                     help="Allow this network anyway (repeatable), e.g. 10.20.0.0/16.")(f)
    return click.option("--allow-private", is_flag=True, help="Allow private, loopback and "
                        "link-local addresses (refused by default).")(f)


def paths_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    """FILE|DIR... (existence is checked per item, so one bad path never stops the rest)."""
    return click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))(f)


def note(ctx: click.Context, message: str) -> None:
    """A side remark on stderr, silenced by -q."""
    if not (ctx.obj and ctx.obj.quiet):
        click.echo(f"note: {redact(message)}", err=True)


def print_json(obj: Any) -> None:
    """One JSON object on one line."""
    click.echo(json.dumps(obj, ensure_ascii=False, default=str, allow_nan=False))


def emit_results(ctx: click.Context, results: Iterable[Any], as_json: bool,
                 render: Callable[[Any], str]) -> int:
    """Print each result (JSON line or `render(result)`), errors on stderr; return failures.

    Results are dataclasses with `ok`, `error` (ErrorInfo | None) and `to_dict()`.
    """
    failures = 0
    for res in results:
        if not res.ok:
            failures += 1
        if as_json:
            print_json(res.to_dict())
        if not res.ok:
            msg = res.error.message if res.error else f"{getattr(res, 'path', '?')}: failed"
            click.echo(f"Error: {msg}", err=True)
        elif not as_json:
            click.echo(render(res))
    return failures


def exit_for(failures: int) -> None:
    """Exit 1 when some input failed."""
    if failures:
        raise click.exceptions.Exit(EXIT_FAIL)


# ---------------------------------------------------------------- the group
@click.group(cls=OsintkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="osintkit")
@click.option("-q", "--quiet", is_flag=True, help="Only results and errors, no notes.")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool) -> None:
    """osintkit: verify public claims of attacks from their media.

    \b
    Example:
      osintkit verify https://t.me/s/somechannel/1234 --claim-date 2026-04-18
      osintkit meta photo.jpg --json | jq .summary
    """
    ctx.obj = Settings(quiet=quiet, debug=debug)
