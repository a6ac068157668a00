"""Medication: schedules, reminders on the minute, doses, the family alert, refills.

Time-driven work is two indexed columns: `medications.next_due_at` (the next reminder) and
`dose_occurrences.next_action_at` (the next nudge, snooze wake-up or family alert). The
scheduler asks for the smallest of each and hands over only what is due; every change is a
conditional update, so a restart, a double tap or a second replica never sends anything twice.
"""

from __future__ import annotations

from bot.services.meds.adding import ADD_STEPS
from bot.services.meds.adherence import _Adherence
from bot.services.meds.as_needed import _AsNeeded
from bot.services.meds.core import MedTiming, RefillRequester
from bot.services.meds.groups import _Groups
from bot.services.meds.helpers import _Helpers
from bot.services.meds.reminders import _Reminders
from bot.services.meds.views import AS_NEEDED_CLOSE
from bot.views.meds import (
    AddPrompt,
    AdherenceReport,
    AdherenceRow,
    AsNeededAnswer,
    DoseOutcome,
    DoseView,
    DoseWarning,
    EditPrompt,
    GroupOutcome,
    MedDetail,
    MedList,
    MedView,
)

__all__ = [
    "ADD_STEPS",
    "AS_NEEDED_CLOSE",
    "AddPrompt",
    "AdherenceReport",
    "AdherenceRow",
    "AsNeededAnswer",
    "DoseOutcome",
    "DoseView",
    "DoseWarning",
    "EditPrompt",
    "GroupOutcome",
    "MedDetail",
    "MedList",
    "MedTiming",
    "MedView",
    "MedicationService",
    "RefillRequester",
]


# Each part builds on those below it (core ← access ← views ← state ← alerts ← grouping ←
# reminders; state ← adding, timezone, supply ← catalog ← adherence; adding, supply ← doses ←
# as_needed, groups; state ← helpers): the leaves bring in the rest.
class MedicationService(_Reminders, _AsNeeded, _Groups, _Helpers, _Adherence):
    """Use cases for medications and doses; also the scheduler's source of due reminders."""

    name = "medication"
