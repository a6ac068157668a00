"""Every word the bot says, in one place. Messages are HTML; user input is escaped here, once."""

from __future__ import annotations

import datetime as dt
import html
from zoneinfo import ZoneInfo

# --- building blocks -------------------------------------------------------------------

NOT_MEDICAL = (
    "<i>carecircle is not a medical device. Follow your prescription label and your "
    "doctor's advice.</i>"
)


def esc(text: str) -> str:
    """Escape something a person typed (or a Telegram name) for HTML messages."""
    return html.escape(text, quote=False)


def when_local(instant: dt.datetime, timezone: str | None) -> str:
    """A date a person can read, in their own time zone."""
    local = instant.astimezone(ZoneInfo(timezone)) if timezone else instant
    return local.strftime("%a %d %b, %H:%M")


ACCESS_LABEL = {"close": "close family", "errand": "errand helper"}

# --- commands (the Telegram menu and /help) -----------------------------------------------

COMMANDS_EVERYONE = (
    ("start", "Start, or see where you are"),
    ("help", "What I can do for you"),
    ("circle", "Your care circle"),
    ("timezone", "Set your time zone"),
)
COMMANDS_PATIENT = (("invite", "A link to invite a helper"),)
COMMANDS_HELPER = (
    ("join", "Join a circle with an invite code"),
    ("leave", "Leave a circle"),
)
MENU_COMMANDS = COMMANDS_EVERYONE[:3] + COMMANDS_PATIENT + COMMANDS_HELPER + COMMANDS_EVERYONE[3:]


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


# --- onboarding --------------------------------------------------------------------------

WELCOME = (
    "Hello, I'm carecircle. 👋\n\n"
    "I help someone on bed rest get a hand from family: you ask once, the first helper "
    "who can do it takes it, and everyone knows.\n\n"
    "Who are you here as?\n\n" + NOT_MEDICAL
)
BUTTON_PATIENT = "I'm recovering"
BUTTON_HELPER = "I'm helping someone"


def welcome_back(name: str, is_patient: bool, helping: list[str]) -> str:
    lines = [f"Welcome back, {esc(name)}."]
    if is_patient:
        lines.append("Your circle is set up. /circle shows who's in it, /invite adds someone.")
    if helping:
        lines.append(f"You're helping {esc(_join_names(helping))}.")
    lines.append("/help lists everything I can do.")
    return "\n".join(lines)


HELPER_NEEDS_INVITE = (
    "Lovely of you to help. 💛\n\n"
    "Ask the person you're helping to send you their invite link — they get it from me "
    "with /invite. Open the link and you're in.\n\n"
    "Got a code instead? Just send it to me here."
)
ASK_TIMEZONE = (
    "Your circle is ready. 🌿\n\n"
    "So reminders arrive at the right time: which time zone are you in? "
    "Tap one, or type its name (like <code>Europe/Berlin</code> or just <code>Berlin</code>)."
)
BUTTON_OTHER_ZONE = "Another one — I'll type it"
TYPE_TIMEZONE = "Type your time zone, like <code>Europe/Berlin</code> or <code>New York</code>."


def unknown_timezone(text: str) -> str:
    shown = esc(text.strip()[:40]) or "that"
    return (
        f"I couldn't find a time zone called “{shown}”. "
        "Try a name like <code>Europe/Berlin</code>, <code>America/New_York</code> or a "
        "city such as <code>Paris</code>."
    )


def timezone_set(name: str, now: dt.datetime) -> str:
    return f"Time zone set to <b>{esc(name)}</b> (it's {when_local(now, name)} there)."


def timezone_current(name: str | None) -> str:
    current = f"Your time zone is <b>{esc(name)}</b>." if name else "You haven't set one yet."
    return f"{current}\nTap one below, or type <code>/timezone Europe/Berlin</code>."


# The patient's menu: a reply keyboard that is always at hand. Each press arrives as text.
MENU_CIRCLE = "👥 My circle"
MENU_HELP = "❓ Help"
ALL_SET = "You're all set. The buttons below are always here when you need them."

# --- invites -----------------------------------------------------------------------------


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start=join_{code}"


def invite(bot_username: str, code: str, access: str, expires: str) -> str:
    who = (
        "someone who'll run errands for you (they won't see your medication)"
        if access == "errand"
        else "someone close who'll help you"
    )
    return (
        f"Send this link to {who}:\n\n"
        f"{invite_link(bot_username, code)}\n\n"
        f"Or they can send me <code>/join {esc(code)}</code>.\n"
        f"It works for one person and until {esc(expires)}."
    )


BUTTON_NEW_LINK = "Make a new link"
BUTTON_ERRAND_LINK = "Link for an errand helper"
BUTTON_FAMILY_LINK = "Link for close family"
INVITE_REPLACED = "Here's a fresh link; the old one no longer works."
ASK_JOIN_CODE = "Send me the invite code (or open the link the person you're helping sent you)."


def joined(patient_name: str, access: str) -> str:
    extra = (
        "You'll hear from me when they need a hand."
        if access == "errand"
        else "You'll hear from me when they need a hand, and if a medication dose goes missed."
    )
    return f"You're now in <b>{esc(patient_name)}</b>'s care circle. 💛\n{extra}\n\n{NOT_MEDICAL}"


INVITE_ERRORS = {
    "unknown": "I don't recognise that invite code. Please ask for a fresh link.",
    "used": "That invite link has already been used. Please ask {name} for a new one.",
    "replaced": "That invite link was replaced by a newer one. Please ask {name} for the new link.",
    "expired": "That invite link has expired. Please ask {name} for a new one.",
    "own": "That's your own invite link — send it to someone who'll help you.",
    "already_member": "You're already in {name}'s circle. 💛",
}


