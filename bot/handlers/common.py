"""What every handler shares: the typed context, who is asking, replying, and refusals."""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest
from telegram.ext import CallbackContext, ExtBot

from bot import callbacks, texts
from bot.domain.errors import (
    DomainError,
    InviteError,
    NeedTaken,
    StaleAction,
    TooManyAttempts,
    UnknownTimezone,
)
from bot.keyboards import Menu, Rows
from bot.render import markup, menu_markup
from bot.services.circles import Person

if TYPE_CHECKING:
    from bot.botapi import BotApiMonitor
    from bot.cluster import Cluster
    from bot.delivery import OutboxSender
    from bot.metrics import Metrics
    from bot.registry import Services

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024


class BotData:
    """The application-wide state PTB hands to handlers: services, sender, cluster, menus."""

    services: Services
    sender: OutboxSender
    cluster: Cluster
    metrics: Metrics
    botapi: BotApiMonitor

    def __init__(self) -> None:
        # Each chat's command menu as this process last set it, and when (bot.handlers.menus).
        self.menus: dict[int, tuple[tuple[tuple[str, str], ...], float]] = {}


CareContext = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
Handler = Callable[[Update, CareContext], Coroutine[Any, Any, None]]


def services(context: CareContext) -> Services:
    return context.bot_data.services


def person(update: Update) -> Person:
    user = update.effective_user
    assert user is not None
    return Person(user.id, user.first_name or "", user.last_name, user.username)


def user_id(update: Update) -> int:
    user = update.effective_user
    assert user is not None
    return user.id


def command_args(context: CareContext, update: Update) -> str:
    """Everything after the command, as typed (context.args loses the spacing).

    A button press (the /settings hub opens what a command shows) carries none."""
    if update.callback_query is not None:
        return ""
    message = update.effective_message
    text = message.text if message and message.text else ""
    _, _, rest = text.partition(" ")
    return rest.strip()


async def reply(
    update: Update, text: str, rows: Rows = (), *, menu: Menu | None = None
) -> Message | None:
    """Answer the person who just acted, in their chat (direct replies skip the outbox).

    A message carries inline buttons (`rows`) or the reply-keyboard `menu`, not both.
    """
    chat = update.effective_chat
    if chat is None:
        return None
    await answer_first(update)
    keyboard = menu_markup(menu) if menu is not None else markup(rows)
    return await chat.send_message(text, reply_markup=keyboard)


async def answer_first(update: Update) -> None:
    """Before a new message to someone who pressed a button: answer the press.

    A new message may wait its turn behind the chat's one-a-second spacing; the press's
    spinner must not wait with it. A press answered here can't carry a text any more, so a
    refusal after this point comes as a message (see `guarded`).
    """
    if update.callback_query is not None:
        await answer(update.callback_query)


async def edit_or_reply(update: Update, text: str, rows: Rows = ()) -> None:
    """After a button press, change the message the button was on; otherwise reply.

    A photo or voice note keeps its words in the caption, which Telegram caps at 1,024
    characters: longer text comes as a new message instead.
    """
    query = update.callback_query
    message = query.message if query is not None else None
    if isinstance(message, Message):
        media = message.text is None
        if _unchanged(message, media, text, rows):
            return  # a second press of the same button: Telegram would refuse the edit
        if not (media and len(text) > CAPTION_LIMIT):
            pressed, wanted = _shown(message, media), _wanted(text, rows)
            if _edited.get(pressed) == wanted:
                return  # a twin press on the same view made (or is making) this very edit
            _remember(pressed, wanted)
            try:
                if media:
                    edited = await message.edit_caption(text, reply_markup=markup(rows))
                else:
                    edited = await message.edit_text(text, reply_markup=markup(rows))
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    return
                _edited.pop(pressed, None)
                if "can't be edited" not in exc.message and "not found" not in exc.message:
                    raise
            except BaseException:
                _edited.pop(pressed, None)
                raise
            else:
                if isinstance(edited, Message):
                    # A later press on the message as it now reads asks for nothing new.
                    _remember(_shown(edited, media), wanted)
                return
    await reply(update, text, rows)


# Edits made on a press, by what the pressed message showed (chat, message, last edit,
# words, buttons) → what it was changed to. Two presses on one view (a double tap, presses
# racing) both carry the old view, so `_unchanged` can't see that the first already changed
# it: the second asks for nothing new, and Telegram would refuse it as "not modified".
# Per process; a bounded memory is enough.
_View = tuple[int, int, int, str, str]
_edited: OrderedDict[_View, tuple[str, str]] = OrderedDict()
_EDITED_KEPT = 10_000


