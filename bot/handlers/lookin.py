"""Someone always hears: "I'll check on them" on a look-in request (an unanswered daily
check-in, or a missed dose no close family could be told of — asked of errand helpers, who
never see what it is about)."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.buttons import LookVerb
from bot.domain.errors import StaleAction
from bot.handlers.common import (
    CareContext,
    answer,
    edit_or_reply,
    guarded,
    parsed,
    services,
    verb_of,
)
from bot.handlers.common import user_id as who


@guarded
async def look_button(update: Update, context: CareContext) -> None:
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    target = data.int_arg(0)
    verb = verb_of(data, LookVerb)
    if target is None:
        raise StaleAction()
    if verb is LookVerb.CHECKIN:
        result = await services(context).recovery.look_in(who(update), target)
    else:
        result = await services(context).meds.look_in(who(update), target)
    text = texts.lookin_reply(result)
    if result.by_me and not result.resolved:
        await edit_or_reply(update, text)
    else:
        await answer(query, text, alert=True)
    await answer(query)
