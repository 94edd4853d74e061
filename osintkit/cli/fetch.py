"""Commands `fetch` and `evidence check`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from osintkit.cli.common import (
    address_options,
    cli,
    exit_for,
    json_option,
    note,
    print_json,
)


# --- fetch, evidence (fetch/) ---
def _size_option(ctx: click.Context, param: click.Parameter, value: str) -> int:
    from osintkit.fetch.transfer import parse_size

    try:
        return parse_size(value)
    except (ValueError, IndexError):
        raise click.BadParameter(f"{value!r} is not a size (e.g. 200M, 1.5G, 500k)") from None


def _terminal(text: object) -> str:
    """Untrusted page text without control characters (no terminal escape tricks)."""
    return "".join(ch if ch.isprintable() else " " for ch in str(text))


def _fetch_progress(ctx: click.Context, enabled: bool) -> tuple[Callable[..., None], Any]:
    state: dict[str, Any] = {}

    def progress(done: int, total: int, url: str) -> None:
        if not enabled:
            return
        if "bar" not in state:
            from tqdm import tqdm

            state["bar"] = tqdm(total=total, unit="file", desc="fetch", file=sys.stderr,
                                leave=False, disable=None)
        bar = state["bar"]
        bar.n = done
        bar.set_postfix_str(_terminal(url)[-40:], refresh=True)

    return progress, state


def _render_capture(cap: Any) -> None:
    page = cap.page
    if page is not None and page.kind == "telegram" and len(page.posts) == 1:
        post = page.posts[0]
        head = f"telegram post {_terminal(post.post_id)} by {_terminal(post.author or '?')}"
        if post.forwarded_from:
            head += f", forwarded from {_terminal(post.forwarded_from.get('url') or '?')}"
        click.echo(head + (", edited" if post.edited else ""))
    elif page is not None and page.kind != "direct":
        click.echo(f"page: {_terminal(page.title or page.final_url)}")
    if page is not None and page.published_at:
        click.echo(f"published: {_terminal(page.published_at)}")
    for item in cap.items:
        if item.ok:
            tag = "ok " if item.role == "claim" else "fur"
            click.echo(f"  {tag} {item.kind:5} {item.format:5} {item.size:>10} bytes  "
                       f"{item.path.name}  <- {_terminal(item.url)}")
    claim = cap.claim_items
    if claim:
        fetched = sum(1 for i in claim if i.ok)
        click.echo(f"fetched {fetched} of {len(claim)} claim media into {cap.out_dir} "
                   "(manifest.json, capture.warc.gz, custody.log)")
    furniture = [i for i in cap.items if i.role != "claim"]
    ignored = len(page.ignored) if page is not None else 0
    if furniture or ignored:
        kept = sum(1 for i in furniture if i.ok)
        click.echo(f"page furniture: {len(furniture)} listed ({kept} downloaded), "
                   f"{ignored} trackers/ad widgets skipped")
    if cap.screenshot:
        click.echo(f"screenshot: {cap.screenshot['file']}")


@cli.command("fetch")
@click.argument("url")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Evidence directory (default: ./evidence-<UTC time>). Re-fetching into "
                   "the same directory is idempotent.")
@click.option("--max-bytes", default="200M", show_default=True, callback=_size_option,
              help="Size cap per download (200M, 1.5G...).")
@click.option("--max-items", type=click.IntRange(min=1), default=50, show_default=True,
              help="Media files to fetch from a page at most.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Connect and read timeout, seconds.")
@click.option("--total-timeout", type=click.FloatRange(min=0.1), default=600.0,
              show_default=True, help="Time cap for one download, seconds.")
@click.option("--proxy", metavar="URL",
              help="http://, socks5:// or socks5h:// proxy (HTTP_PROXY, HTTPS_PROXY, "
                   "ALL_PROXY and NO_PROXY are honoured too).")
@address_options
@click.option("--with-furniture", is_flag=True,
              help="Also download the page's furniture (logos, related-story thumbnails...), "
                   "kept with role 'furniture'. By default it is only listed.")
@click.option("--screenshot", is_flag=True,
              help="Render the page in headless Chromium and keep the PNG as evidence.")
@click.option("--source", type=click.Choice(["telegram", "article", "direct", "ytdlp"]),
              help="Read the URL with this source only (default: the first that takes it).")
@click.option("--all-posts", is_flag=True,
              help="Telegram channel page: every post's media is claim media, not only the "
                   "post in the URL.")
@json_option
@click.pass_context
def fetch_cmd(ctx: click.Context, url: str, out_dir: Path | None, max_bytes: int,
              max_items: int, timeout: float, total_timeout: float, proxy: str | None,
              allow_private: bool, allow_networks: tuple[str, ...], with_furniture: bool,
              screenshot: bool, source: str | None, all_posts: bool, as_json: bool) -> None:
    """Fetch a claim's media from URL and keep the evidence.

    URL is a news page, a Telegram public post (t.me/<channel>/<id>, t.me/s/...,
    ?embed=1), a video platform page (yt-dlp) or a direct image/video link. Each
    media item gets a role: "claim" (the claim's own media, downloaded) or "furniture"
    (logos, related stories...: listed, downloaded with --with-furniture); trackers and
    ad widgets are skipped. Files are saved as <sha256>.<ext>, with manifest.json,
    capture.warc.gz (every request and response) and custody.log. --json prints the
    manifest. Exit 0: all claim media fetched; 1: some failed; 2: nothing usable.

    \b
    Example:
      osintkit fetch https://t.me/s/somechannel/1234 -o evidence/claim-1
      osintkit fetch https://example.org/news/strike --json | jq '.items[].sha256'
    """
    from datetime import UTC, datetime

    from osintkit.fetch import fetch

    if out_dir is None:
        out_dir = Path(f"evidence-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
    progress, state = _fetch_progress(ctx, not (as_json or (ctx.obj and ctx.obj.quiet)))
    try:
        cap = fetch(url, out_dir, allow_private=allow_private, max_bytes=max_bytes,
                    max_items=max_items, timeout=timeout, total_timeout=total_timeout,
                    proxy=proxy, allow_networks=allow_networks, progress=progress,
                    with_furniture=with_furniture, screenshot=screenshot, source=source,
                    all_posts=all_posts)
    finally:
        if "bar" in state:
            state["bar"].close()
    if as_json:
        print_json(cap.to_dict())
    else:
        _render_capture(cap)
    for note_text in cap.notes:
        note(ctx, _terminal(note_text))
    for err in cap.failures:
        click.echo(f"Error: {_terminal(err.message)}", err=True)
    if cap.exit_code:
        raise click.exceptions.Exit(cap.exit_code)


@cli.group("evidence")
def evidence_group() -> None:
    """Evidence directories written by `osintkit fetch`.

    \b
    Example:
      osintkit evidence check evidence/claim-1
    """


@evidence_group.command("seal")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--tsa", default="https://freetsa.org/tsr", show_default=True, metavar="URL",
              help="RFC 3161 timestamp authority.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds to wait for the TSA.")
@click.option("--proxy", metavar="URL", help="Reach the TSA through this proxy.")
@click.option("--allow-private", is_flag=True,
              help="Allow a TSA on a private or loopback address.")
@json_option
def evidence_seal_cmd(directory: Path, tsa: str, timeout: float, proxy: str | None,
                      allow_private: bool, as_json: bool) -> None:
    """Timestamp the evidence (RFC 3161) so any later rewrite is caught.

    The TSA signs the sha256 of manifest.json and custody.log with its time; the token
    is kept as seal-<n>.tsr and seal.json. `evidence check` verifies it. Exit 0:
    sealed; 1: the TSA failed; 2: not an evidence directory.

    \b
    Example:
      osintkit evidence seal evidence/claim-1 --tsa https://freetsa.org/tsr
    """
    from osintkit.fetch.seal import seal_evidence

    rec = seal_evidence(directory, tsa, allow_private=allow_private, timeout=timeout,
                        proxy=proxy)
    if as_json:
        print_json(rec)
    else:
        click.echo(f"{directory}: sealed by {_terminal(tsa)} at {_terminal(rec['tsa_time'])} "
                   f"({rec['token']}, digest {rec['digest'][:16]}...)")


@evidence_group.command("check")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--tsa-ca", type=click.Path(dir_okay=False, exists=True), metavar="PEM",
              help="Verify the seal's timestamp chain to this trusted TSA CA certificate.")
@json_option
def evidence_check_cmd(directory: Path, tsa_ca: str | None, as_json: bool) -> None:
    """Recompute every hash; report files changed, missing or added since capture.

    Also verifies custody.log (each line chained to the one before), that
    manifest.json is the one recorded there, and the RFC 3161 seal if the folder was
    sealed (`evidence seal`). Manifest entries pointing outside the folder are errors
    and are not opened; files not in the manifest (dot-files too) are reported.
    A report folder written by `osintkit verify` is checked too: report.sha256, its
    evidence folders, and the local originals named in its custody block.
    Exit 0: intact; 1: something changed; 2: not an evidence directory.

    \b
    Example:
      osintkit evidence check evidence/claim-1 --json | jq .changed
      osintkit evidence check report/          # a folder written by osintkit verify
    """
    from osintkit.fetch import check_evidence
    from osintkit.report.check import is_report_folder

    if is_report_folder(directory):  # a verify report folder (issue 18: osintkit/report/check.py)
        _check_report_folder(directory, as_json)
        return
    res = check_evidence(directory, tsa_ca=tsa_ca)
    if as_json:
        print_json(res.to_dict())
    elif res.ok:
        seal = ""
        if res.seal:
            seal = (f"; sealed by {_terminal(res.seal['tsa'])} at {_terminal(res.seal['time'])}"
                    f"{', chain verified to --tsa-ca' if tsa_ca else ''}")
        click.echo(f"{directory}: intact ({res.checked} files match manifest.json{seal})")
    for name in res.unsafe:
        click.echo(f"Error: {directory}: manifest entry {_terminal(name)!r} points outside "
                   "the folder (not opened)", err=True)
    for problem in (res.seal or {}).get("problems") or []:
        click.echo(f"Error: {directory}: seal: {_terminal(problem)}", err=True)
    for kind in ("changed", "missing", "added"):
        for name in getattr(res, kind):
            click.echo(f"Error: {directory}/{name}: {kind} since capture", err=True)
    for problem in res.custody:
        click.echo(f"Error: {directory}: {problem}", err=True)
    exit_for(int(not res.ok))


def _check_report_folder(directory: Path, as_json: bool) -> None:
    """`evidence check` on a folder written by `osintkit verify` (osintkit/report/check.py)."""
    from osintkit.report.check import check_report_folder, render_check

    got = check_report_folder(directory)
    if as_json:
        print_json(got.to_dict())
    else:
        click.echo(render_check(got), nl=False)
    exit_for(int(not got.ok))
