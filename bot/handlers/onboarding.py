"""Getting started: /start, choosing a role, the time zone, /help."""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from bot.buttons import StageVerb, StartVerb, TimezoneVerb
from bot.domain.errors import StaleAction
from bot.handlers.circle import join_with_code
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
from bot.services.onboarding import Step, TimezoneAnswer

JOIN_PREFIX = "join_"


@guarded
async def start(update: Update, context: CareContext) -> None:
    """/start, or /start join_<code> from an invite link."""
    payload = command_args(context, update)
    if payload.startswith(JOIN_PREFIX):
        await join_with_code(update, context, payload.removeprefix(JOIN_PREFIX))
        return
    where = await services(context).onboarding.where(user_id(update))
    if where.step is Step.TIMEZONE:
        await reply(update, texts.ASK_TIMEZONE, keyboards.choose_timezone())
    elif where.step is Step.STAGE:
        # --- recovery: onboarding's stage question is still open ---
        await reply(update, texts.ASK_STAGE, keyboards.choose_stage(verb=StageVerb.FIRST))
    elif where.step is Step.WELCOME_BACK:
        standing = where.standing
        helping = [h.patient_name for h in standing.helping]
        menu = keyboards.patient_menu() if standing.is_patient else None
        text = texts.welcome_back(standing.name, standing.is_patient, helping)
        await reply(update, text, menu=menu)
    else:
        await reply(update, texts.WELCOME, keyboards.choose_role())


@guarded
async def choose_role(update: Update, context: CareContext) -> None:
    """The "I'm recovering" / "I'm helping someone" buttons."""
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    onboarding = services(context).onboarding
    if verb_of(data, StartVerb) is StartVerb.PATIENT:
        await onboarding.become_patient(user_id(update))
        await answer(query)
        await edit_or_reply(update, texts.ASK_TIMEZONE, keyboards.choose_timezone())
    else:
        await onboarding.ask_join_code(user_id(update))
        await answer(query)
        await edit_or_reply(update, texts.HELPER_NEEDS_INVITE)


@guarded
async def timezone_command(update: Update, context: CareContext) -> None:
    """/timezone <name> sets it; /timezone alone offers buttons."""
    typed = command_args(context, update)
    if typed:
        await _set_timezone(update, context, typed)
        return
    svc = services(context)
    standing = await svc.onboarding.ask_timezone(user_id(update))
    current = texts.timezone_current(standing.timezone, svc.clock.now())
    await reply(update, current, keyboards.choose_timezone())


@guarded
async def timezone_button(update: Update, context: CareContext) -> None:
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    if verb_of(data, TimezoneVerb) is TimezoneVerb.TYPE:
        standing = await services(context).onboarding.ask_timezone(user_id(update))
        await answer(query)
        # The 📍 button can only live on a reply keyboard, so it comes with this message.
        keep_menu = standing.is_patient and standing.timezone is not None
        await reply(update, texts.TYPE_TIMEZONE, menu=keyboards.share_location(keep_menu))
        return
    if not data.args:
        raise StaleAction()
    await answer(query)
    await _set_timezone(update, context, data.args[0])


@guarded
async def timezone_typed(update: Update, context: CareContext) -> None:
    """Free text while we wait for a time zone."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await _set_timezone(update, context, message.text)


@guarded
async def location_shared(update: Update, context: CareContext) -> None:
    """A location (the 📍 button, or sent from the attachment menu): its time zone."""
    message = update.effective_message
    assert message is not None and message.location is not None
    where = message.location
    answered = await services(context).onboarding.set_timezone_at(
        user_id(update), where.latitude, where.longitude
    )
    if not answered.asked:
        menu = keyboards.patient_menu() if answered.is_patient else keyboards.NO_MENU
        await reply(update, texts.LOCATION_NOT_ASKED, menu=menu)
        return
    await _timezone_confirmed(update, context, answered)


async def _set_timezone(update: Update, context: CareContext, typed: str) -> None:
    answered = await services(context).onboarding.set_timezone(user_id(update), typed)
    await _timezone_confirmed(update, context, answered)


async def _timezone_confirmed(
    update: Update, context: CareContext, answered: TimezoneAnswer
) -> None:
    confirmation = texts.timezone_set(answered.name, services(context).clock.now())
    if update.callback_query is not None:
        await edit_or_reply(update, confirmation)
    else:
        # The 📍 keyboard may be up: put back what the person had before it (a patient's
        # menu comes at the end of onboarding, so none yet the first time).
        keep_menu = answered.is_patient and not answered.ask_stage
        menu = keyboards.patient_menu() if keep_menu else keyboards.NO_MENU
        await reply(update, confirmation, menu=menu)
    if answered.ask_stage:
        # --- recovery: ask how their back is; that answer sends the invite link ---
        await reply(update, texts.ASK_STAGE, keyboards.choose_stage(verb=StageVerb.FIRST))


@guarded
async def help_command(update: Update, context: CareContext) -> None:
    standing = await services(context).circles.standing(user_id(update))
    await reply(update, texts.help_text(standing.is_patient, standing.is_helper))
