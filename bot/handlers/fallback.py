"""What is left: free text routed by what we asked for, unknown commands, stale buttons."""

from __future__ import annotations

from collections.abc import Mapping

from telegram import Update

from bot import texts
from bot.handlers.common import CareContext, Handler, answer, reply, services, user_id

# Longest text we take in at all; Telegram allows 4096, a need or a name needs far less.
MAX_TEXT = 4000


def free_text(routes: Mapping[str, Handler]) -> Handler:
    """Send free text to whichever step is waiting for an answer (kept in the database)."""

    async def handle(update: Update, context: CareContext) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        if len(message.text) > MAX_TEXT:
            await reply(update, texts.TOO_LONG)
            return
        circles = services(context).circles
        standing = await circles.standing(user_id(update))
        route = routes.get(standing.awaiting or "")
        if route is not None:
            await route(update, context)
            return
        if standing.expired is not None:
            # Answering a question from long ago: say it was let go, once.
            await circles.end_flow(user_id(update))
            await reply(update, texts.FLOW_EXPIRED)
            return
        await reply(update, texts.NOT_UNDERSTOOD)

    return handle


def menu(routes: Mapping[str, Handler]) -> Handler:
    """The reply-keyboard buttons: each press arrives as its label's text."""

    async def handle(update: Update, context: CareContext) -> None:
        message = update.effective_message
        route = routes.get(message.text or "") if message else None
        if route is not None:
            await route(update, context)

    return handle


async def not_understood(update: Update, context: CareContext) -> None:
    """Stickers, contacts and the like: nothing we act on."""
    await reply(update, texts.NOT_UNDERSTOOD)


async def unknown_command(update: Update, context: CareContext) -> None:
    await reply(update, texts.UNKNOWN_COMMAND)


async def stale_button(update: Update, context: CareContext) -> None:
    """A button we did not make, or from a version we no longer speak."""
    if update.callback_query is not None:
        await answer(update.callback_query, texts.ERRORS["stale"], alert=True)


async def not_private(update: Update, context: CareContext) -> None:
    """Circles are private: in a group, only point people to a direct chat."""
    message = update.effective_message
    if message is not None and message.text and message.text.startswith("/"):
        await message.reply_text(texts.PRIVATE_ONLY)
