"""A missed dose always reaches someone: close family we can reach, or else the patient (and,
if the patient allows it, errand helpers asked to look in without any medication details).

Services as create_services wires them; the clock starts on Monday 2 March 2026, 09:00 UTC
(10:00 in Berlin, where Pat lives). A dose at 11:00 Berlin is 10:00 UTC; its alert is 10:45.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select, update
from telegram.error import Forbidden

from bot import texts
from bot.app import Services, create_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.models import DoseOccurrence, OutboxMessage, OutboxState
from bot.db.session import Database
from bot.delivery import OutboxSender, SenderConfig
from bot.ratelimit import FloodControl
from bot.services.circles import Person
from bot.services.errors import StaleAction
from tests.fakes.timer import Ticks

PAT = Person(100, "Pat")
ANNA = Person(201, "Anna")  # close family
BEN = Person(202, "Ben")  # close family
ERRI = Person(301, "Erri")  # errand helper
EVE = Person(302, "Eve")  # errand helper
UTC = dt.UTC
MED = "Medicine A | 1 tablet | 11:00"
REMINDER = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ALERT = dt.datetime(2026, 3, 2, 10, 45, tzinfo=UTC)


@pytest.fixture
async def svc(db: Database, database_url: str, clock: FrozenClock) -> AsyncIterator[Services]:
    # `db` is asked for only so the database starts empty (it is shared on PostgreSQL).
    built = create_services(
        Settings(bot_token=SecretStr("1:test"), database_url=database_url), clock
    )
    circles = built.circles
    await circles.touch(PAT)
    await circles.become_patient(PAT.id)
    await circles.set_timezone(PAT.id, "Europe/Berlin")
    for helper, access in ((ANNA, "close"), (BEN, "close"), (ERRI, "errand"), (EVE, "errand")):
        await circles.touch(helper)
        await circles.join(helper.id, (await circles.invite(PAT.id, access, replace=True)).code)
    async with built.db.transaction() as session:
        await session.execute(delete(OutboxMessage))  # the "joined" notices
    yield built
    await built.db.dispose()


async def run_at(svc: Services, when: dt.datetime) -> None:
    """The scheduler wakes at `when`; what it queued is then delivered, as the sender would."""
    assert isinstance(svc.clock, FrozenClock)
    svc.clock.set(when)
    await svc.meds.run_due(when)
    await deliver(svc)


async def deliver(svc: Services) -> None:
    async with svc.db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "pending")
            .values(state="sent", message_id=OutboxMessage.id + 1000)
        )


async def outbox(svc: Services, chat_id: int | None = None) -> list[OutboxMessage]:
    async with svc.db.transaction() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if chat_id is not None:
            query = query.where(OutboxMessage.chat_id == chat_id)
        return list(await session.scalars(query))


async def kinds(svc: Services, chat_id: int) -> list[str]:
    return [m.kind for m in await outbox(svc, chat_id) if m.op == "send"]


async def only_dose(svc: Services) -> DoseOccurrence:
    async with svc.db.transaction() as session:
        [dose] = list(await session.scalars(select(DoseOccurrence)))
        return dose


async def missed_dose(svc: Services) -> int:
    await svc.meds.add_line(PAT.id, MED)
    await run_at(svc, REMINDER)
    await run_at(svc, ALERT)
    return (await only_dose(svc)).id


def labels(message: OutboxMessage) -> list[str]:
    return [b["text"] for row in message.payload.get("buttons", ()) for b in row]


# --- at alert time: nobody in close family can be reached -------------------------------------


async def test_with_no_close_family_the_patient_is_told_at_alert_time(svc: Services) -> None:
    for helper in (ANNA, BEN):
        await svc.circles.remove_helper(PAT.id, helper.id)
    await missed_dose(svc)
    [told] = [m for m in await outbox(svc, PAT.id) if m.kind == "dose.nobody"]
    assert told.priority == 0  # urgent, like the alert it stands in for
    text = told.payload["text"]
    assert "Medicine A" in text and "11:00" in text
    assert "couldn't tell anyone" in text and "/invite" in text
    # Plain, never dosing advice.
    for advice in ("take it now", "double", "take another", "skip it"):
        assert advice not in text.lower()
    # Errand helpers are not asked unless the patient switched that on.
    assert await outbox(svc, ERRI.id) == [] and await outbox(svc, EVE.id) == []


async def test_all_close_family_blocked_the_bot_the_patient_is_told(svc: Services) -> None:
    for helper in (ANNA, BEN):
        await svc.circles.mark_unreachable(helper.id)
    await missed_dose(svc)
    assert "dose.alert" not in await kinds(svc, ANNA.id) + await kinds(svc, BEN.id)
    assert (await kinds(svc, PAT.id)).count("dose.nobody") == 1


async def test_all_close_family_away_the_patient_is_told(svc: Services) -> None:
    await svc.availability.away(ANNA.id, 3)
    await svc.availability.away(BEN.id, None)  # until /back
    await missed_dose(svc)
    assert await outbox(svc, ANNA.id) == [] and await outbox(svc, BEN.id) == []
    assert (await kinds(svc, PAT.id)).count("dose.nobody") == 1


async def test_one_away_one_here_only_the_one_here_hears_and_the_patient_is_not_worried(
    svc: Services,
) -> None:
    await svc.availability.away(ANNA.id, 3)
    await missed_dose(svc)
    assert await outbox(svc, ANNA.id) == []
    assert await kinds(svc, BEN.id) == ["dose.alert"]
    assert "dose.nobody" not in await kinds(svc, PAT.id)


async def test_quiet_hours_do_not_hold_back_the_alert(svc: Services) -> None:
    for helper in (ANNA, BEN):
        await svc.availability.set_quiet(helper.id, "10:00-12:00")  # 11:45 is inside
    await missed_dose(svc)
    for helper in (ANNA, BEN):
        [alert] = await outbox(svc, helper.id)
        assert alert.kind == "dose.alert" and alert.not_before == ALERT  # urgent: at once
    assert "dose.nobody" not in await kinds(svc, PAT.id)


async def test_time_away_that_has_ended_does_not_count(svc: Services) -> None:
    assert isinstance(svc.clock, FrozenClock)
    svc.clock.set(REMINDER - dt.timedelta(days=5))
    await svc.availability.away(ANNA.id, 1)
    await svc.availability.away(BEN.id, 1)
    svc.clock.set(REMINDER - dt.timedelta(hours=2))
    await missed_dose(svc)
    assert await kinds(svc, ANNA.id) == ["dose.alert"] == await kinds(svc, BEN.id)
    assert "dose.nobody" not in await kinds(svc, PAT.id)


async def test_a_dose_missed_while_the_bot_was_down_reaches_the_patient(svc: Services) -> None:
    for helper in (ANNA, BEN):
        await svc.circles.mark_unreachable(helper.id)
    await svc.meds.add_line(PAT.id, MED)
    # Down from 09:00 until 14:00 UTC: the 11:00 dose is past the grace, recorded missed.
    await run_at(svc, dt.datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    assert (await only_dose(svc)).state == "missed"
    [told] = [m for m in await outbox(svc, PAT.id) if m.kind == "dose.nobody"]
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


async def send_all(svc: Services, bot: BlockingBot) -> None:
    """The real sender, wired as build_application wires it, until nothing is left."""
    assert isinstance(svc.clock, FrozenClock)
    ticks = Ticks()
    sender = OutboxSender(
        svc.db,
        bot,  # type: ignore[arg-type]
        FloodControl(timer=ticks),
        svc.clock,
        on_unreachable=svc.circles.mark_unreachable,
        config=SenderConfig(concurrency=1),
    )
    for _ in range(100):
        ticks.now += 1.1
        await sender.dispatch_once()
        await sender.wait_inflight()
        pending = [m for m in await outbox(svc) if m.state in ("pending", "sending")]
        if not pending:
            return
    raise AssertionError("the outbox never drained")


async def alert_then_send(svc: Services, blocked: set[int]) -> BlockingBot:
    await svc.meds.add_line(PAT.id, MED)
    await run_at(svc, REMINDER)
    assert isinstance(svc.clock, FrozenClock)
    svc.clock.set(ALERT)
    await svc.meds.run_due(ALERT)
    bot = BlockingBot(blocked)
    await send_all(svc, bot)
    return bot


async def test_a_403_on_the_only_alerts_tells_the_patient(svc: Services) -> None:
    bot = await alert_then_send(svc, {ANNA.id, BEN.id})
    alerts = [m for m in await outbox(svc) if m.kind == "dose.alert"]
    assert {m.chat_id for m in alerts} == {ANNA.id, BEN.id}
    assert {m.state for m in alerts} == {OutboxState.FAILED}
    told = [text for chat, text in bot.delivered if chat == PAT.id and "couldn't tell" in text]
    assert len(told) == 1, bot.delivered


async def test_a_403_from_one_of_two_leaves_the_patient_in_peace(svc: Services) -> None:
    bot = await alert_then_send(svc, {ANNA.id})
    assert any(chat == BEN.id and "hasn't confirmed" in text for chat, text in bot.delivered)
    assert not [text for chat, text in bot.delivered if chat == PAT.id and "couldn't tell" in text]


async def test_a_403_on_another_message_before_the_alert_left(svc: Services) -> None:
    """Anna blocked the bot; a tip to her fails first, so her queued alert never goes."""
    for helper in (BEN,):
        await svc.circles.remove_helper(PAT.id, helper.id)
    await svc.meds.add_line(PAT.id, MED)
    await run_at(svc, REMINDER)
    assert isinstance(svc.clock, FrozenClock)
    svc.clock.set(ALERT)
    await svc.meds.run_due(ALERT)  # Anna's alert is queued, not sent
    await svc.circles.mark_unreachable(ANNA.id)  # the 403 came from some other message
    assert (await kinds(svc, PAT.id)).count("dose.nobody") == 1


async def test_a_403_after_the_dose_was_answered_worries_nobody(svc: Services) -> None:
    for helper in (BEN,):
        await svc.circles.remove_helper(PAT.id, helper.id)
    await svc.meds.add_line(PAT.id, MED)
    await run_at(svc, REMINDER)
    assert isinstance(svc.clock, FrozenClock)
    svc.clock.set(ALERT)
    await svc.meds.run_due(ALERT)
    dose = await only_dose(svc)
    svc.clock.set(ALERT + dt.timedelta(minutes=1))
    await svc.meds.take(PAT.id, dose.id)
    await svc.circles.mark_unreachable(ANNA.id)
    assert "dose.nobody" not in await kinds(svc, PAT.id)


# --- errand helpers may be asked to look in (off by default) ----------------------------------


async def test_errand_look_ins_are_off_by_default(svc: Services) -> None:
    assert not (await svc.circles.settings(PAT.id)).errand_lookins
    for helper in (ANNA, BEN):
        await svc.circles.remove_helper(PAT.id, helper.id)
    await missed_dose(svc)
    assert await outbox(svc, ERRI.id) == []


async def test_errand_helpers_are_asked_to_look_in_without_medication_details(
    svc: Services,
) -> None:
    assert (await svc.circles.toggle_setting(PAT.id, "errand_lookins")).errand_lookins
    for helper in (ANNA, BEN):
        await svc.circles.mark_unreachable(helper.id)
    occurrence_id = await missed_dose(svc)
    for helper in (ERRI, EVE):
        [ask] = await outbox(svc, helper.id)
        assert ask.kind == "dose.lookin" and ask.priority == 0
        assert "Pat" in ask.payload["text"] and "check on them" in ask.payload["text"]
        assert labels(ask) == ["I'll check on them"]
    [told] = [m for m in await outbox(svc, PAT.id) if m.kind == "dose.nobody"]
    assert "Erri" in told.payload["text"] and "Eve" in told.payload["text"]

    # First tap wins; the other is told; the patient hears who is coming.
    mine = await svc.meds.look_in(ERRI.id, occurrence_id)
    assert mine.by_me and not mine.resolved and mine.checker_name == "Erri"
    again = await svc.meds.look_in(ERRI.id, occurrence_id)  # a double tap
    assert again.by_me
    theirs = await svc.meds.look_in(EVE.id, occurrence_id)
    assert not theirs.by_me and theirs.checker_name == "Erri"
    await deliver(svc)
    [edit] = [m for m in await outbox(svc, EVE.id) if m.op == "edit"]
    assert "Erri" in edit.payload["text"] and "Medicine" not in edit.payload["text"]
    assert (await kinds(svc, PAT.id)).count("dose.checking") == 1
    assert (await only_dose(svc)).checker_id == ERRI.id

    # A helper who was not asked (close family here) cannot claim it this way.
    with pytest.raises(StaleAction):
        await svc.meds.look_in(ANNA.id, occurrence_id)


async def test_errand_helpers_are_not_asked_while_close_family_can_be_reached(
    svc: Services,
) -> None:
    await svc.circles.toggle_setting(PAT.id, "errand_lookins")
    await missed_dose(svc)
    assert await outbox(svc, ERRI.id) == []
    assert "dose.nobody" not in await kinds(svc, PAT.id)


async def test_errand_helpers_are_asked_when_the_403_shows_nobody_heard(svc: Services) -> None:
    await svc.circles.toggle_setting(PAT.id, "errand_lookins")
    bot = await alert_then_send(svc, {ANNA.id, BEN.id})
    asked = [chat for chat, text in bot.delivered if "check on them" in text]
    assert sorted(asked) == [ERRI.id, EVE.id]


async def test_a_close_family_tap_after_errand_helpers_were_asked_tells_them(
    svc: Services,
) -> None:
    """Anna comes back (writes to the bot) and taps her alert: errand helpers stand down."""
    await svc.circles.toggle_setting(PAT.id, "errand_lookins")
    await svc.circles.remove_helper(PAT.id, BEN.id)
    await svc.meds.add_line(PAT.id, MED)
    await run_at(svc, REMINDER)
    assert isinstance(svc.clock, FrozenClock)
    svc.clock.set(ALERT)
    await svc.meds.run_due(ALERT)
    await svc.circles.mark_unreachable(ANNA.id)  # her queued alert will never go
    await deliver(svc)
    occurrence_id = (await only_dose(svc)).id
    await svc.circles.touch(ANNA)  # she writes again
    await svc.meds.check_on(ANNA.id, occurrence_id)
    [edit] = [m for m in await outbox(svc, ERRI.id) if m.op == "edit"]
    assert "Anna" in edit.payload["text"] and "Medicine" not in edit.payload["text"]
    late = await svc.meds.look_in(ERRI.id, occurrence_id)
    assert not late.by_me and late.checker_name == "Anna"


async def test_after_the_dose_is_answered_an_errand_tap_is_thanked(svc: Services) -> None:
    await svc.circles.toggle_setting(PAT.id, "errand_lookins")
    for helper in (ANNA, BEN):
        await svc.circles.remove_helper(PAT.id, helper.id)
    occurrence_id = await missed_dose(svc)
    await svc.meds.take(PAT.id, occurrence_id)
    # Their requests stop asking as soon as the dose is answered, still naming nothing.
    for helper in (ERRI, EVE):
        [edit] = [m for m in await outbox(svc, helper.id) if m.op == "edit"]
        assert "All sorted" in edit.payload["text"] and "Medicine" not in edit.payload["text"]
        assert not labels(edit)
    result = await svc.meds.look_in(ERRI.id, occurrence_id)
    assert result.resolved and not result.by_me


async def test_no_message_to_an_errand_helper_ever_carries_medication(svc: Services) -> None:
    """Every payload an errand helper was sent, through the whole of it, on every path."""
    await svc.circles.toggle_setting(PAT.id, "errand_lookins")
    await svc.circles.toggle_setting(PAT.id, "helpers_mark_given")
    for helper in (ANNA, BEN):
        await svc.circles.mark_unreachable(helper.id)
    med = (await svc.meds.add_line(PAT.id, "Medicine A | 2 tablets | 11:00, 15:00")).med
    await run_at(svc, REMINDER)
    await run_at(svc, REMINDER + dt.timedelta(minutes=15))  # nudge
    await run_at(svc, ALERT)
    first = (await only_dose(svc)).id
    await svc.meds.look_in(ERRI.id, first)
    await svc.meds.look_in(EVE.id, first)
    await deliver(svc)
    await svc.meds.take(PAT.id, first)
    await deliver(svc)
    # The 15:00 dose: missed while the bot was down; Anna writes again afterwards and marks
    # it given.
    await run_at(svc, dt.datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    async with svc.db.transaction() as session:
        second = await session.scalar(select(DoseOccurrence.id).where(DoseOccurrence.id != first))
    assert second is not None
    await svc.circles.touch(ANNA)
    await svc.meds.check_on(ANNA.id, second)
    await deliver(svc)
    await svc.meds.give(ANNA.id, second, confirmed=True)
    await deliver(svc)
    assert (await svc.meds.look_in(EVE.id, second)).resolved
    await svc.meds.set_paused(PAT.id, med.id, True)
    await deliver(svc)

    payloads = [m.payload for h in (ERRI, EVE) for m in await outbox(svc, h.id)]
    assert len(payloads) >= 4, payloads
    for payload in payloads:
        seen = json.dumps(payload, ensure_ascii=False)
        for secret in ("Medicine", "tablet", "11:00", "15:00", "medic", "dose", "Dose"):
            assert secret not in seen, (secret, seen)


async def test_an_errand_helpers_export_never_names_the_medication_they_looked_in_on(
    svc: Services,
) -> None:
    await svc.circles.toggle_setting(PAT.id, "errand_lookins")
    for helper in (ANNA, BEN):
        await svc.circles.mark_unreachable(helper.id)
    occurrence_id = await missed_dose(svc)
    assert (await svc.meds.look_in(ERRI.id, occurrence_id)).by_me
    seen = json.dumps(await svc.privacy.export(ERRI.id), ensure_ascii=False)
    for secret in ("Medicine", "tablet", "checked_on", "T10:00"):
        assert secret not in seen, (secret, seen)


# --- /addmed and /meds say who would be told ---------------------------------------------------


async def test_addmed_and_meds_say_who_would_be_told(svc: Services) -> None:
    now = svc.clock.now()
    added = await svc.meds.add_line(PAT.id, MED)
    assert added.reach is not None and added.reach.close == ("Anna", "Ben")
    text = texts.med_added(added.med, added.patient_name, added.for_patient, now, added.reach)
    assert "Anna and Ben would be told" in text
    [listing] = await svc.meds.overview(PAT.id)
    assert "Anna and Ben would be told" in texts.med_list(listing, now)

    await svc.availability.away(BEN.id, 2)
    [listing] = await svc.meds.overview(PAT.id)
    assert "Anna would be told" in texts.med_list(listing, now)

    await svc.circles.mark_unreachable(ANNA.id)
    [listing] = await svc.meds.overview(PAT.id)
    shown = texts.med_list(listing, now)
    assert "nobody would be told — invite close family with /invite" in shown

    await svc.circles.toggle_setting(PAT.id, "errand_lookins")
    [listing] = await svc.meds.overview(PAT.id)
    shown = texts.med_list(listing, now)
    assert "Erri and Eve would be asked to look in" in shown and "/invite" in shown


async def test_as_needed_only_lists_say_nothing_about_alerts(svc: Services) -> None:
    await svc.meds.add_line(PAT.id, "Medicine B | 1 tablet | as needed")
    [listing] = await svc.meds.overview(PAT.id)
    assert "would be told" not in texts.med_list(listing, svc.clock.now())
