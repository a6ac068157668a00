"""Refusals and errors: the fixed replies when the bot can't do what was asked."""

from __future__ import annotations

__all__ = [
    "ERRORS",
    "NOT_UNDERSTOOD",
    "PRIVATE_ONLY",
    "SOMETHING_WENT_WRONG",
    "TOO_LONG",
    "UNKNOWN_COMMAND",
]

# The refusals every journey may give; `DomainError.code` picks one.
ERRORS = {
    "not_registered": "You're not in a care circle yet. Tap /start to begin.",
    "not_patient": "That one is for the person recovering.",
    "not_helper": "That one is for helpers. You're not helping in a circle right now.",
    "not_in_circle": "You're not part of that circle any more.",
    "stale": "This request is no longer available.",
    "flow_moved": "That answer crossed with another one — please check my last question "
    "and send it again.",
    "error": "Sorry, I can't do that.",
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
    "refill_unavailable": ("I can't post requests to your helpers yet — please ask them directly."),
    "export_too_large": (
        "Your data is too large to send as one file here. Sorry — please try again later."
    ),
}
UNKNOWN_COMMAND = "I don't know that command. /help shows what I can do."
NOT_UNDERSTOOD = "I didn't quite catch that. Tap a button, or see /help."
PRIVATE_ONLY = "I work in private chats — please message me directly."
SOMETHING_WENT_WRONG = "Sorry — something went wrong on my side. Please try again in a moment."
TOO_LONG = "That's more than I can take in one message — could you make it shorter?"
