"""Data rights: /privacy says what is kept and who sees it; /export sends a person's data as a
file; /deletemydata deletes it after a yes."""

from __future__ import annotations

from telegram import InputFile, ReplyKeyboardRemove, Update

from bot import keyboards, texts
from bot.buttons import DataVerb
from bot.domain.errors import StaleAction
from bot.handlers.common import (
    CareContext,
    answer,
    edit_or_reply,
    guarded,
    parsed,
    reply,
    services,
    user_id,
    verb_of,
)


@guarded
async def privacy_command(update: Update, context: CareContext) -> None:
    await reply(update, texts.PRIVACY)


@guarded
async def export_command(update: Update, context: CareContext) -> None:
    exported = await services(context).privacy.export_file(user_id(update))
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        document=InputFile(exported.content, filename=exported.filename),
        caption=texts.EXPORT_CAPTION,
    )


@guarded
async def deletemydata_command(update: Update, context: CareContext) -> None:
    """Say exactly what would go, and ask."""
    me = user_id(update)
    preview = await services(context).privacy.deletion_preview(me)
    if not preview.has_data:
        await reply(update, texts.NOTHING_TO_DELETE)
        return
    text = texts.confirm_delete_data(
        preview.circle, helping=list(preview.helping), taken_needs=preview.taken_needs
    )
    await reply(update, text, keyboards.confirm_delete_data(me))


@guarded
async def data_button(update: Update, context: CareContext) -> None:
    """ "Yes, delete everything" / "Keep my data": only for the person who was asked."""
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    me = user_id(update)
    if data.int_arg(0) != me:
        raise StaleAction()
    if verb_of(data, DataVerb) is DataVerb.NO:
        await edit_or_reply(update, texts.DATA_KEPT)
        await answer(query)
        return
    deleted = await services(context).privacy.delete_everything(me)
    if deleted.nothing_left:
        # A double tap, or an old question: say so, and leave the message as it is.
        await answer(query, texts.DATA_ALREADY_DELETED, alert=True)
        return
    await answer(query)
    await edit_or_reply(
        update,
        texts.data_deleted(
            circle_closed=deleted.circle_closed,
            helpers_told=deleted.helpers_told,
            circles_left=deleted.circles_left,
        ),
    )
    chat = update.effective_chat
    if deleted.circle_closed and chat is not None:
        # The patient's menu would only lead to "you're not in a circle" now.
        await chat.send_message(texts.COME_BACK_ANYTIME, reply_markup=ReplyKeyboardRemove())
