"""Local times and dates as a person reads them, in their own time zone: the day, then the time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.domain.clocktime import format_time
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


# One order everywhere: the day, then the time. Days near today by name ("today 08:00",
# "tomorrow 08:00"), others by date ("Mon 12 Jan, 08:00").
_NEAR_DAYS = {0: "today", 1: "tomorrow", -1: "yesterday"}


def _local(instant: dt.datetime, zone: str | None) -> dt.datetime:
    """The instant on the reader's clock (UTC for someone who hasn't set a zone)."""
    return instant.astimezone(ZoneInfo(zone) if zone else dt.UTC)


def _day(day: dt.date) -> str:
    """ "Mon 12 Jan"."""
    return day.strftime("%a %d %b")


def _dated(local: dt.datetime) -> str:
    """ "Mon 12 Jan, 08:00"."""
    return f"{_day(local.date())}, {local:%H:%M}"


def clock(instant: dt.datetime, zone: str | None) -> str:
    """A wall-clock time in the reader's zone, like 08:05."""
    return f"{_local(instant, zone):%H:%M}"


def day_clock(instant: dt.datetime, zone: str | None, now: dt.datetime) -> str:
    """ "today 14:00", "tomorrow 08:00" or "Wed 12 Mar, 08:00", in the reader's zone."""
    local = _local(instant, zone)
    day = _NEAR_DAYS.get((local.date() - _local(now, zone).date()).days)
    return f"{day} {local:%H:%M}" if day else _dated(local)


def by_time(instant: dt.datetime, zone: str | None, now: dt.datetime) -> str:
    """A time something is wanted by: as `day_clock`, but just "19:00" for today."""
    local = _local(instant, zone)
    if local.date() == _local(now, zone).date():
        return f"{local:%H:%M}"
    return day_clock(instant, zone, now)


def when_local(instant: dt.datetime, timezone: str | None) -> str:
    """ "Mon 12 Jan, 08:00", in the reader's zone."""
    return _dated(_local(instant, timezone))


def date_local(instant: dt.datetime, timezone: str | None) -> str:
    """ "Mon 12 Jan", in the reader's zone."""
    return _day(_local(instant, timezone).date())


def since_day(day: dt.date, today: dt.date) -> str:
    """The day of an unanswered check-in, as "since …" reads it: "yesterday", "Monday"."""
    days = (today - day).days
    if days <= 1:
        return "yesterday"
    return day.strftime("%A") if days < 7 else day.strftime("%A %d %B").replace(" 0", " ")


def quiet_range(start: dt.time, end: dt.time) -> str:
    return f"{format_time(start)}–{format_time(end)}"


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
