"""Medication: /addmed, /meds, /took, /adherence, the reminder's buttons and the family's."""

from __future__ import annotations

import datetime as dt

from telegram import Update

from bot import callbacks, keyboards, texts
from bot.handlers.common import (
    CareContext,
    answer,
    command_args,
    edit_or_reply,
    guarded,
    parsed,
    pressed_message_id,
    reply,
    services,
    user_id,
)
from bot.services.errors import StaleAction
from bot.services.meds import AddPrompt, DoseOutcome, EditPrompt, MedDetail, MedList


def _text(update: Update) -> str:
    message = update.effective_message
    assert message is not None and message.text is not None
    return message.text


def _shown(data: callbacks.Callback, index: int) -> dt.datetime:
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
    outcome = await meds.took(me, name=name, request_key=f"took:{me}:{message.message_id}")
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


@guarded
async def med_button(update: Update, context: CareContext) -> None:
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    meds = services(context).meds
    me = user_id(update)
    target = data.int_arg(0)
    verb = data.verb
    if verb == "add":
        prompt = await meds.start_add(me, target)  # may refuse: answer only after
        await answer(query)
        await _show_prompt(update, prompt)
    elif verb == "for" and target:
        await _show_prompt(update, await meds.start_add(me, target), edit=True)
    elif verb == "skip":
        await _show_prompt(update, await meds.add_skip(me), edit=True)
    elif verb == "asneeded":
        await _show_prompt(update, await meds.add_as_needed(me), edit=True)
    elif verb == "save":
        detail = await meds.add_save(me)
        now = services(context).clock.now()
        text = texts.med_added(
            detail.med, detail.patient_name, detail.for_patient, now, detail.reach
        )
        await edit_or_reply(update, text)
    elif verb in ("cancel", "keep"):
        await meds.add_cancel(me)
        await edit_or_reply(update, texts.ADD_CANCELLED if verb == "cancel" else texts.KEPT)
    elif verb == "show" and target:
        await _show_detail(update, context, await meds.medication(me, target))
    elif verb == "list" and target:
        await _show_list(update, context, await meds.circle_list(me, target), edit=True)
    elif verb in ("pause", "resume") and target:
        await _show_detail(update, context, await meds.set_paused(me, target, verb == "pause"))
    elif verb == "alert" and target:
        detail = await meds.medication(me, target)
        if not detail.can_manage:
            raise StaleAction()
        default = services(context).settings.missed_dose_alert_minutes
        med = detail.med
        await edit_or_reply(
            update,
            texts.choose_alert(med),
            keyboards.alert_choices(med.id, med.alert_minutes, med.custom_alert, default),
        )
    elif verb == "alertset" and target and len(data.args) == 2 and data.args[1].isdigit():
        minutes = int(data.args[1]) or None
        await _show_detail(update, context, await meds.set_alert_minutes(me, target, minutes))
    elif verb == "edit" and target and len(data.args) == 2:
        editing = await meds.begin_edit(me, target, data.args[1])
        await answer(query)
        await _show_edit(update, editing, edit=False)
    elif verb == "nolimit":
        await _show_edit(update, await meds.edit_answer(me, None), edit=True)
    elif verb == "same":
        await _show_edit(update, await meds.edit_keep(me), edit=True)
    elif verb == "del" and target:
        detail = await meds.medication(me, target)
        if not detail.can_manage:
            raise StaleAction()
        await edit_or_reply(
            update, texts.confirm_delete_med(detail.med.name), keyboards.confirm_delete_med(target)
        )
    elif verb == "delyes" and target:
        await edit_or_reply(update, texts.med_deleted(await meds.delete(me, target)))
    elif verb == "refill" and target:
        await meds.request_refill(me, target)
        await edit_or_reply(update, texts.REFILL_POSTED)
    elif verb == "norefill" and target:
        await meds.decline_refill(me, target)
        await edit_or_reply(update, texts.REFILL_DECLINED)
    else:
        raise StaleAction()
    await answer(query)


# --- buttons: doses ------------------------------------------------------------------------


@guarded
async def dose_button(update: Update, context: CareContext) -> None:
    """The reminder's Taken / Snooze / Skip, the label confirm step, and the family's buttons."""
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    meds = services(context).meds
    me = user_id(update)
    target = data.int_arg(0)
    pressed = pressed_message_id(update)
    verb = data.verb
    if verb == "take" and target:
        outcome = await meds.take(me, target, message_id=pressed)
        await _show_outcome(update, outcome, edit=True)
    elif verb == "ok" and target:
        epoch = data.int_arg(1)
        at = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch else None
        outcome = await meds.take(
            me, target, at=at, confirmed=True, warned_at=_shown(data, 2), message_id=pressed
        )
        await _show_outcome(update, outcome, edit=True, at=at)
    elif verb == "back" and target:
        view = await meds.not_now(me, target)
        if view.state == "snoozed":
            await edit_or_reply(update, texts.dose_done(view), keyboards.dose_snoozed(target))
        else:
            text = texts.dose_reminder(view.name, view.dose, view.note, None)
            await edit_or_reply(update, text, keyboards.dose_reminder(target))
    elif verb == "snz" and target and len(data.args) == 2 and data.args[1].isdigit():
        outcome = await meds.snooze(me, target, int(data.args[1]), message_id=pressed)
        await _show_outcome(update, outcome, edit=True)
    elif verb == "skip" and target:
        await _show_outcome(update, await meds.skip(me, target, message_id=pressed), edit=True)
    elif verb == "at" and target:
        await meds.begin_take_at(me, target)
        await answer(query)
        await reply(update, texts.ASK_TOOK_AT)
    elif verb in ("give", "giveok") and target:
        confirmed = verb == "giveok"
        warned_at = _shown(data, 1) if confirmed else None
        outcome = await meds.give(
            me, target, confirmed=confirmed, warned_at=warned_at, message_id=pressed
        )
        await _show_outcome(update, outcome, edit=True, by_helper=True)
    elif verb == "chk" and target:
        result = await meds.check_on(me, target, message_id=pressed)
        text = texts.check_on_reply(
            result.patient_name, result.checker_name, result.by_me, result.resolved
        )
        if result.by_me and not result.resolved:
            rows = keyboards.dose_give(target) if result.can_give else []
            await edit_or_reply(update, text, rows)
        else:
            await answer(query, text, alert=True)
    elif verb == "log" and target:
        outcome = await meds.took(me, med_id=target, request_key=f"log:{me}:{pressed}")
        await _show_outcome(update, outcome, edit=True)
    elif verb == "xok" and target:
        outcome = await meds.took(
            me,
            med_id=target,
            request_key=f"xok:{me}:{pressed}",
            confirmed=True,
            warned_at=_shown(data, 1),
        )
        await _show_outcome(update, outcome, edit=True)
    elif verb == "ask" and target:
        answer_now = await meds.can_i_take(me, target)
        await answer(query)
        await reply(update, texts.as_needed_answer(answer_now))
    elif verb == "no":
        await edit_or_reply(update, texts.NOT_LOGGED)
    else:
        raise StaleAction()
    await answer(query)
