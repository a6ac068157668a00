"""Needs: the categories, the walk-through, and the messages a need sends."""

from __future__ import annotations

import datetime as dt

from bot.domain.needs import NeedCard, Routed
from bot.texts.common import NAME_MAX, _name, _names, esc
from bot.texts.times import by_time, clock

__all__ = [
    "BUTTON_ADD_NOTE",
    "BUTTON_BY_TIME",
    "BUTTON_CANCEL_NEED",
    "BUTTON_CANT_NOW",
    "BUTTON_CAN_AFTER_ALL",
    "BUTTON_DONT_SEND",
    "BUTTON_IN_1H",
    "BUTTON_IN_2H",
    "BUTTON_I_WILL",
    "BUTTON_KEEP_NEED",
    "BUTTON_MAKE_URGENT",
    "BUTTON_NEED_DONE",
    "BUTTON_POST_AGAIN",
    "BUTTON_RELEASE",
    "BUTTON_RELEASE_SHORT",
    "BUTTON_SEND_AGAIN",
    "BUTTON_SEND_MEDIA",
    "BUTTON_THANK",
    "BUTTON_TODAY",
    "BUTTON_TYPE_TIME",
    "BUTTON_YES_CANCEL",
    "MEDIA_DROPPED",
    "MEDIA_EMOJI",
    "MENU_NEED",
    "NEED_ASK_NOTE",
    "NEED_ASK_OTHER",
    "NEED_ASK_WHAT",
    "NEED_ASK_WHEN",
    "NEED_CATEGORIES",
    "NEED_KEPT",
    "NEED_TRIMMED",
    "NEED_TYPE_WHEN",
    "need_button_label",
    "need_cancelled",
    "need_cancelled_for_owner",
    "need_category_text",
    "need_changed_for_owner",
    "need_claimed_for_patient",
    "need_confirm_cancel",
    "need_declined_view",
    "need_done_for_patient",
    "need_expired_for_patient",
    "need_finished_view",
    "need_honest_note",
    "need_line",
    "need_media_ask",
    "need_media_text",
    "need_offer",
    "need_owner_view",
    "need_posted",
    "need_released_for_patient",
    "need_reminder",
    "need_routing",
    "need_sent_again",
    "need_summary",
    "need_taken_refusal",
    "need_taken_view",
    "need_thanks_for_owner",
    "need_thanks_sent",
    "need_updated",
]

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
            # "until", not "at": the time may start with its day ("tomorrow 07:00").
            f"<b>{_name(name)}</b> has quiet hours until {by_time(until, zone, now)} and will "
            "see it then (make it urgent to reach them now)."
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
    when = f" by {clock(card.deadline_at, zone)}" if card.deadline_at is not None else ""
    return (
        f"⌛ Nobody could take {_short(card)}{when}, so I've taken it off the list.\n"
        "If you still need it, you can post it again."
    )
