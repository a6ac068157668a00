"""A person's data as pure rules: what it amounts to (shown before deleting it), and how a
message still kept in the outbox forgets someone who deleted theirs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class CircleCounts:
    """How much a patient's circle holds (all of it goes when they delete their data)."""

    helpers: tuple[str, ...]
    needs: int
    medications: int
    doses: int
    pain_reports: int
    stage_changes: int
    checkins: int
    tips: int


# --- what the outbox keeps about someone who deleted their data ------------------------------

# Before a name: a word, digit or one of these means the name is mid-sentence ("given by
# Anna"); anything else (the start, ":", ".", an emoji) starts a sentence ("Anna is on it").
_MID_SENTENCE = ",;-–—(&'\""
_TRAILING_MARKUP = re.compile(r"(?:\s|<[^>]*>)+$")


@dataclass(frozen=True)
class Forgotten:
    """Someone who deleted their data, as the bot's messages showed them, and what stands in.

    `names` are exactly as messages rendered them (HTML-escaped, maybe shortened); a name is
    replaced only as a whole word, so "Anna" leaves "Annabel" alone. Ids are matched as whole
    segments of an outbox key ("dose:7:alert:201") or of a button's data ("circle:rm:201"),
    never the first two: those are a kind and the id of the thing itself ("dose:201:…" is a
    dose that happens to share the number).
    """

    user_id: int
    names: tuple[str, ...]
    placeholder: str

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        forms = sorted({n for n in self.names if n.strip()}, key=len, reverse=True)
        if not forms:
            return None
        return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, forms)) + r")(?!\w)")

    def redact_text(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None:
            return text

        def stand_in(match: re.Match[str]) -> str:
            before = _TRAILING_MARKUP.sub("", text[: match.start()])
            starts = not before or not (before[-1].isalnum() or before[-1] in _MID_SENTENCE)
            return (
                self.placeholder[:1].upper() + self.placeholder[1:] if starts else self.placeholder
            )

        return pattern.sub(stand_in, text)

    def carries_id(self, key: str | None) -> bool:
        return key is not None and str(self.user_id) in key.split(":")[2:]

    def scrub_key(self, key: str, stand_in: str) -> str:
        """The key with every segment that is their id replaced by `stand_in`."""
        parts = key.split(":")
        theirs = str(self.user_id)
        return ":".join(parts[:2] + [stand_in if part == theirs else part for part in parts[2:]])

    def redact_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """An outbox payload without them: their name in the text and on buttons replaced,
        buttons whose data names them dropped (nobody can press those for them any more)."""
        redacted = dict(payload)
        if isinstance(payload.get("text"), str):
            redacted["text"] = self.redact_text(payload["text"])
        if payload.get("buttons"):
            rows = [
                [
                    {**button, "text": self.redact_text(str(button.get("text", "")))}
                    for button in row
                    if not self.carries_id(button.get("data"))
                ]
                for row in payload["buttons"]
            ]
            redacted["buttons"] = [row for row in rows if row]
            if not redacted["buttons"]:
                del redacted["buttons"]
        return redacted
