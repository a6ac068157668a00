"""Someone always hears: look-ins, and when nobody in close family can be reached."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.texts.common import _join_names, esc
from bot.texts.meds import _med

if TYPE_CHECKING:
    from bot.views.reach import AlertReach, LookIn

__all__ = [
    "alert_reach",
    "errand_lookin",
    "lookin_nobody",
    "lookin_reply",
    "lookin_settled",
    "nobody_told_of_dose",
    "someone_checking",
]


def errand_lookin(patient_name: str) -> str:
    """To an errand helper: why is never said (it may be medication)."""
    return f"💛 <b>{esc(patient_name)}</b> may need a hand — could you check on them?"


def someone_checking(patient_name: str, checker: str) -> str:
    """A look-in request once another helper took it on."""
    return f"💛 {esc(checker)} is checking on {esc(patient_name)}. Thank you for being there."


def lookin_settled(patient_name: str) -> str:
    """A look-in request once it's no longer needed (never says why)."""
    return f"💛 All sorted — {esc(patient_name)} doesn't need a check-in now. Thank you."


def lookin_reply(result: LookIn) -> str:
    """The answer to the tap on "I'll check on them" (never about medication)."""
    patient = esc(result.patient_name)
    if result.resolved:
        return "No need any more — it's been taken care of. Thank you for looking out. 💛"
    if result.by_me:
        return f"Thank you — you're checking on <b>{patient}</b>. I've let them know. 💛"
    return f"{esc(result.checker_name)} is already checking on {patient}. Thank you. 💛"


def lookin_nobody(since: str) -> str:
    return (
        f"💛 I haven't heard from you since {since}'s check-in, and there's nobody in your "
        "circle I can ask to look in on you right now. If you need help, please call someone "
        "or your doctor. /invite brings close family in."
    )


def nobody_told_of_dose(meds: Sequence[tuple[str, str]], due_label: str, errand: list[str]) -> str:
    """To the patient, when no close family can be told that a dose (or the doses of one
    reminder) went unconfirmed."""
    what = ", ".join(_med(name, dose) for name, dose in meds)
    isnt = "isn't" if len(meds) == 1 else "aren't"
    lines = [
        f"💛 Your {what} due {due_label} {isnt} confirmed, and I couldn't tell "
        "anyone: nobody in your close family can be reached right now."
    ]
    if errand:
        lines.append(
            f"I've asked {esc(_join_names(errand))} to look in on you — without mentioning "
            "your medication."
        )
    lines.append("So that family hears next time, invite close family with /invite.")
    return "\n".join(lines)


def alert_reach(reach: AlertReach, for_patient: bool) -> str:
    """Who would hear about a missed dose right now, for /addmed and /meds."""
    if reach.close:
        return f"🔔 If a dose isn't confirmed, {esc(_join_names(list(reach.close)))} would be told."
    invite = " Invite close family with /invite." if for_patient else ""
    if reach.errand:
        return (
            "🔔 If a dose isn't confirmed, no close family can be told right now: "
            f"{esc(_join_names(list(reach.errand)))} would be asked to look in "
            f"(without medication details).{invite}"
        )
    if for_patient:
        return (
            "⚠️ If a dose isn't confirmed, nobody would be told — invite close family with /invite."
        )
    return "⚠️ If a dose isn't confirmed, nobody in close family can be told right now."
