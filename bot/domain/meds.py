"""Medication schedules as people type them, and the next reminder slot in the patient's zone.

Pure: no database, no Telegram. A schedule is local wall-clock times ("08:00, 20:00"), an
interval that expands to such times ("every 8 hours from 07:00"), or "as needed". Slots are
those times on real days, turned into UTC instants correctly across DST.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bot.domain.clocktime import format_time, local_date, local_instant, parse_time_of_day
from bot.domain.errors import MedInputError

MAX_NAME = 60
MAX_DOSE = 40
MAX_NOTE = 120
MAX_TIMES = 24
MAX_PER_DAY = 48
MAX_SUPPLY = 10_000

FIXED = "fixed"
INTERVAL = "interval"
AS_NEEDED = "as_needed"

_AS_NEEDED_WORDS = {
    "as needed",
    "as-needed",
    "when needed",
    "if needed",
    "as required",
    "when required",
    "prn",
    "p.r.n.",
}
_SKIP_WORDS = {"skip", "no", "none", "-", "—", "nothing", "n/a", "no note", "no limit"}
_OFF_WORDS = {"off", "stop", "none", "no", "don't track", "dont track", "-"}
_EVERY = re.compile(
    r"^every\s+(?P<n>\d{1,3})\s*(?:hours?|hrs?|h)\b\s*"
    r"(?:(?:from|starting(?:\s+at|\s+from)?|beginning(?:\s+at)?|at)\s+(?P<start>.+))?$",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b)\s*", re.IGNORECASE)
_BARE_HOUR = re.compile(r"^\d{1,2}$")
_NUMBER = re.compile(r"(\d+(?:[.,]\d+)?)")


def clean(text: str) -> str:
    """Collapse whitespace and drop control characters; keep everything else a person typed."""
    kept = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    return " ".join(kept.split())


def name_key(name: str) -> str:
    """What makes two names "the same medication": case and spacing do not count."""
    return clean(name).casefold()


def parse_name(text: str) -> str:
    name = clean(text)
    if not name:
        raise MedInputError("name_empty")
    if len(name) > MAX_NAME:
        raise MedInputError("name_long")
    return name


def parse_dose(text: str) -> str:
    dose = clean(text)
    if not dose:
        raise MedInputError("dose_empty")
    if len(dose) > MAX_DOSE:
        raise MedInputError("dose_long")
    return dose


def parse_note(text: str) -> str | None:
    note = clean(text)
    if note.casefold() in _SKIP_WORDS or not note:
        return None
    if len(note) > MAX_NOTE:
        raise MedInputError("note_long")
    return note


@dataclass(frozen=True)
class Schedule:
    """When a medication is due: fixed local times (also from an interval) or as needed."""

    kind: str
    times: tuple[dt.time, ...] = ()
    every_hours: int | None = None

    @property
    def as_needed(self) -> bool:
        return self.kind == AS_NEEDED

    def time_strings(self) -> list[str]:
        return [format_time(t) for t in self.times]


def parse_schedule(text: str) -> Schedule:
    """ "08:00, 14:00, 20:00", "8am and 8pm", "every 8 hours from 07:00" or "as needed"."""
    cleaned = clean(text)
    if not cleaned:
        raise MedInputError("times_empty")
    if cleaned.casefold().rstrip(".") in {w.rstrip(".") for w in _AS_NEEDED_WORDS}:
        return Schedule(AS_NEEDED)
    every = _EVERY.match(cleaned)
    if every:
        return _interval(int(every["n"]), every["start"])
    if cleaned.casefold().startswith("every"):
        raise MedInputError("every_form")
    return Schedule(FIXED, parse_times(cleaned))


def parse_times(text: str) -> tuple[dt.time, ...]:
    """A list of local times with a specific complaint for the first part that is unclear."""
    parts = _SPLIT.split(clean(text))
    times: list[dt.time] = []
    for part in parts:
        if not part:
            raise MedInputError("times_gap")
        parsed = parse_time_of_day(part)
        if parsed is not None:
            times.append(parsed)
            continue
        # "08:00 14:00" is a list with spaces; "8:30 pm" is one time (handled above).
        pieces = part.split()
        if len(pieces) > 1 and all(parse_time_of_day(p) for p in pieces):
            times.extend(t for t in (parse_time_of_day(p) for p in pieces) if t is not None)
            continue
        bad = next((p for p in pieces if parse_time_of_day(p) is None), part)
        if _BARE_HOUR.match(bad) and int(bad) <= 24:
            raise MedInputError("time_bare_hour", bad)
        raise MedInputError("time_bad", bad[:20])
    if len(times) > MAX_TIMES:
        raise MedInputError("times_many")
    seen: set[dt.time] = set()
    for value in times:
        if value in seen:
            raise MedInputError("time_twice", format_time(value))
        seen.add(value)
    return tuple(sorted(times))


def _interval(hours: int, start_text: str | None) -> Schedule:
    if hours < 1 or 24 % hours:
        raise MedInputError("every_hours")
    if not start_text:
        raise MedInputError("every_start")
    start = parse_time_of_day(start_text)
    if start is None:
        if _BARE_HOUR.match(start_text.strip()):
            raise MedInputError("time_bare_hour", start_text.strip())
        raise MedInputError("time_bad", clean(start_text)[:20])
    base = dt.datetime.combine(dt.date(2000, 1, 1), start)
    times = sorted({(base + dt.timedelta(hours=hours * k)).time() for k in range(24 // hours)})
    return Schedule(INTERVAL, tuple(times), hours)


def schedule_from_stored(kind: str, times: list[str], every_hours: int | None) -> Schedule:
    """Rebuild a schedule from a medication row (times are stored as "HH:MM")."""
    parsed = tuple(t for t in (parse_time_of_day(s) for s in times) if t is not None)
    return Schedule(kind, tuple(sorted(parsed)), every_hours)


# --- the label's limits ------------------------------------------------------------------
#
# A limit is read exactly or not at all: one number, with at most the one unit its question
# asks for. "In 24 hours at most 4" once stored 24; "1 hour 30 min" stored 1 hour.

_DIGITS = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
_NEGATIVE = re.compile(r"(?:^|[^0-9])[-\u2212\u2013]\s*[0-9]")
# One number, then (optionally) a unit: whatever words follow it, checked by each parser.
_ONE_NUMBER = r"(?P<n>[0-9]+(?:[.,][0-9]+)?)(?:\s*(?P<unit>[^\W\d_][^\d]*))?$"
_MAX_FORM = re.compile(r"^(?:(?:max(?:imum)?|at most|no more than)\s*:?\s*)?" + _ONE_NUMBER)
_GAP_FORM = re.compile(r"^(?:(?:at least|gap)\s*:?\s*)?" + _ONE_NUMBER)
_DOSE_UNITS = {"dose", "doses"}
_HOUR_UNITS = {"h", "hr", "hrs", "hour", "hours"}
_OTHER_TIME_UNITS = {
    "m", "min", "mins", "minute", "minutes", "d", "day", "days", "week", "weeks",
    "s", "sec", "secs", "second", "seconds",
}  # fmt: skip
MIN_GAP_HOURS = 0.25
MAX_GAP_HOURS = 48.0


def _limit_text(text: str) -> str:
    # A full stop at the end ("4.") is punctuation, not a decimal.
    return clean(text).casefold().rstrip(".!").strip()


def _limit_refusal(field: str, cleaned: str) -> MedInputError:
    """Why a limit was not read: the hint that helps most comes first."""
    numbers = _DIGITS.findall(cleaned)
    if len(numbers) > 1:
        return MedInputError(f"{field}_numbers")
    if numbers and _NEGATIVE.search(cleaned):
        return MedInputError(f"{field}_range")
    return MedInputError(f"{field}_bad")


def parse_max_per_day(text: str) -> int | None:
    """The label's maximum doses in 24 hours: "4", "4 doses", "max 4", "at most 4"; "skip"
    for none. Tablets, milligrams or a second number are refused: they are not a dose count."""
    cleaned = _limit_text(text)
    if cleaned in _SKIP_WORDS:
        return None
    form = _MAX_FORM.match(cleaned)
    if form is None or _NEGATIVE.search(cleaned):
        raise _limit_refusal("max", cleaned)
    if form["unit"] is not None and form["unit"] not in _DOSE_UNITS:
        raise MedInputError("max_unit")
    if not form["n"].isdigit() or not 1 <= int(form["n"]) <= MAX_PER_DAY:
        raise MedInputError("max_range")
    return int(form["n"])


def parse_min_hours(text: str) -> float | None:
    """The label's minimum hours between doses: "6", "6 hours", "6h", "4.5", "at least 6";
    "skip" for none. Other units ("1 day", "90 minutes") and second numbers are refused."""
    cleaned = _limit_text(text)
    if cleaned in _SKIP_WORDS:
        return None
    form = _GAP_FORM.match(cleaned)
    if form is None or _NEGATIVE.search(cleaned):
        raise _limit_refusal("gap", cleaned)
    unit = form["unit"]
    if unit is not None and unit not in _HOUR_UNITS:
        other_unit = unit.split()[0] in _OTHER_TIME_UNITS
        raise MedInputError("gap_unit" if other_unit else "gap_bad")
    whole, _, fraction = form["n"].replace(",", ".").partition(".")
    if len(fraction) > 2:
        raise MedInputError("gap_range")
    value = float(f"{whole}.{fraction or 0}")
    if not MIN_GAP_HOURS <= value <= MAX_GAP_HOURS:
        raise MedInputError("gap_range")
    return value


def format_max(value: int) -> str:
    """The maximum as a person would type it back (parse_max_per_day reads it unchanged)."""
    return str(value)


def format_gap(value: float) -> str:
    """Hours as a person would type them back: "6", "4.5" (parse_min_hours reads it unchanged)."""
    return f"{value:g}"


@dataclass(frozen=True)
class ScheduleVsLabel:
    """Where a schedule's own times already pass the label's limits: facts for a heads-up
    when it is saved (otherwise every reminder would ask "log it anyway?")."""

    doses_a_day: int | None = None  # set when above the label's maximum
    close_pair: tuple[dt.time, dt.time] | None = None  # set when closer than the minimum gap
    close_hours: float = 0.0


def schedule_vs_label(
    times: tuple[dt.time, ...], max_per_24h: int | None, min_hours: float | None
) -> ScheduleVsLabel | None:
    """None when the times fit the limits (wall-clock hours; the last time of a day and the
    first of the next count as neighbours)."""
    if not times:
        return None
    over = len(times) if max_per_24h and len(times) > max_per_24h else None
    ordered = sorted(times)
    minutes = [t.hour * 60 + t.minute for t in ordered]
    gaps = [
        ((minutes[(i + 1) % len(minutes)] - m) % (24 * 60) or 24 * 60, i)
        for i, m in enumerate(minutes)
    ]
    gap, index = min(gaps)
    close = None
    if min_hours and gap < min_hours * 60:
        close = (ordered[index], ordered[(index + 1) % len(ordered)])
    if over is None and close is None:
        return None
    return ScheduleVsLabel(over, close, gap / 60 if close else 0.0)


def parse_supply(text: str) -> int | None:
    """Doses on hand: "30", "30 tablets"; "off" stops counting."""
    cleaned = clean(text).casefold()
    if cleaned in _OFF_WORDS:
        return None
    match = _NUMBER.search(cleaned)
    if not match or "." in match[1] or "," in match[1]:
        raise MedInputError("supply_bad")
    value = int(match[1])
    if not 0 <= value <= MAX_SUPPLY:
        raise MedInputError("supply_bad")
    return value


@dataclass(frozen=True)
class OneLine:
    """`/addmed <name> | <dose> | <times> [| <note>] [| max <n>] [| gap <hours>]`, checked."""

    name: str
    dose: str
    schedule: Schedule
    note: str | None
    max_per_24h: int | None = None
    min_hours: float | None = None


# After the times, a part is a limit only when it is named ("max 4", "gap 6h"), so a note is
# never read as one; a part that reads like an unnamed limit is refused rather than kept as a
# note, or the person would believe a limit was saved.
_NAMED_LIMIT = re.compile(r"^(?P<key>max|gap)\b\s*:?\s*(?P<value>.*)$", re.IGNORECASE)
_UNNAMED_LIMIT = re.compile(
    r"^(?:maximum|at most|not more than|no more than|up to|at least|minimum|min|every)\b.*[0-9]",
    re.IGNORECASE,
)
_LIMIT_PARSERS = {"max": parse_max_per_day, "gap": parse_min_hours}
MAX_PARTS = 6


def parse_one_line(text: str) -> OneLine:
    parts = [p.strip() for p in text.split("|")]
    if len(parts) < 3 or len(parts) > MAX_PARTS:
        raise MedInputError("one_line")
    name, dose, schedule = parse_name(parts[0]), parse_dose(parts[1]), parse_schedule(parts[2])
    found: dict[str, Any] = {}
    for part in (clean(p) for p in parts[3:]):
        if not part:
            continue
        named = _NAMED_LIMIT.match(part)
        if named is None and _UNNAMED_LIMIT.match(part):
            raise MedInputError("one_line_limits")
        key = named["key"].casefold() if named else "note"
        if key in found:
            raise MedInputError("one_line_twice", key)
        if named is None:
            found[key] = parse_note(part)
            continue
        value = _LIMIT_PARSERS[key](named["value"])
        if value is None:  # "max skip": leave the part out instead
            raise MedInputError(f"{key}_bad")
        found[key] = value
    return OneLine(name, dose, schedule, found.get("note"), found.get("max"), found.get("gap"))


# --- slots -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One scheduled dose: the instant it is due and the local day and time it stands for."""

    at: dt.datetime
    day: dt.date
    time: dt.time

    @property
    def key(self) -> str:
        """Unique per medication: the local date and wall-clock time ("2026-03-29T08:00")."""
        return f"{self.day.isoformat()}T{format_time(self.time)}"

    @property
    def label(self) -> str:
        return format_time(self.time)


