"""Keys for what a person asked for, so a resent update or a double tap acts once.

A key names one message (or one press on one message) of one person; the values are in
stored keys (doses' request_key, needs' source_ref, pain reports' key): keep them.
"""

from __future__ import annotations

from enum import StrEnum


class Request(StrEnum):
    TYPED = "msg"  # words in a message: /need <words>, "Something else…", /pain 6
    TAP = "tap"  # a need's category, one tap
    TOOK = "took"  # /took <name>
    LOG = "log"  # "Log a dose" on a medication
    LOG_ANYWAY = "xok"  # "Log it anyway" on an extra dose past the label's limits
    PAIN_TAP = "btn"  # /pain's 0–10 buttons (the id is when they were shown)


def request_key(kind: Request, user_id: int, message_id: int | None) -> str:
    """`kind:user:message`; a press on a message we can no longer see has no id ("None")."""
    return f"{kind.value}:{user_id}:{message_id}"
