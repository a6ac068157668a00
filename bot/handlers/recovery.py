"""Recovery: the stage, care tips, pain check-ins and /progress."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot import keyboards, texts
from bot.buttons import PainVerb, StageVerb, TipVerb
from bot.domain.clocktime import format_time
from bot.domain.errors import NotAPainScore, NotPatient, StaleAction, UnknownStage
from bot.domain.recovery import (
    ScheduleChoice,
    Stage,
    parse_pain,
    parse_schedule_choice,
    parse_stage,
    parse_tips_command,
)
from bot.handlers.circle import send_invite
from bot.handlers.common import (
    CareContext,
    answer,
    command_args,
    edit_or_reply,
    guarded,
    parsed,
    reply,
    services,
    user_id,
    verb_of,
)
from bot.services.recovery import PainResult, StageView, TipSettings


def _stage_arg(text: str) -> Stage:
    """A stage named in callback data (ours, but never trusted)."""
    try:
        return Stage(text)
    except ValueError:
        raise StaleAction() from None


# --- the stage ---------------------------------------------------------------------------


async def _first_stage_chosen(update: Update, context: CareContext, stage: Stage) -> None:
    view = await services(context).recovery.choose_stage(user_id(update), stage)
    await edit_or_reply(update, texts.first_stage_set(view.stage))
    await _finish_onboarding(update, context, view)


async def _finish_onboarding(update: Update, context: CareContext, view: StageView) -> None:
    """Whichever way the stage was chosen, the choice that ends onboarding brings the link."""
    if view.first:
        await send_invite(update, context, access="close", first_time=True)


@guarded
async def stage_command(update: Update, context: CareContext) -> None:
    """/stage shows the stage with buttons; /stage <name> sets it."""
    typed = command_args(context, update)
    recovery = services(context).recovery
    if typed:
        stage = parse_stage(typed)
        if stage is None:
            raise UnknownStage()
        view = await recovery.choose_stage(user_id(update), stage)
        await reply(update, texts.stage_set(view.stage, view.changed))
        await _finish_onboarding(update, context, view)
        return
    view = await recovery.stage(user_id(update))
    since = texts.date_local(view.since, view.timezone)
    await reply(update, texts.stage_view(view.stage, since), keyboards.choose_stage(view.stage))


@guarded
async def stage_typed(update: Update, context: CareContext) -> None:
    """Free text while onboarding waits for the stage: "acute", "easing", …"""
    message = update.effective_message
    assert message is not None and message.text is not None
    stage = parse_stage(message.text)
    if stage is None:
        rows = keyboards.choose_stage(verb=StageVerb.FIRST)
        await reply(update, texts.ERRORS["unknown_stage"], rows)
        return
    await _first_stage_chosen(update, context, stage)


@guarded
async def stage_button(update: Update, context: CareContext) -> None:
    """Stage buttons: pick one (onboarding or /stage), or answer a suggestion."""
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    recovery = services(context).recovery
    me = user_id(update)
    if not data.args:
        raise StaleAction()
    stage = _stage_arg(data.args[0])
    verb = verb_of(data, StageVerb)
    if verb is StageVerb.FIRST:
        await answer(query)
        await _first_stage_chosen(update, context, stage)
        return
    if verb is StageVerb.SET:
        view = await recovery.choose_stage(me, stage)
        await edit_or_reply(update, texts.stage_set(view.stage, view.changed))
        await _finish_onboarding(update, context, view)
    elif verb is StageVerb.GO and len(data.args) in (2, 3):
        view = await recovery.accept_suggestion(me, stage, _stage_arg(data.args[1]))
        await _suggestion_answered(update, texts.stage_switched(view.stage), data.int_arg(2))
    elif verb is StageVerb.NO:
        await recovery.decline_suggestion(me, stage)
        declined = texts.FLARE_DECLINED if stage == Stage.ACUTE else texts.SUGGESTION_DECLINED
        await _suggestion_answered(update, declined, data.int_arg(1))
    else:
        raise StaleAction()
    await answer(query)


async def _suggestion_answered(update: Update, text: str, severe_report: int | None) -> None:
    """The answer replaces the suggestion; on a severe report, "contact your doctor" and
    "Let my helpers know" stay (the service checks that report again if the button is used)."""
    if severe_report is None:
        await edit_or_reply(update, text)
        return
    await edit_or_reply(update, texts.severe_pain_kept(text), keyboards.tell_helpers(severe_report))


# --- tips --------------------------------------------------------------------------------


@guarded
async def tip_command(update: Update, context: CareContext) -> None:
    """/tip and the menu's "A care tip": one tip for the current stage, with "Another"."""
    tip = await services(context).recovery.tip_now(user_id(update))
    await reply(
        update, texts.tip_now(tip.text, tip.stage, tip.exercise_paused), keyboards.another_tip()
    )


