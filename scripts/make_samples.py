#!/usr/bin/env python3
"""Regenerate the benign demo samples under samples/ (deterministic: same bytes every run).

Everything is drawn from synthetic shapes, gradients, noise and text — no real imagery:

  samples/media/    the claims' media: pictures with EXIF dates and GPS near and far from
                    the claimed place, an edited one (Photoshop + XMP history), one with
                    no metadata, recycled copies of archive pictures (one mirrored), and a
                    short video whose second shot is recycled from an archived video
  samples/archive/  "known" older material and known.yaml (source, first_seen, title per
                    file); `scripts/demo.py` loads it into a SQLite archive
  samples/claims/   one claim file per verdict (see docs/verify.md)
  samples/spread/   a claim seen on four channels (agency post, a cropped and mirrored
                    re-post, one with a logo, a forward), served by scripts/demo.py

Usage: python scripts/make_samples.py [--out samples]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

W, H = 480, 360
PLACE = {"name": "Termez (sample)", "lat": 37.2242, "lon": 67.2783, "radius_km": 25}
CLAIM_DATE = "2026-04-18"

# ------------------------------------------------------------------ drawing
PALETTES = [((40, 70, 140), (210, 190, 150)), ((20, 30, 60), (230, 120, 60)),
            ((90, 140, 200), (60, 90, 40)), ((150, 150, 160), (80, 60, 50)),
            ((200, 220, 240), (120, 110, 90)), ((30, 60, 50), (220, 200, 120))]


def scene(seed: int, label: str, size: tuple[int, int] = (W, H), shift: float = 0.0) -> Image.Image:
    """A synthetic 'photo': gradient sky, ground, random shapes, noise and a caption.

    `shift` (pixels) slides the shapes sideways: consecutive video frames of one shot.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    top, bottom = PALETTES[seed % len(PALETTES)]
    ys = np.linspace(0.0, 1.0, h)[:, None, None]
    grad = (np.array(top) * (1 - ys) + np.array(bottom) * ys) * np.ones((h, w, 3))
    img = Image.fromarray(grad.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    horizon = int(h * rng.uniform(0.45, 0.7))
    draw.rectangle([0, horizon, w, h], fill=tuple(int(c) for c in rng.integers(30, 140, 3)))
    for _ in range(14):
        x, y = rng.uniform(0, w) + shift, rng.uniform(0, h)
        r = rng.uniform(10, 70)
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = [x - r, y - r * rng.uniform(0.4, 1.0), x + r, y + r * rng.uniform(0.4, 1.0)]
        if rng.random() < 0.5:
            draw.ellipse(box, fill=color)
        else:
            pts = [(x + r * np.cos(a), y + r * np.sin(a))
                   for a in np.sort(rng.uniform(0, 2 * np.pi, 5))]
            draw.polygon(pts, fill=color)
    font = ImageFont.load_default(size=22)
    draw.text((12 + shift / 4, h - 34), label, fill=(255, 255, 255), font=font)
    # Muted colours and luminance grain, like a camera's: saturated flat drawings make
    # error level analysis (forensics) fire on chroma edges, which photos rarely do.
    arr = np.asarray(ImageEnhance.Color(img).enhance(0.5)).astype(np.int16)
    noise = np.random.default_rng(seed + 1000).integers(-20, 21, arr.shape[:2])[..., None]
    return Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8), "RGB")


# ------------------------------------------------------------------ EXIF / XMP
def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    value = abs(value)
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = round((value - deg - minutes / 60) * 3600, 2)
    return Fraction(deg), Fraction(minutes), Fraction(seconds).limit_denominator(100)


