"""Each person's command menu follows their role in the database, whoever changed it: the
person (becoming a patient, joining, leaving, deleting their data) or someone else (a patient
who removes a helper, or closes the circle). bot.handlers.menus runs this after every update."""

from __future__ import annotations

from typing import Any

from telegram import BotCommandScopeChat
from telegram.error import NetworkError

from bot import texts
from bot.handlers.menus import sync_menu
from tests.people import ANNA, ERRI, PAT, STRANGER
from tests.rig import Rig


class RecordingBot:
    """The two Bot API calls a menu takes, recorded: what each chat's own menu is now."""

    def __init__(self) -> None:
        self.menus: dict[int, list[str]] = {}
        self.calls = 0
        self.fail = False

    async def set_my_commands(self, commands: Any, scope: BotCommandScopeChat) -> bool:
        self._call()
        self.menus[int(scope.chat_id)] = [c.command for c in commands]
        return True

    async def delete_my_commands(self, scope: BotCommandScopeChat) -> bool:
        self._call()
        self.menus.pop(int(scope.chat_id), None)
        return True

    def _call(self) -> None:
        self.calls += 1
        if self.fail:
            raise NetworkError("down")


class Menus:
    """The menu sync of one process, as the handler runs it after each update."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.bot = RecordingBot()
        self.known: dict[int, Any] = {}

    async def after_update_from(self, user_id: int) -> list[str] | None:
        await sync_menu(self.bot, self.rig.circles, self.known, user_id)  # type: ignore[arg-type]
        return self.bot.menus.get(user_id)


def names(is_patient: bool, is_helper: bool) -> list[str]:
    return [name for name, _ in texts.menu_commands(is_patient, is_helper)]


async def test_a_patient_gets_the_patients_menu_and_loses_it_with_their_data(rig: Rig) -> None:
    menus = Menus(rig)
    await rig.circles.touch(PAT)
    assert await menus.after_update_from(PAT.id) is None  # a newcomer: the default menu
    await rig.patient()
    assert await menus.after_update_from(PAT.id) == names(True, False)

    await rig.privacy.delete_everything(PAT.id)
    assert await menus.after_update_from(PAT.id) is None


async def test_a_helper_who_is_removed_gets_the_default_menu_when_they_next_write(
    rig: Rig,
) -> None:
    menus = Menus(rig)
    await rig.patient()
    await rig.join(ANNA)
    assert await menus.after_update_from(ANNA.id) == names(False, True)

    await rig.circles.remove_helper(PAT.id, ANNA.id)  # Pat's doing, in a service
    assert menus.bot.menus[ANNA.id] == names(False, True)  # nothing sent yet
    assert await menus.after_update_from(ANNA.id) is None


async def test_helpers_of_a_closed_circle_and_one_who_leaves_get_the_default_menu(
    rig: Rig,
) -> None:
    menus = Menus(rig)
    await rig.patient()
    await rig.join(ANNA)
    await rig.join(ERRI, access="errand")
    for helper in (ANNA, ERRI):
        assert await menus.after_update_from(helper.id) == names(False, True)

    circle_id = (await rig.circles.standing(PAT.id)).patient_circle_id
    assert circle_id is not None
    await rig.circles.leave(ERRI.id, circle_id)
    await rig.privacy.delete_everything(PAT.id)
    assert await menus.after_update_from(ANNA.id) is None
    assert await menus.after_update_from(ERRI.id) is None


async def test_a_patient_who_also_helps_gets_both_in_one_menu(rig: Rig) -> None:
    menus = Menus(rig)
    await rig.patient()
    await rig.patient(STRANGER)
    await rig.join(PAT, patient=STRANGER)
    menu = await menus.after_update_from(PAT.id)
    assert menu == names(True, True) and {"addmed", "mytasks"} <= set(menu or ())


async def test_a_menu_is_set_once_then_only_when_the_role_changes(rig: Rig) -> None:
    menus = Menus(rig)
    await rig.patient()
    for _ in range(3):
        await menus.after_update_from(PAT.id)
    assert menus.bot.calls == 1

    # After a restart the process does not know what Telegram shows: it sets it once more.
    restarted = Menus(rig)
    restarted.bot = menus.bot
    await restarted.after_update_from(PAT.id)
    assert menus.bot.calls == 2


async def test_a_menu_that_could_not_be_set_is_tried_again_at_the_next_update(rig: Rig) -> None:
    menus = Menus(rig)
    await rig.patient()
    menus.bot.fail = True
    await menus.after_update_from(PAT.id)
    menus.bot.fail = False
    assert await menus.after_update_from(PAT.id) == names(True, False)
    assert menus.bot.calls == 2
