"""Medication: /addmed, /meds, /took, /adherence, the reminder's buttons and the family's."""

from __future__ import annotations

import datetime as dt

from telegram import Update

from bot import keyboards, texts
from bot.buttons import DoseVerb, MedVerb
from bot.callbacks import Callback
from bot.domain.errors import StaleAction
from bot.handlers.common import (
    CareContext,
    Press,
    answer,
    answer_first,
    command_args,
    edit_or_reply,
    guarded,
    pressed_message_id,
    reply,
    run_press,
    services,
    user_id,
)
from bot.handlers.dose_groups import GROUP_PRESSES
from bot.services.meds import AddPrompt, DoseOutcome, EditPrompt, MedDetail, MedList


def _text(update: Update) -> str:
    message = update.effective_message
    assert message is not None and message.text is not None
    return message.text


def _shown(data: Callback, index: int) -> dt.datetime:
    """When the warning a "Log it anyway" answers was shown; an old button without it reads
    as long ago, so it asks again."""
    return dt.datetime.fromtimestamp(data.int_arg(index) or 0, dt.UTC)


# --- rendering -------------------------------------------------------------------------------


async def _show_prompt(update: Update, prompt: AddPrompt, *, edit: bool = False) -> None:
    text = texts.add_prompt(prompt)
    rows = keyboards.add_prompt(prompt.step, prompt.choices)
    if edit:
        await edit_or_reply(update, text, rows)
    else:
        await reply(update, text, rows)


async def _show_list(update: Update, context: CareContext, listing: MedList, edit: bool) -> None:
    text = texts.med_list(listing, services(context).clock.now())
    rows = keyboards.med_list(
        listing.circle_id,
        [(m.id, m.name) for m in listing.meds],
        [(d.occurrence_id, d.name, d.due_label) for d in listing.open_doses],
        listing.can_manage,
    )
    if edit:
        await edit_or_reply(update, text, rows)
    else:
        await reply(update, text, rows)


async def _show_detail(update: Update, context: CareContext, detail: MedDetail) -> None:
    med = detail.med
    await edit_or_reply(
        update,
        texts.med_detail(detail, services(context).clock.now()),
        keyboards.med_detail(
            med.id,
            med.circle_id,
            can_manage=detail.can_manage,
            for_patient=detail.for_patient,
            paused=med.paused,
            as_needed=med.as_needed,
            alert_minutes=med.alert_minutes,
        ),
    )


async def _show_outcome(
    update: Update,
    outcome: DoseOutcome,
    *,
    edit: bool,
    by_helper: bool = False,
    at: dt.datetime | None = None,
) -> None:
    """A dose's result: the label warning with its confirm step, or what was recorded."""
    if outcome.warning is not None:
        warning = outcome.warning
        shown = int(warning.shown_at.timestamp()) if warning.shown_at else 0
        if by_helper and warning.occurrence_id is not None:
            rows = keyboards.give_confirm(warning.occurrence_id, shown)
        elif warning.occurrence_id is not None:
            epoch = int(at.timestamp()) if at is not None else None
            rows = keyboards.dose_confirm(warning.occurrence_id, epoch, shown)
        else:
            rows = keyboards.extra_confirm(warning.medication_id, shown)
        text = texts.dose_warning(warning)
    else:
        dose = outcome.dose
        assert dose is not None
        if by_helper and outcome.batch_alert:
            return  # the alert lists other doses too: the outbox redraws it whole
        if by_helper:
            text, rows = texts.dose_resolved(dose), []
        elif dose.scheduled:
            text = texts.dose_done(dose)
            rows = keyboards.dose_snoozed(dose.occurrence_id) if dose.state == "snoozed" else []
        else:
            text = texts.extra_logged(dose)
            rows = keyboards.after_extra(dose.medication_id)
    if edit:
        await edit_or_reply(update, text, rows)
    else:
        await reply(update, text, rows)


# --- commands ----------------------------------------------------------------------------------


