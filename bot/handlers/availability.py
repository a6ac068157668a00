"""A helper's quiet hours and time away: /quiet, /away, /back."""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from bot.buttons import QuietVerb
from bot.domain.errors import StaleAction
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
from bot.services.availability import Availability


def _status(availability: Availability) -> str:
    away = None
    if availability.away_indefinitely:
        away = "until you send /back"
    elif availability.away_until is not None:
        away = texts.away_until_text(availability.away_until, availability.timezone)
    return texts.quiet_status(availability.quiet, availability.timezone, away)


def _quiet_result(availability: Availability) -> str:
    if availability.quiet is None:
        return texts.QUIET_OFF
    return texts.quiet_set(*availability.quiet, availability.timezone or "UTC")


def _away_result(availability: Availability) -> str:
    if availability.away_indefinitely or availability.away_until is None:
        return texts.AWAY_INDEFINITE
    return texts.away_set(availability.away_until, availability.timezone)


@guarded
async def quiet_command(update: Update, context: CareContext) -> None:
    """/quiet 22:00-07:00, /quiet off; alone, shows them with presets."""
    svc = services(context).availability
    typed = command_args(context, update)
    if typed:
        await reply(update, _quiet_result(await svc.set_quiet(user_id(update), typed)))
        return
    await reply(update, _status(await svc.show(user_id(update))), keyboards.quiet_choices())


@guarded
async def away_command(update: Update, context: CareContext) -> None:
    """/away 3 (days); alone, offers 1 day, 3 days, a week or until /back."""
    svc = services(context).availability
    typed = command_args(context, update)
    if typed:
        await reply(update, _away_result(await svc.away_typed(user_id(update), typed)))
        return
    await svc.show(user_id(update))  # helpers only
    await reply(update, texts.AWAY_ASK, keyboards.away_choices())


@guarded
async def back_command(update: Update, context: CareContext) -> None:
    open_count = await services(context).availability.back(user_id(update))
    await reply(update, texts.welcome_back_helper(open_count))


@guarded
async def quiet_button(update: Update, context: CareContext) -> None:
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    svc = services(context).availability
    me = user_id(update)
    verb = verb_of(data, QuietVerb)
    if verb is QuietVerb.OFF:
        text = _quiet_result(await svc.set_quiet(me, "off"))
    elif verb is QuietVerb.SET and len(data.args) == 2:
        text = _quiet_result(await svc.set_quiet_preset(me, data.args[0], data.args[1]))
    elif verb is QuietVerb.AWAY and data.args and data.args[0].isdigit():
        days = int(data.args[0])
        text = _away_result(await svc.away(me, days or None))
    else:
        raise StaleAction()
    await edit_or_reply(update, text)
    await answer(query)