def _render_tip_settings(settings: TipSettings) -> tuple[str, keyboards.Rows]:
    patient = settings.patient
    helping = [(h.patient_name, h.on) for h in settings.helping]
    text = texts.tips_status(
        (patient.on, format_time(patient.at)) if patient else None,
        helping,
        patient.timezone if patient else None,
    )
    rows = keyboards.tips_settings(
        patient.on if patient else None,
        [(h.circle_id, h.patient_name, h.on) for h in settings.helping],
    )
    return text, rows


@guarded
async def tips_command(update: Update, context: CareContext) -> None:
    """/tips, /tips 09:00, /tips off|on, /tips helper on|off."""
    command = parse_tips_command(command_args(context, update))
    recovery = services(context).recovery
    me = user_id(update)
    action = command.choice.action
    if action == "invalid":
        await reply(update, texts.TIPS_USAGE)
    elif action == "show":
        text, rows = _render_tip_settings(await recovery.tip_settings(me))
        await reply(update, text, rows)
    elif command.helper:
        settings = await recovery.set_helper_tips(me, action == "on")
        helping = [(h.patient_name, h.on) for h in settings.helping]
        await reply(update, texts.helper_tips_set(helping))
    else:
        try:
            view = await recovery.set_tips(me, command.choice)
        except NotPatient:
            if command.choice.action == "time":
                raise
            # A helper's "/tips off" means their helper tips.
            settings = await recovery.set_helper_tips(me, action == "on")
            helping = [(h.patient_name, h.on) for h in settings.helping]
            await reply(update, texts.helper_tips_set(helping))
            return
        await reply(update, texts.tips_set(view.on, format_time(view.at)))


@guarded
async def tip_button(update: Update, context: CareContext) -> None:
    """ "Another tip", and the switches of /tips."""
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    recovery = services(context).recovery
    me = user_id(update)
    circle_id = data.int_arg(0)
    verb = verb_of(data, TipVerb)
    if verb is TipVerb.MORE:
        tip = await recovery.tip_now(me)
        await edit_or_reply(
            update, texts.tip_now(tip.text, tip.stage, tip.exercise_paused), keyboards.another_tip()
        )
    elif verb is TipVerb.HELPER_MORE and circle_id:
        tip = await recovery.helper_tip_now(me, circle_id)
        await edit_or_reply(
            update,
            texts.helper_tip(tip.patient_name, tip.text),
            keyboards.another_helper_tip(circle_id),
        )
    elif verb in (TipVerb.ON, TipVerb.OFF):
        view = await recovery.set_tips(me, ScheduleChoice(verb.value))
        await edit_or_reply(update, texts.tips_set(view.on, format_time(view.at)))
    elif verb in (TipVerb.HELPER_ON, TipVerb.HELPER_OFF) and circle_id:
        settings = await recovery.set_helper_tips(me, verb is TipVerb.HELPER_ON, circle_id)
        await edit_or_reply(update, *_render_tip_settings(settings))
    else:
        raise StaleAction()
    await answer(query)


# --- pain and check-ins ------------------------------------------------------------------


