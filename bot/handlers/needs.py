"""Needs: posting (one tap, typed, photo or voice), the helpers' buttons, /needs, /mytasks."""

from __future__ import annotations

from telegram import Update

from bot import callbacks, keyboards, texts
from bot.buttons import FROM_LIST, NeedVerb
from bot.domain.errors import NotHelper, NotPatient, NotRegistered, StaleAction
from bot.domain.flows import Awaiting
from bot.domain.needs import NeedState
from bot.handlers.common import (
    CareContext,
    Press,
    command_args,
    edit_or_reply,
    guarded,
    pressed_message_id,
    reply,
    run_press,
    services,
    user_id,
)
from bot.keyboards import Rows
from bot.services.needs import NeedView, Outcome, Posted

# --- showing things ----------------------------------------------------------------------


def _posted(context: CareContext, posted: Posted) -> tuple[str, Rows]:
    view = posted.need
    now = services(context).clock.now()
    text = texts.need_posted(view.card, posted.routed, view.patient_timezone, now, posted.trimmed)
    return text, _patient_buttons(view)


def _patient_buttons(view: NeedView) -> Rows:
    if view.state in (NeedState.OPEN, NeedState.CLAIMED):
        return keyboards.need_posted(view.id, view.card.urgent)
    return ()


def _updated(context: CareContext, outcome: Outcome, what: str) -> tuple[str, Rows]:
    view = outcome.need
    now = services(context).clock.now()
    text = texts.need_updated(view.card, what, view.patient_timezone, now)
    if outcome.trimmed:
        text += f"\n\n{texts.NEED_TRIMMED}"
    return text, _patient_buttons(view)


async def _helper_zone(context: CareContext, update: Update) -> str | None:
    return (await services(context).circles.standing(user_id(update))).timezone


async def render_list(update: Update, context: CareContext, part: str, *, edit: bool) -> None:
    """/needs for the patient ("patient") or a helper ("helper")."""
    svc = services(context)
    overview = await svc.needs.overview(user_id(update))
    now = svc.clock.now()
    zone = overview.timezone
    sections: list[tuple[str, Rows]] = []
    if overview.is_patient and part in ("patient", "all"):
        sections.append(
            (
                texts.needs_for_patient(
                    [(v.card, v.state, v.owner_name, v.thanked) for v in overview.own], zone, now
                ),
                keyboards.needs_for_patient([(v.card, v.state, v.thanked) for v in overview.own]),
            )
        )
    if overview.is_helper and part in ("helper", "all"):
        sections.append(
            (
                texts.needs_for_helper(
                    [(v.card, v.patient_name) for v in overview.open],
                    [(v.card, v.patient_name) for v in overview.mine],
                    zone,
                    now,
                ),
                keyboards.needs_for_helper(
                    [v.card for v in overview.open], [v.card for v in overview.mine]
                ),
            )
        )
    for text, rows in sections:
        if edit:
            await edit_or_reply(update, text, rows)
        else:
            await reply(update, text, rows)


# --- posting -----------------------------------------------------------------------------


@guarded
async def need_command(update: Update, context: CareContext) -> None:
    """/need <text> posts at once; /need alone opens the one-tap categories."""
    typed = command_args(context, update)
    message = update.effective_message
    if typed and message is not None:
        posted = await services(context).needs.post_typed(
            user_id(update), typed, message.message_id
        )
        await reply(update, *_posted(context, posted))
        return
    await need_menu(update, context)


@guarded
async def need_menu(update: Update, context: CareContext) -> None:
    """The "I need something" menu button (the first tap)."""
    await services(context).needs.begin(user_id(update))
    await reply(update, texts.NEED_ASK_WHAT, keyboards.need_categories())


@guarded
async def detail_typed(update: Update, context: CareContext) -> None:
    """The words for "Something else…"."""
    message = update.effective_message
    assert message is not None and message.text is not None
    posted = await services(context).needs.post_typed(
        user_id(update), message.text, message.message_id
    )
    await reply(update, *_posted(context, posted))


@guarded
async def note_typed(update: Update, context: CareContext) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    outcome = await services(context).needs.note_typed(user_id(update), message.text)
    await reply(update, *_updated(context, outcome, "note"))


