"""Telegram's flood limits as a budget: pure arithmetic over an injected timer, no Telegram.

One budget serves everything this process sends: direct replies (through the PTB adapter in
bot.ratelimit.ptb) and the outbox sender's notifications, so both draw on one overall budget.

Messages are spaced evenly rather than sent in bursts of 30: a burst that leaves at the top of
one second can arrive bunched with the next at Telegram's end and count as 31. The spacing
runs a little under the ceiling (HEADROOM), and no rolling second of actual sends holds more
than one message under the limit (WINDOW_SPARE): a late message may catch up, but never so
far that a little jitter on the way makes a second look over the limit at Telegram's end.

Replies go first. A direct reply does not wait for the notifications' spacing: it passes the
dispatch gate as soon as the rolling second has a place, and notifications leave a few places
free while people are being answered (REPLY_ROOM). What keeps that safe for a chat: a
notification's chat is held from the moment it has its slot until it passes the gate (or
the sender gives it back), so a reply can neither overtake it nor follow it within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

HEADROOM = 0.96
# Any rolling second holds at most the limit minus this many of our messages.
WINDOW_SPARE = 1
# Extra gap per chat, so jitter on the way cannot make two messages look closer than allowed.
CHAT_MARGIN = 1.05
# Jitter is judged over this many recent sends (about two seconds at full rate), and taken as
# at most this many seconds, so one slow answer cannot throttle everything for long.
JITTER_SAMPLES = 64
MAX_JITTER = 0.25
# While people are being answered, notifications leave places of the rolling second free,
# so a reply finds one at once instead of waiting for the busiest second to pass: one more
# than the replies of the last second, at most REPLY_ROOM; "while" means a reply passed the
# gate within the last REPLY_RECENT seconds. With nobody being answered (the peak alone),
# notifications have the whole budget; with one reply now and then, they lose one place.
REPLY_ROOM = 4
REPLY_RECENT = 2.0
# A notification's chat is held from its slot until it passes the dispatch gate (or the
# sender gives the slot back), so nothing reaches the chat in between; at most this long,
# should the sender lose track of a slot. Someone waiting on a held chat looks this often.
HOLD_SECONDS = 60.0
HELD_POLL = 0.05


class Timer(Protocol):
    """Where the flood control reads the time and waits: both from one source, so a test
    that moves time by hand never waits for real."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealTimer:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FloodBudget:
    """Overall messages per second, per-private-chat spacing and per-group spacing."""

    def __init__(
        self,
        *,
        overall_per_second: float = 30,
        per_chat_seconds: float = 1.0,
        per_group_per_minute: float = 20,
        timer: Timer | None = None,
        paid_per_second: float | None = None,
    ) -> None:
        self._overall = overall_per_second
        self._interval = 1.0 / (overall_per_second * HEADROOM)
        # When the last messages were handed to the network, as many as one second may hold.
        self._dispatched: deque[float] = deque(maxlen=self._window_cap(1))
        # Seconds from the dispatch gate to Telegram's answer, for the last few sends.
        self._delays: deque[float] = deque(maxlen=JITTER_SAMPLES)
        self._chat_gap = per_chat_seconds * CHAT_MARGIN
        self._group_gap = 60.0 / per_group_per_minute * CHAT_MARGIN
        timer = timer or RealTimer()
        self._clock = timer.monotonic
        self._sleep = timer.sleep
        # When the next message may leave (a GCRA "theoretical arrival time").
        self._next_slot = 0.0
        self._chat_free_at: dict[int, float] = {}
        self._paused_until = 0.0
        self._replies_waiting = 0
        self._replies: deque[float] = deque(maxlen=REPLY_ROOM)  # when the last ones passed
        self._held: dict[int, Hold] = {}
        self._chat_turns: dict[int, _Turn] = {}
        # Messages sent with allow_paid_broadcast draw on an overall budget of their own
        # (the per-chat gaps stay this budget's: they apply to every message).
        self.paid: FloodBudget | None = (
            FloodBudget(overall_per_second=paid_per_second, timer=timer)
            if paid_per_second
            else None
        )

    def set_share(self, replicas: int) -> None:
        """Several processes send for one bot: each keeps to its share of the budget."""
        self._interval = replicas / (self._overall * HEADROOM)
        self._dispatched = deque(self._dispatched, maxlen=self._window_cap(replicas))
        if self.paid is not None:  # Telegram's 1,000/s is the bot's, not each replica's
            self.paid.set_share(replicas)

    def _window_cap(self, replicas: int) -> int:
        return max(1, math.floor((self._overall - WINDOW_SPARE) / replicas))

    # --- the budget ---------------------------------------------------------------------

    def overall_wait(self) -> float:
        """Seconds until the overall budget has room for one more message."""
        now = self._clock()
        return max(0.0, self._paused_until - now, self._next_slot - now)

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until this chat may get another notification."""
        return max(0.0, self._chat_free_at.get(chat_id, 0.0) - self._clock())

    def try_reserve(self, chat_id: int | None, *, paid: bool = False) -> float:
        """Reserve a slot now and return 0, or return how long to wait (nothing reserved).
        `paid`: the overall slot comes from the paid lane (the per-chat gap from here)."""
        lane = self.paid if paid and self.paid is not None else self
        wait = max(lane.overall_wait(), self._paused_until - self._clock())
        if chat_id is not None:
            wait = max(wait, self.chat_wait(chat_id))
        if wait > 0:
            return wait
        lane._take_slot()
        if chat_id is not None:
            self.mark_chat(chat_id)
        return 0.0

    def _take_slot(self) -> None:
        now = self._clock()
        # Up to half an interval of lateness (timer overshoot, a busy loop) may be caught up,
        # so the average rate holds; the dispatch gate bounds how far it catches up.
        # After a quiet spell there is nothing to catch up: the next slot is a full gap away.
        if now - self._next_slot > self._interval:
            self._next_slot = now + self._interval
        else:
            self._next_slot = max(self._next_slot, now - self._interval / 2) + self._interval

    def mark_chat(self, chat_id: int) -> None:
        """A message just went to this chat: hold its next notification back. The gap is
        widened by the jitter on the way, as the rolling second is (see dispatch_gate)."""
        now = self._clock()
        self._held.pop(chat_id, None)
        gap = self._group_gap if chat_id < 0 else self._chat_gap
        self._chat_free_at[chat_id] = now + gap + self.jitter()
        if len(self._chat_free_at) > 100_000:
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}

    def hold_chat(self, chat_id: int, *, reply: bool = False) -> Hold:
        """A message has its turn: nothing else reaches the chat until it has left. Only the
        returned hold can give the chat back (`release_chat`)."""
        hold = Hold(chat_id, reply)
        self._held[chat_id] = hold
        self._chat_free_at[chat_id] = max(self._clock(), self._paused_until) + HOLD_SECONDS
        return hold

    def release_chat(self, hold: Hold) -> None:
        """Done with a held chat. Sent, the hold was ended when the message passed the gate
        (its gap runs from then), and the chat may be someone else's by now: left alone.
        Still held (an edit, a failure before sending), the gap runs from now, to be safe:
        whether something reached the chat on another way is not known here."""
        if self._held.get(hold.chat_id) is hold:
            self.mark_chat(hold.chat_id)

    async def reclaim(self, chat_id: int) -> Hold | None:
        """A notification about to pass its gate: does its chat's hold still stand? Nearly
        always (None). If it ran out on the way (HOLD_SECONDS) and a reply may have had the
        chat since, the notification waits for the chat like anyone else and holds it
        afresh; the new hold is returned, for the caller to give back if nothing is sent."""
        current = self._held.get(chat_id)
        if current is not None and not current.reply and self.chat_wait(chat_id) > 0:
            return None  # one notification per chat is in flight: this hold is its own
        await self.wait_for_chat(chat_id)
        return self.hold_chat(chat_id)

    async def wait_for_chat(self, chat_id: int) -> None:
        """Wait until the chat may have another message. A held chat frees itself as soon
        as its notification passes the gate, so it is looked at often, not slept through."""
        while (wait := self.chat_wait(chat_id)) > 0:
            await self._sleep(min(wait, HELD_POLL) if chat_id in self._held else wait)

    async def wait_for_slot(
        self, chat_id: int, stopping: Callable[[], bool], *, paid: bool = False
    ) -> Hold | None:
        """Wait for a notification's place in the budget; None if told to stop meanwhile.
        The chat is held from then on: the sender must `release_chat` the hold when done.

        Someone waiting for a reply goes first: notifications take the slots replies leave
        (a paid one does not wait for them: it has a budget of its own).
        """
        own_lane = paid and self.paid is not None
        while (self._replies_waiting and not own_lane) or (
            wait := self.try_reserve(chat_id, paid=paid)
        ) > 0:
            if stopping():
                return None
            replies_first = self._replies_waiting and not own_lane
            await self._sleep(min(self._interval if replies_first else wait, 0.5))
        hold = self.hold_chat(chat_id)
        if stopping():
            self.release_chat(hold)
            return None
        return hold

    def _room(self, now: float, reply: bool) -> float:
        """Seconds until the rolling second has a place for this message (0: now).
        Notifications leave REPLY_ROOM places free while people are being answered."""
        window = 1.0 + self.jitter()
        cap = self._dispatched.maxlen or 1
        if not reply and self._replies and now - self._replies[-1] < REPLY_RECENT:
            answered = sum(1 for t in self._replies if t + window > now)
            cap = max(1, cap - min(REPLY_ROOM, answered + 1))
        # `_dispatched` is in the order messages passed (times from one monotonic clock), so
        # the ones within the window are its newest: the message `cap` places from the end
        # is the oldest that keeps the window full, if it is within it at all. Counting the
        # whole deque instead cost the paid lane (a thousand entries) a loop per message.
        if len(self._dispatched) < cap:
            return 0.0
        oldest_in_the_way = self._dispatched[len(self._dispatched) - cap]
        return max(0.0, oldest_in_the_way + window - now)

    async def reply_gate(self) -> float:
        """The dispatch gate for a direct reply: ahead of notifications, after a 429's pause.
        Its slot is taken from the notifications' spacing after it has gone."""
        self._replies_waiting += 1
        try:
            while True:
                now = self._clock()
                wait = max(self._paused_until - now, self._room(now, reply=True))
                if wait <= 0:
                    break
                await self._sleep(wait)
        finally:
            self._replies_waiting -= 1
        self._dispatched.append(now)
        self._replies.append(now)
        self._take_slot()
        return now

    async def dispatch_gate(self, send_by: float | None = None) -> float:
        """The last check before a counted notification goes out: no rolling second holds
        more than the limit minus WINDOW_SPARE. Returns when the message passed.

        A slot is reserved a moment before the message leaves; if this process's loop is
        busy in between, messages reserved well apart leave together. Counting them here,
        when they really leave, keeps a busy moment from looking like a burst at Telegram.
        The way from here to Telegram takes longer for some messages than for others (a busy
        loop, the network), so the "second" counted here is widened by that jitter: messages
        that passed it further apart can still arrive within one second at Telegram's end.
        TooLate if it could pass only after `send_by` (on this budget's timer).
        """
        while True:
            now = self._clock()
            wait = max(self._paused_until - now, self._room(now, reply=False))
            if wait <= 0:  # a 429 that began while it waited here is waited out too
                self._dispatched.append(now)
                return now
            _in_time(now + wait, send_by)
            await self._sleep(wait)

    async def pause_passed(self, send_by: float | None = None) -> None:
        """Return once no 429 pause is running (a notification reserved before one began
        waits it out at its gate, as replies do); TooLate if that is after `send_by`."""
        while (wait := self._paused_until - self._clock()) > 0:
            _in_time(self._paused_until, send_by)
            await self._sleep(wait)

    def answered(self, passed_at: float) -> None:
        """Telegram answered a message that passed the gate at `passed_at`."""
        self._delays.append(self._clock() - passed_at)

    def jitter(self) -> float:
        """How much the time from the gate to Telegram's answer varied over recent sends."""
        if len(self._delays) < 2:
            return 0.0
        return min(MAX_JITTER, max(self._delays) - min(self._delays))

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody in this process sends until it has passed. Chats held
        for a message that waits out the pause stay held through it."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        if self.paid is not None:  # the paid lane's gate keeps it too
            self.paid.pause(seconds)
        for chat_id in self._held:
            free_at = self._chat_free_at.get(chat_id, 0.0)
            self._chat_free_at[chat_id] = max(free_at, self._paused_until + HOLD_SECONDS)

    # --- direct replies -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _chat_turn(self, chat_id: int) -> AsyncIterator[None]:
        """Replies to one chat leave one after another, in the order they were made."""
        turn = self._chat_turns.get(chat_id)
        if turn is None:
            turn = self._chat_turns[chat_id] = _Turn()
        turn.waiting += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.waiting -= 1
            if not turn.waiting:
                del self._chat_turns[chat_id]


class TooLate(Exception):
    """A notification would pass its gate only after the time its sender gave it (its claim
    could be another sender's by then): nothing was sent, and it goes back to the queue."""


def _in_time(passes_at: float, send_by: float | None) -> None:
    if send_by is not None and passes_at > send_by:
        raise TooLate


@dataclass(eq=False)
class Hold:
    """A chat held for one message (a direct reply's, or a notification's)."""

    chat_id: int
    reply: bool = False


@dataclass
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0
