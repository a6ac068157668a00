"""Needs as pure rules: the state machine, the clock's timetable, fairness, and the parsers
for what people type (a need's text, a deadline, quiet hours, days away).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.clocktime import local_date, local_instant, next_local_time, parse_time_of_day

# --- the state machine ----------------------------------------------------------------------


class NeedState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class NeedAction(StrEnum):
    CLAIM = "claim"  # a helper: "I'll do it"
    RELEASE = "release"  # the owner: "Can't make it after all" (or they left the circle)
    COMPLETE = "complete"  # the owner: "Done"
    CANCEL = "cancel"  # the patient
    EXPIRE = "expire"  # the clock, at the deadline
    RESEND = "resend"  # the patient: "Send again"
    THANK = "thank"  # the patient, once it is done
    AMEND = "amend"  # the patient: a note, "urgent", a deadline


TRANSITIONS: dict[NeedAction, dict[NeedState, NeedState]] = {
    NeedAction.CLAIM: {NeedState.OPEN: NeedState.CLAIMED},
    NeedAction.RELEASE: {NeedState.CLAIMED: NeedState.OPEN},
    NeedAction.COMPLETE: {NeedState.CLAIMED: NeedState.DONE},
    NeedAction.CANCEL: {
        NeedState.OPEN: NeedState.CANCELLED,
        NeedState.CLAIMED: NeedState.CANCELLED,
    },
    NeedAction.EXPIRE: {NeedState.OPEN: NeedState.EXPIRED},
    NeedAction.RESEND: {NeedState.OPEN: NeedState.OPEN},
    NeedAction.THANK: {NeedState.DONE: NeedState.DONE},
    NeedAction.AMEND: {NeedState.OPEN: NeedState.OPEN, NeedState.CLAIMED: NeedState.CLAIMED},
}
FINISHED = frozenset({NeedState.DONE, NeedState.CANCELLED, NeedState.EXPIRED})


def next_state(state: str, action: NeedAction) -> NeedState | None:
    """Where `action` takes a need in `state`, or None if the rules refuse it."""
    return TRANSITIONS[action].get(NeedState(state))


def states_allowing(action: NeedAction) -> tuple[NeedState, ...]:
    """The states an `UPDATE … WHERE state IN (…)` must expect for this action."""
    return tuple(TRANSITIONS[action])


# --- categories -----------------------------------------------------------------------------

# One tap each, in the order the patient sees them (labels live in bot.texts).
CATEGORIES = (
    "ice",
    "water",
    "meal",
    "pharmacy",
    "groceries",
    "bathroom",
    "charger",
    "ride",
    "company",
    "other",
)


@dataclass(frozen=True)
class NeedCard:
    """What a message about a need shows, whoever it is for."""

    id: int
    category: str
    text: str
    note: str | None = None
    urgent: bool = False
    deadline_at: dt.datetime | None = None
    media_kind: str | None = None


@dataclass(frozen=True)
class Routed:
    """Who a need went to just now: asked at once, held by quiet hours, away, still to ask."""

    asked: tuple[str, ...] = ()
    held: tuple[tuple[str, dt.datetime], ...] = ()
    away: tuple[str, ...] = ()
    later: int = 0
    one_at_a_time: bool = False

    @property
    def reached(self) -> bool:
        """Whether anyone has it or will get it."""
        return bool(self.asked or self.held)


# --- the clock's timetable ------------------------------------------------------------------

# "One at a time": first the least busy helper, then the next one too, then everyone.
LADDER_EVERYONE = 3


@dataclass(frozen=True)
class Timings:
    """How long to wait before each nudge; urgent needs have shorter ones."""

    remind: dt.timedelta
    ladder: dt.timedelta


@dataclass(frozen=True)
class Progress:
    """Where an open need is in its round."""

    routed_at: dt.datetime
    widened_at: dt.datetime
    ask_level: int
    reminded: bool
    patient_told: bool
    deadline_at: dt.datetime | None


@dataclass(frozen=True)
class DueSteps:
    """What the clock should do for an open need at a given instant."""

    expire: bool = False
    widen: bool = False
    remind: bool = False
    tell_patient: bool = False


def remind_at(p: Progress, t: Timings) -> dt.datetime:
    return p.routed_at + t.remind


def honest_note_at(p: Progress, t: Timings) -> dt.datetime:
    """Still unclaimed a second window after the reminder: tell the patient honestly."""
    return p.routed_at + 2 * t.remind


def widen_at(p: Progress, t: Timings) -> dt.datetime | None:
    return p.widened_at + t.ladder if p.ask_level < LADDER_EVERYONE else None


def next_step_at(p: Progress, t: Timings) -> dt.datetime | None:
    """The next instant the clock has something to do for this open need, if any."""
    candidates = [widen_at(p, t), p.deadline_at]
    if not p.reminded:
        candidates.append(remind_at(p, t))
    if not p.patient_told:
        candidates.append(honest_note_at(p, t))
    return min((c for c in candidates if c is not None), default=None)


def due_steps(p: Progress, t: Timings, now: dt.datetime) -> DueSteps:
    if p.deadline_at is not None and p.deadline_at <= now:
        return DueSteps(expire=True)
    widen = widen_at(p, t)
    return DueSteps(
        widen=widen is not None and widen <= now,
        remind=not p.reminded and remind_at(p, t) <= now,
        tell_patient=not p.patient_told and honest_note_at(p, t) <= now,
    )


# --- fairness -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A helper who could be asked, with what the ladder weighs."""

    user_id: int
    done_this_week: int
    on_it_now: int
    available_now: bool  # not in quiet hours (or the need is urgent)
    seniority: int  # position in the circle, earliest joiner first


