"""Needs: the clock: widening, reminding, telling honestly, expiring."""

from __future__ import annotations

import datetime as dt

from bot.db.circles import circle_and_patient
from bot.db.due import drain
from bot.db.models import Need
from bot.db.needs import due_needs, first_step_at
from bot.domain.needs import NeedAction, NeedState, Progress, due_steps, next_step_at
from bot.events import log_event
from bot.services.needs.routing import _Routing
from bot.services.needs.state import _locked, log
from bot.services.needs.views import _progress

RUN_BATCH = 100


class _Timers(_Routing):
    """The `DueSource` side: what the clock does to open needs."""

    # --- the clock ---------------------------------------------------------------------

    async def next_due(self) -> dt.datetime | None:
        async with self._db.transaction() as session:
            return await first_step_at(session)

    async def run_due(self, now: dt.datetime) -> int:
        """Widen, remind, tell honestly, expire: everything due by `now`, each need once."""
        return await drain(
            self._db,
            lambda skip: due_needs(now, skip),
            lambda need_id: self._step(need_id, now),
            batch=RUN_BATCH,
            area="needs",
        )

    async def _step(self, need_id: int, now: dt.datetime) -> bool:
        async with self._db.transaction() as session:
            need = await _locked(session, need_id)
            if need is None or need.next_step_at is None or need.next_step_at > now:
                return False
            if need.state != NeedState.OPEN:
                need.next_step_at = None
                return False
            pair = await circle_and_patient(session, need.circle_id)
            assert pair is not None
            circle, patient = pair
            timings = self._timings.of(need.urgent)
            steps = due_steps(_progress(need), timings, now)
            if steps.expire:
                won = await self._transition(
                    session,
                    need,
                    NeedAction.EXPIRE,
                    where=[Need.version == need.version],
                    expired_at=now,
                    next_step_at=None,
                )
                if won:
                    await self._expire(session, need, patient)
                return won
            after = Progress(
                routed_at=need.routed_at,
                widened_at=now if steps.widen else need.widened_at,
                ask_level=need.ask_level + 1 if steps.widen else need.ask_level,
                reminded=need.reminded or steps.remind,
                patient_told=need.patient_told or steps.tell_patient,
                deadline_at=need.deadline_at,
            )
            won = await self._transition(
                session,
                need,
                NeedAction.AMEND,
                states=(NeedState.OPEN,),
                where=[Need.version == need.version],
                widened_at=after.widened_at,
                ask_level=after.ask_level,
                reminded=after.reminded,
                patient_told=after.patient_told,
                next_step_at=next_step_at(after, timings),
            )
            if not won:
                return False
            if steps.remind:
                await self._remind(session, need, patient, now)
            routed = None
            if steps.widen:
                routed = await self._route(session, need, circle, patient, now)
            if steps.tell_patient:
                await self._honest_note(session, need, patient, all_declined=False)
            elif routed is not None:
                await self._tell_if_all_declined(session, need, patient, routed=routed)
            self._reschedule(session, need)
            log_event(
                log,
                "need.clock",
                need_id=need.id,
                widen=steps.widen,
                remind=steps.remind,
                told=steps.tell_patient,
            )
            return True
