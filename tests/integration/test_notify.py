"""The outbox: each effect queued once, edits fold into unsent messages, cancels withdraw."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import OutboxMessage, OutboxState
from bot.db.session import Database
from bot.notify import Button, Media, Notifier, OutMessage, Priority


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_the_same_key_is_queued_once(db: Database, clock: FrozenClock) -> None:
    woken = []
    notifier = Notifier(clock, wake=lambda: woken.append(1))
    for _ in range(3):
        async with db.transaction() as session:
            await notifier.send(session, key="k1", chat_id=5, message=OutMessage("hi"), kind="test")
    assert len(await rows(db)) == 1
    assert woken == [1]  # only the commit that added something wakes the sender


async def test_nothing_is_queued_when_the_change_rolls_back(
    db: Database, clock: FrozenClock
) -> None:
    notifier = Notifier(clock)
    try:
        async with db.transaction() as session:
            await notifier.send(session, key="k", chat_id=5, message=OutMessage("x"), kind="t")
            raise RuntimeError("the state change failed")
    except RuntimeError:
        pass
    assert await rows(db) == []


async def test_an_edit_before_sending_changes_what_will_be_sent(
    db: Database, clock: FrozenClock
) -> None:
    notifier = Notifier(clock)
    async with db.transaction() as session:
        await notifier.send(session, key="a", chat_id=5, message=OutMessage("old"), kind="t")
        assert await notifier.edit(
            session, key="a:2", ref_key="a", message=OutMessage("new"), kind="t"
        )
    [row] = await rows(db)
    assert row.payload["text"] == "new"


async def test_an_edit_after_sending_is_queued_for_the_same_chat(
    db: Database, clock: FrozenClock
) -> None:
    notifier = Notifier(clock)
    async with db.transaction() as session:
        await notifier.send(session, key="a", chat_id=5, message=OutMessage("old"), kind="t")
    async with db.transaction() as session:
        row = (await session.scalars(select(OutboxMessage))).one()
        row.state, row.message_id = OutboxState.SENT, 99
    async with db.transaction() as session:
        assert await notifier.edit(
            session, key="a:2", ref_key="a", message=OutMessage("new"), kind="t"
        )
        assert not await notifier.edit(
            session, key="b:2", ref_key="never-sent", message=OutMessage("x"), kind="t"
        )
    _, edit = await rows(db)
    assert (edit.op, edit.chat_id, edit.ref_key) == ("edit", 5, "a")


async def test_cancel_withdraws_only_unsent(db: Database, clock: FrozenClock) -> None:
    notifier = Notifier(clock)
    async with db.transaction() as session:
        await notifier.send(session, key="a", chat_id=5, message=OutMessage("x"), kind="t")
        assert await notifier.cancel(session, "a")
        assert not await notifier.cancel(session, "a")
    [row] = await rows(db)
    assert row.state == OutboxState.CANCELLED


async def test_messages_survive_the_round_trip(db: Database, clock: FrozenClock) -> None:
    message = OutMessage(
        "<b>Photo</b>",
        buttons=[[Button("Yes", "1:a:b"), Button("Site", url="https://example.org")]],
        media=Media("photo", "file-1"),
    )
    async with db.transaction() as session:
        await Notifier(clock).send(
            session, key="m", chat_id=1, message=message, kind="t", priority=Priority.URGENT
        )
    [row] = await rows(db)
    assert OutMessage.from_payload(row.payload) == OutMessage(
        message.text, tuple(tuple(r) for r in message.buttons), message.media
    )
    assert row.priority == Priority.URGENT