def next_slot(times: tuple[dt.time, ...], zone: str, after: dt.datetime) -> Slot | None:
    """The first slot strictly after `after`.

    Asked the same question over and over (at 08:00 the sweep asks it for every medication
    due then, and most share their times and time zone), so the answers are kept: keyed by
    the instant in UTC, since two aware datetimes in one zone that differ only in `fold`
    (the autumn's repeated hour) are equal, and hash alike, as Python compares them. A naive
    `after` is refused: converting it would read it in the server's own time zone.
    """
    if after.utcoffset() is None:
        raise TypeError("next_slot needs an aware datetime (an instant), not a naive one")
    return _next_slot(tuple(times), zone, after.astimezone(dt.UTC))


@functools.lru_cache(maxsize=4096)
def _next_slot(times: tuple[dt.time, ...], zone: str, after: dt.datetime) -> Slot | None:
    """`next_slot`, for an instant in UTC.

    Each time keeps its wall-clock time across DST (08:00 stays 08:00 local); a time the
    clocks skip fires at the first valid instant after it; a repeated time fires once. Two
    times that land on the same instant (02:30 and 03:00 on a spring-forward night) make one
    reminder, the earlier time's.
    """
    if not times:
        return None
    day = local_date(after, zone) - dt.timedelta(days=1)
    # Wall-clock order is instant order within a day and across days, so the first day
    # with any slot after `after` holds the answer.
    for _ in range(4):
        best: Slot | None = None
        for value in times:
            at = local_instant(day, value, zone)
            if at > after and (best is None or (at, value) < (best.at, best.time)):
                best = Slot(at, day, value)
        if best is not None:
            return best
        day += dt.timedelta(days=1)
    raise AssertionError("unreachable: a wall-clock time recurs within two days")


