"""Medication refusals that need more than a fixed text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.texts.common import esc
from bot.texts.doses import dose_already
from bot.texts.errors import ERRORS

if TYPE_CHECKING:
    from bot.domain.errors import DomainError

__all__ = ["MED_INPUT", "med_refusal"]

# Refusals.

MED_INPUT = {
    "name_empty": "Please send the medication's name.",
    "name_long": "That name is too long — up to 60 characters, please.",
    "dose_empty": "Please send the dose as on the label, like 1 tablet.",
    "dose_long": "That's a long dose — up to 40 characters, please (like 1 tablet).",
    "note_long": "That note is too long — up to 120 characters, please.",
    "times_empty": "Please send the times, like <code>08:00, 20:00</code>.",
    "times_gap": (
        "There's an empty spot between commas. Send the times like <code>08:00, 14:00</code>."
    ),
    "times_many": "That's more than 24 times a day — please check the times.",
    "time_twice": "{detail} is in there twice — each time once, please.",
    "time_bare_hour": (
        "“{detail}” could be morning or evening — please write <code>{detail}:00</code>, "
        "<code>{detail}am</code> or <code>{detail}pm</code>."
    ),
    "time_bad": (
        "I couldn't read “{detail}” as a time of day. Use 24-hour times like <code>08:00</code> "
        "or <code>20:30</code>, or <code>8am</code>."
    ),
    "time_future": "That time hasn't come yet today — please send the time you took it.",
    "every_form": "Try it like <code>every 8 hours from 07:00</code>.",
    "every_start": "From what time? Like <code>every 8 hours from 07:00</code>.",
    "every_hours": (
        "For “every … hours” I can do 1, 2, 3, 4, 6, 8, 12 or 24 hours (so it repeats each "
        "day). Or send the times, like <code>07:00, 12:00, 17:00, 22:00</code>."
    ),
    "max_bad": (
        "Please send just the number from the label — the most doses in 24 hours, "
        "like <code>4</code>."
    ),
    "max_numbers": (
        "I see more than one number there. Please send only the most doses the label allows "
        "in 24 hours, as one number, like <code>4</code>."
    ),
    "max_range": "Please send a whole number of doses from 1 to 48, like <code>4</code>.",
    "max_unit": (
        "Please send only the number of doses in 24 hours, like <code>4</code> — "
        "counted in doses, not tablets or mg."
    ),
    "gap_bad": (
        "Please send just the hours from the label, like <code>6</code> or <code>4.5</code>."
    ),
    "gap_numbers": (
        "I see more than one number there. Please send only the hours between doses, as one "
        "number, like <code>6</code> or <code>1.5</code>."
    ),
    "gap_range": (
        "Please send hours from 0.25 to 48 (at most two decimals), like <code>6</code> or "
        "<code>4.5</code>."
    ),
    "gap_unit": (
        "In hours, please — one number, like <code>6</code>, <code>1.5</code> or <code>24</code>."
    ),
    "supply_bad": (
        "Please send how many doses you have, like <code>30</code> (or <code>off</code>)."
    ),
    "which_patient": (
        "You help more than one person — send /addmed and I'll ask whose medication it is."
    ),
    "one_line": (
        "Send it like <code>/addmed Medicine A | 1 tablet | 08:00, 20:00</code>. After the "
        "times you may add a note (<code>| with food</code>) and the label's limits: "
        "<code>| max 4</code> (doses in 24 hours) and <code>| gap 6h</code> (hours between "
        "doses). Or just /addmed and I'll ask step by step."
    ),
    "one_line_twice": "There are two “{detail}” parts — one of each, please.",
    "one_line_limits": (
        "For the label's limits in one line, name them: <code>| max 4</code> (at most that "
        "many doses in 24 hours) and <code>| gap 6h</code> (at least that many hours between "
        "doses)."
    ),
}


def med_refusal(error: DomainError) -> str | None:
    """The reply for a medication refusal that needs more than a fixed text."""
    from bot.domain.errors import (
        DoseAlreadyRecorded,
        DuplicateMedication,
        MedInputError,
        UnknownMedication,
    )

    if isinstance(error, MedInputError):
        template = MED_INPUT.get(error.reason, ERRORS["error"])
        return template.format(detail=esc(error.detail))
    if isinstance(error, DuplicateMedication):
        return (
            f"<b>{esc(error.name)}</b> is already on the list. /meds shows it — you can change "
            "its times there."
        )
    if isinstance(error, UnknownMedication):
        if not error.names:
            return "There are no medications on your list yet. /addmed adds one."
        names = ", ".join(esc(n) for n in error.names)
        return f"I couldn't find “{esc(error.typed)}”. Your medications: {names}."
    if isinstance(error, DoseAlreadyRecorded):
        return dose_already(error)
    return None
