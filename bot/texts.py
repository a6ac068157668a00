"""Every word the bot says, in one place. Messages are HTML; user input is escaped here, once."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.domain.clocktime import format_time
from bot.domain.flows import Awaiting
from bot.domain.meds import FIXED, format_gap, format_max, schedule_from_stored, schedule_vs_label
from bot.domain.needs import NeedCard, Routed
from bot.domain.privacy import CircleCounts
from bot.domain.timezones import Refusal, fixed_offset

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


def utc_offset(instant: dt.datetime, zone: str) -> str:
    """ "UTC+01:00": how far the zone's clocks are from UTC at that instant."""
    offset = instant.astimezone(ZoneInfo(zone)).utcoffset() or dt.timedelta(0)
    sign = "-" if offset < dt.timedelta(0) else "+"
    hours, rest = divmod(abs(offset), dt.timedelta(hours=1))
    return f"UTC{sign}{hours:02d}:{rest // dt.timedelta(minutes=1):02d}"


def zone_name(zone: str) -> str:
    """A zone as people read it: "Europe/Berlin", but "UTC+02:00" rather than "Etc/GMT-2"
    (whose sign is flipped)."""
    offset = fixed_offset(zone)
    if offset is None:
        return zone
    return "UTC" if not offset else utc_offset(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), zone)


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
    "errand_lookins": "No close family to reach? Ask errand helpers to look in",
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
    "flow_moved": "That answer crossed with another one — please check my last question "
    "and send it again.",
    "error": "Sorry, I can't do that.",
}
UNKNOWN_COMMAND = "I don't know that command. /help shows what I can do."
NOT_UNDERSTOOD = "I didn't quite catch that. Tap a button, or see /help."
PRIVATE_ONLY = "I work in private chats — please message me directly."
SOMETHING_WENT_WRONG = "Sorry — something went wrong on my side. Please try again in a moment."
TOO_LONG = "That's more than I can take in one message — could you make it shorter?"


# --- one conversation at a time: /cancel, and questions left unanswered ---------------------

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


def _join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# --- recovery: stages, care tips, pain check-ins, /progress --------------------------------

STAGE_LABELS = {
    "acute": "Acute flare",
    "easing": "Easing",
    "strengthening": "Strengthening",
    "staying-well": "Staying well",
    "not-improving": "Not getting better",
}
STAGE_HINTS = {
    "acute": "Spasms and inflammation; you may have been told to rest in bed.",
    "easing": "The inflammation has gone down a bit.",
    "strengthening": "Building up your back's strength.",
    "staying-well": "The weeks and months ahead: keeping your muscles strong and loose.",
    "not-improving": "Time to see a doctor or a specialist, or try a different therapy.",
}
STAGE_BUTTONS = {
    "acute": "😣 Acute flare",
    "easing": "🙂 Easing",
    "strengthening": "💪 Strengthening",
    "staying-well": "🌿 Staying well",
    "not-improving": "😟 Not getting better",
}


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage)


def stage_button(stage: str, current: bool) -> str:
    return f"✅ {STAGE_LABELS[stage]}" if current else STAGE_BUTTONS[stage]


ASK_STAGE = (
    "One more thing: <b>how is your back today?</b>\n"
    "Tap what fits best. It decides which care tips I send; /stage changes it any time."
)


def first_stage_set(stage: str) -> str:
    return f"Got it: <b>{stage_label(stage)}</b>. I'll keep my care tips to that. 🌿"


def stage_view(stage: str, since: str) -> str:
    return (
        f"Your recovery stage: <b>{stage_label(stage)}</b> (since {esc(since)}).\n"
        f"<i>{STAGE_HINTS.get(stage, '')}</i>\n\nTap to change it:"
    )


def stage_set(stage: str, changed: bool) -> str:
    if not changed:
        return f"You're already in <b>{stage_label(stage)}</b>. /tip gives you a tip for it."
    return (
        f"Stage set: <b>{stage_label(stage)}</b>. My tips follow it from now on — /tip for one now."
    )


def date_local(instant: dt.datetime, timezone: str | None) -> str:
    """A day a person can read, in their own time zone."""
    local = instant.astimezone(ZoneInfo(timezone)) if timezone else instant
    return local.strftime("%a %d %b")


# Care tips
BUTTON_ANOTHER_TIP = "Another tip"


# While "Back to acute?" waits for an answer after a flare-up.
EXERCISE_PAUSED = (
    "<i>Exercise tips wait until you answer “Back to acute?” — or pick your stage with /stage.</i>"
)


def tip_now(text: str, stage: str, exercise_paused: bool = False) -> str:
    tip = f"🌿 <b>A tip for your stage</b> · {stage_label(stage)}\n\n{esc(text)}"
    return f"{tip}\n\n{EXERCISE_PAUSED}" if exercise_paused else tip


def daily_tip(text: str, stage: str, exercise_paused: bool = False) -> str:
    paused = f"{EXERCISE_PAUSED}\n" if exercise_paused else ""
    return (
        f"🌿 <b>Today's tip</b> · {stage_label(stage)}\n\n{esc(text)}\n\n"
        f"{paused}<i>/tips changes the time or turns these off.</i>"
    )


def helper_tip(patient_name: str, text: str) -> str:
    return (
        f"💛 <b>A tip for helping {esc(patient_name)}</b>\n\n{esc(text)}\n\n"
        "<i>/tips helper off stops these.</i>"
    )


def tips_status(
    patient: tuple[bool, str] | None, helping: list[tuple[str, bool]], timezone: str | None
) -> str:
    """patient: (on, "HH:MM") of their daily tip; helping: (patient name, on) per circle."""
    lines = []
    if patient is not None:
        on, at = patient
        where = f" ({esc(zone_name(timezone))} time)" if timezone else ""
        lines.append(
            f"🌿 Your daily tip comes at <b>{at}</b>{where}."
            if on
            else "🌿 Your daily tips are <b>off</b>."
        )
        lines.append("Change the time with <code>/tips 09:00</code>, or <code>/tips off</code>.")
    if helping:
        if lines:
            lines.append("")
        lines.append("💛 <b>Tips for helping</b> (one a day, at the patient's tip time):")
        lines += [f"• {esc(name)}: {'on' if on else 'off'}" for name, on in helping]
        lines.append("Tap to switch, or <code>/tips helper on</code> / <code>off</code>.")
    return "\n".join(lines)


def tips_set(on: bool, at: str) -> str:
    if on:
        return f"🌿 I'll send you a care tip every day at <b>{at}</b> (your time)."
    return "Daily tips are off. <code>/tips 10:00</code> turns them back on."


def helper_tips_set(helping: list[tuple[str, bool]]) -> str:
    on = [name for name, is_on in helping if is_on]
    if not on:
        return "Helper tips are off. <code>/tips helper on</code> brings them back."
    return (
        f"💛 You'll get a short tip a day on helping {esc(_join_names(on))}. "
        "<code>/tips helper off</code> stops them."
    )


TIPS_USAGE = (
    "I couldn't read that. Try <code>/tips 09:00</code>, <code>/tips off</code>, "
    "or for helpers <code>/tips helper on</code>."
)
BUTTON_TIPS_OFF = "Turn daily tips off"
BUTTON_TIPS_ON = "Turn daily tips on"


def button_helper_tips(patient_name: str, on: bool) -> str:
    return f"{'✅' if on else '⬜'} Tips for helping {patient_name}"


# Pain and the daily check-in
CHECKIN_QUESTION = (
    "🌿 <b>How's your back today?</b>\nOne tap: 0 is no pain, 10 the worst you can imagine."
)
CHECKIN_NUDGE = "Just checking in 💛 How's your back today? One tap is enough."
PAIN_ASK = "How's your back right now? Tap a number: 0 is no pain, 10 the worst."


def checkin_status(on: bool, at: str) -> str:
    if not on:
        return "Your daily check-in is <b>off</b>. <code>/checkin 11:00</code> turns it back on."
    return (
        f"I ask how your back is every day at <b>{at}</b>. No answer by the evening: one "
        "gentle nudge; still nothing next morning: I ask close family to look in "
        "(switch that in /circle ▸ Settings).\n"
        "Change the time with <code>/checkin 09:30</code>, or <code>/checkin off</code>."
    )


def checkin_set(on: bool, at: str) -> str:
    if on:
        return f"I'll ask how your back is every day at <b>{at}</b>. 🌿"
    return "Daily check-ins are off. <code>/checkin on</code> turns them back on."


CHECKIN_USAGE = (
    "I couldn't read that. Try <code>/checkin 09:30</code> or <code>/checkin off</code>."
)
BUTTON_CHECKIN_OFF = "Turn check-ins off"
BUTTON_CHECKIN_ON = "Turn check-ins on"

