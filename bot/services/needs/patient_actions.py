"""Needs: the patient's buttons, and the words they type for them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from bot import texts
from bot.db.circles import display_name
from bot.db.models import Need
from bot.db.statements import rowcount
from bot.domain.errors import BadDeadline, EmptyNeed, StaleAction
from bot.domain.needs import (
    LADDER_EVERYONE,
    NOTE_MAX,
    DeadlinePreset,
    NeedAction,
    NeedState,
    clean_text,
    has_content,
    parse_deadline,
    states_allowing,
)
from bot.events import log_event
from bot.notify import OutMessage, Priority
from bot.services.needs.routing import _Routing
from bot.services.needs.state import log
from bot.services.needs.views import Outcome, _card, _new_round


class _PatientActions(_Routing):
    """The patient cancels, thanks, sends again, or changes a need already sent."""

    # --- the patient's buttons ---------------------------------------------------------

    async def cancel(self, patient_id: int, need_id: int, *, confirmed: bool = False) -> Outcome:
        """The patient cancels an open need, or (once confirmed) one someone is on."""
        async with self._db.transaction() as session:
            need, _, patient = await self._patient_need(session, patient_id, need_id)
            if need.state == NeedState.CANCELLED:
                return Outcome(await self._view(session, need), repeat=True)
            if need.state == NeedState.CLAIMED and not confirmed:
                return Outcome(await self._view(session, need), confirm=True)
            states = (NeedState.OPEN, NeedState.CLAIMED) if confirmed else (NeedState.OPEN,)
            won = await self._transition(
                session,
                need,
                NeedAction.CANCEL,
                states=states,
                cancelled_at=self._clock.now(),
                next_step_at=None,
            )
            if not won:
                if need.state == NeedState.CLAIMED:
                    return Outcome(await self._view(session, need), confirm=True)
                if need.state == NeedState.CANCELLED:
                    return Outcome(await self._view(session, need), repeat=True)
                raise await self._refusal(session, need)
            await self._close_offers(session, need, patient, "cancelled")
            if need.owner_id is not None:
                await self._finish_owner_views(session, need, patient, need.owner_id, "cancelled")
                if await self._is_active_helper(session, need.circle_id, need.owner_id):
                    card = _card(need)
                    await self._notifier.send(
                        session,
                        key=f"need:{need.id}:cancelled",
                        chat_id=need.owner_id,
                        message=OutMessage(
                            texts.need_cancelled_for_owner(display_name(patient), card)
                        ),
                        kind="need.cancelled",
                        circle_id=need.circle_id,
                    )
            log_event(log, "need.cancelled", need_id=need.id)
            return Outcome(await self._view(session, need))

    async def keep(self, patient_id: int, need_id: int) -> Outcome:
        """ "No, keep it": nothing changes, but only the patient may say so."""
        async with self._db.transaction() as session:
            need, _, _ = await self._patient_need(session, patient_id, need_id)
            return Outcome(await self._view(session, need), repeat=True)

    async def thank(self, patient_id: int, need_id: int) -> Outcome:
        """ "Thank you": the helper who did it hears it, once."""
        async with self._db.transaction() as session:
            need, _, patient = await self._patient_need(session, patient_id, need_id)
            if need.state != NeedState.DONE or need.owner_id is None:
                raise StaleAction()
            result = await session.execute(
                update(Need)
                .where(
                    Need.id == need.id,
                    Need.state.in_(states_allowing(NeedAction.THANK)),
                    Need.thanked_at.is_(None),
                )
                .values(thanked_at=self._clock.now(), version=Need.version + 1)
                .execution_options(synchronize_session=False)
            )
            await session.refresh(need)
            if rowcount(result) == 0:
                return Outcome(await self._view(session, need), repeat=True)
            if await self._is_active_helper(session, need.circle_id, need.owner_id):
                await self._notifier.send(
                    session,
                    key=f"need:{need.id}:thanks",
                    chat_id=need.owner_id,
                    message=OutMessage(
                        texts.need_thanks_for_owner(display_name(patient), _card(need))
                    ),
                    kind="need.thanks",
                    priority=Priority.LOW,
                    circle_id=need.circle_id,
                )
            log_event(log, "need.thanked", need_id=need.id)
            return Outcome(await self._view(session, need))

    async def send_again(self, patient_id: int, need_id: int, route_round: int) -> Outcome:
        """ "Send again" after the honest note (a fresh round to everyone), or "Post it again"
        for one that expired or was cancelled (a new need with the same words)."""
        async with self._db.transaction() as session:
            need, circle, patient = await self._patient_need(session, patient_id, need_id)
            if need.state in (NeedState.EXPIRED, NeedState.CANCELLED):
                return await self._repost(session, need, patient_id)
            if need.state != NeedState.OPEN:
                raise await self._refusal(session, need)
            if need.route_round != route_round:
                return Outcome(await self._view(session, need), repeat=True)
            now = self._clock.now()
            won = await self._transition(
                session,
                need,
                NeedAction.RESEND,
                where=[Need.route_round == route_round],
                **_new_round(now, LADDER_EVERYONE, released_by=None),
            )
            if not won:
                if need.state == NeedState.OPEN:
                    return Outcome(await self._view(session, need), repeat=True)
                raise await self._refusal(session, need)
            routed = await self._route(session, need, circle, patient, now)
            if not routed.reached and not routed.later:
                need.patient_told = True  # the reply to "Send again" says so
            self._reschedule(session, need)
            log_event(log, "need.sent_again", need_id=need.id, round=need.route_round)
            return Outcome(await self._view(session, need), routed=routed)

    async def make_urgent(self, patient_id: int, need_id: int) -> Outcome:
        """Urgent: quiet hours no longer hold it back, and the nudges come sooner."""
        async with self._db.transaction() as session:
            need, _, patient = await self._patient_need(session, patient_id, need_id)
            if need.urgent:
                return Outcome(await self._view(session, need), repeat=True)
            won = await self._transition(
                session, need, NeedAction.AMEND, where=[Need.urgent.is_(False)], urgent=True
            )
            if not won:
                if need.urgent:
                    return Outcome(await self._view(session, need), repeat=True)
                raise await self._refusal(session, need)
            now = self._clock.now()
            if need.state == NeedState.OPEN:
                await self._release_held(session, need, patient, now)
            await self._changed(session, need, patient, "urgent")
            log_event(log, "need.made_urgent", need_id=need.id)
            return Outcome(await self._view(session, need))

    async def add_note(self, patient_id: int, need_id: int, note: str) -> Outcome:
        """A few more words for a need already sent (typed after "Add a note")."""
        cleaned, trimmed = clean_text(note, NOTE_MAX)
        if not has_content(cleaned):
            raise EmptyNeed()
        async with self._db.transaction() as session:
            need, _, patient = await self._patient_need(session, patient_id, need_id)
            combined, cut = clean_text(
                f"{need.note}\n{cleaned}" if need.note else cleaned, NOTE_MAX
            )
            won = await self._transition(session, need, NeedAction.AMEND, note=combined)
            if not won:
                raise await self._refusal(session, need)
            await self._changed(session, need, patient, "note")
            await self._end_flow(session, patient_id)
            log_event(log, "need.note_added", need_id=need.id)
            return Outcome(await self._view(session, need), trimmed=trimmed or cut)

    async def set_deadline_preset(self, patient_id: int, need_id: int, preset: str) -> Outcome:
        """A "By when?" button; anything but a preset is an old or forged button."""
        if DeadlinePreset.read(preset) is None:
            raise StaleAction()
        return await self.set_deadline(patient_id, need_id, preset)

    async def set_deadline(self, patient_id: int, need_id: int, when: str) -> Outcome:
        """By when: a preset (see DeadlinePreset) or a time the patient typed."""
        async with self._db.transaction() as session:
            need, _, patient = await self._patient_need(session, patient_id, need_id)
            now = self._clock.now()
            zone = patient.timezone or "UTC"
            preset = DeadlinePreset.read(when)
            deadline: dt.datetime | None = (
                preset.deadline(now, zone) if preset else parse_deadline(when, now, zone)
            )
            if deadline is None or deadline <= now:
                raise BadDeadline()
            won = await self._transition(session, need, NeedAction.AMEND, deadline_at=deadline)
            if not won:
                raise await self._refusal(session, need)
            await self._changed(session, need, patient, "deadline")
            await self._end_flow(session, patient_id)
            log_event(log, "need.deadline_set", need_id=need.id)
            return Outcome(await self._view(session, need))

    # What the patient typed when we asked for it (the flow's state is in the database).

    async def note_typed(self, patient_id: int, text: str) -> Outcome:
        return await self.add_note(patient_id, await self._draft_need(patient_id), text)

    async def when_typed(self, patient_id: int, text: str) -> Outcome:
        return await self.set_deadline(patient_id, await self._draft_need(patient_id), text)
