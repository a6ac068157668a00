"""Recovery: the stage, care tips (on request and daily), pain check-ins and /progress.

Time-driven work lives in rows with a due time (the daily tip and check-in on
`recovery_plans`, the evening nudge and next-morning look-in on `daily_checkins`); this
service is the scheduler's `DueSource` for them. Every step is a conditional update on the
due time or state it read, so it happens once even if run twice, after a restart or on two
replicas; outbox keys carry the patient's local date, so a day never gets two tips.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from bot import keyboards, texts
from bot.clock import Clock
from bot.db import flows
from bot.db.circles import (
    active_helpers,
    active_membership,
    circle_and_patient,
    display_name,
    patient_circle_id,
)
from bot.db.models import (
    Access,
    CheckinState,
    Circle,
    DailyCheckin,
    HelperTipOptIn,
    Membership,
    MemberStatus,
    OutboxMessage,
    OutboxState,
    PainReport,
    RecoveryPlan,
    Role,
    StageChange,
    TipShown,
    User,
)
from bot.db.session import Database, after_commit
from bot.domain.clocktime import local_date, local_instant, next_local_time
from bot.domain.recovery import (
    PAIN_MAX,
    PAIN_MIN,
    Reading,
    Reason,
    ScheduleChoice,
    Stage,
    Suggestion,
    is_severe,
    suggest,
)
from bot.domain.tips import Tip, TipBook
from bot.events import log_event
from bot.notify import Notifier, OutMessage, Priority
from bot.services.errors import (
    BadTime,
    NotAPainScore,
    NotHelper,
    NotInCircle,
    NotPatient,
    NotRegistered,
    StaleAction,
)
from bot.services.reach import LookIn, look_in_people

log = logging.getLogger(__name__)

PATIENT, HELPER = "patient", "helper"
PROGRESS_DAYS = 14
# A nudge needs some time after the question; asked later than this before the evening, the
# day has no nudge and the next step is the morning look-in request.
NUDGE_MIN_GAP = dt.timedelta(hours=1)
# "Let my helpers know" works on a severe report for this long.
TELL_HELPERS_WINDOW = dt.timedelta(hours=12)
# Reports looked at for a suggestion (plus the stage's first): plenty for every rule.
RECENT_REPORTS = 60
DUE_BATCH = 100
UTC = "UTC"
LOOKIN_KIND = "recovery.lookin"
# A 403 on a look-in request older than this changes nothing any more.
LOOKIN_RELEVANT = dt.timedelta(days=2)


class DoseCounter(Protocol):
    """Doses taken per day, for the /progress chart (the medication feature provides it)."""

    async def doses_per_day(
        self, circle_id: int, days: Sequence[dt.date]
    ) -> Mapping[dt.date, int] | None:
        """Doses taken on each of these local dates of the patient; None if they have no
        medications (then the chart shows pain only)."""
        ...


@dataclass(frozen=True)
class RecoveryConfig:
    tip_time: dt.time
    checkin_time: dt.time
    nudge_time: dt.time
    lookin_time: dt.time
    late_grace: dt.timedelta
    suggestion_pause: dt.timedelta
    # Nobody tapped "I'll check on them" this long after a look-in request: ask the others.
    lookin_escalate: dt.timedelta = dt.timedelta(minutes=60)


@dataclass(frozen=True)
class StageView:
    stage: Stage
    since: dt.datetime
    timezone: str | None
    changed: bool = False
    # True when this choice finished onboarding (the invite link comes next).
    first: bool = False


@dataclass(frozen=True)
class TipView:
    tip_id: str
    text: str
    stage: Stage
    circle_id: int
    patient_name: str
    # "Back to acute?" after a flare-up waits for an answer: no exercise tips until then.
    exercise_paused: bool = False


@dataclass(frozen=True)
class PainResult:
    report_id: int
    score: int
    stage: Stage
    severe: bool
    suggestion: Suggestion | None
    checkin: bool


@dataclass(frozen=True)
class ScheduleView:
    """A daily time (tips or check-ins): on or off, in the patient's zone."""

    on: bool
    at: dt.time
    timezone: str | None


@dataclass(frozen=True)
class HelperTips:
    circle_id: int
    patient_name: str
    on: bool


@dataclass(frozen=True)
class TipSettings:
    patient: ScheduleView | None
    helping: tuple[HelperTips, ...]


@dataclass(frozen=True)
class ProgressView:
    days: tuple[dt.date, ...]
    # The day's highest score, for days with a report.
    pain: Mapping[dt.date, int]
    reports: int
    # (local date, stage entered) within the window.
    stage_marks: tuple[tuple[dt.date, Stage], ...]
    stage: Stage
    stage_since: dt.datetime
    timezone: str
    doses: Mapping[dt.date, int] | None


