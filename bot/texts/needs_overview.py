"""Needs at a glance: /needs, /mytasks, and who helped this week."""

from __future__ import annotations

import datetime as dt

from bot.domain.needs import NeedCard
from bot.texts.common import _join_names, _name
from bot.texts.needs import need_line
from bot.texts.privacy import FORMER_HELPER

__all__ = ["helped_this_week", "my_tasks", "needs_for_helper", "needs_for_patient"]


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
