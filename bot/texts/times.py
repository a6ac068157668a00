"""Local times and dates as a person reads them, in their own time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.domain.timezones import fixed_offset

__all__ = [
    "by_time",
    "clock",
    "date_local",
    "day_clock",
    "quiet_range",
    "since_day",
    "utc_offset",
    "when_local",
    "zone_name",
]


def clock(instant: dt.datetime, zone: str) -> str:
    """A wall-clock time in the patient's zone, like 08:05."""
    return instant.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def day_clock(instant: dt.datetime, zone: str, now: dt.datetime) -> str:
    """ "today 14:00", "tomorrow 08:00" or "Wed 08:00", in the patient's zone."""
    tz = ZoneInfo(zone)
    local, today = instant.astimezone(tz), now.astimezone(tz).date()
    days = (local.date() - today).days
    prefix = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(days, local.strftime("%a %d %b"))
    return f"{prefix} {local:%H:%M}"


def by_time(instant: dt.datetime, zone: str | None, now: dt.datetime) -> str:
    """ "19:00", "19:00 tomorrow" or "Tue 03 Mar, 19:00", in the reader's time zone."""
    tz = ZoneInfo(zone) if zone else dt.UTC
    local, today = instant.astimezone(tz), now.astimezone(tz).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.date() == today + dt.timedelta(days=1):
        return local.strftime("%H:%M tomorrow")
    return local.strftime("%a %d %b, %H:%M")


def when_local(instant: dt.datetime, timezone: str | None) -> str:
    """A date a person can read, in their own time zone."""
    local = instant.astimezone(ZoneInfo(timezone)) if timezone else instant
    return local.strftime("%a %d %b, %H:%M")


def date_local(instant: dt.datetime, timezone: str | None) -> str:
    """A day a person can read, in their own time zone."""
    local = instant.astimezone(ZoneInfo(timezone)) if timezone else instant
    return local.strftime("%a %d %b")


def _day(day: dt.date) -> str:
    return day.strftime("%a %d %b")


def since_day(day: dt.date, today: dt.date) -> str:
    """The day of an unanswered check-in, as "since …" reads it: "yesterday", "Monday"."""
    days = (today - day).days
    if days <= 1:
        return "yesterday"
    return day.strftime("%A") if days < 7 else day.strftime("%A %d %B").replace(" 0", " ")


def quiet_range(start: dt.time, end: dt.time) -> str:
    return f"{start.strftime('%H:%M')}–{end.strftime('%H:%M')}"


def utc_offset(instant: dt.datetime, zone: str) -> str:
    """ "UTC+01:00": how far the zone's clocks are from UTC at that instant."""
    offset = instant.astimezone(ZoneInfo(zone)).utcoffset() or dt.timedelta(0)
    sign = "-" if offset < dt.timedelta(0) else "+"
    hours, rest = divmod(abs(offset), dt.timedelta(hours=1))
    return f"UTC{sign}{hours:02d}:{rest // dt.timedelta(minutes=1):02d}"


def zone_name(zone: str) -> str:
    """A zone as people read it: "Europe/Berlin", but "UTC+02:00" rather than "Etc/GMT-2"
    (whose sign is flipped)."""
    offset = fixed_offset(zone)
    if offset is None:
        return zone
    return "UTC" if not offset else utc_offset(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), zone)
