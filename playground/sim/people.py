"""The people and groups of the simulation, and what they do: the updates the bot receives."""

from __future__ import annotations

import re
import time

from playground.sim.api import JSON
from playground.sim.core import _Core
from playground.sim.drivers import FakeGroup, FakeUser, Press
from playground.sim.entities import utf16_len
from playground.sim.state import Chat, StoredMessage, _CallbackQuery


class _People(_Core):
    """Users and groups, their messages, button presses and blocks."""

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        started: bool = False,
    ) -> FakeUser:
        """The user with this id (created on first use; later calls return the same object).

        ``started=True`` is a user who pressed Start some time ago: the bot may message them
        without them sending anything now (handy for bursts to many chats).
        """
        if user_id not in self._users:
            user = FakeUser(self, user_id, first_name, last_name, username, language_code)
            self._users[user_id] = user
            self._chats[user_id] = user._chat
        if started:
            self._users[user_id]._chat.started = True
        return self._users[user_id]

    def group(self, chat_id: int, title: str, *, username: str | None = None) -> FakeGroup:
        """A group (``-100...`` ids are supergroups) that already has the bot as a member."""
        if chat_id not in self._groups:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            chat = Chat(id=chat_id, type=kind, title=title, username=username)
            self._chats[chat_id] = chat
            self._groups[chat_id] = FakeGroup(self, chat)
        return self._groups[chat_id]

    def _user_message(
        self,
        user: FakeUser,
        chat: FakeGroup | int | None,
        *,
        text: str | None = None,
        media: JSON | None = None,
        caption: str | None = None,
        reply_to: int | JSON | None = None,
    ) -> StoredMessage:
        if user.deactivated:
            raise AssertionError(f"user {user.id} is deactivated and cannot send messages")
        target = self._resolve_chat(user, chat)
        if target.user is not None:
            if user.blocked:
                raise AssertionError(f"user {user.id} blocked the bot; call user.unblock() first")
            target.started = True
        entities: list[JSON] = []
        if text and (command := re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)):
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
        reply_id = (
            reply_to if isinstance(reply_to, int) or reply_to is None else reply_to["message_id"]
        )
        message = self._store_message(
            target,
            sender=user.api(),
            from_bot=False,
            text=text,
            raw_text=text,
            entities=entities,
            media=media or {},
            caption=caption,
            raw_caption=caption,
            reply_to=target.messages.get(reply_id) if reply_id is not None else None,
        )
        self._enqueue("message", message.to_api())
        return message

    def _resolve_chat(self, user: FakeUser, chat: FakeGroup | int | None) -> Chat:
        if chat is None:
            return user._chat
        chat_id = chat if isinstance(chat, int) else chat.id
        if chat_id not in self._chats:
            raise AssertionError(f"unknown chat {chat_id}; create it with fake.group(...)")
        return self._chats[chat_id]

    def _callback_query(self, user: FakeUser, chat: Chat, message_id: int, data: str) -> Press:
        stored = chat.messages.get(message_id)
        if stored is not None and not stored.deleted:
            message = stored.to_api()
        else:  # Telegram's InaccessibleMessage
            message = {"chat": chat.api(), "message_id": message_id, "date": 0}
        query_id = str(next(self._query_ids))
        self._queries[query_id] = _CallbackQuery(query_id, chat.id, message_id, data)
        self._enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": user.api(),
                "message": message,
                "chat_instance": str(abs(hash((self.bot_id, chat.id))) % 10**18),
                "data": data,
            },
        )
        return Press(query_id, data, message_id, chat.id, self)

    def _member_update(self, user: FakeUser, status: str) -> None:
        """Queue the my_chat_member update Telegram sends when a user (un)blocks the bot."""
        bot = self._bot_user()
        kicked = {"status": "kicked", "user": bot, "until_date": 0}
        member = {"status": "member", "user": bot}
        old, new = (member, kicked) if status == "kicked" else (kicked, member)
        update = {"chat": user._chat.api(), "from": user.api(), "date": int(time.time())}
        self._enqueue("my_chat_member", {**update, "old_chat_member": old, "new_chat_member": new})