SUGGESTIONS = {
    "flare": (
        "That sounds like a flare-up. <b>Back to acute?</b> Until you answer, I'll hold back "
        "the exercise tips."
    ),
    "high_again": (
        "Your pain has been 6 or more on two of the last three days. Is it a flare-up? "
        "<b>Back to acute?</b> Until you answer, I'll hold back the exercise tips."
    ),
    "easing_ready": (
        "Your pain has been 4 or lower on two days in a row. Has the inflammation gone down a "
        "bit? If so, the <b>easing</b> stage may fit you now."
    ),
    "strengthening_ready": (
        "Your pain has been 2 or lower on three days. Maybe it's time for the "
        "<b>strengthening</b> stage?"
    ),
    "rising": (
        "Your pain has gone up three days running. If things aren't getting better, it may be "
        "time to see a doctor or a specialist, or try a different therapy. I have tips for that."
    ),
    "no_improvement": (
        "You've been in the acute stage for a week and the pain isn't easing. It may be time "
        "to see a doctor or a specialist, or try a different therapy. I have tips for that."
    ),
}
SEVERE_PAIN = (
    "That's a lot of pain. 💛 If it's this bad, please <b>contact your doctor</b>. "
    "I can let your close family know, if you like."
)


def severe_pain_kept(answer: str) -> str:
    """A stage question answered on a severe report: the advice stays above the answer."""
    return f"{SEVERE_PAIN}\n\n{answer}"


def pain_recorded(score: int, severe: bool, suggestion: str | None) -> str:
    parts = [f"Noted: <b>{score}/10</b>. Thank you. 💛"]
    if severe:
        parts.append(SEVERE_PAIN)
    if suggestion is not None:
        parts.append(SUGGESTIONS[suggestion])
    return "\n\n".join(parts)


def button_switch_stage(stage: str) -> str:
    if stage == "not-improving":
        return "Yes, show those tips"
    if stage == "acute":
        return "Yes, back to acute"
    return f"Yes, switch to {stage_label(stage).lower()}"


BUTTON_NOT_NOW = "Not now"
BUTTON_TELL_HELPERS = "Let my helpers know"
SUGGESTION_DECLINED = (
    "Okay, we'll stay where we are. I won't suggest that again for a few days; "
    "/stage changes it whenever you like."
)
FLARE_DECLINED = (
    "Okay, we'll stay where we are, and the exercise tips are back. If your pain reaches 8 or "
    "more, I'll ask again; /stage changes it whenever you like."
)


def stage_switched(stage: str) -> str:
    if stage == "not-improving":
        return (
            "Okay. My tips now focus on what to do when things aren't getting better — "
            "/tip for one. 💛"
        )
    return f"Done: you're in <b>{stage_label(stage)}</b> now. My tips follow it — /tip for one."


def helpers_told(names: list[str]) -> str:
    if not names:
        return (
            "There's no close family in your circle I can reach yet. If you need help now, "
            "please call someone or your doctor. /invite brings family in."
        )
    return (
        f"I've let {esc(_join_names(names))} know. 💛 "
        "Please contact your doctor if it stays this bad."
    )


def severe_pain_alert(patient_name: str, score: int) -> str:
    return (
        f"⚠️ <b>{esc(patient_name)}</b>'s back pain is very bad right now ({score}/10). "
        "They asked me to let you know. Could you check on them?"
    )


def lookin_request(patient_name: str, since: str = "yesterday") -> str:
    return (
        f"💛 <b>{esc(patient_name)}</b> hasn't answered my daily check-in since {since}. "
        "Could you look in on them, or give them a call?"
    )


def lookin_asked(helper_name: str, since: str = "yesterday") -> str:
    return (
        f"I haven't heard from you since {since}'s check-in, so I've asked "
        f"<b>{esc(helper_name)}</b> to look in on you. 💛\n"
        "<i>You can switch this off in /circle ▸ Settings.</i>"
    )


# --- someone always hears: look-ins, and when nobody in close family can be reached ----------

if TYPE_CHECKING:
    from bot.views.reach import AlertReach, LookIn


def since_day(day: dt.date, today: dt.date) -> str:
    """The day of an unanswered check-in, as "since …" reads it: "yesterday", "Monday"."""
    days = (today - day).days
    if days <= 1:
        return "yesterday"
    return day.strftime("%A") if days < 7 else day.strftime("%A %d %B").replace(" 0", " ")


def errand_lookin(patient_name: str) -> str:
    """To an errand helper: why is never said (it may be medication)."""
    return f"💛 <b>{esc(patient_name)}</b> may need a hand — could you check on them?"


def someone_checking(patient_name: str, checker: str) -> str:
    """A look-in request once another helper took it on."""
    return f"💛 {esc(checker)} is checking on {esc(patient_name)}. Thank you for being there."


def lookin_settled(patient_name: str) -> str:
    """A look-in request once it's no longer needed (never says why)."""
    return f"💛 All sorted — {esc(patient_name)} doesn't need a check-in now. Thank you."


def lookin_reply(result: LookIn) -> str:
    """The answer to the tap on "I'll check on them" (never about medication)."""
    patient = esc(result.patient_name)
    if result.resolved:
        return "No need any more — it's been taken care of. Thank you for looking out. 💛"
    if result.by_me:
        return f"Thank you — you're checking on <b>{patient}</b>. I've let them know. 💛"
    return f"{esc(result.checker_name)} is already checking on {patient}. Thank you. 💛"


def lookin_nobody(since: str) -> str:
    return (
        f"💛 I haven't heard from you since {since}'s check-in, and there's nobody in your "
        "circle I can ask to look in on you right now. If you need help, please call someone "
        "or your doctor. /invite brings close family in."
    )


def nobody_told_of_dose(name: str, dose: str, due_label: str, errand: list[str]) -> str:
    """To the patient, when no close family can be told that a dose went unconfirmed."""
    lines = [
        f"💛 Your {_med(name, dose)} due {due_label} isn't confirmed, and I couldn't tell "
        "anyone: nobody in your close family can be reached right now."
    ]
    if errand:
        lines.append(
            f"I've asked {esc(_join_names(errand))} to look in on you — without mentioning "
            "your medication."
        )
    lines.append("So that family hears next time, invite close family with /invite.")
    return "\n".join(lines)


def alert_reach(reach: AlertReach, for_patient: bool) -> str:
    """Who would hear about a missed dose right now, for /addmed and /meds."""
    if reach.close:
        return f"🔔 If a dose isn't confirmed, {esc(_join_names(list(reach.close)))} would be told."
    invite = " Invite close family with /invite." if for_patient else ""
    if reach.errand:
        return (
            "🔔 If a dose isn't confirmed, no close family can be told right now: "
            f"{esc(_join_names(list(reach.errand)))} would be asked to look in "
            f"(without medication details).{invite}"
        )
    if for_patient:
        return (
            "⚠️ If a dose isn't confirmed, nobody would be told — invite close family with /invite."
        )
    return "⚠️ If a dose isn't confirmed, nobody in close family can be told right now."


# /progress
PROGRESS_EMPTY = (
    "No pain scores in the last 14 days yet. Send <code>/pain 4</code> (0–10) or answer the "
    "daily check-in, and /progress will draw your chart."
)
CHART_TITLE = "Pain, last 14 days (highest each day)"
CHART_DOSES = "doses"


def progress_caption(
    pain: list[tuple[dt.date, int]],
    days: int,
    reports: int,
    stage: str,
    since: str,
    doses_total: int | None,
) -> str:
    """pain: (local date, the day's highest score) for days with a report, oldest first."""
    (first_day, first), (last_day, last) = pain[0], pain[-1]
    average = sum(score for _, score in pain) / len(pain)
    if len(pain) == 1:
        trend = f"Pain {last}/10 on {_day(last_day)}."
    else:
        direction = "down" if last < first else "up" if last > first else "about the same"
        trend = (
            f"Pain from {first}/10 ({_day(first_day)}) to {last}/10 ({_day(last_day)}): "
            f"{direction}. Average {average:.1f}."
        )
    lines = [
        f"<b>Your last {days} days</b>",
        trend,
        f"{reports} score{'s' if reports != 1 else ''} on {len(pain)} of {days} days.",
        f"Stage: <b>{stage_label(stage)}</b> since {esc(since)}.",
    ]
    if doses_total is not None:
        lines.append(f"Doses taken: {doses_total}.")
    return "\n".join(lines)


def _day(day: dt.date) -> str:
    return day.strftime("%a %d %b")


# --- needs ---------------------------------------------------------------------------------
MENU_NEED = "🙋 I need something"

