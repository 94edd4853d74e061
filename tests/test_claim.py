"""Claim files and command-line overrides: dates with zones, windows, places, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from osintkit.claim import (
    apply_overrides,
    claim_from_dict,
    load_claim,
    parse_claimed_at,
    parse_place,
)
from osintkit.errors import EXIT_USAGE, InputError

PLUS5 = timezone(timedelta(hours=5))


def test_date_means_the_whole_day_in_the_claim_zone(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text('claimed_at: 2026-04-18\ntimezone: "+05:00"\nmedia: [a.jpg]\n')
    claim = load_claim(path)
    assert claim.id == "c"
    assert claim.claimed_at.start == datetime(2026, 4, 18, tzinfo=PLUS5)
    assert claim.claimed_at.end == datetime(2026, 4, 19, tzinfo=PLUS5)
    assert claim.claimed_at.precision == "date"
    assert not claim.claimed_at.assumed_zone
    assert claim.media == [tmp_path / "a.jpg"]  # relative to the claim file


def test_datetime_with_zone_is_an_instant():
    win = parse_claimed_at("2026-04-18T14:30:00+05:00")
    assert win.start == win.end == datetime(2026, 4, 18, 9, 30, tzinfo=UTC)
    assert win.precision == "instant"


def test_naive_date_without_zone_is_read_as_utc_and_flagged():
    win = parse_claimed_at("2026-04-18")
    assert win.start.utcoffset() == timedelta(0)
    assert win.assumed_zone


def test_window_with_iana_zone(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("claimed_at: {start: 2026-04-17, end: 2026-04-18}\n"
                    "timezone: Asia/Tashkent\nurls: https://example.org/p/1\n")
    claim = load_claim(path)
    assert claim.claimed_at.precision == "window"
    assert claim.claimed_at.start.isoformat() == "2026-04-17T00:00:00+05:00"
    assert claim.claimed_at.end.isoformat() == "2026-04-19T00:00:00+05:00"  # end day included
    assert claim.urls == ["https://example.org/p/1"]


def test_json_claim_with_every_field(tmp_path):
    rec = {"id": "x1", "title": "T", "claimant": "C", "claimed_at": "2026-04-18T10:00:00Z",
           "posted_at": "2026-04-18T12:00:00Z", "notes": "n",
           "place": {"name": "P", "lat": 37.2, "lon": 67.3, "radius_km": 10},
           "urls": ["https://example.org/a"], "media": ["m.jpg"]}
    path = tmp_path / "x.json"
    path.write_text(json.dumps(rec))
    d = load_claim(path).to_dict()
    assert d["id"] == "x1" and d["place"] == {"name": "P", "lat": 37.2, "lon": 67.3,
                                              "radius_km": 10.0}
    assert d["posted_at"] == "2026-04-18T12:00:00+00:00"
    assert d["claimed_at"]["precision"] == "instant"


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"),
    ("claimed_at: [unclosed\n", "not valid YAML"),
    ("- a list\n", "mapping"),
    ("clamed_at: 2026-04-18\n", "unknown field(s) clamed_at"),
    ("claimed_at: 18/04/2026\n", "claimed_at: not an ISO 8601"),
    ("place: {lat: 95, lon: 10}\n", "place: lat/lon out of range"),
    ("place: {lat: 37}\n", "place: expected keys"),
    ("timezone: Mars/Olympus\n", "unknown time zone"),
    ("claimed_at: {start: 2026-04-19, end: 2026-04-17}\n", "ends before it starts"),
])
def test_bad_claim_file_is_one_line_error_naming_the_file(tmp_path, text, reason):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_claim(path)
    assert str(path) in exc.value.message and reason in exc.value.message
    assert "\n" not in exc.value.message
    assert exc.value.exit_code == EXIT_USAGE


def test_missing_claim_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_claim(tmp_path / "nope.yaml")


def test_overrides_win_over_the_file():
    claim = claim_from_dict({"claimed_at": "2026-01-01", "place": {"lat": 1, "lon": 2}})
    out = apply_overrides(claim, claim_date="2026-04-18", claim_place="37.22, 67.28",
                          radius_km=5, tz="+05:00")
    assert out.claimed_at.start.isoformat() == "2026-04-18T00:00:00+05:00"
    assert (out.place.lat, out.place.lon, out.place.radius_km) == (37.22, 67.28, 5.0)
    assert claim.claimed_at.raw == "2026-01-01"  # the original is untouched


def test_radius_alone_changes_the_file_place():
    claim = claim_from_dict({"place": {"lat": 1, "lon": 2, "name": "X"}})
    out = apply_overrides(claim, radius_km=3)
    assert (out.place.lat, out.place.radius_km, out.place.name) == (1.0, 3.0, "X")


def test_interval_on_the_command_line():
    out = apply_overrides(claim_from_dict({}), claim_date="2026-04-17/2026-04-18")
    assert out.claimed_at.precision == "window"
    assert out.claimed_at.end - out.claimed_at.start == timedelta(days=2)


@pytest.mark.parametrize("kw", [{"claim_place": "37.2"}, {"claim_place": "a,b"},
                                {"radius_km": 5}, {"claim_date": "yesterday"}])
def test_bad_override_is_input_error(kw):
    with pytest.raises(InputError, match="bad claim option"):
        apply_overrides(claim_from_dict({}), **kw)


def test_parse_place_default_radius():
    assert parse_place("-33.86,151.21").radius_km == 25.0
