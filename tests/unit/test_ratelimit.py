"""Flood control: the overall budget, per-chat spacing and 429 pauses, on a fake clock."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.error import RetryAfter

from bot.ratelimit import RESERVED, FloodControl, Hold, Reserved, TooLate
from bot.ratelimit.budget import REPLY_RECENT, REPLY_ROOM, FloodBudget
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
        async def send() -> None:
            order.append("reply")

        await flood.process_request(send, (), {}, "sendMessage", {"chat_id": 8}, None)

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


async def test_each_replica_keeps_to_its_share_of_the_paid_lane_too() -> None:
    ticks = GatedTicks()
    flood = FloodControl(overall_per_second=30, timer=ticks, paid_per_second=1000)
    flood.set_share(4)
    sent = []
    for step in range(10_000):  # ten seconds, a new chat each time
        if flood.try_reserve(step, paid=True) == 0:
            sent.append(ticks.now)
        ticks.now += 0.001
    assert 225 <= len(sent) / 10 <= 250 and rolling_max(sent, 1.0) <= 250


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


# --- replies first, safely: notifications in flight, replies to the same chats ------------


class Traffic:
    """Notifications as the outbox sender sends them (a slot, a moment's delay before the
    request, the gate) and direct replies as PTB sends them, on one flood control; records
    when each message left, per chat and overall."""

    def __init__(self, flood: FloodControl, ticks: GatedTicks) -> None:
        self.flood = flood
        self.ticks = ticks
        self.left: list[tuple[int, str, float]] = []  # chat, what, when it left
        self.reply_waits: list[float] = []

    def _send(self, chat: int, what: str) -> Any:
        async def send() -> None:
            self.left.append((chat, what, self.ticks.now))

        return send

    async def notify(self, chat: int, delay: float) -> None:
        hold = await self.flood.wait_for_slot(chat, lambda: False)
        assert hold is not None
        await self.send_reserved(hold, delay)

    async def send_reserved(self, hold: Hold, delay: float) -> None:
        """A notification with its slot, `delay` on the way to its request."""
        chat = hold.chat_id
        try:
            await self.ticks.sleep(delay)  # the sender's way from its slot to the request
            await self.flood.process_request(
                self._send(chat, "notification"), (), {}, "sendMessage", {"chat_id": chat}, RESERVED
            )
        finally:
            self.flood.release_chat(hold)

    async def send_paid(self, hold: Hold, what: str) -> None:
        """A paid broadcast with its slot, sent at once."""
        try:
            await self.flood.process_request(
                self._send(hold.chat_id, what),
                (),
                {},
                "sendMessage",
                {"chat_id": hold.chat_id, "allow_paid_broadcast": True},
                RESERVED,
            )
        finally:
            self.flood.release_chat(hold)

    async def reply(self, chat: int) -> None:
        asked = self.ticks.now
        await self.flood.process_request(
            self._send(chat, "reply"), (), {}, "sendMessage", {"chat_id": chat}, None
        )
        self.reply_waits.append(self.ticks.now - asked)

    async def run(self, tasks: list[asyncio.Task[None]], step: float = 0.002) -> None:
        while not all(task.done() for task in tasks):
            await self.ticks.advance(step)
        for task in tasks:
            task.result()

    def per_chat_gaps(self) -> list[float]:
        by_chat: dict[int, list[float]] = {}
        for chat, _, at in self.left:
            by_chat.setdefault(chat, []).append(at)
        return [b - a for times in by_chat.values() for a, b in itertools.pairwise(times)]


@settings(max_examples=40, deadline=None)
@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from(["notification", "reply"]),
            st.integers(1, 6),  # a few chats, so they collide
            st.floats(0.0, 3.0),  # when it starts
            st.floats(0.0, 1.5),  # a notification's way from its slot to the gate
        ),
        min_size=1,
        max_size=60,
    ),
    busy=st.integers(0, 29),  # the rolling second already this full of other messages
)
def test_replies_and_notifications_in_flight_keep_every_chats_gap(
    plan: list[tuple[str, int, float, float]], busy: int
) -> None:
    async def scenario() -> None:
        ticks = GatedTicks()
        flood = FloodControl(timer=ticks)
        for _ in range(busy):
            await flood.dispatch_gate()
        traffic = Traffic(flood, ticks)
        sender_chats: set[int] = set()

        async def one(what: str, chat: int, start: float, delay: float) -> None:
            await ticks.sleep(start)
            if what == "reply":
                await traffic.reply(chat)
            elif chat not in sender_chats:  # the sender has one message in flight per chat
                sender_chats.add(chat)
                try:
                    await traffic.notify(chat, delay)
                finally:
                    sender_chats.discard(chat)

        await traffic.run([asyncio.create_task(one(*p)) for p in plan])
        assert min(traffic.per_chat_gaps(), default=1.0) >= 1.0
        times = sorted(at for _, _, at in traffic.left)
        assert rolling_max(times, 1.0) <= 29 if times else True

    asyncio.run(scenario())


async def test_while_people_are_answered_a_reply_does_not_wait_for_the_peak() -> None:
    """The morning peak saturates the budget; other people use the bot meanwhile (a command
    about every 60 ms). Their replies go at once; the peak takes what they leave."""
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    traffic = Traffic(flood, ticks)
    chats = itertools.count(1_000)
    stop = False

    async def peak() -> None:
        running: set[asyncio.Task[None]] = set()
        while not stop:
            chat = next(chats)
            hold = await flood.wait_for_slot(chat, lambda: stop)
            if hold is None:
                break
            task = asyncio.create_task(traffic.send_reserved(hold, 0.0))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)

    async def people() -> None:
        nonlocal stop
        gaps = random.Random(3)
        replies = []
        for person in range(150):
            await ticks.sleep(gaps.expovariate(1 / 0.06))
            await asyncio.sleep(0)
            replies.append(asyncio.create_task(traffic.reply(person + 1)))
        await asyncio.gather(*replies)
        await ticks.sleep(1.0)
        stop = True

    sending = asyncio.create_task(peak())
    await traffic.run([asyncio.create_task(people()), sending], step=0.001)
    waits = sorted(traffic.reply_waits)
    assert len(waits) == 150
    assert waits[int(len(waits) * 0.99)] <= 0.002  # p99: at once (one step of the clock)
    times = sorted(at for _, _, at in traffic.left)
    assert rolling_max(times, 1.0) <= 29
    notified = sum(what == "notification" for _, what, _ in traffic.left)
    span = times[-1] - times[0]
    assert notified / span > 8, "the peak still had what the replies left"


async def test_with_nobody_answered_the_peak_has_the_whole_budget() -> None:
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    traffic = Traffic(flood, ticks)
    await traffic.run(
        [asyncio.create_task(traffic.notify(chat, 0.0)) for chat in range(1, 301)], step=0.002
    )
    times = sorted(at for _, _, at in traffic.left)
    assert len(times) == 300 and rolling_max(times, 1.0) <= 29
    assert 300 / (times[-1] - times[0]) > 28


async def slotted(
    chat: int, *, paid_per_second: float | None = None, paid: bool = False
) -> tuple[GatedTicks, FloodControl, Traffic, Hold]:
    """A flood control on a hand-moved clock, and a notification's slot for `chat`."""
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks, paid_per_second=paid_per_second)
    hold = await flood.wait_for_slot(chat, lambda: False, paid=paid)
    assert hold is not None
    return ticks, flood, Traffic(flood, ticks), hold


