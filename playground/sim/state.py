"""State: chats, messages, files and the record of API calls."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

from playground.sim.api import JSON
from playground.sim.markup import inline_buttons


@dataclass
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class FileRecord:
    """A file known to the fake (sent by a user or uploaded by the bot), addressable by file_id."""

    file_id: str
    kind: str  # photo, voice, document, audio, video, animation
    content: bytes
    file_path: str
    attributes: JSON  # width, height, duration, file_name, mime_type as applicable

    def api(self) -> JSON:
        """The File object returned by getFile."""
        return {**self.media_fields(), "file_path": self.file_path}

    def media_fields(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": f"unique-{self.file_id}",
            "file_size": len(self.content),
        }

    def media(self) -> Any:
        """The value of the Message field named after :attr:`kind` (photo: one PhotoSize)."""
        data = {**self.media_fields(), **self.attributes}
        return [data] if self.kind == "photo" else data


_MEDIA_DEFAULTS: dict[str, tuple[str, str, str]] = {  # kind -> (folder, extension, mime type)
    "photo": ("photos", "jpg", "image/jpeg"),
    "voice": ("voice", "oga", "audio/ogg"),
    "audio": ("music", "mp3", "audio/mpeg"),
    "video": ("videos", "mp4", "video/mp4"),
    "animation": ("animations", "mp4", "video/mp4"),
    "document": ("documents", "bin", "application/octet-stream"),
}


@dataclass
class StoredMessage:
    """One message in a chat, from a user or from the bot, in its current (edited) state."""

    chat: Chat
    message_id: int
    sender: JSON
    from_bot: bool
    date: int
    method: str | None = None  # the Bot API method that created a bot message
    text: str | None = None
    raw_text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    raw_caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    parse_mode: str | None = None
    media: JSON = field(default_factory=dict)  # e.g. {"photo": [...]} or {"voice": {...}}
    reply_markup: JSON | None = None
    reply_to: StoredMessage | None = None
    extra: JSON = field(default_factory=dict)  # forward_origin and the like
    edit_date: int | None = None
    edit_count: int = 0
    deleted: bool = False

    @property
    def inline_markup(self) -> JSON | None:
        """Only inline keyboards are part of a message; reply keyboards belong to the chat."""
        markup = self.reply_markup
        return (
            markup if markup and "inline_keyboard" in markup and markup["inline_keyboard"] else None
        )

    def to_api(self, *, with_reply: bool = True) -> JSON:
        """The Message object exactly as the Bot API returns it."""
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat.api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.reply_to is not None and with_reply:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        data.update(self.extra)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        data.update(self.media)
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.inline_markup is not None:
            data["reply_markup"] = self.inline_markup
        return data

    def view(self) -> JSON:
        """The test-facing snapshot: plain and raw text, buttons, edit state, media."""
        buttons = inline_buttons(self.inline_markup)
        keyboard = (self.reply_markup or {}).get("keyboard")
        return {
            "message_id": self.message_id,
            "chat_id": self.chat.id,
            "from_bot": self.from_bot,
            "method": self.method,
            "date": self.date,
            "text": self.text,
            "raw_text": self.raw_text,
            "entities": self.entities,
            "caption": self.caption,
            "raw_caption": self.raw_caption,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "buttons": [b["text"] for b in buttons],
            "inline_buttons": buttons,
            "keyboard": [
                b["text"] if isinstance(b, dict) else b
                for b in itertools.chain.from_iterable(keyboard)
            ]
            if keyboard
            else None,
            **{kind: self.media.get(kind) for kind in _MEDIA_DEFAULTS},
            "location": self.media.get("location"),
            "reply_to_message_id": self.reply_to.message_id if self.reply_to else None,
            "edited": self.edit_count > 0,
            "edit_count": self.edit_count,
            "deleted": self.deleted,
            "api": self.to_api(),
        }

    def summary(self) -> str:
        """One line for failure dumps."""
        who = f"bot {self.method}" if self.from_bot else "user"
        body = self.text if self.text is not None else f"[{', '.join(self.media) or 'empty'}]"
        line = f"#{self.message_id:<4} {who:<20} {body!r}"
        if self.caption:
            line += f" caption={self.caption!r}"
        if buttons := inline_buttons(self.inline_markup):
            line += f"  [buttons: {' | '.join(b['text'] for b in buttons)}]"
        if self.edit_count:
            line += f"  (edited x{self.edit_count})"
        if self.deleted:
            line += "  (deleted)"
        return line


class _ChatUser(Protocol):
    """The user of a private chat, as the chat and the server see them (drivers.FakeUser)."""

    blocked: bool
    deactivated: bool

    def names(self) -> JSON: ...


@dataclass
class Chat:
    """A private chat (id == user id) or a group the bot is a member of."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    user: _ChatUser | None = None  # set for private chats
    started: bool = False  # private chats: the user has written to the bot
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    reply_keyboard: JSON | None = None  # the reply keyboard currently shown, if any
    next_message_id: int = 1

    def api(self) -> JSON:
        if self.user is not None:
            return {"id": self.id, "type": "private", **self.user.names()}
        data: JSON = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        return data

    def bot_messages(self) -> list[StoredMessage]:
        return [m for m in self.messages.values() if m.from_bot]


@dataclass
class ApiCall:
    """One HTTP request to the Bot API, recorded in arrival order.

    ``status`` is ``None`` while the request is in flight and ``0`` when the connection was
    dropped by a simulated outage.
    """

    method: str
    params: JSON
    at: float
    status: int | None = None
    error: str | None = None
    result: Any = None
    finished_at: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        chat_id = self.params.get("chat_id")
        return chat_id if isinstance(chat_id, int) else None


@dataclass
class _CallbackQuery:
    id: str
    chat_id: int
    message_id: int
    data: str
    answer: JSON | None = None
