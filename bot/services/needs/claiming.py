"""Needs: the helpers' buttons."""

from __future__ import annotations

from sqlalchemy import update

from bot import keyboards, texts
from bot.db.circles import display_name
from bot.db.models import Need, NeedOffer, User
from bot.db.statements import rowcount
from bot.domain.needs import LADDER_EVERYONE, NeedAction, NeedState
from bot.events import log_event
from bot.notify import OutMessage
from bot.services.needs.routing import _Routing
from bot.services.needs.state import log
from bot.services.needs.views import Outcome


class _Claiming(_Routing):
    """A helper takes a need, says "Can't now", finishes it or lets it go."""

    # --- helpers' buttons --------------------------------------------------------------

    async def claim(
        self, helper_id: int, need_id: int, *, message_id: int | None = None
    ) -> Outcome:
        """ "I'll do it": the first press owns the need; everyone else is told who has it.

        `message_id` is the message the button was on: the handler shows the owner's view
        there itself (so do `complete` and `release`)."""
        async with self._db.transaction() as session:
            need, _, patient = await self._helper_need(session, helper_id, need_id)
            if need.state == NeedState.CLAIMED and need.owner_id == helper_id:
                return Outcome(await self._view(session, need), repeat=True)
            if need.state != NeedState.OPEN:
                raise await self._refusal(session, need)
            now = self._clock.now()
            won = await self._transition(
                session,
                need,
                NeedAction.CLAIM,
                owner_id=helper_id,
                claimed_at=now,
                next_step_at=None,
            )
            if not won:
                if need.state == NeedState.CLAIMED and need.owner_id == helper_id:
                    return Outcome(await self._view(session, need), repeat=True)
                raise await self._refusal(session, need)
            owner = await session.get(User, helper_id)
            assert owner is not None
            await self._close_offers(
                session, need, patient, "taken", owner=owner, pressed=message_id
            )
            view = await self._view(session, need)
            await self._notifier.send(
                session,
                key=f"need:{need.id}:r{need.route_round}:claimed",
                chat_id=patient.id,
                message=OutMessage(texts.need_claimed_for_patient(display_name(owner), view.card)),
                kind="need.claimed",
                priority=self._priority(need),
                circle_id=need.circle_id,
            )
            log_event(log, "need.claimed", need_id=need.id, user_id=helper_id)
            return Outcome(view)

    async def decline(self, helper_id: int, need_id: int) -> Outcome:
        """ "Can't now": no penalty; one at a time moves on to the next helper at once."""
        async with self._db.transaction() as session:
            need, circle, patient = await self._helper_need(session, helper_id, need_id)
            if need.state != NeedState.OPEN:
                raise await self._refusal(session, need)
            now = self._clock.now()
            result = await session.execute(
                update(NeedOffer)
                .where(
                    NeedOffer.need_id == need.id,
                    NeedOffer.helper_id == helper_id,
                    NeedOffer.closed_at.is_(None),
                    NeedOffer.declined_at.is_(None),
                )
                .values(declined_at=now)
            )
            if rowcount(result) == 0:
                return Outcome(await self._view(session, need), repeat=True)
            routed = None
            # One at a time: a "no" passes the need to the next helper straight away.
            while need.state == NeedState.OPEN and need.ask_level < LADDER_EVERYONE:
                won = await self._transition(
                    session,
                    need,
                    NeedAction.AMEND,
                    states=(NeedState.OPEN,),
                    ask_level=need.ask_level + 1,
                    widened_at=now,
                )
                if not won:
                    break
                routed = await self._route(session, need, circle, patient, now)
                if routed.reached:
                    break
            if need.state == NeedState.OPEN:
                await self._tell_if_all_declined(session, need, patient, routed=routed)
                self._reschedule(session, need)
            log_event(log, "need.declined", need_id=need.id, user_id=helper_id)
            return Outcome(await self._view(session, need), routed=routed)

    async def complete(
        self, helper_id: int, need_id: int, *, message_id: int | None = None
    ) -> Outcome:
        """ "Done": the patient is told and can say thank you."""
        async with self._db.transaction() as session:
            need, _, patient = await self._helper_need(session, helper_id, need_id)
            if need.state == NeedState.DONE and need.owner_id == helper_id:
                return Outcome(await self._view(session, need), repeat=True)
            if need.state != NeedState.CLAIMED or need.owner_id != helper_id:
                raise await self._refusal(session, need)
            won = await self._transition(
                session,
                need,
                NeedAction.COMPLETE,
                where=[Need.owner_id == helper_id],
                done_at=self._clock.now(),
            )
            if not won:
                if need.state == NeedState.DONE and need.owner_id == helper_id:
                    return Outcome(await self._view(session, need), repeat=True)
                raise await self._refusal(session, need)
            view = await self._view(session, need)
            await self._finish_owner_views(
                session, need, patient, helper_id, "done", pressed=message_id
            )
            await self._notifier.send(
                session,
                key=f"need:{need.id}:done",
                chat_id=patient.id,
                message=OutMessage(
                    texts.need_done_for_patient(view.owner_name or "", view.card),
                    keyboards.need_thank(need.id),
                ),
                kind="need.done",
                circle_id=need.circle_id,
            )
            log_event(log, "need.done", need_id=need.id, user_id=helper_id)
            return Outcome(view)

    async def release(
        self, helper_id: int, need_id: int, *, message_id: int | None = None
    ) -> Outcome:
        """ "Can't make it after all": the need reopens and goes out again (not to them)."""
        async with self._db.transaction() as session:
            need, circle, patient = await self._helper_need(session, helper_id, need_id)
            if need.state == NeedState.OPEN and need.released_by == helper_id:
                return Outcome(await self._view(session, need), repeat=True)
            if need.state != NeedState.CLAIMED or need.owner_id != helper_id:
                raise await self._refusal(session, need)
            routed = await self._reopen(
                session, need, circle, patient, helper_id, gone=False, pressed=message_id
            )
            if routed is None:
                if need.state == NeedState.OPEN and need.released_by == helper_id:
                    return Outcome(await self._view(session, need), repeat=True)
                raise await self._refusal(session, need)
            log_event(log, "need.released", need_id=need.id, user_id=helper_id)
            return Outcome(await self._view(session, need), routed=routed)
