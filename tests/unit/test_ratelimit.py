"""Flood control: the overall budget, per-chat spacing and 429 pauses, on a fake clock."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest
from telegram.error import RetryAfter

from bot.ratelimit import RESERVED, FloodControl
from tests.fakes.timer import Ticks


def rolling_max(sent: list[float], window: float) -> int:
    return max(len([t for t in sent[i:] if t < start + window]) for i, start in enumerate(sent))


def test_evenly_spaced_under_the_overall_limit_and_close_to_it() -> None:
    ticks = Ticks()
    flood = FloodControl(overall_per_second=30, timer=ticks)
    sent = []
    for step in range(10_000):
        if flood.try_reserve(step) == 0:  # a new chat each time: only the overall budget
            sent.append(ticks.now)
        ticks.now += 0.001
    assert rolling_max(sent, 1.0) <= 30
    # Even with 30 ms of jitter on the way, no second can look like 31 at Telegram's end.
    assert rolling_max(sent, 1.03) <= 30
    per_second = len(sent) / 10
    assert 28.5 <= per_second <= 30


def test_a_private_chat_gets_one_message_a_second() -> None:
    ticks = Ticks()
    flood = FloodControl(timer=ticks)
    assert flood.try_reserve(7) == 0
    ticks.now += 0.5
    assert 0.5 < flood.try_reserve(7) <= 0.55
    assert flood.try_reserve(8) == 0  # another chat is not held up
    ticks.now += 0.6
    assert flood.try_reserve(7) == 0


def test_a_group_gets_twenty_a_minute() -> None:
    ticks = Ticks()
    flood = FloodControl(timer=ticks)
    assert flood.try_reserve(-100) == 0
    assert 3.0 < flood.try_reserve(-100) <= 3.2


def test_a_direct_reply_holds_back_the_next_notification_to_that_chat() -> None:
    ticks = Ticks()
    flood = FloodControl(timer=ticks)
    flood.mark_chat(7)
    assert flood.chat_wait(7) > 1.0
    assert flood.chat_wait(8) == 0


def test_after_a_429_nothing_is_sent_until_it_has_passed() -> None:
    ticks = Ticks()
    flood = FloodControl(timer=ticks)
    flood.pause(5)
    assert flood.overall_wait() == 5
    assert flood.try_reserve(1) == 5
    ticks.now += 5
    assert flood.try_reserve(1) == 0


class GatedTicks(Ticks):
    """Sleepers wake only when the test moves time on, so two can wake at the same moment."""

    def __init__(self) -> None:
        super().__init__()
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.now + seconds, wake))
        await wake

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [w for at, w in self.sleepers if at <= self.now]
        self.sleepers = [(at, w) for at, w in self.sleepers if at > self.now]
        for wake in due:
            wake.set_result(None)
        for _ in range(5):
            await asyncio.sleep(0)


async def test_a_reply_someone_waits_for_goes_before_queued_notifications() -> None:
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    order: list[str] = []
    assert flood.try_reserve(None) == 0  # the budget is just used up

    async def notify() -> None:
        await flood.wait_for_slot(7, lambda: False)
        order.append("notification")

    async def reply() -> None:
        await flood.reserve_overall()
        order.append("reply")

    notifying = asyncio.create_task(notify())  # the sender was waiting first
    await asyncio.sleep(0)
    replying = asyncio.create_task(reply())
    await asyncio.sleep(0)
    for _ in range(4):
        await ticks.advance(0.04)  # one slot's worth at a time
    await asyncio.gather(notifying, replying)
    assert order == ["reply", "notification"]


async def gate_times(flood: FloodControl, ticks: GatedTicks, messages: int) -> list[float]:
    """Pass `messages` sends through the dispatch gate all at once, as after a busy moment."""
    left: list[float] = []

    async def send() -> None:
        await flood.dispatch_gate()
        left.append(ticks.now)

    tasks = [asyncio.create_task(send()) for _ in range(messages)]
    while not all(task.done() for task in tasks):
        await ticks.advance(0.01)
    return left


async def test_messages_held_up_together_still_leave_at_most_29_a_second() -> None:
    ticks = GatedTicks()
    flood = FloodControl(overall_per_second=30, timer=ticks)
    left = await gate_times(flood, ticks, 70)
    assert rolling_max(left, 1.0) == 29
    assert left[-1] - left[0] < 2.1  # held back just long enough, no longer


async def test_each_replica_keeps_to_its_share() -> None:
    ticks = GatedTicks()
    flood = FloodControl(overall_per_second=30, timer=ticks)
    flood.set_share(2)
    assert rolling_max(await gate_times(flood, ticks, 40), 1.0) == 14
    sent = []
    for step in range(1_000):
        if flood.try_reserve(step) == 0:
            sent.append(ticks.now)
        ticks.now += 0.001
    assert 14 <= len(sent) <= 15  # half the budget: 14.4 a second


async def test_replies_to_one_chat_leave_a_second_apart_in_order() -> None:
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    left: list[tuple[str, float]] = []

    def reply(chat_id: int, label: str) -> asyncio.Task[object]:
        async def send() -> str:
            left.append((label, ticks.now))
            return label

        return asyncio.create_task(
            flood.process_request(send, (), {}, "sendMessage", {"chat_id": chat_id}, None)
        )

    tasks = [reply(7, "first"), reply(7, "second"), reply(8, "other"), reply(7, "third")]
    while not all(task.done() for task in tasks):
        await ticks.advance(0.01)
    assert [task.result() for task in tasks] == ["first", "second", "other", "third"]
    to_seven = [at for label, at in left if label != "other"]
    assert [label for label, _ in left if label != "other"] == ["first", "second", "third"]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(to_seven))
    assert to_seven[-1] - to_seven[0] < 2.3  # held back a second each, no longer
    assert dict(left)["other"] - to_seven[0] < 0.1  # another chat is not held up
    assert not flood._chat_turns  # nothing kept once the replies have gone


async def test_a_reply_waits_for_a_notification_just_sent_to_that_chat() -> None:
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    assert flood.try_reserve(7) == 0  # the outbox sender's notification
    began = ticks.now
    sent: list[float] = []

    async def send() -> None:
        sent.append(ticks.now)

    task = asyncio.create_task(
        flood.process_request(send, (), {}, "sendMessage", {"chat_id": 7}, None)
    )
    while not task.done():
        await ticks.advance(0.01)
    assert 1.0 <= sent[0] - began < 1.1
    assert flood.chat_wait(7) > 1.0  # and holds back the next notification in turn


async def test_jitter_on_the_way_cannot_bunch_messages_into_one_second_at_telegram() -> None:
    """Messages take between 0 and 40 ms to reach Telegram (a busy loop, the network): some
    that passed the gate over a little more than a second arrive within one. The gate learns
    the jitter from the answers and counts its second that much wider."""
    ticks = GatedTicks()
    flood = FloodControl(overall_per_second=30, timer=ticks)
    ways = random.Random(7)
    arrived: list[float] = []

    async def send() -> None:
        await ticks.sleep(ways.uniform(0.0, 0.04))  # on the way; the answer comes right back
        arrived.append(ticks.now)

    tasks = [
        asyncio.create_task(
            flood.process_request(send, (), {}, "sendMessage", {"chat_id": c}, RESERVED)
        )
        for c in range(400)
    ]
    while not all(task.done() for task in tasks):
        await ticks.advance(0.002)
    arrived.sort()
    assert 0.03 < flood.jitter() <= 0.04
    assert rolling_max(arrived[64:], 1.0) <= 29  # once a few answers have shown the jitter
    assert rolling_max(arrived, 1.0) <= 30
    per_second = len(arrived) / (arrived[-1] - arrived[0])
    assert per_second > 27.5  # the wider second costs little


async def test_a_chats_gap_runs_from_when_the_gate_let_its_message_go() -> None:
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    for _ in range(29):
        await flood.dispatch_gate()  # a second's worth of messages has just left
    assert flood.try_reserve(9) == 0  # the outbox sender's slot for chat 9

    async def send() -> None:
        return None

    task = asyncio.create_task(
        flood.process_request(send, (), {}, "sendMessage", {"chat_id": 9}, RESERVED)
    )
    while not task.done():
        await ticks.advance(0.01)
    # Held about a second at the gate; the chat's next message waits a full gap from then.
    assert flood.chat_wait(9) > 1.0


async def test_a_429_on_the_bots_own_menu_pauses_no_message_and_is_not_retried() -> None:
    ticks = Ticks()
    flood = FloodControl(timer=ticks)
    calls = 0

    async def refuse() -> bool:
        nonlocal calls
        calls += 1
        raise RetryAfter(30)

    with pytest.raises(RetryAfter):
        await flood.process_request(refuse, (), {}, "setMyCommands", {"scope": {}}, None)
    assert calls == 1  # no sleep and retry inside the person's turn
    assert flood.overall_wait() == 0  # reminders and alerts are not held up
    assert flood.try_reserve(1) == 0


# --- paid broadcast: its own overall budget, the same per-chat gaps --------------------------


def test_paid_broadcasts_have_a_thousand_a_second_beside_the_thirty() -> None:
    ticks = Ticks()
    flood = FloodControl(overall_per_second=30, timer=ticks, paid_per_second=1000)
    paid, free = [], []
    for step in range(10_000):  # ten seconds, a new chat each time
        if flood.try_reserve(step, paid=True) == 0:
            paid.append(ticks.now)
        if flood.try_reserve(1_000_000 + step) == 0:
            free.append(ticks.now)
        ticks.now += 0.001
    assert 900 <= len(paid) / 10 <= 1000 and rolling_max(paid, 1.0) <= 1000
    assert 28.5 <= len(free) / 10 <= 30, "the paid lane takes nothing from the free one"


def test_a_paid_broadcast_still_keeps_one_message_a_second_to_a_chat() -> None:
    ticks = Ticks()
    flood = FloodControl(timer=ticks, paid_per_second=1000)
    assert flood.try_reserve(7, paid=True) == 0
    ticks.now += 0.5
    assert flood.try_reserve(7, paid=True) > 0.5
    assert flood.try_reserve(7) > 0.5  # nor may a reply or a free notification cut in


def test_a_429_pauses_the_paid_lane_too() -> None:
    ticks = Ticks()
    flood = FloodControl(timer=ticks, paid_per_second=1000)
    flood.pause(5)
    assert flood.try_reserve(7, paid=True) >= 5


def test_without_paid_broadcast_a_paid_request_is_an_ordinary_one() -> None:
    ticks = Ticks()
    flood = FloodControl(overall_per_second=30, timer=ticks)
    sent = sum(flood.try_reserve(step, paid=True) == 0 for step in range(1000))
    assert sent <= 2  # no separate lane: the 30/s spacing holds
