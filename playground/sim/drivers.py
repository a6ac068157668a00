"""Test-side drivers: chats observed through a cursor, users, button presses."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from playground.sim.api import JSON
from playground.sim.markup import inline_buttons
from playground.sim.state import ApiCall, Chat, FileRecord, StoredMessage, _CallbackQuery

T = TypeVar("T")


class _Fake(Protocol):
    """What the drivers use of the simulator (server.FakeBotApi, which is built on them)."""

    calls: list[ApiCall]
    _chats: dict[int, Chat]
    _queries: dict[str, _CallbackQuery]

    async def _wait_for_state(
        self, check: Callable[[], T | None], timeout: float | None, poll: float | None = None
    ) -> T | None: ...

    def _user_message(
        self,
        user: FakeUser,
        chat: FakeGroup | int | None,
        *,
        text: str | None = None,
        media: JSON | None = None,
        caption: str | None = None,
        reply_to: int | JSON | None = None,
    ) -> StoredMessage: ...

    def _new_file(self, kind: str, content: bytes, **attributes: Any) -> FileRecord: ...

    def _enqueue(self, kind: str, payload: JSON) -> None: ...

    def _callback_query(self, user: FakeUser, chat: Chat, message_id: int, data: str) -> Press: ...

    def _member_update(self, user: FakeUser, status: str) -> None: ...


def _matches(
    view: JSON, text_contains: str | None, predicate: Callable[[JSON], bool] | None
) -> bool:
    if text_contains is not None:
        haystack = f"{view['text'] or ''}\n{view['caption'] or ''}"
        if text_contains not in haystack:
            return False
    return predicate is None or bool(predicate(view))


class _ChatObserver:
    """Reads the bot's messages in one chat with a cursor: each message is returned once."""

    def __init__(self, fake: _Fake, chat: Chat) -> None:
        self._fake = fake
        self._chat = chat
        self._consumed: set[int] = set()

    @property
    def chat_id(self) -> int:
        return self._chat.id

    @property
    def messages(self) -> list[JSON]:
        """The bot's messages in this chat as the user sees them now (deleted ones omitted)."""
        return [m.view() for m in self._chat.bot_messages() if not m.deleted]

    @property
    def last_message(self) -> JSON | None:
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def reply_keyboard(self) -> JSON | None:
        """The reply keyboard the bot currently shows in this chat."""
        return self._chat.reply_keyboard

    def mark(self) -> int:
        """A position in the bot's message stream, for :meth:`messages_since`."""
        return len(self._chat.bot_messages())

    def messages_since(self, mark: int) -> list[JSON]:
        return [m.view() for m in self._chat.bot_messages()[mark:]]

    async def wait_for(
        self,
        text_contains: str | None = None,
        *,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 10.0,
    ) -> JSON:
        """The oldest bot message not yet returned by ``wait_for`` that matches the filter.

        Messages that did not match stay available to later calls. Edits are not new messages
        (use :meth:`wait_for_edit`); the returned view reflects edits applied so far.
        """

        found = await self._fake._wait_for_state(
            lambda: self._first_unconsumed(text_contains, predicate), timeout
        )
        if found is None:
            raise AssertionError(
                self.dump(f"wait_for(text_contains={text_contains!r}) timed out after {timeout}s")
            )
        self._consumed.add(found.message_id)
        return found.view()

    async def wait_for_edit(
        self,
        message: int | JSON,
        *,
        text_contains: str | None = None,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 10.0,
    ) -> JSON:
        """Wait until a bot message's current state matches; without a filter, for its next edit."""
        message_id = message if isinstance(message, int) else message["message_id"]
        stored = self._chat.messages.get(message_id)
        if stored is None:
            raise AssertionError(self.dump(f"no message #{message_id} in this chat"))
        edits_before = stored.edit_count
        no_filter = text_contains is None and predicate is None

        def check() -> JSON | None:
            view = stored.view()
            if no_filter:
                return view if stored.edit_count > edits_before else None
            return view if _matches(view, text_contains, predicate) else None

        view = await self._fake._wait_for_state(check, timeout)
        if view is None:
            raise AssertionError(
                self.dump(f"message #{message_id} never matched (text_contains={text_contains!r})")
            )
        return view

    async def expect_no_message(
        self, within: float = 1.0, *, text_contains: str | None = None
    ) -> None:
        """Assert that no unconsumed bot message (matching, if given) shows up within ``within``.

        Unconsumed messages that arrived before the call count too: they are exactly the
        duplicates and stray replies this assertion is meant to catch.
        """

        found = await self._fake._wait_for_state(
            lambda: self._first_unconsumed(text_contains, None), within
        )
        if found is not None:
            raise AssertionError(self.dump(f"unexpected bot message: {found.summary()}"))

    def _first_unconsumed(
        self, text_contains: str | None, predicate: Callable[[JSON], bool] | None
    ) -> StoredMessage | None:
        for message in self._chat.bot_messages():
            if message.message_id not in self._consumed and _matches(
                message.view(), text_contains, predicate
            ):
                return message
        return None

    def dump(self, headline: str, limit: int = 15) -> str:
        """A readable report of the chat's recent messages and failed API calls."""
        lines = [headline, f"Recent messages in chat {self._chat.id}:"]
        for message in list(self._chat.messages.values())[-limit:]:
            seen = "  " if not message.from_bot or message.message_id in self._consumed else "* "
            lines.append(f"  {seen}{message.summary()}")
        if not self._chat.messages:
            lines.append("  (none)")
        lines.append("  (* = not yet returned by wait_for)")
        failures = [c for c in self._fake.calls if c.chat_id == self._chat.id and c.error][-5:]
        if failures:
            lines.append("Recent failed API calls for this chat:")
            lines += [f"  {c.method} -> {c.status} {c.error}" for c in failures]
        return "\n".join(lines)


