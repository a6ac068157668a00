"""/addmed, step by step."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.texts.common import esc
from bot.texts.med_list import _heads_up
from bot.texts.meds import _max_words, _med, _schedule, label_limits, schedule_heads_up
from bot.texts.reach import alert_reach
from bot.texts.times import day_clock

if TYPE_CHECKING:
    from bot.views.meds import AddPrompt, MedView
    from bot.views.reach import AlertReach

__all__ = [
    "ADD_CANCELLED",
    "BUTTON_AS_NEEDED",
    "BUTTON_CANCEL",
    "BUTTON_SAVE",
    "BUTTON_SKIP_STEP",
    "add_prompt",
    "button_for_patient",
    "med_added",
]

# /addmed, step by step.


def add_prompt(prompt: AddPrompt) -> str:
    step, draft = prompt.step, prompt.draft
    for_whom = "" if prompt.for_patient else f"For <b>{esc(prompt.patient_name)}</b>: "
    if step == "choose":
        return "Whose medication would you like to add?"
    if step == "name":
        return f"{for_whom}What's the medication called? (as on the label)"
    if step == "dose":
        name = esc(draft["name"])
        return f"{for_whom}How much is one dose of <b>{name}</b>? (as on the label, like 1 tablet)"
    if step == "times":
        return (
            f"{for_whom}When is it taken? Send times of day like <code>08:00, 14:00, 20:00</code> "
            "(or <code>8am, 8pm</code>), or <code>every 8 hours from 07:00</code> — "
            "or tap “As needed”."
        )
    if step == "note":
        return "Anything to remember with it, like “with food”? Send it, or tap Skip."
    if step == "max":
        return (
            "From the label: at most how many doses in 24 hours? Send a number, or tap Skip. "
            "I'll warn before a dose that would go over it."
        )
    if step == "gap":
        got = f"Got it: {_max_words(draft['max'])}.\n" if draft.get("max") else ""
        return (
            f"{got}From the label: at least how many hours between doses? Send a number, like "
            "<code>6</code> or <code>4.5</code> — or tap Skip. I'll ask before logging a dose "
            "sooner than that."
        )
    return f"{for_whom}{_draft_summary(prompt)}\n\nSave it?"


def _draft_summary(prompt: AddPrompt) -> str:
    draft, schedule = prompt.draft, prompt.schedule
    lines = [_med(draft.get("name", ""), draft.get("dose", ""))]
    if schedule is not None:
        if schedule.as_needed:
            lines.append("When: as needed")
        else:
            times = ", ".join(schedule.time_strings())
            every = f"every {schedule.every_hours} hours: " if schedule.every_hours else ""
            lines.append(f"When: {every}{times} (local time)")
    if draft.get("note"):
        lines.append(f"Note: {esc(draft['note'])}")
    lines.append(f"Label limits: {label_limits(draft.get('max'), draft.get('gap'))}")
    heads_up = ""
    if schedule is not None and not schedule.as_needed:
        heads_up = schedule_heads_up(schedule.time_strings(), draft.get("max"), draft.get("gap"))
    return "\n".join(lines) + heads_up


BUTTON_AS_NEEDED = "As needed"
BUTTON_SKIP_STEP = "Skip"
BUTTON_SAVE = "✅ Save"
BUTTON_CANCEL = "Cancel"
ADD_CANCELLED = "Okay, nothing added."


def button_for_patient(name: str) -> str:
    return f"For {name}"


def med_added(
    med: MedView,
    patient_name: str,
    for_patient: bool,
    now: dt.datetime,
    reach: AlertReach | None = None,
) -> str:
    whose = "your medications" if for_patient else f"{esc(patient_name)}'s medications"
    text = f"Added {_med(med.name, med.dose)} to {whose} — {_schedule(med)}."
    text += f"\nLabel limits: {label_limits(med.max_per_24h, med.min_hours_between)}."
    text += _heads_up(med)
    if med.next_due_at:
        text += f"\nFirst reminder: {day_clock(med.next_due_at, med.timezone, now)}."
    if reach is not None and not med.as_needed:
        text += f"\n{alert_reach(reach, for_patient)}"
    if not for_patient:
        text += f"\nI've let {esc(patient_name)} know."
    return text + "\n/meds to change or pause it."
