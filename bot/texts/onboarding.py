"""Onboarding: /start, the role, the time zone, the patient's menu, invites."""

from __future__ import annotations

import datetime as dt

from bot.domain.timezones import Refusal, fixed_offset
from bot.texts.common import NOT_MEDICAL, _join_names, esc
from bot.texts.times import clock, utc_offset, zone_name

__all__ = [
    "ALL_SET",
    "ASK_JOIN_CODE",
    "ASK_TIMEZONE",
    "BUTTON_ERRAND_LINK",
    "BUTTON_FAMILY_LINK",
    "BUTTON_HELPER",
    "BUTTON_INVITE_ANOTHER",
    "BUTTON_NEW_LINK",
    "BUTTON_OTHER_ZONE",
    "BUTTON_PATIENT",
    "BUTTON_SHARE_LINK",
    "BUTTON_SHARE_LOCATION",
    "HELPER_NEEDS_INVITE",
    "INVITE_ERRORS",
    "INVITE_REPLACED",
    "LOCATION_NOT_ASKED",
    "MENU_CIRCLE",
    "MENU_HELP",
    "MENU_MEDS",
    "MENU_TIP",
    "TYPE_TIMEZONE",
    "WELCOME",
    "invite",
    "invite_error",
    "invite_link",
    "invite_share",
    "joined",
    "timezone_current",
    "timezone_set",
    "too_many_attempts",
    "unknown_timezone",
    "welcome_back",
]

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
    "Tap one, or type your city (like <code>Berlin</code> or <code>São Paulo</code>). "
    "Somewhere else? <b>📍 Share location</b> finds it for you."
)
BUTTON_OTHER_ZONE = "📍 Share location or type a city"
BUTTON_SHARE_LOCATION = "📍 Share location"
LOCATION_NOT_ASKED = (
    "Thanks — I only use a location to set your time zone, and yours is already set. "
    "To change it from where you are, send /timezone and tap 📍."
)
TYPE_TIMEZONE = (
    "Tap <b>📍 Share location</b> below and I'll work out your time zone from where you are "
    "(I keep only the time zone, never the place).\n\n"
    "Or type your city, like <code>Munich</code> or <code>New York</code>."
)
_TRY_A_CITY = (
    "Send your city instead (like <code>Paris</code> or <code>São Paulo</code>), "
    "or share your location from /timezone."
)


def unknown_timezone(text: str, reason: str = "unknown") -> str:
    """Why a time zone was not taken (reason: a Refusal, or "location")."""
    shown = esc(text.strip()[:40]) or "that"
    if reason == Refusal.PART_HOUR:
        return (
            f"“{shown}” isn't a whole hour from UTC, and no time zone means just that "
            f"offset. {_TRY_A_CITY}"
        )
    if reason == Refusal.OUT_OF_RANGE:
        return (
            f"Clocks on Earth run from UTC-12 to UTC+14, so “{shown}” can't be right. {_TRY_A_CITY}"
        )
    if reason == Refusal.FLIPPED_SIGN:
        return (
            f"Careful: names like “{shown}” flip the sign, so they mean the opposite of what "
            "they seem to. Send the offset as your clock reads it (like <code>UTC+2</code>) "
            "or, better, your city."
        )
    if reason == Refusal.NO_DAYLIGHT_SAVING:
        return (
            f"“{shown}” stays the same all year, but your clocks probably change in summer. "
            "Send your city (like <code>New York</code> or <code>Denver</code>) so reminders "
            "follow them."
        )
    if reason == "location":
        return (
            "I couldn't tell the time zone from that location. Type your city instead "
            "(like <code>Berlin</code>)."
        )
    return (
        f"I couldn't find a time zone called “{shown}”. Try your city (like <code>Paris</code> "
        "or <code>São Paulo</code>), a name like <code>America/New_York</code>, "
        "or share your location from /timezone."
    )


def timezone_set(name: str, now: dt.datetime) -> str:
    """Always both the local time and the offset, so a wrong zone shows at once."""
    if fixed_offset(name) is None:
        return (
            f"Time zone set: <b>{esc(name)}</b> — it's {clock(now, name)} there now "
            f"({utc_offset(now, name)})."
        )
    return (
        f"Time zone set: <b>{zone_name(name)}</b> — it's {clock(now, name)} there now.\n\n"
        "A fixed offset doesn't change for daylight saving: if your clocks go forward or "
        "back, reminders would be an hour off. To follow your clocks, send your city "
        "(like <code>/timezone Berlin</code>) or share your location from /timezone."
    )


def timezone_current(name: str | None, now: dt.datetime) -> str:
    if name and fixed_offset(name) is not None:
        current = (
            f"Your time zone is <b>{zone_name(name)}</b>, with no daylight saving "
            f"(it's {clock(now, name)} there)."
        )
    elif name:
        current = (
            f"Your time zone is <b>{esc(name)}</b> "
            f"(it's {clock(now, name)} there, {utc_offset(now, name)})."
        )
    else:
        current = "You haven't set one yet."
    return f"{current}\nTap one below, or type your city, like <code>/timezone Berlin</code>."


# The patient's menu: a reply keyboard that is always at hand. Each press arrives as text.
MENU_CIRCLE = "👥 My circle"
MENU_HELP = "❓ Help"
MENU_MEDS = "💊 My medications"
MENU_TIP = "🌿 A care tip"
ALL_SET = (
    "You're all set. The buttons below are always here when you need them.\n\n"
    "One more step: invite someone to your circle."
)

# Invites


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


def invite_share(access: str) -> str:
    """The words that go with the link when the patient shares it (plain text, their voice)."""
    if access == "errand":
        return (
            "I'm on bed rest for a while. Could you help with the odd errand? Tap the link to "
            "join my care circle on carecircle."
        )
    return "I'm on bed rest for a while. Tap the link to join my care circle on carecircle. 💛"


BUTTON_SHARE_LINK = "📤 Share the link"
BUTTON_INVITE_ANOTHER = "➕ Invite someone else"
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