@guarded
async def addmed_command(update: Update, context: CareContext) -> None:
    """/addmed walks through it; `/addmed name | dose | times [| note] [| max n] [| gap h]`
    saves at once."""
    meds = services(context).meds
    args = command_args(context, update)
    if "|" in args:
        detail = await meds.add_line(user_id(update), args)
        now = services(context).clock.now()
        await reply(
            update,
            texts.med_added(detail.med, detail.patient_name, detail.for_patient, now, detail.reach),
        )
        return
    prompt = await meds.start_add(user_id(update))
    if args and prompt.step == "name":
        # "/addmed Ibuprofen": the name is given; ask for the rest.
        prompt = await meds.add_answer(user_id(update), args)
    await _show_prompt(update, prompt)


@guarded
async def meds_command(update: Update, context: CareContext) -> None:
    """/meds (and the 💊 menu button): each medication with its next time."""
    for listing in await services(context).meds.overview(user_id(update)):
        await _show_list(update, context, listing, edit=False)


@guarded
async def took_command(update: Update, context: CareContext) -> None:
    """/took <name> logs a dose; /took alone offers the medications as buttons."""
    meds = services(context).meds
    name = command_args(context, update)
    me = user_id(update)
    if not name:
        choices = await meds.took_choices(me)
        if not choices:
            await reply(update, texts.TOOK_NONE)
            return
        await reply(
            update, texts.TOOK_WHICH, keyboards.took_choices([(m.id, m.name) for m in choices])
        )
        return
    message = update.effective_message
    assert message is not None
    outcome = await meds.took_named(me, name, message.message_id)
    await _show_outcome(update, outcome, edit=False)


@guarded
async def adherence_command(update: Update, context: CareContext) -> None:
    for report in await services(context).meds.adherence(user_id(update)):
        await reply(update, texts.adherence(report))


# --- free text the bot asked for ------------------------------------------------------------


@guarded
async def add_typed(update: Update, context: CareContext) -> None:
    prompt = await services(context).meds.add_answer(user_id(update), _text(update))
    await _show_prompt(update, prompt)


@guarded
async def edit_typed(update: Update, context: CareContext) -> None:
    prompt = await services(context).meds.edit_answer(user_id(update), _text(update))
    await _show_edit(update, prompt, edit=False)


@guarded
async def dose_time_typed(update: Update, context: CareContext) -> None:
    """The time typed after "I took it at another time"."""
    outcome, _occurrence = await services(context).meds.take_typed_time(
        user_id(update), _text(update)
    )
    at = outcome.warning.at if outcome.warning else None
    await _show_outcome(update, outcome, edit=False, at=at)


async def _show_edit(update: Update, prompt: EditPrompt, *, edit: bool) -> None:
    text = texts.edit_reply(prompt)
    rows = keyboards.edit_prompt(prompt.field) if prompt.field is not None else []
    if edit:
        await edit_or_reply(update, text, rows)
    else:
        await reply(update, text, rows)


# --- buttons: managing medications ----------------------------------------------------------


def _target(data: Callback) -> int:
    """The medication (or dose) a button names; a button without one is stale."""
    target = data.int_arg(0)
    if target is None:
        raise StaleAction()
    return target


async def _add(update: Update, context: CareContext, data: Callback, me: int) -> None:
    prompt = await services(context).meds.start_add(me, data.int_arg(0))  # may refuse: answer after
    await answer_first(update)
    await _show_prompt(update, prompt)


async def _add_for(update: Update, context: CareContext, data: Callback, me: int) -> None:
    prompt = await services(context).meds.start_add(me, _target(data))
    await _show_prompt(update, prompt, edit=True)


