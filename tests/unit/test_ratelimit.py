"""Flood control: the overall budget, per-chat spacing and 429 pauses, on a fake clock."""

from __future__ import annotations

import asyncio

from bot.ratelimit import FloodControl
from tests.fakes.timer import Ticks


def test_evenly_spaced_under_the_overall_limit_and_close_to_it() -> None:
    ticks = Ticks()
    flood = FloodControl(overall_per_second=30, timer=ticks)
    sent = []
    for step in range(10_000):
        if flood.try_reserve(step) == 0:  # a new chat each time: only the overall budget
            sent.append(ticks.now)
        ticks.now += 0.001
    for i, start in enumerate(sent):
        # Even with 10 ms of jitter on the way, no window of one second can hold 31.
        assert len([t for t in sent[i:] if t < start + 1.0 + 0.01]) <= 30
    per_second = len(sent) / 10
    assert 27.5 <= per_second <= 30


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
