"""Grouped reminders' buttons: a row per medication still waiting, and "Took all"."""

from __future__ import annotations

from bot import texts
from bot.buttons import DoseVerb, tap
from bot.domain.doses import SNOOZE_CHOICES
from bot.keyboards.common import Rows
from bot.notify import Button
from bot.views.meds import DoseGroupView, DoseView

__all__ = ["dose_group", "dose_group_alert", "dose_group_later"]


def dose_group(view: DoseGroupView) -> Rows:
    """Taken / Skip / Later for each dose still waiting; "Took all" while two or more are."""
    waiting = view.open
    rows = [
        [
            Button(texts.button_group_taken(d.name), tap(DoseVerb.G_TAKE, d.occurrence_id)),
            Button(texts.BUTTON_SKIP, tap(DoseVerb.G_SKIP, d.occurrence_id)),
            # A missed dose can still be taken or skipped, but no longer snoozed.
            Button(
                texts.BUTTON_LATER if d.state != "missed" else texts.BUTTON_TOOK_AT_SHORT,
                tap(DoseVerb.G_LATER if d.state != "missed" else DoseVerb.AT, d.occurrence_id),
            ),
        ]
        for d in waiting
    ]
    if len(waiting) > 1:
        rows.append([Button(texts.BUTTON_TOOK_ALL, tap(DoseVerb.ALL, view.lead_id))])
    return rows


def dose_group_later(view: DoseView, lead_id: int) -> Rows:
    """One line's "Later": how long to snooze it, or when it was taken; back to the list."""
    target = view.occurrence_id
    return [
        [Button(texts.button_snooze(m), tap(DoseVerb.G_SNOOZE, target, m)) for m in SNOOZE_CHOICES],
        [Button(texts.BUTTON_TOOK_AT, tap(DoseVerb.AT, target))],
        [Button(texts.BUTTON_BACK_TO_GROUP, tap(DoseVerb.G_BACK, lead_id))],
    ]


def dose_group_alert(
    anchor_id: int, doses: tuple[DoseView, ...], can_give: bool, checking: bool
) -> Rows:
    """A grouped family alert: "I'll check on them" until someone does; "Mark given" per
    dose still unconfirmed, where the patient allows it."""
    if not any(d.state == "missed" for d in doses):
        return []
    rows: list[list[Button]] = []
    if not checking:
        rows.append([Button(texts.BUTTON_CHECK_ON, tap(DoseVerb.CHECK, anchor_id))])
    if can_give:
        rows += [
            [Button(texts.button_group_given(d.name), tap(DoseVerb.GIVE, d.occurrence_id))]
            for d in doses
            if d.state == "missed"
        ]
    return rows
