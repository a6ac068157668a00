"""Doses: the reminder and what becomes of it, /took, and "Can I take another?"."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.texts.common import esc
from bot.texts.meds import ASK_LABEL, _hours, _med
from bot.texts.privacy import FORMER_HELPER
from bot.texts.times import clock, day_clock

if TYPE_CHECKING:
    from bot.domain.errors import DomainError
    from bot.views.meds import AsNeededAnswer, DoseView, DoseWarning, OtherDose

__all__ = [
    "ASK_TOOK_AT",
    "BUTTON_CAN_I",
    "BUTTON_CHECK_ON",
    "BUTTON_GIVEN",
    "BUTTON_LOG_ANYWAY",
    "BUTTON_SKIP",
    "BUTTON_TAKEN",
    "BUTTON_TOOK_AT",
    "NOT_LOGGED",
    "TOOK_NONE",
    "TOOK_WHICH",
    "as_needed_answer",
    "button_given",
    "button_snooze",
    "check_on_reply",
    "dose_alert",
    "dose_already",
    "dose_checking_to_patient",
    "dose_done",
    "dose_given_to_patient",
    "dose_nudge",
    "dose_reminder",
    "dose_removed",
    "dose_resolved",
    "dose_someone_checking",
    "dose_warning",
    "extra_logged",
    "late_note",
]

# The reminder and what becomes of it.


def dose_reminder(name: str, dose: str, note: str | None, late_label: str | None) -> str:
    text = f"💊 Time for {_med(name, dose)}"
    if note:
        text += f" ({esc(note)})"
    if late_label:
        text += late_note(late_label)
    return text


def late_note(due_label: str) -> str:
    """Added to a reminder that goes out late (the bot or Telegram was down)."""
    return f"\n<i>This was due at {due_label} — sorry, I couldn't send it on time.</i>"


def dose_nudge(name: str, dose: str, due_label: str) -> str:
    return (
        f"Just checking in 💛 — did you take {_med(name, dose)}? It was due at {due_label}.\n"
        "Tap below when you can."
    )


def dose_done(view: DoseView) -> str:
    """The reminder after the answer: the choice and the time."""
    what = f"{_med(view.name, view.dose)} ({view.due_label})"
    zone = view.timezone
    if view.state == "taken" and view.taken_at is not None:
        at = clock(view.taken_at, zone)
        if not view.by_patient and view.by_name:
            return f"✅ {what} — given by {esc(view.by_name)} at {at}."
        return f"✅ {what} — taken{' late' if view.late else ''} at {at}."
    if view.state == "skipped":
        return f"⏭ {what} — skipped."
    if view.state == "snoozed" and view.snoozed_until is not None:
        text = f"⏰ {what} — snoozed until {clock(view.snoozed_until, zone)}."
        if view.alert_at is not None and view.alert_at <= view.snoozed_until:
            text += (
                f"\nIf it's still not confirmed at {clock(view.alert_at, zone)}, "
                "I'll tell your close family (or you, if I can't reach any of them)."
            )
        return text
    if view.state == "cancelled":
        return dose_removed(view)
    return dose_reminder(view.name, view.dose, view.note, None)


def dose_removed(view: DoseView) -> str:
    return f"{_med(view.name, view.dose)} ({view.due_label}) — this medication was removed."


def dose_alert(patient_name: str, name: str, dose: str, due_label: str) -> str:
    return (
        f"<b>{esc(patient_name)}</b> hasn't confirmed {_med(name, dose)} due {due_label}.\n"
        "Could someone check on them?"
    )


def dose_resolved(view: DoseView) -> str:
    """A helper's alert once the dose is answered after all."""
    who, what = f"<b>{esc(view.patient_name)}</b>", f"{_med(view.name, view.dose)}"
    due = f"due {view.due_label}"
    if view.state == "taken" and view.taken_at is not None:
        at = clock(view.taken_at, view.timezone)
        if not view.by_patient and view.by_name:
            return f"✅ Resolved: {esc(view.by_name)} gave {who} {what} ({due}) at {at}."
        return f"✅ Resolved: {who} took {what} ({due}) at {at}."
    if view.state == "skipped":
        return f"✅ Resolved: {who} chose to skip {what} ({due})."
    return f"{who}'s {what} ({due}) no longer needs checking: it was removed from their list."


def dose_someone_checking(view: DoseView, checker: str) -> str:
    return (
        f"<b>{esc(view.patient_name)}</b> hasn't confirmed {_med(view.name, view.dose)} "
        f"due {view.due_label}.\n<b>{esc(checker)}</b> is checking on them."
    )


def dose_checking_to_patient(checker: str) -> str:
    return f"<b>{esc(checker)}</b> is going to check on you. 💛"


def check_on_reply(patient: str, checker: str, by_me: bool, resolved: bool) -> str:
    if resolved:
        return f"Good news: {esc(patient)}'s dose has been confirmed. Thank you for looking out."
    if by_me:
        return f"Thank you — you're checking on <b>{esc(patient)}</b>. I've let the others know."
    return f"<b>{esc(checker)}</b> is already checking on {esc(patient)}."


