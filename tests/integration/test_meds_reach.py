"""A missed dose always reaches someone: close family we can reach, or else the patient (and,
if the patient allows it, errand helpers asked to look in without any medication details).

Services as create_services wires them; the clock starts on Monday 2 March 2026, 09:00 UTC
(10:00 in Berlin, where Pat lives). A dose at 11:00 Berlin is 10:00 UTC; its alert is 10:45.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from telegram.error import Forbidden

from bot import texts
from bot.db.models import DoseOccurrence, OutboxMessage, OutboxState
from bot.domain.errors import StaleAction
from tests.people import ANNA, BEN, ERRI, EVE, PAT
from tests.rig import Rig

UTC = dt.UTC
MED = "Medicine A | 1 tablet | 11:00"
REMINDER = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ALERT = dt.datetime(2026, 3, 2, 10, 45, tzinfo=UTC)


@pytest.fixture(autouse=True)
async def family_and_eve(family: Rig) -> None:
    """Pat's family, and Eve: a second errand helper."""
    await family.join(EVE, access="errand")
    await family.clear_outbox()


async def kinds(rig: Rig, chat_id: int) -> list[str]:
    return [m.kind for m in await rig.outbox(chat_id, op="send")]


async def only_dose(rig: Rig) -> DoseOccurrence:
    [dose] = await rig.doses()
    return dose


async def missed_dose(rig: Rig) -> int:
    await rig.meds.add_line(PAT.id, MED)
    await rig.run_at(REMINDER)
    await rig.run_at(ALERT)
    return (await only_dose(rig)).id


def labels(message: OutboxMessage) -> list[str]:
    return [b["text"] for row in message.payload.get("buttons", ()) for b in row]


# --- at alert time: nobody in close family can be reached -------------------------------------


async def test_with_no_close_family_the_patient_is_told_at_alert_time(rig: Rig) -> None:
    for helper in (ANNA, BEN):
        await rig.circles.remove_helper(PAT.id, helper.id)
    await missed_dose(rig)
    [told] = [m for m in await rig.outbox(PAT.id) if m.kind == "dose.nobody"]
    assert told.priority == 0  # urgent, like the alert it stands in for
    text = told.payload["text"]
    assert "Medicine A" in text and "11:00" in text
    assert "couldn't tell anyone" in text and "/invite" in text
    # Plain, never dosing advice.
    for advice in ("take it now", "double", "take another", "skip it"):
        assert advice not in text.lower()
    # Errand helpers are not asked unless the patient switched that on.
    assert await rig.outbox(ERRI.id) == [] and await rig.outbox(EVE.id) == []


async def test_all_close_family_blocked_the_bot_the_patient_is_told(rig: Rig) -> None:
    for helper in (ANNA, BEN):
        await rig.circles.mark_unreachable(helper.id)
    await missed_dose(rig)
    assert "dose.alert" not in await kinds(rig, ANNA.id) + await kinds(rig, BEN.id)
    assert (await kinds(rig, PAT.id)).count("dose.nobody") == 1


async def test_all_close_family_away_the_patient_is_told(rig: Rig) -> None:
    await rig.availability.away(ANNA.id, 3)
    await rig.availability.away(BEN.id, None)  # until /back
    await missed_dose(rig)
    assert await rig.outbox(ANNA.id) == [] and await rig.outbox(BEN.id) == []
    assert (await kinds(rig, PAT.id)).count("dose.nobody") == 1


async def test_one_away_one_here_only_the_one_here_hears_and_the_patient_is_not_worried(
    rig: Rig,
) -> None:
    await rig.availability.away(ANNA.id, 3)
    await missed_dose(rig)
    assert await rig.outbox(ANNA.id) == []
    assert await kinds(rig, BEN.id) == ["dose.alert"]
    assert "dose.nobody" not in await kinds(rig, PAT.id)


async def test_quiet_hours_do_not_hold_back_the_alert(rig: Rig) -> None:
    for helper in (ANNA, BEN):
        await rig.availability.set_quiet(helper.id, "10:00-12:00")  # 11:45 is inside
    await missed_dose(rig)
    for helper in (ANNA, BEN):
        [alert] = await rig.outbox(helper.id)
        assert alert.kind == "dose.alert" and alert.not_before == ALERT  # urgent: at once
    assert "dose.nobody" not in await kinds(rig, PAT.id)