async def test_a_held_chat_is_freed_by_the_sender_when_nothing_was_sent() -> None:
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    hold = await flood.wait_for_slot(-100, lambda: False)  # an edit in a group: never counted
    assert hold is not None
    await ticks.advance(5.0)
    assert flood.chat_wait(-100) > 50  # still held: its message has not left yet
    flood.release_chat(hold)
    assert 3.1 < flood.chat_wait(-100) <= 3.15  # a full group gap from now, to be safe
    await ticks.advance(1.0)
    flood.release_chat(hold)  # a second release changes nothing
    assert 2.1 < flood.chat_wait(-100) <= 2.15


async def test_a_hold_given_back_late_cannot_free_a_chat_someone_else_holds() -> None:
    ticks, flood, traffic, first = await slotted(7)
    await flood.process_request(  # sent: its gap runs; its sender goes on (recording it)
        traffic._send(7, "first"), (), {}, "sendMessage", {"chat_id": 7}, RESERVED
    )
    await ticks.advance(1.1)
    flood.pause(5)
    reply = asyncio.create_task(traffic.reply(7))  # holds chat 7 through the pause
    await ticks.advance(0.01)
    flood.release_chat(first)  # the first one's sender finishing late
    assert flood.chat_wait(7) > 4.5
    reply.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reply