def too_many_attempts(minutes: int) -> str:
    return (
        f"That's a few codes that didn't work. Please wait {minutes} minutes and ask for a "
        "fresh link — opening the link is easiest."
    )


def invite_error(reason: str, patient_name: str | None) -> str:
    template = INVITE_ERRORS.get(reason, INVITE_ERRORS["unknown"])
    return template.format(name=f"<b>{esc(patient_name)}</b>" if patient_name else "them")


# --- notifications to others (queued through the notifier) -------------------------------


def helper_joined(helper_name: str, access: str) -> str:
    return f"<b>{esc(helper_name)}</b> joined your circle as {ACCESS_LABEL.get(access, access)}. 💛"


def helper_left(helper_name: str) -> str:
    return f"<b>{esc(helper_name)}</b> has left your circle."


def helper_unreachable(helper_name: str) -> str:
    return (
        f"I can't reach <b>{esc(helper_name)}</b> any more — they may have blocked me or "
        "closed their account. I'll stop sending them your requests until they message me again."
    )


def you_were_removed(patient_name: str) -> str:
    return (
        f"You're no longer part of <b>{esc(patient_name)}</b>'s care circle. "
        "Thank you for everything you did."
    )


# --- the circle ----------------------------------------------------------------------------


def circle_for_patient(members: list[tuple[str, str, bool]]) -> str:
    """members: (name, access, reachable) for each helper."""
    if not members:
        return (
            "<b>Your circle</b>\n\nNo helpers yet. Tap below for an invite link to send to "
            "family or a friend."
        )
    lines = ["<b>Your circle</b>", ""]
    for name, access, reachable in members:
        note = "" if reachable else " — can't be reached (they may have blocked me)"
        lines.append(f"• {esc(name)} ({ACCESS_LABEL.get(access, access)}){note}")
    lines += ["", "To invite someone else: /invite"]
    return "\n".join(lines)


def circle_for_helper(circles: list[tuple[str, str]]) -> str:
    """circles: (patient name, access) for each circle the person helps in."""
    lines = ["<b>Circles you help in</b>", ""]
    lines += [f"• {esc(name)} ({ACCESS_LABEL.get(access, access)})" for name, access in circles]
    return "\n".join(lines)


def button_remove(name: str) -> str:
    return f"Remove {name}"


def button_access(name: str, current: str) -> str:
    return f"{name}: make errand helper" if current == "close" else f"{name}: make close family"


def access_set(name: str, access: str) -> str:
    return f"<b>{esc(name)}</b> is now {ACCESS_LABEL.get(access, access)} in your circle."


def access_changed(patient_name: str, access: str) -> str:
    if access == "errand":
        return (
            f"<b>{esc(patient_name)}</b> has made you an errand helper: you'll get their "
            "requests for help, but not their medication details."
        )
    return (
        f"<b>{esc(patient_name)}</b> has made you close family: you'll also hear if a "
        "medication dose goes unconfirmed."
    )


BUTTON_SETTINGS = "⚙️ Settings"
BUTTON_DONE = "Done"
SETTINGS_TITLE = "<b>Circle settings</b>\nTap one to switch it on or off."
SETTING_LABELS = {
    "one_at_a_time": "Ask helpers one at a time, least busy first",
    "helpers_manage_meds": "Close family may add or change my medications",
    "helpers_mark_given": "Close family may mark a dose as given",
    "lookin_requests": "Ask close family to look in if I miss a check-in",
}


def setting_button(name: str, on: bool) -> str:
    return f"{'✅' if on else '⬜'} {SETTING_LABELS[name]}"


def button_leave(patient_name: str) -> str:
    return f"Leave {patient_name}'s circle"


def confirm_remove(name: str) -> str:
    return f"Remove <b>{esc(name)}</b> from your circle? They'll stop getting your requests."


def removed(name: str) -> str:
    return f"<b>{esc(name)}</b> is no longer in your circle."


def confirm_leave(patient_name: str) -> str:
    return f"Leave <b>{esc(patient_name)}</b>'s circle? You'll stop getting their requests."


def left(patient_name: str) -> str:
    return f"You've left <b>{esc(patient_name)}</b>'s circle. Thank you for helping."


SETTINGS_SAVED = "Settings saved."
CHOOSE_CIRCLE_TO_LEAVE = "Which circle would you like to leave?"
BUTTON_YES_REMOVE = "Yes, remove"
BUTTON_YES_LEAVE = "Yes, leave"
BUTTON_KEEP = "No, keep"
KEPT = "Okay, nothing changed."

# --- refusals and errors -------------------------------------------------------------------

ERRORS = {
    "not_registered": "You're not in a care circle yet. Tap /start to begin.",
    "not_patient": "That one is for the person recovering.",
    "not_helper": "That one is for helpers. You're not helping in a circle right now.",
    "not_in_circle": "You're not part of that circle any more.",
    "stale": "This request is no longer available.",
    "error": "Sorry, I can't do that.",
}
UNKNOWN_COMMAND = "I don't know that command. /help shows what I can do."
NOT_UNDERSTOOD = "I didn't quite catch that. Tap a button, or see /help."
PRIVATE_ONLY = "I work in private chats — please message me directly."
SOMETHING_WENT_WRONG = "Sorry — something went wrong on my side. Please try again in a moment."
TOO_LONG = "That's more than I can take in one message — could you make it shorter?"


def _join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