# key → (emoji, button label, the words helpers see for a one-tap need)
NEED_CATEGORIES = {
    "ice": ("🧊", "Ice pack", "An ice pack"),
    "water": ("💧", "Water", "Some water"),
    "meal": ("🍲", "A meal", "A meal"),
    "pharmacy": ("💊", "Pharmacy pick-up", "A pharmacy pick-up"),
    "groceries": ("🛒", "Groceries", "Some groceries"),
    "bathroom": ("🚻", "Help to the bathroom", "Help to the bathroom"),
    "charger": ("🔌", "Phone charger", "The phone charger"),
    "ride": ("🚗", "A ride", "A ride"),
    "company": ("🫶", "Company", "Some company"),
    "other": ("📝", "Something else…", ""),
}
MEDIA_EMOJI = {"photo": "📷", "voice": "🎤"}
# Names in need messages are cut so a photo's caption (1024) always fits.
NAME_MAX = 32


def _name(name: str) -> str:
    return esc(name[:NAME_MAX])


def _names(names: list[str] | tuple[str, ...]) -> str:
    return _join_names([f"<b>{_name(n)}</b>" for n in names])


def need_category_text(category: str) -> str:
    return NEED_CATEGORIES[category][2]


def need_media_text(kind: str) -> str:
    return "See the photo" if kind == "photo" else "Listen to the voice note"


def _need_emoji(card: NeedCard) -> str:
    if card.category == "other" and card.media_kind in MEDIA_EMOJI:
        return MEDIA_EMOJI[card.media_kind]
    return NEED_CATEGORIES.get(card.category, NEED_CATEGORIES["other"])[0]


def _short(card: NeedCard, limit: int = 80) -> str:
    """The need in one bold line, for notifications."""
    text = card.text if len(card.text) <= limit else card.text[: limit - 1].rstrip() + "…"
    return f"{_need_emoji(card)} <b>{esc(text)}</b>"


def need_button_label(card: NeedCard, limit: int = 24) -> str:
    """A need on a button (plain text, no HTML)."""
    first_line = card.text.split("\n", 1)[0]
    text = first_line if len(first_line) <= limit else first_line[: limit - 1].rstrip() + "…"
    return f"{_need_emoji(card)} {text}"


def by_time(instant: dt.datetime, zone: str | None, now: dt.datetime) -> str:
    """ "19:00", "19:00 tomorrow" or "Tue 03 Mar, 19:00", in the reader's time zone."""
    tz = ZoneInfo(zone) if zone else dt.UTC
    local, today = instant.astimezone(tz), now.astimezone(tz).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.date() == today + dt.timedelta(days=1):
        return local.strftime("%H:%M tomorrow")
    return local.strftime("%a %d %b, %H:%M")


def need_summary(card: NeedCard, zone: str | None, now: dt.datetime) -> str:
    """What is needed, the note, and by when / how urgent."""
    lines = [f"{_need_emoji(card)} <b>{esc(card.text)}</b>"]
    if card.note:
        lines.append(f"<i>{esc(card.note)}</i>")
    extras = []
    if card.urgent:
        extras.append("⚡ <b>urgent</b>")
    if card.deadline_at is not None:
        extras.append(f"⏰ by {by_time(card.deadline_at, zone, now)}")
    if extras:
        lines.append(" · ".join(extras))
    return "\n".join(lines)


def need_line(card: NeedCard, zone: str | None, now: dt.datetime) -> str:
    """One short line per need, for lists (so a long list still fits one message)."""
    line = _short(card, limit=60)
    if card.urgent:
        line += " · ⚡ urgent"
    if card.deadline_at is not None:
        line += f" · ⏰ by {by_time(card.deadline_at, zone, now)}"
    return line


# The walk-through and the patient's replies.
NEED_ASK_WHAT = "What do you need? One tap sends it to your helpers."
NEED_ASK_OTHER = "Tell me in a few words what you need (like “my glasses from the kitchen”)."
NEED_ASK_NOTE = "Type your note and I'll add it to the request."
NEED_ASK_WHEN = "By when? Tap one, or type a time like <code>19:00</code> or “pharmacy closes 7pm”."
NEED_TYPE_WHEN = "Type the time, like <code>19:00</code>, “pharmacy closes 7pm” or “in 2 hours”."
NEED_KEPT = "Okay, it stays as it is."
NEED_TRIMMED = "(It was long, so I kept the first part.)"
MEDIA_DROPPED = "Okay, I won't send it."
BUTTON_ADD_NOTE = "✏️ Add a note"
BUTTON_MAKE_URGENT = "⚡ Make it urgent"
BUTTON_BY_TIME = "⏰ By a time…"
BUTTON_CANCEL_NEED = "✖️ Cancel it"
BUTTON_SEND_AGAIN = "🔁 Send again"
BUTTON_POST_AGAIN = "🔁 Post it again"
BUTTON_YES_CANCEL = "Yes, cancel it"
BUTTON_KEEP_NEED = "No, keep it"
BUTTON_IN_1H = "In 1 hour"
BUTTON_IN_2H = "In 2 hours"
BUTTON_TODAY = "Today"
BUTTON_TYPE_TIME = "Type a time…"
BUTTON_SEND_MEDIA = "📤 Send it"
BUTTON_DONT_SEND = "Don't send"
BUTTON_THANK = "💛 Thank you"
# The helpers' buttons.
BUTTON_I_WILL = "🙋 I'll do it"
BUTTON_CANT_NOW = "Can't now"
BUTTON_CAN_AFTER_ALL = "🙋 Actually, I can do it"
BUTTON_NEED_DONE = "✅ Done"
BUTTON_RELEASE = "Can't make it after all"
BUTTON_RELEASE_SHORT = "Can't make it"


def need_routing(routed: Routed, zone: str | None, now: dt.datetime) -> str:
    """Who has the need now, for the patient: honest about quiet hours and time away."""
    lines = []
    if routed.asked and routed.one_at_a_time and routed.later:
        lines.append(
            f"I've asked {_names(routed.asked)} first; if that doesn't work out, "
            "I'll ask the others in turn."
        )
    elif routed.asked:
        lines.append(f"I've asked {_names(routed.asked)}. I'll tell you who takes it.")
    for name, until in routed.held:
        lines.append(
            f"<b>{_name(name)}</b> has quiet hours now and will see it at "
            f"{by_time(until, zone, now)} (make it urgent to reach them now)."
        )
    if routed.away:
        verb = "is" if len(routed.away) == 1 else "are"
        lines.append(f"{_names(routed.away)} {verb} away, so I didn't ask.")
    if not routed.reached and not routed.later:
        lines.append(
            "There's no one I can ask right now. It stays open in /needs — "
            "you can send it again later."
        )
    return "\n".join(lines)


def need_posted(
    card: NeedCard, routed: Routed | None, zone: str | None, now: dt.datetime, trimmed: bool
) -> str:
    parts = [f"📨 <b>Sent</b>\n{need_summary(card, zone, now)}"]
    if routed is not None:
        parts.append(need_routing(routed, zone, now))
    if trimmed:
        parts.append(NEED_TRIMMED)
    return "\n\n".join(p for p in parts if p)


def need_sent_again(
    card: NeedCard, routed: Routed | None, zone: str | None, now: dt.datetime
) -> str:
    parts = [f"🔁 <b>Sent again</b>\n{need_summary(card, zone, now)}"]
    if routed is not None:
        parts.append(need_routing(routed, zone, now))
    return "\n\n".join(p for p in parts if p)


def need_updated(card: NeedCard, what: str, zone: str | None, now: dt.datetime) -> str:
    heading = {
        "note": "✏️ <b>Note added</b>",
        "urgent": "⚡ <b>Marked urgent</b> — quiet hours won't hold it back.",
        "deadline": "⏰ <b>Got it</b>",
    }[what]
    return f"{heading}\n{need_summary(card, zone, now)}"


def need_media_ask(kind: str) -> str:
    what = "photo" if kind == "photo" else "voice note"
    return (
        f"Send this {what} to your helpers?\n"
        "You can type a few words to go with it first, or just tap <b>Send it</b>."
    )


def need_cancelled(card: NeedCard) -> str:
    return f"✖️ Cancelled: {_short(card)}\nI've let your helpers know."


def need_confirm_cancel(owner_name: str, card: NeedCard) -> str:
    return (
        f"<b>{_name(owner_name)}</b> is already on {_short(card)}.\n"
        "Cancel it anyway? I'll let them know."
    )


def need_thanks_sent(owner_name: str, card: NeedCard) -> str:
    return f"✅ {_short(card)}\n💛 I've passed your thanks to <b>{_name(owner_name)}</b>."


def need_taken_refusal(name: str, done: bool) -> str:
    if done:
        return f"Already done by {name[:NAME_MAX]}. 💛"
    return f"Already taken by {name[:NAME_MAX]}."


# Messages to helpers (offers and what they turn into).
def need_offer(patient_name: str, card: NeedCard, zone: str | None, now: dt.datetime) -> str:
    return (
        f"🙋 <b>{_name(patient_name)}</b> needs a hand:\n\n"
        f"{need_summary(card, zone, now)}\n\nCan you do it?"
    )


