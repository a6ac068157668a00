"""Recovery: the look-in request when a check-in goes unanswered."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.buttons import LookVerb
from bot.db.circles import active_membership, circle_and_patient, display_name
from bot.db.models import (
    CheckinState,
    Circle,
    DailyCheckin,
    OutboxMessage,
    OutboxState,
    PainReport,
    RecoveryPlan,
    Role,
    User,
)
from bot.db.session import after_commit
from bot.db.statements import rowcount
from bot.domain.clocktime import local_date
from bot.domain.errors import StaleAction
from bot.events import log_event
from bot.notify import OutMessage, Priority
from bot.services.reach import look_in_people
from bot.services.recovery.core import _Core
from bot.services.recovery.views import UTC
from bot.views.reach import LookIn

log = logging.getLogger(__name__)

LOOKIN_KIND = "recovery.lookin"
# A 403 on a look-in request older than this changes nothing any more.
LOOKIN_RELEVANT = dt.timedelta(days=2)


class _LookIn(_Core):
    """The look-in request after a missed check-in, and its escalation."""

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
            if rowcount(result) != 1:
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
        if rowcount(result) != 1:
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
            message=OutMessage(text, keyboards.look_in(LookVerb.CHECKIN, checkin.id)),
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


def _lookin_keys(checkin_id: int, helper_id: int) -> tuple[str, str]:
    """The outbox keys a look-in request to this helper may have: asked first, or later."""
    return (f"checkin:{checkin_id}:lookin", f"checkin:{checkin_id}:lookin:{helper_id}")
