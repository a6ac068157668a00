"""Needs: the patient asks, one helper takes it, everyone knows — and the clock behind it.

Every change of a need is one conditional update (`… WHERE state IN (…)`) whose row count
says whether this caller won, and every message it causes is queued through the notifier in
the same transaction. The clock's work (widening "one at a time", reminding helpers, telling
the patient honestly, expiring at a deadline) hangs off the indexed `needs.next_step_at`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

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
from bot.db.models import Circle, Membership, MemberStatus, Need, NeedOffer, Role, User
from bot.db.needs import done_counts, live_offers, on_it_counts, owner_views, round_offers
from bot.db.session import Database, after_commit
from bot.domain.clocktime import in_time_range, range_end_after
from bot.domain.needs import (
    CATEGORIES,
    LADDER_EVERYONE,
    NEED_TEXT_MAX,
    NOTE_MAX,
    Candidate,
    NeedAction,
    NeedCard,
    NeedState,
    Progress,
    Routed,
    Timings,
    clean_text,
    due_steps,
    end_of_today,
    has_content,
    ladder_order,
    next_state,
    next_step_at,
    parse_deadline,
    states_allowing,
    to_ask,
)
from bot.events import log_event
from bot.notify import Media, Notifier, OutMessage, Priority
from bot.services.errors import (
    BadDeadline,
    EmptyNeed,
    NeedClosed,
    NeedTaken,
    NoHelpers,
    NotPatient,
    NotRegistered,
    StaleAction,
)

log = logging.getLogger(__name__)

WEEK = dt.timedelta(days=7)
RECENTLY_DONE = dt.timedelta(days=3)
LIST_LIMIT = 15
RUN_BATCH = 100
DEADLINE_PRESETS = {"1h": dt.timedelta(hours=1), "2h": dt.timedelta(hours=2)}


@dataclass(frozen=True)
class NeedTimings:
    """The waits from Settings: normal and urgent."""

    remind: dt.timedelta
    ladder: dt.timedelta
    remind_urgent: dt.timedelta
    ladder_urgent: dt.timedelta

    def of(self, urgent: bool) -> Timings:
        if urgent:
            return Timings(self.remind_urgent, self.ladder_urgent)
        return Timings(self.remind, self.ladder)


@dataclass(frozen=True)
class NeedView:
    """A need as handlers see it."""

    card: NeedCard
    circle_id: int
    patient_id: int
    patient_name: str
    patient_timezone: str | None
    state: str
    owner_id: int | None
    owner_name: str | None
    route_round: int
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    done_at: dt.datetime | None
    thanked: bool
    media: Media | None

    @property
    def id(self) -> int:
        return self.card.id


@dataclass(frozen=True)
class Posted:
    """A need just posted; `routed` is None when this was a repeat of an earlier post."""

    need: NeedView
    routed: Routed | None
    trimmed: bool = False


@dataclass(frozen=True)
class Outcome:
    """What a button press did. `repeat`: it had happened already (a double tap)."""

    need: NeedView
    repeat: bool = False
    routed: Routed | None = None
    confirm: bool = False  # cancelling a need someone is on: ask the patient first
    trimmed: bool = False


@dataclass(frozen=True)
class Overview:
    """What /needs and /mytasks show one person."""

    timezone: str | None
    is_patient: bool
    is_helper: bool
    own: tuple[NeedView, ...]  # as patient: open, taken and recently done
    open: tuple[NeedView, ...]  # as helper: open needs in the circles they help
    mine: tuple[NeedView, ...]  # as helper: what they have taken
    done_this_week: int


@dataclass(frozen=True)
class WeekInCircle:
    """Who helped in one circle in the last seven days (no scores: only thanks)."""

    circle_id: int
    patient_name: str
    is_own: bool
    helpers: tuple[tuple[str, int], ...]


class NeedService:
    """Use cases for needs, and the `DueSource` that runs their clock."""

    name = "needs"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        timings: NeedTimings,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._timings = timings
        self._wake = wake or (lambda: None)

    # --- posting -----------------------------------------------------------------------

    async def post_need(
        self,
        patient_id: int,
        text: str,
        *,
        category: str = "other",
        urgent: bool = False,
        deadline: dt.datetime | None = None,
    ) -> int:
        """Post a need for this patient from another part of the bot; returns its id.

        Raises NotPatient / NotRegistered / NoHelpers / EmptyNeed like the patient's own post.
        """
        posted = await self.post(
            patient_id, text, category=category, urgent=urgent, deadline=deadline, from_flow=False
        )
        return posted.need.id

    async def post(
        self,
        patient_id: int,
        text: str,
        *,
        category: str = "other",
        urgent: bool = False,
        deadline: dt.datetime | None = None,
        media: Media | None = None,
        source_ref: str | None = None,
        from_flow: bool = True,
    ) -> Posted:
        """Post a need and send it to the helpers. With `source_ref` (the message or button
        that asked for it), a repeat of the same request returns the first post unchanged.
        `from_flow`: the patient's own flow, which ends here (what we waited for is cleared).
        """
        cleaned, trimmed = clean_text(text, NEED_TEXT_MAX)
        if not has_content(cleaned):
            if media is None:
                raise EmptyNeed()
            cleaned = texts.need_media_text(media.kind)
        if category not in CATEGORIES:
            category = "other"
        try:
            async with self._db.transaction() as session:
                if source_ref is not None:
                    existing = await self._by_source(session, source_ref)
                    if existing is not None:
                        await self._require_own(session, patient_id, existing)
                        return Posted(await self._view(session, existing), None, trimmed)
                circle_id = await self._require_patient(session, patient_id)
                need, routed = await self._create(
                    session,
                    circle_id,
                    patient_id,
                    category=category,
                    text=cleaned,
                    urgent=urgent,
                    deadline=deadline,
                    media=media,
                    source_ref=source_ref,
                )
                if from_flow:
                    await self._end_flow(session, patient_id)
                return Posted(await self._view(session, need), routed, trimmed)
        except IntegrityError:
            if source_ref is None:
                raise
            # The same request, posted at the same instant by a resent update: it lost.
            async with self._db.transaction() as session:
                existing = await self._by_source(session, source_ref)
                if existing is None:
                    raise
                return Posted(await self._view(session, existing), None, trimmed)

    async def post_category(self, patient_id: int, category: str, source_ref: str) -> Posted:
        """One tap on a category posts it straight away."""
        if category not in CATEGORIES or category == "other":
            raise StaleAction()
        return await self.post(
            patient_id, texts.need_category_text(category), category=category, source_ref=source_ref
        )

    async def begin(self, patient_id: int) -> None:
        """Start the walk-through: only a patient with someone to ask gets the categories."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, patient_id)
            if not await active_helpers(session, circle_id):
                raise NoHelpers()
            await self._end_flow(session, patient_id)

    async def await_text(self, patient_id: int, what: str, need_id: int | None = None) -> None:
        """Wait for the patient to type: a need's words ("need_detail"), a note
        ("need_note") or a time ("need_when") for one of their needs."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, patient_id)
            draft: dict[str, Any] = {}
            if need_id is not None:
                need, _, _ = await self._patient_need(session, patient_id, need_id)
                if need.state not in (NeedState.OPEN, NeedState.CLAIMED):
                    raise NeedClosed()
                draft["need"] = need.id
            elif not await active_helpers(session, circle_id):
                raise NoHelpers()
            await self._set_flow(session, patient_id, what, draft)

    async def offer_media(
        self, patient_id: int, kind: str, file_id: str, caption: str | None, message_id: int
    ) -> None:
        """A photo or voice note from the patient: keep it, and ask before sending it on."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, patient_id)
            if not await active_helpers(session, circle_id):
                raise NoHelpers()
            draft = {"kind": kind, "file_id": file_id, "caption": caption or "", "ref": message_id}
            await self._set_flow(session, patient_id, "need_media", draft)

    async def post_media(self, patient_id: int, ref: int, words: str | None = None) -> Posted:
        """Send the kept photo or voice note (`ref`: the message it came in) as a need."""
        async with self._db.transaction() as session:
            user = await session.get(User, patient_id)
            draft = user.draft if user is not None else None
        source_ref = f"media:{patient_id}:{ref}"
        if not draft or draft.get("ref") != ref or "file_id" not in draft:
            # Already sent (a double tap), or a button from an older photo.
            async with self._db.transaction() as session:
                existing = await self._by_source(session, source_ref)
                if existing is None or existing.posted_by != patient_id:
                    raise StaleAction()
                return Posted(await self._view(session, existing), None)
        text = words if words is not None and words.strip() else str(draft.get("caption") or "")
        return await self.post(
            patient_id,
            text,
            media=Media(str(draft["kind"]), str(draft["file_id"])),
            source_ref=source_ref,
        )

    # What the patient typed when we asked for it (the flow's state is in the database).

    async def detail_typed(self, patient_id: int, text: str, message_id: int) -> Posted:
        return await self.post(patient_id, text, source_ref=f"msg:{patient_id}:{message_id}")

    async def note_typed(self, patient_id: int, text: str) -> Outcome:
        return await self.add_note(patient_id, await self._draft_need(patient_id), text)

    async def when_typed(self, patient_id: int, text: str) -> Outcome:
        return await self.set_deadline(patient_id, await self._draft_need(patient_id), text)

    async def media_words(self, patient_id: int, text: str) -> Posted:
        draft = await self._draft(patient_id)
        ref = draft.get("ref")
        if not isinstance(ref, int):
            raise StaleAction()
        return await self.post_media(patient_id, ref, text)

    async def drop_media(self, patient_id: int, ref: int) -> None:
        async with self._db.transaction() as session:
            user = await session.get(User, patient_id)
            if user is None or not user.draft or user.draft.get("ref") != ref:
                raise StaleAction()
            await self._end_flow(session, patient_id)

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
            if _rowcount(result) == 0:
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
            if _rowcount(result) == 0:
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

    async def set_deadline(self, patient_id: int, need_id: int, when: str) -> Outcome:
        """By when: a preset ("1h", "2h", "today") or a time the patient typed."""
        async with self._db.transaction() as session:
            need, _, patient = await self._patient_need(session, patient_id, need_id)
            now = self._clock.now()
            zone = patient.timezone or "UTC"
            if when in DEADLINE_PRESETS:
                deadline: dt.datetime | None = now + DEADLINE_PRESETS[when]
            elif when == "today":
                deadline = end_of_today(now, zone)
            else:
                deadline = parse_deadline(when, now, zone)
            if deadline is None or deadline <= now:
                raise BadDeadline()
            won = await self._transition(session, need, NeedAction.AMEND, deadline_at=deadline)
            if not won:
                raise await self._refusal(session, need)
            await self._changed(session, need, patient, "deadline")
            await self._end_flow(session, patient_id)
            log_event(log, "need.deadline_set", need_id=need.id)
            return Outcome(await self._view(session, need))

    # --- lists -------------------------------------------------------------------------

    async def overview(self, user_id: int) -> Overview:
        """/needs and /mytasks: a patient's own needs; a helper's open and taken ones."""
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise NotRegistered()
            now = self._clock.now()
            own_circle = await patient_circle_id(session, user_id)
            helping = list(
                await session.scalars(
                    select(Membership.circle_id).where(
                        Membership.user_id == user_id,
                        Membership.status == MemberStatus.ACTIVE,
                        Membership.role == Role.HELPER,
                    )
                )
            )
            if own_circle is None and not helping:
                raise NotRegistered()
            own: list[Need] = []
            if own_circle is not None:
                own = list(
                    await session.scalars(
                        select(Need)
                        .where(
                            Need.circle_id == own_circle,
                            or_(
                                Need.state.in_((NeedState.OPEN, NeedState.CLAIMED)),
                                and_(
                                    Need.state == NeedState.DONE,
                                    Need.done_at >= now - RECENTLY_DONE,
                                ),
                            ),
                        )
                        .order_by(Need.created_at.desc(), Need.id.desc())
                        .limit(LIST_LIMIT)
                    )
                )
            open_needs: list[Need] = []
            mine: list[Need] = []
            done = 0
            if helping:
                open_needs = list(
                    await session.scalars(
                        select(Need)
                        .where(Need.circle_id.in_(helping), Need.state == NeedState.OPEN)
                        .order_by(Need.urgent.desc(), Need.created_at, Need.id)
                        .limit(LIST_LIMIT)
                    )
                )
                mine = list(
                    await session.scalars(
                        select(Need)
                        .where(
                            Need.circle_id.in_(helping),
                            Need.owner_id == user_id,
                            Need.state == NeedState.CLAIMED,
                        )
                        .order_by(Need.claimed_at, Need.id)
                        .limit(LIST_LIMIT)
                    )
                )
                done = (
                    await session.scalar(
                        select(func.count()).where(
                            Need.circle_id.in_(helping),
                            Need.owner_id == user_id,
                            Need.state == NeedState.DONE,
                            Need.done_at >= now - WEEK,
                        )
                    )
                    or 0
                )
            return Overview(
                timezone=user.timezone,
                is_patient=own_circle is not None,
                is_helper=bool(helping),
                own=tuple([await self._view(session, n) for n in own]),
                open=tuple([await self._view(session, n) for n in open_needs]),
                mine=tuple([await self._view(session, n) for n in mine]),
                done_this_week=done,
            )

    async def helped_this_week(self, user_id: int) -> tuple[WeekInCircle, ...]:
        """For /circle: who helped in each of this person's circles in the last 7 days."""
        async with self._db.transaction() as session:
            rows = (
                await session.execute(
                    select(Membership.circle_id, Membership.role).where(
                        Membership.user_id == user_id, Membership.status == MemberStatus.ACTIVE
                    )
                )
            ).all()
            since = self._clock.now() - WEEK
            weeks = []
            for circle_id, role in rows:
                pair = await circle_and_patient(session, circle_id)
                if pair is None:
                    continue
                counts = await done_counts(session, circle_id, since)
                helpers = []
                for helper_id, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
                    helper = await session.get(User, helper_id)
                    if helper is not None:
                        helpers.append((display_name(helper), count))
                weeks.append(
                    WeekInCircle(
                        circle_id, display_name(pair[1]), role == Role.PATIENT, tuple(helpers)
                    )
                )
            return tuple(weeks)

    # --- a helper leaves or is removed -------------------------------------------------

    async def member_gone(self, session: AsyncSession, circle_id: int, user_id: int) -> None:
        """Called in the transaction that ends a membership: what they had taken goes out
        again, and their messages stop offering anything."""
        pair = await circle_and_patient(session, circle_id)
        if pair is None:
            return
        circle, patient = pair
        owned = list(
            await session.scalars(
                select(Need).where(
                    Need.circle_id == circle_id,
                    Need.owner_id == user_id,
                    Need.state == NeedState.CLAIMED,
                )
            )
        )
        for need in owned:
            await self._reopen(session, need, circle, patient, user_id, gone=True)
        offers = (
            await session.execute(
                select(NeedOffer, Need)
                .join(Need, Need.id == NeedOffer.need_id)
                .where(
                    Need.circle_id == circle_id,
                    NeedOffer.helper_id == user_id,
                    NeedOffer.closed_at.is_(None),
                )
            )
        ).all()
        now = self._clock.now()
        for offer, need in offers:
            message = OutMessage(
                texts.need_finished_view(display_name(patient), _card(need), "gone"),
                media=_media(need),
            )
            await self._withdraw(session, offer, need, message, now)

    # --- the clock ---------------------------------------------------------------------

    async def next_due(self) -> dt.datetime | None:
        async with self._db.transaction() as session:
            result: dt.datetime | None = await session.scalar(
                select(Need.next_step_at)
                .where(Need.next_step_at.is_not(None))
                .order_by(Need.next_step_at)
                .limit(1)
            )
            return result

    async def run_due(self, now: dt.datetime) -> int:
        """Widen, remind, tell honestly, expire: everything due by `now`, each need once."""
        handled = 0
        seen: set[int] = set()
        while True:
            async with self._db.transaction() as session:
                ids = list(
                    await session.scalars(
                        select(Need.id)
                        .where(Need.next_step_at <= now)
                        .order_by(Need.next_step_at, Need.id)
                        .limit(RUN_BATCH)
                    )
                )
            fresh = [i for i in ids if i not in seen]
            for need_id in fresh:
                seen.add(need_id)
                if await self._step(need_id, now):
                    handled += 1
            if len(ids) < RUN_BATCH or not fresh:
                return handled

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

    # --- internals: messages -----------------------------------------------------------

    def _offer_message(self, need: Need, patient: User, helper: User) -> OutMessage:
        return OutMessage(
            texts.need_offer(
                display_name(patient), _card(need), _zone(helper, patient), self._clock.now()
            ),
            keyboards.need_offer(need.id),
            _media(need),
        )

    async def _close_offers(
        self,
        session: AsyncSession,
        need: Need,
        patient: User,
        how: str,
        *,
        owner: User | None = None,
        pressed: int | None = None,
    ) -> None:
        """Stop every live offer asking: "Taken by …", or why it is no longer needed. The
        owner's own messages turn into their "Done" / "Can't make it" view instead (all but
        the one they `pressed` the button on)."""
        now = self._clock.now()
        card = _card(need)
        for offer, helper in await live_offers(session, need.id):
            zone = _zone(helper, patient)
            if owner is not None and helper.id == owner.id:
                for ref in _refs(offer):
                    if await self._notifier.cancel(session, ref):
                        continue  # held by quiet hours and never sent: nothing to show
                    offer.owner_view = True
                    await self._notifier.edit(
                        session,
                        key=f"{ref}:v{need.version}",
                        ref_key=ref,
                        message=OutMessage(
                            texts.need_owner_view(display_name(patient), card, zone, now),
                            keyboards.need_owner(need.id),
                            _media(need) if ref == offer.offer_key else None,
                        ),
                        kind="need.owner",
                        skip_message_id=pressed,
                    )
                offer.closed_at = now
                continue
            if owner is not None:
                text = texts.need_taken_view(
                    display_name(patient), card, display_name(owner), zone, now
                )
            else:
                text = texts.need_finished_view(display_name(patient), card, how)
            await self._withdraw(session, offer, need, OutMessage(text, media=_media(need)), now)

    async def _withdraw(
        self,
        session: AsyncSession,
        offer: NeedOffer,
        need: Need,
        message: OutMessage,
        now: dt.datetime,
    ) -> None:
        """An unsent offer is cancelled; a sent one is edited to `message` (no buttons)."""
        for ref in _refs(offer):
            if await self._notifier.cancel(session, ref):
                continue
            media = message.media if ref == offer.offer_key else None
            await self._notifier.edit(
                session,
                key=f"{ref}:v{need.version}",
                ref_key=ref,
                message=OutMessage(message.text, (), media),
                kind="need.closed",
            )
        offer.closed_at = offer.closed_at or now

    async def _finish_owner_views(
        self,
        session: AsyncSession,
        need: Need,
        patient: User,
        owner_id: int,
        how: str,
        *,
        pressed: int | None = None,
    ) -> None:
        """The owner's "Done" / "Can't make it" messages lose their buttons at the end (all
        but the one they `pressed` the button on)."""
        text = texts.need_finished_view(display_name(patient), _card(need), how)
        for offer in await owner_views(session, need.id, owner_id):
            for ref in _refs(offer):
                await self._notifier.edit(
                    session,
                    key=f"{ref}:v{need.version}",
                    ref_key=ref,
                    message=OutMessage(text, (), _media(need) if ref == offer.offer_key else None),
                    kind="need.closed",
                    skip_message_id=pressed,
                )
            offer.owner_view = False

    # --- internals: checks and state ---------------------------------------------------

    async def _transition(
        self,
        session: AsyncSession,
        need: Need,
        action: NeedAction,
        *,
        states: Iterable[NeedState] | None = None,
        where: Sequence[ColumnElement[bool]] = (),
        **values: Any,
    ) -> bool:
        """One conditional update; True if this caller won. `need` is re-read either way."""
        allowed = tuple(states) if states is not None else states_allowing(action)
        assert set(allowed) <= set(states_allowing(action))
        # The allowed states of one action all lead to the same state, or each keeps its own.
        targets = {next_state(state, action) for state in allowed}
        state_value: Any = targets.pop() if len(targets) == 1 else Need.state
        result = await session.execute(
            update(Need)
            .where(Need.id == need.id, Need.state.in_(allowed), *where)
            .values(state=state_value, version=Need.version + 1, **values)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(need)
        return _rowcount(result) == 1

    def _reschedule(self, session: AsyncSession, need: Need) -> None:
        """Point the clock at this need's next step (or at nothing once it has left open)."""
        if need.state != NeedState.OPEN:
            need.next_step_at = None
            return
        need.next_step_at = next_step_at(_progress(need), self._timings.of(need.urgent))
        after_commit(session, self._wake)

    def _priority(self, need: Need) -> Priority:
        return Priority.URGENT if need.urgent else Priority.NORMAL

    async def _refusal(self, session: AsyncSession, need: Need) -> Exception:
        """Why this press can't act on the need, in words the presser can use."""
        if need.state in (NeedState.CLAIMED, NeedState.DONE) and need.owner_id is not None:
            owner = await session.get(User, need.owner_id)
            name = display_name(owner) if owner else ""
            return NeedTaken(name, done=need.state == NeedState.DONE)
        if need.state in (NeedState.CANCELLED, NeedState.EXPIRED):
            return NeedClosed()
        return StaleAction()

    async def _helper_need(
        self, session: AsyncSession, helper_id: int, need_id: int
    ) -> tuple[Need, Circle, User]:
        """The need, if the presser is an active helper of its circle right now."""
        need = await _locked(session, need_id)
        if need is None or not await self._is_active_helper(session, need.circle_id, helper_id):
            raise StaleAction()
        pair = await circle_and_patient(session, need.circle_id)
        assert pair is not None
        return need, pair[0], pair[1]

    async def _patient_need(
        self, session: AsyncSession, patient_id: int, need_id: int
    ) -> tuple[Need, Circle, User]:
        """The need, if the presser is the patient of its circle."""
        need = await _locked(session, need_id)
        if need is None:
            raise StaleAction()
        pair = await circle_and_patient(session, need.circle_id)
        if pair is None or pair[1].id != patient_id:
            raise StaleAction()
        return need, pair[0], pair[1]

    async def _require_own(self, session: AsyncSession, patient_id: int, need: Need) -> None:
        if need.posted_by != patient_id:
            raise StaleAction()

    async def _is_active_helper(self, session: AsyncSession, circle_id: int, user_id: int) -> bool:
        membership = await active_membership(session, circle_id, user_id)
        return membership is not None and membership.role == Role.HELPER

    async def _require_patient(self, session: AsyncSession, user_id: int) -> int:
        circle_id = await patient_circle_id(session, user_id)
        if circle_id is not None:
            return circle_id
        helping = await session.scalar(
            select(Membership.id).where(
                Membership.user_id == user_id, Membership.status == MemberStatus.ACTIVE
            )
        )
        raise NotPatient() if helping is not None else NotRegistered()

    async def _by_source(self, session: AsyncSession, source_ref: str) -> Need | None:
        result: Need | None = (
            await session.scalars(select(Need).where(Need.source_ref == source_ref))
        ).one_or_none()
        return result

    async def _set_flow(
        self, session: AsyncSession, user_id: int, what: str, draft: dict[str, Any]
    ) -> None:
        await flows.start(session, user_id, what, draft, self._clock.now())

    async def _draft(self, user_id: int) -> dict[str, Any]:
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            return dict(user.draft) if user is not None and user.draft else {}

    async def _draft_need(self, user_id: int) -> int:
        need_id = (await self._draft(user_id)).get("need")
        if not isinstance(need_id, int):
            raise StaleAction()
        return need_id

    async def _end_flow(self, session: AsyncSession, user_id: int) -> None:
        await flows.start(session, user_id, None, None, self._clock.now())

    async def _view(self, session: AsyncSession, need: Need) -> NeedView:
        pair = await circle_and_patient(session, need.circle_id)
        assert pair is not None
        patient = pair[1]
        owner = await session.get(User, need.owner_id) if need.owner_id is not None else None
        return NeedView(
            card=_card(need),
            circle_id=need.circle_id,
            patient_id=patient.id,
            patient_name=display_name(patient),
            patient_timezone=patient.timezone,
            state=need.state,
            owner_id=need.owner_id,
            owner_name=display_name(owner) if owner is not None else None,
            route_round=need.route_round,
            created_at=need.created_at,
            claimed_at=need.claimed_at,
            done_at=need.done_at,
            thanked=need.thanked_at is not None,
            media=_media(need),
        )


# --- small pure helpers -----------------------------------------------------------------


def _new_round(now: dt.datetime, level: int, *, released_by: int | None) -> dict[str, Any]:
    return {
        "route_round": Need.route_round + 1,
        "routed_at": now,
        "widened_at": now,
        "ask_level": level,
        "reminded": False,
        "patient_told": False,
        "released_by": released_by,
    }


async def _locked(session: AsyncSession, need_id: int) -> Need | None:
    """Read a need and lock its row (PostgreSQL; SQLite's transactions are serial anyway),
    so every change of one need takes its locks in the same order: the need first."""
    need: Need | None = await session.get(Need, need_id, with_for_update=True)
    return need


def _card(need: Need) -> NeedCard:
    return NeedCard(
        id=need.id,
        category=need.category,
        text=need.text,
        note=need.note,
        urgent=need.urgent,
        deadline_at=need.deadline_at,
        media_kind=need.media_kind,
    )


def _media(need: Need) -> Media | None:
    if need.media_kind and need.media_file_id:
        return Media(need.media_kind, need.media_file_id)
    return None


def _progress(need: Need) -> Progress:
    return Progress(
        routed_at=need.routed_at,
        widened_at=need.widened_at,
        ask_level=need.ask_level,
        reminded=need.reminded,
        patient_told=need.patient_told,
        deadline_at=need.deadline_at,
    )


def _refs(offer: NeedOffer) -> list[str]:
    return [ref for ref in (offer.offer_key, offer.remind_key) if ref is not None]


def _zone(helper: User, patient: User) -> str:
    return helper.timezone or patient.timezone or "UTC"


def _quiet_until(helper: User, patient: User, now: dt.datetime) -> dt.datetime | None:
    """When this helper's quiet hours end, if they are in them now."""
    if helper.quiet_start is None or helper.quiet_end is None:
        return None
    zone = _zone(helper, patient)
    if not in_time_range(now, helper.quiet_start, helper.quiet_end, zone):
        return None
    return range_end_after(now, helper.quiet_end, zone)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