class RecoveryService:
    """Use cases for the patient's recovery, and the due work behind daily tips and check-ins."""

    name = "recovery"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        tips: TipBook,
        config: RecoveryConfig,
        *,
        wake: Callable[[], None] | None = None,
        doses: DoseCounter | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._tips = tips
        self._config = config
        self._wake = wake or (lambda: None)
        self._doses = doses

    # --- the stage ---------------------------------------------------------------------

    async def ask_first_stage(self, user_id: int) -> None:
        """Onboarding: the next answer we wait for is how their back is (a button or words)."""
        async with self._db.transaction() as session:
            await self._require_patient(session, user_id)
            await flows.start(session, user_id, "stage", None, self._clock.now())

    async def stage(self, user_id: int) -> StageView:
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id)
            return StageView(Stage(plan.stage), plan.stage_since, timezone)

    async def choose_stage(self, user_id: int, stage: Stage) -> StageView:
        """The patient picks a stage (/stage, its buttons, or the onboarding question)."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            # Conditional: only the press that ends onboarding gets first=True (a double tap
            # sends one invite link, not two).
            finished = await session.execute(
                update(User)
                .where(User.id == user_id, User.awaiting == "stage")
                .values(awaiting=None, draft=None, flow_rev=User.flow_rev + 1, flow_at=None)
            )
            plan, timezone, created = await self._ensure_plan(session, circle_id, stage=stage)
            changed = await self._change_stage(session, plan, stage) or created
            # Picking a stage, even the one they are in, answers "Back to acute?".
            await self._end_flare_pause(session, plan)
            return StageView(
                Stage(plan.stage), plan.stage_since, timezone, changed, _rowcount(finished) == 1
            )

    async def accept_suggestion(self, user_id: int, target: Stage, from_stage: Stage) -> StageView:
        """ "Yes, switch": only if the stage is still the one the suggestion was made in."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id)
            if plan.stage == target:
                return StageView(target, plan.stage_since, timezone)
            if plan.stage != from_stage:
                raise StaleAction()
            changed = await self._change_stage(session, plan, target)
            if not changed and plan.stage != target:
                raise StaleAction()
            return StageView(target, plan.stage_since, timezone, changed=changed)

    async def decline_suggestion(self, user_id: int, target: Stage) -> None:
        """ "Not now": the same suggestion waits a few days."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            await self._plan(session, circle_id)
            until = self._clock.now() + self._config.suggestion_pause
            answered = {"flare_asked_at": None} if target == Stage.ACUTE else {}
            await session.execute(
                update(RecoveryPlan)
                .where(RecoveryPlan.circle_id == circle_id)
                .values(declined_stage=target.value, declined_until=until, **answered)
            )
            log_event(log, "recovery.suggestion_declined", circle_id=circle_id, stage=target)

    # --- tips on request ---------------------------------------------------------------

    async def tip_now(self, user_id: int) -> TipView:
        """One tip for the patient's stage, not repeated until the stage's tips are used up."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            plan, _ = await self._plan(session, circle_id, lock=True)
            stage = Stage(plan.stage)
            paused = plan.flare_asked_at is not None
            tip = await self._pick_tip(session, circle_id, PATIENT, stage, exercise=not paused)
            assert tip is not None, "every stage has patient tips (tests/unit/test_tips_file.py)"
            user = await session.get(User, user_id)
            assert user is not None
            log_event(log, "recovery.tip_shown", circle_id=circle_id, audience=PATIENT)
            return TipView(tip.id, tip.text, stage, circle_id, display_name(user), paused)

    async def helper_tip_now(self, user_id: int, circle_id: int) -> TipView:
        """A helper's "Another": a helper tip for the stage of the patient they help."""
        async with self._db.transaction() as session:
            membership = await active_membership(session, circle_id, user_id)
            if membership is None or membership.role != Role.HELPER:
                raise NotInCircle()
            pair = await circle_and_patient(session, circle_id)
            assert pair is not None
            _, patient = pair
            plan = await session.get(RecoveryPlan, circle_id, with_for_update=True)
            stage = Stage(plan.stage) if plan else Stage.ACUTE
            paused = plan is not None and plan.flare_asked_at is not None
            tip = await self._pick_tip(session, circle_id, HELPER, stage, exercise=not paused)
            if tip is None:
                raise StaleAction()
            log_event(log, "recovery.tip_shown", circle_id=circle_id, audience=HELPER)
            return TipView(tip.id, tip.text, stage, circle_id, display_name(patient))

    # --- daily tip and check-in settings ----------------------------------------------

    async def tip_settings(self, user_id: int) -> TipSettings:
        """The patient's daily tip and, for a helper, their helper tips in each circle."""
        async with self._db.transaction() as session:
            return await self._tip_settings(session, user_id)

    async def set_tips(self, user_id: int, choice: ScheduleChoice) -> ScheduleView:
        """`/tips 09:00`, `/tips off`, `/tips on` for the patient's own daily tip."""
        if choice.action not in ("on", "off", "time"):
            raise BadTime()
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id, lock=True)
            plan.tips_on = choice.action != "off"
            if choice.at is not None:
                plan.tip_time = choice.at
            plan.next_tip_at = self._next_tip(plan, timezone, self._clock.now())
            after_commit(session, self._wake)
            log_event(log, "recovery.tips_set", circle_id=circle_id, on=plan.tips_on)
            return ScheduleView(plan.tips_on, plan.tip_time, timezone)

    async def set_helper_tips(
        self, user_id: int, on: bool, circle_id: int | None = None
    ) -> TipSettings:
        """A helper turns helper tips on or off: in one circle, or (None) every circle."""
        async with self._db.transaction() as session:
            helping = await self._helper_tips(session, user_id)
            if not helping:
                raise NotHelper()
            targets = [h.circle_id for h in helping if circle_id in (None, h.circle_id)]
            if not targets:
                raise NotInCircle()
            for target in targets:
                if on:
                    await self._insert_ignore(
                        session,
                        HelperTipOptIn,
                        circle_id=target,
                        user_id=user_id,
                        created_at=self._clock.now(),
                    )
                else:
                    await session.execute(
                        delete(HelperTipOptIn).where(
                            HelperTipOptIn.circle_id == target, HelperTipOptIn.user_id == user_id
                        )
                    )
                log_event(log, "recovery.helper_tips_set", circle_id=target, user_id=user_id, on=on)
            return await self._tip_settings(session, user_id)

    async def checkin_settings(self, user_id: int) -> ScheduleView:
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id)
            return ScheduleView(plan.checkins_on, plan.checkin_time, timezone)

    async def set_checkin(self, user_id: int, choice: ScheduleChoice) -> ScheduleView:
        """`/checkin 09:30`, `/checkin off`, `/checkin on`."""
        if choice.action not in ("on", "off", "time"):
            raise BadTime()
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id, lock=True)
            plan.checkins_on = choice.action != "off"
            if choice.at is not None:
                plan.checkin_time = choice.at
            plan.next_checkin_at = self._next_checkin(plan, timezone, self._clock.now())
            if not plan.checkins_on:
                # Off means off: no nudge or look-in for a question already asked.
                await session.execute(
                    update(DailyCheckin)
                    .where(
                        DailyCheckin.circle_id == circle_id,
                        DailyCheckin.state.in_((CheckinState.ASKED, CheckinState.NUDGED)),
                    )
                    .values(state=CheckinState.CANCELLED, due_at=None)
                )
            after_commit(session, self._wake)
            log_event(log, "recovery.checkins_set", circle_id=circle_id, on=plan.checkins_on)
            return ScheduleView(plan.checkins_on, plan.checkin_time, timezone)

    async def timezone_changed(self, session: AsyncSession, user_id: int) -> None:
        """The patient's time zone changed: their daily times now follow the new zone.

        Runs inside the transaction that changed it (CircleService.on_timezone_changed).
        """
        circle_id = await patient_circle_id(session, user_id)
        if circle_id is None:
            return
        plan = await session.get(RecoveryPlan, circle_id, with_for_update=True)
        zone = await session.scalar(select(User.timezone).where(User.id == user_id))
        if plan is None:
            return
        now = self._clock.now()
        plan.next_tip_at = self._next_tip(plan, zone, now)
        plan.next_checkin_at = self._next_checkin(plan, zone, now)
        after_commit(session, self._wake)

    # --- pain --------------------------------------------------------------------------

    async def record_pain(
        self,
        user_id: int,
        score: int,
        *,
        key: str,
        source: str,
        checkin_id: int | None = None,
    ) -> PainResult:
        """Record a 0–10 score and say what, if anything, to suggest.

        The key names where the score came from (a check-in, a message, a button prompt):
        the same key again corrects the score instead of adding a report.
        """
        if not PAIN_MIN <= score <= PAIN_MAX:
            raise NotAPainScore()
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id, lock=True)
            now = self._clock.now()
            if checkin_id is not None:
                checkin = await session.get(DailyCheckin, checkin_id)
                if checkin is None or checkin.circle_id != circle_id:
                    raise StaleAction()
            insert = _insert_for(session)
            await session.execute(
                insert(PainReport)
                .values(
                    circle_id=circle_id,
                    key=key[:80],
                    score=score,
                    reported_at=now,
                    local_date=local_date(now, timezone or UTC),
                    source=source,
                )
                .on_conflict_do_update(index_elements=["key"], set_={"score": score})
            )
            report_id = await session.scalar(
                select(PainReport.id).where(PainReport.key == key[:80])
            )
            assert report_id is not None
            # Any report answers the open check-ins (today's, or yesterday's still waiting).
            answered = await session.execute(
                update(DailyCheckin)
                .where(
                    DailyCheckin.circle_id == circle_id,
                    DailyCheckin.state.in_((CheckinState.ASKED, CheckinState.NUDGED)),
                )
                .values(state=CheckinState.ANSWERED, answered_at=now, due_at=None)
            )
            stage = Stage(plan.stage)
            readings = await self._readings_in_stage(session, plan)
            suggestion = suggest(stage, readings, now - plan.stage_since)
            if suggestion is not None and (
                suggestion.target == stage
                or (
                    # A severe flare-up is asked about even after "Not now": safety first.
                    suggestion.reason != Reason.FLARE
                    and plan.declined_stage == suggestion.target
                    and plan.declined_until is not None
                    and plan.declined_until > now
                )
            ):
                suggestion = None
            if suggestion is not None and suggestion.target == Stage.ACUTE:
                # Exercise tips wait until the patient answers "Back to acute?".
                await session.execute(
                    update(RecoveryPlan)
                    .where(RecoveryPlan.circle_id == circle_id, RecoveryPlan.stage == stage)
                    .values(flare_asked_at=now)
                )
            log_event(
                log,
                "recovery.pain_recorded",
                circle_id=circle_id,
                source=source,
                answered=_rowcount(answered),
                suggestion=suggestion.reason if suggestion else None,
            )
            return PainResult(
                report_id,
                score,
                stage,
                is_severe(score),
                suggestion,
                checkin=_rowcount(answered) > 0 or checkin_id is not None,
            )

    async def tell_helpers(self, user_id: int, report_id: int) -> tuple[str, ...]:
        """ "Let my helpers know" after severe pain: close family hears, once each."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            report = await session.get(PainReport, report_id)
            now = self._clock.now()
            if (
                report is None
                or report.circle_id != circle_id
                or not is_severe(report.score)
                or now - report.reported_at > TELL_HELPERS_WINDOW
            ):
                raise StaleAction()
            patient = await session.get(User, user_id)
            assert patient is not None
            names = []
            for membership, helper in await active_helpers(session, circle_id, Access.CLOSE):
                if not helper.reachable:
                    continue
                names.append(display_name(helper))
                await self._notifier.send(
                    session,
                    key=f"pain:{report.id}:tell:{membership.user_id}",
                    chat_id=membership.user_id,
                    message=OutMessage(
                        texts.severe_pain_alert(display_name(patient), report.score)
                    ),
                    kind="recovery.severe_pain",
                    priority=Priority.URGENT,
                    circle_id=circle_id,
                )
            log_event(log, "recovery.helpers_told", circle_id=circle_id, count=len(names))
            return tuple(names)

    # --- /progress ---------------------------------------------------------------------

    async def progress(self, user_id: int) -> ProgressView:
        """The last 14 days: the day's highest pain, stage changes, and doses if counted."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id)
            zone = timezone or UTC
            today = local_date(self._clock.now(), zone)
            days = tuple(today - dt.timedelta(days=n) for n in range(PROGRESS_DAYS - 1, -1, -1))
            start = local_instant(days[0], dt.time(0, 0), zone)
            rows = (
                await session.execute(
                    select(PainReport.local_date, func.max(PainReport.score), func.count())
                    .where(PainReport.circle_id == circle_id, PainReport.reported_at >= start)
                    .group_by(PainReport.local_date)
                )
            ).all()
            pain = {day: int(high) for day, high, _ in rows if day in days}
            reports = sum(int(count) for day, _, count in rows if day in days)
            changes = (
                await session.execute(
                    select(StageChange.changed_at, StageChange.to_stage)
                    .where(StageChange.circle_id == circle_id, StageChange.changed_at >= start)
                    .order_by(StageChange.changed_at, StageChange.id)
                )
            ).all()
            marks = tuple((local_date(at, zone), Stage(stage)) for at, stage in changes)
            view = ProgressView(
                days, pain, reports, marks, Stage(plan.stage), plan.stage_since, zone, None
            )
        if self._doses is None:
            return view
        return replace(view, doses=await self._doses.doses_per_day(circle_id, days))

    # --- due work (the scheduler's DueSource) -------------------------------------------

    async def next_due(self) -> dt.datetime | None:
        async with self._db.transaction() as session:
            instants = [
                await session.scalar(select(func.min(RecoveryPlan.next_tip_at))),
                await session.scalar(select(func.min(RecoveryPlan.next_checkin_at))),
                await session.scalar(select(func.min(DailyCheckin.due_at))),
            ]
        return min((i for i in instants if i is not None), default=None)

    async def run_due(self, now: dt.datetime) -> int:
        # No scheduler pokes from here: after a sweep the scheduler re-arms from next_due().
        handled = 0
        for circle_id, due in await self._due_rows(RecoveryPlan.next_tip_at, now):
            handled += await self._guard(self._daily_tip(circle_id, due, now), circle_id)
        for circle_id, due in await self._due_rows(RecoveryPlan.next_checkin_at, now):
            handled += await self._guard(self._daily_checkin(circle_id, due, now), circle_id)
        for checkin_id, due in await self._due_rows(DailyCheckin.due_at, now):
            handled += await self._guard(self._checkin_step(checkin_id, due, now), checkin_id)
        return handled

    async def _due_rows(
        self, column: InstrumentedAttribute[Any], now: dt.datetime
    ) -> list[tuple[int, dt.datetime]]:
        """Everything due by `now` on one indexed column, oldest first, in batches."""
        key = RecoveryPlan.circle_id if column.class_ is RecoveryPlan else DailyCheckin.id
        found: list[tuple[int, dt.datetime]] = []
        after: tuple[dt.datetime, int] | None = None
        while True:
            query = select(key, column).where(column <= now)
            if after is not None:
                query = query.where(
                    or_(column > after[0], and_(column == after[0], key > after[1]))
                )
            async with self._db.transaction() as session:
                rows = (await session.execute(query.order_by(column, key).limit(DUE_BATCH))).all()
            found += [(int(row_id), when) for row_id, when in rows]
            if len(rows) < DUE_BATCH:
                return found
            after = (rows[-1][1], rows[-1][0])

    async def _guard(self, step: Awaitable[bool], item: int) -> int:
        """One bad row must not stop the others; it is logged and retried on the next sweep."""
        try:
            return 1 if await step else 0
        except Exception:
            log.exception("event=recovery.due_failed item=%s", item)
            return 0

    async def _daily_tip(self, circle_id: int, due: dt.datetime, now: dt.datetime) -> bool:
        async with self._db.transaction() as session:
            plan = await self._plan_due(session, RecoveryPlan.next_tip_at, circle_id, due)
            if plan is None:
                return False
            pair = await circle_and_patient(session, circle_id)
            assert pair is not None
            _, patient = pair
            zone = patient.timezone
            if zone is None:
                await self._move(session, RecoveryPlan.next_tip_at, circle_id, due, None)
                return False
            day = local_date(due, zone)
            intended = local_instant(day, plan.tip_time, zone)
            if intended > now:
                # The zone changed since this was armed: wait for the new zone's time.
                await self._move(session, RecoveryPlan.next_tip_at, circle_id, due, intended)
                return False
            already = plan.last_tip_day is not None and plan.last_tip_day >= day
            following = self._next_tip(plan, zone, now, sent_on=day)
            won = await self._move(
                session,
                RecoveryPlan.next_tip_at,
                circle_id,
                due,
                following,
                last_tip_day=plan.last_tip_day if already else day,
            )
            if not won:
                return False
            if already or now - intended > self._config.late_grace:
                log_event(log, "recovery.tip_skipped", circle_id=circle_id, late=not already)
                return True
            stage = Stage(plan.stage)
            paused = plan.flare_asked_at is not None
            if plan.tips_on:
                tip = await self._pick_tip(session, circle_id, PATIENT, stage, exercise=not paused)
                assert tip is not None
                await self._notifier.send(
                    session,
                    key=f"tip:{circle_id}:{day.isoformat()}",
                    chat_id=patient.id,
                    message=OutMessage(
                        texts.daily_tip(tip.text, stage, paused), keyboards.another_tip()
                    ),
                    kind="recovery.tip",
                    priority=Priority.LOW,
                    circle_id=circle_id,
                )
            helpers = await self._opted_in_helpers(session, circle_id)
            helper_tip = (
                await self._pick_tip(session, circle_id, HELPER, stage, exercise=not paused)
                if helpers
                else None
            )
            if helper_tip is not None:
                for helper_id in helpers:
                    await self._notifier.send(
                        session,
                        key=f"tip:{circle_id}:{day.isoformat()}:helper:{helper_id}",
                        chat_id=helper_id,
                        message=OutMessage(
                            texts.helper_tip(display_name(patient), helper_tip.text),
                            keyboards.another_helper_tip(circle_id),
                        ),
                        kind="recovery.helper_tip",
                        priority=Priority.LOW,
                        circle_id=circle_id,
                    )
            log_event(
                log,
                "recovery.daily_tip",
                circle_id=circle_id,
                patient=plan.tips_on,
                helpers=len(helpers) if helper_tip else 0,
            )
            return True

    async def _daily_checkin(self, circle_id: int, due: dt.datetime, now: dt.datetime) -> bool:
        async with self._db.transaction() as session:
            plan = await self._plan_due(session, RecoveryPlan.next_checkin_at, circle_id, due)
            if plan is None:
                return False
            pair = await circle_and_patient(session, circle_id)
            assert pair is not None
            _, patient = pair
            zone = patient.timezone
            if zone is None or not plan.checkins_on:
                await self._move(session, RecoveryPlan.next_checkin_at, circle_id, due, None)
                return False
            day = local_date(due, zone)
            intended = local_instant(day, plan.checkin_time, zone)
            if intended > now:
                await self._move(session, RecoveryPlan.next_checkin_at, circle_id, due, intended)
                return False
            following = next_local_time(plan.checkin_time, zone, max(now, intended))
            if local_date(following, zone) <= day:
                following = next_local_time(plan.checkin_time, zone, following)
            if not await self._move(
                session, RecoveryPlan.next_checkin_at, circle_id, due, following
            ):
                return False
            if now - intended > self._config.late_grace:
                log_event(log, "recovery.checkin_skipped", circle_id=circle_id, reason="late")
                return True
            reported = await session.scalar(
                select(
                    exists().where(PainReport.circle_id == circle_id, PainReport.local_date == day)
                )
            )
            if reported:
                # They told us already today: asking again would be nagging.
                log_event(log, "recovery.checkin_skipped", circle_id=circle_id, reason="reported")
                return True
            nudge_at: dt.datetime | None = local_instant(day, self._config.nudge_time, zone)
            assert nudge_at is not None
            if nudge_at < now + NUDGE_MIN_GAP:
                nudge_at = None
            lookin_at = local_instant(day + dt.timedelta(days=1), self._config.lookin_time, zone)
            added = await self._insert_ignore(
                session,
                DailyCheckin,
                circle_id=circle_id,
                local_date=day,
                state=CheckinState.ASKED,
                asked_at=now,
                nudge_at=nudge_at,
                lookin_at=lookin_at,
                due_at=nudge_at or lookin_at,
            )
            if not added:
                return True
            checkin_id = await session.scalar(
                select(DailyCheckin.id).where(
                    DailyCheckin.circle_id == circle_id, DailyCheckin.local_date == day
                )
            )
            assert checkin_id is not None
            await self._notifier.send(
                session,
                key=f"checkin:{circle_id}:{day.isoformat()}",
                chat_id=patient.id,
                message=OutMessage(texts.CHECKIN_QUESTION, keyboards.pain_scale("ci", checkin_id)),
                kind="recovery.checkin",
                priority=Priority.NORMAL,
                circle_id=circle_id,
            )
            log_event(log, "recovery.checkin_asked", circle_id=circle_id, checkin_id=checkin_id)
            return True

    async def _checkin_step(self, checkin_id: int, due: dt.datetime, now: dt.datetime) -> bool:
        """An unanswered check-in: the evening nudge, then the next-morning look-in request."""
        async with self._db.transaction() as session:
            checkin = (
                await session.scalars(
                    select(DailyCheckin)
                    .where(
                        DailyCheckin.id == checkin_id,
                        DailyCheckin.due_at == due,
                        DailyCheckin.state.in_(
                            (CheckinState.ASKED, CheckinState.NUDGED, CheckinState.MISSED)
                        ),
                    )
                    .with_for_update()
                )
            ).one_or_none()
            if checkin is None:
                return False
            pair = await circle_and_patient(session, checkin.circle_id)
            assert pair is not None
            circle, patient = pair
            if checkin.state == CheckinState.MISSED:
                return await self._escalate_lookin(session, checkin, circle, patient, due, now)
            nudging = checkin.state == CheckinState.ASKED and checkin.nudge_at == due
            state = CheckinState.NUDGED if nudging else CheckinState.MISSED
            result = await session.execute(
                update(DailyCheckin)
                .where(
                    DailyCheckin.id == checkin_id,
                    DailyCheckin.state == checkin.state,
                    DailyCheckin.due_at == due,
                )
                .values(state=state, due_at=checkin.lookin_at if nudging else None)
            )
            if _rowcount(result) != 1:
                return False
            if nudging:
                if now - due <= self._config.late_grace:
                    await self._notifier.send(
                        session,
                        key=f"checkin:{checkin_id}:nudge",
                        chat_id=patient.id,
                        message=OutMessage(
                            texts.CHECKIN_NUDGE, keyboards.pain_scale("ci", checkin_id)
                        ),
                        kind="recovery.checkin_nudge",
                        priority=Priority.NORMAL,
                        circle_id=circle.id,
                    )
                    log_event(log, "recovery.checkin_nudged", circle_id=circle.id)
                return True
            # The morning after: a look-in request. One due while the bot was down goes when
            # it is back, however late: the patient has been unheard even longer.
            if not circle.lookin_requests:
                return True
            return await self._request_lookin(session, checkin, circle, patient, now)

    # --- the look-in: someone always hears -------------------------------------------------

    async def look_in(self, helper_id: int, checkin_id: int) -> LookIn:
        """ "I'll check on them" on a look-in request: the first tap wins, the others are
        told, the patient hears who is coming, and nobody else is asked."""
        async with self._db.transaction() as session:
            checkin = await session.get(DailyCheckin, checkin_id, populate_existing=True)
            if checkin is None:
                raise StaleAction()
            membership = await active_membership(session, checkin.circle_id, helper_id)
            asked = await session.scalar(
                select(OutboxMessage.id).where(
                    OutboxMessage.kind == LOOKIN_KIND,
                    OutboxMessage.chat_id == helper_id,
                    OutboxMessage.key.in_(_lookin_keys(checkin.id, helper_id)),
                )
            )
            if membership is None or membership.role != Role.HELPER or asked is None:
                raise StaleAction()
            pair = await circle_and_patient(session, checkin.circle_id)
            assert pair is not None
            circle, patient = pair
            patient_name = display_name(patient)
            if checkin.lookin_claimed_at is None and await self._heard_since(session, checkin):
                return LookIn(patient_name, "", False, True)
            now = self._clock.now()
            result = await session.execute(
                update(DailyCheckin)
                .where(DailyCheckin.id == checkin.id, DailyCheckin.lookin_claimed_at.is_(None))
                .values(lookin_claimed_at=now, lookin_user_id=helper_id, due_at=None)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                await session.refresh(checkin)
                checker = await self._name(session, checkin.lookin_user_id)
                return LookIn(patient_name, checker, checkin.lookin_user_id == helper_id, False)
            me = await self._name(session, helper_id)
            for key, chat_id in await self._lookin_requests(session, checkin.id):
                if chat_id != helper_id:
                    await self._notifier.edit(
                        session,
                        key=f"{key}:checking",
                        ref_key=key,
                        message=OutMessage(texts.someone_checking(patient_name, me)),
                        kind="recovery.lookin_update",
                    )
            await self._notifier.send(
                session,
                key=f"checkin:{checkin.id}:checking",
                chat_id=patient.id,
                message=OutMessage(texts.dose_checking_to_patient(me)),
                kind="recovery.lookin_checking",
                priority=Priority.NORMAL,
                circle_id=circle.id,
            )
            log_event(log, "recovery.lookin_taken", circle_id=circle.id, user_id=helper_id)
            return LookIn(patient_name, me, True, False)

    async def helper_unreachable(self, session: AsyncSession, user_id: int) -> None:
        """Telegram refused a message to this helper (403), in the transaction recording it:
        a look-in request of theirs that never arrived is passed on to the others now (or,
        with nobody else, the patient is told)."""
        now = self._clock.now()
        keys = list(
            await session.scalars(
                select(OutboxMessage.key).where(
                    OutboxMessage.chat_id == user_id,
                    OutboxMessage.kind == LOOKIN_KIND,
                    OutboxMessage.op == "send",
                    OutboxMessage.state != OutboxState.SENT,
                    OutboxMessage.created_at > now - LOOKIN_RELEVANT,
                )
            )
        )
        for key in keys:
            checkin = await session.get(
                DailyCheckin, int(key.split(":")[1]), with_for_update=True, populate_existing=True
            )
            if (
                checkin is None
                or checkin.state != CheckinState.MISSED
                or checkin.lookin_claimed_at is not None
            ):
                continue
            if checkin.due_at is not None:
                # Still waiting for a tap: the others need not wait for it any longer.
                checkin.due_at = now
                after_commit(session, self._wake)
            elif not await self._lookin_heard(session, checkin.id):
                pair = await circle_and_patient(session, checkin.circle_id)
                assert pair is not None
                await self._lookin_nobody(session, checkin, pair[0], pair[1], now)

    async def _request_lookin(
        self,
        session: AsyncSession,
        checkin: DailyCheckin,
        circle: Circle,
        patient: User,
        now: dt.datetime,
    ) -> bool:
        """Ask the first helper who can be reached; the others after a while without a tap."""
        people, errand = await look_in_people(session, circle, now)
        if not people:
            await self._lookin_nobody(session, checkin, circle, patient, now)
            return True
        helper = people[0]
        checkin.lookin_user_id = helper.id
        checkin.due_at = now + self._config.lookin_escalate
        after_commit(session, self._wake)
        since = self._since(checkin, patient, now)
        await self._ask_to_look_in(
            session, checkin, circle, patient, helper, errand, f"checkin:{checkin.id}:lookin"
        )
        await self._notifier.send(
            session,
            key=f"checkin:{checkin.id}:lookin:patient",
            chat_id=patient.id,
            message=OutMessage(texts.lookin_asked(display_name(helper), since)),
            kind="recovery.lookin_note",
            priority=Priority.NORMAL,
            circle_id=circle.id,
        )
        late = int((now - checkin.lookin_at).total_seconds() // 60)
        log_event(
            log, "recovery.lookin_requested", circle_id=circle.id, user_id=helper.id, late=late
        )
        return True

    async def _escalate_lookin(
        self,
        session: AsyncSession,
        checkin: DailyCheckin,
        circle: Circle,
        patient: User,
        due: dt.datetime,
        now: dt.datetime,
    ) -> bool:
        """Nobody said "I'll check on them" in time (or the request came back 403): ask
        every other helper who can be reached; with none, and no request that arrived, tell
        the patient."""
        result = await session.execute(
            update(DailyCheckin)
            .where(
                DailyCheckin.id == checkin.id,
                DailyCheckin.state == CheckinState.MISSED,
                DailyCheckin.due_at == due,
                DailyCheckin.lookin_claimed_at.is_(None),
            )
            .values(due_at=None)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            return False
        checkins_on = await session.scalar(
            select(RecoveryPlan.checkins_on).where(RecoveryPlan.circle_id == circle.id)
        )
        if (
            not circle.lookin_requests
            or not checkins_on
            or await self._heard_since(session, checkin)
        ):
            # Switched off since, or the patient has been in touch: nobody else is asked.
            log_event(log, "recovery.lookin_settled", circle_id=circle.id)
            return True
        asked = {chat_id for _, chat_id in await self._lookin_requests(session, checkin.id)}
        people, errand = await look_in_people(session, circle, now)
        others = [p for p in people if p.id not in asked]
        for helper in others:
            await self._ask_to_look_in(
                session,
                checkin,
                circle,
                patient,
                helper,
                errand,
                f"checkin:{checkin.id}:lookin:{helper.id}",
            )
        if not others and not await self._lookin_heard(session, checkin.id):
            await self._lookin_nobody(session, checkin, circle, patient, now)
        log_event(log, "recovery.lookin_escalated", circle_id=circle.id, asked=len(others))
        return True

    async def _ask_to_look_in(
        self,
        session: AsyncSession,
        checkin: DailyCheckin,
        circle: Circle,
        patient: User,
        helper: User,
        errand: bool,
        key: str,
    ) -> None:
        # Errand helpers are told only that the patient may need a hand.
        name = display_name(patient)
        since = self._since(checkin, patient, self._clock.now())
        text = texts.errand_lookin(name) if errand else texts.lookin_request(name, since)
        await self._notifier.send(
            session,
            key=key,
            chat_id=helper.id,
            message=OutMessage(text, keyboards.look_in(keyboards.LOOK_CHECKIN, checkin.id)),
            kind=LOOKIN_KIND,
            priority=Priority.NORMAL,
            circle_id=circle.id,
        )

    async def _lookin_nobody(
        self,
        session: AsyncSession,
        checkin: DailyCheckin,
        circle: Circle,
        patient: User,
        now: dt.datetime,
    ) -> None:
        sent = await self._notifier.send(
            session,
            key=f"checkin:{checkin.id}:lookin:nobody",
            chat_id=patient.id,
            message=OutMessage(texts.lookin_nobody(self._since(checkin, patient, now))),
            kind="recovery.lookin_nobody",
            priority=Priority.NORMAL,
            circle_id=circle.id,
        )
        if sent:
            log_event(log, "recovery.lookin_nobody", circle_id=circle.id)

    async def _lookin_requests(
        self, session: AsyncSession, checkin_id: int
    ) -> list[tuple[str, int]]:
        """(outbox key, helper) of every look-in request of this check-in."""
        rows = await session.execute(
            select(OutboxMessage.key, OutboxMessage.chat_id).where(
                OutboxMessage.kind == LOOKIN_KIND,
                OutboxMessage.op == "send",
                OutboxMessage.key.like(f"checkin:{checkin_id}:lookin%"),
            )
        )
        return [(key, int(chat_id)) for key, chat_id in rows.all()]

    async def _lookin_heard(self, session: AsyncSession, checkin_id: int) -> bool:
        """Did a look-in request arrive, or can one still arrive?"""
        rows = await session.execute(
            select(OutboxMessage.state, User.reachable)
            .outerjoin(User, User.id == OutboxMessage.chat_id)
            .where(
                OutboxMessage.kind == LOOKIN_KIND,
                OutboxMessage.op == "send",
                OutboxMessage.key.like(f"checkin:{checkin_id}:lookin%"),
            )
        )
        waiting = (OutboxState.PENDING, OutboxState.SENDING)
        return any(
            state == OutboxState.SENT or (state in waiting and reachable is not False)
            for state, reachable in rows.all()
        )

    async def _heard_since(self, session: AsyncSession, checkin: DailyCheckin) -> bool:
        """The patient has been in touch since the check-in was asked: no look-in needed."""
        if checkin.state == CheckinState.ANSWERED:
            return True
        reported = await session.scalar(
            select(
                exists().where(
                    PainReport.circle_id == checkin.circle_id,
                    PainReport.reported_at >= checkin.asked_at,
                )
            )
        )
        return bool(reported)

    def _since(self, checkin: DailyCheckin, patient: User, now: dt.datetime) -> str:
        return texts.since_day(checkin.local_date, local_date(now, patient.timezone or UTC))

    async def _name(self, session: AsyncSession, user_id: int | None) -> str:
        user = await session.get(User, user_id) if user_id else None
        return display_name(user) if user is not None else texts.FORMER_HELPER

    # --- internals ---------------------------------------------------------------------

    async def _require_patient(self, session: AsyncSession, user_id: int) -> int:
        circle_id = await patient_circle_id(session, user_id)
        if circle_id is not None:
            return circle_id
        helping = await session.scalar(
            select(
                exists().where(
                    Membership.user_id == user_id,
                    Membership.status == MemberStatus.ACTIVE,
                    Membership.role == Role.HELPER,
                )
            )
        )
        raise NotPatient() if helping else NotRegistered()

    async def _plan(
        self,
        session: AsyncSession,
        circle_id: int,
        *,
        stage: Stage = Stage.ACUTE,
        lock: bool = False,
    ) -> tuple[RecoveryPlan, str | None]:
        """The circle's plan (made on first use) and the patient's time zone."""
        plan, timezone, _ = await self._ensure_plan(session, circle_id, stage=stage, lock=lock)
        return plan, timezone

    async def _ensure_plan(
        self,
        session: AsyncSession,
        circle_id: int,
        *,
        stage: Stage = Stage.ACUTE,
        lock: bool = False,
    ) -> tuple[RecoveryPlan, str | None, bool]:
        """The plan (made on first use, in `stage`), the patient's zone, and whether we made it."""
        pair = await circle_and_patient(session, circle_id)
        assert pair is not None
        timezone = pair[1].timezone
        plan = await session.get(RecoveryPlan, circle_id, with_for_update=lock)
        if plan is not None:
            return plan, timezone, False
        now = self._clock.now()
        draft = RecoveryPlan(
            circle_id=circle_id,
            stage=stage.value,
            stage_since=now,
            tips_on=True,
            tip_time=self._config.tip_time,
            checkins_on=True,
            checkin_time=self._config.checkin_time,
        )
        draft.next_tip_at = self._next_tip(draft, timezone, now)
        draft.next_checkin_at = self._next_checkin(draft, timezone, now)
        values = {c.name: getattr(draft, c.name) for c in RecoveryPlan.__table__.columns}
        created = await self._insert_ignore(session, RecoveryPlan, **values)
        if created:
            session.add(
                StageChange(circle_id=circle_id, from_stage=None, to_stage=stage, changed_at=now)
            )
            after_commit(session, self._wake)
            log_event(log, "recovery.plan_created", circle_id=circle_id, stage=stage)
        plan = await session.get(
            RecoveryPlan, circle_id, with_for_update=lock, populate_existing=True
        )
        assert plan is not None
        return plan, timezone, created

    async def _change_stage(self, session: AsyncSession, plan: RecoveryPlan, stage: Stage) -> bool:
        """Move to `stage` if the plan is still where we read it; True if this call moved it."""
        current = plan.stage
        if current == stage:
            return False
        now = self._clock.now()
        result = await session.execute(
            update(RecoveryPlan)
            .where(RecoveryPlan.circle_id == plan.circle_id, RecoveryPlan.stage == current)
            .values(
                stage=stage.value,
                stage_since=now,
                declined_stage=None,
                declined_until=None,
                flare_asked_at=None,
            )
            .execution_options(synchronize_session="fetch")
        )
        if _rowcount(result) != 1:
            # Someone else moved it first (a double tap on another connection): read what won.
            await session.refresh(plan)
            return False
        session.add(
            StageChange(
                circle_id=plan.circle_id, from_stage=current, to_stage=stage, changed_at=now
            )
        )
        await session.refresh(plan)
        log_event(log, "recovery.stage_changed", circle_id=plan.circle_id, stage=stage)
        return True

    async def _end_flare_pause(self, session: AsyncSession, plan: RecoveryPlan) -> None:
        """The patient answered "Back to acute?" (or picked a stage): exercise tips resume."""
        if plan.flare_asked_at is None:
            return
        await session.execute(
            update(RecoveryPlan)
            .where(RecoveryPlan.circle_id == plan.circle_id)
            .values(flare_asked_at=None)
            .execution_options(synchronize_session="fetch")
        )

    async def _pick_tip(
        self,
        session: AsyncSession,
        circle_id: int,
        audience: str,
        stage: Stage,
        *,
        exercise: bool = True,
    ) -> Tip | None:
        """The stage's next tip: never shown in this circle first (file order), then the one
        shown longest ago. The caller holds the plan's row lock, so two picks don't race.
        Without `exercise`, tips about exercise are left out (a flare-up question waits)."""
        candidates = self._tips.for_stage(stage, audience, exercise=exercise)
        if not candidates:
            return None
        rows = await session.execute(
            select(TipShown.tip_id, func.max(TipShown.id))
            .where(
                TipShown.circle_id == circle_id,
                TipShown.audience == audience,
                TipShown.tip_id.in_([t.id for t in candidates]),
            )
            .group_by(TipShown.tip_id)
        )
        last_shown = {tip_id: int(row_id) for tip_id, row_id in rows.all()}
        never = [t for t in candidates if t.id not in last_shown]
        tip = never[0] if never else min(candidates, key=lambda t: last_shown[t.id])
        session.add(
            TipShown(
                circle_id=circle_id, audience=audience, tip_id=tip.id, shown_at=self._clock.now()
            )
        )
        await session.flush()
        return tip

    async def _readings_in_stage(self, session: AsyncSession, plan: RecoveryPlan) -> list[Reading]:
        in_stage = and_(
            PainReport.circle_id == plan.circle_id, PainReport.reported_at >= plan.stage_since
        )
        recent = (
            await session.execute(
                select(PainReport.id, PainReport.local_date, PainReport.score)
                .where(in_stage)
                .order_by(PainReport.reported_at.desc(), PainReport.id.desc())
                .limit(RECENT_REPORTS)
            )
        ).all()
        first = (
            await session.execute(
                select(PainReport.id, PainReport.local_date, PainReport.score)
                .where(in_stage)
                .order_by(PainReport.reported_at, PainReport.id)
                .limit(1)
            )
        ).all()
        rows = list(reversed(recent))
        if first and rows and first[0].id != rows[0].id:
            rows = [*first, *rows]
        return [Reading(day, score) for _, day, score in rows]

    async def _tip_settings(self, session: AsyncSession, user_id: int) -> TipSettings:
        circle_id = await patient_circle_id(session, user_id)
        patient = None
        if circle_id is not None:
            plan, timezone = await self._plan(session, circle_id)
            patient = ScheduleView(plan.tips_on, plan.tip_time, timezone)
        helping = await self._helper_tips(session, user_id)
        if patient is None and not helping:
            raise NotRegistered()
        return TipSettings(patient, helping)

    async def _helper_tips(self, session: AsyncSession, user_id: int) -> tuple[HelperTips, ...]:
        patient = aliased(User)
        rows = await session.execute(
            select(Circle.id, patient, HelperTipOptIn.id)
            .join(Membership, Membership.circle_id == Circle.id)
            .join(patient, patient.id == Circle.patient_id)
            .outerjoin(
                HelperTipOptIn,
                and_(HelperTipOptIn.circle_id == Circle.id, HelperTipOptIn.user_id == user_id),
            )
            .where(
                Membership.user_id == user_id,
                Membership.status == MemberStatus.ACTIVE,
                Membership.role == Role.HELPER,
            )
            .order_by(Membership.joined_at, Circle.id)
        )
        return tuple(
            HelperTips(circle_id, display_name(user), opt is not None)
            for circle_id, user, opt in rows.all()
        )

    async def _opted_in_helpers(self, session: AsyncSession, circle_id: int) -> list[int]:
        """Active helpers of the circle who asked for helper tips."""
        rows = await session.scalars(
            select(HelperTipOptIn.user_id)
            .join(
                Membership,
                and_(
                    Membership.circle_id == HelperTipOptIn.circle_id,
                    Membership.user_id == HelperTipOptIn.user_id,
                ),
            )
            .where(
                HelperTipOptIn.circle_id == circle_id,
                Membership.status == MemberStatus.ACTIVE,
                Membership.role == Role.HELPER,
            )
            .order_by(HelperTipOptIn.id)
        )
        return list(rows.all())

    async def _plan_due(
        self,
        session: AsyncSession,
        column: InstrumentedAttribute[Any],
        circle_id: int,
        due: dt.datetime,
    ) -> RecoveryPlan | None:
        """The plan, locked, only if that due time is still what we found (else: done)."""
        result: RecoveryPlan | None = (
            await session.scalars(
                select(RecoveryPlan)
                .where(RecoveryPlan.circle_id == circle_id, column == due)
                .with_for_update()
            )
        ).one_or_none()
        return result

    async def _move(
        self,
        session: AsyncSession,
        column: InstrumentedAttribute[Any],
        circle_id: int,
        due: dt.datetime,
        to: dt.datetime | None,
        **values: Any,
    ) -> bool:
        """The conditional update that claims a due item: True if this caller moved it."""
        result = await session.execute(
            update(RecoveryPlan)
            .where(RecoveryPlan.circle_id == circle_id, column == due)
            .values({column.key: to, **values})
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def _next_tip(
        self,
        plan: RecoveryPlan,
        timezone: str | None,
        now: dt.datetime,
        sent_on: dt.date | None = None,
    ) -> dt.datetime | None:
        """The next daily tip run: the tip time after `now`, never on a day that had one."""
        if timezone is None:
            return None
        when = next_local_time(plan.tip_time, timezone, now)
        done = max(d for d in (plan.last_tip_day, sent_on, dt.date.min) if d is not None)
        while local_date(when, timezone) <= done:
            when = next_local_time(plan.tip_time, timezone, when)
        return when

    def _next_checkin(
        self, plan: RecoveryPlan, timezone: str | None, now: dt.datetime
    ) -> dt.datetime | None:
        if timezone is None or not plan.checkins_on:
            return None
        return next_local_time(plan.checkin_time, timezone, now)

    async def _insert_ignore(self, session: AsyncSession, model: type[Any], **values: Any) -> bool:
        """INSERT … ON CONFLICT DO NOTHING on either database; True if a row was added."""
        result = await session.execute(
            _insert_for(session)(model).values(**values).on_conflict_do_nothing()
        )
        return _rowcount(result) == 1


def _insert_for(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _lookin_keys(checkin_id: int, helper_id: int) -> tuple[str, str]:
    """The outbox keys a look-in request to this helper may have: asked first, or later."""
    return (f"checkin:{checkin_id}:lookin", f"checkin:{checkin_id}:lookin:{helper_id}")
