"""Recovery: pain reports, telling helpers of severe pain, and /progress."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.db.circles import active_helpers, display_name, require_patient
from bot.db.models import (
    Access,
    CheckinState,
    DailyCheckin,
    PainReport,
    RecoveryPlan,
    StageChange,
    User,
)
from bot.db.statements import dialect_insert, rowcount
from bot.domain.clocktime import local_date, local_instant
from bot.domain.errors import NotAPainScore, StaleAction
from bot.domain.recovery import PAIN_MAX, PAIN_MIN, Reading, Reason, Stage, is_severe, suggest
from bot.domain.requests import Request, request_key
from bot.events import log_event
from bot.notify import OutMessage, Priority
from bot.services.recovery.core import _Core
from bot.services.recovery.views import UTC, PainResult, ProgressView

log = logging.getLogger(__name__)

PROGRESS_DAYS = 14
# "Let my helpers know" works on a severe report for this long.
TELL_HELPERS_WINDOW = dt.timedelta(hours=12)
# Reports looked at for a suggestion (plus the stage's first): plenty for every rule.
RECENT_REPORTS = 60


class _Pain(_Core):
    """Pain reports, what they suggest, and /progress."""

    # --- pain --------------------------------------------------------------------------

    async def pain_typed(self, user_id: int, score: int, message_id: int) -> PainResult:
        """/pain 6, in the message `message_id`."""
        key = request_key(Request.TYPED, user_id, message_id)
        return await self.record_pain(user_id, score, key=key, source="command")

    async def pain_tapped(self, user_id: int, score: int, shown: int) -> PainResult:
        """A 0–10 button under /pain; `shown` is the stamp the buttons carry (when /pain
        showed them): a second tap on them corrects the score."""
        key = request_key(Request.PAIN_TAP, user_id, shown)
        return await self.record_pain(user_id, score, key=key, source="button")

    async def checkin_answered(self, user_id: int, checkin_id: int, score: int) -> PainResult:
        """A 0–10 button under a daily check-in: one report per check-in."""
        return await self.record_pain(
            user_id, score, key=f"checkin:{checkin_id}", source="checkin", checkin_id=checkin_id
        )

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
            circle_id = await require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id, lock=True)
            now = self._clock.now()
            if checkin_id is not None:
                checkin = await session.get(DailyCheckin, checkin_id)
                if checkin is None or checkin.circle_id != circle_id:
                    raise StaleAction()
            insert = dialect_insert(session)
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
                answered=rowcount(answered),
                suggestion=suggestion.reason if suggestion else None,
            )
            return PainResult(
                report_id,
                score,
                stage,
                is_severe(score),
                suggestion,
                checkin=rowcount(answered) > 0 or checkin_id is not None,
            )

    async def tell_helpers(self, user_id: int, report_id: int) -> tuple[str, ...]:
        """ "Let my helpers know" after severe pain: close family hears, once each."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
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
            circle_id = await require_patient(session, user_id)
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
