"""One chat's updates run one at a time, in order; other chats don't wait for them."""

from __future__ import annotations

import asyncio
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Chat, Message, Update, User

from bot.ordering import ChatOrderedProcessor, chat_key


def text_update(update_id: int, chat_id: int) -> Update:
    user = User(chat_id, "Pat", is_bot=False)
    chat = Chat(chat_id, "private")
    message = Message(update_id, dt.datetime(2026, 3, 2, tzinfo=dt.UTC), chat, from_user=user)
    return Update(update_id, message=message)


async def run(processor: ChatOrderedProcessor, updates: list[tuple[Update, float]]) -> list[int]:
    """Start every update at once (as PTB does), each handler taking `delay` seconds."""
    finished: list[int] = []

    async def handle(update: Update, delay: float) -> None:
        await asyncio.sleep(delay)
        finished.append(update.update_id)

    await asyncio.gather(*(processor.process_update(u, handle(u, delay)) for u, delay in updates))
    return finished


async def test_a_slow_first_answer_still_finishes_before_the_quick_second() -> None:
    processor = ChatOrderedProcessor()
    first, second, third = (text_update(n, 100) for n in (1, 2, 3))
    assert await run(processor, [(first, 0.05), (second, 0), (third, 0)]) == [1, 2, 3]
    assert processor.chats_waiting == 0, "nothing is kept for a chat once it's idle"


async def test_other_chats_do_not_wait_behind_a_slow_one() -> None:
    processor = ChatOrderedProcessor()
    slow, other = text_update(1, 100), text_update(2, 200)
    assert await run(processor, [(slow, 0.05), (other, 0)]) == [2, 1]


async def test_a_busy_chats_queue_does_not_hold_up_other_chats() -> None:
    """Two may run at once; five of Pat's wait their turn, Anna's comes straight through."""
    processor = ChatOrderedProcessor(max_concurrent_updates=2)
    busy = [(text_update(n, 100), 0.03) for n in range(5)]
    finished = await run(processor, [*busy, (text_update(9, 200), 0)])
    assert finished.index(9) <= 1, finished


def test_updates_without_a_chat_have_no_key() -> None:
    assert chat_key(object()) is None
    assert chat_key(Update(5)) is None
    assert chat_key(text_update(1, 42)) == 42


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([100, 200, 300]), st.integers(0, 3)), max_size=20))
def test_each_chat_finishes_its_updates_in_arrival_order(
    plan: list[tuple[int, int]],
) -> None:
    updates = [(text_update(n, chat), ms / 1000) for n, (chat, ms) in enumerate(plan)]
    finished = asyncio.run(run(ChatOrderedProcessor(), updates))
    by_id = {n: chat for n, (chat, _) in enumerate(plan)}
    for chat in {100, 200, 300}:
        mine = [n for n in finished if by_id[n] == chat]
        assert mine == sorted(mine)
    assert sorted(finished) == list(range(len(plan)))
