"""One conversation at a time: /cancel, and questions left unanswered."""

from __future__ import annotations

from typing import Any

from bot.domain.flows import Awaiting
from bot.texts.common import esc

__all__ = ["FLOW_EXPIRED", "NOTHING_TO_CANCEL", "flow_cancelled"]

NOTHING_TO_CANCEL = "There's nothing to cancel — you're all set. 💛"
_DROPPED: dict[str, str] = {
    Awaiting.MED_EDIT: "Okay — I've stopped there; nothing more was changed.",
    Awaiting.DOSE_TIME: "Okay — that dose isn't logged. Its reminder still has the buttons.",
    Awaiting.TIMEZONE: "Okay — I won't ask for your time zone now. /timezone sets it any time.",
    Awaiting.JOIN_CODE: "Okay — no code needed now. /join works any time you have one.",
    Awaiting.NEED_DETAIL: "Okay — nothing was sent to your helpers.",
    Awaiting.NEED_NOTE: "Okay — no note added. Your request is still with your helpers.",
    Awaiting.NEED_WHEN: "Okay — no time added. Your request is still with your helpers.",
    Awaiting.NEED_MEDIA: "Okay — I haven't sent it to anyone.",
    Awaiting.STAGE: "Okay — your stage stays as it was.",
}


def flow_cancelled(awaiting: str, draft: dict[str, Any] | None) -> str:
    """/cancel: what was dropped, in a line."""
    if awaiting == Awaiting.ADD_MED:
        name = (draft or {}).get("name")
        what = f"<b>{esc(str(name))}</b>" if name else "the medication"
        return f"Okay — I've stopped adding {what}. Nothing was saved."
    return _DROPPED.get(awaiting, "Okay, cancelled.")


FLOW_EXPIRED = (
    "That question was a while ago, so I let it go — nothing was saved from it. "
    "Start again any time; /help shows how."
)
