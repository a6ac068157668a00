"""Medication: the buttons of a grouped reminder — a line's Taken / Skip / Later, and
"Took all". The message is redrawn whole after each answer."""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from bot.buttons import DoseVerb
from bot.callbacks import Callback
from bot.domain.errors import StaleAction
from bot.handlers.common import (
    CareContext,
    Press,
    answer_first,
    edit_or_reply,
    pressed_message_id,
    reply,
    services,
)
from bot.services.meds import DoseOutcome, DoseWarning
from bot.views.meds import DoseGroupView


def _target(data: Callback) -> int:
    target = data.int_arg(0)
    if target is None:
        raise StaleAction()
    return target


async def _redraw(update: Update, group: DoseGroupView) -> None:
    await edit_or_reply(update, texts.dose_group(group, redraw=True), keyboards.dose_group(group))


async def _warn(update: Update, warning: DoseWarning) -> None:
    """The label asks to look first: said in a message of its own, so the group stays."""
    assert warning.occurrence_id is not None
    shown = int(warning.shown_at.timestamp()) if warning.shown_at else 0
    rows = keyboards.dose_confirm(warning.occurrence_id, None, shown)
    await reply(update, texts.dose_warning(warning), rows)


async def _show(update: Update, outcome: DoseOutcome) -> None:
    if outcome.warning is not None:
        await _warn(update, outcome.warning)
    elif outcome.group is not None:
        await _redraw(update, outcome.group)
    else:  # a dose reminded alone (a mixed-up button): shown as its own reminder would be
        dose = outcome.dose
        assert dose is not None
        rows = keyboards.dose_snoozed(dose.occurrence_id) if dose.state == "snoozed" else []
        await edit_or_reply(update, texts.dose_done(dose), rows)


async def _take(update: Update, context: CareContext, data: Callback, me: int) -> None:
    pressed = pressed_message_id(update)
    await _show(update, await services(context).meds.take(me, _target(data), message_id=pressed))


async def _skip(update: Update, context: CareContext, data: Callback, me: int) -> None:
    pressed = pressed_message_id(update)
    await _show(update, await services(context).meds.skip(me, _target(data), message_id=pressed))


async def _later(update: Update, context: CareContext, data: Callback, me: int) -> None:
    view, lead = await services(context).meds.later(me, _target(data))
    await edit_or_reply(
        update, texts.dose_group_later(view), keyboards.dose_group_later(view, lead)
    )


async def _snooze(update: Update, context: CareContext, data: Callback, me: int) -> None:
    minutes = data.int_arg(1)
    if minutes is None:
        raise StaleAction()
    outcome = await services(context).meds.snooze(
        me, _target(data), minutes, message_id=pressed_message_id(update)
    )
    await _show(update, outcome)


async def _back(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await _redraw(update, await services(context).meds.group(me, _target(data)))


async def _took_all(update: Update, context: CareContext, data: Callback, me: int) -> None:
    result = await services(context).meds.take_all(
        me, _target(data), message_id=pressed_message_id(update)
    )
    await answer_first(update)
    await _redraw(update, result.group)
    for warning in result.warnings:
        await _warn(update, warning)


GROUP_PRESSES: dict[DoseVerb, Press] = {
    DoseVerb.G_TAKE: _take,
    DoseVerb.G_SKIP: _skip,
    DoseVerb.G_LATER: _later,
    DoseVerb.G_SNOOZE: _snooze,
    DoseVerb.G_BACK: _back,
    DoseVerb.ALL: _took_all,
}
