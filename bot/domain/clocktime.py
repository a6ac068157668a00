"""Times of day as people type them, and turning local wall-clock times into instants.

Shared by medication schedules, quiet hours, deadlines, tip and check-in times. All of it is
pure: the caller passes "now" and the IANA zone.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

_CLOCK = re.compile(
    r"^\s*(?P<h>\d{1,2})(?:\s*[:.h]\s*(?P<m>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?\s*$",
    re.IGNORECASE,
)
_WORDS = {"noon": dt.time(12, 0), "midday": dt.time(12, 0), "midnight": dt.time(0, 0)}


def parse_time_of_day(text: str) -> dt.time | None:
    """ "08:00", "8:00", "20.30", "8am", "8:30 pm", "noon" → a time; anything unclear → None.

    A bare hour ("8") is refused: it could be morning or evening, and a wrong guess means a
    medication reminder at the wrong time.
    """
    cleaned = text.strip().lower()
    if cleaned in _WORDS:
        return _WORDS[cleaned]
    match = _CLOCK.match(cleaned)
    if not match:
        return None
    hour = int(match["h"])
    minute = int(match["m"]) if match["m"] is not None else None
    ampm = (match["ampm"] or "").replace(".", "")
    if minute is None and not ampm:
        return None
    minute = minute or 0
    if minute > 59:
        return None
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif hour > 23:
        return None
    return dt.time(hour, minute)


def parse_time_range(text: str) -> tuple[dt.time, dt.time] | None:
    """ "22:00-07:00" or "10pm to 7am" → (start, end); the range may cross midnight."""
    parts = re.split(r"\s*(?:-|–|—|\bto\b)\s*", text.strip(), maxsplit=1)
    if len(parts) != 2:
        return None
    start, end = parse_time_of_day(parts[0]), parse_time_of_day(parts[1])
    if start is None or end is None or start == end:
        return None
    return start, end


def format_time(value: dt.time) -> str:
    return value.strftime("%H:%M")


def local_instant(day: dt.date, at: dt.time, zone: str) -> dt.datetime:
    """The UTC instant of wall-clock `at` on `day` in `zone`.

    A time skipped by a DST change (02:30 on a spring-forward night) becomes the first valid
    instant after it (03:00); a repeated time (the autumn fold) is taken once, the first time.
    """
    tz = ZoneInfo(zone)
    naive = dt.datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    if _exists(first, tz):
        return first.astimezone(dt.UTC)
    # In a gap: walk forward to the first wall-clock minute that exists.
    probe = naive
    for _ in range(24 * 60):
        probe += dt.timedelta(minutes=1)
        candidate = probe.replace(tzinfo=tz, fold=0)
        if _exists(candidate, tz):
            return candidate.astimezone(dt.UTC)
    raise ValueError(f"no valid time after {naive} in {zone}")


def _exists(local: dt.datetime, tz: ZoneInfo) -> bool:
    """A wall-clock time exists if it survives a round trip through UTC."""
    back = local.astimezone(dt.UTC).astimezone(tz)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def local_date(instant: dt.datetime, zone: str) -> dt.date:
    return instant.astimezone(ZoneInfo(zone)).date()


def next_local_time(at: dt.time, zone: str, after: dt.datetime) -> dt.datetime:
    """The first instant strictly after `after` at which the wall clock in `zone` shows `at`."""
    day = local_date(after, zone) - dt.timedelta(days=1)
    for _ in range(4):
        instant = local_instant(day, at, zone)
        if instant > after:
            return instant
        day += dt.timedelta(days=1)
    raise AssertionError("unreachable: a wall-clock time recurs within two days")


def in_time_range(instant: dt.datetime, start: dt.time, end: dt.time, zone: str) -> bool:
    """Whether `instant`'s local wall-clock time falls in [start, end), crossing midnight."""
    local = instant.astimezone(ZoneInfo(zone)).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


def range_end_after(instant: dt.datetime, end: dt.time, zone: str) -> dt.datetime:
    """When a range that contains `instant` ends: the next time the wall clock shows `end`."""
    return next_local_time(end, zone, instant)
