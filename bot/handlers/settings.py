"""/settings: one message with a button for each setting that applies to this person."""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from bot.buttons import HubVerb
from bot.domain.errors import StaleAction
from bot.handlers import availability, onboarding, privacy, recovery
from bot.handlers.common import (
    CareContext,
    Handler,
    answer,
    guarded,
    parsed,
    reply,
    services,
    user_id,
    verb_of,
)

# Each button opens what its command shows alone (a press carries no arguments), so the rules
# and the words stay the command's. The circle settings button is the circle's own.
OPENS: dict[HubVerb, Handler] = {
    HubVerb.TIMEZONE: onboarding.timezone_command,
    HubVerb.QUIET: availability.quiet_command,
    HubVerb.TIPS: recovery.tips_command,
    HubVerb.CHECKIN: recovery.checkin_command,
    HubVerb.PRIVACY: privacy.privacy_command,
}


@guarded
async def settings_command(update: Update, context: CareContext) -> None:
    standing = await services(context).circles.standing(user_id(update))
    in_a_circle = standing.is_patient or standing.is_helper
    await reply(
        update,
        texts.settings_hub(in_a_circle),
        keyboards.settings_hub(standing.is_patient, standing.is_helper),
    )


@guarded
async def hub_button(update: Update, context: CareContext) -> None:
    """A hub button: only if it still applies to whoever pressed it (a role may have changed)."""
    data, query = parsed(update), update.callback_query
    assert data is not None and query is not None
    verb = verb_of(data, HubVerb)
    standing = await services(context).circles.standing(user_id(update))
    if verb not in keyboards.hub_options(standing.is_patient, standing.is_helper):
        raise StaleAction()
    await OPENS[verb](update, context)
    await answer(query)