def ladder_order(candidates: Sequence[Candidate]) -> list[int]:
    """Who to ask first: someone free now, who has done least lately, is not busy, joined first.

    Declining never counts against anyone: only what they did is weighed.
    """
    ranked = sorted(
        candidates,
        key=lambda c: (not c.available_now, c.done_this_week, c.on_it_now, c.seniority),
    )
    return [c.user_id for c in ranked]


def to_ask(order: Sequence[int], asked: set[int], level: int) -> list[int]:
    """Whom to ask now so that `level` helpers (or everyone, at LADDER_EVERYONE) have been."""
    fresh = [user_id for user_id in order if user_id not in asked]
    if level >= LADDER_EVERYONE:
        return fresh
    return fresh[: max(0, level - len(asked & set(order)))]


# --- what people type -----------------------------------------------------------------------

# Telegram counts message length in UTF-16 code units; a need must fit a photo's caption
# (1024) with our words around it, so it is kept well under that.
NEED_TEXT_MAX = 500
NOTE_MAX = 200

# Characters that can hide or reorder text (bidi overrides, zero-width spaces); joiners that
# build emoji (U+200D) and plain direction marks stay.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x2060, 0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A)], None
)
_MANY_NEWLINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\u00a0]+")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clean_text(raw: str, limit: int) -> tuple[str, bool]:
    """Tidy what someone typed and cut it to `limit` UTF-16 units; returns (text, was_cut)."""
    text = raw.translate(_INVISIBLE).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        ch if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs") else " " for ch in text
    )
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()
    if utf16_len(text) <= limit:
        return text, False
    kept: list[str] = []
    used = 0
    for ch in text:
        size = utf16_len(ch)
        if used + size > limit - 1:
            break
        kept.append(ch)
        used += size
    # Never end on half an emoji sequence.
    cut = "".join(kept).rstrip().rstrip("\u200d\ufe0f").rstrip()
    return cut + "…", True


def has_content(text: str) -> bool:
    """Whether there is anything to act on: a letter, a digit or a symbol such as an emoji."""
    return any(unicodedata.category(ch)[0] in "LNS" for ch in text)