def _shown(message: Message, media: bool) -> _View:
    """What a message the bot edits reads, as the press (or Telegram's answer) carried it."""
    words = (message.caption_html if media else message.text_html) or ""
    edit_date = message.edit_date or message.date
    keyboard = message.reply_markup.to_json() if message.reply_markup else ""
    return (message.chat_id, message.message_id, int(edit_date.timestamp()), words, keyboard)


def _wanted(text: str, rows: Rows) -> tuple[str, str]:
    keyboard = markup(rows)
    return text, keyboard.to_json() if keyboard else ""


def _remember(view: _View, wanted: tuple[str, str]) -> None:
    _edited[view] = wanted
    _edited.move_to_end(view)
    if len(_edited) > _EDITED_KEPT:
        _edited.popitem(last=False)


def _unchanged(message: Message, media: bool, text: str, rows: Rows) -> bool:
    """Does the message already read `text` with these buttons?"""
    current = message.caption_html if media else message.text_html
    if current is None or _quotes_plain(current) != _quotes_plain(text):
        return False
    new, old = markup(rows), message.reply_markup
    return (new.inline_keyboard if new else ()) == (old.inline_keyboard if old else ())


def _quotes_plain(html: str) -> str:
    """PTB spells ' and " as entities when it rebuilds a message's HTML; our texts don't."""
    return html.replace("&#x27;", "'").replace("&quot;", '"')


def refusal_text(error: DomainError) -> str:
    if isinstance(error, InviteError):
        return texts.invite_error(error.reason, error.patient_name)
    if isinstance(error, UnknownTimezone):
        return texts.unknown_timezone(str(error), error.reason)
    if isinstance(error, TooManyAttempts):
        return texts.too_many_attempts(error.minutes)
    if isinstance(error, NeedTaken):
        return texts.need_taken_refusal(error.name, error.done)

    # --- meds ---
    med_text = texts.med_refusal(error)
    if med_text is not None:
        return med_text
    return texts.ERRORS.get(error.code, texts.ERRORS["error"])


def guarded(handler: Handler) -> Handler:
    """Turn a rule's refusal into a short reply (or a button answer) instead of an error."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: CareContext) -> None:
        try:
            await handler(update, context)
        except DomainError as error:
            text = refusal_text(error)
            query = update.callback_query
            if query is not None and query.id not in _answered:
                await answer(query, text, alert=True)
            else:
                # A press already answered (the handler said "ok" before the rule said no)
                # can't be answered again: the refusal comes as a message instead.
                await reply(update, text)

    return wrapper


# Button presses answered by this process, so none is answered twice (Telegram refuses that
# with a Bad Request and the second text is lost). Ids are unique; a bounded memory is enough.
_answered: OrderedDict[str, None] = OrderedDict()
_ANSWERED_KEPT = 10_000


async def answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press once; a second call for the same press does nothing."""
    if query.id in _answered:
        return
    _answered[query.id] = None
    if len(_answered) > _ANSWERED_KEPT:
        _answered.popitem(last=False)
    try:
        await query.answer(text[:200] if text else None, show_alert=alert)
    except BadRequest as exc:
        # Too old: pressed long ago (e.g. while we were down). The action itself still counts.
        if "query is too old" not in exc.message and "query id is invalid" not in exc.message:
            raise


def pressed_message_id(update: Update) -> int | None:
    """The message a pressed button was on (so the service leaves that one to us)."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        return query.message.message_id
    return None


def parsed(update: Update) -> callbacks.Callback | None:
    query = update.callback_query
    return callbacks.parse(query.data if query else None)


V = TypeVar("V", bound=StrEnum)

# One button's work: (update, context, its parsed data, who pressed it).
Press = Callable[[Update, CareContext, callbacks.Callback, int], Awaitable[None]]


def verb_of(data: callbacks.Callback, verbs: type[V]) -> V:
    """The press's verb as one of `verbs`; one we don't make (or no longer make) is stale."""
    try:
        return verbs(data.verb)
    except ValueError:
        raise StaleAction() from None


async def run_press(
    update: Update, context: CareContext, verbs: type[V], presses: Mapping[V, Press]
) -> None:
    """Run the press its verb names, then answer it (if it has not answered already)."""
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    press = presses.get(verb_of(data, verbs))
    if press is None:
        raise StaleAction()
    await press(update, context, data, user_id(update))
    await answer(query)
