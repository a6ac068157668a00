"""Grouped reminders: doses of one patient due in the same minute, in one message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.texts.common import esc
from bot.texts.doses import late_note
from bot.texts.meds import _med
from bot.texts.times import clock

if TYPE_CHECKING:
    from bot.views.meds import DoseGroupView, DoseView, DoseWarning

__all__ = [
    "BUTTON_BACK_TO_GROUP",
    "BUTTON_LATER",
    "BUTTON_TOOK_ALL",
    "BUTTON_TOOK_AT_SHORT",
    "button_group_given",
    "button_group_taken",
    "dose_group",
    "dose_group_alert",
    "dose_group_later",
    "took_all_result",
]

BUTTON_TOOK_ALL = "✅ Took all"
BUTTON_LATER = "⏰ Later"
BUTTON_BACK_TO_GROUP = "‹ Back"
BUTTON_TOOK_AT_SHORT = "🕗 Took it at…"


def button_group_taken(name: str) -> str:
    return f"✅ {name}"


def button_group_given(name: str) -> str:
    return f"Mark given: {name}"


def _line(view: DoseView) -> str:
    """One medication of the group: what it is and, once answered, what became of it."""
    what = _med(view.name, view.dose)
    if view.note:
        what += f" ({esc(view.note)})"
    zone = view.timezone
    if view.state == "taken" and view.taken_at is not None:
        at = clock(view.taken_at, zone)
        if not view.by_patient and view.by_name:
            return f"✅ {what} — given by {esc(view.by_name)} at {at}"
        return f"✅ {what} — taken{' late' if view.late else ''} at {at}"
    if view.state == "skipped":
        return f"⏭ {what} — skipped"
    if view.state == "snoozed" and view.snoozed_until is not None:
        return f"⏰ {what} — snoozed until {clock(view.snoozed_until, zone)}"
    if view.state == "cancelled":
        return f"{what} — removed from your list"
    if view.state == "missed":
        return f"• {what} — not confirmed yet"
    return f"• {what}"


def dose_group(view: DoseGroupView, *, nudge: bool = False, redraw: bool = False) -> str:
    """The grouped reminder (or its nudge) as first sent, or `redraw`n after an answer (the
    same words for both messages then: either may be the one tapped)."""
    waiting = view.open
    if not waiting:
        head = f"💊 Your {view.due_label} medicines — all answered. Thank you 💛"
    elif redraw:
        head = f"💊 Your {view.due_label} medicines:"
    elif nudge:
        head = f"Just checking in 💛 — did you take your {view.due_label} medicines?"
    else:
        head = f"💊 Time for your {view.due_label} medicines:"
    lines = [head, *(_line(d) for d in view.doses)]
    if len(waiting) > 1:
        lines.append("Tap each one as you take it, or ✅ Took all. Your label has the details.")
    elif waiting:
        lines.append("Tap it when you've taken it. Your label has the details.")
    text = "\n".join(lines)
    if view.late_label and waiting:
        text += late_note(view.late_label)
    return text


def dose_group_later(view: DoseView) -> str:
    """A line's own choices: snooze it, or say when it was taken."""
    return f"⏰ {_med(view.name, view.dose)} ({view.due_label}) — remind you again in…"


def took_all_result(view: DoseGroupView, warnings: Sequence[DoseWarning]) -> str | None:
    """Said beside the redrawn message when "Took all" left some doses to look at first."""
    if not warnings:
        return None
    names = ", ".join(f"<b>{esc(w.name)}</b>" for w in warnings)
    return f"I logged the others. {names} needs a look first:"


def dose_group_alert(
    patient_name: str, doses: Sequence[DoseView], due_label: str, checker: str | None
) -> str:
    """One family alert for the doses of one reminder that went unconfirmed together."""
    who = f"<b>{esc(patient_name)}</b>"
    waiting = [d for d in doses if d.state == "missed"]
    if not waiting:
        return f"✅ Resolved: {who} answered their {due_label} medicines."
    lines = [f"{who} hasn't confirmed their {due_label} medicines:"]
    for d in doses:
        if d.state == "missed":
            lines.append(f"• {_med(d.name, d.dose)}")
        else:
            lines.append(_line(d))
    if checker:
        lines.append(f"<b>{esc(checker)}</b> is checking on them.")
    else:
        lines.append("Could someone check on them?")
    return "\n".join(lines)