def exif(*, when: str | None = None, offset: str | None = None, gps: tuple | None = None,
         make: str | None = "SampleCam", model: str | None = "Field 1",
         software: str | None = None) -> Image.Exif:
    """EXIF with capture time (+ offset), camera, software and GPS, as cameras write it."""
    ex = Image.Exif()
    if make:
        ex[0x010F], ex[0x0110] = make, model or ""
    if software:
        ex[0x0131] = software
    sub = ex.get_ifd(0x8769)
    if when:
        sub[0x9003] = sub[0x9004] = when
        if offset:
            sub[0x9011] = offset
    if gps:
        lat, lon = gps
        g = ex.get_ifd(0x8825)
        g[0], g[1], g[2] = b"\x02\x03\x00\x00", "N" if lat >= 0 else "S", _dms(lat)
        g[3], g[4] = "E" if lon >= 0 else "W", _dms(lon)
    return ex


XMP_EDITED = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
    xmp:CreatorTool="Adobe Photoshop 25.0 (Windows)"
    xmp:ModifyDate="2026-04-18T15:10:00+05:00">
   <xmpMM:History>
    <rdf:Seq>
     <rdf:li stEvt:action="created" stEvt:when="2026-04-13T09:00:00+05:00"
       stEvt:softwareAgent="SampleCam Field 1"/>
     <rdf:li stEvt:action="saved" stEvt:when="2026-04-18T15:10:00+05:00"
       stEvt:softwareAgent="Adobe Photoshop 25.0 (Windows)" stEvt:changed="/"/>
    </rdf:Seq>
   </xmpMM:History>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def save_jpeg(img: Image.Image, path: Path, quality: int = 82, **kw: object) -> None:
    """Write a JPEG only when its bytes changed (keeps mtimes and git quiet)."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, **kw)
    write(path, buf.getvalue())


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


# ------------------------------------------------------------------ video
def shot(seed: int, label: str, seconds: float, fps: int, size: tuple[int, int]) -> list:
    """Frames of one shot: the scene slides slowly sideways."""
    n = int(seconds * fps)
    return [scene(seed, label, size, shift=i * 1.5) for i in range(n)]


def write_video(frames: list[Image.Image], path: Path, fps: int = 10) -> None:
    """H.264 MP4, one thread and fixed settings so the bytes are reproducible."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4", options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        stream.codec_context.options = {"crf": "30", "preset": "medium", "g": str(fps),
                                        "threads": "1", "flags": "+bitexact"}
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    write(path, buf.getvalue())


# ------------------------------------------------------------------ the samples
ARCHIVE_YAML = """\
# Known older material for the demo archive (scripts/demo.py loads it into SQLite).
# Each entry: file, source, first_seen (the earliest date it was seen), title.
items:
  - file: 2019_parade.jpg
    source: sample-news-archive
    first_seen: 2019-05-09
    title: Parade rehearsal (synthetic sample)
  - file: 2021_convoy.jpg
    source: sample-stock-photos
    first_seen: 2021-08-14
    title: Convoy on a highway (synthetic sample)
  - file: 2020_launch.mp4
    source: sample-video-archive
    first_seen: 2020-03-02
    title: Launch footage from an exercise (synthetic sample)
  - file: 2018_market.jpg
    source: sample-news-archive
    first_seen: 2018-11-20
    title: Market street (synthetic sample, matches nothing)
"""

CLAIM_HEAD = """\
# Sample claim (synthetic). Expected verdict: {verdict}.
id: {id}
title: "{title}"
claimant: Sample Agency (fictional)
claimed_at: {date}
timezone: "+05:00"
posted_at: 2026-04-18T20:00:00+05:00
place: {{name: "{name}", lat: {lat}, lon: {lon}, radius_km: {radius_km}}}
"""

