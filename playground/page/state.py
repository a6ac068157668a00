"""What the page shows, as JSON: a full picture for a new page, then only what changed."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from playground.family import DEMO_FAMILY
from playground.launcher import Playground
from playground.simulator import JSON, ApiCall, StoredMessage

# A page that opens late gets the most recent calls only; the timeline keeps as many.
TIMELINE_LENGTH = 400
ERROR_LENGTH = 160
ROLES = {member.user_id: member.role for member in DEMO_FAMILY}


@dataclass
class DemoStatus:
    """Progress of "Set up a demo family": idle, running (with its step), done or failed."""

    state: str = "idle"
    step: str = ""
    error: str = ""

    def json(self) -> JSON:
        return {"state": self.state, "step": self.step, "error": self.error}


@dataclass
class PageState:
    """The playground plus what only the page knows (the demo family's progress)."""

    playground: Playground
    demo: DemoStatus = field(default_factory=DemoStatus)
    started_at: float = field(default_factory=time.monotonic)

    def people(self) -> list[JSON]:
        return [
            {"id": user.id, "name": user.first_name, "role": ROLES.get(user.id, "")}
            for user in self.playground.sim.people()
        ]

    def switches(self) -> JSON:
        sim = self.playground.sim
        return {
            "down": sim.down,
            "errors5xx": sim.faults.error_rate_5xx > 0,
            "strictFlood": sim.strict_flood,
        }

    def bot(self) -> JSON:
        runner = self.playground.bot
        if runner is None:
            return {"status": "stopped", "exitCode": None, "log": []}
        return {
            "status": runner.status,
            "exitCode": runner.exit_code,
            "log": runner.last_lines() if runner.status == "exited" else [],
        }

    def timings(self) -> list[JSON]:
        return [
            {"name": t.name, "value": t.value, "meaning": t.meaning, "overridden": t.overridden}
            for t in self.playground.timings
        ]

    def call(self, index: int, call: ApiCall) -> JSON:
        return {
            "i": index,
            "t": round(call.at - self.started_at, 3),
            "method": call.method,
            "chat": self.playground.sim.call_chat(call),
            "status": call.status,
            "error": (call.error or "")[:ERROR_LENGTH],
        }


def message_json(message: StoredMessage) -> JSON:
    """A chat bubble: text with its entities, media, inline buttons, edit state."""
    data: JSON = {
        "chat": message.chat.id,
        "id": message.message_id,
        "fromBot": message.from_bot,
        "date": message.date,
        "text": message.text,
        "entities": message.entities,
        "caption": message.caption,
        "captionEntities": message.caption_entities,
        "edited": message.edit_count > 0,
        "deleted": message.deleted,
        "buttons": [
            [_button(button) for button in row]
            for row in (message.inline_markup or {}).get("inline_keyboard", [])
        ],
    }
    media = message.media
    if photo := media.get("photo"):
        data["photo"] = photo[-1]["file_id"]
    for kind in ("voice", "audio", "video", "animation", "document"):
        if item := media.get(kind):
            data[kind] = {
                "file": item["file_id"],
                "duration": item.get("duration"),
                "name": item.get("file_name"),
            }
    if location := media.get("location"):
        data["location"] = {"lat": location["latitude"], "lon": location["longitude"]}
    return data


def _button(button: JSON) -> JSON:
    return {
        "text": button.get("text", ""),
        "data": button.get("callback_data"),
        "url": button.get("url"),
    }


def keyboard_json(markup: JSON | None) -> list[list[JSON]] | None:
    """The reply keyboard's rows: each button's text, and whether it shares a location."""
    if not markup or "keyboard" not in markup:
        return None
    return [
        [
            {"text": b["text"], "location": bool(b.get("request_location"))}
            if isinstance(b, dict)
            else {"text": str(b), "location": False}
            for b in row
        ]
        for row in markup["keyboard"]
    ]


class Feed:
    """One page's view of the playground: remembers what it was sent, sends the rest."""

    def __init__(self, state: PageState) -> None:
        self.state = state
        self._clear()

    def _clear(self) -> None:
        self._messages: dict[tuple[int, int], tuple[int, bool]] = {}
        self._sent_json: dict[str, str] = {}
        self._keyboards: dict[int, str] = {}
        self._next_call = 0
        self._pending_calls: set[int] = set()

    def update(self, *, reset: bool = False) -> JSON | None:
        """Everything that changed since the last update (everything, with ``reset``)."""
        if reset:
            self._clear()
            self._next_call = max(0, len(self.state.playground.sim.calls) - TIMELINE_LENGTH)
        out: JSON = {}
        if reset:
            out.update(
                reset=True,
                timings=self.state.timings(),
                botUsername=self.state.playground.sim.bot_username,
            )
        for key, value in (
            ("people", self.state.people()),
            ("switches", self.state.switches()),
            ("bot", self.state.bot()),
            ("demo", self.state.demo.json()),
        ):
            encoded = json.dumps(value, sort_keys=True)
            if self._sent_json.get(key) != encoded:
                self._sent_json[key] = encoded
                out[key] = value
        if messages := self._changed_messages():
            out["messages"] = messages
        if keyboards := self._changed_keyboards():
            out["keyboards"] = keyboards
        if calls := self._changed_calls():
            out["calls"] = calls
        return out or None

    def _changed_messages(self) -> list[JSON]:
        sim = self.state.playground.sim
        changed = []
        for user in sim.people():
            for message in sim.chat_messages(user.id):
                key = (message.chat.id, message.message_id)
                signature = (message.edit_count, message.deleted)
                if self._messages.get(key) != signature:
                    self._messages[key] = signature
                    changed.append(message_json(message))
        return changed

    def _changed_keyboards(self) -> dict[str, Any]:
        sim = self.state.playground.sim
        changed: dict[str, Any] = {}
        for user in sim.people():
            rows = keyboard_json(sim.reply_keyboard(user.id))
            encoded = json.dumps(rows)
            if self._keyboards.get(user.id) != encoded:
                self._keyboards[user.id] = encoded
                changed[str(user.id)] = rows
        return changed

    def _changed_calls(self) -> list[JSON]:
        calls = self.state.playground.sim.calls
        finished = sorted(i for i in self._pending_calls if calls[i].status is not None)
        self._pending_calls.difference_update(finished)
        fresh = range(self._next_call, len(calls))
        self._next_call = len(calls)
        out = []
        for index in itertools.chain(finished, fresh):
            call = calls[index]
            if call.status is None:
                self._pending_calls.add(index)
            out.append(self.state.call(index, call))
        return out
