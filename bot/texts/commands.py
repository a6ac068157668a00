"""The Telegram menu of commands, and /help."""

from __future__ import annotations

from bot.texts.common import NOT_MEDICAL

__all__ = ["COMMANDS_EVERYONE", "COMMANDS_HELPER", "COMMANDS_PATIENT", "MENU_COMMANDS", "help_text"]

COMMANDS_EVERYONE: tuple[tuple[str, str], ...] = (
    ("start", "Start, or see where you are"),
    ("help", "What I can do for you"),
    ("circle", "Your care circle"),
    ("timezone", "Set your time zone"),
    ("tips", "Daily care tips: time, on or off"),
    ("cancel", "Stop the question I'm waiting on"),
    # --- privacy ---
    ("export", "A copy of your data, as a file"),
    ("deletemydata", "Delete your data"),
)
COMMANDS_PATIENT: tuple[tuple[str, str], ...] = (
    ("need", "Ask your helpers for something"),
    ("needs", "Your requests"),
    ("meds", "Your medications"),
    ("addmed", "Add a medication"),
    ("took", "Log a dose you took"),
    ("adherence", "Your doses over the last 7 days"),
    ("invite", "A link to invite a helper"),
    ("tip", "A care tip for your stage, now"),
    ("pain", "Tell me your pain, 0–10"),
    ("progress", "Your last 14 days as a chart"),
    ("stage", "Your recovery stage"),
    ("checkin", "Daily check-in time, on or off"),
)
COMMANDS_HELPER: tuple[tuple[str, str], ...] = (
    ("needs", "Open requests"),
    ("mytasks", "What you've taken on"),
    # Close family only; errand helpers are told the medication is private.
    ("meds", "Medications of the person you help"),
    ("adherence", "Their doses over the last 7 days"),
    ("quiet", "Quiet hours, e.g. /quiet 22:00-07:00"),
    ("away", "Away for a while: nobody asks you"),
    ("back", "Back from being away"),
    ("join", "Join a circle with an invite code"),
    ("leave", "Leave a circle"),
)


def _once_each(commands: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Each command once, where it first appears, with its first description."""
    seen: dict[str, str] = {}
    for name, description in commands:
        seen.setdefault(name, description)
    return tuple(seen.items())


# The Telegram menu, in this order.
MENU_COMMANDS = _once_each(
    COMMANDS_EVERYONE[:3] + COMMANDS_PATIENT + COMMANDS_HELPER + COMMANDS_EVERYONE[3:]
)


def _command_lines(commands: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"/{name} — {description}" for name, description in commands)


def help_text(is_patient: bool, is_helper: bool) -> str:
    parts = ["<b>How carecircle works</b>"]
    if is_patient:
        parts.append(
            "You tell me what you need; I pass it to the people in your circle.\n\n"
            + _command_lines(COMMANDS_PATIENT)
            + "\n"
            + _command_lines(COMMANDS_EVERYONE)
        )
    if is_helper:
        parts.append(
            "I let you know when the person you help needs something.\n\n"
            + _command_lines(COMMANDS_HELPER)
            + "\n"
            + _command_lines(COMMANDS_EVERYONE)
        )
    if not (is_patient or is_helper):
        parts.append(
            "Tap /start to set up a circle for yourself, or open the invite link someone "
            "sent you to help them.\n\n" + _command_lines(COMMANDS_EVERYONE + COMMANDS_HELPER)
        )
    parts.append(NOT_MEDICAL)
    return "\n\n".join(parts)
