"""Time zones as people type them."""

from __future__ import annotations

import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.timezones import COMMON_ZONES, parse_timezone


@pytest.mark.parametrize(
    "typed, zone",
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("  europe/berlin ", "Europe/Berlin"),
        ("Berlin", "Europe/Berlin"),
        ("New York", "America/New_York"),
        ("kolkata", "Asia/Kolkata"),
        ("UTC", "UTC"),
    ],
)
def test_names_cities_and_any_case_are_understood(typed: str, zone: str) -> None:
    assert parse_timezone(typed) == zone


@pytest.mark.parametrize("typed", ["", "Mars/Olympus", "CET+5", "<b>", "x" * 100, "../etc"])
def test_unknown_zones_are_refused(typed: str) -> None:
    assert parse_timezone(typed) is None


def test_the_buttons_offer_real_zones() -> None:
    for zone in COMMON_ZONES:
        zoneinfo.ZoneInfo(zone)
        assert parse_timezone(zone) == zone


@given(st.text(max_size=80))
def test_any_text_gives_a_real_zone_or_none(typed: str) -> None:
    zone = parse_timezone(typed)
    assert zone is None or zoneinfo.ZoneInfo(zone)
