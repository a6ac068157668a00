"""Medication words every medication message shares; refills; /adherence.

Medication messages state facts and point to the label and the doctor: never a dosing
suggestion. Errand helpers never get any of these (they see needs only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.domain.clocktime import format_time
from bot.domain.meds import FIXED, format_gap, format_max, schedule_from_stored, schedule_vs_label
from bot.texts.common import esc

if TYPE_CHECKING:
    from bot.views.meds import AdherenceReport, MedView

__all__ = [
    "ASK_LABEL",
    "BUTTON_REFILL",
    "LIMITS_NOT_SAVED",
    "REFILL_DECLINED",
    "REFILL_NEED",
    "REFILL_POSTED",
    "adherence",
    "label_limits",
    "minutes",
    "refill_offer",
    "schedule_heads_up",
    "supply_empty_to_family",
]

ASK_LABEL = "If you're unsure, check the label or ask your doctor or pharmacist."


def minutes(value: float) -> str:
    if value < 1:
        return f"{round(value * 60)} s"
    hours, mins = divmod(round(value), 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


def _hours(value: float) -> str:
    return f"{value:g} hour" + ("" if value == 1 else "s")


LIMITS_NOT_SAVED = "not saved"


def _max_words(max_per_24h: int | None) -> str:
    # A stored 0 is no limit at all (the database now refuses one): never "at most 0".
    if not max_per_24h:
        return "no maximum saved"
    doses = "dose" if max_per_24h == 1 else "doses"
    return f"at most {format_max(max_per_24h)} {doses} in 24 hours"


def _gap_words(min_hours: float | None) -> str:
    if not min_hours:
        return "no minimum gap saved"
    hours = "hour" if min_hours == 1 else "hours"
    return f"at least {format_gap(min_hours)} {hours} between doses"


def label_limits(max_per_24h: int | None, min_hours: float | None) -> str:
    """The label's limits as saved, in words that read back the exact numbers."""
    if not max_per_24h and not min_hours:
        return LIMITS_NOT_SAVED
    return f"{_max_words(max_per_24h)}; {_gap_words(min_hours)}"


def schedule_heads_up(times: Sequence[str], max_per_24h: int | None, gap: float | None) -> str:
    """Facts, when the schedule's own times already pass the label's limits ("" if not)."""
    parsed = schedule_from_stored(FIXED, list(times), None).times
    found = schedule_vs_label(parsed, max_per_24h, gap)
    if found is None:
        return ""
    lines = []
    if found.doses_a_day is not None:
        lines.append(
            f"⚠️ These times are {found.doses_a_day} doses a day; the label says "
            f"{_max_words(max_per_24h)}."
        )
    if found.close_pair is not None:
        first, second = (format_time(t) for t in found.close_pair)
        lines.append(
            f"⚠️ {first} and {second} are {minutes(found.close_hours * 60)} apart; the label "
            f"says {_gap_words(gap)}."
        )
    lines.append("Please check with your doctor or pharmacist.")
    return "\n" + "\n".join(lines)


def _med(name: str, dose: str) -> str:
    return f"<b>{esc(name)}</b> {esc(dose)}"


def _schedule(med: MedView) -> str:
    if med.as_needed:
        return "as needed"
    times = ", ".join(med.times)
    return f"every {med.every_hours} hours ({times})" if med.every_hours else times


# Refills. The need itself names no medication: errand helpers see needs too.

REFILL_NEED = "Please pick up my prescription refill at the pharmacy."
BUTTON_REFILL = "Ask helpers to pick up a refill"
REFILL_POSTED = "Done — I've asked your helpers to pick up your refill. 💛"
REFILL_DECLINED = "Okay. /meds ▸ Supply when you've restocked."


def refill_offer(name: str, supply: int, days: float | None) -> str:
    if supply == 0:
        return f"📦 By my count you've run out of <b>{esc(name)}</b>."
    about = ""
    if days:
        whole = max(1, round(days))
        about = f" — about {whole} day{'s' if whole != 1 else ''} at your usual rate"
    doses = f"{supply} dose{'s' if supply != 1 else ''}"
    return f"📦 You have {doses} of <b>{esc(name)}</b> left{about}."


def supply_empty_to_family(patient_name: str, name: str) -> str:
    return f"📦 By my count <b>{esc(patient_name)}</b> has run out of <b>{esc(name)}</b>."


# /adherence


def adherence(report: AdherenceReport) -> str:
    title = (
        "<b>Your last 7 days</b>"
        if report.for_patient
        else f"<b>{esc(report.patient_name)}'s last 7 days</b>"
    )
    rows = [r for r in report.rows if r.on_time or r.late or r.skipped or r.missed]
    if not rows:
        return f"{title}\nNo scheduled doses yet."
    lines = [title]
    for row in rows:
        lines.append(
            f"💊 {_med(row.name, row.dose)}: on time {row.on_time} · late {row.late} · "
            f"skipped {row.skipped} · missed {row.missed}"
        )
    return "\n".join(lines)
