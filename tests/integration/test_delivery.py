"""The outbox sender against a scripted bot: order, limits, retries and Telegram's errors."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.clock import FrozenClock
from bot.db.models import OutboxMessage, OutboxState, User
from bot.db.session import Database
from bot.delivery import Delivered, OutboxSender, SenderConfig, outbox
from bot.notify import Notifier, OutMessage, Priority
from bot.ratelimit import FloodControl
from tests.fakes.timer import Ticks


@dataclass
class Sent:
    message_id: int


@dataclass
class ScriptedBot:
    """Records calls; raises the next scripted error for a method, if any."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: dict[str, list[Exception]] = field(default_factory=dict)
    delivered: list[str] = field(default_factory=list)
    # Chats whose every message fails as if Telegram had answered 502.
    failing_chats: set[int] = field(default_factory=set)
    next_id: int = 100

    async def _call(self, method: str, **params: Any) -> Sent:
        self.calls.append((method, params))
        if self.errors.get(method):
            raise self.errors[method].pop(0)
        if params.get("chat_id") in self.failing_chats:
            raise NetworkError("Bad Gateway")
        self.delivered.append(params.get("text", ""))
        self.next_id += 1
        return Sent(self.next_id)

    async def send_message(self, **params: Any) -> Sent:
        return await self._call("send_message", **params)

    async def edit_message_text(self, **params: Any) -> Sent:
        return await self._call("edit_message_text", **params)

    async def send_photo(self, **params: Any) -> Sent:
        return await self._call("send_photo", **params)


@dataclass
class Rig:
    db: Database
    clock: FrozenClock
    ticks: Ticks
    bot: ScriptedBot
    sender: OutboxSender
    notifier: Notifier
    unreachable: list[int]

    async def queue(self, key: str, chat_id: int, text: str = "hi", **kw: Any) -> None:
        async with self.db.transaction() as session:
            await self.notifier.send(
                session, key=key, chat_id=chat_id, message=OutMessage(text), kind="test", **kw
            )

    async def pass_once(self) -> None:
        await self.sender.dispatch_once()
        await self.sender.wait_inflight()

    async def later(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)
        self.ticks.now += seconds
        await self.pass_once()

    async def row(self, key: str) -> OutboxMessage:
        async with self.db.transaction() as session:
            return (
                await session.scalars(select(OutboxMessage).where(OutboxMessage.key == key))
            ).one()


@pytest.fixture
def rig(db: Database, clock: FrozenClock) -> Rig:
    return make_rig(db, clock, SenderConfig(concurrency=1, max_attempts=3))


def make_rig(db: Database, clock: FrozenClock, config: SenderConfig) -> Rig:
    ticks = Ticks()
    bot = ScriptedBot()
    unreachable: list[int] = []

    async def on_unreachable(chat_id: int) -> None:
        unreachable.append(chat_id)

    sender = OutboxSender(
        db,
        bot,  # type: ignore[arg-type]
        FloodControl(timer=ticks),
        clock,
        on_unreachable=on_unreachable,
        config=config,
    )
    return Rig(db, clock, ticks, bot, sender, Notifier(clock), unreachable)


def sent_texts(bot: ScriptedBot) -> list[str]:
    return [p["text"] for m, p in bot.calls if m == "send_message"]


async def test_reminders_go_before_tips(rig: Rig) -> None:
    await rig.queue("tip", 1, "tip", priority=Priority.LOW)
    await rig.queue("need", 2, "need", priority=Priority.NORMAL)
    await rig.queue("dose", 3, "dose", priority=Priority.URGENT)
    for _ in range(3):
        await rig.later(0.1)
    assert sent_texts(rig.bot) == ["dose", "need", "tip"]


async def test_at_a_peak_every_chats_first_goes_before_anyones_second(rig: Rig) -> None:
    # One patient has three reminders waiting (queued first), sixty others one each.
    for n in range(3):
        await rig.queue(f"many:{n}", 1, f"many {n}", priority=Priority.URGENT)
    for chat in range(100, 160):
        await rig.queue(f"one:{chat}", chat, "one", priority=Priority.URGENT)
    for _ in range(120):  # six seconds: at ~29/s, long enough for all 63
        await rig.later(0.05)
    sent = sent_texts(rig.bot)
    assert len(sent) == 63 and sent[0] == "many 0"  # the earliest queued goes first
    last_first = max(i for i, text in enumerate(sent) if text == "one")
    assert sent.index("many 1") > last_first, "a second message went before someone's first"
    assert sent.index("many 2") > sent.index("many 1")