# --- deadlines ------------------------------------------------------------------------------

_TIME_IN_TEXT = re.compile(
    r"(?<![\d:.])(\d{1,2}(?:\s*[:.h]\s*\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)?)(?![\d])|"
    r"\b(noon|midday|midnight)\b",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"\bin\s+(?:(an?|one|\d{1,3})\s*(hours?|hrs?|h|minutes?|mins?|m))\b", re.IGNORECASE
)
_HALF_HOUR = re.compile(r"\bin\s+half\s+an\s+hour\b", re.IGNORECASE)
# Longest ahead a typed time may be; a deadline is for today or tonight, not next month.
MAX_AHEAD = dt.timedelta(hours=24)


def parse_deadline(text: str, now: dt.datetime, zone: str) -> dt.datetime | None:
    """A deadline from what the patient typed: "19:00", "by 7pm", "pharmacy closes 19:00",
    "in 2 hours", "in half an hour". The next time that clock time comes round (today or,
    if it has passed, tomorrow). Unclear or several different times → None.
    """
    text = text.strip()[:200]
    if _HALF_HOUR.search(text):
        return now + dt.timedelta(minutes=30)
    relative = _RELATIVE.search(text)
    if relative:
        amount_text, unit = relative.group(1).lower(), relative.group(2).lower()
        amount = 1 if amount_text in ("a", "an", "one") else int(amount_text)
        delta = dt.timedelta(hours=amount) if unit.startswith("h") else dt.timedelta(minutes=amount)
        if dt.timedelta(0) < delta <= MAX_AHEAD:
            return now + delta
        return None
    times = set()
    for match in _TIME_IN_TEXT.finditer(text):
        candidate = match.group(1) or match.group(2)
        parsed = parse_time_of_day(candidate)
        if parsed is not None:
            times.add(parsed)
    if len(times) != 1:
        return None
    return next_local_time(times.pop(), zone, now)


def end_of_today(now: dt.datetime, zone: str) -> dt.datetime:
    """The last minute of the patient's day, as an instant."""
    return local_instant(local_date(now, zone), dt.time(23, 59), zone)


class DeadlinePreset(StrEnum):
    """The "By when?" buttons; the values ride in their callback data (and typed, work too)."""

    IN_1H = "1h"
    IN_2H = "2h"
    TODAY = "today"

    @classmethod
    def read(cls, text: str) -> DeadlinePreset | None:
        """The preset `text` names exactly, or None."""
        try:
            return cls(text)
        except ValueError:
            return None

    def deadline(self, now: dt.datetime, zone: str) -> dt.datetime:
        """The instant this preset stands for, in the patient's zone."""
        if self is DeadlinePreset.TODAY:
            return end_of_today(now, zone)
        return now + dt.timedelta(hours=1 if self is DeadlinePreset.IN_1H else 2)


# --- quiet hours and time away --------------------------------------------------------------

_OFF_WORDS = frozenset({"off", "none", "no", "stop", "clear"})
_AWAY = re.compile(
    r"^\s*(?P<n>\d{1,3}|an?|one)?\s*(?P<unit>d|days?|w|wks?|weeks?)?\s*$", re.IGNORECASE
)
MAX_AWAY_DAYS = 90


def is_off(text: str) -> bool:
    return text.strip().lower() in _OFF_WORDS


def parse_away_days(text: str) -> int | None:
    """ "3", "3 days", "3d", "a week", "2 weeks" → days (1 to 90); anything else → None."""
    match = _AWAY.match(text)
    if not match or not match["n"]:
        return None
    raw = match["n"].lower()
    amount = 1 if raw in ("a", "an", "one") else int(raw)
    unit = (match["unit"] or "d").lower()
    days = amount * (7 if unit.startswith("w") else 1)
    return days if 1 <= days <= MAX_AWAY_DAYS else None
