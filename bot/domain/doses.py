"""A dose's life as pure rules: its states, when it next needs attention, the label's limits.

A scheduled dose is created when its reminder is queued (until then it is only the
medication's `next_due_at`, i.e. pending) and moves:

    sent ──snooze──► snoozed ──wake──► sent
    sent / snoozed ──(alert limit)──► missed
    sent / snoozed / missed ──► taken | skipped          (a late answer still counts)
    sent / snoozed / missed ──► cancelled                (the medication was deleted)

Snoozing never moves the family alert: it stays at the limit set when the reminder went out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

# The patient's snooze buttons and the per-medication alert limits /meds offers, in minutes.
SNOOZE_CHOICES = (10, 30, 60)
ALERT_CHOICES = (15, 30, 45, 60, 90, 120)


class DoseState(StrEnum):
    SENT = "sent"
    SNOOZED = "snoozed"
    TAKEN = "taken"
    SKIPPED = "skipped"
    MISSED = "missed"
    CANCELLED = "cancelled"


class DoseEvent(StrEnum):
    SNOOZE = "snooze"
    WAKE = "wake"
    TAKE = "take"
    SKIP = "skip"
    MISS = "miss"
    CANCEL = "cancel"


S, E = DoseState, DoseEvent
TRANSITIONS: dict[tuple[DoseState, DoseEvent], DoseState] = {
    (S.SENT, E.SNOOZE): S.SNOOZED,
    (S.SNOOZED, E.SNOOZE): S.SNOOZED,
    (S.SNOOZED, E.WAKE): S.SENT,
    (S.SENT, E.MISS): S.MISSED,
    (S.SNOOZED, E.MISS): S.MISSED,
    (S.SENT, E.TAKE): S.TAKEN,
    (S.SNOOZED, E.TAKE): S.TAKEN,
    (S.MISSED, E.TAKE): S.TAKEN,
    (S.SENT, E.SKIP): S.SKIPPED,
    (S.SNOOZED, E.SKIP): S.SKIPPED,
    (S.MISSED, E.SKIP): S.SKIPPED,
    (S.SENT, E.CANCEL): S.CANCELLED,
    (S.SNOOZED, E.CANCEL): S.CANCELLED,
    (S.MISSED, E.CANCEL): S.CANCELLED,
}
# Waiting for the patient's answer: the scheduler still has work for these.
WAITING = frozenset({S.SENT, S.SNOOZED})
# An answer can still be given (a late "Taken" counts).
ANSWERABLE = frozenset({S.SENT, S.SNOOZED, S.MISSED})
FINAL = frozenset({S.TAKEN, S.SKIPPED, S.CANCELLED})


def transition(state: str, event: DoseEvent) -> DoseState | None:
    """The state after `event`, or None if the event does not apply in `state`."""
    try:
        return TRANSITIONS.get((DoseState(state), event))
    except ValueError:
        return None


def alert_at(due_at: dt.datetime, reminded_at: dt.datetime, alert: dt.timedelta) -> dt.datetime:
    """The family-alert limit, fixed when the reminder first goes out.

    On time it is due + limit; a reminder sent late (after downtime) gets the full limit from
    the moment it was sent, so nobody is alerted about a reminder the patient never had time
    to see.
    """
    return max(due_at, reminded_at) + alert


def next_action(
    state: str,
    *,
    reminded_at: dt.datetime,
    nudged: bool,
    snoozed_until: dt.datetime | None,
    alert_at: dt.datetime,
    nudge: dt.timedelta,
) -> dt.datetime | None:
    """When the scheduler next has something to do for this dose (never after the alert)."""
    if state == S.SENT:
        nudge_at = reminded_at + nudge
        if not nudged and nudge_at < alert_at:
            return nudge_at
        return alert_at
    if state == S.SNOOZED:
        assert snoozed_until is not None
        return min(snoozed_until, alert_at)
    return None


class Action(StrEnum):
    ALERT = "alert"
    NUDGE = "nudge"
    WAKE = "wake"


def action_due(
    state: str,
    now: dt.datetime,
    *,
    reminded_at: dt.datetime,
    nudged: bool,
    snoozed_until: dt.datetime | None,
    alert_at: dt.datetime,
    nudge: dt.timedelta,
) -> Action | None:
    """What is due for this dose at `now`; the alert wins over everything else."""
    if state not in WAITING:
        return None
    if now >= alert_at:
        return Action.ALERT
    if state == S.SNOOZED and snoozed_until is not None and now >= snoozed_until:
        return Action.WAKE
    if state == S.SENT and not nudged and now >= reminded_at + nudge:
        return Action.NUDGE
    return None


# --- the label's limits -------------------------------------------------------------------

DAY = dt.timedelta(hours=24)


@dataclass(frozen=True)
class LabelCheck:
    """What the log says against the label around one moment: counts and times, never a
    recommendation. The moment may be in the past (a back-dated dose), so doses logged on
    both sides of it count."""

    # Doses in the 24 hours up to the moment (what "Can I take another?" shows).
    count_24h: int
    # The nearest dose before (or at) the moment, and the nearest after it.
    last_taken_at: dt.datetime | None
    max_per_24h: int | None
    min_hours: float | None
    earliest_next: dt.datetime | None
    next_taken_at: dt.datetime | None = None
    # The most doses already logged in any 24 hours that would also hold this one.
    busiest_24h: int = 0

    @property
    def over_max(self) -> bool:
        """One more at the moment would go over the label's maximum in some 24 hours."""
        return self.max_per_24h is not None and self.busiest_24h + 1 > self.max_per_24h

    def too_soon(self, at: dt.datetime) -> bool:
        """One more at `at` would be closer to a logged dose than the label's minimum gap."""
        if self.min_hours is None:
            return False
        gap = dt.timedelta(hours=self.min_hours)
        before = self.last_taken_at is not None and at < self.last_taken_at + gap
        after = self.next_taken_at is not None and self.next_taken_at < at + gap
        return before or after

    def needs_confirm(self, at: dt.datetime) -> bool:
        return self.over_max or self.too_soon(at)


