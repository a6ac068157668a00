"""Flood control: the overall budget, per-chat spacing and 429 pauses, on a fake clock."""

from __future__ import annotations

from bot.ratelimit import FloodControl


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_more_than_the_overall_limit_in_any_second() -> None:
    ticks = Ticks()
    flood = FloodControl(overall_per_second=30, clock=ticks)
    sent = []
    for _ in range(2000):
        chat = len(sent) + 1  # a new chat each time: only the overall budget applies
        if flood.try_reserve(chat) == 0:
            sent.append(ticks.now)
        ticks.now += 0.005
    for i, start in enumerate(sent):
        in_window = [t for t in sent[i:] if t < start + 1.0]
        assert len(in_window) <= 30
    # and the budget is actually used: close to 30 a second over the 10 s simulated
    assert len(sent) >= 0.95 * 30 * 10 * (1 / 1.02)


def test_a_private_chat_gets_one_message_a_second() -> None:
    ticks = Ticks()
    flood = FloodControl(clock=ticks)
    assert flood.try_reserve(7) == 0
    assert 0.99 < flood.try_reserve(7) <= 1.0
    assert flood.try_reserve(8) == 0  # another chat is not held up
    ticks.now += 1.0
    assert flood.try_reserve(7) == 0


def test_a_group_gets_twenty_a_minute() -> None:
    ticks = Ticks()
    flood = FloodControl(clock=ticks)
    assert flood.try_reserve(-100) == 0
    assert 2.9 < flood.try_reserve(-100) <= 3.0


def test_after_a_429_nothing_is_sent_until_it_has_passed() -> None:
    ticks = Ticks()
    flood = FloodControl(clock=ticks)
    flood.pause(5)
    assert flood.overall_wait() == 5
    assert flood.try_reserve(1) == 5
    ticks.now += 5
    assert flood.try_reserve(1) == 0
