"""How the bot presents itself: its description, and each person's menu of commands.

Telegram shows a chat the commands set for it (`BotCommandScopeChat`), else the default
ones. The default menu is a newcomer's; a patient's or a helper's chat gets its own.

The menu follows the role after every update from that person, rather than being set where
a role changes. A role changes in services, which know nothing of Telegram, and often for
someone else (a patient removes a helper; a patient's deleted data closes every helper's
circle); the outbox is for messages, and a menu sent through it would take a message's place
in the chat's one-a-second turn and in what privacy rewrites. So the menu is derived, like a
view, from the role in the database: right after the update that changed it for the person
acting, and at the next update of anyone whose role another changed. Until then a stale menu
only offers a command that answers "that's not for you" — every command checks the role.
"""

from __future__ import annotations

import logging
import time

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot import texts
from bot.events import log_event
from bot.handlers.common import CareContext, services
from bot.services.circles import CircleService

log = logging.getLogger(__name__)

Commands = tuple[tuple[str, str], ...]
# Menus this process set, per chat, with when. An entry is trusted this long: another replica
# may have set that chat's menu since (a person's updates can land on any replica).
TRUSTED_FOR = 3600.0
KEPT = 50_000


async def introduce(bot: Bot) -> None:
    """At start-up: the description an empty chat shows, and the newcomer's menu.

    The descriptions are set only when they differ (Telegram limits how often they change),
    and a refusal is logged, not fatal: the bot works without them.
    """
    try:
        await bot.set_my_commands(_bot_commands(texts.COMMANDS_NEWCOMER))
        if (await bot.get_my_description()).description != texts.BOT_DESCRIPTION:
            await bot.set_my_description(texts.BOT_DESCRIPTION)
        if (await bot.get_my_short_description()).short_description != (
            texts.BOT_SHORT_DESCRIPTION
        ):
            await bot.set_my_short_description(texts.BOT_SHORT_DESCRIPTION)
    except TelegramError as exc:
        log_event(log, "bot.description_failed", logging.WARNING, error=type(exc).__name__)


async def keep_menu(update: Update, context: CareContext) -> None:
    """After each message or press in a private chat: the person's menu fits their role."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE or user.is_bot:
        return
    if update.message is None and update.callback_query is None:
        return
    try:
        await sync_menu(context.bot, services(context).circles, context.bot_data.menus, chat.id)
    except Exception:
        # The person's own reply has gone out already: a menu that could not be checked
        # (a locked database, say) must not tell them their action failed.
        log.warning("event=menu.check_failed user_id=%s", user.id, exc_info=True)


async def sync_menu(
    bot: Bot,
    circles: CircleService,
    menus: dict[int, tuple[Commands, float]],
    user_id: int,
) -> None:
    """Give this person's private chat the menu of their role, unless it has it already."""
    standing = await circles.standing(user_id)
    wanted = texts.menu_commands(standing.is_patient, standing.is_helper)
    known = menus.get(user_id)
    if known is not None and known[0] == wanted and time.monotonic() - known[1] < TRUSTED_FOR:
        return
    scope = BotCommandScopeChat(user_id)
    try:
        if wanted == texts.COMMANDS_NEWCOMER:
            await bot.delete_my_commands(scope=scope)  # the default menu is the newcomer's
        else:
            await bot.set_my_commands(_bot_commands(wanted), scope=scope)
    except TelegramError as exc:
        # Tried again at their next update; the reply they came for has gone out already.
        log_event(log, "menu.failed", logging.WARNING, user_id=user_id, error=type(exc).__name__)
        menus.pop(user_id, None)
        return
    if len(menus) >= KEPT:
        menus.clear()
    menus[user_id] = (wanted, time.monotonic())
    log_event(log, "menu.set", logging.DEBUG, user_id=user_id, commands=len(wanted))


def _bot_commands(commands: Commands) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in commands]
