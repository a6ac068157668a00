"""Button payloads: short, versioned, naming things only — never trusted, always re-checked.

Format: ``<version>:<namespace>:<verb>[:<arg>…]``, at most 64 bytes (Telegram's limit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERSION = "1"
MAX_BYTES = 64
_PART = re.compile(r"^[A-Za-z0-9_/+\-.]{1,40}$")


class CallbackTooLong(ValueError):
    """Raised when a payload would not fit Telegram's 64 bytes."""


@dataclass(frozen=True)
class Callback:
    """A parsed button payload."""

    ns: str
    verb: str
    args: tuple[str, ...] = ()

    def int_arg(self, index: int = 0) -> int | None:
        """The argument at `index` as a positive int, or None if missing or not a number."""
        if index >= len(self.args) or not self.args[index].isdigit():
            return None
        value = int(self.args[index])
        return value if 0 < value < 2**63 else None


def encode(ns: str, verb: str, *args: object) -> str:
    """Build a payload; raises if a part has odd characters or the whole is too long."""
    parts = [VERSION, ns, verb, *(str(a) for a in args)]
    for part in parts:
        if not _PART.match(part):
            raise ValueError(f"unsafe callback part: {part!r}")
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise CallbackTooLong(data)
    return data


def parse(data: str | None) -> Callback | None:
    """Parse a payload from Telegram; None for anything we did not make (or an old version)."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != VERSION:
        return None
    if not all(_PART.match(part) for part in parts[1:]):
        return None
    return Callback(ns=parts[1], verb=parts[2], args=tuple(parts[3:]))


def pattern(ns: str) -> str:
    """A regex for CallbackQueryHandler that routes one namespace."""
    return rf"^{VERSION}:{re.escape(ns)}:"
