"""The circle: who is in it, what they may do, and notices when that changes."""

from __future__ import annotations

from bot.texts.common import ACCESS_LABEL, esc

__all__ = [
    "BUTTON_DONE",
    "BUTTON_KEEP",
    "BUTTON_SETTINGS",
    "BUTTON_YES_LEAVE",
    "BUTTON_YES_REMOVE",
    "CHOOSE_CIRCLE_TO_LEAVE",
    "KEPT",
    "SETTINGS_SAVED",
    "SETTINGS_TITLE",
    "SETTING_LABELS",
    "access_changed",
    "access_set",
    "button_access",
    "button_leave",
    "button_remove",
    "circle_for_helper",
    "circle_for_patient",
    "confirm_leave",
    "confirm_remove",
    "helper_joined",
    "helper_left",
    "helper_unreachable",
    "left",
    "removed",
    "setting_button",
    "you_were_removed",
]

# Notifications to others (queued through the notifier).


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


# The circle.


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
