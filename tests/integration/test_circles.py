"""Circle rules against a real database: patients, invites, joining, leaving, removal."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import OutboxMessage
from bot.db.session import Database
from bot.domain.errors import (
    InviteError,
    NotInCircle,
    NotPatient,
    NotRegistered,
    StaleAction,
    TooManyAttempts,
    UnknownTimezone,
)
from bot.domain.timezones import Refusal
from bot.services.circles import CircleService, Person
from tests.people import ANNA, BEN, PAT
from tests.rig import Rig


@pytest.fixture
def circles(rig: Rig) -> CircleService:
    """The circles service as the app wires it (the other areas listen to it)."""
    return rig.circles


async def outbox(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def patient_with_circle(circles: CircleService, who: Person = PAT) -> int:
    await circles.touch(who)
    circle_id = await circles.become_patient(who.id)
    await circles.set_timezone(who.id, "Europe/Berlin")
    return circle_id


async def join(circles: CircleService, helper: Person, patient: Person = PAT) -> None:
    await circles.touch(helper)
    invite = await circles.invite(patient.id, "close")
    await circles.join(helper.id, invite.code)


async def test_patient_gets_one_circle_even_if_they_tap_twice(circles: CircleService) -> None:
    await circles.touch(PAT)
    first = await circles.become_patient(PAT.id)
    second = await circles.become_patient(PAT.id)
    assert first == second
    standing = await circles.standing(PAT.id)
    assert standing.is_patient and standing.awaiting == "timezone"


async def test_timezone_accepts_names_in_any_case_and_cities(circles: CircleService) -> None:
    await patient_with_circle(circles)
    assert (await circles.set_timezone(PAT.id, "america/new_york")).name == "America/New_York"
    assert (await circles.set_timezone(PAT.id, "Kolkata")).name == "Asia/Kolkata"
    with pytest.raises(UnknownTimezone):
        await circles.set_timezone(PAT.id, "Mars/Olympus")
    assert (await circles.standing(PAT.id)).timezone == "Asia/Kolkata"


async def test_offsets_are_stored_the_way_people_mean_them(circles: CircleService) -> None:
    await patient_with_circle(circles)
    stored = (await circles.set_timezone(PAT.id, "GMT+2")).name
    when = dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)
    assert when.astimezone(ZoneInfo(stored)).utcoffset() == dt.timedelta(hours=2)
    with pytest.raises(UnknownTimezone) as refused:
        await circles.set_timezone(PAT.id, "UTC+5:30")
    assert refused.value.reason == Refusal.PART_HOUR
    assert (await circles.standing(PAT.id)).timezone == stored


async def test_a_shared_location_sets_its_zone_and_moves_what_depends_on_it(
    circles: CircleService,
) -> None:
    moved: list[int] = []

    async def listener(session: object, user_id: int) -> None:
        moved.append(user_id)

    circles.on_timezone_changed(listener)
    await patient_with_circle(circles)
    await circles.set_awaiting(PAT.id, "timezone")
    assert (await circles.set_timezone_at(PAT.id, -23.55, -46.63)).name == "America/Sao_Paulo"
    standing = await circles.standing(PAT.id)
    assert standing.timezone == "America/Sao_Paulo" and standing.awaiting is None
    assert moved == [PAT.id, PAT.id]  # Berlin at set-up, then São Paulo


@pytest.mark.parametrize("where", [(91.0, 0.0), (0.0, 181.0), (float("nan"), 0.0)])
async def test_a_location_with_no_zone_changes_nothing(
    circles: CircleService, where: tuple[float, float]
) -> None:
    await patient_with_circle(circles)
    with pytest.raises(UnknownTimezone) as refused:
        await circles.set_timezone_at(PAT.id, *where)
    assert refused.value.reason == "location"
    assert (await circles.standing(PAT.id)).timezone == "Europe/Berlin"


async def test_invite_is_reused_until_replaced(circles: CircleService) -> None:
    await patient_with_circle(circles)
    first = await circles.invite(PAT.id, "close")
    again = await circles.invite(PAT.id, "close")
    assert again.code == first.code
    replaced = await circles.invite(PAT.id, "close", replace=True)
    assert replaced.code != first.code
    await circles.touch(ANNA)
    with pytest.raises(InviteError) as refused:
        await circles.join(ANNA.id, first.code)
    assert refused.value.reason == "replaced"


async def test_invite_codes_carry_at_least_64_random_bits(circles: CircleService) -> None:
    await patient_with_circle(circles)
    codes = {(await circles.invite(PAT.id, "close", replace=True)).code for _ in range(20)}
    assert len(codes) == 20
    # URL-safe base64: 6 bits per character.
    assert all(len(code) * 6 >= 64 for code in codes)


async def test_helper_joins_and_patient_is_told(circles: CircleService, db: Database) -> None:
    circle_id = await patient_with_circle(circles)
    await join(circles, ANNA)
    standing = await circles.standing(ANNA.id)
    assert [h.circle_id for h in standing.helping] == [circle_id]
    assert standing.timezone == "Europe/Berlin"  # borrowed from the patient until set
    [note] = await outbox(db)
    assert note.chat_id == PAT.id and "Anna" in note.payload["text"]


async def test_an_invite_works_once(circles: CircleService) -> None:
    await patient_with_circle(circles)
    invite = await circles.invite(PAT.id, "close")
    await circles.touch(ANNA)
    await circles.touch(BEN)
    await circles.join(ANNA.id, invite.code)
    with pytest.raises(InviteError) as refused:
        await circles.join(BEN.id, invite.code)
    assert refused.value.reason == "used"


async def test_two_people_racing_for_one_code_one_wins(circles: CircleService) -> None:
    await patient_with_circle(circles)
    invite = await circles.invite(PAT.id, "close")
    helpers = [Person(300 + i, f"H{i}") for i in range(5)]
    for helper in helpers:
        await circles.touch(helper)
    results = await asyncio.gather(
        *(circles.join(h.id, invite.code) for h in helpers), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, InviteError) for r in results if isinstance(r, Exception))


async def test_expired_invite_is_refused(circles: CircleService, clock: FrozenClock) -> None:
    await patient_with_circle(circles)
    invite = await circles.invite(PAT.id, "close")
    clock.advance(days=7, seconds=1)
    await circles.touch(ANNA)
    with pytest.raises(InviteError) as refused:
        await circles.join(ANNA.id, invite.code)
    assert refused.value.reason == "expired"
    fresh = await circles.invite(PAT.id, "close")
    assert fresh.code != invite.code


async def test_made_up_code_is_refused(circles: CircleService) -> None:
    await circles.touch(ANNA)
    with pytest.raises(InviteError) as refused:
        await circles.join(ANNA.id, "not-a-real-code")
    assert refused.value.reason == "unknown"


async def test_patient_opening_own_link_is_told(circles: CircleService) -> None:
    await patient_with_circle(circles)
    invite = await circles.invite(PAT.id, "close")
    with pytest.raises(InviteError) as refused:
        await circles.join(PAT.id, invite.code)
    assert refused.value.reason == "own"


async def test_member_reopening_a_link_keeps_the_code_unused(circles: CircleService) -> None:
    await patient_with_circle(circles)
    await join(circles, ANNA)
    spare = await circles.invite(PAT.id, "close")
    with pytest.raises(InviteError) as refused:
        await circles.join(ANNA.id, spare.code)
    assert refused.value.reason == "already_member"
    await circles.touch(BEN)
    await circles.join(BEN.id, spare.code)  # still good for someone new


async def test_removed_helper_loses_access_at_once(circles: CircleService, db: Database) -> None:
    circle_id = await patient_with_circle(circles)
    await join(circles, ANNA)
    assert await circles.remove_helper(PAT.id, ANNA.id) == "Anna"
    assert (await circles.standing(ANNA.id)).helping == ()
    with pytest.raises(NotInCircle):
        await circles.require_helper_in(ANNA.id, circle_id)
    with pytest.raises(StaleAction):  # a second tap on "Yes, remove"
        await circles.remove_helper(PAT.id, ANNA.id)
    notes = await outbox(db)
    assert notes[-1].chat_id == ANNA.id and "no longer part" in notes[-1].payload["text"]


async def test_removed_helper_can_come_back_with_a_new_invite(circles: CircleService) -> None:
    await patient_with_circle(circles)
    await join(circles, ANNA)
    await circles.remove_helper(PAT.id, ANNA.id)
    await join(circles, ANNA)
    assert len((await circles.standing(ANNA.id)).helping) == 1


async def test_helper_leaves_and_patient_is_told(circles: CircleService, db: Database) -> None:
    circle_id = await patient_with_circle(circles)
    await join(circles, ANNA)
    assert await circles.leave(ANNA.id, circle_id) == "Pat"
    with pytest.raises(StaleAction):
        await circles.leave(ANNA.id, circle_id)
    notes = await outbox(db)
    assert notes[-1].chat_id == PAT.id and "left" in notes[-1].payload["text"]


async def test_one_person_helps_in_several_circles_and_is_a_patient_too(
    circles: CircleService,
) -> None:
    other = Person(150, "Olga")
    await patient_with_circle(circles)
    await patient_with_circle(circles, other)
    await join(circles, ANNA, PAT)
    await join(circles, ANNA, other)
    await join(circles, other, PAT)  # Olga is a patient and helps Pat
    anna = await circles.standing(ANNA.id)
    assert sorted(h.patient_name for h in anna.helping) == ["Olga", "Pat"]
    olga = await circles.standing(other.id)
    assert olga.is_patient and [h.patient_name for h in olga.helping] == ["Pat"]


async def test_patient_only_actions_refuse_helpers_and_strangers(circles: CircleService) -> None:
    await patient_with_circle(circles)
    await join(circles, ANNA)
    with pytest.raises(NotPatient):
        await circles.invite(ANNA.id, "close")
    await circles.touch(BEN)
    with pytest.raises(NotRegistered):
        await circles.invite(BEN.id, "close")
    with pytest.raises(StaleAction):  # Ben is in no circle: nothing to remove
        await circles.remove_helper(PAT.id, BEN.id)


async def test_unreachable_helper_is_reported_to_patient_once(
    circles: CircleService, db: Database
) -> None:
    await patient_with_circle(circles)
    await join(circles, ANNA)
    await circles.mark_unreachable(ANNA.id)
    await circles.mark_unreachable(ANNA.id)
    notes = [n for n in await outbox(db) if n.kind == "circle.unreachable"]
    assert len(notes) == 1 and notes[0].chat_id == PAT.id
    [anna] = (await circles.my_circle(PAT.id)).helpers
    assert not anna.reachable


async def test_patient_switches_settings_and_only_the_patient_can(circles: CircleService) -> None:
    await patient_with_circle(circles)
    assert not (await circles.settings(PAT.id)).one_at_a_time
    assert (await circles.toggle_setting(PAT.id, "one_at_a_time")).one_at_a_time
    assert not (await circles.toggle_setting(PAT.id, "lookin_requests")).lookin_requests
    with pytest.raises(StaleAction):
        await circles.toggle_setting(PAT.id, "patient_id")  # not a setting: forged data
    await join(circles, ANNA)
    with pytest.raises(NotPatient):
        await circles.toggle_setting(ANNA.id, "one_at_a_time")


async def test_patient_makes_a_helper_an_errand_helper(
    circles: CircleService, db: Database
) -> None:
    circle_id = await patient_with_circle(circles)
    await join(circles, ANNA)
    assert await circles.set_access(PAT.id, ANNA.id, "errand") == "Anna"
    await circles.set_access(PAT.id, ANNA.id, "errand")  # a double tap changes nothing more
    [anna] = (await circles.circle(circle_id)).helpers
    assert anna.access == "errand"
    notes = [n for n in await outbox(db) if n.kind == "circle.access"]
    assert len(notes) == 1 and notes[0].chat_id == ANNA.id
    assert "medication" in notes[0].payload["text"]
    with pytest.raises(StaleAction):
        await circles.set_access(PAT.id, ANNA.id, "admin")


async def test_errand_invite_makes_an_errand_helper(circles: CircleService) -> None:
    await patient_with_circle(circles)
    await circles.touch(BEN)
    invite = await circles.invite(PAT.id, "errand")
    joined = await circles.join(BEN.id, invite.code)
    assert joined.access == "errand"


async def test_guessing_invite_codes_is_slowed_down(
    circles: CircleService, clock: FrozenClock
) -> None:
    await patient_with_circle(circles)
    real = await circles.invite(PAT.id, "close")
    await circles.touch(BEN)
    for attempt in range(5):
        with pytest.raises(InviteError):
            await circles.join(BEN.id, f"guess-{attempt}")
    with pytest.raises(TooManyAttempts) as throttled:
        await circles.join(BEN.id, real.code)  # even the right code waits now
    assert 1 <= throttled.value.minutes <= 15
    clock.advance(minutes=15)
    await circles.join(BEN.id, real.code)


async def test_a_typo_or_two_does_not_lock_anyone_out(
    circles: CircleService, clock: FrozenClock
) -> None:
    await patient_with_circle(circles)
    real = await circles.invite(PAT.id, "close")
    await circles.touch(BEN)
    for attempt in range(4):
        with pytest.raises(InviteError):
            await circles.join(BEN.id, f"typo-{attempt}")
        clock.advance(minutes=5)  # spread out: each window starts afresh
    await circles.join(BEN.id, real.code)
