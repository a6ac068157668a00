"""How the bot presents itself: its description, each role's menu of commands, and /help."""

from __future__ import annotations

from bot.texts.common import NOT_MEDICAL

__all__ = [
    "BOT_DESCRIPTION",
    "BOT_SHORT_DESCRIPTION",
    "COMMANDS_EVERYONE",
    "COMMANDS_HELPER",
    "COMMANDS_NEWCOMER",
    "COMMANDS_PATIENT",
    "help_text",
    "menu_commands",
]

# What Telegram shows in an empty chat with the bot ("What can this bot do?"), up to 512
# characters, and on its profile and in shared links, up to 120. Plain text, no HTML.
BOT_DESCRIPTION = (
    "carecircle helps someone on bed rest get a hand from family and friends. "
    "Ask once — for groceries, a pharmacy pick-up, a meal — and the first helper who can "
    "do it takes it. Medication reminders on time, care tips for back spasms, a daily "
    "check-in.\n\n"
    "Got an invite link? Open it to join that person's circle. Recovering yourself? Tap Start.\n\n"
    "carecircle is not a medical device: follow your prescription label and your doctor's advice."
)
BOT_SHORT_DESCRIPTION = (
    "A hand from family while you're on bed rest: requests, medication reminders, care "
    "tips. Not a medical device."
)

# The first three open a role's menu and the next three close it; the rest are in /help only
# (/settings reaches the time zone and tips, /privacy the export and deleting).
COMMANDS_EVERYONE: tuple[tuple[str, str], ...] = (
    ("start", "Start, or see where you are"),
    ("help", "What I can do for you"),
    ("circle", "Your care circle"),
    ("settings", "Time zone, tips, quiet hours…"),
    ("privacy", "What I keep, and who sees what"),
    ("cancel", "Stop the question I'm waiting on"),
    ("timezone", "Set your time zone"),
    ("tips", "Daily care tips: time, on or off"),
    # --- privacy ---
    ("export", "A copy of your data, as a file"),
    ("deletemydata", "Delete your data"),
)
_MENU_OPENS, _MENU_CLOSES = COMMANDS_EVERYONE[:3], COMMANDS_EVERYONE[3:6]
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


# Someone in no circle (Telegram's default menu, for every chat without one of its own).
COMMANDS_NEWCOMER: tuple[tuple[str, str], ...] = (
    ("start", "Start: set up your circle, or join one"),
    ("help", "What I can do for you"),
    ("settings", "Time zone and privacy"),
    ("privacy", "What I keep, and who sees what"),
)


def menu_commands(is_patient: bool, is_helper: bool) -> tuple[tuple[str, str], ...]:
    """The menu of commands for someone's role: a patient's, a helper's, both, or a newcomer's."""
    if not (is_patient or is_helper):
        return COMMANDS_NEWCOMER
    own = (COMMANDS_PATIENT if is_patient else ()) + (COMMANDS_HELPER if is_helper else ())
    return _once_each(_MENU_OPENS + own + _MENU_CLOSES)


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