async def test_among_reminders_the_earliest_due_goes_first(rig: Rig) -> None:
    # Queued first but due later (a snooze); by the time both are due, the earlier-due
    # reminder goes first.
    later = rig.clock.now() + dt.timedelta(seconds=1)
    await rig.queue("late", 1, "late", priority=Priority.URGENT, not_before=later)
    await rig.queue("early", 2, "early", priority=Priority.URGENT)
    await rig.later(2)
    assert sent_texts(rig.bot)[:2] == ["early", "late"]


async def test_one_chat_gets_one_message_a_second_in_order(rig: Rig) -> None:
    await rig.queue("a", 1, "first")
    await rig.queue("b", 1, "second")
    await rig.pass_once()
    await rig.later(0.5)
    assert sent_texts(rig.bot) == ["first"]
    await rig.later(0.6)
    assert sent_texts(rig.bot) == ["first", "second"]


async def test_sent_messages_record_their_telegram_id(rig: Rig) -> None:
    await rig.queue("a", 1)
    await rig.pass_once()
    row = await rig.row("a")
    assert row.state == OutboxState.SENT and row.message_id == 101 and row.attempts == 1


async def test_429_waits_as_told_then_sends_once(rig: Rig) -> None:
    rig.bot.errors["send_message"] = [RetryAfter(dt.timedelta(seconds=3))]
    await rig.queue("a", 1)
    await rig.pass_once()
    assert (await rig.row("a")).state == OutboxState.PENDING
    await rig.later(2)
    assert len(rig.bot.calls) == 1  # still waiting out the 429
    await rig.later(1.1)
    row = await rig.row("a")
    assert row.state == OutboxState.SENT and len(rig.bot.calls) == 2


async def test_a_message_failing_while_others_go_backs_off_then_gives_up(rig: Rig) -> None:
    rig.bot.failing_chats = {1}
    await rig.queue("a", 1)
    await rig.pass_once()
    for i in range(2):
        assert (await rig.row("a")).state == OutboxState.PENDING
        # Telegram answers others in between: this is no outage, the tries count.
        await rig.queue(f"other{i}", 50 + i, priority=Priority.URGENT)
        await rig.later(10)
    row = await rig.row("a")
    assert row.state == OutboxState.FAILED and row.attempts == 3
    assert sorted(rig.bot.delivered) == ["hi", "hi"]


async def test_an_outage_uses_up_no_attempts(rig: Rig) -> None:
    rig.bot.errors["send_message"] = [NetworkError("connection refused")] * 12
    await rig.queue("a", 1)
    for _ in range(12):
        await rig.later(20)
        assert (await rig.row("a")).state == OutboxState.PENDING
    await rig.later(20)
    row = await rig.row("a")
    # Twelve failures with max_attempts=3, yet sent: only the first two (before three in a row
    # made it an outage) and the successful try count.
    assert row.state == OutboxState.SENT and row.attempts == 3


async def test_403_marks_the_person_unreachable_and_skips_them(rig: Rig, db: Database) -> None:
    rig.bot.errors["send_message"] = [Forbidden("Forbidden: bot was blocked by the user")]
    await rig.queue("a", 1)
    await rig.pass_once()
    assert (await rig.row("a")).state == OutboxState.FAILED
    assert rig.unreachable == [1]


async def test_messages_to_unreachable_people_are_not_attempted(
    rig: Rig, db: Database, clock: FrozenClock
) -> None:
    async with db.transaction() as session:
        session.add(
            User(
                id=1,
                first_name="A",
                reachable=False,
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    await rig.queue("a", 1)
    await rig.pass_once()
    assert rig.bot.calls == []
    assert (await rig.row("a")).state == OutboxState.FAILED


async def test_400_drops_only_that_message(rig: Rig) -> None:
    rig.bot.errors["send_message"] = [BadRequest("Bad Request: message is too long")]
    await rig.queue("a", 1)
    await rig.queue("b", 2)
    await rig.pass_once()
    await rig.later(0.1)
    assert (await rig.row("a")).state == OutboxState.FAILED
    assert (await rig.row("b")).state == OutboxState.SENT


async def test_an_edit_targets_the_message_that_was_sent(rig: Rig) -> None:
    await rig.queue("a", 1, "Can you help?")
    await rig.pass_once()
    async with rig.db.transaction() as session:
        await rig.notifier.edit(
            session, key="a:taken", ref_key="a", message=OutMessage("Taken by Ben"), kind="t"
        )
    await rig.later(1.1)
    method, params = rig.bot.calls[-1]
    assert method == "edit_message_text"
    assert params["message_id"] == 101 and params["text"] == "Taken by Ben"


async def test_an_edit_skips_the_message_a_button_was_pressed_on(rig: Rig) -> None:
    """The handler edits the pressed message itself; the outbox leaves it alone, also when
    the edit was queued before the original's Telegram id was recorded."""
    await rig.queue("a", 1, "Can you help?")
    await rig.queue("b", 2, "Can you help?")
    await rig.pass_once()
    async with rig.db.transaction() as session:
        # "b" as a send that reached Telegram and is not recorded yet: its id is unknown.
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == "b")
            .values(state=OutboxState.SENDING, message_id=None)
        )
    pressed_a, pressed_b = (await rig.row("a")).message_id, 102
    async with rig.db.transaction() as session:
        assert not await rig.notifier.edit(
            session,
            key="a:mine",
            ref_key="a",
            message=OutMessage("You're on it"),
            kind="t",
            skip_message_id=pressed_a,
        )
        assert await rig.notifier.edit(
            session,
            key="b:mine",
            ref_key="b",
            message=OutMessage("You're on it"),
            kind="t",
            skip_message_id=pressed_b,
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == "b")
            .values(state=OutboxState.SENT, message_id=pressed_b)
        )
    calls = len(rig.bot.calls)
    await rig.later(1.1)
    assert rig.bot.calls[calls:] == []
    assert (await rig.row("b:mine")).state == OutboxState.CANCELLED


