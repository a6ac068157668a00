"""Care circles: people, their names and the question they are answering."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import flows
from bot.db.models import User
from bot.domain.errors import FlowMoved
from bot.domain.flows import Awaiting
from bot.events import log_event
from bot.services.circles.core import _Core, log
from bot.services.circles.views import Person, Standing

# How long a person's stored name is trusted without looking (see CircleService._known).
KNOWN_FOR = 30.0


def _names(user: User) -> tuple[str, str | None, str | None]:
    return (user.first_name, user.last_name, user.username)


def _nothing_to_end(asked: str | None, ran_out: bool, keep: frozenset[Awaiting]) -> bool:
    """No question open, or one to be kept that has not run out (one that ran out unseen is
    cleared)."""
    return asked is None or (asked in keep and not ran_out)


class _People(_Core):
    """Who a person is, and the flow (a multi-step question) they are in."""

    # --- people ------------------------------------------------------------------------

    async def touch(self, person: Person) -> None:
        """Record or refresh a person's Telegram name."""
        names = (person.first_name[:128], (person.last_name or "")[:128] or None, person.username)
        known = self._known.get(person.id)
        if known is not None and known[0] == names and time.monotonic() - known[1] < KNOWN_FOR:
            return
        # Nearly always the stored name is still right: look without waiting for a writer's
        # turn (at the morning peak the sweep holds it), and write only what changed.
        async with self._db.reading() as session:
            user = await session.get(User, person.id)
            current = user is not None and user.reachable and _names(user) == names
        if not current:
            await self._store(person.id, names)
        if len(self._known) > 50_000:
            self._known.clear()
        self._known[person.id] = (names, time.monotonic())

    async def _store(self, user_id: int, names: tuple[str, str | None, str | None]) -> None:
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            now = self._clock.now()
            if user is None:
                session.add(
                    User(
                        id=user_id,
                        first_name=names[0],
                        last_name=names[1],
                        username=names[2],
                        reachable=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                user.first_name, user.last_name, user.username = names
                # Writing to us proves they can be reached again.
                user.reachable = True
                user.updated_at = now

    async def set_awaiting(
        self, user_id: int, what: Awaiting | None, draft: dict[str, Any] | None = None
    ) -> None:
        """Remember which free-text answer we wait for next, and the flow's answers so far.

        Starting any flow replaces the one before: a person is in one conversation at a time.
        """
        async with self._db.transaction() as session:
            await flows.start(session, user_id, what, draft, self._clock.now())

    async def advance_flow(
        self, user_id: int, rev: int, what: Awaiting | None, draft: dict[str, Any] | None = None
    ) -> None:
        """Move the flow read at revision `rev` to its next step (or end it, `what` None).
        Raises FlowMoved if another answer moved it first."""
        async with self._db.transaction() as session:
            if not await flows.advance(session, user_id, rev, what, draft, self._clock.now()):
                raise FlowMoved()

    async def end_flow_about(
        self, session: AsyncSession, user_id: int, what: Awaiting, key: str, value: Any
    ) -> None:
        """In the caller's transaction: end the flow `what` if it is about this thing."""
        await flows.end_if(session, user_id, what, key, value, self._clock.now())

    async def end_flow(
        self, user_id: int, keep: frozenset[Awaiting] = frozenset()
    ) -> Standing | None:
        """Stop whatever question is open (/cancel, or another command in its middle) unless
        it is one of `keep`; returns where it stood, or None if nothing was ended."""
        # Nearly always no question is open, or it is one this command carries on: two
        # columns of one row say so, read without waiting for a writer's turn (every command
        # asks, at 08:00 too). Anything else is decided in the write, on where the person
        # stands then.
        async with self._db.reading() as session:
            asked, asked_at = await flows.asking(session, user_id)
        now = self._clock.now()
        if _nothing_to_end(asked, flows.ran_out(asked, asked_at, now, self._flow_ttl), keep):
            return None
        async with self._db.transaction() as session:
            standing = await self._standing(session, user_id)
            ran_out = standing.expired is not None
            asked = standing.expired if ran_out else standing.awaiting
            if _nothing_to_end(asked, ran_out, keep):
                return None
            if not await flows.advance(
                session, user_id, standing.flow_rev, None, None, self._clock.now()
            ):
                return None  # ended by the update just before this one
            log_event(log, "flow.ended", user_id=user_id, step=standing.awaiting)
            return standing if standing.awaiting is not None else None
