"""One conversation at a time: /cancel, and a command in the middle of a flow ending it."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.domain.flows import Awaiting
from bot.handlers.common import CareContext, reply, services, user_id
from bot.services.circles import Standing


async def cancel_command(update: Update, context: CareContext) -> None:
    """/cancel: end whatever question is open and say what was dropped."""
    ended = await services(context).circles.end_flow(user_id(update))
    await reply(update, _dropped(ended))


# Commands that answer or pick up the question open (onboarding's steps can be answered
# by command too: `/timezone Europe/Berlin`, `/stage easing`, `/start` to see it again).
CONTINUES: dict[str, frozenset[Awaiting]] = {
    "start": frozenset({Awaiting.TIMEZONE, Awaiting.STAGE, Awaiting.JOIN_CODE}),
    "timezone": frozenset({Awaiting.TIMEZONE}),
    "stage": frozenset({Awaiting.STAGE}),
    "join": frozenset({Awaiting.JOIN_CODE}),
}


async def end_flow_quietly(update: Update, context: CareContext) -> None:
    """Any other command (or menu button) moves on: the open question is let go, so a
    "thanks!" typed after /help is not read as the answer to an /addmed step."""
    if update.effective_user is not None:
        keep = CONTINUES.get(_command(update), frozenset())
        await services(context).circles.end_flow(user_id(update), keep)


def _command(update: Update) -> str:
    """ "stage" for "/stage@carecircle_bot easing"; "" for a menu button."""
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    if not text.startswith("/"):
        return ""
    return text[1:].split(maxsplit=1)[0].partition("@")[0].lower() if len(text) > 1 else ""


def _dropped(ended: Standing | None) -> str:
    if ended is None or ended.awaiting is None:
        return texts.NOTHING_TO_CANCEL
    return texts.flow_cancelled(ended.awaiting, ended.draft)
