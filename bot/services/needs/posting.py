"""Needs: posting one, and the patient's walk-through to it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot import texts
from bot.db.circles import active_helpers, require_patient
from bot.db.models import User
from bot.domain.errors import EmptyNeed, NeedClosed, NoHelpers, StaleAction
from bot.domain.flows import Awaiting
from bot.domain.needs import CATEGORIES, NEED_TEXT_MAX, NeedState, clean_text, has_content
from bot.domain.requests import Request, request_key
from bot.notify import Media
from bot.services.needs.routing import _Routing
from bot.services.needs.views import Posted


class _Posting(_Routing):
    """The patient posts a need: straight away, by category, or through a walk-through."""

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
                circle_id = await require_patient(session, patient_id)
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

    async def post_category(self, patient_id: int, category: str, message_id: int) -> Posted:
        """One tap on a category (on the message `message_id`) posts it straight away."""
        if category not in CATEGORIES or category == "other":
            raise StaleAction()
        return await self.post(
            patient_id,
            texts.need_category_text(category),
            category=category,
            source_ref=request_key(Request.TAP, patient_id, message_id),
        )

    async def post_typed(self, patient_id: int, text: str, message_id: int) -> Posted:
        """A need in the patient's own words (/need <words>, or typed after "Something
        else…"), from the message `message_id`."""
        source_ref = request_key(Request.TYPED, patient_id, message_id)
        return await self.post(patient_id, text, source_ref=source_ref)

    async def begin(self, patient_id: int) -> None:
        """Start the walk-through: only a patient with someone to ask gets the categories."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, patient_id)
            if not await active_helpers(session, circle_id):
                raise NoHelpers()
            await self._end_flow(session, patient_id)

    async def await_text(self, patient_id: int, what: Awaiting, need_id: int | None = None) -> None:
        """Wait for the patient to type: a need's words (NEED_DETAIL), a note (NEED_NOTE)
        or a time (NEED_WHEN) for one of their needs."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, patient_id)
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
            circle_id = await require_patient(session, patient_id)
            if not await active_helpers(session, circle_id):
                raise NoHelpers()
            draft = {"kind": kind, "file_id": file_id, "caption": caption or "", "ref": message_id}
            await self._set_flow(session, patient_id, Awaiting.NEED_MEDIA, draft)

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
