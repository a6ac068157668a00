"""Privacy: /export and /deletemydata, and how history shows someone who left."""

from __future__ import annotations

from bot.domain.privacy import CircleCounts
from bot.texts.common import _name, _names, esc

__all__ = [
    "BUTTON_DELETE_ALL",
    "BUTTON_KEEP_DATA",
    "COME_BACK_ANYTIME",
    "DATA_ALREADY_DELETED",
    "DATA_KEPT",
    "EXPORT_ABOUT",
    "EXPORT_CAPTION",
    "EXPORT_MEDS_WITHHELD",
    "EXPORT_YOU",
    "FORMER_HELPER",
    "FORMER_PATIENT",
    "NAMES_SHOWN",
    "NOTHING_TO_DELETE",
    "circle_closed_for_helper",
    "confirm_delete_data",
    "data_deleted",
    "shown_names",
]

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
