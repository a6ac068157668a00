"""Needs: who is asked, when, and what the patient hears about it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.db.circles import active_helpers, circle_and_patient, display_name
from bot.db.models import Circle, Need, NeedOffer, User
from bot.db.needs import done_counts, live_offers, on_it_counts, round_offers
from bot.domain.errors import NoHelpers
from bot.domain.needs import (
    LADDER_EVERYONE,
    Candidate,
    NeedAction,
    NeedState,
    Routed,
    ladder_order,
    to_ask,
)
from bot.events import log_event
from bot.notify import Media, OutMessage, Priority
from bot.services.needs.messages import _Messages
from bot.services.needs.state import log
from bot.services.needs.views import WEEK, Outcome, _card, _media, _new_round, _quiet_until, _zone


class _Routing(_Messages):
    """Creating a need, asking helpers round by round, and telling the patient."""

    # --- internals: routing ------------------------------------------------------------

    async def _create(
        self,
        session: AsyncSession,
        circle_id: int,
        patient_id: int,
        *,
        category: str,
        text: str,
        urgent: bool,
        deadline: dt.datetime | None,
        media: Media | None,
        source_ref: str | None,
        note: str | None = None,
    ) -> tuple[Need, Routed]:
        pair = await circle_and_patient(session, circle_id)
        assert pair is not None
        circle, patient = pair
        if not await active_helpers(session, circle_id):
            raise NoHelpers()
        now = self._clock.now()
        need = Need(
            circle_id=circle_id,
            posted_by=patient_id,
            category=category,
            text=text,
            note=note,
            media_kind=media.kind if media else None,
            media_file_id=media.file_id if media else None,
            urgent=urgent,
            deadline_at=deadline if deadline is not None and deadline > now else None,
            state=NeedState.OPEN,
            route_round=1,
            routed_at=now,
            widened_at=now,
            ask_level=1 if circle.one_at_a_time else LADDER_EVERYONE,
            reminded=False,
            patient_told=False,
            version=0,
            source_ref=source_ref,
            created_at=now,
        )
        session.add(need)
        await session.flush()
        routed = await self._route(session, need, circle, patient, now)
        if not routed.reached and not routed.later:
            need.patient_told = True  # the reply to the post says so already
        self._reschedule(session, need)
        log_event(
            log,
            "need.posted",
            need_id=need.id,
            circle_id=circle_id,
            urgent=urgent,
            media=need.media_kind,
            asked=len(routed.asked),
            held=len(routed.held),
        )
        return need, routed

    async def _route(
        self, session: AsyncSession, need: Need, circle: Circle, patient: User, now: dt.datetime
    ) -> Routed:
        """Ask whoever this round's ladder level says should have been asked by now."""
        asked = {
            offer.helper_id for offer, _ in await round_offers(session, need.id, need.route_round)
        }
        pool: list[User] = []
        away: list[str] = []
        for _, user in await active_helpers(session, need.circle_id):
            if user.id == need.released_by or not user.reachable:
                continue
            if user.away_until is not None and user.away_until > now:
                if user.id not in asked:
                    away.append(display_name(user))
                continue
            pool.append(user)
        quiet = {u.id: None if need.urgent else _quiet_until(u, patient, now) for u in pool}
        if need.ask_level >= LADDER_EVERYONE:
            order = [u.id for u in pool]
        else:
            done = await done_counts(session, need.circle_id, now - WEEK)
            busy = await on_it_counts(session, need.circle_id)
            order = ladder_order(
                [
                    Candidate(u.id, done.get(u.id, 0), busy.get(u.id, 0), quiet[u.id] is None, i)
                    for i, u in enumerate(pool)
                ]
            )
        targets = to_ask(order, asked, need.ask_level)
        users = {u.id: u for u in pool}
        names: list[str] = []
        held: list[tuple[str, dt.datetime]] = []
        for helper_id in targets:
            helper = users[helper_id]
            until = quiet[helper_id]
            await self._offer(session, need, patient, helper, until, now)
            if until is None:
                names.append(display_name(helper))
            else:
                held.append((display_name(helper), until))
        later = sum(1 for h in order if h not in asked and h not in targets)
        return Routed(tuple(names), tuple(held), tuple(away), later, circle.one_at_a_time)

    async def _offer(
        self,
        session: AsyncSession,
        need: Need,
        patient: User,
        helper: User,
        held_until: dt.datetime | None,
        now: dt.datetime,
    ) -> None:
        key = f"need:{need.id}:r{need.route_round}:offer:{helper.id}"
        await self._notifier.send(
            session,
            key=key,
            chat_id=helper.id,
            message=self._offer_message(need, patient, helper),
            kind="need.offer",
            priority=self._priority(need),
            not_before=held_until,
            circle_id=need.circle_id,
        )
        session.add(
            NeedOffer(
                need_id=need.id,
                route_round=need.route_round,
                helper_id=helper.id,
                offer_key=key,
                offered_at=now,
                held_until=held_until,
            )
        )
        await session.flush()

    async def _remind(
        self, session: AsyncSession, need: Need, patient: User, now: dt.datetime
    ) -> None:
        """Nudge, once, everyone asked this round who has the offer and has not said no."""
        for offer, helper in await round_offers(session, need.id, need.route_round):
            if offer.declined_at is not None or offer.closed_at is not None:
                continue
            if offer.offered_at >= now or (offer.held_until is not None and offer.held_until > now):
                continue  # just asked, or still waiting for their quiet hours to end
            if not need.urgent and _quiet_until(helper, patient, now) is not None:
                continue  # they will see the offer itself when they wake
            if not await self._is_active_helper(session, need.circle_id, helper.id):
                continue
            key = f"need:{need.id}:r{need.route_round}:remind:{helper.id}"
            added = await self._notifier.send(
                session,
                key=key,
                chat_id=helper.id,
                message=OutMessage(
                    texts.need_reminder(
                        display_name(patient), _card(need), _zone(helper, patient), now
                    ),
                    keyboards.need_offer(need.id),
                ),
                kind="need.remind",
                priority=self._priority(need),
                circle_id=need.circle_id,
            )
            if added:
                offer.remind_key = key

    async def _honest_note(
        self, session: AsyncSession, need: Need, patient: User, *, all_declined: bool
    ) -> None:
        asked = [display_name(u) for _, u in await round_offers(session, need.id, need.route_round)]
        await self._notifier.send(
            session,
            key=f"need:{need.id}:r{need.route_round}:honest",
            chat_id=patient.id,
            message=OutMessage(
                texts.need_honest_note(_card(need), asked, all_declined=all_declined),
                keyboards.need_honest(need.id, need.route_round),
            ),
            kind="need.honest",
            priority=self._priority(need),
            circle_id=need.circle_id,
        )
        need.patient_told = True

    async def _tell_if_all_declined(
        self,
        session: AsyncSession,
        need: Need,
        patient: User,
        *,
        routed: Routed | None = None,
    ) -> None:
        """Everyone asked said "Can't now" and nobody is left: say so now, not after the
        windows. `routed`: the latest routing, if any (it knows whether anyone is left)."""
        if need.patient_told or need.state != NeedState.OPEN:
            return
        if routed is not None and (routed.reached or routed.later):
            return
        if routed is None and need.ask_level < LADDER_EVERYONE:
            return  # the ladder still has someone to ask
        offers = await round_offers(session, need.id, need.route_round)
        if not offers or any(o.declined_at is None and o.closed_at is None for o, _ in offers):
            return
        await self._honest_note(session, need, patient, all_declined=True)

    async def _reopen(
        self,
        session: AsyncSession,
        need: Need,
        circle: Circle,
        patient: User,
        helper_id: int,
        *,
        gone: bool,
        pressed: int | None = None,
    ) -> Routed | None:
        """Back to open after the owner let go (or left): a new round, without them."""
        now = self._clock.now()
        owner = await session.get(User, helper_id)
        assert owner is not None
        level = 1 if circle.one_at_a_time else LADDER_EVERYONE
        won = await self._transition(
            session,
            need,
            NeedAction.RELEASE,
            where=[Need.owner_id == helper_id],
            owner_id=None,
            claimed_at=None,
            **_new_round(now, level, released_by=helper_id),
        )
        if not won:
            return None
        how = "gone" if gone else "released"
        await self._finish_owner_views(session, need, patient, helper_id, how, pressed=pressed)
        routed = await self._route(session, need, circle, patient, now)
        nobody = not routed.reached and not routed.later
        await self._notifier.send(
            session,
            key=f"need:{need.id}:r{need.route_round}:released",
            chat_id=patient.id,
            message=OutMessage(
                texts.need_released_for_patient(
                    display_name(owner), _card(need), routed, patient.timezone, now, gone=gone
                ),
                keyboards.need_honest(need.id, need.route_round) if nobody else (),
            ),
            kind="need.released",
            priority=self._priority(need),
            circle_id=need.circle_id,
        )
        if nobody:
            need.patient_told = True
        self._reschedule(session, need)
        return routed

    async def _release_held(
        self, session: AsyncSession, need: Need, patient: User, now: dt.datetime
    ) -> None:
        """Now urgent: offers waiting for quiet hours to end go out at once."""
        for offer, helper in await live_offers(session, need.id):
            if offer.held_until is None or offer.held_until <= now:
                continue
            if await self._notifier.cancel(session, offer.offer_key):
                key = f"{offer.offer_key}:u"
                await self._notifier.send(
                    session,
                    key=key,
                    chat_id=helper.id,
                    message=self._offer_message(need, patient, helper),
                    kind="need.offer",
                    priority=Priority.URGENT,
                    circle_id=need.circle_id,
                )
                offer.offer_key = key
            offer.held_until = None
        # A ladder waiting on a quiet helper widens on the urgent timetable from here.
        self._reschedule(session, need)

    async def _changed(self, session: AsyncSession, need: Need, patient: User, what: str) -> None:
        """A note, urgency or deadline changed: update the offers, or tell the owner."""
        now = self._clock.now()
        if need.state == NeedState.OPEN:
            for offer, helper in await live_offers(session, need.id):
                if offer.declined_at is not None:
                    continue
                await self._notifier.edit(
                    session,
                    key=f"{offer.offer_key}:v{need.version}",
                    ref_key=offer.offer_key,
                    message=self._offer_message(need, patient, helper),
                    kind="need.update",
                    priority=self._priority(need),
                )
            self._reschedule(session, need)
        elif need.state == NeedState.CLAIMED and need.owner_id is not None:
            owner = await session.get(User, need.owner_id)
            assert owner is not None
            await self._notifier.send(
                session,
                key=f"need:{need.id}:changed:v{need.version}",
                chat_id=owner.id,
                message=OutMessage(
                    texts.need_changed_for_owner(
                        display_name(patient), _card(need), what, _zone(owner, patient), now
                    )
                ),
                kind="need.changed",
                priority=self._priority(need),
                circle_id=need.circle_id,
            )

    async def _expire(self, session: AsyncSession, need: Need, patient: User) -> None:
        await self._close_offers(session, need, patient, "expired")
        await self._notifier.send(
            session,
            key=f"need:{need.id}:expired",
            chat_id=patient.id,
            message=OutMessage(
                texts.need_expired_for_patient(_card(need), patient.timezone),
                keyboards.need_post_again(need.id, need.route_round),
            ),
            kind="need.expired",
            circle_id=need.circle_id,
        )
        log_event(log, "need.expired", need_id=need.id)

    async def _repost(self, session: AsyncSession, need: Need, patient_id: int) -> Outcome:
        source_ref = f"again:{need.id}"
        existing = await self._by_source(session, source_ref)
        if existing is not None:
            return Outcome(await self._view(session, existing), repeat=True)
        fresh, routed = await self._create(
            session,
            need.circle_id,
            patient_id,
            category=need.category,
            text=need.text,
            note=need.note,
            urgent=need.urgent,
            deadline=None,
            media=_media(need),
            source_ref=source_ref,
        )
        return Outcome(await self._view(session, fresh), routed=routed)