@dataclass
class Press:
    """A button press (callback query) sent by a user; :meth:`answer` awaits the bot's reply."""

    id: str
    data: str
    message_id: int
    chat_id: int
    _fake: _Fake = field(repr=False)

    async def answer(self, timeout: float = 5.0) -> JSON:
        """The parameters of the bot's answerCallbackQuery for this press."""
        query = self._fake._queries[self.id]
        answer = await self._fake._wait_for_state(lambda: query.answer, timeout)
        if answer is None:
            raise AssertionError(
                f"bot did not answer callback query {self.id} (data={self.data!r}) in {timeout}s"
            )
        return answer


class FakeGroup(_ChatObserver):
    """A group chat the bot is a member of; users write into it with ``send(..., chat=group)``."""

    def __init__(self, fake: _Fake, chat: Chat) -> None:
        super().__init__(fake, chat)
        self.id = chat.id
        self.title = chat.title


class FakeUser(_ChatObserver):
    """A Telegram user talking to the bot; the observed chat is the private chat with the bot."""

    def __init__(
        self,
        fake: _Fake,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        super().__init__(fake, Chat(id=user_id, type="private", user=self))
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.blocked = False
        self.deactivated = False

    def names(self) -> JSON:
        data: JSON = {"first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    def api(self) -> JSON:
        """The User object."""
        data: JSON = {"id": self.id, "is_bot": False, **self.names()}
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    async def send(
        self, text: str, *, chat: FakeGroup | int | None = None, reply_to: int | JSON | None = None
    ) -> JSON:
        """Send a text message (private chat by default); ``/commands`` get a bot_command entity."""
        message = self._fake._user_message(self, chat, text=text, reply_to=reply_to)
        await asyncio.sleep(0)
        return message.view()

    async def send_photo(
        self, caption: str | None = None, *, chat: FakeGroup | int | None = None
    ) -> JSON:
        file = self._fake._new_file("photo", b"\xff\xd8\xff\xe0fake-jpeg", width=1280, height=960)
        return await self._send_media(file, caption, chat)

    async def send_voice(self, duration: int = 3, *, chat: FakeGroup | int | None = None) -> JSON:
        file = self._fake._new_file("voice", b"OggSfake-voice" * 10, duration=duration)
        return await self._send_media(file, None, chat)

    async def send_document(
        self,
        file_name: str = "document.pdf",
        *,
        mime_type: str = "application/pdf",
        content: bytes = b"%PDF-1.4 fake document",
        caption: str | None = None,
        chat: FakeGroup | int | None = None,
    ) -> JSON:
        file = self._fake._new_file("document", content, file_name=file_name, mime_type=mime_type)
        return await self._send_media(file, caption, chat)

    async def send_location(
        self, latitude: float, longitude: float, *, chat: FakeGroup | int | None = None
    ) -> JSON:
        """Send a location, as from the attachment menu (no reply keyboard needed)."""
        location = {"latitude": latitude, "longitude": longitude}
        message = self._fake._user_message(self, chat, media={"location": location})
        await asyncio.sleep(0)
        return message.view()

    async def share_location(self, latitude: float, longitude: float) -> JSON:
        """Tap the reply keyboard's ``request_location`` button, which the bot must be showing."""
        rows = (self.reply_keyboard or {}).get("keyboard", [])
        if not any(
            isinstance(b, dict) and b.get("request_location")
            for b in itertools.chain.from_iterable(rows)
        ):
            raise AssertionError(self.dump("no request_location button on the reply keyboard"))
        return await self.send_location(latitude, longitude)

    async def _send_media(
        self, file: FileRecord, caption: str | None, chat: FakeGroup | int | None
    ) -> JSON:
        message = self._fake._user_message(
            self, chat, media={file.kind: file.media()}, caption=caption
        )
        await asyncio.sleep(0)
        return message.view()

    async def edit(self, message: int | JSON, text: str) -> JSON:
        """Edit one of this user's own text messages (an ``edited_message`` update)."""
        message_id = message if isinstance(message, int) else message["message_id"]
        chat = self._fake._chats[message["chat_id"]] if isinstance(message, dict) else self._chat
        stored = chat.messages.get(message_id)
        if stored is None or stored.from_bot or stored.sender["id"] != self.id:
            raise AssertionError(f"user {self.id} has no message #{message_id} to edit")
        stored.text = stored.raw_text = text
        stored.edit_date, stored.edit_count = int(time.time()), stored.edit_count + 1
        self._fake._enqueue("edited_message", stored.to_api())
        await asyncio.sleep(0)
        return stored.view()

    async def press(
        self,
        message: int | JSON,
        button: str | Callable[[JSON], bool],
        *,
        chat: FakeGroup | None = None,
    ) -> Press:
        """Press an inline button: exact text, else a unique substring, or a predicate."""
        message_id = message if isinstance(message, int) else message["message_id"]
        target = (
            self._fake._chats[message["chat_id"]]
            if isinstance(message, dict)
            else (chat or self)._chat
        )
        stored = target.messages.get(message_id)
        if stored is None or stored.deleted or not stored.from_bot:
            raise AssertionError(self.dump(f"no bot message #{message_id} to press a button on"))
        buttons = inline_buttons(stored.inline_markup)
        if callable(button):
            found = [b for b in buttons if button(b)]
        else:
            found = [b for b in buttons if b["text"] == button] or [
                b for b in buttons if button in b["text"]
            ]
        if len(found) != 1:
            texts = [b["text"] for b in buttons]
            problem = "no button" if not found else "ambiguous button"
            raise AssertionError(f"{problem} {button!r} on message #{message_id}; buttons: {texts}")
        if "callback_data" not in found[0]:
            raise AssertionError(f"button {found[0]['text']!r} has no callback_data: {found[0]}")
        return self._fake._callback_query(self, target, message_id, found[0]["callback_data"])

    async def press_data(
        self, message_id: int, data: str, *, chat: FakeGroup | None = None
    ) -> Press:
        """Send arbitrary (possibly forged) callback data for any message id."""
        return self._fake._callback_query(self, (chat or self)._chat, message_id, data)

    def block(self) -> None:
        """The user blocks the bot: sends fail with 403 and a my_chat_member update is queued."""
        self.blocked = True
        self._fake._member_update(self, "kicked")

    def unblock(self) -> None:
        self.blocked = False
        self._fake._member_update(self, "member")

    def deactivate(self) -> None:
        """The user deletes their account: sends fail with 403 "user is deactivated"."""
        self.deactivated = True
