"""The medication list, one medication, and changing it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.texts.common import esc
from bot.texts.meds import (
    LIMITS_NOT_SAVED,
    _gap_words,
    _max_words,
    _med,
    _schedule,
    label_limits,
    minutes,
    schedule_heads_up,
)
from bot.texts.reach import alert_reach
from bot.texts.times import day_clock

if TYPE_CHECKING:
    from bot.views.meds import EditPrompt, MedDetail, MedList, MedView

__all__ = [
    "BUTTON_ADD_MED",
    "BUTTON_BACK",
    "BUTTON_DELETE",
    "BUTTON_KEEP_LIMIT",
    "BUTTON_LIMITS",
    "BUTTON_LOG_DOSE",
    "BUTTON_NO_LIMIT",
    "BUTTON_PAUSE",
    "BUTTON_RESUME",
    "BUTTON_SUPPLY",
    "BUTTON_TIMES",
    "BUTTON_YES_DELETE",
    "ask_edit",
    "button_alert",
    "button_alert_choice",
    "choose_alert",
    "confirm_delete_med",
    "edit_reply",
    "med_changed_by_helper",
    "med_deleted",
    "med_detail",
    "med_list",
    "med_updated",
]

# The list and one medication.


def med_list(listing: MedList, now: dt.datetime) -> str:
    title = (
        "💊 <b>Your medications</b>"
        if listing.for_patient
        else f"💊 <b>{esc(listing.patient_name)}'s medications</b>"
    )
    if not listing.meds:
        more = " /addmed adds one." if listing.can_manage else ""
        return f"{title}\n\nNothing here yet.{more}"
    lines = [title, ""]
    for med in listing.meds:
        line = f"• {_med(med.name, med.dose)}"
        if med.note:
            line += f" ({esc(med.note)})"
        line += f" — {_schedule(med)}"
        if med.paused:
            line += " · ⏸ paused"
        elif med.next_due_at:
            line += f" · next {day_clock(med.next_due_at, listing.timezone, now)}"
        elif med.as_needed and med.last_taken_at:
            line += f" · last {day_clock(med.last_taken_at, listing.timezone, now)}"
        lines.append(line)
    if listing.reach is not None and any(not m.as_needed for m in listing.meds):
        lines += ["", alert_reach(listing.reach, listing.for_patient)]
    if listing.can_manage:
        lines += ["", "Tap one to change it."]
    return "\n".join(lines)


def med_detail(detail: MedDetail, now: dt.datetime) -> str:
    med = detail.med
    lines = [_med(med.name, med.dose)]
    if med.note:
        lines.append(esc(med.note))
    lines.append(f"When: {_schedule(med)}")
    if med.paused:
        lines.append("⏸ Paused — no reminders until you resume it.")
    elif med.next_due_at:
        lines.append(f"Next: {day_clock(med.next_due_at, med.timezone, now)}")
    if med.last_taken_at:
        lines.append(f"Last taken: {day_clock(med.last_taken_at, med.timezone, now)}")
    lines.append(f"Label limits: {label_limits(med.max_per_24h, med.min_hours_between)}")
    if med.supply_on_hand is not None:
        lines.append(f"Supply: {med.supply_on_hand} left")
    if not med.as_needed:
        lines.append(
            f"Close family is told after {minutes(med.alert_minutes)} if a dose isn't confirmed."
        )
    return "\n".join(lines)


BUTTON_ADD_MED = "➕ Add a medication"
BUTTON_PAUSE = "⏸ Pause"
BUTTON_RESUME = "▶️ Resume"
BUTTON_TIMES = "🕗 Change times"
BUTTON_SUPPLY = "📦 Supply"
BUTTON_LIMITS = "📋 Label limits"
BUTTON_DELETE = "🗑 Delete"
BUTTON_BACK = "« Back"
BUTTON_LOG_DOSE = "Log a dose now"
BUTTON_YES_DELETE = "Yes, delete"
BUTTON_NO_LIMIT = "No limit on the label"
BUTTON_KEEP_LIMIT = "Keep as it is"


def button_alert(mins: float) -> str:
    return f"🔔 Alert after {minutes(mins)}"


def button_alert_choice(mins: int, current: float, default: float | None = None) -> str:
    label = f"Default ({minutes(default)})" if default is not None else minutes(mins)
    return f"✓ {label}" if mins == current else label


def confirm_delete_med(name: str) -> str:
    return f"Delete <b>{esc(name)}</b>? Its reminders stop and its old buttons stop working."


def med_deleted(name: str) -> str:
    return f"<b>{esc(name)}</b> is deleted. No more reminders for it."


def choose_alert(med: MedView) -> str:
    return (
        f"If a dose of <b>{esc(med.name)}</b> isn't confirmed, when should close family be told? "
        "(Counted from the dose's time; snoozing doesn't move it.)"
    )


def ask_edit(field: str, med: MedView) -> str:
    name = f"<b>{esc(med.name)}</b>"
    if field == "times":
        return (
            f"New times for {name}? Like <code>08:00, 20:00</code>, "
            "<code>every 8 hours from 07:00</code> or <code>as needed</code>. "
            "They're in your local time."
        )
    if field == "supply":
        return (
            f"How many doses of {name} do you have on hand? Send a number "
            "(or <code>off</code> to stop counting). I'll count down with each dose."
        )
    if field == "max":
        return (
            f"From the label: at most how many doses of {name} in 24 hours? Send a number, "
            f"like <code>4</code>.\nNow: {_max_words(med.max_per_24h)}."
        )
    return (
        f"From the label: at least how many hours between doses of {name}? Send a number, "
        f"like <code>6</code> or <code>4.5</code>.\nNow: {_gap_words(med.min_hours_between)}."
    )


def edit_reply(prompt: EditPrompt) -> str:
    """After an answer in /meds: the next question, or what was saved, read back exactly."""
    med = prompt.med
    if prompt.field == "gap" and prompt.saved == "max":
        saved = (
            f"Saved: {_max_words(med.max_per_24h)}." if med.max_per_24h else "Saved: no maximum."
        )
        return f"{saved}\n\n{ask_edit('gap', med)}"
    if prompt.field is not None:
        return ask_edit(prompt.field, med)
    if prompt.saved in ("max", "gap"):
        limits = label_limits(med.max_per_24h, med.min_hours_between)
        saved = "no label limits" if limits == LIMITS_NOT_SAVED else limits
        return f"Saved: {saved}.\n{_med(med.name, med.dose)} — {_schedule(med)}.{_heads_up(med)}"
    return med_updated(med)


def med_updated(med: MedView) -> str:
    return f"Saved. {_med(med.name, med.dose)} — {_schedule(med)}.{_heads_up(med)}"


def _heads_up(med: MedView) -> str:
    if med.as_needed:
        return ""
    return schedule_heads_up(med.times, med.max_per_24h, med.min_hours_between)


def med_changed_by_helper(helper: str, change: str, med: MedView) -> str:
    what = _med(med.name, med.dose)
    limits = label_limits(med.max_per_24h, med.min_hours_between)
    done = {
        "added": f"added {what} to your medications ({_schedule(med)}; label limits: {limits})",
        "paused": f"paused the reminders for {what}",
        "resumed": f"resumed the reminders for {what}",
        "deleted": f"deleted {what} from your medications",
        "times": f"changed when you take {what}: {_schedule(med)}",
        "supply": f"updated how much {what} you have on hand",
        "max": f"updated the label limits of {what}: {limits}",
        "gap": f"updated the label limits of {what}: {limits}",
        "alert": f"changed when close family is told about an unconfirmed dose of {what}",
    }.get(change, f"changed {what}")
    return f"<b>{esc(helper)}</b> {done}. /meds shows your list."