CLAIMS = {
    "corroborated": ("corroborated", "Rockets fired at a military post near Termez",
                     ["../media/strike_near.jpg"],
                     "Photo with camera time and GPS that fit the claim."),
    "no_contradiction": ("no-contradiction-found", "Smoke seen over Termez",
                         ["../media/forwarded.jpg"],
                         "A picture forwarded through a messenger: no metadata left."),
    "suspicious": ("suspicious", "Damaged building in Termez",
                   ["../media/edited.jpg"],
                   "Edited in Photoshop, captured days before the claimed date."),
    "contradicted_recycled": ("contradicted", "Launch of ten rockets near Termez",
                              ["../media/recycled.jpg", "../media/recycled_small.jpg",
                               "../media/recycled_mirrored.jpg", "../media/launch.mp4"],
                              "Pictures and a video shot recycled from older material."),
    "contradicted_far": ("contradicted", "Impact site at the Termez post",
                         ["../media/strike_far.jpg"],
                         "GPS in the photo is hundreds of kilometres away."),
}


def claim_text(key: str) -> str:
    verdict, title, media, notes = CLAIMS[key]
    head = CLAIM_HEAD.format(verdict=verdict, id=f"sample-{key.replace('_', '-')}",
                             title=title, date=CLAIM_DATE, **PLACE)
    lines = [head.rstrip("\n"), "media:"] + [f"  - {m}" for m in media]
    return "\n".join([*lines, f"notes: {json.dumps(notes)}", ""])


def make(out: Path) -> list[Path]:
    """Write every sample under `out`; returns the paths."""
    media, archive, claims = out / "media", out / "archive", out / "claims"
    # Archive: known older material.
    parade = scene(10, "PARADE 2019")
    convoy = scene(11, "CONVOY 2021")
    save_jpeg(parade, archive / "2019_parade.jpg", exif=exif(when="2019:05:09 10:00:00"))
    save_jpeg(convoy, archive / "2021_convoy.jpg", exif=exif(when="2021:08:14 16:20:00"))
    save_jpeg(scene(13, "MARKET 2018"), archive / "2018_market.jpg")
    old_shot = shot(12, "EXERCISE 2020", 3.0, 10, (320, 240))
    write_video(old_shot, archive / "2020_launch.mp4")
    write(archive / "known.yaml", ARCHIVE_YAML.encode())
    # Claim media.
    near = (37.2400, 67.3000)  # ~2.7 km from the claimed place
    far = (41.3111, 69.2797)  # ~486 km away
    save_jpeg(scene(1, "SAMPLE 1"), media / "strike_near.jpg",
              exif=exif(when="2026:04:18 14:32:10", offset="+05:00", gps=near))
    save_jpeg(scene(2, "SAMPLE 2"), media / "strike_far.jpg",
              exif=exif(when="2026:04:18 11:05:00", offset="+05:00", gps=far))
    save_jpeg(scene(3, "SAMPLE 3"), media / "edited.jpg",
              exif=exif(when="2026:04:13 09:00:00", offset="+05:00",
                        software="Adobe Photoshop 25.0 (Windows)"), xmp=XMP_EDITED)
    save_jpeg(scene(4, "SAMPLE 4"), media / "forwarded.jpg", quality=75)
    save_jpeg(parade.resize((400, 300), Image.Resampling.LANCZOS), media / "recycled.jpg",
              quality=75)
    save_jpeg(parade.resize((240, 180), Image.Resampling.LANCZOS), media / "recycled_small.jpg",
              quality=75)
    save_jpeg(ImageOps.mirror(convoy).resize((440, 330), Image.Resampling.LANCZOS),
              media / "recycled_mirrored.jpg", quality=78)
    new_shot = shot(5, "SAMPLE 5", 3.0, 10, (320, 240))
    write_video(new_shot + old_shot, media / "launch.mp4")
    for key in CLAIMS:
        write(claims / f"{key}.yaml", claim_text(key).encode())
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when loaded by a test
    from sample_spread import make_spread  # the claim with several URLs (scripts/demo.py)

    make_spread(out, scene, save_jpeg, write)
    return sorted(p for p in out.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "samples")
    args = ap.parse_args(argv)
    paths = make(args.out)
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} sample files in {args.out} ({total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