@guarded
async def when_typed(update: Update, context: CareContext) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    outcome = await services(context).needs.when_typed(user_id(update), message.text)
    await reply(update, *_updated(context, outcome, "deadline"))


@guarded
async def media_words_typed(update: Update, context: CareContext) -> None:
    """Words typed after a photo or voice note: they go with it."""
    message = update.effective_message
    assert message is not None and message.text is not None
    posted = await services(context).needs.media_words(user_id(update), message.text)
    await reply(update, *_posted(context, posted))


@guarded
async def media_received(update: Update, context: CareContext) -> None:
    """A photo or voice note from the patient: ask before passing it on."""
    message = update.effective_message
    if message is None:
        return
    if message.photo:
        kind, file_id = "photo", message.photo[-1].file_id
    elif message.voice:
        kind, file_id = "voice", message.voice.file_id
    else:
        return
    caption = (message.caption or "").strip()
    if caption.lower().startswith("/need"):
        caption = caption[len("/need") :].strip()
    try:
        await services(context).needs.offer_media(
            user_id(update), kind, file_id, caption, message.message_id
        )
    except (NotPatient, NotRegistered):
        await reply(update, texts.NOT_UNDERSTOOD)
        return
    await reply(update, texts.need_media_ask(kind), keyboards.need_media(message.message_id))


# --- lists -------------------------------------------------------------------------------


@guarded
async def needs_command(update: Update, context: CareContext) -> None:
    await render_list(update, context, "all", edit=False)


@guarded
async def mytasks_command(update: Update, context: CareContext) -> None:
    svc = services(context)
    overview = await svc.needs.overview(user_id(update))
    if not overview.is_helper:
        raise NotHelper()
    mine = [(v.card, v.patient_name) for v in overview.mine]
    await reply(
        update,
        texts.my_tasks(mine, overview.done_this_week, overview.timezone, svc.clock.now()),
        keyboards.needs_for_helper([], [v.card for v in overview.mine]),
    )


# --- buttons -----------------------------------------------------------------------------


async def _category(
    update: Update, context: CareContext, data: callbacks.Callback, me: int
) -> None:
    query = update.callback_query
    assert query is not None
    pressed = query.message.message_id if query.message is not None else 0
    category = data.args[0] if data.args else ""
    posted = await services(context).needs.post_category(me, category, pressed)
    await edit_or_reply(update, *_posted(context, posted))