def usable_limits(
    max_per_24h: int | None, min_hours: float | None
) -> tuple[int | None, float | None]:
    """The label's limits as the checks use them: an impossible stored value (0, negative,
    from before the database refused them) counts as "not saved", never as a crash."""
    maximum = max_per_24h if max_per_24h is not None and max_per_24h >= 1 else None
    gap = min_hours if min_hours is not None and min_hours > 0 else None
    return maximum, gap


def busiest_window(taken: Sequence[dt.datetime], at: dt.datetime) -> int:
    """The most doses in `taken` inside any 24 hours [start, start + 24 h) that holds `at`.

    Such a window starts in (at − 24 h, at]; the count only grows as its start moves down to
    a dose, so trying each dose's time in that range (and `at` itself) finds the maximum.
    """
    starts = [t for t in taken if at - DAY < t <= at] + [at]
    return max(sum(1 for t in taken if s <= t < s + DAY) for s in starts)


def check_label(
    taken: Sequence[dt.datetime],
    at: dt.datetime,
    max_per_24h: int | None,
    min_hours: float | None,
) -> LabelCheck:
    """Where one more dose at `at` would stand against the label's limits (maximum per 24 h,
    minimum gap), counting logged doses on both sides of `at`; and the earliest time after
    the logged doses that the limits would not be passed (for the facts /meds shows)."""
    max_per_24h, min_hours = usable_limits(max_per_24h, min_hours)
    window = sorted(t for t in taken if at - DAY < t <= at)
    last = max((t for t in taken if t <= at), default=None)
    following = min((t for t in taken if t > at), default=None)
    candidates: list[dt.datetime] = []
    if min_hours is not None and last is not None:
        candidates.append(last + dt.timedelta(hours=min_hours))
    if max_per_24h is not None and len(window) >= max_per_24h:
        # Enough of the oldest doses must leave the 24 h window to make room for one more.
        candidates.append(window[len(window) - max_per_24h] + DAY)
    earliest = max(candidates) if candidates else None
    if max_per_24h is None and min_hours is None:
        earliest = None
    return LabelCheck(
        count_24h=len(window),
        last_taken_at=last,
        max_per_24h=max_per_24h,
        min_hours=min_hours,
        earliest_next=earliest,
        next_taken_at=following,
        busiest_24h=busiest_window(taken, at),
    )


# --- supply --------------------------------------------------------------------------------


def days_left(supply: int | None, per_day: float) -> float | None:
    """How many days the doses on hand last at this rate; None if not counted or unknown."""
    if supply is None or per_day <= 0:
        return None
    return supply / per_day


def refill_due(supply: int | None, per_day: float, lead_days: float) -> bool:
    """Offer a refill when the supply is forecast to run out within `lead_days`."""
    if supply is None:
        return False
    if supply == 0:
        return True
    left = days_left(supply, per_day)
    return left is not None and left <= lead_days