async def test_not_modified_counts_as_done(rig: Rig) -> None:
    await rig.queue("a", 1)
    await rig.pass_once()
    rig.bot.errors["edit_message_text"] = [BadRequest("Bad Request: message is not modified")]
    async with rig.db.transaction() as session:
        await rig.notifier.edit(session, key="e", ref_key="a", message=OutMessage("x"), kind="t")
    await rig.later(1.1)
    assert (await rig.row("e")).state == OutboxState.SENT


async def test_a_send_cut_off_by_a_crash_is_retried_after_its_lease(rig: Rig) -> None:
    await rig.queue("a", 1)
    async with rig.db.transaction() as session:
        # As a crashed process leaves it: claimed, leased, never recorded.
        await session.execute(
            update(OutboxMessage).values(
                state=OutboxState.SENDING,
                attempts=1,
                lease_until=rig.clock.now() + dt.timedelta(seconds=60),
            )
        )
    await rig.pass_once()
    assert rig.bot.calls == []  # the lease may still belong to a live sender
    await rig.later(61)
    assert (await rig.row("a")).state == OutboxState.SENT
    assert len(rig.bot.calls) == 1


async def test_two_senders_on_one_database_send_each_message_once(rig: Rig) -> None:
    other_bot = ScriptedBot()

    async def ignore(_chat_id: int) -> None:
        return None

    ticks = Ticks()
    other = OutboxSender(
        rig.db,
        other_bot,  # type: ignore[arg-type]
        FloodControl(timer=ticks),
        rig.clock,
        on_unreachable=ignore,
        config=SenderConfig(concurrency=4),
    )
    for i in range(30):
        await rig.queue(f"k{i}", 1000 + i, f"note {i}")
    for _ in range(10):
        await asyncio.gather(rig.sender.dispatch_once(), other.dispatch_once())
        await asyncio.gather(rig.sender.wait_inflight(), other.wait_inflight())
        rig.ticks.now += 1
        ticks.now += 1
    # Both saw the same due rows each round; the conditional claim gave each row to one.
    texts = sent_texts(rig.bot) + sent_texts(other_bot)
    assert sorted(texts) == sorted(f"note {i}" for i in range(30))


async def test_after_an_outage_waiting_messages_go_at_once(rig: Rig) -> None:
    rig.bot.errors["send_message"] = [NetworkError("connection refused")] * 3
    for i in range(3):
        await rig.queue(f"k{i}", 10 + i, f"note {i}")
    for _ in range(3):  # three failures in a row: an outage
        await rig.later(0.1)
    pending = [await rig.row(f"k{i}") for i in range(3)]
    assert all(row.state == OutboxState.PENDING for row in pending)
    await rig.queue("fresh", 99, "fresh")
    await rig.later(20)  # the probe after the pause succeeds …
    for _ in range(4):
        await rig.later(0.1)  # … and the rest follow straight away, not at their backoff
    assert sorted(rig.bot.delivered) == ["fresh", "note 0", "note 1", "note 2"]


async def test_a_single_5xx_does_not_slow_everyone_down(rig: Rig) -> None:
    rig.bot.errors["send_message"] = [NetworkError("Internal Server Error (500)")]
    await rig.queue("a", 1)
    await rig.queue("b", 2)
    await rig.pass_once()
    assert rig.sender._flood.overall_wait() < 0.1  # no outage pause after one error