async def _other(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    await services(context).needs.await_text(me, Awaiting.NEED_DETAIL)
    await edit_or_reply(update, texts.NEED_ASK_OTHER)


async def _claim(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    outcome = await services(context).needs.claim(
        me, _need_id(data), message_id=pressed_message_id(update)
    )
    if _from_list(data):
        await render_list(update, context, "helper", edit=True)
        return
    view = outcome.need
    now = services(context).clock.now()
    zone = await _helper_zone(context, update) or view.patient_timezone
    await edit_or_reply(
        update,
        texts.need_owner_view(view.patient_name, view.card, zone, now),
        keyboards.need_owner(view.id),
    )


async def _decline(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    outcome = await services(context).needs.decline(me, _need_id(data))
    view = outcome.need
    now = services(context).clock.now()
    zone = await _helper_zone(context, update) or view.patient_timezone
    await edit_or_reply(
        update,
        texts.need_declined_view(view.patient_name, view.card, zone, now),
        keyboards.need_declined(view.id),
    )


async def _done(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    outcome = await services(context).needs.complete(
        me, _need_id(data), message_id=pressed_message_id(update)
    )
    if _from_list(data):
        await render_list(update, context, "helper", edit=True)
        return
    await edit_or_reply(
        update, texts.need_finished_view(outcome.need.patient_name, outcome.need.card, "done")
    )


async def _release(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    outcome = await services(context).needs.release(
        me, _need_id(data), message_id=pressed_message_id(update)
    )
    if _from_list(data):
        await render_list(update, context, "helper", edit=True)
        return
    view = outcome.need
    await edit_or_reply(update, texts.need_finished_view(view.patient_name, view.card, "released"))


async def _cancel(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    confirmed = data.verb == NeedVerb.CANCEL_YES
    outcome = await services(context).needs.cancel(me, _need_id(data), confirmed=confirmed)
    view = outcome.need
    if outcome.confirm:
        await edit_or_reply(
            update,
            texts.need_confirm_cancel(view.owner_name or "", view.card),
            keyboards.need_confirm_cancel(view.id),
        )
    elif _from_list(data):
        await render_list(update, context, "patient", edit=True)
    else:
        await edit_or_reply(update, texts.need_cancelled(view.card))


async def _keep(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    await services(context).needs.keep(me, _need_id(data))
    await edit_or_reply(update, texts.NEED_KEPT)


async def _thank(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    outcome = await services(context).needs.thank(me, _need_id(data))
    if _from_list(data):
        await render_list(update, context, "patient", edit=True)
        return
    await edit_or_reply(
        update, texts.need_thanks_sent(outcome.need.owner_name or "", outcome.need.card)
    )


async def _again(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    route_round = data.int_arg(1)
    if route_round is None:
        raise StaleAction()
    outcome = await services(context).needs.send_again(me, _need_id(data), route_round)
    view = outcome.need
    now = services(context).clock.now()
    text = texts.need_sent_again(view.card, outcome.routed, view.patient_timezone, now)
    await edit_or_reply(update, text, _patient_buttons(view))


async def _urgent(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    outcome = await services(context).needs.make_urgent(me, _need_id(data))
    await edit_or_reply(update, *_updated(context, outcome, "urgent"))


async def _note(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    await services(context).needs.await_text(me, Awaiting.NEED_NOTE, _need_id(data))
    await reply(update, texts.NEED_ASK_NOTE)


async def _when(update: Update, context: CareContext, data: callbacks.Callback, me: int) -> None:
    need_id = _need_id(data)
    # A typed time works straight away; the buttons are for the common cases.
    await services(context).needs.await_text(me, Awaiting.NEED_WHEN, need_id)
    await reply(update, texts.NEED_ASK_WHEN, keyboards.need_when(need_id))


async def _when_preset(
    update: Update, context: CareContext, data: callbacks.Callback, me: int
) -> None:
    preset = data.args[1] if len(data.args) > 1 else ""
    outcome = await services(context).needs.set_deadline_preset(me, _need_id(data), preset)
    await edit_or_reply(update, *_updated(context, outcome, "deadline"))


async def _when_type(
    update: Update, context: CareContext, data: callbacks.Callback, me: int
) -> None:
    await services(context).needs.await_text(me, Awaiting.NEED_WHEN, _need_id(data))
    await edit_or_reply(update, texts.NEED_TYPE_WHEN)


async def _media_send(
    update: Update, context: CareContext, data: callbacks.Callback, me: int
) -> None:
    posted = await services(context).needs.post_media(me, _need_id(data))
    await edit_or_reply(update, *_posted(context, posted))


async def _media_drop(
    update: Update, context: CareContext, data: callbacks.Callback, me: int
) -> None:
    await services(context).needs.drop_media(me, _need_id(data))
    await edit_or_reply(update, texts.MEDIA_DROPPED)


PRESSES: dict[NeedVerb, Press] = {
    NeedVerb.CATEGORY: _category,
    NeedVerb.OTHER: _other,
    NeedVerb.CLAIM: _claim,
    NeedVerb.DECLINE: _decline,
    NeedVerb.DONE: _done,
    NeedVerb.RELEASE: _release,
    NeedVerb.CANCEL: _cancel,
    NeedVerb.CANCEL_YES: _cancel,
    NeedVerb.KEEP: _keep,
    NeedVerb.THANK: _thank,
    NeedVerb.AGAIN: _again,
    NeedVerb.URGENT: _urgent,
    NeedVerb.NOTE: _note,
    NeedVerb.WHEN: _when,
    NeedVerb.WHEN_PRESET: _when_preset,
    NeedVerb.WHEN_TYPE: _when_type,
    NeedVerb.MEDIA_SEND: _media_send,
    NeedVerb.MEDIA_DROP: _media_drop,
}


@guarded
async def need_button(update: Update, context: CareContext) -> None:
    """Every button about a need. The data only names things; the service re-checks who
    is pressing and what state the need is in."""
    await run_press(update, context, NeedVerb, PRESSES)


def _need_id(data: callbacks.Callback) -> int:
    need_id = data.int_arg(0)
    if need_id is None:
        raise StaleAction()
    return need_id


def _from_list(data: callbacks.Callback) -> bool:
    return len(data.args) > 1 and data.args[1] == FROM_LIST
