"""Telegram handlers, one module per journey; `register` wires them into the application."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import callbacks, texts
from bot.buttons import Ns
from bot.domain.flows import Awaiting
from bot.handlers import (
    availability,
    circle,
    conversation,
    fallback,
    lookin,
    meds,
    menus,
    needs,
    onboarding,
    privacy,
    recovery,
    settings,
)
from bot.handlers.common import CareContext, Handler, person, services
from bot.handlers.errors import on_error
from bot.handlers.menus import introduce

__all__ = ["introduce", "register"]

MENU_LABELS = [texts.MENU_CIRCLE, texts.MENU_HELP, texts.MENU_NEED, texts.MENU_TIP, texts.MENU_MEDS]

# New messages in a private chat. (Edits are left out: editing an old "/leave" must not
# leave a circle again.)
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


async def remember_person(update: Update, context: CareContext) -> None:
    """Keep each person's name current before any handler uses it."""
    if update.effective_user is not None and not update.effective_user.is_bot:
        await services(context).circles.touch(person(update))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Groups below 0 run before the handlers that answer, in order; one handler each.
    app.add_handler(TypeHandler(Update, remember_person), group=-2)
    # A command (other than /cancel, which says what it dropped) or a menu button ends any
    # question still open, before its own handler may start a new one.
    moves_on = (PRIVATE & filters.COMMAND & ~filters.Regex(r"(?i)^/cancel(@\w+)?(\s|$)")) | (
        PRIVATE & filters.Text(MENU_LABELS)
    )
    app.add_handler(MessageHandler(moves_on, conversation.end_flow_quietly), group=-1)

    commands = {
        "start": onboarding.start,
        "help": onboarding.help_command,
        "settings": settings.settings_command,
        "cancel": conversation.cancel_command,
        "timezone": onboarding.timezone_command,
        "invite": circle.invite_command,
        "join": circle.join_command,
        "circle": circle.circle_command,
        "leave": circle.leave_command,
        # --- needs ---
        "need": needs.need_command,
        "needs": needs.needs_command,
        "mytasks": needs.mytasks_command,
        "quiet": availability.quiet_command,
        "away": availability.away_command,
        "back": availability.back_command,
        # --- recovery ---
        "stage": recovery.stage_command,
        "tip": recovery.tip_command,
        "tips": recovery.tips_command,
        "pain": recovery.pain_command,
        "checkin": recovery.checkin_command,
        "progress": recovery.progress_command,
        # --- meds ---
        "addmed": meds.addmed_command,
        "meds": meds.meds_command,
        "took": meds.took_command,
        "adherence": meds.adherence_command,
        # --- privacy ---
        "privacy": privacy.privacy_command,
        "export": privacy.export_command,
        "deletemydata": privacy.deletemydata_command,
    }
    for name, handler in commands.items():
        app.add_handler(CommandHandler(name, handler, filters=PRIVATE))

    buttons = {
        Ns.START: onboarding.choose_role,
        Ns.TIMEZONE: onboarding.timezone_button,
        Ns.INVITE: circle.invite_button,
        Ns.CIRCLE: circle.circle_button,
        Ns.SETTINGS: circle.settings_button,
        Ns.HUB: settings.hub_button,
        # --- needs ---
        Ns.NEED: needs.need_button,
        Ns.QUIET: availability.quiet_button,
        # --- recovery ---
        Ns.STAGE: recovery.stage_button,
        Ns.TIP: recovery.tip_button,
        Ns.PAIN: recovery.pain_button,
        # --- meds ---
        Ns.MED: meds.med_button,
        Ns.DOSE: meds.dose_button,
        # --- privacy ---
        Ns.DATA: privacy.data_button,
        # --- someone always hears ---
        Ns.LOOK: lookin.look_button,
    }
    assert set(buttons) == set(Ns)
    for namespace, handler in buttons.items():
        app.add_handler(CallbackQueryHandler(handler, pattern=callbacks.pattern(namespace)))

    # The patient's menu buttons send their label; they end any question pending.
    menu = {
        texts.MENU_CIRCLE: circle.circle_command,
        texts.MENU_HELP: onboarding.help_command,
        # --- needs ---
        texts.MENU_NEED: needs.need_menu,
        # --- recovery ---
        texts.MENU_TIP: recovery.tip_command,
        texts.MENU_MEDS: meds.meds_command,  # --- meds ---
    }
    assert set(menu) == set(MENU_LABELS)
    app.add_handler(MessageHandler(PRIVATE & filters.Text(list(menu)), fallback.menu(menu)))
    # Free text goes to the step that asked for it (the state lives in the database).
    awaiting: dict[str, Handler] = {
        Awaiting.TIMEZONE: onboarding.timezone_typed,
        Awaiting.JOIN_CODE: circle.join_code_typed,
        # --- needs ---
        Awaiting.NEED_DETAIL: needs.detail_typed,
        Awaiting.NEED_NOTE: needs.note_typed,
        Awaiting.NEED_WHEN: needs.when_typed,
        Awaiting.NEED_MEDIA: needs.media_words_typed,
        # --- recovery ---
        Awaiting.STAGE: recovery.stage_typed,
        # --- meds ---
        Awaiting.ADD_MED: meds.add_typed,
        Awaiting.MED_EDIT: meds.edit_typed,
        Awaiting.DOSE_TIME: meds.dose_time_typed,
    }
    assert set(awaiting) == set(Awaiting)
    app.add_handler(
        MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, fallback.free_text(awaiting))
    )
    # --- needs --- A photo or voice note from the patient can be passed on as a need.
    app.add_handler(MessageHandler(PRIVATE & (filters.PHOTO | filters.VOICE), needs.media_received))
    # A shared location (the 📍 button at the time-zone step) sets the time zone.
    app.add_handler(MessageHandler(PRIVATE & filters.LOCATION, onboarding.location_shared))
    # Order matters from here: these catch whatever the handlers above did not take.
    app.add_handler(MessageHandler(PRIVATE & filters.COMMAND, fallback.unknown_command))
    app.add_handler(MessageHandler(PRIVATE, fallback.not_understood))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS, fallback.not_private))
    app.add_handler(CallbackQueryHandler(fallback.stale_button))
    app.add_error_handler(on_error)
    # After whichever handler answered (a group of its own, so it runs after every update):
    # the person's command menu follows their role, which that update may have changed.
    app.add_handler(TypeHandler(Update, menus.keep_menu), group=1)
