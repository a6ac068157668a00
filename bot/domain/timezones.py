"""Understanding the time zone a person types: IANA names, any case, or a unique city."""

from __future__ import annotations

import zoneinfo
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


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


@cache
def _zones_by_city() -> dict[str, list[str]]:
    by_city: dict[str, list[str]] = {}
    for name in zoneinfo.available_timezones():
        if "/" in name:
            city = name.rsplit("/", 1)[1].lower()
            by_city.setdefault(city, []).append(name)
    return by_city


def parse_timezone(text: str) -> str | None:
    """The canonical IANA name for what was typed, or None if it is not one we know.

    Accepts "Europe/Berlin", "europe/berlin", "Berlin" and "New York" (a city that names
    exactly one zone).
    """
    cleaned = text.strip().replace(" ", "_")
    if not cleaned or len(cleaned) > 64:
        return None
    lower = cleaned.lower()
    if lower in ("utc", "gmt", "z"):
        return "UTC"
    if name := _zones_by_lower_name().get(lower):
        return name
    matches = _zones_by_city().get(lower, [])
    return matches[0] if len(matches) == 1 else None