async def test_time_away_that_has_ended_does_not_count(rig: Rig) -> None:
    rig.clock.set(REMINDER - dt.timedelta(days=5))
    await rig.availability.away(ANNA.id, 1)
    await rig.availability.away(BEN.id, 1)
    rig.clock.set(REMINDER - dt.timedelta(hours=2))
    await missed_dose(rig)
    assert await kinds(rig, ANNA.id) == ["dose.alert"] == await kinds(rig, BEN.id)
    assert "dose.nobody" not in await kinds(rig, PAT.id)


async def test_a_dose_missed_while_the_bot_was_down_reaches_the_patient(rig: Rig) -> None:
    for helper in (ANNA, BEN):
        await rig.circles.mark_unreachable(helper.id)
    await rig.meds.add_line(PAT.id, MED)
    # Down from 09:00 until 14:00 UTC: the 11:00 dose is past the grace, recorded missed.
    await rig.run_at(dt.datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    assert (await only_dose(rig)).state == "missed"
    [told] = [m for m in await rig.outbox(PAT.id) if m.kind == "dose.nobody"]
    assert "11:00" in told.payload["text"]


# --- after the alert was queued: a 403 when sending it ----------------------------------------


@dataclass
class BlockingBot:
    """Telegram as the sender sees it: chats in `blocked` answer 403."""

    blocked: set[int]
    delivered: list[tuple[int, str]] = field(default_factory=list)
    next_id: int = 100

    async def send_message(self, **params: Any) -> Any:
        return self._deliver(params)

    async def edit_message_text(self, **params: Any) -> Any:
        return self._deliver(params)

    def _deliver(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            raise Forbidden("Forbidden: bot was blocked by the user")
        self.delivered.append((chat_id, str(params.get("text", ""))))
        self.next_id += 1
        return type("Sent", (), {"message_id": self.next_id})()


async def alert_then_send(rig: Rig, blocked: set[int]) -> BlockingBot:
    await rig.meds.add_line(PAT.id, MED)
    await rig.run_at(REMINDER)
    rig.clock.set(ALERT)
    await rig.meds.run_due(ALERT)
    bot = BlockingBot(blocked)
    await rig.send_all(bot)
    return bot


async def test_a_403_on_the_only_alerts_tells_the_patient(rig: Rig) -> None:
    bot = await alert_then_send(rig, {ANNA.id, BEN.id})
    alerts = [m for m in await rig.outbox() if m.kind == "dose.alert"]
    assert {m.chat_id for m in alerts} == {ANNA.id, BEN.id}
    assert {m.state for m in alerts} == {OutboxState.FAILED}
    told = [text for chat, text in bot.delivered if chat == PAT.id and "couldn't tell" in text]
    assert len(told) == 1, bot.delivered


async def test_a_403_from_one_of_two_leaves_the_patient_in_peace(rig: Rig) -> None:
    bot = await alert_then_send(rig, {ANNA.id})
    assert any(chat == BEN.id and "hasn't confirmed" in text for chat, text in bot.delivered)
    assert not [text for chat, text in bot.delivered if chat == PAT.id and "couldn't tell" in text]


async def test_a_403_on_another_message_before_the_alert_left(rig: Rig) -> None:
    """Anna blocked the bot; a tip to her fails first, so her queued alert never goes."""
    for helper in (BEN,):
        await rig.circles.remove_helper(PAT.id, helper.id)
    await rig.meds.add_line(PAT.id, MED)
    await rig.run_at(REMINDER)
    rig.clock.set(ALERT)
    await rig.meds.run_due(ALERT)  # Anna's alert is queued, not sent
    await rig.circles.mark_unreachable(ANNA.id)  # the 403 came from some other message
    assert (await kinds(rig, PAT.id)).count("dose.nobody") == 1


async def test_a_403_after_the_dose_was_answered_worries_nobody(rig: Rig) -> None:
    for helper in (BEN,):
        await rig.circles.remove_helper(PAT.id, helper.id)
    await rig.meds.add_line(PAT.id, MED)
    await rig.run_at(REMINDER)
    rig.clock.set(ALERT)
    await rig.meds.run_due(ALERT)
    dose = await only_dose(rig)
    rig.clock.set(ALERT + dt.timedelta(minutes=1))
    await rig.meds.take(PAT.id, dose.id)
    await rig.circles.mark_unreachable(ANNA.id)
    assert "dose.nobody" not in await kinds(rig, PAT.id)


# --- errand helpers may be asked to look in (off by default) ----------------------------------


async def test_errand_look_ins_are_off_by_default(rig: Rig) -> None:
    assert not (await rig.circles.settings(PAT.id)).errand_lookins
    for helper in (ANNA, BEN):
        await rig.circles.remove_helper(PAT.id, helper.id)
    await missed_dose(rig)
    assert await rig.outbox(ERRI.id) == []


async def test_errand_helpers_are_asked_to_look_in_without_medication_details(
    rig: Rig,
) -> None:
    assert (await rig.circles.toggle_setting(PAT.id, "errand_lookins")).errand_lookins
    for helper in (ANNA, BEN):
        await rig.circles.mark_unreachable(helper.id)
    occurrence_id = await missed_dose(rig)
    for helper in (ERRI, EVE):
        [ask] = await rig.outbox(helper.id)
        assert ask.kind == "dose.lookin" and ask.priority == 0
        assert "Pat" in ask.payload["text"] and "check on them" in ask.payload["text"]
        assert labels(ask) == ["I'll check on them"]
    [told] = [m for m in await rig.outbox(PAT.id) if m.kind == "dose.nobody"]
    assert "Erri" in told.payload["text"] and "Eve" in told.payload["text"]

    # First tap wins; the other is told; the patient hears who is coming.
    mine = await rig.meds.look_in(ERRI.id, occurrence_id)
    assert mine.by_me and not mine.resolved and mine.checker_name == "Erri"
    again = await rig.meds.look_in(ERRI.id, occurrence_id)  # a double tap
    assert again.by_me
    theirs = await rig.meds.look_in(EVE.id, occurrence_id)
    assert not theirs.by_me and theirs.checker_name == "Erri"
    await rig.deliver()
    [edit] = [m for m in await rig.outbox(EVE.id) if m.op == "edit"]
    assert "Erri" in edit.payload["text"] and "Medicine" not in edit.payload["text"]
    assert (await kinds(rig, PAT.id)).count("dose.checking") == 1
    assert (await only_dose(rig)).checker_id == ERRI.id

    # A helper who was not asked (close family here) cannot claim it this way.
    with pytest.raises(StaleAction):
        await rig.meds.look_in(ANNA.id, occurrence_id)


async def test_errand_helpers_are_not_asked_while_close_family_can_be_reached(
    rig: Rig,
) -> None:
    await rig.circles.toggle_setting(PAT.id, "errand_lookins")
    await missed_dose(rig)
    assert await rig.outbox(ERRI.id) == []
    assert "dose.nobody" not in await kinds(rig, PAT.id)


async def test_errand_helpers_are_asked_when_the_403_shows_nobody_heard(rig: Rig) -> None:
    await rig.circles.toggle_setting(PAT.id, "errand_lookins")
    bot = await alert_then_send(rig, {ANNA.id, BEN.id})
    asked = [chat for chat, text in bot.delivered if "check on them" in text]
    assert sorted(asked) == [ERRI.id, EVE.id]


async def test_a_close_family_tap_after_errand_helpers_were_asked_tells_them(
    rig: Rig,
) -> None:
    """Anna comes back (writes to the bot) and taps her alert: errand helpers stand down."""
    await rig.circles.toggle_setting(PAT.id, "errand_lookins")
    await rig.circles.remove_helper(PAT.id, BEN.id)
    await rig.meds.add_line(PAT.id, MED)
    await rig.run_at(REMINDER)
    rig.clock.set(ALERT)
    await rig.meds.run_due(ALERT)
    await rig.circles.mark_unreachable(ANNA.id)  # her queued alert will never go
    await rig.deliver()
    occurrence_id = (await only_dose(rig)).id
    await rig.circles.touch(ANNA)  # she writes again
    await rig.meds.check_on(ANNA.id, occurrence_id)
    [edit] = [m for m in await rig.outbox(ERRI.id) if m.op == "edit"]
    assert "Anna" in edit.payload["text"] and "Medicine" not in edit.payload["text"]
    late = await rig.meds.look_in(ERRI.id, occurrence_id)
    assert not late.by_me and late.checker_name == "Anna"


async def test_after_the_dose_is_answered_an_errand_tap_is_thanked(rig: Rig) -> None:
    await rig.circles.toggle_setting(PAT.id, "errand_lookins")
    for helper in (ANNA, BEN):
        await rig.circles.remove_helper(PAT.id, helper.id)
    occurrence_id = await missed_dose(rig)
    await rig.meds.take(PAT.id, occurrence_id)
    # Their requests stop asking as soon as the dose is answered, still naming nothing.
    for helper in (ERRI, EVE):
        [edit] = [m for m in await rig.outbox(helper.id) if m.op == "edit"]
        assert "All sorted" in edit.payload["text"] and "Medicine" not in edit.payload["text"]
        assert not labels(edit)
    result = await rig.meds.look_in(ERRI.id, occurrence_id)
    assert result.resolved and not result.by_me


async def test_no_message_to_an_errand_helper_ever_carries_medication(rig: Rig) -> None:
    """Every payload an errand helper was sent, through the whole of it, on every path."""
    await rig.circles.toggle_setting(PAT.id, "errand_lookins")
    await rig.circles.toggle_setting(PAT.id, "helpers_mark_given")
    for helper in (ANNA, BEN):
        await rig.circles.mark_unreachable(helper.id)
    med = (await rig.meds.add_line(PAT.id, "Medicine A | 2 tablets | 11:00, 15:00")).med
    await rig.run_at(REMINDER)
    await rig.run_at(REMINDER + dt.timedelta(minutes=15))  # nudge
    await rig.run_at(ALERT)
    first = (await only_dose(rig)).id
    await rig.meds.look_in(ERRI.id, first)
    await rig.meds.look_in(EVE.id, first)
    await rig.deliver()
    await rig.meds.take(PAT.id, first)
    await rig.deliver()
    # The 15:00 dose: missed while the bot was down; Anna writes again afterwards and marks
    # it given.
    await rig.run_at(dt.datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    async with rig.db.transaction() as session:
        second = await session.scalar(select(DoseOccurrence.id).where(DoseOccurrence.id != first))
    assert second is not None
    await rig.circles.touch(ANNA)
    await rig.meds.check_on(ANNA.id, second)
    await rig.deliver()
    await rig.meds.give(ANNA.id, second, confirmed=True)
    await rig.deliver()
    assert (await rig.meds.look_in(EVE.id, second)).resolved
    await rig.meds.set_paused(PAT.id, med.id, True)
    await rig.deliver()

    payloads = [m.payload for h in (ERRI, EVE) for m in await rig.outbox(h.id)]
    assert len(payloads) >= 4, payloads
    for payload in payloads:
        seen = json.dumps(payload, ensure_ascii=False)
        for secret in ("Medicine", "tablet", "11:00", "15:00", "medic", "dose", "Dose"):
            assert secret not in seen, (secret, seen)


async def test_an_errand_helpers_export_never_names_the_medication_they_looked_in_on(
    rig: Rig,
) -> None:
    await rig.circles.toggle_setting(PAT.id, "errand_lookins")
    for helper in (ANNA, BEN):
        await rig.circles.mark_unreachable(helper.id)
    occurrence_id = await missed_dose(rig)
    assert (await rig.meds.look_in(ERRI.id, occurrence_id)).by_me
    seen = json.dumps(await rig.privacy.export(ERRI.id), ensure_ascii=False)
    for secret in ("Medicine", "tablet", "checked_on", "T10:00"):
        assert secret not in seen, (secret, seen)


# --- /addmed and /meds say who would be told ---------------------------------------------------


async def test_addmed_and_meds_say_who_would_be_told(rig: Rig) -> None:
    now = rig.clock.now()
    added = await rig.meds.add_line(PAT.id, MED)
    assert added.reach is not None and added.reach.close == ("Anna", "Ben")
    text = texts.med_added(added.med, added.patient_name, added.for_patient, now, added.reach)
    assert "Anna and Ben would be told" in text
    [listing] = await rig.meds.overview(PAT.id)
    assert "Anna and Ben would be told" in texts.med_list(listing, now)

    await rig.availability.away(BEN.id, 2)
    [listing] = await rig.meds.overview(PAT.id)
    assert "Anna would be told" in texts.med_list(listing, now)

    await rig.circles.mark_unreachable(ANNA.id)
    [listing] = await rig.meds.overview(PAT.id)
    shown = texts.med_list(listing, now)
    assert "nobody would be told — invite close family with /invite" in shown

    await rig.circles.toggle_setting(PAT.id, "errand_lookins")
    [listing] = await rig.meds.overview(PAT.id)
    shown = texts.med_list(listing, now)
    assert "Erri and Eve would be asked to look in" in shown and "/invite" in shown


async def test_as_needed_only_lists_say_nothing_about_alerts(rig: Rig) -> None:
    await rig.meds.add_line(PAT.id, "Medicine B | 1 tablet | as needed")
    [listing] = await rig.meds.overview(PAT.id)
    assert "would be told" not in texts.med_list(listing, rig.clock.now())
