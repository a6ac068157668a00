"""The one way out: every message to someone other than the person acting is queued here.

A notification is written to the outbox in the same transaction as the change that causes it,
under an idempotency key, so it is sent exactly once per effect even across crashes and
retries. `bot.delivery` reads the outbox and talks to Telegram; nothing here does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.models import OutboxMessage, OutboxState
from bot.db.session import after_commit
from bot.db.statements import insert_or_ignore, rowcount

# A payload may carry, under this key, the copy to keep once its message has gone out (or
# never will): the message still names someone who has since deleted their data, and is
# delivered as written; what stays in the database must not name them (bot.services.privacy).
KEEP_AFTER_SEND = "keep_after_send"


def settled_payload(payload: dict[str, Any]) -> dict[str, Any] | None:
    """What to store in place of `payload` once its message is sent, failed or withdrawn."""
    kept = payload.get(KEEP_AFTER_SEND)
    return kept if isinstance(kept, dict) else None


# In an edit's payload: leave the message alone if it turns out to be this Telegram message
# (the one a button was pressed on, which the handler edits itself).
SKIP_MESSAGE_ID = "skip_message_id"


# In a payload: until when the message is worth sending (an ISO instant; a reminder matters
# until its dose is recorded missed). Later, the sender drops it unsent; until then, no count
# of failed tries gives it up (invariant 11).
RELEVANT_UNTIL = "relevant_until"
# In a payload: {"after": ISO instant, "note": HTML}: a message that goes out later than that
# (Telegram was down) carries the note, which says so.
LATE = "late"


@dataclass(frozen=True)
class LateNote:
    """What a message adds when it goes out later than `after`."""

    after: dt.datetime
    note: str


class Priority(IntEnum):
    """Lower goes first: a burst of tips never delays a medication reminder."""

    URGENT = 0
    NORMAL = 1
    LOW = 2


@dataclass(frozen=True)
class Button:
    """An inline button: callback data (see bot.callbacks) or a URL."""

    text: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Media:
    """A photo, voice note or document someone sent, passed on by its Telegram file id."""

    kind: str
    file_id: str


@dataclass(frozen=True)
class OutMessage:
    """What to show someone: HTML text, optional buttons, optional media (text is the caption)."""

    text: str
    buttons: Sequence[Sequence[Button]] = field(default_factory=tuple)
    media: Media | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"text": self.text}
        if self.buttons:
            payload["buttons"] = [
                [{"text": b.text, "data": b.data, "url": b.url} for b in row]
                for row in self.buttons
            ]
        if self.media:
            payload["media"] = {"kind": self.media.kind, "file_id": self.media.file_id}
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> OutMessage:
        buttons = tuple(
            tuple(Button(b["text"], b.get("data"), b.get("url")) for b in row)
            for row in payload.get("buttons", ())
        )
        media = payload.get("media")
        return cls(
            text=payload["text"],
            buttons=buttons,
            media=Media(media["kind"], media["file_id"]) if media else None,
        )


def relevant_until(payload: dict[str, Any]) -> dt.datetime | None:
    """Until when the message in `payload` is worth sending; None: as long as it waits."""
    value = payload.get(RELEVANT_UNTIL)
    return _instant(value) if isinstance(value, str) else None


def message_at(payload: dict[str, Any], now: dt.datetime) -> OutMessage:
    """The message to send at `now`: as queued, with its late note if it is late."""
    message = OutMessage.from_payload(payload)
    late = payload.get(LATE)
    if isinstance(late, dict) and now > _instant(str(late["after"])):
        return replace(message, text=message.text + str(late["note"]))
    return message


def _instant(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Queued:
    """A message to queue with `Notifier.send_all`: what `Notifier.send` takes, as one value."""

    key: str
    chat_id: int
    message: OutMessage
    kind: str
    priority: Priority = Priority.NORMAL
    not_before: dt.datetime | None = None
    circle_id: int | None = None
    relevant_until: dt.datetime | None = None
    late: LateNote | None = None


class Notifier:
    """Queues outgoing messages in the caller's transaction."""

    def __init__(self, clock: Clock, wake: Callable[[], None] | None = None) -> None:
        self._clock = clock
        self._wake = wake or (lambda: None)

    def set_waker(self, wake: Callable[[], None]) -> None:
        """Who to poke once a transaction with new messages commits (the sender)."""
        self._wake = wake

    async def send(
        self,
        session: AsyncSession,
        *,
        key: str,
        chat_id: int,
        message: OutMessage,
        kind: str,
        priority: Priority = Priority.NORMAL,
        not_before: dt.datetime | None = None,
        circle_id: int | None = None,
        relevant_until: dt.datetime | None = None,
        late: LateNote | None = None,
    ) -> bool:
        """Queue a new message. Returns False if this key was queued before (nothing added).

        `relevant_until`: after it the message is no longer worth sending (it is dropped);
        `late`: what it adds if Telegram lets it go out late. An edit made before it went out
        replaces both along with its content.
        """
        queued = Queued(
            key, chat_id, message, kind, priority, not_before, circle_id, relevant_until, late
        )
        return bool(await self.send_all(session, [queued]))

    async def send_all(self, session: AsyncSession, messages: Sequence[Queued]) -> set[str]:
        """Queue new messages in one statement, as `send` does one; returns the keys added."""
        rows = []
        for m in messages:
            meta: dict[str, Any] = {}
            if m.relevant_until is not None:
                meta[RELEVANT_UNTIL] = m.relevant_until.astimezone(dt.UTC).isoformat()
            if m.late is not None:
                meta[LATE] = {
                    "after": m.late.after.astimezone(dt.UTC).isoformat(),
                    "note": m.late.note,
                }
            rows.append(
                self._row(
                    key=m.key,
                    chat_id=m.chat_id,
                    op="send",
                    ref_key=None,
                    payload={**m.message.to_payload(), **meta},
                    kind=m.kind,
                    priority=m.priority,
                    not_before=m.not_before,
                    circle_id=m.circle_id,
                )
            )
        return await self._insert(session, rows)

    async def edit(
        self,
        session: AsyncSession,
        *,
        key: str,
        ref_key: str,
        message: OutMessage,
        kind: str,
        priority: Priority = Priority.NORMAL,
        skip_message_id: int | None = None,
    ) -> bool:
        """Queue a change to the message sent under `ref_key`.

        If that message has not gone out yet, it simply goes out with the new content.
        `skip_message_id` is the message a button was just pressed on: the handler shows the
        outcome there itself, and a second, identical edit would draw a 400 from Telegram,
        so that message is left out (also when its id is only known once its send lands).
        Returns False if there is no such message, it is the skipped one, or this edit was
        queued before.
        """
        ref = (
            await session.execute(
                select(
                    OutboxMessage.chat_id,
                    OutboxMessage.state,
                    OutboxMessage.circle_id,
                    OutboxMessage.message_id,
                ).where(OutboxMessage.key == ref_key)
            )
        ).one_or_none()
        if ref is None or ref.state in (OutboxState.FAILED, OutboxState.CANCELLED):
            return False
        if skip_message_id is not None and ref.message_id == skip_message_id:
            return False
        if ref.state == OutboxState.PENDING:
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.key == ref_key, OutboxMessage.state == OutboxState.PENDING)
                .values(payload=message.to_payload())
            )
            if rowcount(result) == 1:
                return True
        payload = message.to_payload()
        if skip_message_id is not None:
            payload[SKIP_MESSAGE_ID] = skip_message_id
        row = self._row(
            key=key,
            chat_id=ref.chat_id,
            op="edit",
            ref_key=ref_key,
            payload=payload,
            kind=kind,
            priority=priority,
            not_before=None,
            circle_id=ref.circle_id,
        )
        return bool(await self._insert(session, [row]))

    async def cancel(self, session: AsyncSession, key: str) -> bool:
        """Withdraw a message that has not been sent yet. True if it was withdrawn."""
        withdrawn = (
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.key == key, OutboxMessage.state == OutboxState.PENDING)
                .values(state=OutboxState.CANCELLED)
                .returning(OutboxMessage.id, OutboxMessage.payload)
            )
        ).one_or_none()
        if withdrawn is None:
            return False
        if (kept := settled_payload(withdrawn.payload)) is not None:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == withdrawn.id).values(payload=kept)
            )
        return True

    def _row(
        self,
        *,
        key: str,
        chat_id: int,
        op: str,
        ref_key: str | None,
        payload: dict[str, Any],
        kind: str,
        priority: Priority,
        not_before: dt.datetime | None,
        circle_id: int | None,
    ) -> dict[str, Any]:
        now = self._clock.now()
        return {
            "key": key,
            "kind": kind,
            "chat_id": chat_id,
            "op": op,
            "ref_key": ref_key,
            "payload": payload,
            "priority": int(priority),
            "place": 0,
            "state": OutboxState.PENDING,
            "not_before": not_before or now,
            "attempts": 0,
            "circle_id": circle_id,
            "created_at": now,
        }

    async def _insert(self, session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
        """Insert the rows whose key is new; returns those keys. Each row's `place` is how
        many messages of its priority wait for its chat before it (the sender serves short
        queues first): those already queued, and those earlier in `rows`."""
        if not rows:
            return set()
        waiting: dict[tuple[int, int], int] = {
            (chat_id, priority): count
            for chat_id, priority, count in await session.execute(
                select(OutboxMessage.chat_id, OutboxMessage.priority, func.count())
                .where(
                    OutboxMessage.chat_id.in_({row["chat_id"] for row in rows}),
                    OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
                )
                .group_by(OutboxMessage.chat_id, OutboxMessage.priority)
            )
        }
        # A key queued before (or twice in `rows`) adds nothing, so it holds no place; one row
        # alone needs no look: it either goes in with its place or not at all.
        taken: set[str] = set()
        if len(rows) > 1:
            keys = [row["key"] for row in rows]
            query = select(OutboxMessage.key).where(OutboxMessage.key.in_(keys))
            taken = set(await session.scalars(query))
        for row in rows:
            queue = (row["chat_id"], row["priority"])
            row["place"] = min(waiting.get(queue, 0), 1000)
            if row["key"] not in taken:
                taken.add(row["key"])
                waiting[queue] = waiting.get(queue, 0) + 1
        table = OutboxMessage.__table__
        statement = insert_or_ignore(session, table).returning(table.c.key)
        added = set((await session.execute(statement, rows)).scalars())
        if added:
            after_commit(session, self._poke)
        return added

    def _poke(self) -> None:
        self._wake()