async def test_delivery_hooks_hear_of_each_sent_message_and_a_failing_one_unsends_nothing(
    db: Database, clock: FrozenClock
) -> None:
    heard: list[Delivered] = []

    async def broken(_delivered: Delivered) -> None:
        raise RuntimeError("a hook's bug")

    async def record(delivered: Delivered) -> None:
        heard.append(delivered)

    async def on_unreachable(chat_id: int) -> None:
        pass

    bot = ScriptedBot()
    sender = OutboxSender(
        db,
        bot,  # type: ignore[arg-type]
        FloodControl(timer=Ticks()),
        clock,
        on_unreachable=on_unreachable,
        on_delivered=[broken, record],
    )
    rig = Rig(db, clock, Ticks(), bot, sender, Notifier(clock), [])
    await rig.queue("a", 1)
    await rig.pass_once()
    assert heard == [Delivered("test", "a", "send", clock.now())]
    row = await rig.row("a")
    assert row.state == OutboxState.SENT and row.attempts == 1 and len(bot.calls) == 1


async def test_with_paid_broadcast_reminders_go_paid_and_nothing_else(
    db: Database, clock: FrozenClock
) -> None:
    ticks = Ticks()
    bot = ScriptedBot()
    sender = OutboxSender(
        db,
        bot,  # type: ignore[arg-type]
        FloodControl(timer=ticks, paid_per_second=1000),
        clock,
        on_unreachable=lambda chat_id: asyncio.sleep(0),
        config=SenderConfig(concurrency=1, paid_kinds=frozenset({"dose.reminder"})),
    )
    rig = Rig(db, clock, ticks, bot, sender, Notifier(clock), [])
    for chat in range(1, 41):
        async with db.transaction() as session:
            await rig.notifier.send(
                session,
                key=f"r{chat}",
                chat_id=chat,
                message=OutMessage("reminder"),
                kind="dose.reminder",
                priority=Priority.URGENT,
            )
    await rig.queue("tip", 99, "tip", priority=Priority.LOW)
    for _ in range(5):
        await rig.later(0.1)  # half a second: 40 paid reminders, beyond 30 a second
    calls = [params for method, params in bot.calls if method == "send_message"]
    paid = [p for p in calls if p.get("allow_paid_broadcast")]
    assert len(paid) == 40 and {p["text"] for p in paid} == {"reminder"}
    [tip] = [p for p in calls if p["text"] == "tip"]
    assert "allow_paid_broadcast" not in tip


# --- a database that fails just after Telegram accepted a message -----------------------


def locked_once(when: Any) -> tuple[Any, list[bool]]:
    """outbox.finish_all that fails once (SQLite's busy timeout, a dropped PostgreSQL
    connection) on the first batch `when` picks, then works."""
    real = outbox.finish_all
    failed: list[bool] = []

    async def finish_all(db: Database, batch: list[Any]) -> None:
        if not failed and when(batch):
            failed.append(True)
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        await real(db, batch)

    return finish_all, failed


async def test_a_locked_database_while_recording_a_send_does_not_send_it_again(
    rig: Rig,
) -> None:
    finish_all, failed = locked_once(lambda b: any(f.state == OutboxState.SENT for f in b))
    await rig.queue("dose:1:reminder", 1, "Time for Medicine A")
    with mock.patch.object(outbox, "finish_all", finish_all):
        await rig.pass_once()
        for _ in range(5):
            await rig.later(2.0)
    assert failed
    assert sent_texts(rig.bot) == ["Time for Medicine A"]
    assert (await rig.row("dose:1:reminder")).state == OutboxState.SENT


async def test_one_failed_batch_of_records_resends_none_of_its_reminders(
    db: Database, clock: FrozenClock
) -> None:
    many = make_rig(db, clock, SenderConfig(concurrency=8))
    for chat in range(1, 9):
        await many.queue(f"dose:{chat}:reminder", chat, f"dose {chat}")
    finish_all, failed = locked_once(
        lambda b: len(b) > 1 and all(f.state == OutboxState.SENT for f in b)
    )
    with mock.patch.object(outbox, "finish_all", finish_all):
        await many.pass_once()
        for _ in range(7):
            await many.later(3)
    assert failed
    assert sorted(sent_texts(many.bot)) == sorted(f"dose {chat}" for chat in range(1, 9))


async def test_a_record_that_keeps_failing_gives_up_and_leaves_the_row_to_its_lease(
    db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    rig = make_rig(db, clock, SenderConfig(concurrency=1, lease=dt.timedelta(seconds=0.6)))
    tries: list[int] = []

    async def always_locked(db: Database, batch: list[Any]) -> None:
        if any(f.state == OutboxState.SENT for f in batch):
            tries.append(len(batch))
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        await real(db, batch)

    real = outbox.finish_all
    await rig.queue("dose:1:reminder", 1, "Time for Medicine A")
    with mock.patch.object(outbox, "finish_all", always_locked):
        await rig.pass_once()
    assert len(tries) >= 3  # tried again with backoff, for half the lease
    assert sent_texts(rig.bot) == ["Time for Medicine A"]
    assert (await rig.row("dose:1:reminder")).state == OutboxState.SENDING
    assert "outbox.sent_not_recorded" in caplog.text
    assert "Medicine A" not in caplog.text