def need_reminder(patient_name: str, card: NeedCard, zone: str | None, now: dt.datetime) -> str:
    return (
        f"⏳ Still needed — <b>{_name(patient_name)}</b> is waiting:\n\n"
        f"{need_summary(card, zone, now)}\n\nCan you do it?"
    )


def need_taken_view(
    patient_name: str, card: NeedCard, owner_name: str, zone: str | None, now: dt.datetime
) -> str:
    return (
        f"<b>{_name(patient_name)}</b>'s request:\n{need_summary(card, zone, now)}\n\n"
        f"✋ Taken by <b>{_name(owner_name)}</b>."
    )


def need_owner_view(patient_name: str, card: NeedCard, zone: str | None, now: dt.datetime) -> str:
    return (
        f"✅ <b>You're on it</b> — I've told {_name(patient_name)}.\n\n"
        f"{need_summary(card, zone, now)}\n\nTap <b>Done</b> when it's done."
    )


def need_declined_view(
    patient_name: str, card: NeedCard, zone: str | None, now: dt.datetime
) -> str:
    return (
        f"<b>{_name(patient_name)}</b>'s request:\n{need_summary(card, zone, now)}\n\n"
        "No worries — thanks for letting me know. 💛"
    )


def need_finished_view(patient_name: str, card: NeedCard, how: str) -> str:
    ending = {
        "done": f"✅ Done — thank you! I've told {_name(patient_name)}. 💛",
        "released": (
            f"Okay — I've let {_name(patient_name)} know and asked the others. "
            "Thanks for saying so."
        ),
        "cancelled": f"{_name(patient_name)} doesn't need this any more.",
        "expired": "No longer needed — the time for it has passed.",
        "gone": f"You're no longer in {_name(patient_name)}'s circle.",
    }[how]
    return f"{_short(card)}\n\n{ending}"


def need_cancelled_for_owner(patient_name: str, card: NeedCard) -> str:
    return (
        f"<b>{_name(patient_name)}</b> doesn't need {_short(card)} any more.\n"
        "Thank you for being ready to help. 💛"
    )


def need_thanks_for_owner(patient_name: str, card: NeedCard) -> str:
    return f"💛 <b>{_name(patient_name)}</b> says thank you for {_short(card)}."


def need_changed_for_owner(
    patient_name: str, card: NeedCard, what: str, zone: str | None, now: dt.datetime
) -> str:
    who = f"<b>{_name(patient_name)}</b>"
    if what == "note":
        return f"✏️ {who} added a note to {_short(card)}:\n<i>{esc(card.note or '')}</i>"
    if what == "urgent":
        return f"⚡ {who} marked {_short(card)} as <b>urgent</b>."
    deadline = by_time(card.deadline_at, zone, now) if card.deadline_at else "soon"
    return f"⏰ {who} needs {_short(card)} by {deadline}."


# Messages to the patient.
def need_claimed_for_patient(owner_name: str, card: NeedCard) -> str:
    return f"🙌 <b>{_name(owner_name)}</b> is on it: {_short(card)}"


def need_done_for_patient(owner_name: str, card: NeedCard) -> str:
    return f"✅ <b>{_name(owner_name)}</b> has done it: {_short(card)}"


def need_released_for_patient(
    owner_name: str,
    card: NeedCard,
    routed: Routed,
    zone: str | None,
    now: dt.datetime,
    *,
    gone: bool,
) -> str:
    why = "is no longer in your circle" if gone else "can't make it after all"
    routing = need_routing(routed, zone, now)
    if not routed.reached and not routed.later:
        routing = "There's no one else I can ask right now. Shall I send it to everyone again?"
    return f"<b>{_name(owner_name)}</b> {why}, so {_short(card)} is open again.\n{routing}"


def need_honest_note(card: NeedCard, asked: list[str], *, all_declined: bool) -> str:
    if all_declined:
        return (
            f"Nobody can do {_short(card)} right now — {_names(asked)} can't at the moment.\n"
            "Shall I send it again, or cancel it?"
        )
    if not asked:
        return (
            f"No one has taken {_short(card)} yet — there was nobody I could ask.\n"
            "Shall I send it again, or cancel it?"
        )
    return (
        f"No one has taken {_short(card)} yet. I asked {_names(asked)} and reminded them.\n"
        "Shall I send it again, or cancel it?"
    )


def need_expired_for_patient(card: NeedCard, zone: str | None) -> str:
    when = ""
    if card.deadline_at is not None:
        tz = ZoneInfo(zone) if zone else dt.UTC
        when = f" by {card.deadline_at.astimezone(tz).strftime('%H:%M')}"
    return (
        f"⌛ Nobody could take {_short(card)}{when}, so I've taken it off the list.\n"
        "If you still need it, you can post it again."
    )


# /needs and /mytasks.
def needs_for_patient(
    needs: list[tuple[NeedCard, str, str | None, bool]], zone: str | None, now: dt.datetime
) -> str:
    """needs: (card, state, owner name, thanked), newest first."""
    if not needs:
        return (
            "You have no open requests. Tap “🙋 I need something” (or send /need) "
            "when you need a hand."
        )
    sections: dict[str, list[str]] = {"open": [], "claimed": [], "done": []}
    for card, state, owner, thanked in needs:
        line = f"• {need_line(card, zone, now)}"
        if state == "claimed" and owner:
            line += f"\n  🙌 {_name(owner)} is on it"
        elif state == "done":
            who = _name(owner or FORMER_HELPER)  # no owner: they deleted their data
            line += f"\n  ✅ done by {who}" + (" — thanked 💛" if thanked else "")
        sections.setdefault(state, []).append(line)
    titles = {"open": "Waiting for someone", "claimed": "Being done", "done": "Done lately"}
    parts = ["<b>Your requests</b>"]
    for state, title in titles.items():
        if sections.get(state):
            parts.append(f"<b>{title}</b>\n" + "\n".join(sections[state]))
    return "\n\n".join(parts)


def needs_for_helper(
    open_needs: list[tuple[NeedCard, str]],
    mine: list[tuple[NeedCard, str]],
    zone: str | None,
    now: dt.datetime,
) -> str:
    """open_needs, mine: (card, patient name)."""
    if not open_needs and not mine:
        return "Nothing is waiting right now. 🌿 I'll message you when someone needs a hand."
    parts = []
    if open_needs:
        lines = [f"• {_name(p)}: {need_line(c, zone, now)}" for c, p in open_needs]
        parts.append("<b>Open requests</b>\n" + "\n".join(lines))
    if mine:
        lines = [f"• {_name(p)}: {need_line(c, zone, now)}" for c, p in mine]
        parts.append("<b>You're on it</b>\n" + "\n".join(lines))
    return "\n\n".join(parts)


def my_tasks(
    mine: list[tuple[NeedCard, str]], done: int, zone: str | None, now: dt.datetime
) -> str:
    if mine:
        lines = [f"• {_name(p)}: {need_line(c, zone, now)}" for c, p in mine]
        text = "<b>You're on it</b>\n" + "\n".join(lines)
    else:
        text = "You haven't taken anything on right now. /needs shows what's open."
    if done:
        times = "once" if done == 1 else f"{done} times"
        text += f"\n\nThis week you've helped {times} — thank you. 💛"
    return text


def helped_this_week(helpers: list[tuple[str, int]], patient_name: str | None = None) -> str:
    """For /circle: who helped in the last 7 days, with thanks (never a ranking of who didn't)."""
    where = f" in {_name(patient_name)}'s circle" if patient_name else ""
    if not helpers:
        return f"No requests done{where} this week yet."
    parts = [
        f"<b>{_name(name)}</b> ({'once' if count == 1 else f'{count} times'})"
        for name, count in helpers
    ]
    return f"💛 Helped{where} this week: {_join_names(parts)}. Thank you!"


# Quiet hours and time away.
QUIET_OFF = "Quiet hours off: requests reach you any time."
QUIET_HOW = "Set them with <code>/quiet 22:00-07:00</code>, or tap one:"
AWAY_ASK = "How long will you be away? Nobody will ask you for anything until you're back."
AWAY_INDEFINITE = (
    "Got it — you're away until you send /back. I won't ask you for anything until then. 💛"
)
BUTTON_QUIET_OFF = "Turn quiet hours off"
BUTTON_AWAY_UNTIL_BACK = "Until I send /back"


def quiet_range(start: dt.time, end: dt.time) -> str:
    return f"{start.strftime('%H:%M')}–{end.strftime('%H:%M')}"


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


# --- meds ----------------------------------------------------------------------------------
# Medication messages state facts and point to the label and the doctor: never a dosing
# suggestion. Errand helpers never get any of these (they see needs only).