def dose_given_to_patient(view: DoseView) -> str:
    at = clock(view.taken_at, view.timezone) if view.taken_at else ""
    return (
        f"<b>{esc(view.by_name or '')}</b> marked your {_med(view.name, view.dose)} "
        f"({view.due_label}) as given at {at}."
    )


def dose_already(error: DomainError) -> str:
    from bot.domain.errors import DoseAlreadyRecorded

    assert isinstance(error, DoseAlreadyRecorded)
    at = f" at {clock(error.at, error.zone)}" if error.at else ""
    if error.state == "skipped":
        return f"This dose was already skipped{at}."
    if error.by_self:
        done = "took this dose" if error.by_patient else "marked this dose as given"
        return f"Already recorded: you {done}{at}."
    who = error.by_name or "Someone"
    if error.by_patient:
        return f"{who} already took this dose{at}, so it isn't logged twice."
    return f"{who} already marked this dose as given{at}, so it isn't logged twice."


def _other_dose(other: OtherDose, zone: str) -> str:
    at = clock(other.at, zone)
    if other.by_self:
        return f"You already logged this at {at}."
    name = other.by_name or FORMER_HELPER
    who = esc(name[:1].upper() + name[1:])
    if other.by_patient:
        return f"{who} already took this at {at}."
    return f"{who} already gave this at {at}."


def dose_warning(warning: DoseWarning) -> str:
    """Before a second dose for one time, or one past the label's limits: the facts, then
    the question. Never a suggestion."""
    check, zone, at = warning.check, warning.timezone, warning.at
    lines = [f"⚠️ {_med(warning.name, warning.dose)}"]
    if warning.other is not None:
        lines.append(_other_dose(warning.other, zone))
    if check.over_max and check.max_per_24h is not None:
        lines.append(
            f"This would be dose {check.busiest_24h + 1} in 24 hours; "
            f"the label says at most {check.max_per_24h}."
        )
    if check.too_soon(at) and check.min_hours:
        gap = _hours(check.min_hours)
        nearest = [t for t in (check.last_taken_at, check.next_taken_at) if t is not None]
        closest = min(nearest, key=lambda t: abs(t - at))
        lines.append(
            f"A dose is logged at {clock(closest, zone)}; "
            f"the label says at least {gap} between doses."
        )
    lines.append(
        "Please check the label or ask your doctor or pharmacist before taking more.\n"
        + ("Log another anyway?" if warning.other is not None else "Log it anyway?")
    )
    return "\n".join(lines)


BUTTON_TAKEN = "✅ Taken"
BUTTON_SKIP = "Skip"
BUTTON_TOOK_AT = "🕗 I took it at another time"
BUTTON_CHECK_ON = "I'll check on them"
BUTTON_GIVEN = "Mark as given"
BUTTON_LOG_ANYWAY = "Log it anyway"
BUTTON_CAN_I = "Can I take another?"
NOT_LOGGED = "Okay, nothing logged."
ASK_TOOK_AT = "What time did you take it? (like <code>08:10</code> or <code>8:10 am</code>)"


def button_snooze(mins: int) -> str:
    return f"⏰ {mins} min"


def button_given(name: str, due_label: str) -> str:
    return f"Mark given: {name} {due_label}"


# /took and "Can I take another?"

TOOK_WHICH = "Which one did you take? Tap it and I'll log it."
TOOK_NONE = "You have no medications yet. /addmed adds one."


def extra_logged(view: DoseView, check: AsNeededAnswer | None = None) -> str:
    at = clock(view.taken_at, view.timezone) if view.taken_at else ""
    return f"Logged: {_med(view.name, view.dose)} at {at}. 💛"


def as_needed_answer(answer: AsNeededAnswer) -> str:
    """ "Can I take another?": what the log holds beside the label's saved limits. Facts
    only: it never says whether to take one, nor anything that reads as "you may"."""
    check, zone, now = answer.check, answer.timezone, answer.now
    lines = [f"{_med(answer.name, answer.dose)} — what's logged here:"]
    if check.last_taken_at:
        lines.append(f"• Last dose: {day_clock(check.last_taken_at, zone, now)}")
    else:
        lines.append("• No doses logged in the last two days.")
    doses = "dose" if check.count_24h == 1 else "doses"
    lines.append(f"• Last 24 hours: {check.count_24h} {doses} logged")
    if check.max_per_24h is not None:
        lines.append(f"• The label's maximum in 24 hours, as saved: {check.max_per_24h}")
    else:
        lines.append("• No maximum per 24 hours is saved from the label.")
    if check.min_hours is not None:
        gap = _hours(check.min_hours)
        lines.append(f"• The label's minimum gap between doses, as saved: {gap}")
        if check.last_taken_at:
            after = check.last_taken_at + dt.timedelta(hours=check.min_hours)
            lines.append(f"  ({gap} after the last dose: {day_clock(after, zone, now)})")
    else:
        lines.append("• No minimum gap between doses is saved from the label.")
    if check.max_per_24h is None or check.min_hours is None:
        lines.append("Label limits can be added in /meds ▸ this medication ▸ Label limits.")
    lines.append(f"<i>This only counts what's logged here — it isn't advice. {ASK_LABEL}</i>")
    return "\n".join(lines)
