"""Time zones as people type them."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import texts
from bot.domain.timezones import (
    CITY_ALIASES,
    COMMON_ZONES,
    Refusal,
    fixed_offset,
    parse_timezone,
    read_timezone,
)


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


# --- offsets, accents and cities that are not IANA names (issue 13, item 6) ---------------

WHEN = dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)


def offset_of(zone: str, when: dt.datetime = WHEN) -> dt.timedelta:
    offset = when.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()
    assert offset is not None
    return offset


@pytest.mark.parametrize(
    "typed, hours",
    [
        ("GMT+2", 2),
        ("UTC+2", 2),
        ("UTC+02:00", 2),
        ("+02:00", 2),
        ("+2", 2),
        ("GMT-5", -5),
        ("utc − 3", -3),  # a typographic minus
        ("UTC+14", 14),
        ("GMT-12", -12),
        ("+0100", 1),
    ],
)
def test_offsets_mean_what_people_mean(typed: str, hours: int) -> None:
    zone = parse_timezone(typed)
    assert zone is not None, typed
    assert offset_of(zone) == dt.timedelta(hours=hours)
    assert offset_of(zone, WHEN.replace(month=7)) == dt.timedelta(hours=hours)


@pytest.mark.parametrize(
    "typed, zone",
    [
        ("São Paulo", "America/Sao_Paulo"),
        ("sao paulo", "America/Sao_Paulo"),
        ("SÃO-PAULO", "America/Sao_Paulo"),
        ("America/São Paulo", "America/Sao_Paulo"),
        ("Zürich", "Europe/Zurich"),
        ("Munich", "Europe/Berlin"),
        ("münchen", "Europe/Berlin"),
        ("Berlin, Germany", "Europe/Berlin"),
        ("Mumbai", "Asia/Kolkata"),
        ("St. John's", "America/St_Johns"),
        ("Istanbul", "Europe/Istanbul"),
        ("Buenos Aires", "America/Argentina/Buenos_Aires"),
        ("GMT", "UTC"),
        ("UTC+0", "UTC"),
    ],
)
def test_cities_match_without_accents_or_case(typed: str, zone: str) -> None:
    assert parse_timezone(typed) == zone


@pytest.mark.parametrize(
    "typed, refusal",
    [
        ("UTC+5:30", Refusal.PART_HOUR),
        ("+05:45", Refusal.PART_HOUR),
        ("UTC+15", Refusal.OUT_OF_RANGE),
        ("GMT-13", Refusal.OUT_OF_RANGE),
        ("Etc/GMT+2", Refusal.FLIPPED_SIGN),
        ("etc/gmt-5", Refusal.FLIPPED_SIGN),
        ("EST", Refusal.NO_DAYLIGHT_SAVING),
        ("MST", Refusal.NO_DAYLIGHT_SAVING),
        ("localtime", Refusal.UNKNOWN),
        ("Factory", Refusal.UNKNOWN),
        ("UTC+2:75", Refusal.UNKNOWN),
    ],
)
def test_what_would_shift_reminders_is_refused_with_a_reason(typed: str, refusal: Refusal) -> None:
    assert read_timezone(typed) is refusal
    assert parse_timezone(typed) is None


def test_fixed_offsets_are_known_as_such() -> None:
    assert fixed_offset("Etc/GMT-2") == dt.timedelta(hours=2)
    assert fixed_offset("UTC") == dt.timedelta(0)
    assert fixed_offset("Europe/Berlin") is None
    assert fixed_offset("Asia/Kolkata") is None  # a place: its rules are followed


def test_every_alias_names_a_real_zone() -> None:
    for city, zone in CITY_ALIASES.items():
        assert zone in zoneinfo.available_timezones(), city
        assert parse_timezone(city) == zone, city


SIGNS = {"+": 1, "-": -1, "−": -1, "–": -1}


@st.composite
def offset_spellings(draw: st.DrawFn) -> tuple[str, int]:
    """A whole-hour offset in one of the spellings we accept, and the hours it means."""
    hours = draw(st.integers(-12, 14))
    minus = ["-", "−", "–"]
    sign = "+" if hours > 0 else draw(st.sampled_from(minus if hours < 0 else ["+", *minus]))
    n = abs(hours)
    spelling = draw(
        st.sampled_from(
            [
                "GMT{s}{n}",
                "UTC{s}{n}",
                "UTC{s}{n:02d}:00",
                "{s}{n:02d}:00",
                "{s}{n}",
                "utc {s} {n}",
                "gmt{s}{n:02d}",
                "{s}{n:02d}00",
                "UTC{s}{n}:00",
                "  Utc{s}{n}h ",
            ]
        )
    )
    return spelling.format(s=sign, n=n), hours


@given(offset_spellings())
def test_every_whole_hour_spelling_resolves_to_exactly_that_offset(
    spelled: tuple[str, int],
) -> None:
    typed, hours = spelled
    zone = parse_timezone(typed)
    assert zone is not None, typed
    assert offset_of(zone) == dt.timedelta(hours=hours), (typed, zone)


@given(
    st.sampled_from(["", "utc", "UTC ", "gmt", "GMT", "Etc/GMT", "z"]),
    st.sampled_from(list(SIGNS)),
    st.integers(0, 99),
    st.one_of(st.none(), st.integers(0, 99)),
    st.sampled_from(["", ":", "."]),
)
def test_no_offset_ever_lands_on_the_opposite_sign(
    prefix: str, sign: str, hours: int, minutes: int | None, separator: str
) -> None:
    typed = f"{prefix}{sign}{hours}" + ("" if minutes is None else f"{separator}{minutes:02d}")
    result = read_timezone(typed)
    if isinstance(result, Refusal):
        return
    meant = SIGNS[sign] * dt.timedelta(hours=hours, minutes=minutes or 0)
    assert offset_of(result) == meant, (typed, result)


@given(st.text(max_size=80))
def test_random_text_never_raises(typed: str) -> None:
    result = read_timezone(typed)
    assert isinstance(result, Refusal) or zoneinfo.ZoneInfo(result)


@given(
    st.sampled_from(sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})),
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2040, 1, 1), timezones=st.just(dt.UTC)),
)
def test_the_confirmation_always_shows_the_local_time_and_the_offset(
    zone: str, now: dt.datetime
) -> None:
    text = texts.timezone_set(zone, now)
    local = now.astimezone(zoneinfo.ZoneInfo(zone))
    assert f"it's {local:%H:%M} there now" in text
    z = local.strftime("%z")
    offset = f"UTC{z[0]}{z[1:3]}:{z[3:5]}"
    fixed_at_zero = fixed_offset(zone) == dt.timedelta(0)
    assert ("UTC" if fixed_at_zero else offset) in text
    assert "Etc/" not in text  # its sign reads the wrong way round