def slots_between(
    times: tuple[dt.time, ...], zone: str, after: dt.datetime, until: dt.datetime
) -> list[Slot]:
    """Every slot in (after, until], in order."""
    found: list[Slot] = []
    slot = next_slot(times, zone, after)
    while slot is not None and slot.at <= until:
        found.append(slot)
        slot = next_slot(times, zone, slot.at)
    return found


def prev_slot(times: tuple[dt.time, ...], zone: str, at: dt.datetime) -> Slot | None:
    """The last slot at or before `at` (the mirror of `next_slot`)."""
    if not times:
        return None
    day = local_date(at, zone) + dt.timedelta(days=1)
    for _ in range(4):
        best: Slot | None = None
        for value in times:
            instant = local_instant(day, value, zone)
            if instant <= at and (best is None or (instant, value) > (best.at, best.time)):
                best = Slot(instant, day, value)
        if best is not None:
            # Two times on one instant (a spring-forward night) are one slot, the earlier's.
            same = [v for v in times if local_instant(day, v, zone) == best.at]
            return Slot(best.at, day, min(same))
        day -= dt.timedelta(days=1)
    raise AssertionError("unreachable: a wall-clock time recurs within two days")


# A dose logged this close before a scheduled time counts as that time's dose (taken early),
# at most half the way back to the time before it.
EARLY = dt.timedelta(hours=1)


def slot_for(times: tuple[dt.time, ...], zone: str, at: dt.datetime) -> Slot | None:
    """The scheduled time a dose taken at `at` stands for: the latest one at or before it,
    unless the next one is at most `EARLY` away (and nearer than the last). Each scheduled
    time thus owns one window, and two doses in one window are two doses for one time."""
    following = next_slot(times, zone, at)
    before = prev_slot(times, zone, at)
    if following is None or before is None:
        return before or following
    early = min(EARLY, (following.at - before.at) / 2)
    return following if following.at - at <= early else before
