"""Medication: schedules, reminders on the minute, doses, the family alert, refills.

Time-driven work is two indexed columns: `medications.next_due_at` (the next reminder) and
`dose_occurrences.next_action_at` (the next nudge, snooze wake-up or family alert). The
scheduler asks for the smallest of each and hands over only what is due; every change is a
conditional update, so a restart, a double tap or a second replica never sends anything twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.buttons import LookVerb
from bot.clock import Clock
from bot.config import Settings
from bot.db.circles import (
    active_helpers,
    active_membership,
    circle_and_patient,
    display_name,
    patient_circle_id,
)
from bot.db.models import (
    FORMER_HELPER_ID,
    Access,
    Circle,
    DoseOccurrence,
    Medication,
    Membership,
    MemberStatus,
    OutboxMessage,
    OutboxState,
    Role,
    User,
)
from bot.db.session import Database, after_commit
from bot.domain import doses as rules
from bot.domain import meds as parse
from bot.domain.clocktime import local_date, local_instant, parse_time_of_day
from bot.domain.doses import ALERT_CHOICES, SNOOZE_CHOICES, DoseEvent, DoseState, LabelCheck
from bot.domain.flows import Awaiting
from bot.domain.meds import AS_NEEDED, Schedule, Slot
from bot.domain.requests import Request, request_key
from bot.events import log_event
from bot.notify import LateNote, Notifier, OutMessage, Priority
from bot.services.circles import CircleService
from bot.services.errors import (
    DoseAlreadyRecorded,
    DoseNotOpen,
    DuplicateMedication,
    FlowMoved,
    GiveNotAllowed,
    MedicationGone,
    MedInputError,
    MedsNotAllowed,
    MedsPrivate,
    NeedTimezone,
    NotPatient,
    NotRegistered,
    RefillUnavailable,
    StaleAction,
    UnknownMedication,
)
from bot.services.reach import AlertReach, LookIn, alert_reach, look_in_people

log = logging.getLogger(__name__)

# A reminder queued later than this after its minute was sent late (the bot was down).
LATE_AFTER = dt.timedelta(minutes=1)
# After a long outage, slots older than this are not recorded at all.
CATCH_UP_LIMIT = dt.timedelta(days=7)
# A 403 on a missed-dose alert older than this changes nothing any more.
ALERT_RELEVANT = dt.timedelta(days=1)
ADHERENCE_DAYS = 7
# An as-needed medication has no scheduled times to tell two doses apart: one logged this
# close to another is questioned even when the label's minimum gap isn't saved.
AS_NEEDED_CLOSE = dt.timedelta(hours=1)
# A typed "I took it at …" time is read no earlier than this before the dose was due.
TYPED_EARLIEST = dt.timedelta(hours=12)
# "Log it anyway" counts this long after its warning was shown; later, it asks again.
CONFIRM_FRESH = dt.timedelta(minutes=10)
# Yes/no, and when the warning being answered was shown (None: not from a button).
Confirmation = tuple[bool, dt.datetime | None]
# How far either side of a moment the label's checks look for logged doses.
LABEL_REACH = dt.timedelta(hours=48)
# Due work is handled in batches; a poison row is skipped for the rest of the run.
BATCH = 200
MAX_ROUNDS = 1000

ADD_STEPS = ("name", "dose", "times", "note", "max", "gap", "confirm")
OPTIONAL_STEPS = ("note", "max", "gap")
EDIT_FIELDS = ("times", "supply", "max", "gap")


class RefillRequester(Protocol):
    """Posts a need to the circle's helpers (the needs feature's NeedService)."""

    async def post_need(
        self,
        patient_id: int,
        text: str,
        *,
        category: str = "other",
        urgent: bool = False,
        deadline: dt.datetime | None = None,
    ) -> int: ...


@dataclass(frozen=True)
class MedTiming:
    """The timings of reminders, from Settings."""

    nudge: dt.timedelta
    alert: dt.timedelta
    grace: dt.timedelta
    refill_lead_days: float

    @classmethod
    def from_settings(cls, settings: Settings) -> MedTiming:
        return cls(
            nudge=dt.timedelta(minutes=settings.reminder_nudge_minutes),
            alert=dt.timedelta(minutes=settings.missed_dose_alert_minutes),
            grace=dt.timedelta(minutes=settings.reminder_grace_minutes),
            refill_lead_days=settings.refill_lead_days,
        )


# --- what handlers get back -----------------------------------------------------------------


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


@dataclass(frozen=True)
class CheckOn:
    patient_name: str
    checker_name: str
    by_me: bool
    resolved: bool
    can_give: bool
    dose: DoseView


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


@dataclass
class _Ctx:
    """A medication with its circle and patient, loaded in one transaction."""

    med: Medication
    circle: Circle
    patient: User

    @property
    def zone(self) -> str:
        return self.patient.timezone or "UTC"


class MedicationService:
    """Use cases for medications and doses; also the scheduler's source of due reminders."""

    name = "medication"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        circles: CircleService,
        timing: MedTiming,
        *,
        wake: Callable[[], None] | None = None,
        refills: RefillRequester | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._circles = circles
        self._timing = timing
        self._wake = wake or (lambda: None)
        self._refills = refills

    # --- the scheduler's side ------------------------------------------------------------

    async def next_due(self) -> dt.datetime | None:
        async with self._db.transaction() as session:
            reminder = await session.scalar(
                select(Medication.next_due_at)
                .where(Medication.next_due_at.is_not(None))
                .order_by(Medication.next_due_at)
                .limit(1)
            )
            action = await session.scalar(
                select(DoseOccurrence.next_action_at)
                .where(DoseOccurrence.next_action_at.is_not(None))
                .order_by(DoseOccurrence.next_action_at)
                .limit(1)
            )
        return min((t for t in (reminder, action) if t is not None), default=None)

    async def run_due(self, now: dt.datetime) -> int:
        handled = await self._drain(self._due_medications, self._materialise, now)
        handled += await self._drain(self._due_doses, self._act, now)
        return handled

    async def _drain(
        self,
        due: Callable[[dt.datetime, set[int]], Any],
        handle: Callable[[int, dt.datetime], Any],
        now: dt.datetime,
    ) -> int:
        handled = 0
        failed: set[int] = set()
        previous: list[int] = []
        for _ in range(MAX_ROUNDS):
            ids: list[int] = await due(now, failed)
            if not ids or ids == previous:
                break  # nothing left, or rows that stay due without failing: next sweep
            previous = ids
            for item in ids:
                try:
                    handled += await handle(item, now)
                except Exception:
                    log.exception("event=meds.due_failed id=%s", item)
                    failed.add(item)
        return handled

    async def _due_medications(self, now: dt.datetime, skip: set[int]) -> list[int]:
        query = select(Medication.id).where(Medication.next_due_at <= now)
        if skip:
            query = query.where(Medication.id.not_in(skip))
        return await self._ids(query.order_by(Medication.next_due_at).limit(BATCH))

    async def _due_doses(self, now: dt.datetime, skip: set[int]) -> list[int]:
        query = select(DoseOccurrence.id).where(DoseOccurrence.next_action_at <= now)
        if skip:
            query = query.where(DoseOccurrence.id.not_in(skip))
        return await self._ids(query.order_by(DoseOccurrence.next_action_at).limit(BATCH))

    async def _ids(self, query: Select[Any]) -> list[int]:
        async with self._db.transaction() as session:
            return list(await session.scalars(query))

    async def _materialise(self, med_id: int, now: dt.datetime) -> int:
        """Queue the reminder(s) of one medication that fell due, and move it to its next slot.

        After downtime: the newest slot within the grace window is sent (marked late); older
        ones are recorded as missed and close family hears once about the newest of those.
        """
        async with self._db.transaction() as session:
            ctx = await self._ctx(session, med_id)
            med = ctx.med
            due_at = med.next_due_at
            if due_at is None or due_at > now:
                return 0
            schedule = self._schedule(med)
            if med.deleted_at or med.paused or schedule.as_needed or not schedule.times:
                await self._move_next_due(session, med, due_at, None)
                return 0
            zone = ctx.zone
            since = max(due_at - dt.timedelta(microseconds=1), now - CATCH_UP_LIMIT)
            slots = await self._uncovered(
                session, ctx, parse.slots_between(schedule.times, zone, since, now)
            )
            following = parse.next_slot(schedule.times, zone, now)
            if not await self._move_next_due(
                session, med, due_at, following.at if following else None
            ):
                return 0  # someone else handled this slot
            fresh = [s for s in slots if now - s.at <= self._timing.grace]
            stale = [s for s in slots if now - s.at > self._timing.grace]
            send = fresh[-1] if fresh else None
            for slot in stale + fresh[:-1]:
                # Close family hears once, about the newest dose that went unanswered; older
                # ones (and any superseded by a newer reminder) are recorded quietly.
                alert = bool(stale) and slot is stale[-1]
                occurrence_id = await self._insert_slot(
                    session, ctx, slot, now, missed=True, alerted=alert
                )
                if occurrence_id is not None and alert:
                    await self._alert_family(session, ctx, occurrence_id, slot.label)
            if send is not None:
                occurrence_id = await self._insert_slot(
                    session, ctx, send, now, missed=False, alerted=False
                )
                if occurrence_id is not None:
                    await self._send_reminder(session, ctx, occurrence_id, send, now)
            after_commit(session, self._wake)
            log_event(
                log, "meds.due", medication_id=med.id, sent=send is not None, missed=len(stale)
            )
            return len(slots)

    async def _uncovered(self, session: AsyncSession, ctx: _Ctx, slots: list[Slot]) -> list[Slot]:
        """The slots no dose was taken for yet: after the times changed (11:00 taken, then
        moved to 12:00), the 12:00 reminder would be a second dose for one time."""
        if not slots:
            return slots
        taken = await self._taken_near(session, ctx.med, slots[0].at, slots[-1].at, None)
        covered = {self._owner(ctx, dose) for dose in taken}
        return [slot for slot in slots if slot.key not in covered]

    async def _move_next_due(
        self,
        session: AsyncSession,
        med: Medication,
        expected: dt.datetime,
        new: dt.datetime | None,
    ) -> bool:
        result = await session.execute(
            update(Medication)
            .where(Medication.id == med.id, Medication.next_due_at == expected)
            .values(next_due_at=new)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def _insert_slot(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        slot: Slot,
        now: dt.datetime,
        *,
        missed: bool,
        alerted: bool,
    ) -> int | None:
        """Create the dose for a slot once; None if it exists (e.g. after a zone change)."""
        late = now - slot.at > LATE_AFTER
        base = now if late else slot.at
        alert = self._alert_delta(ctx.med)
        alert_limit = self._alert_limit(ctx, slot, now)
        values: dict[str, Any] = {
            "medication_id": ctx.med.id,
            "slot": slot.key,
            "scheduled": True,
            "due_at": slot.at,
            "version": 0,
            "resends": 0,
            "late": late,
        }
        if missed:
            values.update(
                state=DoseState.MISSED,
                reminded_at=None,
                alert_at=slot.at + alert,
                alerted_at=now if alerted else None,
                next_action_at=None,
            )
        else:
            values.update(
                state=DoseState.SENT,
                reminded_at=base,
                alert_at=alert_limit,
                next_action_at=rules.next_action(
                    DoseState.SENT,
                    reminded_at=base,
                    nudged=False,
                    snoozed_until=None,
                    alert_at=alert_limit,
                    nudge=self._timing.nudge,
                ),
            )
        statement = (
            _insert(session)(DoseOccurrence)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(DoseOccurrence.id)
        )
        return (await session.execute(statement)).scalar_one_or_none()

    def _alert_limit(self, ctx: _Ctx, slot: Slot, now: dt.datetime) -> dt.datetime:
        """When a dose reminded at `now` counts as missed if unanswered."""
        base = now if now - slot.at > LATE_AFTER else slot.at
        return rules.alert_at(slot.at, base, self._alert_delta(ctx.med))

    async def _send_reminder(
        self, session: AsyncSession, ctx: _Ctx, occurrence_id: int, slot: Slot, now: dt.datetime
    ) -> None:
        """The reminder matters until its dose counts as missed: held up by a Telegram outage
        beyond that, it is dropped (the missed-dose flow has taken over); sent late, it says so.
        """
        med = ctx.med
        late = now - slot.at > LATE_AFTER
        await self._notifier.send(
            session,
            key=f"dose:{occurrence_id}:reminder",
            chat_id=ctx.patient.id,
            message=OutMessage(
                texts.dose_reminder(med.name, med.dose, med.note, slot.label if late else None),
                keyboards.dose_reminder(occurrence_id),
            ),
            kind="dose.reminder",
            priority=Priority.URGENT,
            circle_id=ctx.circle.id,
            relevant_until=self._alert_limit(ctx, slot, now),
            late=None if late else LateNote(slot.at + LATE_AFTER, texts.late_note(slot.label)),
        )

    async def _act(self, occurrence_id: int, now: dt.datetime) -> int:
        """The nudge, the wake-up after a snooze, or the family alert of one dose."""
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            if occ.next_action_at is None or occ.next_action_at > now:
                return 0
            if ctx.med.deleted_at is not None:
                await self._cancel(session, ctx, occ)
                return 1
            assert occ.reminded_at is not None and occ.alert_at is not None
            action = rules.action_due(
                occ.state,
                now,
                reminded_at=occ.reminded_at,
                nudged=occ.nudged_at is not None,
                snoozed_until=occ.snoozed_until,
                alert_at=occ.alert_at,
                nudge=self._timing.nudge,
            )
            after_commit(session, self._wake)
            if action is rules.Action.ALERT:
                won = await self._transition(
                    session,
                    occ,
                    DoseEvent.MISS,
                    alerted_at=now,
                    next_action_at=None,
                    snoozed_until=None,
                )
                if won:
                    await self._alert_family(session, ctx, occ.id, _label(occ, ctx.zone))
                    log_event(log, "dose.missed", occurrence_id=occ.id, circle_id=ctx.circle.id)
                return int(won)
            if action is rules.Action.NUDGE:
                won = await self._bump(
                    session,
                    occ,
                    nudged_at=now,
                    next_action_at=occ.alert_at,
                )
                # A reminder still held up by a Telegram outage will say it is late; a nudge
                # right behind it would only repeat it.
                if won and not await self._reminder_waiting(session, occ):
                    await self._notifier.send(
                        session,
                        key=f"dose:{occ.id}:nudge",
                        chat_id=ctx.patient.id,
                        message=OutMessage(
                            texts.dose_nudge(ctx.med.name, ctx.med.dose, _label(occ, ctx.zone)),
                            keyboards.dose_reminder(occ.id),
                        ),
                        kind="dose.nudge",
                        priority=Priority.URGENT,
                        circle_id=ctx.circle.id,
                        relevant_until=occ.alert_at,
                    )
                return int(won)
            if action is rules.Action.WAKE:
                won = await self._transition(
                    session,
                    occ,
                    DoseEvent.WAKE,
                    resends=occ.resends + 1,
                    reminded_at=now,
                    snoozed_until=None,
                    next_action_at=rules.next_action(
                        DoseState.SENT,
                        reminded_at=now,
                        nudged=occ.nudged_at is not None,
                        snoozed_until=None,
                        alert_at=occ.alert_at,
                        nudge=self._timing.nudge,
                    ),
                )
                if won:
                    med = ctx.med
                    late = LateNote(now + LATE_AFTER, texts.late_note(texts.clock(now, ctx.zone)))
                    await self._notifier.send(
                        session,
                        key=f"dose:{occ.id}:again:{occ.resends}",
                        chat_id=ctx.patient.id,
                        message=OutMessage(
                            texts.dose_reminder(med.name, med.dose, med.note, None),
                            keyboards.dose_reminder(occ.id),
                        ),
                        kind="dose.reminder",
                        priority=Priority.URGENT,
                        circle_id=ctx.circle.id,
                        relevant_until=occ.alert_at,
                        late=late,
                    )
                return int(won)
            # Nothing due after all (the state moved on): re-aim or clear the wake-up.
            await self._bump(session, occ, next_action_at=self._next_action(occ))
            return 0

    def _next_action(self, occ: DoseOccurrence) -> dt.datetime | None:
        if occ.state not in rules.WAITING or occ.reminded_at is None or occ.alert_at is None:
            return None
        return rules.next_action(
            occ.state,
            reminded_at=occ.reminded_at,
            nudged=occ.nudged_at is not None,
            snoozed_until=occ.snoozed_until,
            alert_at=occ.alert_at,
            nudge=self._timing.nudge,
        )

    async def _reminder_waiting(self, session: AsyncSession, occ: DoseOccurrence) -> bool:
        """Is a reminder of this dose still waiting to reach the patient?"""
        waiting = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.key.in_(_patient_keys(occ)),
                OutboxMessage.op == "send",
                OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
            )
        )
        return bool(waiting)

    async def _alert_family(
        self, session: AsyncSession, ctx: _Ctx, occurrence_id: int, due_label: str
    ) -> None:
        """Tell every close-family helper who can be reached now (not blocked, not away);
        errand helpers never hear about medication. With nobody in close family to tell,
        the patient is told plainly instead.

        Keys make it safe to call again (after a 403): only the newly reachable are told.
        """
        people, errand = await look_in_people(session, ctx.circle, self._clock.now())
        if errand or not people:
            await self._nobody_told(session, ctx, occurrence_id, due_label, people)
            return
        patient = display_name(ctx.patient)
        for helper in people:
            await self._notifier.send(
                session,
                key=f"dose:{occurrence_id}:alert:{helper.id}",
                chat_id=helper.id,
                message=OutMessage(
                    texts.dose_alert(patient, ctx.med.name, ctx.med.dose, due_label),
                    keyboards.dose_alert(occurrence_id, ctx.circle.helpers_mark_given),
                ),
                kind="dose.alert",
                priority=Priority.URGENT,
                circle_id=ctx.circle.id,
            )

    async def _nobody_told(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        occurrence_id: int,
        due_label: str,
        errand: Sequence[User],
    ) -> None:
        """No close family can be told: the patient hears it, and errand helpers (if the
        patient allows it) are asked to look in — with no word about medication."""
        patient = display_name(ctx.patient)
        for helper in errand:
            await self._notifier.send(
                session,
                key=f"dose:{occurrence_id}:lookin:{helper.id}",
                chat_id=helper.id,
                message=OutMessage(
                    texts.errand_lookin(patient),
                    keyboards.look_in(LookVerb.DOSE, occurrence_id),
                ),
                kind="dose.lookin",
                priority=Priority.URGENT,
                circle_id=ctx.circle.id,
            )
        told = await self._notifier.send(
            session,
            key=f"dose:{occurrence_id}:nobody",
            chat_id=ctx.patient.id,
            message=OutMessage(
                texts.nobody_told_of_dose(
                    ctx.med.name, ctx.med.dose, due_label, [display_name(h) for h in errand]
                )
            ),
            kind="dose.nobody",
            priority=Priority.URGENT,
            circle_id=ctx.circle.id,
        )
        if told:
            log_event(log, "dose.nobody_told", occurrence_id=occurrence_id, errand=len(errand))

    async def helper_unreachable(self, session: AsyncSession, user_id: int) -> None:
        """Telegram refused a message to this helper (403), in the transaction recording it.

        A missed-dose alert of theirs that never arrived may have been the only one: if no
        alert of that dose reached (or can still reach) anyone, it is handled as if nobody
        could be told at alert time — newly reachable close family, else the patient.
        """
        since = self._clock.now() - ALERT_RELEVANT
        keys = list(
            await session.scalars(
                select(OutboxMessage.key).where(
                    OutboxMessage.chat_id == user_id,
                    OutboxMessage.kind == "dose.alert",
                    OutboxMessage.op == "send",
                    OutboxMessage.state != OutboxState.SENT,
                    OutboxMessage.created_at > since,
                )
            )
        )
        for key in keys:
            found = await session.get(DoseOccurrence, int(key.split(":")[1]))
            if found is None:
                continue  # gone with its circle
            ctx, occ = await self._dose(session, found.id)
            if occ.state != DoseState.MISSED or occ.checker_id is not None:
                continue  # answered, or someone is already on their way
            if not await self._alert_heard(session, occ.id):
                await self._alert_family(session, ctx, occ.id, _label(occ, ctx.zone))

    async def _alert_heard(self, session: AsyncSession, occurrence_id: int) -> bool:
        """Did a family alert of this dose arrive, or can one still arrive?"""
        rows = await session.execute(
            select(OutboxMessage.state, User.reachable)
            .outerjoin(User, User.id == OutboxMessage.chat_id)
            .where(
                OutboxMessage.key.like(f"dose:{occurrence_id}:alert:%"),
                OutboxMessage.op == "send",
            )
        )
        waiting = (OutboxState.PENDING, OutboxState.SENDING)
        return any(
            state == OutboxState.SENT or (state in waiting and reachable is not False)
            for state, reachable in rows.all()
        )

    async def look_in(self, helper_id: int, occurrence_id: int) -> LookIn:
        """ "I'll check on them" from a helper asked to look in about a missed dose (an
        errand helper: nothing here or in what follows names the medication). The first tap
        wins, as on close family's alert; the others are told."""
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            role = await self._role(session, helper_id, ctx.circle)
            asked = await session.scalar(
                select(OutboxMessage.id).where(
                    OutboxMessage.key == f"dose:{occ.id}:lookin:{helper_id}"
                )
            )
            if role not in (Access.CLOSE, Access.ERRAND) or asked is None:
                raise StaleAction()
            patient = display_name(ctx.patient)
            if occ.state != DoseState.MISSED:
                return LookIn(patient, "", False, True)
            result = await session.execute(
                update(DoseOccurrence)
                .where(DoseOccurrence.id == occ.id, DoseOccurrence.checker_id.is_(None))
                .values(checker_id=helper_id)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                checker_id = await session.scalar(
                    select(DoseOccurrence.checker_id).where(DoseOccurrence.id == occ.id)
                )
                checker = await self._name_of(session, checker_id) or ""
                return LookIn(patient, checker, checker_id == helper_id, False)
            me = await self._name_of(session, helper_id) or ""
            view = await self._dose_view(session, ctx, occ)
            can_give = ctx.circle.helpers_mark_given
            await self._edit_alerts(
                session,
                ctx,
                occ,
                texts.dose_someone_checking(view, me),
                None,
                key_suffix="checking",
                buttons=keyboards.dose_give(occ.id) if can_give else (),
            )
            await self._edit_lookins(session, occ.id, patient, me, helper_id)
            await self._notifier.send(
                session,
                key=f"dose:{occ.id}:checking",
                chat_id=ctx.patient.id,
                message=OutMessage(texts.dose_checking_to_patient(me)),
                kind="dose.checking",
                priority=Priority.URGENT,
                circle_id=ctx.circle.id,
            )
            log_event(log, "dose.checking", occurrence_id=occ.id, user_id=helper_id)
            return LookIn(patient, me, True, False)

    async def _edit_lookins(
        self,
        session: AsyncSession,
        occurrence_id: int,
        patient: str,
        checker: str,
        skip_helper: int | None,
    ) -> None:
        """Errand helpers asked to look in hear who took it on (still nothing about why)."""
        rows = await session.execute(
            select(OutboxMessage.key, OutboxMessage.chat_id).where(
                OutboxMessage.key.like(f"dose:{occurrence_id}:lookin:%"),
                OutboxMessage.op == "send",
            )
        )
        for key, chat_id in rows.all():
            if chat_id == skip_helper:
                continue
            await self._notifier.edit(
                session,
                key=f"{key}:checking",
                ref_key=key,
                message=OutMessage(texts.someone_checking(patient, checker)),
                kind="dose.lookin_update",
            )

    async def _settle_lookins(self, session: AsyncSession, ctx: _Ctx, occ: DoseOccurrence) -> None:
        """The dose was answered after all: look-in requests stop asking (still saying
        nothing about medication), so nobody sets out for nothing."""
        rows = await session.execute(
            select(OutboxMessage.key).where(
                OutboxMessage.key.like(f"dose:{occ.id}:lookin:%"), OutboxMessage.op == "send"
            )
        )
        for (key,) in rows.all():
            await self._notifier.edit(
                session,
                key=f"{key}:settled",
                ref_key=key,
                message=OutMessage(texts.lookin_settled(display_name(ctx.patient))),
                kind="dose.lookin_update",
            )

    # --- time zone ---------------------------------------------------------------------------

    async def timezone_changed(self, session: AsyncSession, user_id: int) -> None:
        """Move the patient's future reminders to the same local times in their new zone."""
        circle_id = await patient_circle_id(session, user_id)
        if circle_id is None:
            return
        zone = await session.scalar(select(User.timezone).where(User.id == user_id))
        if zone is None:
            return
        meds = await session.scalars(
            select(Medication).where(
                Medication.circle_id == circle_id,
                Medication.deleted_at.is_(None),
                Medication.paused.is_(False),
                Medication.kind != AS_NEEDED,
            )
        )
        now = self._clock.now()
        for med in meds:
            med.next_due_at = await self._next_free_slot(session, med, zone, now)
        after_commit(session, self._wake)
        log_event(log, "meds.timezone_moved", circle_id=circle_id)

    async def _next_free_slot(
        self, session: AsyncSession, med: Medication, zone: str, after: dt.datetime
    ) -> dt.datetime | None:
        """The next slot after `after` whose local date and time has not had its dose yet
        (so moving zones or changing times never repeats today's 08:00 dose)."""
        schedule = self._schedule(med)
        if schedule.as_needed or med.paused:
            return None
        slot = parse.next_slot(schedule.times, zone, after)
        for _ in range(64):
            if slot is None:
                return None
            exists = await session.scalar(
                select(DoseOccurrence.id).where(
                    DoseOccurrence.medication_id == med.id, DoseOccurrence.slot == slot.key
                )
            )
            if exists is None:
                return slot.at
            slot = parse.next_slot(schedule.times, zone, slot.at)
        return None

    # --- adding a medication: the walk-through ---------------------------------------------

    async def start_add(self, user_id: int, circle_id: int | None = None) -> AddPrompt:
        """Begin /addmed: for the patient themselves, or a helper the patient allowed."""
        async with self._db.transaction() as session:
            if circle_id is None:
                circle_id = await patient_circle_id(session, user_id)
            if circle_id is None:
                choices = await self._managed_circles(session, user_id)
                if len(choices) != 1:
                    return AddPrompt("choose", "", False, {}, tuple(choices))
                circle_id = choices[0][0]
            ctx_circle, patient, for_patient = await self._manage_circle(
                session, user_id, circle_id
            )
        draft: dict[str, Any] = {"c": ctx_circle.id, "step": "name"}
        await self._circles.set_awaiting(user_id, Awaiting.ADD_MED, draft)
        return AddPrompt("name", display_name(patient), for_patient, draft)

    async def add_answer(self, user_id: int, text: str) -> AddPrompt:
        """The answer typed for the current step; a bad answer leaves the step as it was."""
        draft, rev = await self._draft(user_id, Awaiting.ADD_MED)
        step = draft.get("step")
        if step == "name":
            name = parse.parse_name(text)
            async with self._db.transaction() as session:
                await self._manage_circle(session, user_id, draft["c"])
                await self._refuse_duplicate(session, draft["c"], name)
            draft["name"] = name
        elif step == "dose":
            draft["dose"] = parse.parse_dose(text)
        elif step == "times":
            schedule = parse.parse_schedule(text)
            draft.update(
                kind=schedule.kind, times=schedule.time_strings(), every=schedule.every_hours
            )
        elif step == "note":
            draft["note"] = parse.parse_note(text)
        elif step == "max":
            draft["max"] = parse.parse_max_per_day(text)
        elif step == "gap":
            draft["gap"] = parse.parse_min_hours(text)
        elif step != "confirm":
            raise StaleAction()
        return await self._advance(user_id, draft, step, rev)

    async def add_skip(self, user_id: int) -> AddPrompt:
        """Skip an optional step (note, the label's maximum, the minimum gap)."""
        draft, rev = await self._draft(user_id, Awaiting.ADD_MED)
        step = draft.get("step")
        if step not in OPTIONAL_STEPS:
            raise StaleAction()
        draft[step] = None
        return await self._advance(user_id, draft, step, rev)

    async def add_as_needed(self, user_id: int) -> AddPrompt:
        draft, _rev = await self._draft(user_id, Awaiting.ADD_MED)
        if draft.get("step") != "times":
            raise StaleAction()
        return await self.add_answer(user_id, "as needed")

    async def add_save(self, user_id: int) -> MedDetail:
        draft, rev = await self._draft(user_id, Awaiting.ADD_MED)
        if draft.get("step") != "confirm":
            raise StaleAction()
        schedule = parse.schedule_from_stored(
            draft["kind"], draft.get("times", []), draft.get("every")
        )
        view = await self._create(
            user_id,
            draft["c"],
            name=parse.parse_name(draft["name"]),
            dose=parse.parse_dose(draft["dose"]),
            schedule=schedule,
            note=draft.get("note"),
            max_per_24h=draft.get("max"),
            min_hours=draft.get("gap"),
        )
        await self._end_flow(user_id, rev)
        return view

    async def _end_flow(self, user_id: int, rev: int) -> None:
        """Close the flow that just finished, unless a newer one has started since."""
        with contextlib.suppress(FlowMoved):
            await self._circles.advance_flow(user_id, rev, None)

    async def add_cancel(self, user_id: int) -> None:
        standing = await self._circles.standing(user_id)
        if standing.awaiting in (Awaiting.ADD_MED, Awaiting.MED_EDIT, Awaiting.DOSE_TIME):
            await self._circles.set_awaiting(user_id, None)

    async def add_line(self, user_id: int, text: str) -> MedDetail:
        """`/addmed Medicine A | 1 tablet | 08:00, 20:00 [| with food] [| max 4] [| gap 6h]`:
        saved at once."""
        line = parse.parse_one_line(text)
        async with self._db.transaction() as session:
            circle_id = await patient_circle_id(session, user_id)
            if circle_id is None:
                choices = await self._managed_circles(session, user_id)
                if len(choices) != 1:
                    raise MedInputError("which_patient")
                circle_id = choices[0][0]
        return await self._create(
            user_id,
            circle_id,
            name=line.name,
            dose=line.dose,
            schedule=line.schedule,
            note=line.note,
            max_per_24h=line.max_per_24h,
            min_hours=line.min_hours,
        )

    async def _advance(self, user_id: int, draft: dict[str, Any], step: str, rev: int) -> AddPrompt:
        index = ADD_STEPS.index(step)
        following = ADD_STEPS[min(index + 1, len(ADD_STEPS) - 1)]
        draft["step"] = following
        await self._circles.advance_flow(user_id, rev, Awaiting.ADD_MED, draft)
        async with self._db.transaction() as session:
            _circle, patient, for_patient = await self._manage_circle(session, user_id, draft["c"])
        return AddPrompt(following, display_name(patient), for_patient, draft)

    async def _draft(self, user_id: int, awaiting: Awaiting) -> tuple[dict[str, Any], int]:
        """The open flow's answers so far, and its revision (to write the next step only if
        no other answer moved it meanwhile)."""
        standing = await self._circles.standing(user_id)
        if standing.awaiting != awaiting or not standing.draft:
            raise StaleAction()
        return dict(standing.draft), standing.flow_rev

    async def _create(
        self,
        user_id: int,
        circle_id: int,
        *,
        name: str,
        dose: str,
        schedule: Schedule,
        note: str | None,
        max_per_24h: int | None,
        min_hours: float | None,
    ) -> MedDetail:
        now = self._clock.now()
        try:
            async with self._db.transaction() as session:
                circle, patient, for_patient = await self._manage_circle(
                    session, user_id, circle_id
                )
                await self._refuse_duplicate(session, circle.id, name)
                if not schedule.as_needed and patient.timezone is None:
                    raise NeedTimezone()
                med = Medication(
                    circle_id=circle.id,
                    name=name,
                    name_key=parse.name_key(name),
                    dose=dose,
                    note=note,
                    kind=schedule.kind,
                    times=schedule.time_strings(),
                    every_hours=schedule.every_hours,
                    max_per_24h=max_per_24h,
                    min_hours_between=min_hours,
                    paused=False,
                    created_by=user_id,
                    created_at=now,
                    updated_at=now,
                )
                if not schedule.as_needed:
                    assert patient.timezone is not None
                    slot = parse.next_slot(schedule.times, patient.timezone, now)
                    med.next_due_at = slot.at if slot else None
                session.add(med)
                await session.flush()
                ctx = _Ctx(med, circle, patient)
                if not for_patient:
                    await self._tell_patient(session, ctx, user_id, "added")
                after_commit(session, self._wake)
                log_event(log, "med.added", medication_id=med.id, circle_id=circle.id)
                view = await self._view(session, ctx)
                reach = await self._reach(session, circle)
                return MedDetail(view, display_name(patient), for_patient, True, reach)
        except IntegrityError:
            raise DuplicateMedication(name) from None

    async def _refuse_duplicate(self, session: AsyncSession, circle_id: int, name: str) -> None:
        existing = await session.scalar(
            select(Medication.name).where(
                Medication.circle_id == circle_id, Medication.name_key == parse.name_key(name)
            )
        )
        if existing is not None:
            raise DuplicateMedication(existing)

    # --- the list, and changing a medication ------------------------------------------------

    async def overview(self, user_id: int) -> list[MedList]:
        """/meds: the patient's own list and, for close family, the lists of those they help."""
        async with self._db.transaction() as session:
            circle_ids: list[int] = []
            own = await patient_circle_id(session, user_id)
            if own is not None:
                circle_ids.append(own)
            memberships = await session.scalars(
                select(Membership).where(
                    Membership.user_id == user_id,
                    Membership.status == MemberStatus.ACTIVE,
                    Membership.role == Role.HELPER,
                )
            )
            errand_only = False
            for membership in memberships:
                if membership.access == Access.CLOSE:
                    circle_ids.append(membership.circle_id)
                else:
                    errand_only = True
            if not circle_ids:
                if errand_only:
                    raise MedsPrivate()
                raise NotRegistered()
            return [await self._list(session, user_id, cid) for cid in circle_ids]

    async def circle_list(self, user_id: int, circle_id: int) -> MedList:
        """One circle's list (the "Back" button of a medication)."""
        async with self._db.transaction() as session:
            return await self._list(session, user_id, circle_id)

    async def medication(self, user_id: int, med_id: int) -> MedDetail:
        async with self._db.transaction() as session:
            ctx = await self._ctx(session, med_id)
            if ctx.med.deleted_at is not None:
                raise MedicationGone()
            return await self._detail(session, user_id, ctx)

    async def managed(self, user_id: int, med_id: int) -> MedDetail:
        """A medication about to be changed (its alert choices, "Delete?"): only for someone
        who may manage it; anyone else holds a button that was never theirs."""
        detail = await self.medication(user_id, med_id)
        if not detail.can_manage:
            raise StaleAction()
        return detail

    async def set_paused(self, user_id: int, med_id: int, paused: bool) -> MedDetail:
        async with self._db.transaction() as session:
            ctx, for_patient = await self._editable(session, user_id, med_id)
            med = ctx.med
            if med.paused != paused:
                med.paused = paused
                med.updated_at = self._clock.now()
                med.next_due_at = (
                    None
                    if paused
                    else await self._next_free_slot(session, med, ctx.zone, self._clock.now())
                )
                if paused:
                    await self._stop_chasing(session, med.id)
                if not for_patient:
                    change = "paused" if paused else "resumed"
                    await self._tell_patient(session, ctx, user_id, change)
                after_commit(session, self._wake)
                log_event(log, "med.paused" if paused else "med.resumed", medication_id=med.id)
            return await self._detail(session, user_id, ctx)

    async def _stop_chasing(self, session: AsyncSession, med_id: int) -> None:
        """Paused, or its times changed: a reminder still waiting gets no nudge and raises
        no family alert (the doctor may have said stop). It can still be answered."""
        await session.execute(
            update(DoseOccurrence)
            .where(
                DoseOccurrence.medication_id == med_id,
                DoseOccurrence.state.in_([s.value for s in rules.WAITING]),
            )
            .values(next_action_at=None, version=DoseOccurrence.version + 1)
            .execution_options(synchronize_session=False)
        )

    async def set_alert_minutes(self, user_id: int, med_id: int, minutes: int | None) -> MedDetail:
        """How long before close family hears about an unconfirmed dose (None: the default)."""
        if minutes is not None and minutes not in ALERT_CHOICES:
            raise StaleAction()
        async with self._db.transaction() as session:
            ctx, for_patient = await self._editable(session, user_id, med_id)
            ctx.med.alert_minutes = float(minutes) if minutes is not None else None
            ctx.med.updated_at = self._clock.now()
            if not for_patient:
                await self._tell_patient(session, ctx, user_id, "alert")
            return await self._detail(session, user_id, ctx)

    async def delete(self, user_id: int, med_id: int) -> str:
        """Remove a medication; its open doses are cancelled and old buttons stop working."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            ctx, for_patient = await self._editable(session, user_id, med_id)
            result = await session.execute(
                update(Medication)
                .where(Medication.id == med_id, Medication.deleted_at.is_(None))
                .values(deleted_at=now, name_key=None, next_due_at=None, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                raise MedicationGone()
            open_doses = await session.scalars(
                select(DoseOccurrence).where(
                    DoseOccurrence.medication_id == med_id,
                    DoseOccurrence.state.in_([s.value for s in rules.ANSWERABLE]),
                )
            )
            for occ in list(open_doses):
                await self._cancel(session, ctx, occ)
            if not for_patient:
                await self._tell_patient(session, ctx, user_id, "deleted")
            after_commit(session, self._wake)
            log_event(log, "med.deleted", medication_id=med_id)
            return ctx.med.name

    async def begin_edit(self, user_id: int, med_id: int, field: str) -> EditPrompt:
        """Start changing the times, supply count or label limits; the value is typed next."""
        if field not in EDIT_FIELDS:
            raise StaleAction()
        async with self._db.transaction() as session:
            ctx, _ = await self._editable(session, user_id, med_id)
            view = await self._view(session, ctx)
        await self._circles.set_awaiting(user_id, Awaiting.MED_EDIT, {"m": med_id, "f": field})
        return EditPrompt(field, view)

    async def edit_answer(self, user_id: int, text: str | None) -> EditPrompt:
        """The typed value (None: the Skip button, i.e. no limit) for the field being edited."""
        draft, rev = await self._draft(user_id, Awaiting.MED_EDIT)
        field, med_id = draft.get("f"), draft.get("m")
        if field not in EDIT_FIELDS or not isinstance(med_id, int):
            raise StaleAction()
        if text is None and field not in ("max", "gap"):
            raise StaleAction()
        now = self._clock.now()
        following: str | None = None
        changed = True
        async with self._db.transaction() as session:
            ctx, for_patient = await self._editable(session, user_id, med_id)
            med = ctx.med
            if field == "times":
                assert text is not None
                schedule = parse.parse_schedule(text)
                if not schedule.as_needed and ctx.patient.timezone is None:
                    raise NeedTimezone()
                med.kind = schedule.kind
                med.times = schedule.time_strings()
                med.every_hours = schedule.every_hours
                med.next_due_at = await self._next_free_slot(session, med, ctx.zone, now)
                await self._stop_chasing(session, med.id)
                after_commit(session, self._wake)
            elif field == "supply":
                assert text is not None
                med.supply_on_hand = parse.parse_supply(text)
                med.supply_set_at = now
                med.refill_state = None
                await self._check_supply(session, ctx)
            elif field == "max":
                limit = parse.parse_max_per_day(text) if text is not None else None
                changed = med.max_per_24h != limit
                med.max_per_24h = limit
                following = "gap"
            else:
                gap = parse.parse_min_hours(text) if text is not None else None
                changed = med.min_hours_between != gap
                med.min_hours_between = gap
            if changed:
                med.updated_at = now
                if not for_patient:
                    await self._tell_patient(session, ctx, user_id, field)
            view = await self._view(session, ctx)
        return await self._edit_next(user_id, rev, med_id, following, view, field)

    async def edit_keep(self, user_id: int) -> EditPrompt:
        """The "Keep as it is" button on a label limit: nothing changes; max moves on to gap."""
        draft, rev = await self._draft(user_id, Awaiting.MED_EDIT)
        field, med_id = draft.get("f"), draft.get("m")
        if field not in ("max", "gap") or not isinstance(med_id, int):
            raise StaleAction()
        async with self._db.transaction() as session:
            ctx, _ = await self._editable(session, user_id, med_id)
            view = await self._view(session, ctx)
        following = "gap" if field == "max" else None
        return await self._edit_next(user_id, rev, med_id, following, view, field)

    async def _edit_next(
        self,
        user_id: int,
        rev: int,
        med_id: int,
        following: str | None,
        view: MedView,
        saved: str,
    ) -> EditPrompt:
        step = {"m": med_id, "f": following} if following is not None else None
        await self._circles.advance_flow(user_id, rev, Awaiting.MED_EDIT if step else None, step)
        return EditPrompt(following, view, saved)

    # --- doses: the patient's answers -------------------------------------------------------

    async def take(
        self,
        user_id: int,
        occurrence_id: int,
        *,
        at: dt.datetime | None = None,
        confirmed: bool = False,
        warned_at: dt.datetime | None = None,
        message_id: int | None = None,
    ) -> DoseOutcome:
        """The patient's "Taken" (optionally back-dated to `at`). `confirmed` with the time
        the warning was shown (`warned_at`) is "Log it anyway" (see `_confirms`)."""
        now = self._clock.now()
        if at is not None and at > now:
            raise MedInputError("time_future")
        async with self._db.transaction() as session:
            outcome = await self._take(
                session,
                user_id,
                occurrence_id,
                at or now,
                (confirmed, warned_at),
                message_id,
                by_patient=True,
            )
            if outcome.dose is not None:
                # A typed time that ended in "Log it anyway" is answered too.
                await self._circles.end_flow_about(
                    session, user_id, Awaiting.DOSE_TIME, "o", occurrence_id
                )
            return outcome

    async def give(
        self,
        helper_id: int,
        occurrence_id: int,
        *,
        confirmed: bool = False,
        warned_at: dt.datetime | None = None,
        message_id: int | None = None,
    ) -> DoseOutcome:
        """A close-family helper at the bedside marks the dose as given."""
        async with self._db.transaction() as session:
            return await self._take(
                session,
                helper_id,
                occurrence_id,
                self._clock.now(),
                (confirmed, warned_at),
                message_id,
                by_patient=False,
            )

    async def _take(
        self,
        session: AsyncSession,
        user_id: int,
        occurrence_id: int,
        taken_at: dt.datetime,
        confirmed: Confirmation,
        message_id: int | None,
        *,
        by_patient: bool,
        request_key: str | None = None,
    ) -> DoseOutcome:
        """Resolve one scheduled dose (Taken, /took, "Mark as given", a typed time), also
        after the family was alerted; a second answer is refused, saying who and when."""
        now = self._clock.now()
        for _ in range(3):
            ctx, occ = await self._dose(session, occurrence_id)
            if by_patient:
                await self._require_patient_of(session, user_id, ctx)
            else:
                await self._require_giver(session, user_id, ctx)
            await self._lock_medication(session, ctx.med.id)
            await self._require_answerable(session, user_id, ctx, occ)
            warning = await self._dose_warning(session, ctx, user_id, taken_at, occ)
            if warning is not None and not self._confirms(confirmed, warning):
                return DoseOutcome(warning=warning)
            was_alerted = occ.alerted_at is not None
            late = occ.late or (occ.alert_at is not None and taken_at > occ.alert_at)
            extra: dict[str, Any] = {"request_key": request_key} if request_key else {}
            if await self._transition(
                session,
                occ,
                DoseEvent.TAKE,
                taken_at=taken_at,
                recorded_at=now,
                recorded_by=user_id,
                late=late,
                past_warning=warning is not None,
                next_action_at=None,
                snoozed_until=None,
                **extra,
            ):
                break
        else:
            raise StaleAction()
        view = await self._dose_view(session, ctx, occ)
        final = texts.dose_done(view)
        pressed = message_id if by_patient else None
        await self._edit_patient_messages(session, occ, final, pressed)
        if was_alerted:
            await self._edit_alerts(
                session, ctx, occ, texts.dose_resolved(view), None if by_patient else user_id
            )
            await self._settle_lookins(session, ctx, occ)
        if not by_patient:
            await self._notifier.send(
                session,
                key=f"dose:{occ.id}:given",
                chat_id=ctx.patient.id,
                message=OutMessage(texts.dose_given_to_patient(view)),
                kind="dose.given",
                priority=Priority.URGENT,
                circle_id=ctx.circle.id,
            )
        await self._use_supply(session, ctx)
        log_event(log, "dose.taken", occurrence_id=occ.id, by_patient=by_patient, late=late)
        return DoseOutcome(dose=view)

    async def snooze(
        self, user_id: int, occurrence_id: int, minutes: int, *, message_id: int | None = None
    ) -> DoseOutcome:
        if minutes not in SNOOZE_CHOICES:
            raise StaleAction()
        now = self._clock.now()
        async with self._db.transaction() as session:
            for _ in range(3):
                ctx, occ = await self._dose(session, occurrence_id)
                await self._require_patient_of(session, user_id, ctx)
                await self._require_answerable(session, user_id, ctx, occ)
                if occ.state not in rules.WAITING or occ.alert_at is None:
                    raise DoseNotOpen()
                until = now + dt.timedelta(minutes=minutes)
                if await self._transition(
                    session,
                    occ,
                    DoseEvent.SNOOZE,
                    snoozed_until=until,
                    next_action_at=min(until, occ.alert_at),
                ):
                    break
            else:
                raise StaleAction()
            after_commit(session, self._wake)
            log_event(log, "dose.snoozed", occurrence_id=occ.id, minutes=minutes)
            return DoseOutcome(dose=await self._dose_view(session, ctx, occ))

    async def skip(
        self, user_id: int, occurrence_id: int, *, message_id: int | None = None
    ) -> DoseOutcome:
        now = self._clock.now()
        async with self._db.transaction() as session:
            for _ in range(3):
                ctx, occ = await self._dose(session, occurrence_id)
                await self._require_patient_of(session, user_id, ctx)
                await self._require_answerable(session, user_id, ctx, occ)
                was_alerted = occ.alerted_at is not None
                if await self._transition(
                    session,
                    occ,
                    DoseEvent.SKIP,
                    recorded_at=now,
                    recorded_by=user_id,
                    next_action_at=None,
                    snoozed_until=None,
                ):
                    break
            else:
                raise StaleAction()
            view = await self._dose_view(session, ctx, occ)
            await self._edit_patient_messages(session, occ, texts.dose_done(view), message_id)
            if was_alerted:
                await self._edit_alerts(session, ctx, occ, texts.dose_resolved(view), None)
                await self._settle_lookins(session, ctx, occ)
            log_event(log, "dose.skipped", occurrence_id=occ.id)
            return DoseOutcome(dose=view)

    async def reminder(self, user_id: int, occurrence_id: int) -> DoseView:
        """The dose as it stands (to show its reminder again after "Not now")."""
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            await self._require_patient_of(session, user_id, ctx)
            await self._require_answerable(session, user_id, ctx, occ)
            return await self._dose_view(session, ctx, occ)

    async def not_now(self, user_id: int, occurrence_id: int) -> DoseView:
        """ "Not now" to a warning: nothing logged; a typed-time question about this dose
        is closed too (the next words typed are not a time for it)."""
        view = await self.reminder(user_id, occurrence_id)
        async with self._db.transaction() as session:
            await self._circles.end_flow_about(
                session, user_id, Awaiting.DOSE_TIME, "o", occurrence_id
            )
        return view

    async def begin_take_at(self, user_id: int, occurrence_id: int) -> DoseView:
        """ "I took it at …": wait for the time to be typed."""
        view = await self.reminder(user_id, occurrence_id)
        await self._circles.set_awaiting(user_id, Awaiting.DOSE_TIME, {"o": occurrence_id})
        return view

    async def take_typed_time(self, user_id: int, text: str) -> tuple[DoseOutcome, int]:
        """The time typed after "I took it at …"; returns the outcome and the dose's id."""
        draft, rev = await self._draft(user_id, Awaiting.DOSE_TIME)
        occurrence_id = draft.get("o")
        if not isinstance(occurrence_id, int):
            raise StaleAction()
        at = await self._typed_instant(user_id, occurrence_id, text)
        outcome = await self.take(user_id, occurrence_id, at=at)
        if outcome.dose is not None:
            await self._end_flow(user_id, rev)
        return outcome, occurrence_id

    async def _typed_instant(self, user_id: int, occurrence_id: int, text: str) -> dt.datetime:
        # "08:10", "at 8:10 am" or "I took it at 08:10": the time is what follows the last "at".
        cleaned = parse.clean(text)
        _, _, after_at = f" {cleaned}".lower().rpartition(" at ")
        value = parse_time_of_day(after_at or cleaned)
        if value is None:
            if cleaned.isdigit() and int(cleaned) <= 24:
                raise MedInputError("time_bare_hour", cleaned)
            raise MedInputError("time_bad", cleaned[:20])
        now = self._clock.now()
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            await self._require_patient_of(session, user_id, ctx)
        day = local_date(occ.due_at, ctx.zone)
        candidates = [
            local_instant(day + dt.timedelta(days=d), value, ctx.zone) for d in (-1, 0, 1)
        ]
        # A time that has happened, and not before the dose was due (an hour early at most):
        # "00:30" for a 23:00 dose is the next day, "21:00" for a missed 08:00 one is tonight,
        # not the evening before it was due. Only a time earlier than that reads as taken
        # early, the nearest such one.
        # Half a day early is as far back as a reading goes ("06:00" for an 08:00 dose is
        # that morning; "13:00" typed at noon for an 11:00 dose is not yesterday's).
        past = [c for c in candidates if occ.due_at - TYPED_EARLIEST <= c <= now]
        if not past:
            raise MedInputError("time_future")
        after_due = [c for c in past if c >= occ.due_at - parse.EARLY]
        return min(after_due) if after_due else max(past)

    # --- doses: helpers ---------------------------------------------------------------------

    async def check_on(
        self, helper_id: int, occurrence_id: int, *, message_id: int | None = None
    ) -> CheckOn:
        """ "I'll check on them": the first helper to say so is the one; the others are told."""
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            role = await self._role(session, helper_id, ctx.circle)
            if role != Access.CLOSE:
                raise MedsPrivate() if role == Access.ERRAND else StaleAction()
            view = await self._dose_view(session, ctx, occ)
            patient = display_name(ctx.patient)
            can_give = ctx.circle.helpers_mark_given
            if occ.state != DoseState.MISSED:
                checker = await self._name_of(session, occ.checker_id) or ""
                return CheckOn(patient, checker, occ.checker_id == helper_id, True, False, view)
            result = await session.execute(
                update(DoseOccurrence)
                .where(DoseOccurrence.id == occ.id, DoseOccurrence.checker_id.is_(None))
                .values(checker_id=helper_id)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                checker_id = await session.scalar(
                    select(DoseOccurrence.checker_id).where(DoseOccurrence.id == occ.id)
                )
                checker = await self._name_of(session, checker_id) or ""
                return CheckOn(patient, checker, checker_id == helper_id, False, can_give, view)
            me = await self._name_of(session, helper_id) or ""
            await self._edit_alerts(
                session,
                ctx,
                occ,
                texts.dose_someone_checking(view, me),
                helper_id,
                key_suffix="checking",
                buttons=keyboards.dose_give(occ.id) if can_give else (),
            )
            await self._edit_lookins(session, occ.id, patient, me, None)
            await self._notifier.send(
                session,
                key=f"dose:{occ.id}:checking",
                chat_id=ctx.patient.id,
                message=OutMessage(texts.dose_checking_to_patient(me)),
                kind="dose.checking",
                priority=Priority.URGENT,
                circle_id=ctx.circle.id,
            )
            log_event(log, "dose.checking", occurrence_id=occ.id, user_id=helper_id)
            return CheckOn(patient, me, True, False, can_give, view)

    # --- as needed and extra doses ---------------------------------------------------------

    async def took(
        self,
        user_id: int,
        *,
        name: str | None = None,
        med_id: int | None = None,
        request_key: str,
        confirmed: bool = False,
        warned_at: dt.datetime | None = None,
    ) -> DoseOutcome:
        """/took <name>: the dose of the scheduled time it stands for (see
        `bot.domain.meds.slot_for`) — answered late if it was waiting or missed, early if it
        is due within the hour — else an extra (as-needed) dose. A second dose for one time,
        or one past the label's limits, is asked about first. `request_key` makes a resent
        update log it once."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            circle_id = await self._own_circle(session, user_id)
            ctx = await self._find(session, circle_id, name=name, med_id=med_id)
            await self._lock_medication(session, ctx.med.id)
            for _ in range(3):
                existing = await session.scalar(
                    select(DoseOccurrence).where(DoseOccurrence.request_key == request_key)
                )
                if existing is not None:
                    view = await self._dose_view(session, ctx, existing)
                    return DoseOutcome(dose=view, already_logged=True)
                slot = self._slot_for(ctx, now)
                occ = await self._slot_dose(session, ctx.med.id, slot)
                if occ is not None and occ.state in rules.ANSWERABLE:
                    return await self._take(
                        session,
                        user_id,
                        occ.id,
                        now,
                        (confirmed, warned_at),
                        None,
                        by_patient=True,
                        request_key=request_key,
                    )
                warning = await self._dose_warning(session, ctx, user_id, now, None)
                if warning is not None and not self._confirms((confirmed, warned_at), warning):
                    return DoseOutcome(warning=warning)
                early = slot if occ is None and self._not_yet_reminded(ctx.med, slot) else None
                new_id = await self._insert_taken(
                    session, ctx, user_id, now, request_key, early, warning is not None
                )
                if new_id is not None:
                    break
                # The scheduler or a twin request made that dose just now: look again.
            else:
                raise StaleAction()
            _ctx, occ = await self._dose(session, new_id)
            await self._use_supply(session, ctx)
            log_event(
                log,
                "dose.early" if early else "dose.extra",
                occurrence_id=new_id,
                medication_id=ctx.med.id,
                past_warning=occ.past_warning,
            )
            after = await self._label_check(session, ctx.med, now)
            return DoseOutcome(dose=await self._dose_view(session, ctx, occ), check=after)

    async def took_named(self, user_id: int, name: str, message_id: int) -> DoseOutcome:
        """/took <name>, in the message `message_id`."""
        key = request_key(Request.TOOK, user_id, message_id)
        return await self.took(user_id, name=name, request_key=key)

    async def log_pressed(
        self,
        user_id: int,
        med_id: int,
        message_id: int | None,
        *,
        confirmed: bool = False,
        warned_at: dt.datetime | None = None,
    ) -> DoseOutcome:
        """ "Log a dose" (or, `confirmed`, "Log it anyway") on the message `message_id`."""
        kind = Request.LOG_ANYWAY if confirmed else Request.LOG
        key = request_key(kind, user_id, message_id)
        return await self.took(
            user_id, med_id=med_id, request_key=key, confirmed=confirmed, warned_at=warned_at
        )

    def _slot_for(self, ctx: _Ctx, at: dt.datetime) -> Slot | None:
        """The scheduled time a dose at `at` stands for; None for as-needed medications."""
        schedule = self._schedule(ctx.med)
        if schedule.as_needed or not schedule.times:
            return None
        return parse.slot_for(schedule.times, ctx.zone, at)

    def _owner(self, ctx: _Ctx, dose: DoseOccurrence) -> str | None:
        """The scheduled time a taken dose stands for: its own slot while that time is still
        on the schedule; otherwise (an extra dose, or the times changed) the one its time
        falls in."""
        schedule = self._schedule(ctx.med)
        if dose.slot and dose.slot.rsplit("T", 1)[-1] in schedule.time_strings():
            return dose.slot
        if dose.taken_at is None:
            return dose.slot
        mapped = self._slot_for(ctx, dose.taken_at)
        return mapped.key if mapped is not None else dose.slot

    def _times_of(self, ctx: _Ctx, dose: DoseOccurrence) -> set[str]:
        """Every scheduled time a taken dose stands for: the one it was recorded for, and
        the one whose window it was taken in."""
        assert dose.taken_at is not None
        window = self._slot_for(ctx, dose.taken_at)
        return {k for k in (self._owner(ctx, dose), window and window.key) if k}

    async def _slot_dose(
        self, session: AsyncSession, med_id: int, slot: Slot | None
    ) -> DoseOccurrence | None:
        if slot is None:
            return None
        found: DoseOccurrence | None = await session.scalar(
            select(DoseOccurrence)
            .where(DoseOccurrence.medication_id == med_id, DoseOccurrence.slot == slot.key)
            .execution_options(populate_existing=True)
        )
        return found

    def _not_yet_reminded(self, med: Medication, slot: Slot | None) -> bool:
        """The scheduler has yet to reach this slot, so logging it now stops its reminder."""
        if slot is None or med.next_due_at is None or med.paused:
            return False
        return slot.at >= med.next_due_at

    async def _insert_taken(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        user_id: int,
        now: dt.datetime,
        request_key: str,
        early: Slot | None,
        past_warning: bool,
    ) -> int | None:
        """Log a dose taken now: the scheduled dose of `early` (its reminder then never goes
        out) or an extra one. None if a twin row got there first."""
        statement = (
            _insert(session)(DoseOccurrence)
            .values(
                medication_id=ctx.med.id,
                slot=early.key if early else None,
                request_key=request_key,
                scheduled=early is not None,
                due_at=early.at if early else now,
                state=DoseState.TAKEN,
                version=0,
                resends=0,
                taken_at=now,
                recorded_at=now,
                recorded_by=user_id,
                late=False,
                past_warning=past_warning,
            )
            .on_conflict_do_nothing()
            .returning(DoseOccurrence.id)
        )
        new_id: int | None = (await session.execute(statement)).scalar_one_or_none()
        return new_id

    async def can_i_take(self, user_id: int, med_id: int) -> AsNeededAnswer:
        """ "Can I take another?": the log against the label — facts, never advice."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            ctx = await self._ctx(session, med_id)
            if ctx.med.deleted_at is not None:
                raise MedicationGone()
            await self._require_view(session, user_id, ctx.circle)
            check = await self._label_check(session, ctx.med, now)
            return AsNeededAnswer(ctx.med.name, ctx.med.dose, check, now, ctx.zone)

    async def took_choices(self, user_id: int) -> list[MedView]:
        """The patient's medications, as-needed first, for a one-tap /took."""
        async with self._db.transaction() as session:
            circle_id = await self._own_circle(session, user_id)
            listing = await self._list(session, user_id, circle_id)
            return sorted(listing.meds, key=lambda m: (not m.as_needed, m.name.casefold()))

    # --- refills ---------------------------------------------------------------------------

    async def request_refill(self, user_id: int, med_id: int) -> RefillPosted:
        """ "Ask helpers to pick up a refill": one pharmacy need, however often it is tapped."""
        if self._refills is None:
            raise RefillUnavailable()
        async with self._db.transaction() as session:
            ctx = await self._ctx(session, med_id)
            await self._require_patient_of(session, user_id, ctx)
            if ctx.med.deleted_at is not None:
                raise MedicationGone()
            result = await session.execute(
                update(Medication)
                .where(
                    Medication.id == med_id,
                    (Medication.refill_state.is_(None))
                    | (Medication.refill_state.in_(["offered", "declined"])),
                )
                .values(refill_state="requested")
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                raise StaleAction()
            name = ctx.med.name
            deadline = await self._runs_out_at(session, ctx)
        try:
            # The need goes to every helper, errand helpers too: it names no medication.
            need_id = await self._refills.post_need(
                user_id, texts.REFILL_NEED, category="pharmacy", deadline=deadline
            )
        except Exception:
            async with self._db.transaction() as session:
                await session.execute(
                    update(Medication)
                    .where(Medication.id == med_id, Medication.refill_state == "requested")
                    .values(refill_state="offered")
                    .execution_options(synchronize_session=False)
                )
            raise
        log_event(log, "med.refill_requested", medication_id=med_id, need_id=need_id)
        return RefillPosted(need_id, name)

    async def decline_refill(self, user_id: int, med_id: int) -> None:
        async with self._db.transaction() as session:
            ctx = await self._ctx(session, med_id)
            await self._require_patient_of(session, user_id, ctx)
            await session.execute(
                update(Medication)
                .where(Medication.id == med_id, Medication.refill_state == "offered")
                .values(refill_state="declined")
                .execution_options(synchronize_session=False)
            )

    async def _use_supply(self, session: AsyncSession, ctx: _Ctx) -> None:
        med = ctx.med
        result = await session.execute(
            update(Medication)
            .where(Medication.id == med.id, Medication.supply_on_hand > 0)
            .values(supply_on_hand=Medication.supply_on_hand - 1)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            return
        await session.refresh(med)
        await self._check_supply(session, ctx)

    async def _check_supply(self, session: AsyncSession, ctx: _Ctx) -> None:
        """Offer the refill once the forecast says the supply runs out soon; tell close
        family when it has run out."""
        med = ctx.med
        if med.supply_on_hand is None:
            return
        stamp = int((med.supply_set_at or med.created_at).timestamp())
        per_day = await self._per_day(session, med)
        if med.refill_state is None and rules.refill_due(
            med.supply_on_hand, per_day, self._timing.refill_lead_days
        ):
            med.refill_state = "offered"
            left = rules.days_left(med.supply_on_hand, per_day)
            await self._notifier.send(
                session,
                key=f"med:{med.id}:refill:{stamp}",
                chat_id=ctx.patient.id,
                message=OutMessage(
                    texts.refill_offer(med.name, med.supply_on_hand, left),
                    keyboards.refill_offer(med.id, self._refills is not None),
                ),
                kind="med.refill",
                circle_id=ctx.circle.id,
            )
        if med.supply_on_hand == 0:
            patient = display_name(ctx.patient)
            for _m, helper in await active_helpers(session, ctx.circle.id, Access.CLOSE):
                await self._notifier.send(
                    session,
                    key=f"med:{med.id}:empty:{stamp}:{helper.id}",
                    chat_id=helper.id,
                    message=OutMessage(texts.supply_empty_to_family(patient, med.name)),
                    kind="med.empty",
                    circle_id=ctx.circle.id,
                )

    async def _per_day(self, session: AsyncSession, med: Medication) -> float:
        if med.kind != AS_NEEDED:
            return 0.0 if med.paused else float(len(med.times))
        since = self._clock.now() - dt.timedelta(days=7)
        count = await session.scalar(
            select(func.count(DoseOccurrence.id)).where(
                DoseOccurrence.medication_id == med.id,
                DoseOccurrence.state == DoseState.TAKEN,
                DoseOccurrence.taken_at > since,
            )
        )
        return (count or 0) / 7

    async def _runs_out_at(self, session: AsyncSession, ctx: _Ctx) -> dt.datetime | None:
        left = rules.days_left(ctx.med.supply_on_hand, await self._per_day(session, ctx.med))
        if left is None:
            return None
        return self._clock.now() + dt.timedelta(days=left)

    # --- adherence -------------------------------------------------------------------------

    async def adherence(self, user_id: int) -> list[AdherenceReport]:
        """The last 7 days per medication: on time, late, skipped, missed."""
        lists = await self.overview(user_id)
        since = self._clock.now() - dt.timedelta(days=ADHERENCE_DAYS)
        reports = []
        async with self._db.transaction() as session:
            for listing in lists:
                rows = []
                for med in listing.meds:
                    result = await session.execute(
                        select(
                            DoseOccurrence.state,
                            DoseOccurrence.late,
                            func.count(DoseOccurrence.id),
                        )
                        .where(
                            DoseOccurrence.medication_id == med.id,
                            DoseOccurrence.scheduled.is_(True),
                            DoseOccurrence.due_at > since,
                        )
                        .group_by(DoseOccurrence.state, DoseOccurrence.late)
                    )
                    counts = {(state, bool(late)): n for state, late, n in result.all()}
                    rows.append(_adherence_row(med, counts))
                reports.append(
                    AdherenceReport(listing.patient_name, listing.for_patient, tuple(rows))
                )
        return reports

    async def doses_per_day(
        self, circle_id: int, days: Sequence[dt.date]
    ) -> Mapping[dt.date, int] | None:
        """Doses taken on each of these local dates of the patient (for /progress); None if
        the circle has never had a medication."""
        if not days:
            return {}
        async with self._db.transaction() as session:
            any_med = await session.scalar(
                select(Medication.id).where(Medication.circle_id == circle_id).limit(1)
            )
            if any_med is None:
                return None
            found = await circle_and_patient(session, circle_id)
            zone = (found[1].timezone if found else None) or "UTC"
            start = local_instant(min(days), dt.time(0, 0), zone)
            end = local_instant(max(days) + dt.timedelta(days=1), dt.time(0, 0), zone)
            taken = await session.scalars(
                select(DoseOccurrence.taken_at)
                .join(Medication, Medication.id == DoseOccurrence.medication_id)
                .where(
                    Medication.circle_id == circle_id,
                    DoseOccurrence.state == DoseState.TAKEN,
                    DoseOccurrence.taken_at >= start,
                    DoseOccurrence.taken_at < end,
                )
            )
            counts = dict.fromkeys(days, 0)
            for taken_at in taken:
                if taken_at is not None and (day := local_date(taken_at, zone)) in counts:
                    counts[day] += 1
        return counts

    # --- internals: loading and permissions ------------------------------------------------

    async def _ctx(self, session: AsyncSession, med_id: int) -> _Ctx:
        row = (
            await session.execute(
                select(Medication, Circle, User)
                .join(Circle, Circle.id == Medication.circle_id)
                .join(User, User.id == Circle.patient_id)
                .where(Medication.id == med_id)
                .execution_options(populate_existing=True)
            )
        ).one_or_none()
        if row is None:
            raise StaleAction()
        return _Ctx(row[0], row[1], row[2])

    async def _dose(self, session: AsyncSession, occurrence_id: int) -> tuple[_Ctx, DoseOccurrence]:
        occ = (
            await session.scalars(
                select(DoseOccurrence)
                .where(DoseOccurrence.id == occurrence_id)
                .execution_options(populate_existing=True)
            )
        ).one_or_none()
        if occ is None:
            raise StaleAction()
        return await self._ctx(session, occ.medication_id), occ

    async def _find(
        self, session: AsyncSession, circle_id: int, *, name: str | None, med_id: int | None
    ) -> _Ctx:
        active = select(Medication.id, Medication.name, Medication.name_key).where(
            Medication.circle_id == circle_id, Medication.deleted_at.is_(None)
        )
        rows = (await session.execute(active.order_by(Medication.name))).all()
        if med_id is not None:
            if med_id not in {r[0] for r in rows}:
                raise MedicationGone()
            return await self._ctx(session, med_id)
        typed = parse.name_key(name or "")
        exact = [r for r in rows if r[2] == typed]
        starts = [r for r in rows if typed and (r[2] or "").startswith(typed)]
        found = exact or (starts if len(starts) == 1 else [])
        if not found:
            raise UnknownMedication(parse.clean(name or "")[:40], tuple(r[1] for r in rows))
        return await self._ctx(session, found[0][0])

    async def _role(self, session: AsyncSession, user_id: int, circle: Circle) -> str | None:
        """ "patient", "close" or "errand" in this circle; None for anyone else."""
        if circle.patient_id == user_id:
            return Role.PATIENT
        membership = await active_membership(session, circle.id, user_id)
        if membership is None or membership.role != Role.HELPER:
            return None
        return membership.access

    async def _require_view(self, session: AsyncSession, user_id: int, circle: Circle) -> str:
        role = await self._role(session, user_id, circle)
        if role is None:
            raise StaleAction()
        if role == Access.ERRAND:
            raise MedsPrivate()
        return role

    async def _manage_circle(
        self, session: AsyncSession, user_id: int, circle_id: int
    ) -> tuple[Circle, User, bool]:
        """The circle, its patient, and whether the one acting is the patient; refuses
        helpers the patient has not allowed, and errand helpers always."""
        circle = await session.get(Circle, circle_id)
        if circle is None:
            raise StaleAction()
        role = await self._require_view(session, user_id, circle)
        if role != Role.PATIENT and not circle.helpers_manage_meds:
            raise MedsNotAllowed()
        patient = await session.get(User, circle.patient_id)
        assert patient is not None
        return circle, patient, role == Role.PATIENT

    async def _managed_circles(self, session: AsyncSession, user_id: int) -> list[tuple[int, str]]:
        """Circles where this helper may add medications (close family, allowed)."""
        rows = (
            await session.execute(
                select(Circle.id, User)
                .join(Membership, Membership.circle_id == Circle.id)
                .join(User, User.id == Circle.patient_id)
                .where(
                    Membership.user_id == user_id,
                    Membership.status == MemberStatus.ACTIVE,
                    Membership.role == Role.HELPER,
                    Membership.access == Access.CLOSE,
                    Circle.helpers_manage_meds.is_(True),
                )
                .order_by(Membership.joined_at)
            )
        ).all()
        if not rows:
            await self._not_patient(session, user_id)
        return [(cid, display_name(patient)) for cid, patient in rows]

    async def _own_circle(self, session: AsyncSession, user_id: int) -> int:
        """The patient's own circle: doses are logged by the person taking them (helpers
        mark a dose as given instead)."""
        circle_id = await patient_circle_id(session, user_id)
        if circle_id is not None:
            return circle_id
        helping = await session.scalar(
            select(Membership.id).where(
                Membership.user_id == user_id, Membership.status == MemberStatus.ACTIVE
            )
        )
        raise NotPatient() if helping is not None else NotRegistered()

    async def _not_patient(self, session: AsyncSession, user_id: int) -> None:
        """Raise the right refusal for someone who is not a patient here."""
        memberships = list(
            await session.scalars(
                select(Membership).where(
                    Membership.user_id == user_id,
                    Membership.status == MemberStatus.ACTIVE,
                    Membership.role == Role.HELPER,
                )
            )
        )
        if not memberships:
            raise NotRegistered()
        if all(m.access == Access.ERRAND for m in memberships):
            raise MedsPrivate()
        if any(m.access == Access.CLOSE for m in memberships):
            raise MedsNotAllowed()
        raise NotPatient()

    async def _editable(
        self, session: AsyncSession, user_id: int, med_id: int
    ) -> tuple[_Ctx, bool]:
        ctx = await self._ctx(session, med_id)
        if ctx.med.deleted_at is not None:
            raise MedicationGone()
        _circle, _patient, for_patient = await self._manage_circle(session, user_id, ctx.circle.id)
        return ctx, for_patient

    async def _require_patient_of(self, session: AsyncSession, user_id: int, ctx: _Ctx) -> None:
        if ctx.circle.patient_id != user_id:
            raise StaleAction()

    async def _require_giver(self, session: AsyncSession, user_id: int, ctx: _Ctx) -> None:
        role = await self._role(session, user_id, ctx.circle)
        if role == Access.ERRAND:
            raise MedsPrivate()
        if role != Access.CLOSE:
            raise StaleAction()
        if not ctx.circle.helpers_mark_given:
            raise GiveNotAllowed()

    async def _require_answerable(
        self, session: AsyncSession, user_id: int, ctx: _Ctx, occ: DoseOccurrence
    ) -> None:
        if occ.state == DoseState.CANCELLED or ctx.med.deleted_at is not None:
            raise MedicationGone()
        if occ.state in (DoseState.TAKEN, DoseState.SKIPPED):
            who = await self._name_of(session, occ.recorded_by)
            raise DoseAlreadyRecorded(
                occ.state,
                who,
                by_self=occ.recorded_by == user_id,
                by_patient=occ.recorded_by in (None, ctx.circle.patient_id),
                at=occ.taken_at or occ.recorded_at,
                zone=ctx.zone,
            )
        if occ.state not in rules.ANSWERABLE:
            raise StaleAction()

    async def _name_of(self, session: AsyncSession, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id == FORMER_HELPER_ID:  # --- privacy: a helper who deleted their data ---
            return texts.FORMER_HELPER
        user = await session.get(User, user_id)
        return display_name(user) if user else None

    # --- internals: state changes ----------------------------------------------------------

    async def _transition(
        self, session: AsyncSession, occ: DoseOccurrence, event: DoseEvent, **values: Any
    ) -> bool:
        """One conditional update: this caller wins only if nobody changed the dose since it
        was read."""
        new = rules.transition(occ.state, event)
        if new is None:
            return False
        return await self._bump(session, occ, state=new, **values)

    async def _bump(self, session: AsyncSession, occ: DoseOccurrence, **values: Any) -> bool:
        result = await session.execute(
            update(DoseOccurrence)
            .where(
                DoseOccurrence.id == occ.id,
                DoseOccurrence.version == occ.version,
                DoseOccurrence.state == occ.state,
            )
            .values(version=occ.version + 1, **values)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            return False
        await session.refresh(occ)
        return True

    async def _cancel(self, session: AsyncSession, ctx: _Ctx, occ: DoseOccurrence) -> None:
        was_alerted = occ.alerted_at is not None
        if not await self._transition(session, occ, DoseEvent.CANCEL, next_action_at=None):
            return
        keys = _patient_keys(occ)
        for key in keys:
            await self._notifier.cancel(session, key)
        view = await self._dose_view(session, ctx, occ)
        await self._edit_patient_messages(session, occ, texts.dose_removed(view), None)
        if was_alerted:
            await self._edit_alerts(session, ctx, occ, texts.dose_removed(view), None)
            await self._settle_lookins(session, ctx, occ)

    async def _edit_patient_messages(
        self, session: AsyncSession, occ: DoseOccurrence, text: str, skip_message_id: int | None
    ) -> None:
        """Show the outcome on every reminder of this dose (not the one the button was on:
        the handler edits that one at once)."""
        keys = (
            await session.scalars(
                select(OutboxMessage.key).where(
                    OutboxMessage.key.in_(_patient_keys(occ)), OutboxMessage.op == "send"
                )
            )
        ).all()
        for key in keys:
            await self._notifier.edit(
                session,
                key=f"{key}:v{occ.version}",
                ref_key=key,
                message=OutMessage(text),
                kind="dose.update",
                skip_message_id=skip_message_id,
            )

    async def _edit_alerts(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        occ: DoseOccurrence,
        text: str,
        skip_helper: int | None,
        *,
        key_suffix: str | None = None,
        buttons: keyboards.Rows = (),
    ) -> None:
        """Update the family alert of every helper who is still close family."""
        suffix = key_suffix or f"v{occ.version}"
        for _m, helper in await active_helpers(session, ctx.circle.id, Access.CLOSE):
            if helper.id == skip_helper:
                continue
            ref = f"dose:{occ.id}:alert:{helper.id}"
            await self._notifier.edit(
                session,
                key=f"{ref}:{suffix}",
                ref_key=ref,
                message=OutMessage(text, buttons),
                kind="dose.update",
            )

    async def _tell_patient(
        self, session: AsyncSession, ctx: _Ctx, helper_id: int, change: str
    ) -> None:
        """A helper changed the patient's medications: the patient always hears of it."""
        helper = await self._name_of(session, helper_id) or ""
        stamp = int(self._clock.now().timestamp() * 1000)
        view = await self._view(session, ctx)
        await self._notifier.send(
            session,
            key=f"med:{ctx.med.id}:changed:{change}:{helper_id}:{stamp}",
            chat_id=ctx.patient.id,
            message=OutMessage(texts.med_changed_by_helper(helper, change, view)),
            kind="med.changed",
            circle_id=ctx.circle.id,
        )

    # --- internals: views ------------------------------------------------------------------

    def _schedule(self, med: Medication) -> Schedule:
        return parse.schedule_from_stored(med.kind, list(med.times or []), med.every_hours)

    def _alert_delta(self, med: Medication) -> dt.timedelta:
        if med.alert_minutes is not None:
            return dt.timedelta(minutes=med.alert_minutes)
        return self._timing.alert

    async def _label_check(
        self, session: AsyncSession, med: Medication, at: dt.datetime
    ) -> LabelCheck:
        """The log around `at` (both sides: a dose may be back-dated) against the label."""
        doses = await self._taken_near(session, med, at, at, None, same_name=True)
        return _check(med, doses, at)

    async def _taken_near(
        self,
        session: AsyncSession,
        med: Medication,
        start: dt.datetime,
        end: dt.datetime,
        exclude: int | None,
        *,
        same_name: bool = False,
    ) -> list[DoseOccurrence]:
        """Doses of this medication taken within `LABEL_REACH` of [start, end]; with
        `same_name`, also those of a deleted medication of the same name in the circle (it
        is the same medicine, deleted and added again)."""
        ids = [med.id]
        if same_name:
            rows = await session.execute(
                select(Medication.id, Medication.name).where(
                    Medication.circle_id == med.circle_id, Medication.deleted_at.is_not(None)
                )
            )
            key = parse.name_key(med.name)
            ids += [other for other, name in rows.all() if parse.name_key(name) == key]
        query = select(DoseOccurrence).where(
            DoseOccurrence.medication_id.in_(ids),
            DoseOccurrence.state == DoseState.TAKEN,
            DoseOccurrence.taken_at > start - LABEL_REACH,
            DoseOccurrence.taken_at < end + LABEL_REACH,
        )
        if exclude is not None:
            query = query.where(DoseOccurrence.id != exclude)
        return list(await session.scalars(query))

    async def _dose_warning(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        user_id: int,
        at: dt.datetime,
        occ: DoseOccurrence | None,
    ) -> DoseWarning | None:
        """What to ask before logging a dose taken at `at` (for `occ`, or a new one): the
        label's limits on both sides of `at`, and any dose already logged for the same
        scheduled time — limits or not (as needed: within `AS_NEEDED_CLOSE` of `at`)."""
        slot = self._slot_for(ctx, at)
        # The times this dose stands for: its own scheduled time, and the one whose window
        # `at` falls in (Taken on an old reminder, minutes after today's dose, is a second
        # dose for today's time too).
        keys = {k for k in (occ.slot if occ is not None else None, slot and slot.key) if k}
        centre = occ.due_at if occ is not None and occ.slot else (slot.at if slot else at)
        exclude = occ.id if occ is not None else None
        doses = await self._taken_near(
            session, ctx.med, min(at, centre), max(at, centre), exclude, same_name=True
        )
        check = _check(ctx.med, doses, at)

        def same_time(dose: DoseOccurrence) -> bool:
            assert dose.taken_at is not None
            if not keys:
                return abs(dose.taken_at - at) < AS_NEEDED_CLOSE
            return bool(keys & self._times_of(ctx, dose))

        same = [d for d in doses if same_time(d)]
        if not same and not check.needs_confirm(at):
            return None
        other = None
        if same:
            nearest = min(same, key=lambda d: abs((d.taken_at or at) - at))
            assert nearest.taken_at is not None
            other = OtherDose(
                at=nearest.taken_at,
                by_name=await self._name_of(session, nearest.recorded_by),
                by_patient=nearest.recorded_by in (None, ctx.circle.patient_id),
                by_self=nearest.recorded_by == user_id,
            )
        recorded = [d.recorded_at for d in doses if d.recorded_at is not None]
        return DoseWarning(
            ctx.med.id,
            exclude,
            ctx.med.name,
            ctx.med.dose,
            check,
            at,
            ctx.zone,
            other,
            shown_at=self._clock.now(),
            last_recorded=max(recorded, default=None),
        )

    def _confirms(self, confirmed: Confirmation, warning: DoseWarning) -> bool:
        """ "Log it anyway" counts only for the log it was shown against: pressed within
        `CONFIRM_FRESH` of the warning, and with no dose recorded since. An old button (a
        warning left on screen while another dose was logged) asks again instead."""
        yes, warned_at = confirmed
        if not yes or warned_at is None:
            return yes
        if self._clock.now() - warned_at > CONFIRM_FRESH:
            return False
        return warning.last_recorded is None or warning.last_recorded <= warned_at

    async def _lock_medication(self, session: AsyncSession, med_id: int) -> None:
        """Doses of one medication are logged one at a time (PostgreSQL: a row lock; SQLite
        already runs one writer at a time), so two people logging at once can't both miss
        the other's dose in the checks."""
        await session.execute(
            select(Medication.id).where(Medication.id == med_id).with_for_update()
        )

    async def _detail(self, session: AsyncSession, user_id: int, ctx: _Ctx) -> MedDetail:
        role = await self._require_view(session, user_id, ctx.circle)
        can_manage = role == Role.PATIENT or ctx.circle.helpers_manage_meds
        view = await self._view(session, ctx)
        return MedDetail(view, display_name(ctx.patient), role == Role.PATIENT, can_manage)

    async def _reach(self, session: AsyncSession, circle: Circle) -> AlertReach:
        """Who would hear about a missed dose if it happened now."""
        people, errand = await look_in_people(session, circle, self._clock.now())
        return alert_reach(people, errand)

    async def _view(self, session: AsyncSession, ctx: _Ctx) -> MedView:
        med = ctx.med
        last = await session.scalar(
            select(func.max(DoseOccurrence.taken_at)).where(
                DoseOccurrence.medication_id == med.id, DoseOccurrence.state == DoseState.TAKEN
            )
        )
        return MedView(
            id=med.id,
            circle_id=med.circle_id,
            name=med.name,
            dose=med.dose,
            note=med.note,
            kind=med.kind,
            times=tuple(med.times or ()),
            every_hours=med.every_hours,
            max_per_24h=med.max_per_24h,
            min_hours_between=med.min_hours_between,
            supply_on_hand=med.supply_on_hand,
            alert_minutes=self._alert_delta(med).total_seconds() / 60,
            custom_alert=med.alert_minutes is not None,
            paused=med.paused,
            next_due_at=med.next_due_at,
            last_taken_at=_aware(last),
            timezone=ctx.zone,
        )

    async def _list(self, session: AsyncSession, user_id: int, circle_id: int) -> MedList:
        circle = await session.get(Circle, circle_id)
        if circle is None:
            raise StaleAction()
        role = await self._require_view(session, user_id, circle)
        patient = await session.get(User, circle.patient_id)
        assert patient is not None
        meds = list(
            await session.scalars(
                select(Medication)
                .where(Medication.circle_id == circle_id, Medication.deleted_at.is_(None))
                .order_by(Medication.created_at, Medication.id)
            )
        )
        views = [await self._view(session, _Ctx(m, circle, patient)) for m in meds]
        open_doses: list[OpenDose] = []
        if role != Role.PATIENT and circle.helpers_mark_given and meds:
            by_id = {m.id: m for m in meds}
            occurrences = await session.scalars(
                select(DoseOccurrence)
                .where(
                    DoseOccurrence.medication_id.in_(list(by_id)),
                    DoseOccurrence.state.in_([s.value for s in rules.ANSWERABLE]),
                    DoseOccurrence.due_at > self._clock.now() - dt.timedelta(hours=24),
                )
                .order_by(DoseOccurrence.due_at)
            )
            zone = patient.timezone or "UTC"
            open_doses = [
                OpenDose(o.id, by_id[o.medication_id].name, _label(o, zone)) for o in occurrences
            ]
        return MedList(
            circle_id=circle.id,
            patient_name=display_name(patient),
            timezone=patient.timezone or "UTC",
            for_patient=role == Role.PATIENT,
            can_manage=role == Role.PATIENT or circle.helpers_manage_meds,
            can_give=role != Role.PATIENT and circle.helpers_mark_given,
            meds=tuple(views),
            open_doses=tuple(open_doses),
            reach=await self._reach(session, circle),
        )

    async def _dose_view(self, session: AsyncSession, ctx: _Ctx, occ: DoseOccurrence) -> DoseView:
        by_name = await self._name_of(session, occ.recorded_by)
        return DoseView(
            occurrence_id=occ.id,
            medication_id=ctx.med.id,
            name=ctx.med.name,
            dose=ctx.med.dose,
            note=ctx.med.note,
            scheduled=occ.scheduled,
            due_at=occ.due_at,
            due_label=_label(occ, ctx.zone),
            state=occ.state,
            taken_at=occ.taken_at,
            snoozed_until=occ.snoozed_until,
            alert_at=occ.alert_at,
            late=occ.late,
            by_name=by_name,
            by_patient=occ.recorded_by in (None, ctx.circle.patient_id),
            patient_name=display_name(ctx.patient),
            timezone=ctx.zone,
        )


# --- small helpers ---------------------------------------------------------------------------


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Aggregates bypass the column type on SQLite: make sure an instant is aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _label(occ: DoseOccurrence, zone: str) -> str:
    """The local time a dose stands for ("08:00"), as scheduled."""
    if occ.slot:
        return occ.slot.rsplit("T", 1)[-1]
    return texts.clock(occ.due_at, zone)


def _check(med: Medication, doses: Sequence[DoseOccurrence], at: dt.datetime) -> LabelCheck:
    times = [d.taken_at for d in doses if d.taken_at is not None]
    return rules.check_label(times, at, med.max_per_24h, med.min_hours_between)


def _patient_keys(occ: DoseOccurrence) -> list[str]:
    """The outbox keys of every message the patient got about this dose."""
    base = f"dose:{occ.id}"
    return [f"{base}:reminder", f"{base}:nudge"] + [
        f"{base}:again:{n}" for n in range(1, occ.resends + 1)
    ]


def _adherence_row(med: MedView, counts: dict[tuple[str, bool], int]) -> AdherenceRow:
    def count(state: str, late: bool | None = None) -> int:
        return sum(
            n for (s, lt), n in counts.items() if s == state and (late is None or lt == late)
        )

    return AdherenceRow(
        name=med.name,
        dose=med.dose,
        on_time=count(DoseState.TAKEN, False),
        late=count(DoseState.TAKEN, True),
        skipped=count(DoseState.SKIPPED),
        missed=count(DoseState.MISSED),
    )