async def _add_skip(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await _show_prompt(update, await services(context).meds.add_skip(me), edit=True)


async def _add_as_needed(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await _show_prompt(update, await services(context).meds.add_as_needed(me), edit=True)


async def _add_save(update: Update, context: CareContext, data: Callback, me: int) -> None:
    detail = await services(context).meds.add_save(me)
    now = services(context).clock.now()
    text = texts.med_added(detail.med, detail.patient_name, detail.for_patient, now, detail.reach)
    await edit_or_reply(update, text)


async def _stop_flow(update: Update, context: CareContext, data: Callback, me: int) -> None:
    """Cancel (adding) or Keep (editing): the walk-through stops."""
    await services(context).meds.add_cancel(me)
    await edit_or_reply(update, texts.ADD_CANCELLED if data.verb == MedVerb.CANCEL else texts.KEPT)


async def _med_show(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await _show_detail(update, context, await services(context).meds.medication(me, _target(data)))


async def _med_list(update: Update, context: CareContext, data: Callback, me: int) -> None:
    listing = await services(context).meds.circle_list(me, _target(data))
    await _show_list(update, context, listing, edit=True)


async def _pause(update: Update, context: CareContext, data: Callback, me: int) -> None:
    pause = data.verb == MedVerb.PAUSE
    detail = await services(context).meds.set_paused(me, _target(data), pause)
    await _show_detail(update, context, detail)


async def _alert(update: Update, context: CareContext, data: Callback, me: int) -> None:
    detail = await services(context).meds.managed(me, _target(data))
    default = services(context).settings.missed_dose_alert_minutes
    med = detail.med
    await edit_or_reply(
        update,
        texts.choose_alert(med),
        keyboards.alert_choices(med.id, med.alert_minutes, med.custom_alert, default),
    )


async def _alert_set(update: Update, context: CareContext, data: Callback, me: int) -> None:
    target = _target(data)
    if len(data.args) != 2 or not data.args[1].isdigit():
        raise StaleAction()
    minutes = int(data.args[1]) or None
    detail = await services(context).meds.set_alert_minutes(me, target, minutes)
    await _show_detail(update, context, detail)


async def _edit(update: Update, context: CareContext, data: Callback, me: int) -> None:
    target = _target(data)
    if len(data.args) != 2:
        raise StaleAction()
    editing = await services(context).meds.begin_edit(me, target, data.args[1])
    await answer_first(update)
    await _show_edit(update, editing, edit=False)


async def _no_limit(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await _show_edit(update, await services(context).meds.edit_answer(me, None), edit=True)


async def _same(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await _show_edit(update, await services(context).meds.edit_keep(me), edit=True)


async def _delete(update: Update, context: CareContext, data: Callback, me: int) -> None:
    target = _target(data)
    detail = await services(context).meds.managed(me, target)
    await edit_or_reply(
        update, texts.confirm_delete_med(detail.med.name), keyboards.confirm_delete_med(target)
    )


async def _delete_yes(update: Update, context: CareContext, data: Callback, me: int) -> None:
    name = await services(context).meds.delete(me, _target(data))
    await edit_or_reply(update, texts.med_deleted(name))


async def _refill(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await services(context).meds.request_refill(me, _target(data))
    await edit_or_reply(update, texts.REFILL_POSTED)


async def _no_refill(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await services(context).meds.decline_refill(me, _target(data))
    await edit_or_reply(update, texts.REFILL_DECLINED)


MED_PRESSES: dict[MedVerb, Press] = {
    MedVerb.ADD: _add,
    MedVerb.FOR: _add_for,
    MedVerb.SKIP: _add_skip,
    MedVerb.AS_NEEDED: _add_as_needed,
    MedVerb.SAVE: _add_save,
    MedVerb.CANCEL: _stop_flow,
    MedVerb.KEEP: _stop_flow,
    MedVerb.SHOW: _med_show,
    MedVerb.LIST: _med_list,
    MedVerb.PAUSE: _pause,
    MedVerb.RESUME: _pause,
    MedVerb.ALERT: _alert,
    MedVerb.ALERT_SET: _alert_set,
    MedVerb.EDIT: _edit,
    MedVerb.NO_LIMIT: _no_limit,
    MedVerb.SAME: _same,
    MedVerb.DELETE: _delete,
    MedVerb.DELETE_YES: _delete_yes,
    MedVerb.REFILL: _refill,
    MedVerb.NO_REFILL: _no_refill,
}


@guarded
async def med_button(update: Update, context: CareContext) -> None:
    await run_press(update, context, MedVerb, MED_PRESSES)


# --- buttons: doses ------------------------------------------------------------------------


async def _take(update: Update, context: CareContext, data: Callback, me: int) -> None:
    outcome = await services(context).meds.take(
        me, _target(data), message_id=pressed_message_id(update)
    )
    await _show_outcome(update, outcome, edit=True)


async def _take_anyway(update: Update, context: CareContext, data: Callback, me: int) -> None:
    """ "Log it anyway" on a scheduled dose (at the time typed, if it was back-dated)."""
    target = _target(data)
    epoch = data.int_arg(1)
    at = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch else None
    outcome = await services(context).meds.take(
        me,
        target,
        at=at,
        confirmed=True,
        warned_at=_shown(data, 2),
        message_id=pressed_message_id(update),
    )
    await _show_outcome(update, outcome, edit=True, at=at)


async def _back(update: Update, context: CareContext, data: Callback, me: int) -> None:
    target = _target(data)
    view = await services(context).meds.not_now(me, target)
    if view.state == "snoozed":
        await edit_or_reply(update, texts.dose_done(view), keyboards.dose_snoozed(target))
    else:
        text = texts.dose_reminder(view.name, view.dose, view.note, None)
        await edit_or_reply(update, text, keyboards.dose_reminder(target))


async def _snooze(update: Update, context: CareContext, data: Callback, me: int) -> None:
    target = _target(data)
    if len(data.args) != 2 or not data.args[1].isdigit():
        raise StaleAction()
    outcome = await services(context).meds.snooze(
        me, target, int(data.args[1]), message_id=pressed_message_id(update)
    )
    await _show_outcome(update, outcome, edit=True)


async def _skip(update: Update, context: CareContext, data: Callback, me: int) -> None:
    outcome = await services(context).meds.skip(
        me, _target(data), message_id=pressed_message_id(update)
    )
    await _show_outcome(update, outcome, edit=True)


async def _took_at(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await services(context).meds.begin_take_at(me, _target(data))
    await answer_first(update)
    await reply(update, texts.ASK_TOOK_AT)


async def _give(update: Update, context: CareContext, data: Callback, me: int) -> None:
    """ "Mark as given", and its "Log it anyway"."""
    target = _target(data)
    confirmed = data.verb == DoseVerb.GIVE_OK
    warned_at = _shown(data, 1) if confirmed else None
    outcome = await services(context).meds.give(
        me, target, confirmed=confirmed, warned_at=warned_at, message_id=pressed_message_id(update)
    )
    await _show_outcome(update, outcome, edit=True, by_helper=True)


async def _check(update: Update, context: CareContext, data: Callback, me: int) -> None:
    target = _target(data)
    result = await services(context).meds.check_on(
        me, target, message_id=pressed_message_id(update)
    )
    text = texts.check_on_reply(
        result.patient_name, result.checker_name, result.by_me, result.resolved
    )
    if result.by_me and not result.resolved:
        rows: keyboards.Rows = keyboards.dose_give(target) if result.can_give else []
        if result.gives:
            rows = keyboards.dose_group_alert(target, result.gives, result.can_give, True)
        await edit_or_reply(update, text, rows)
    else:
        query = update.callback_query
        assert query is not None
        await answer(query, text, alert=True)


async def _log(update: Update, context: CareContext, data: Callback, me: int) -> None:
    pressed = pressed_message_id(update)
    outcome = await services(context).meds.log_pressed(me, _target(data), pressed)
    await _show_outcome(update, outcome, edit=True)


async def _log_anyway(update: Update, context: CareContext, data: Callback, me: int) -> None:
    outcome = await services(context).meds.log_pressed(
        me, _target(data), pressed_message_id(update), confirmed=True, warned_at=_shown(data, 1)
    )
    await _show_outcome(update, outcome, edit=True)


async def _can_i(update: Update, context: CareContext, data: Callback, me: int) -> None:
    answer_now = await services(context).meds.can_i_take(me, _target(data))
    await answer_first(update)
    await reply(update, texts.as_needed_answer(answer_now))


async def _not_logged(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await edit_or_reply(update, texts.NOT_LOGGED)


DOSE_PRESSES: dict[DoseVerb, Press] = {
    DoseVerb.TAKE: _take,
    DoseVerb.OK: _take_anyway,
    DoseVerb.BACK: _back,
    DoseVerb.SNOOZE: _snooze,
    DoseVerb.SKIP: _skip,
    DoseVerb.AT: _took_at,
    DoseVerb.GIVE: _give,
    DoseVerb.GIVE_OK: _give,
    DoseVerb.CHECK: _check,
    DoseVerb.LOG: _log,
    DoseVerb.LOG_OK: _log_anyway,
    DoseVerb.ASK: _can_i,
    DoseVerb.NO: _not_logged,
    **GROUP_PRESSES,
}


@guarded
async def dose_button(update: Update, context: CareContext) -> None:
    """The reminder's Taken / Snooze / Skip, the label confirm step, and the family's buttons."""
    await run_press(update, context, DoseVerb, DOSE_PRESSES)