async def test_a_reply_now_and_then_costs_the_peak_one_place_at_most() -> None:
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    traffic = Traffic(flood, ticks)

    async def now_and_then() -> None:
        for person in range(6):
            await ticks.sleep(1.5)
            await traffic.reply(person + 1)

    await traffic.run(
        [asyncio.create_task(now_and_then())]
        + [asyncio.create_task(traffic.notify(chat, 0.0)) for chat in range(100, 350)],
        step=0.002,
    )
    times = sorted(at for _, what, at in traffic.left if what == "notification")
    assert len(times) == 250
    # 28 places a second instead of 29, less the replies' own (28.8/s with nobody answered).
    assert 250 / (times[-1] - times[0]) > 26.5
    first, *later = traffic.reply_waits
    assert first <= 0.04  # the first after a quiet spell waits for a place, up to one gap
    assert max(later) <= 0.002


async def test_a_reply_waiting_out_a_429_keeps_its_chat_from_notifications() -> None:
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    traffic = Traffic(flood, ticks)
    flood.pause(5)
    replying = asyncio.create_task(traffic.reply(7))
    for _ in range(200):
        await ticks.advance(0.01)  # two seconds into the pause: past a chat's usual gap
    assert flood.chat_wait(7) > 1.0, "a notification could take the chat and leave with it"
    notifying = asyncio.create_task(traffic.notify(7, 0.0))
    await traffic.run([replying, notifying], step=0.01)
    assert [what for _, what, _ in traffic.left] == ["reply", "notification"]
    assert min(traffic.per_chat_gaps()) >= 1.0


async def test_a_reply_cancelled_at_the_gate_frees_its_chat() -> None:
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    traffic = Traffic(flood, ticks)
    flood.pause(5)
    replying = asyncio.create_task(traffic.reply(7))
    await ticks.advance(0.01)
    replying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await replying
    assert flood.chat_wait(7) <= 1.05


# --- found by a hostile review of "replies first" --------------------------------------


async def test_a_notification_reserved_before_a_429_waits_out_the_pause() -> None:
    ticks, flood, traffic, hold = await slotted(7)
    flood.pause(5)  # a 429 on another send in flight
    paused_at = ticks.now
    await traffic.run([asyncio.create_task(traffic.send_reserved(hold, 0.0))], step=0.01)
    [(_, _, left_at)] = traffic.left
    assert left_at >= paused_at + 5


async def test_a_paid_notification_waits_out_the_pause_too() -> None:
    ticks, flood, traffic, hold = await slotted(7, paid_per_second=1000, paid=True)
    flood.pause(3)
    paused_at = ticks.now

    await traffic.run([asyncio.create_task(traffic.send_paid(hold, "paid"))], step=0.01)
    [(_, _, left_at)] = traffic.left
    assert left_at >= paused_at + 3


async def test_a_hold_that_ran_out_on_the_way_is_taken_again_before_the_gate() -> None:
    # The notification takes 61 s from its slot to its request; its hold runs out at 60 s
    # and a reply goes then: the notification must still keep a second away from it.
    ticks, _, traffic, hold = await slotted(7)
    notification = asyncio.create_task(traffic.send_reserved(hold, 61.0))

    async def late_reply() -> None:
        await ticks.sleep(60.5)
        await traffic.reply(7)

    await traffic.run([notification, asyncio.create_task(late_reply())], step=0.05)
    assert len(traffic.left) == 2
    assert min(traffic.per_chat_gaps()) >= 1.0, traffic.left


async def test_a_429_keeps_the_chats_of_notifications_waiting_it_out() -> None:
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks)
    hold = await flood.wait_for_slot(7, lambda: False)
    assert hold is not None
    flood.pause(100)  # longer than a hold lasts
    await ticks.advance(90)
    assert flood.chat_wait(7) > 60