def _pain_message(result: PainResult) -> tuple[str, keyboards.Rows]:
    suggestion = result.suggestion
    text = texts.pain_recorded(
        result.score, result.severe, suggestion.reason if suggestion else None
    )
    rows = keyboards.pain_result(
        result.report_id,
        result.severe,
        (suggestion.target, result.stage) if suggestion else None,
    )
    return text, rows


@guarded
async def pain_command(update: Update, context: CareContext) -> None:
    """/pain 0–10 records a score; /pain alone offers the 0–10 buttons."""
    typed = command_args(context, update)
    svc = services(context)
    if not typed:
        await svc.recovery.stage(user_id(update))  # only the patient records pain
        stamp = int(svc.clock.now().timestamp() * 1000)
        await reply(update, texts.PAIN_ASK, keyboards.pain_scale(PainVerb.NOW, stamp))
        return
    score = parse_pain(typed)
    if score is None:
        raise NotAPainScore()
    message = update.effective_message
    assert message is not None
    result = await svc.recovery.pain_typed(user_id(update), score, message.message_id)
    await reply(update, *_pain_message(result))


@guarded
async def checkin_command(update: Update, context: CareContext) -> None:
    """/checkin shows the daily check-in; /checkin 09:30, off or on changes it."""
    choice = parse_schedule_choice(command_args(context, update))
    recovery = services(context).recovery
    if choice.action == "invalid":
        await reply(update, texts.CHECKIN_USAGE)
        return
    if choice.action == "show":
        view = await recovery.checkin_settings(user_id(update))
        await reply(
            update,
            texts.checkin_status(view.on, format_time(view.at)),
            keyboards.checkin_settings(view.on),
        )
        return
    view = await recovery.set_checkin(user_id(update), choice)
    await reply(update, texts.checkin_set(view.on, format_time(view.at)))


@guarded
async def pain_button(update: Update, context: CareContext) -> None:
    """A 0–10 tap (check-in or /pain), "Let my helpers know", and check-ins on/off."""
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    recovery = services(context).recovery
    me = user_id(update)
    verb = verb_of(data, PainVerb)
    if verb in (PainVerb.CHECKIN, PainVerb.NOW) and len(data.args) == 2:
        ref, score = data.int_arg(0), parse_pain(data.args[1])
        if ref is None or score is None:
            raise StaleAction()
        if verb is PainVerb.CHECKIN:
            result = await recovery.checkin_answered(me, ref, score)
        else:
            result = await recovery.pain_tapped(me, score, ref)
        await edit_or_reply(update, *_pain_message(result))
    elif verb is PainVerb.TELL and (report_id := data.int_arg(0)):
        names = await recovery.tell_helpers(me, report_id)
        await reply(update, texts.helpers_told(list(names)))
    elif verb in (PainVerb.ON, PainVerb.OFF):
        view = await recovery.set_checkin(me, ScheduleChoice(verb.value))
        await edit_or_reply(update, texts.checkin_set(view.on, format_time(view.at)))
    else:
        raise StaleAction()
    await answer(query)


# --- /progress ---------------------------------------------------------------------------


@guarded
async def progress_command(update: Update, context: CareContext) -> None:
    """Pain over the last 14 days as a chart, with a few words for those who prefer them."""
    view = await services(context).recovery.progress(user_id(update))
    chat = update.effective_chat
    if not view.pain or chat is None:
        await reply(update, texts.PROGRESS_EMPTY)
        return
    marks = [(day, stage.value) for day, stage in view.stage_marks]
    # Pillow is loaded on the first chart asked for, not at start: about 5 MiB saved in
    # every process that never draws one.
    from bot import charts

    # Drawing takes a few milliseconds of CPU: keep it off the event loop.
    png = await asyncio.to_thread(charts.pain_chart, view.days, view.pain, marks, view.doses)
    caption = texts.progress_caption(
        sorted(view.pain.items()),
        len(view.days),
        view.reports,
        view.stage,
        texts.date_local(view.stage_since, view.timezone),
        sum(view.doses.values()) if view.doses is not None else None,
    )
    await chat.send_photo(photo=png, caption=caption)
