"""A helper's availability: quiet hours and time away."""

from __future__ import annotations

import datetime as dt

from bot.texts.common import esc
from bot.texts.times import quiet_range, when_local

__all__ = [
    "AWAY_ASK",
    "AWAY_INDEFINITE",
    "BUTTON_AWAY_UNTIL_BACK",
    "BUTTON_QUIET_OFF",
    "QUIET_HOW",
    "QUIET_OFF",
    "away_days_button",
    "away_set",
    "away_until_text",
    "quiet_set",
    "quiet_status",
    "welcome_back_helper",
]

QUIET_OFF = "Quiet hours off: requests reach you any time."
QUIET_HOW = "Set them with <code>/quiet 22:00-07:00</code>, or tap one:"
AWAY_ASK = "How long will you be away? Nobody will ask you for anything until you're back."
AWAY_INDEFINITE = (
    "Got it — you're away until you send /back. I won't ask you for anything until then. 💛"
)
BUTTON_QUIET_OFF = "Turn quiet hours off"
BUTTON_AWAY_UNTIL_BACK = "Until I send /back"


def quiet_status(
    quiet: tuple[dt.time, dt.time] | None, zone: str | None, away_until: str | None
) -> str:
    if quiet is None:
        lines = ["You have no quiet hours: requests reach you any time."]
    else:
        lines = [
            f"<b>Your quiet hours</b>: {quiet_range(*quiet)} ({esc(zone or 'UTC')}).",
            "Requests that aren't urgent wait until they end; urgent ones still come through.",
        ]
    if away_until is not None:
        lines.append(f"You're away {esc(away_until)}. /back when you're back.")
    lines.append(QUIET_HOW)
    return "\n".join(lines)


def quiet_set(start: dt.time, end: dt.time, zone: str) -> str:
    return (
        f"🌙 Quiet hours set: <b>{quiet_range(start, end)}</b> ({esc(zone)}).\n"
        "Requests that aren't urgent wait until they end; urgent ones still come through."
    )


def away_until_text(until: dt.datetime, zone: str | None) -> str:
    return f"until {when_local(until, zone)}"


def away_set(until: dt.datetime, zone: str | None) -> str:
    return (
        f"Got it — you're away {away_until_text(until, zone)}. I won't ask you for anything "
        "until then; /back if you return sooner. Take care. 💛"
    )


def welcome_back_helper(open_count: int) -> str:
    if open_count:
        what = "1 request is" if open_count == 1 else f"{open_count} requests are"
        return f"Welcome back! 🌿 {what} open right now: /needs"
    return "Welcome back! 🌿 Nothing is waiting right now; I'll message you when it is."


def away_days_button(days: int) -> str:
    return "1 day" if days == 1 else ("1 week" if days == 7 else f"{days} days")