async def test_a_late_release_leaves_a_paid_reminder_a_second_from_a_reply() -> None:
    # Paid broadcast on: notification A went to chat 7, a reply then holds 7 while it waits
    # for room in a full second, and A's sender finishes only now. A's release must not free
    # 7 for the next (paid) reminder while the reply is still waiting.
    ticks = GatedTicks()
    flood = FloodControl(timer=ticks, paid_per_second=1000)
    traffic = Traffic(flood, ticks)
    flood._delays.extend([0.0, 0.25])
    first = await flood.wait_for_slot(7, lambda: False)
    assert first is not None
    await flood.process_request(
        traffic._send(7, "A"), (), {}, "sendMessage", {"chat_id": 7}, RESERVED
    )
    await ticks.advance(1.3)
    for _ in range(29):
        await flood.dispatch_gate()
    reply = asyncio.create_task(traffic.reply(7))
    await ticks.advance(0.01)
    flood.release_chat(first)  # A's sender, done late

    async def paid_reminder() -> None:
        hold = await flood.wait_for_slot(7, lambda: False, paid=True)
        assert hold is not None
        await traffic.send_paid(hold, "paid reminder")

    await traffic.run([reply, asyncio.create_task(paid_reminder())], step=0.01)
    assert len(traffic.left) == 3
    assert min(traffic.per_chat_gaps()) >= 1.0, traffic.left


class Reserving:
    """A flood control on a hand-moved timer, and a send that notes when it left."""

    def __init__(self) -> None:
        self.ticks = Ticks()
        self.flood = FloodControl(timer=self.ticks)
        self.sent: list[float] = []

    async def send(self, chat_id: int, within: float | None) -> None:
        async def callback() -> dict[str, Any]:
            self.sent.append(self.ticks.now)
            return {}

        await self.flood.process_request(
            callback, (), {}, "sendMessage", {"chat_id": chat_id}, Reserved(within)
        )


async def test_a_reserved_send_that_would_wait_past_its_time_is_refused_unsent() -> None:
    rig = Reserving()
    rig.flood.pause(40)  # a 429 for 40 s; the sender allows this message 25 s more
    with pytest.raises(TooLate):
        await rig.send(5, within=25)
    assert rig.sent == [] and rig.ticks.now < 1025  # refused at once, not after sleeping
    # With time enough it waits the pause out and goes.
    await rig.send(6, within=60)
    assert rig.sent and rig.sent[0] >= 1040


async def test_a_reserved_send_that_must_wait_for_its_chat_past_its_time_is_refused() -> None:
    rig = Reserving()
    # The notification's hold ran out on its way (a reply had the chat just now): its chat
    # must be waited for again, a second, and it was allowed half of one.
    rig.flood.mark_chat(5)
    with pytest.raises(TooLate):
        await rig.send(5, within=0.5)
    assert rig.sent == []
    assert rig.flood.chat_wait(5) <= 1.1  # the hold it took on the way was given back
    assert len(rig.flood._dispatched) == 0  # and no place in the rolling second was used


def room_by_counting(budget: Any, now: float, reply: bool) -> float:
    """`FloodBudget._room` as it was first written: every message within the window counted."""
    window = 1.0 + budget.jitter()
    cap = budget._dispatched.maxlen or 1
    if not reply and budget._replies and now - budget._replies[-1] < REPLY_RECENT:
        answered = sum(1 for t in budget._replies if t + window > now)
        cap = max(1, cap - min(REPLY_ROOM, answered + 1))
    recent = [t for t in budget._dispatched if t + window > now]
    if len(recent) < cap:
        return 0.0
    return recent[len(recent) - cap] + window - now


@settings(max_examples=300, deadline=None)
@given(
    per_second=st.sampled_from([30, 1000]),
    count=st.integers(0, 1100),
    spread=st.floats(0.2, 3.0),
    seed=st.integers(0, 2**32),
    delays=st.lists(st.floats(0, 0.5), max_size=5),
    replies=st.lists(st.floats(0, 3), max_size=6),
    after=st.floats(0, 2),
    reply=st.booleans(),
)
def test_the_room_in_the_rolling_second_is_what_counting_every_message_gives(
    per_second: int,
    count: int,
    spread: float,
    seed: int,
    delays: list[float],
    replies: list[float],
    after: float,
    reply: bool,
) -> None:
    """The gate looks only at the message that keeps the window full: as many places, and as
    long a wait, as counting every message of the last second. Messages come about as fast as
    the limit (`spread` times its spacing on average), so windows are full, and not, alike."""
    budget = FloodBudget(overall_per_second=per_second, timer=Ticks())
    shuffle = random.Random(seed)
    gaps = [shuffle.uniform(0, 2 * spread / per_second) for _ in range(count)]
    sent = list(itertools.accumulate(gaps, initial=1000.0))
    budget._dispatched.extend(sent)
    budget._delays.extend(delays)
    budget._replies.extend(sorted(sent[-1] - back for back in replies))
    now = sent[-1] + after * spread / 2
    assert budget._room(now, reply) == pytest.approx(room_by_counting(budget, now, reply))
