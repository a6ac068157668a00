"""Medication as handlers and texts see it: medications, lists, doses, warnings, reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bot.domain import meds as parse
from bot.domain.doses import LabelCheck
from bot.domain.meds import AS_NEEDED, Schedule
from bot.views.reach import AlertReach


@dataclass(frozen=True)
class MedView:
    id: int
    circle_id: int
    name: str
    dose: str
    note: str | None
    kind: str
    times: tuple[str, ...]
    every_hours: int | None
    max_per_24h: int | None
    min_hours_between: float | None
    supply_on_hand: int | None
    alert_minutes: float
    custom_alert: bool
    paused: bool
    next_due_at: dt.datetime | None
    last_taken_at: dt.datetime | None
    timezone: str

    @property
    def as_needed(self) -> bool:
        return self.kind == AS_NEEDED


@dataclass(frozen=True)
class OpenDose:
    """A dose a close-family helper could mark as given."""

    occurrence_id: int
    name: str
    due_label: str


@dataclass(frozen=True)
class MedList:
    """One circle's medications as the viewer may see them."""

    circle_id: int
    patient_name: str
    timezone: str
    for_patient: bool
    can_manage: bool
    can_give: bool
    meds: tuple[MedView, ...]
    open_doses: tuple[OpenDose, ...]
    # Who would hear about a missed dose right now.
    reach: AlertReach | None = None


@dataclass(frozen=True)
class MedDetail:
    med: MedView
    patient_name: str
    for_patient: bool
    can_manage: bool
    # Who would hear about a missed dose right now (filled in when it is added).
    reach: AlertReach | None = None


@dataclass(frozen=True)
class DoseView:
    occurrence_id: int
    medication_id: int
    name: str
    dose: str
    note: str | None
    scheduled: bool
    due_at: dt.datetime
    due_label: str
    state: str
    taken_at: dt.datetime | None
    snoozed_until: dt.datetime | None
    alert_at: dt.datetime | None
    late: bool
    by_name: str | None
    by_patient: bool
    patient_name: str
    timezone: str


@dataclass(frozen=True)
class DoseGroupView:
    """Doses of one patient reminded together in one message, as they stand now."""

    lead_id: int
    due_label: str
    doses: tuple[DoseView, ...]
    # The time it was due, when the reminder went out late (after downtime).
    late_label: str | None = None

    @property
    def open(self) -> tuple[DoseView, ...]:
        """The doses still waiting for an answer (a late answer still counts)."""
        return tuple(d for d in self.doses if d.state in ("sent", "snoozed", "missed"))


@dataclass(frozen=True)
class GroupOutcome:
    """ "Took all": the group after it, and the doses it did not log because the label (or
    another dose for the same time) asks to look first."""

    group: DoseGroupView
    warnings: tuple[DoseWarning, ...] = ()
    taken: int = 0


@dataclass(frozen=True)
class OtherDose:
    """A dose already logged for the same scheduled time (or, as needed, just before)."""

    at: dt.datetime
    by_name: str | None
    by_patient: bool
    by_self: bool


@dataclass(frozen=True)
class DoseWarning:
    """Logging would pass the label's limits, or make two doses for one time: ask first.
    Facts only."""

    medication_id: int
    occurrence_id: int | None
    name: str
    dose: str
    check: LabelCheck
    at: dt.datetime
    timezone: str
    other: OtherDose | None = None
    # When the warning was made, and the newest recording in the log it looked at: a
    # "Log it anyway" is for this log only (see MedicationService._confirms).
    shown_at: dt.datetime | None = None
    last_recorded: dt.datetime | None = None


@dataclass(frozen=True)
class DoseOutcome:
    dose: DoseView | None = None
    warning: DoseWarning | None = None
    # After logging: where the log stands against the label (for "Can I take another?").
    check: LabelCheck | None = None
    already_logged: bool = False
    # The dose's group, if it was reminded together with others (to redraw that message).
    group: DoseGroupView | None = None
    # Given by a helper from an alert about several doses: that alert is redrawn for them.
    batch_alert: bool = False


@dataclass(frozen=True)
class CheckOn:
    patient_name: str
    checker_name: str
    by_me: bool
    resolved: bool
    can_give: bool
    dose: DoseView
    # An alert about several doses of one reminder: those still unconfirmed (to mark given).
    gives: tuple[DoseView, ...] = ()


@dataclass(frozen=True)
class AsNeededAnswer:
    name: str
    dose: str
    check: LabelCheck
    now: dt.datetime
    timezone: str


@dataclass(frozen=True)
class AdherenceRow:
    name: str
    dose: str
    on_time: int
    late: int
    skipped: int
    missed: int


@dataclass(frozen=True)
class AdherenceReport:
    patient_name: str
    for_patient: bool
    rows: tuple[AdherenceRow, ...]


@dataclass(frozen=True)
class AddPrompt:
    """Where the /addmed walk-through stands, for the handler to ask the next question."""

    step: str
    patient_name: str
    for_patient: bool
    draft: dict[str, Any]
    choices: tuple[tuple[int, str], ...] = ()

    @property
    def schedule(self) -> Schedule | None:
        if "kind" not in self.draft:
            return None
        return parse.schedule_from_stored(
            self.draft["kind"], self.draft.get("times", []), self.draft.get("every")
        )


@dataclass(frozen=True)
class EditPrompt:
    """An edit of one medication's field: what to ask now (None when finished), and which
    field the last answer saved (so the reply can read it back)."""

    field: str | None
    med: MedView
    saved: str | None = None


@dataclass(frozen=True)
class RefillPosted:
    need_id: int
    name: str
