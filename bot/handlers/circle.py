"""The circle: invites, joining, /circle, removing a helper, leaving."""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from bot.buttons import CircleVerb, InviteVerb, SettingsVerb
from bot.callbacks import Callback
from bot.db.models import Access
from bot.domain.errors import NotHelper, NotRegistered, StaleAction
from bot.handlers.common import (
    CareContext,
    Press,
    answer,
    command_args,
    edit_or_reply,
    guarded,
    parsed,
    reply,
    run_press,
    services,
    user_id,
    verb_of,
)
from bot.services.circles import CIRCLE_SETTINGS


async def send_invite(
    update: Update,
    context: CareContext,
    access: str,
    *,
    replace: bool = False,
    edit: bool = False,
    first_time: bool = False,
) -> None:
    svc = services(context)
    standing = await svc.circles.standing(user_id(update))
    invite = await svc.circles.invite(user_id(update), access, replace=replace)
    expires = texts.when_local(invite.expires_at, standing.timezone)
    text = texts.invite(context.bot.username, invite.code, invite.access, expires)
    rows = keyboards.invite(invite.access, texts.invite_link(context.bot.username, invite.code))
    if replace:
        text = f"{texts.INVITE_REPLACED}\n\n{text}"
    if first_time:
        # The end of onboarding. The menu comes in a message of its own first (a message has
        # either a menu or buttons), so the link, with its Share button, is the last word.
        await reply(update, texts.ALL_SET, menu=keyboards.patient_menu())
        await reply(update, text, rows)
    elif edit:
        await edit_or_reply(update, text, rows)
    else:
        await reply(update, text, rows)


@guarded
async def invite_command(update: Update, context: CareContext) -> None:
    """/invite (close family) or /invite errand."""
    kind = command_args(context, update).lower()
    access = Access.ERRAND if kind.startswith("errand") else Access.CLOSE
    await send_invite(update, context, access)


@guarded
async def invite_button(update: Update, context: CareContext) -> None:
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    verb = verb_of(data, InviteVerb)
    access = data.args[0] if data.args else ""
    if access not in (Access.CLOSE, Access.ERRAND):
        raise StaleAction()
    if verb is InviteVerb.ANOTHER:
        # Under "Anna joined your circle", which stays as it is: the link as /invite gives it
        # (Anna's was used up, so a fresh one, unless a newer one is still waiting unused).
        await send_invite(update, context, access)
    else:
        await send_invite(update, context, access, replace=verb is InviteVerb.NEW, edit=True)
    await answer(query)


async def join_with_code(update: Update, context: CareContext, code: str) -> None:
    joined = await services(context).circles.join(user_id(update), code)
    await reply(update, texts.joined(joined.patient_name, joined.access))


@guarded
async def join_command(update: Update, context: CareContext) -> None:
    """/join <code>; without a code, ask for it."""
    code = command_args(context, update)
    if not code:
        await services(context).onboarding.ask_join_code(user_id(update))
        await reply(update, texts.ASK_JOIN_CODE)
        return
    await join_with_code(update, context, code.removeprefix("join_"))


@guarded
async def join_code_typed(update: Update, context: CareContext) -> None:
    """Free text while we wait for an invite code: the code, or the whole link."""
    message = update.effective_message
    assert message is not None and message.text is not None
    code = message.text.strip().rsplit("join_", 1)[-1]
    await join_with_code(update, context, code)


@guarded
async def circle_command(update: Update, context: CareContext) -> None:
    svc = services(context)
    standing = await svc.circles.standing(user_id(update))
    if not (standing.is_patient or standing.is_helper):
        raise NotRegistered()
    weeks = {w.circle_id: w for w in await svc.needs.helped_this_week(user_id(update))}
    if standing.is_patient:
        circle = await svc.circles.my_circle(user_id(update))
        helpers = circle.helpers
        text = texts.circle_for_patient([(h.name, h.access, h.reachable) for h in helpers])
        if helpers and circle.id in weeks:
            text += "\n\n" + texts.helped_this_week(list(weeks[circle.id].helpers))
        await reply(
            update,
            text,
            keyboards.circle_for_patient([(h.user_id, h.name, h.access) for h in helpers]),
        )
    if standing.is_helper:
        text = texts.circle_for_helper([(h.patient_name, h.access) for h in standing.helping])
        for h in standing.helping:
            if h.circle_id in weeks:
                week = weeks[h.circle_id]
                text += "\n" + texts.helped_this_week(list(week.helpers), h.patient_name)
        await reply(
            update,
            text,
            keyboards.leave_choices([(h.circle_id, h.patient_name) for h in standing.helping]),
        )


