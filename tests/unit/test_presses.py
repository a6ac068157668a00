"""Button presses against a bot that records its calls: the press is answered before any new
message, and one message is never asked for the same edit twice (Telegram answers that with
"Bad Request: message is not modified")."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Chat, Message, MessageEntity, Update
from telegram.error import NetworkError

from bot.domain.errors import StaleAction
from bot.handlers import common
from bot.handlers.common import edit_or_reply, reply
from bot.notify import Button

CHAT_ID = 5
SENT_AT = 1_700_000_000


class RecordingBot:
    """Answers as Telegram would, and records each call's method in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.edit_errors: list[Exception] = []
        self.entities: list[MessageEntity] = []  # how Telegram reads the next edit's HTML

    async def answer_callback_query(self, **params: Any) -> bool:
        self.calls.append(("answerCallbackQuery", params))
        return True

    async def send_message(self, **params: Any) -> Message:
        self.calls.append(("sendMessage", params))
        await asyncio.sleep(0)
        return Message(900, dt.datetime.now(dt.UTC), Chat(CHAT_ID, Chat.PRIVATE), text="sent")

    async def edit_message_text(self, **params: Any) -> Message:
        self.calls.append(("editMessageText", params))
        await asyncio.sleep(0)  # another press may run while Telegram answers
        if self.edit_errors:
            raise self.edit_errors.pop(0)
        # Telegram returns the message as it now reads (plain text and entities).
        entities, self.entities = self.entities, []
        return Message(
            params["message_id"],
            dt.datetime.fromtimestamp(SENT_AT, dt.UTC),
            Chat(CHAT_ID, Chat.PRIVATE),
            text=re.sub(r"<[^>]+>", "", str(params["text"])),
            entities=entities,
            edit_date=dt.datetime.fromtimestamp(SENT_AT + 60, dt.UTC),
            reply_markup=params.get("reply_markup"),
        )

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]


_query_ids = iter(range(1, 1_000_000))


def press(bot: RecordingBot, message: Message | dict[str, Any]) -> Update:
    """A press on `message` as it reads (the callback query carries the message's view)."""
    shown = message.to_dict() if isinstance(message, Message) else message
    data = {
        "update_id": 1,
        "callback_query": {
            "id": f"q{next(_query_ids)}",
            "from": {"id": CHAT_ID, "is_bot": False, "first_name": "Anna"},
            "chat_instance": "1",
            "data": "1:need:claim:1",
            "message": shown,
        },
    }
    update = Update.de_json(data, bot)  # type: ignore[arg-type]
    assert update is not None
    return update


def offer(message_id: int = 7) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": SENT_AT,
        "chat": {"id": CHAT_ID, "type": "private"},
        "from": {"id": 1, "is_bot": True, "first_name": "CareCircle"},
        "text": "Pat needs a hand",
    }


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    common._answered.clear()
    common._edited.clear()
    yield
    common._answered.clear()
    common._edited.clear()


async def test_a_new_message_after_a_press_goes_after_its_answer() -> None:
    bot = RecordingBot()
    await reply(press(bot, offer()), "Type your note")
    assert bot.methods() == ["answerCallbackQuery", "sendMessage"]


async def test_a_reply_to_a_typed_message_answers_nothing() -> None:
    bot = RecordingBot()
    update = Update.de_json(
        {
            "update_id": 2,
            "message": {**offer(), "from": {"id": 5, "is_bot": False, "first_name": "A"}},
        },
        bot,  # type: ignore[arg-type]
    )
    assert update is not None
    await reply(update, "Noted")
    assert bot.methods() == ["sendMessage"]


async def test_a_refusal_after_a_new_message_comes_as_a_message() -> None:
    bot = RecordingBot()

    @common.guarded
    async def handler(update: Update, context: common.CareContext) -> None:
        await reply(update, "Type your note")
        raise StaleAction()

    await handler(press(bot, offer()), None)  # type: ignore[arg-type]
    assert bot.methods() == ["answerCallbackQuery", "sendMessage", "sendMessage"]


async def test_two_presses_on_one_view_edit_it_once() -> None:
    bot = RecordingBot()
    view = offer()
    await asyncio.gather(
        edit_or_reply(press(bot, view), "You're on it", [[Button("Done", "d")]]),
        edit_or_reply(press(bot, view), "You're on it", [[Button("Done", "d")]]),
    )
    assert bot.methods() == ["editMessageText"]


async def test_a_press_on_the_message_as_edited_asks_for_nothing_new() -> None:
    bot = RecordingBot()
    # Spelt in a way PTB won't rebuild it (<b>, not <strong>), so only the memory of what
    # Telegram answered can tell that the message already reads so.
    wanted = "<strong>You're on it</strong>"
    bot.entities = [MessageEntity(MessageEntity.BOLD, 0, 12)]
    await edit_or_reply(press(bot, offer()), wanted)
    [(_, params)] = bot.calls
    bot.entities = [MessageEntity(MessageEntity.BOLD, 0, 12)]
    now_reads = await bot.edit_message_text(**params)
    assert now_reads.text_html == "<b>You&#x27;re on it</b>"
    bot.calls.clear()
    await edit_or_reply(press(bot, now_reads), wanted)
    assert bot.methods() == []


async def test_another_outcome_or_another_message_is_still_edited() -> None:
    bot = RecordingBot()
    await edit_or_reply(press(bot, offer()), "You're on it")
    await edit_or_reply(press(bot, offer()), "Taken by Ben")
    await edit_or_reply(press(bot, offer(message_id=8)), "You're on it")
    assert [p["message_id"] for _, p in bot.calls] == [7, 7, 8]


async def test_an_edit_that_failed_is_tried_again_on_the_next_press() -> None:
    bot = RecordingBot()
    bot.edit_errors.append(NetworkError("connection reset"))
    with pytest.raises(NetworkError):
        await edit_or_reply(press(bot, offer()), "You're on it")
    await edit_or_reply(press(bot, offer()), "You're on it")
    assert bot.methods() == ["editMessageText", "editMessageText"]
