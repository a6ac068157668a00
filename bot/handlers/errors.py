"""The last line of defence: log the failure for us, say sorry to the person."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError

from bot import texts
from bot.handlers.common import CareContext, answer

log = logging.getLogger(__name__)


async def on_error(update: object, context: CareContext) -> None:
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        # Blocked us or never pressed Start: expected, nothing to tell them.
        log.info("event=handler.forbidden update_id=%s", update_id)
        return
    if isinstance(error, NetworkError) and not isinstance(update, Update):
        log.warning("event=polling.network_error error=%s", type(error).__name__)
        return
    log.error("event=handler.failed update_id=%s", update_id, exc_info=error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await answer(update.callback_query, texts.SOMETHING_WENT_WRONG, alert=True)
        elif update.effective_chat is not None:
            await update.effective_chat.send_message(texts.SOMETHING_WENT_WRONG)
    except Exception:
        log.warning("event=handler.apology_failed update_id=%s", update_id)