@guarded
async def leave_command(update: Update, context: CareContext) -> None:
    standing = await services(context).circles.standing(user_id(update))
    if not standing.helping:
        raise NotHelper()
    if len(standing.helping) == 1:
        only = standing.helping[0]
        await reply(
            update, texts.confirm_leave(only.patient_name), keyboards.confirm_leave(only.circle_id)
        )
        return
    choices = [(h.circle_id, h.patient_name) for h in standing.helping]
    await reply(update, texts.CHOOSE_CIRCLE_TO_LEAVE, keyboards.leave_choices(choices))


def _member(data: Callback) -> int:
    """The helper (or circle) a button names; a button without one is stale."""
    target = data.int_arg(0)
    if target is None:
        raise StaleAction()
    return target


async def _keep(update: Update, context: CareContext, data: Callback, me: int) -> None:
    await edit_or_reply(update, texts.KEPT)


async def _remove(update: Update, context: CareContext, data: Callback, me: int) -> None:
    target = _member(data)
    name = await services(context).circles.member_name(me, target)
    await edit_or_reply(update, texts.confirm_remove(name), keyboards.confirm_remove(target))


async def _remove_yes(update: Update, context: CareContext, data: Callback, me: int) -> None:
    name = await services(context).circles.remove_helper(me, _member(data))
    await edit_or_reply(update, texts.removed(name))


async def _access(update: Update, context: CareContext, data: Callback, me: int) -> None:
    """Make a helper close family, or an errand helper (the verb is the access)."""
    access = Access(data.verb)
    name = await services(context).circles.set_access(me, _member(data), access)
    await edit_or_reply(update, texts.access_set(name, access))


async def _leave(update: Update, context: CareContext, data: Callback, me: int) -> None:
    target = _member(data)
    helping = await services(context).circles.require_helper_in(me, target)
    await edit_or_reply(
        update, texts.confirm_leave(helping.patient_name), keyboards.confirm_leave(target)
    )


async def _leave_yes(update: Update, context: CareContext, data: Callback, me: int) -> None:
    patient_name = await services(context).circles.leave(me, _member(data))
    await edit_or_reply(update, texts.left(patient_name))


CIRCLE_PRESSES: dict[CircleVerb, Press] = {
    CircleVerb.KEEP: _keep,
    CircleVerb.REMOVE: _remove,
    CircleVerb.REMOVE_YES: _remove_yes,
    CircleVerb.CLOSE: _access,
    CircleVerb.ERRAND: _access,
    CircleVerb.LEAVE: _leave,
    CircleVerb.LEAVE_YES: _leave_yes,
}


@guarded
async def circle_button(update: Update, context: CareContext) -> None:
    """Remove / leave buttons and their confirmations. Each press re-checks everything."""
    await run_press(update, context, CircleVerb, CIRCLE_PRESSES)


@guarded
async def settings_button(update: Update, context: CareContext) -> None:
    """The patient's circle settings: show, switch one, done."""
    data = parsed(update)
    query = update.callback_query
    assert query is not None and data is not None
    circles = services(context).circles
    verb = verb_of(data, SettingsVerb)
    if verb is SettingsVerb.DONE:
        await circles.settings(user_id(update))  # still the patient?
        await edit_or_reply(update, texts.SETTINGS_SAVED)
        await answer(query)
        return
    if verb is SettingsVerb.TOGGLE:
        if not data.args:
            raise StaleAction()
        current = await circles.toggle_setting(user_id(update), data.args[0])
    else:
        current = await circles.settings(user_id(update))
    values = [(name, getattr(current, name)) for name in CIRCLE_SETTINGS]
    await edit_or_reply(update, texts.SETTINGS_TITLE, keyboards.circle_settings(values))
    await answer(query)