if TYPE_CHECKING:
    from bot.domain.errors import DomainError
    from bot.views.meds import (
        AddPrompt,
        AdherenceReport,
        AsNeededAnswer,
        DoseView,
        DoseWarning,
        EditPrompt,
        MedDetail,
        MedList,
        MedView,
        OtherDose,
    )

ASK_LABEL = "If you're unsure, check the label or ask your doctor or pharmacist."


def clock(instant: dt.datetime, zone: str) -> str:
    """A wall-clock time in the patient's zone, like 08:05."""
    return instant.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def day_clock(instant: dt.datetime, zone: str, now: dt.datetime) -> str:
    """ "today 14:00", "tomorrow 08:00" or "Wed 08:00", in the patient's zone."""
    tz = ZoneInfo(zone)
    local, today = instant.astimezone(tz), now.astimezone(tz).date()
    days = (local.date() - today).days
    prefix = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(days, local.strftime("%a %d %b"))
    return f"{prefix} {local:%H:%M}"


def minutes(value: float) -> str:
    if value < 1:
        return f"{round(value * 60)} s"
    hours, mins = divmod(round(value), 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


def _hours(value: float) -> str:
    return f"{value:g} hour" + ("" if value == 1 else "s")


LIMITS_NOT_SAVED = "not saved"


def _max_words(max_per_24h: int | None) -> str:
    # A stored 0 is no limit at all (the database now refuses one): never "at most 0".
    if not max_per_24h:
        return "no maximum saved"
    doses = "dose" if max_per_24h == 1 else "doses"
    return f"at most {format_max(max_per_24h)} {doses} in 24 hours"


def _gap_words(min_hours: float | None) -> str:
    if not min_hours:
        return "no minimum gap saved"
    hours = "hour" if min_hours == 1 else "hours"
    return f"at least {format_gap(min_hours)} {hours} between doses"


def label_limits(max_per_24h: int | None, min_hours: float | None) -> str:
    """The label's limits as saved, in words that read back the exact numbers."""
    if not max_per_24h and not min_hours:
        return LIMITS_NOT_SAVED
    return f"{_max_words(max_per_24h)}; {_gap_words(min_hours)}"


def schedule_heads_up(times: Sequence[str], max_per_24h: int | None, gap: float | None) -> str:
    """Facts, when the schedule's own times already pass the label's limits ("" if not)."""
    parsed = schedule_from_stored(FIXED, list(times), None).times
    found = schedule_vs_label(parsed, max_per_24h, gap)
    if found is None:
        return ""
    lines = []
    if found.doses_a_day is not None:
        lines.append(
            f"⚠️ These times are {found.doses_a_day} doses a day; the label says "
            f"{_max_words(max_per_24h)}."
        )
    if found.close_pair is not None:
        first, second = (format_time(t) for t in found.close_pair)
        lines.append(
            f"⚠️ {first} and {second} are {minutes(found.close_hours * 60)} apart; the label "
            f"says {_gap_words(gap)}."
        )
    lines.append("Please check with your doctor or pharmacist.")
    return "\n" + "\n".join(lines)


def _med(name: str, dose: str) -> str:
    return f"<b>{esc(name)}</b> {esc(dose)}"


def _schedule(med: MedView) -> str:
    if med.as_needed:
        return "as needed"
    times = ", ".join(med.times)
    return f"every {med.every_hours} hours ({times})" if med.every_hours else times


# The reminder and what becomes of it.


def dose_reminder(name: str, dose: str, note: str | None, late_label: str | None) -> str:
    text = f"💊 Time for {_med(name, dose)}"
    if note:
        text += f" ({esc(note)})"
    if late_label:
        text += late_note(late_label)
    return text


def late_note(due_label: str) -> str:
    """Added to a reminder that goes out late (the bot or Telegram was down)."""
    return f"\n<i>This was due at {due_label} — sorry, I couldn't send it on time.</i>"


def dose_nudge(name: str, dose: str, due_label: str) -> str:
    return (
        f"Just checking in 💛 — did you take {_med(name, dose)}? It was due at {due_label}.\n"
        "Tap below when you can."
    )


def dose_done(view: DoseView) -> str:
    """The reminder after the answer: the choice and the time."""
    what = f"{_med(view.name, view.dose)} ({view.due_label})"
    zone = view.timezone
    if view.state == "taken" and view.taken_at is not None:
        at = clock(view.taken_at, zone)
        if not view.by_patient and view.by_name:
            return f"✅ {what} — given by {esc(view.by_name)} at {at}."
        return f"✅ {what} — taken{' late' if view.late else ''} at {at}."
    if view.state == "skipped":
        return f"⏭ {what} — skipped."
    if view.state == "snoozed" and view.snoozed_until is not None:
        text = f"⏰ {what} — snoozed until {clock(view.snoozed_until, zone)}."
        if view.alert_at is not None and view.alert_at <= view.snoozed_until:
            text += (
                f"\nIf it's still not confirmed at {clock(view.alert_at, zone)}, "
                "I'll tell your close family (or you, if I can't reach any of them)."
            )
        return text
    if view.state == "cancelled":
        return dose_removed(view)
    return dose_reminder(view.name, view.dose, view.note, None)


def dose_removed(view: DoseView) -> str:
    return f"{_med(view.name, view.dose)} ({view.due_label}) — this medication was removed."


def dose_alert(patient_name: str, name: str, dose: str, due_label: str) -> str:
    return (
        f"<b>{esc(patient_name)}</b> hasn't confirmed {_med(name, dose)} due {due_label}.\n"
        "Could someone check on them?"
    )


def dose_resolved(view: DoseView) -> str:
    """A helper's alert once the dose is answered after all."""
    who, what = f"<b>{esc(view.patient_name)}</b>", f"{_med(view.name, view.dose)}"
    due = f"due {view.due_label}"
    if view.state == "taken" and view.taken_at is not None:
        at = clock(view.taken_at, view.timezone)
        if not view.by_patient and view.by_name:
            return f"✅ Resolved: {esc(view.by_name)} gave {who} {what} ({due}) at {at}."
        return f"✅ Resolved: {who} took {what} ({due}) at {at}."
    if view.state == "skipped":
        return f"✅ Resolved: {who} chose to skip {what} ({due})."
    return f"{who}'s {what} ({due}) no longer needs checking: it was removed from their list."


def dose_someone_checking(view: DoseView, checker: str) -> str:
    return (
        f"<b>{esc(view.patient_name)}</b> hasn't confirmed {_med(view.name, view.dose)} "
        f"due {view.due_label}.\n<b>{esc(checker)}</b> is checking on them."
    )


def dose_checking_to_patient(checker: str) -> str:
    return f"<b>{esc(checker)}</b> is going to check on you. 💛"


def check_on_reply(patient: str, checker: str, by_me: bool, resolved: bool) -> str:
    if resolved:
        return f"Good news: {esc(patient)}'s dose has been confirmed. Thank you for looking out."
    if by_me:
        return f"Thank you — you're checking on <b>{esc(patient)}</b>. I've let the others know."
    return f"<b>{esc(checker)}</b> is already checking on {esc(patient)}."


def dose_given_to_patient(view: DoseView) -> str:
    at = clock(view.taken_at, view.timezone) if view.taken_at else ""
    return (
        f"<b>{esc(view.by_name or '')}</b> marked your {_med(view.name, view.dose)} "
        f"({view.due_label}) as given at {at}."
    )


def dose_already(error: DomainError) -> str:
    from bot.domain.errors import DoseAlreadyRecorded

    assert isinstance(error, DoseAlreadyRecorded)
    at = f" at {clock(error.at, error.zone)}" if error.at else ""
    if error.state == "skipped":
        return f"This dose was already skipped{at}."
    if error.by_self:
        done = "took this dose" if error.by_patient else "marked this dose as given"
        return f"Already recorded: you {done}{at}."
    who = error.by_name or "Someone"
    if error.by_patient:
        return f"{who} already took this dose{at}, so it isn't logged twice."
    return f"{who} already marked this dose as given{at}, so it isn't logged twice."


def _other_dose(other: OtherDose, zone: str) -> str:
    at = clock(other.at, zone)
    if other.by_self:
        return f"You already logged this at {at}."
    name = other.by_name or FORMER_HELPER
    who = esc(name[:1].upper() + name[1:])
    if other.by_patient:
        return f"{who} already took this at {at}."
    return f"{who} already gave this at {at}."


def dose_warning(warning: DoseWarning) -> str:
    """Before a second dose for one time, or one past the label's limits: the facts, then
    the question. Never a suggestion."""
    check, zone, at = warning.check, warning.timezone, warning.at
    lines = [f"⚠️ {_med(warning.name, warning.dose)}"]
    if warning.other is not None:
        lines.append(_other_dose(warning.other, zone))
    if check.over_max and check.max_per_24h is not None:
        lines.append(
            f"This would be dose {check.busiest_24h + 1} in 24 hours; "
            f"the label says at most {check.max_per_24h}."
        )
    if check.too_soon(at) and check.min_hours:
        gap = _hours(check.min_hours)
        nearest = [t for t in (check.last_taken_at, check.next_taken_at) if t is not None]
        closest = min(nearest, key=lambda t: abs(t - at))
        lines.append(
            f"A dose is logged at {clock(closest, zone)}; "
            f"the label says at least {gap} between doses."
        )
    lines.append(
        "Please check the label or ask your doctor or pharmacist before taking more.\n"
        + ("Log another anyway?" if warning.other is not None else "Log it anyway?")
    )
    return "\n".join(lines)


BUTTON_TAKEN = "✅ Taken"
BUTTON_SKIP = "Skip"
BUTTON_TOOK_AT = "🕗 I took it at another time"
BUTTON_CHECK_ON = "I'll check on them"
BUTTON_GIVEN = "Mark as given"
BUTTON_LOG_ANYWAY = "Log it anyway"
BUTTON_NOT_NOW = "Not now"
BUTTON_CAN_I = "Can I take another?"
NOT_LOGGED = "Okay, nothing logged."
ASK_TOOK_AT = "What time did you take it? (like <code>08:10</code> or <code>8:10 am</code>)"


def button_snooze(mins: int) -> str:
    return f"⏰ {mins} min"


def button_given(name: str, due_label: str) -> str:
    return f"Mark given: {name} {due_label}"


# /took and "Can I take another?"

TOOK_WHICH = "Which one did you take? Tap it and I'll log it."
TOOK_NONE = "You have no medications yet. /addmed adds one."


def extra_logged(view: DoseView, check: AsNeededAnswer | None = None) -> str:
    at = clock(view.taken_at, view.timezone) if view.taken_at else ""
    return f"Logged: {_med(view.name, view.dose)} at {at}. 💛"


def dose_recorded(view: DoseView) -> str:
    """/took when a reminder for that medication was waiting: it answers the reminder."""
    return dose_done(view)


def as_needed_answer(answer: AsNeededAnswer) -> str:
    """ "Can I take another?": what the log holds beside the label's saved limits. Facts
    only: it never says whether to take one, nor anything that reads as "you may"."""
    check, zone, now = answer.check, answer.timezone, answer.now
    lines = [f"{_med(answer.name, answer.dose)} — what's logged here:"]
    if check.last_taken_at:
        lines.append(f"• Last dose: {day_clock(check.last_taken_at, zone, now)}")
    else:
        lines.append("• No doses logged in the last two days.")
    doses = "dose" if check.count_24h == 1 else "doses"
    lines.append(f"• Last 24 hours: {check.count_24h} {doses} logged")
    if check.max_per_24h is not None:
        lines.append(f"• The label's maximum in 24 hours, as saved: {check.max_per_24h}")
    else:
        lines.append("• No maximum per 24 hours is saved from the label.")
    if check.min_hours is not None:
        gap = _hours(check.min_hours)
        lines.append(f"• The label's minimum gap between doses, as saved: {gap}")
        if check.last_taken_at:
            after = check.last_taken_at + dt.timedelta(hours=check.min_hours)
            lines.append(f"  ({gap} after the last dose: {day_clock(after, zone, now)})")
    else:
        lines.append("• No minimum gap between doses is saved from the label.")
    if check.max_per_24h is None or check.min_hours is None:
        lines.append("Label limits can be added in /meds ▸ this medication ▸ Label limits.")
    lines.append(f"<i>This only counts what's logged here — it isn't advice. {ASK_LABEL}</i>")
    return "\n".join(lines)


# The list and one medication.


def med_list(listing: MedList, now: dt.datetime) -> str:
    title = (
        "💊 <b>Your medications</b>"
        if listing.for_patient
        else f"💊 <b>{esc(listing.patient_name)}'s medications</b>"
    )
    if not listing.meds:
        more = " /addmed adds one." if listing.can_manage else ""
        return f"{title}\n\nNothing here yet.{more}"
    lines = [title, ""]
    for med in listing.meds:
        line = f"• {_med(med.name, med.dose)}"
        if med.note:
            line += f" ({esc(med.note)})"
        line += f" — {_schedule(med)}"
        if med.paused:
            line += " · ⏸ paused"
        elif med.next_due_at:
            line += f" · next {day_clock(med.next_due_at, listing.timezone, now)}"
        elif med.as_needed and med.last_taken_at:
            line += f" · last {day_clock(med.last_taken_at, listing.timezone, now)}"
        lines.append(line)
    if listing.reach is not None and any(not m.as_needed for m in listing.meds):
        lines += ["", alert_reach(listing.reach, listing.for_patient)]
    if listing.can_manage:
        lines += ["", "Tap one to change it."]
    return "\n".join(lines)


def med_detail(detail: MedDetail, now: dt.datetime) -> str:
    med = detail.med
    lines = [_med(med.name, med.dose)]
    if med.note:
        lines.append(esc(med.note))
    lines.append(f"When: {_schedule(med)}")
    if med.paused:
        lines.append("⏸ Paused — no reminders until you resume it.")
    elif med.next_due_at:
        lines.append(f"Next: {day_clock(med.next_due_at, med.timezone, now)}")
    if med.last_taken_at:
        lines.append(f"Last taken: {day_clock(med.last_taken_at, med.timezone, now)}")
    lines.append(f"Label limits: {label_limits(med.max_per_24h, med.min_hours_between)}")
    if med.supply_on_hand is not None:
        lines.append(f"Supply: {med.supply_on_hand} left")
    if not med.as_needed:
        lines.append(
            f"Close family is told after {minutes(med.alert_minutes)} if a dose isn't confirmed."
        )
    return "\n".join(lines)


BUTTON_ADD_MED = "➕ Add a medication"
BUTTON_PAUSE = "⏸ Pause"
BUTTON_RESUME = "▶️ Resume"
BUTTON_TIMES = "🕗 Change times"
BUTTON_SUPPLY = "📦 Supply"
BUTTON_LIMITS = "📋 Label limits"
BUTTON_DELETE = "🗑 Delete"
BUTTON_BACK = "« Back"
BUTTON_LOG_DOSE = "Log a dose now"
BUTTON_YES_DELETE = "Yes, delete"
BUTTON_NO_LIMIT = "No limit on the label"
BUTTON_KEEP_LIMIT = "Keep as it is"
BUTTON_DEFAULT = "Default"


def button_alert(mins: float) -> str:
    return f"🔔 Alert after {minutes(mins)}"


def button_alert_choice(mins: int, current: float, default: float | None = None) -> str:
    label = f"Default ({minutes(default)})" if default is not None else minutes(mins)
    return f"✓ {label}" if mins == current else label


def confirm_delete_med(name: str) -> str:
    return f"Delete <b>{esc(name)}</b>? Its reminders stop and its old buttons stop working."


def med_deleted(name: str) -> str:
    return f"<b>{esc(name)}</b> is deleted. No more reminders for it."


def choose_alert(med: MedView) -> str:
    return (
        f"If a dose of <b>{esc(med.name)}</b> isn't confirmed, when should close family be told? "
        "(Counted from the dose's time; snoozing doesn't move it.)"
    )


def ask_edit(field: str, med: MedView) -> str:
    name = f"<b>{esc(med.name)}</b>"
    if field == "times":
        return (
            f"New times for {name}? Like <code>08:00, 20:00</code>, "
            "<code>every 8 hours from 07:00</code> or <code>as needed</code>. "
            "They're in your local time."
        )
    if field == "supply":
        return (
            f"How many doses of {name} do you have on hand? Send a number "
            "(or <code>off</code> to stop counting). I'll count down with each dose."
        )
    if field == "max":
        return (
            f"From the label: at most how many doses of {name} in 24 hours? Send a number, "
            f"like <code>4</code>.\nNow: {_max_words(med.max_per_24h)}."
        )
    return (
        f"From the label: at least how many hours between doses of {name}? Send a number, "
        f"like <code>6</code> or <code>4.5</code>.\nNow: {_gap_words(med.min_hours_between)}."
    )


def edit_reply(prompt: EditPrompt) -> str:
    """After an answer in /meds: the next question, or what was saved, read back exactly."""
    med = prompt.med
    if prompt.field == "gap" and prompt.saved == "max":
        saved = (
            f"Saved: {_max_words(med.max_per_24h)}." if med.max_per_24h else "Saved: no maximum."
        )
        return f"{saved}\n\n{ask_edit('gap', med)}"
    if prompt.field is not None:
        return ask_edit(prompt.field, med)
    if prompt.saved in ("max", "gap"):
        limits = label_limits(med.max_per_24h, med.min_hours_between)
        saved = "no label limits" if limits == LIMITS_NOT_SAVED else limits
        return f"Saved: {saved}.\n{_med(med.name, med.dose)} — {_schedule(med)}.{_heads_up(med)}"
    return med_updated(med)


def med_updated(med: MedView) -> str:
    return f"Saved. {_med(med.name, med.dose)} — {_schedule(med)}.{_heads_up(med)}"


def _heads_up(med: MedView) -> str:
    if med.as_needed:
        return ""
    return schedule_heads_up(med.times, med.max_per_24h, med.min_hours_between)


def med_changed_by_helper(helper: str, change: str, med: MedView) -> str:
    what = _med(med.name, med.dose)
    limits = label_limits(med.max_per_24h, med.min_hours_between)
    done = {
        "added": f"added {what} to your medications ({_schedule(med)}; label limits: {limits})",
        "paused": f"paused the reminders for {what}",
        "resumed": f"resumed the reminders for {what}",
        "deleted": f"deleted {what} from your medications",
        "times": f"changed when you take {what}: {_schedule(med)}",
        "supply": f"updated how much {what} you have on hand",
        "max": f"updated the label limits of {what}: {limits}",
        "gap": f"updated the label limits of {what}: {limits}",
        "alert": f"changed when close family is told about an unconfirmed dose of {what}",
    }.get(change, f"changed {what}")
    return f"<b>{esc(helper)}</b> {done}. /meds shows your list."


# /addmed, step by step.


def add_prompt(prompt: AddPrompt) -> str:
    step, draft = prompt.step, prompt.draft
    for_whom = "" if prompt.for_patient else f"For <b>{esc(prompt.patient_name)}</b>: "
    if step == "choose":
        return "Whose medication would you like to add?"
    if step == "name":
        return f"{for_whom}What's the medication called? (as on the label)"
    if step == "dose":
        name = esc(draft["name"])
        return f"{for_whom}How much is one dose of <b>{name}</b>? (as on the label, like 1 tablet)"
    if step == "times":
        return (
            f"{for_whom}When is it taken? Send times of day like <code>08:00, 14:00, 20:00</code> "
            "(or <code>8am, 8pm</code>), or <code>every 8 hours from 07:00</code> — "
            "or tap “As needed”."
        )
    if step == "note":
        return "Anything to remember with it, like “with food”? Send it, or tap Skip."
    if step == "max":
        return (
            "From the label: at most how many doses in 24 hours? Send a number, or tap Skip. "
            "I'll warn before a dose that would go over it."
        )
    if step == "gap":
        got = f"Got it: {_max_words(draft['max'])}.\n" if draft.get("max") else ""
        return (
            f"{got}From the label: at least how many hours between doses? Send a number, like "
            "<code>6</code> or <code>4.5</code> — or tap Skip. I'll ask before logging a dose "
            "sooner than that."
        )
    return f"{for_whom}{_draft_summary(prompt)}\n\nSave it?"


def _draft_summary(prompt: AddPrompt) -> str:
    draft, schedule = prompt.draft, prompt.schedule
    lines = [_med(draft.get("name", ""), draft.get("dose", ""))]
    if schedule is not None:
        if schedule.as_needed:
            lines.append("When: as needed")
        else:
            times = ", ".join(schedule.time_strings())
            every = f"every {schedule.every_hours} hours: " if schedule.every_hours else ""
            lines.append(f"When: {every}{times} (local time)")
    if draft.get("note"):
        lines.append(f"Note: {esc(draft['note'])}")
    lines.append(f"Label limits: {label_limits(draft.get('max'), draft.get('gap'))}")
    heads_up = ""
    if schedule is not None and not schedule.as_needed:
        heads_up = schedule_heads_up(schedule.time_strings(), draft.get("max"), draft.get("gap"))
    return "\n".join(lines) + heads_up


BUTTON_AS_NEEDED = "As needed"
BUTTON_SKIP_STEP = "Skip"
BUTTON_SAVE = "✅ Save"
BUTTON_CANCEL = "Cancel"
ADD_CANCELLED = "Okay, nothing added."


def button_for_patient(name: str) -> str:
    return f"For {name}"


def med_added(
    med: MedView,
    patient_name: str,
    for_patient: bool,
    now: dt.datetime,
    reach: AlertReach | None = None,
) -> str:
    whose = "your medications" if for_patient else f"{esc(patient_name)}'s medications"
    text = f"Added {_med(med.name, med.dose)} to {whose} — {_schedule(med)}."
    text += f"\nLabel limits: {label_limits(med.max_per_24h, med.min_hours_between)}."
    text += _heads_up(med)
    if med.next_due_at:
        text += f"\nFirst reminder: {day_clock(med.next_due_at, med.timezone, now)}."
    if reach is not None and not med.as_needed:
        text += f"\n{alert_reach(reach, for_patient)}"
    if not for_patient:
        text += f"\nI've let {esc(patient_name)} know."
    return text + "\n/meds to change or pause it."


# Refills. The need itself names no medication: errand helpers see needs too.

REFILL_NEED = "Please pick up my prescription refill at the pharmacy."
BUTTON_REFILL = "Ask helpers to pick up a refill"
REFILL_POSTED = "Done — I've asked your helpers to pick up your refill. 💛"
REFILL_DECLINED = "Okay. /meds ▸ Supply when you've restocked."


def refill_offer(name: str, supply: int, days: float | None) -> str:
    if supply == 0:
        return f"📦 By my count you've run out of <b>{esc(name)}</b>."
    about = ""
    if days:
        whole = max(1, round(days))
        about = f" — about {whole} day{'s' if whole != 1 else ''} at your usual rate"
    doses = f"{supply} dose{'s' if supply != 1 else ''}"
    return f"📦 You have {doses} of <b>{esc(name)}</b> left{about}."


def supply_empty_to_family(patient_name: str, name: str) -> str:
    return f"📦 By my count <b>{esc(patient_name)}</b> has run out of <b>{esc(name)}</b>."


# /adherence


def adherence(report: AdherenceReport) -> str:
    title = (
        "<b>Your last 7 days</b>"
        if report.for_patient
        else f"<b>{esc(report.patient_name)}'s last 7 days</b>"
    )
    rows = [r for r in report.rows if r.on_time or r.late or r.skipped or r.missed]
    if not rows:
        return f"{title}\nNo scheduled doses yet."
    lines = [title]
    for row in rows:
        lines.append(
            f"💊 {_med(row.name, row.dose)}: on time {row.on_time} · late {row.late} · "
            f"skipped {row.skipped} · missed {row.missed}"
        )
    return "\n".join(lines)


# Refusals.

MED_INPUT = {
    "name_empty": "Please send the medication's name.",
    "name_long": "That name is too long — up to 60 characters, please.",
    "dose_empty": "Please send the dose as on the label, like 1 tablet.",
    "dose_long": "That's a long dose — up to 40 characters, please (like 1 tablet).",
    "note_long": "That note is too long — up to 120 characters, please.",
    "times_empty": "Please send the times, like <code>08:00, 20:00</code>.",
    "times_gap": (
        "There's an empty spot between commas. Send the times like <code>08:00, 14:00</code>."
    ),
    "times_many": "That's more than 24 times a day — please check the times.",
    "time_twice": "{detail} is in there twice — each time once, please.",
    "time_bare_hour": (
        "“{detail}” could be morning or evening — please write <code>{detail}:00</code>, "
        "<code>{detail}am</code> or <code>{detail}pm</code>."
    ),
    "time_bad": (
        "I couldn't read “{detail}” as a time of day. Use 24-hour times like <code>08:00</code> "
        "or <code>20:30</code>, or <code>8am</code>."
    ),
    "time_future": "That time hasn't come yet today — please send the time you took it.",
    "every_form": "Try it like <code>every 8 hours from 07:00</code>.",
    "every_start": "From what time? Like <code>every 8 hours from 07:00</code>.",
    "every_hours": (
        "For “every … hours” I can do 1, 2, 3, 4, 6, 8, 12 or 24 hours (so it repeats each "
        "day). Or send the times, like <code>07:00, 12:00, 17:00, 22:00</code>."
    ),
    "max_bad": (
        "Please send just the number from the label — the most doses in 24 hours, "
        "like <code>4</code>."
    ),
    "max_numbers": (
        "I see more than one number there. Please send only the most doses the label allows "
        "in 24 hours, as one number, like <code>4</code>."
    ),
    "max_range": "Please send a whole number of doses from 1 to 48, like <code>4</code>.",
    "max_unit": (
        "Please send only the number of doses in 24 hours, like <code>4</code> — "
        "counted in doses, not tablets or mg."
    ),
    "gap_bad": (
        "Please send just the hours from the label, like <code>6</code> or <code>4.5</code>."
    ),
    "gap_numbers": (
        "I see more than one number there. Please send only the hours between doses, as one "
        "number, like <code>6</code> or <code>1.5</code>."
    ),
    "gap_range": (
        "Please send hours from 0.25 to 48 (at most two decimals), like <code>6</code> or "
        "<code>4.5</code>."
    ),
    "gap_unit": (
        "In hours, please — one number, like <code>6</code>, <code>1.5</code> or <code>24</code>."
    ),
    "supply_bad": (
        "Please send how many doses you have, like <code>30</code> (or <code>off</code>)."
    ),
    "which_patient": (
        "You help more than one person — send /addmed and I'll ask whose medication it is."
    ),
    "one_line": (
        "Send it like <code>/addmed Medicine A | 1 tablet | 08:00, 20:00</code>. After the "
        "times you may add a note (<code>| with food</code>) and the label's limits: "
        "<code>| max 4</code> (doses in 24 hours) and <code>| gap 6h</code> (hours between "
        "doses). Or just /addmed and I'll ask step by step."
    ),
    "one_line_twice": "There are two “{detail}” parts — one of each, please.",
    "one_line_limits": (
        "For the label's limits in one line, name them: <code>| max 4</code> (at most that "
        "many doses in 24 hours) and <code>| gap 6h</code> (at least that many hours between "
        "doses)."
    ),
}


def med_refusal(error: DomainError) -> str | None:
    """The reply for a medication refusal that needs more than a fixed text."""
    from bot.domain.errors import (
        DoseAlreadyRecorded,
        DuplicateMedication,
        MedInputError,
        UnknownMedication,
    )

    if isinstance(error, MedInputError):
        template = MED_INPUT.get(error.reason, ERRORS["error"])
        return template.format(detail=esc(error.detail))
    if isinstance(error, DuplicateMedication):
        return (
            f"<b>{esc(error.name)}</b> is already on the list. /meds shows it — you can change "
            "its times there."
        )
    if isinstance(error, UnknownMedication):
        if not error.names:
            return "There are no medications on your list yet. /addmed adds one."
        names = ", ".join(esc(n) for n in error.names)
        return f"I couldn't find “{esc(error.typed)}”. Your medications: {names}."
    if isinstance(error, DoseAlreadyRecorded):
        return dose_already(error)
    return None


ERRORS.update(
    {
        "bad_pain": (
            "Please send a number from 0 (no pain) to 10 (the worst), in digits — "
            "like <code>/pain 4</code>."
        ),
        "unknown_stage": (
            "I don't know that stage. Try <code>/stage acute</code>, <code>easing</code>, "
            "<code>strengthening</code> or <code>staying-well</code> — or just /stage for buttons."
        ),
        "bad_time": "I couldn't read that time. Try <code>09:00</code> or <code>7:30 pm</code>.",
        "no_helpers": (
            "There's no one in your circle to ask yet. Send your invite link to family or a "
            "friend — /invite gives it to you."
        ),
        "need_empty": "Tell me what you need in a few words, like <code>/need some water</code>.",
        "need_bad_time": (
            "I couldn't read one clear time in that. Try <code>19:00</code>, <code>7pm</code> "
            "or “in 2 hours”."
        ),
        "need_closed": "This request is no longer needed.",
        "no_timezone": "First tell me your time zone: /timezone",
        "bad_quiet": (
            "I couldn't read that. Send it like <code>/quiet 22:00-07:00</code>, or "
            "<code>/quiet off</code>."
        ),
        "bad_away": "Tell me how many days, like <code>/away 3</code> (up to 90).",
        "med_gone": "That medication was deleted, so there's nothing to record.",
        "meds_not_allowed": (
            "Only the person recovering can change their medications, unless they allow "
            "close family to (in /circle ▸ Settings)."
        ),
        "give_not_allowed": (
            "Marking a dose as given needs the patient's OK first (in their /circle ▸ Settings)."
        ),
        "meds_private": "Medication details are shared with close family only.",
        "need_timezone": "Please set your time zone first (/timezone), so reminders come on time.",
        "dose_not_open": "That reminder's time has passed — tap Taken or Skip instead.",
        "refill_unavailable": (
            "I can't post requests to your helpers yet — please ask them directly."
        ),
    }
)


# --- privacy: /export and /deletemydata ------------------------------------------------------

# How history shows someone who deleted their data: what they did stays, who it was does not.
FORMER_HELPER = "a former helper"
# In the copy the bot keeps of a message it sent, a patient who has since deleted their data.
FORMER_PATIENT = "someone"
# In an export, the person it belongs to.
EXPORT_YOU = "you"
# In a helper's export, where their access no longer lets them see the patient's medication.
EXPORT_MEDS_WITHHELD = (
    "Medication names and doses are left out: you're no longer close family in this circle. "
    "The doses you recorded are listed by time only."
)
EXPORT_ABOUT = (
    "Everything carecircle keeps about you. Times ending in +00:00 are UTC (ISO 8601); "
    "times of day marked 'local' are in your own time zone. Helpers who deleted their data "
    "appear as 'a former helper'."
)
EXPORT_CAPTION = (
    "📄 Here's a copy of everything I keep about you. It may hold health details — "
    "keep it somewhere safe."
)


def shown_names(*names: str) -> tuple[str, ...]:
    """Every way a message may have shown these names (whole, or shortened as `_name` does),
    for forgetting someone in the messages the bot keeps."""
    return tuple(dict.fromkeys(form for n in names if n for form in (esc(n), _name(n))))


def circle_closed_for_helper(patient_name: str) -> str:
    """To each helper, when the patient deletes their data."""
    return f"<b>{_name(patient_name)}</b> has closed their care circle. Thank you for helping. 💛"


BUTTON_DELETE_ALL = "Yes, delete everything"
BUTTON_KEEP_DATA = "Keep my data"
NOTHING_TO_DELETE = (
    "I don't keep anything about you except your Telegram name, which I see whenever you "
    "message me. There's nothing to delete."
)
DATA_KEPT = "Nothing was deleted. Your data stays as it is. 💛"
DATA_ALREADY_DELETED = "Your data is already deleted — there's nothing more to remove."
COME_BACK_ANYTIME = "If you ever need me again, just send /start. Take care. 💛"


# More names than this are counted instead, so the question always fits one message.
NAMES_SHOWN = 8


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def confirm_delete_data(
    circle: CircleCounts | None, *, helping: list[str], taken_needs: int
) -> str:
    """What /deletemydata will delete, exactly: the patient's circle (if any), their places
    in other circles, and their own details."""
    lines = ["<b>Delete all your data?</b>", "", "This permanently deletes:"]
    if circle is not None:
        if not circle.helpers:
            told = " (no helpers are in it)"
        elif len(circle.helpers) > NAMES_SHOWN:
            told = f" — your {len(circle.helpers)} helpers will be told it has closed"
        else:
            told = f" — {_names(circle.helpers)} will be told it has closed"
        lines += [
            f"• your care circle{told}",
            f"• {_count(circle.needs, 'request')} and who took them",
            f"• {_count(circle.medications, 'medication')} with "
            f"{_count(circle.doses, 'dose')} of history",
            f"• {_count(circle.pain_reports, 'pain score')}, "
            f"{_count(circle.stage_changes, 'stage change')}, "
            f"{_count(circle.checkins, 'check-in')} and {_count(circle.tips, 'tip')} shown",
            "• your invite links and circle settings",
        ]
    if len(helping) > NAMES_SHOWN:
        lines.append(f"• your place in {len(helping)} circles — each will be told you left")
    elif helping:
        circles = "circle" if len(helping) == 1 else "circles"
        lines.append(f"• your place in {_names(helping)}'s {circles} — they'll be told you left")
    lines.append(
        "• your name, username, time zone, quiet hours and anything you were in the middle of"
    )
    if taken_needs:
        lines += [
            "",
            f"{_count(taken_needs, 'request')} you've taken will go back to the other helpers.",
        ]
    if helping:
        lines += [
            "",
            "What you did for them stays in their history, shown as “a former helper”.",
        ]
    lines += ["", "This can't be undone. Want a copy first? Send /export."]
    return "\n".join(lines)


def data_deleted(*, circle_closed: bool, helpers_told: int, circles_left: int) -> str:
    lines = ["✅ Done. I've deleted your data."]
    if circle_closed:
        if helpers_told:
            lines.append(
                f"Your care circle is closed, and I've let {_count(helpers_told, 'helper')} know."
            )
        else:
            lines.append("Your care circle is closed.")
    if circles_left:
        lines.append(
            f"You've left {_count(circles_left, 'circle')}; "
            + ("the person you helped has" if circles_left == 1 else "the people you helped have")
            + " been told."
        )
    if not circle_closed:
        lines.append(COME_BACK_ANYTIME)
    return "\n".join(lines)


ERRORS["export_too_large"] = (
    "Your data is too large to send as one file here. Sorry — please try again later."
)
