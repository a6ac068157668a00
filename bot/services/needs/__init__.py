"""Needs: the patient asks, one helper takes it, everyone knows — and the clock behind it.

Every change of a need is one conditional update (`… WHERE state IN (…)`) whose row count
says whether this caller won, and every message it causes is queued through the notifier in
the same transaction. The clock's work (widening "one at a time", reminding helpers, telling
the patient honestly, expiring at a deadline) hangs off the indexed `needs.next_step_at`.
"""

from __future__ import annotations

from bot.services.needs.claiming import _Claiming
from bot.services.needs.overview import LIST_LIMIT, RECENTLY_DONE, _Overview
from bot.services.needs.patient_actions import _PatientActions
from bot.services.needs.posting import _Posting
from bot.services.needs.timers import RUN_BATCH, _Timers
from bot.services.needs.views import (
    WEEK,
    NeedTimings,
    NeedView,
    Outcome,
    Overview,
    Posted,
    WeekInCircle,
)

__all__ = [
    "LIST_LIMIT",
    "RECENTLY_DONE",
    "RUN_BATCH",
    "WEEK",
    "NeedService",
    "NeedTimings",
    "NeedView",
    "Outcome",
    "Overview",
    "Posted",
    "WeekInCircle",
]


class NeedService(_Posting, _Claiming, _PatientActions, _Overview, _Timers):
    """Use cases for needs, and the `DueSource` that runs their clock."""

    name = "needs"
