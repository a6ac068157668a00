"""A person's one conversation: which typed answer the bot waits for, and the answers so far.

Kept on the user's row, not in memory, so a restart or another replica carries it on. Every
change bumps `flow_rev`; a step that read the flow at one revision writes only if it is still
that revision, so two answers racing for one step can't both land in it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import User


async def start(
    session: AsyncSession,
    user_id: int,
    what: str | None,
    draft: dict[str, Any] | None,
    now: dt.datetime,
) -> None:
    """Begin a flow (or end it, with `what` None), replacing whatever came before."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(
            awaiting=what,
            draft=draft if what is not None else None,
            flow_rev=User.flow_rev + 1,
            flow_at=now if what is not None else None,
        )
        .execution_options(synchronize_session=False)
    )


async def asking(session: AsyncSession, user_id: int) -> tuple[str | None, dt.datetime | None]:
    """The question the person was last asked and has not answered, and since when ((None,
    None): none, or no such person); it may have run out since (`ran_out`)."""
    row = (
        await session.execute(select(User.awaiting, User.flow_at).where(User.id == user_id))
    ).first()
    return (None, None) if row is None else (row[0], row[1])


async def advance(
    session: AsyncSession,
    user_id: int,
    rev: int,
    what: str | None,
    draft: dict[str, Any] | None,
    now: dt.datetime,
) -> bool:
    """Move the flow read at `rev` to its next step (or end it); False if it moved since."""
    result = await session.execute(
        update(User)
        .where(User.id == user_id, User.flow_rev == rev)
        .values(
            awaiting=what,
            draft=draft if what is not None else None,
            flow_rev=rev + 1,
            flow_at=now if what is not None else None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def expired(user: User, now: dt.datetime, ttl: dt.timedelta) -> bool:
    """A question left unanswered this long is no longer open: a "08:10" typed the next
    day must not back-date yesterday's dose."""
    return ran_out(user.awaiting, user.flow_at, now, ttl)


def ran_out(
    awaiting: str | None, asked_at: dt.datetime | None, now: dt.datetime, ttl: dt.timedelta
) -> bool:
    """`expired`, from the two columns it looks at."""
    return awaiting is not None and asked_at is not None and now - asked_at > ttl


async def end_if(
    session: AsyncSession, user_id: int, what: str, key: str, value: Any, now: dt.datetime
) -> None:
    """End the flow if it is `what` about this thing (its draft's `key` is `value`): the
    question was answered some other way (a button on the message it was about)."""
    user = await session.get(User, user_id, populate_existing=True)
    if user is None or user.awaiting != what or (user.draft or {}).get(key) != value:
        return
    await advance(session, user_id, user.flow_rev, None, None, now)


async def end_step(session: AsyncSession, user_id: int, what: str, now: dt.datetime) -> None:
    """End the flow only if it is still waiting for `what` (a time zone set by a button
    must not close the question onboarding asked next, say)."""
    await session.execute(
        update(User)
        .where(User.id == user_id, User.awaiting == what)
        .values(awaiting=None, draft=None, flow_rev=User.flow_rev + 1, flow_at=None)
        .execution_options(synchronize_session=False)
    )
