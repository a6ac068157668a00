"""Needs: the core every part stands on: checks, state changes, drafts, views."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db import flows
from bot.db.circles import active_membership, circle_and_patient, display_name
from bot.db.models import Circle, Need, Role, User
from bot.db.session import Database, after_commit
from bot.db.statements import rowcount
from bot.domain.errors import NeedClosed, NeedTaken, StaleAction
from bot.domain.flows import Awaiting
from bot.domain.needs import NeedAction, NeedState, next_state, next_step_at, states_allowing
from bot.notify import Notifier, Priority
from bot.services.needs.views import NeedTimings, NeedView, _card, _media, _progress

log = logging.getLogger(__package__)  # one logger for the service, named as before the split


class _Core:
    """The service's dependencies, its checks and state changes, drafts and views."""

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
        return rowcount(result) == 1

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

    async def _by_source(self, session: AsyncSession, source_ref: str) -> Need | None:
        result: Need | None = (
            await session.scalars(select(Need).where(Need.source_ref == source_ref))
        ).one_or_none()
        return result

    async def _set_flow(
        self, session: AsyncSession, user_id: int, what: Awaiting, draft: dict[str, Any]
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


async def _locked(session: AsyncSession, need_id: int) -> Need | None:
    """Read a need and lock its row (PostgreSQL; SQLite's transactions are serial anyway),
    so every change of one need takes its locks in the same order: the need first."""
    need: Need | None = await session.get(Need, need_id, with_for_update=True)
    return need
