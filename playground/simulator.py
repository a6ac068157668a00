"""The simulated Telegram as the playground sees it: the fake Bot API plus a few hooks.

This is the one place the playground reaches into the fake Bot API. Everything else in the
playground uses :class:`PlaygroundApi` and the names re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable

from playground.sim import (
    JSON,
    ApiCall,
    FakeBotApi,
    FakeUser,
    FloodLimits,
    Press,
    StoredMessage,
)

__all__ = ["JSON", "ApiCall", "FakeUser", "PlaygroundApi", "Press", "StoredMessage"]

# The demo bot's identity: a token of the right shape, never a real one.
TOKEN = "7000000001:PLAYGROUND-not-a-real-token"  # noqa: S105 - only the simulation takes it
BOT_USERNAME = "carecircle_playground_bot"


class PlaygroundApi(FakeBotApi):
    """The fake Bot API with change listeners, media from bytes and switchable flood limits."""

    def __init__(self) -> None:
        super().__init__(
            token=TOKEN, bot_username=BOT_USERNAME, bot_first_name="carecircle (playground)"
        )
        self._listeners: list[Callable[[], None]] = []
        self.strict_flood = False

    # ---- change notification: every stored, edited or deleted message and every finished
    # API call passes through the fake's _notify, so the page hears of each one at once.

    def _notify(self) -> None:
        super()._notify()
        for listener in list(getattr(self, "_listeners", ())):
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def poke(self) -> None:
        """Tell listeners that something outside the fake changed (the bot's status)."""
        self._notify()

    # ---- people and their chats ---------------------------------------------------------

    def people(self) -> list[FakeUser]:
        """Everyone who has a private chat with the bot, in the order they were added."""
        return list(self._users.values())

    def person(self, user_id: int) -> FakeUser | None:
        return self._users.get(user_id)

    def chat_messages(self, user_id: int) -> list[StoredMessage]:
        """Both sides of a person's private chat with the bot, oldest first."""
        user = self._users.get(user_id)
        return list(user._chat.messages.values()) if user is not None else []

    def reply_keyboard(self, user_id: int) -> JSON | None:
        user = self._users.get(user_id)
        return user.reply_keyboard if user is not None else None

    def call_chat(self, call: ApiCall) -> int | None:
        """The chat a call is about; for answerCallbackQuery, the chat of the pressed button."""
        if call.method == "answerCallbackQuery":
            query = self._queries.get(str(call.params.get("callback_query_id")))
            return query.chat_id if query is not None else None
        return call.chat_id

    def file(self, file_id: str) -> tuple[bytes, str] | None:
        """A file's bytes and MIME type, for the page to show a photo or play a voice note."""
        record = self._files.get(file_id)
        if record is None:
            return None
        default = "image/jpeg" if record.kind == "photo" else "application/octet-stream"
        return record.content, str(record.attributes.get("mime_type") or default)

    # ---- what a person does -------------------------------------------------------------

    def send_photo(self, user: FakeUser, data: bytes, mime: str, caption: str | None) -> None:
        """The person sends a photo they picked (the bytes as uploaded)."""
        record = self._new_file("photo", data, width=1280, height=960)
        record.attributes["mime_type"] = mime
        self._user_message(user, None, media={"photo": record.media()}, caption=caption)

    def send_voice(self, user: FakeUser, data: bytes, mime: str, duration: int) -> None:
        """The person sends a voice note they picked."""
        record = self._new_file("voice", data, duration=duration, mime_type=mime)
        self._user_message(user, None, media={"voice": record.media()})

    # ---- switches -----------------------------------------------------------------------

    def set_strict_flood(self, on: bool) -> None:
        """Enforce Telegram's flood limits with 429s (by default they are only recorded)."""
        self.strict_flood = on
        self._flood_limits = FloodLimits()
        self._enforce_flood = on
        self._notify()

    def set_down(self, on: bool) -> None:
        if on:
            self.faults.down()
        else:
            self.faults.up()

    @property
    def down(self) -> bool:
        return self.faults.in_outage
