"""The needs' clock with an injected time: reminders, the honest note, deadlines, quiet hours,
the one-at-a-time ladder and time away — each rule on its own, against a real database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from bot.app import need_timings
from bot.clock import FrozenClock
from bot.db.models import Need, OutboxMessage, OutboxState
from bot.db.session import Database
from bot.delivery import OutboxSender, SenderConfig
from bot.domain.needs import NeedState
from bot.ratelimit import FloodControl
from tests.fakes.timer import Ticks
from tests.integration.test_delivery import ScriptedBot
from tests.integration.test_needs import circle_of
from tests.people import ANNA, BEN, CARA, DAN, PAT
from tests.rig import Rig

BERLIN_NIGHT = dt.datetime(2026, 3, 2, 22, 0, tzinfo=dt.UTC)  # 23:00 in Berlin


def chats(rows: list[OutboxMessage]) -> list[int]:
    return sorted(r.chat_id for r in rows)


async def test_unclaimed_need_reminds_helpers_once_after_the_window(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN, CARA)
    need_id = (await rig.needs.post(PAT.id, "water")).need.id
    await rig.needs.decline(CARA.id, need_id)  # who said no is not nagged
    assert await rig.later(minutes=19) == 0
    assert await rig.outbox("need.remind") == []
    assert await rig.later(minutes=1) == 1
    reminders = await rig.outbox("need.remind")
    assert chats(reminders) == [ANNA.id, BEN.id]
    assert all("Still needed" in r.payload["text"] for r in reminders)
    assert all(r.payload["buttons"][0][0]["data"] == f"1:need:claim:{need_id}" for r in reminders)
    await rig.later(minutes=5)
    assert len(await rig.outbox("need.remind")) == 2  # once


async def test_still_unclaimed_after_a_second_window_the_patient_is_told_honestly(
    rig: Rig,
) -> None:
    await circle_of(rig, ANNA, BEN)
    need_id = (await rig.needs.post(PAT.id, "a meal")).need.id
    await rig.later(minutes=20)
    assert await rig.outbox("need.honest") == []
    await rig.later(minutes=20)
    [note] = await rig.outbox("need.honest")
    assert note.chat_id == PAT.id and "No one has taken" in note.payload["text"]
    assert "Anna" in note.payload["text"] and "Ben" in note.payload["text"]
    assert [b["data"] for b in note.payload["buttons"][0]] == [
        f"1:need:again:{need_id}:1",
        f"1:need:cx:{need_id}",
    ]
    await rig.later(hours=5)
    assert len(await rig.outbox("need.honest")) == 1
    need = await rig.need(need_id)
    assert need.state == NeedState.OPEN and need.next_step_at is None  # nothing more to do

    # "Send again" starts a fresh round to everyone, once however often it is pressed.
    again = await rig.needs.send_again(PAT.id, need_id, 1)
    assert (await rig.needs.send_again(PAT.id, need_id, 1)).repeat
    assert again.routed is not None and again.routed.asked == ("Anna", "Ben")
    assert len([o for o in await rig.outbox("need.offer") if ":r2:" in o.key]) == 2


async def test_urgent_needs_are_nudged_sooner(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    await rig.needs.post(PAT.id, "help to the bathroom", urgent=True)
    await rig.later(minutes=5)
    assert len(await rig.outbox("need.remind")) == 1
    await rig.later(minutes=5)
    assert len(await rig.outbox("need.honest")) == 1


async def test_a_need_whose_deadline_passes_unclaimed_expires_and_the_patient_is_told(
    rig: Rig,
) -> None:
    await circle_of(rig, ANNA, BEN)
    deadline = rig.clock.now() + dt.timedelta(minutes=15)
    need_id = (await rig.needs.post(PAT.id, "pharmacy", deadline=deadline)).need.id
    await rig.deliver()
    assert await rig.later(minutes=14) == 0
    assert await rig.later(minutes=1) == 1
    need = await rig.need(need_id)
    assert need.state == NeedState.EXPIRED and need.expired_at == deadline
    assert need.next_step_at is None
    [told] = await rig.outbox("need.expired")
    assert told.chat_id == PAT.id and "by 10:15" in told.payload["text"]  # Berlin time
    assert told.payload["buttons"][0][0]["data"] == f"1:need:again:{need_id}:1"
    closed = await rig.outbox("need.closed")
    assert chats(closed) == [ANNA.id, BEN.id]
    assert all("time for it has passed" in c.payload["text"] for c in closed)
    # "Post it again" makes a fresh need with the same words, once.
    again = await rig.needs.send_again(PAT.id, need_id, 1)
    assert again.need.id != need_id and again.need.card.text == "pharmacy"
    assert (await rig.needs.send_again(PAT.id, need_id, 1)).need.id == again.need.id


async def test_a_claimed_need_does_not_expire(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    deadline = rig.clock.now() + dt.timedelta(minutes=15)
    need_id = (await rig.needs.post(PAT.id, "pharmacy", deadline=deadline)).need.id
    await rig.needs.claim(ANNA.id, need_id)
    await rig.later(hours=1)
    assert (await rig.need(need_id)).state == NeedState.CLAIMED


async def test_quiet_hours_hold_a_need_until_they_end_then_it_is_sent(
    db: Database, clock: FrozenClock, rig: Rig
) -> None:
    clock.set(BERLIN_NIGHT)
    await circle_of(rig, ANNA, BEN)
    await rig.availability.set_quiet(BEN.id, "22:00-07:00")
    posted = await rig.needs.post(PAT.id, "a glass of water")
    assert posted.routed is not None and posted.routed.asked == ("Anna",)
    morning = dt.datetime(2026, 3, 3, 6, 0, tzinfo=dt.UTC)  # 07:00 in Berlin
    assert posted.routed.held == (("Ben", morning),)
    offers = {o.chat_id: o for o in await rig.outbox("need.offer")}
    assert offers[BEN.id].not_before == morning and offers[ANNA.id].not_before == clock.now()

    bot = ScriptedBot()

    async def unreachable(_: int) -> None:
        return None

    sender = OutboxSender(
        db,
        bot,  # type: ignore[arg-type]
        FloodControl(timer=Ticks()),
        clock,
        on_unreachable=unreachable,
        config=SenderConfig(concurrency=4),
    )
    helpers = lambda: [p["chat_id"] for _, p in bot.calls if p["chat_id"] != PAT.id]  # noqa: E731
    await sender.dispatch_once()
    await sender.wait_inflight()
    assert helpers() == [ANNA.id]
    clock.set(morning - dt.timedelta(seconds=1))
    await sender.dispatch_once()
    await sender.wait_inflight()
    assert helpers() == [ANNA.id]  # still held
    clock.set(morning)
    await sender.dispatch_once()
    await sender.wait_inflight()
    assert helpers() == [ANNA.id, BEN.id]


async def test_quiet_hours_let_an_urgent_need_straight_through(rig: Rig) -> None:
    rig.clock.set(BERLIN_NIGHT)
    await circle_of(rig, ANNA, BEN)
    await rig.availability.set_quiet(BEN.id, "22:00-07:00")
    posted = await rig.needs.post(PAT.id, "help, I fell", urgent=True)
    assert posted.routed is not None and posted.routed.asked == ("Anna", "Ben")
    assert all(o.not_before == rig.clock.now() for o in await rig.outbox("need.offer"))


async def test_making_a_held_need_urgent_sends_it_now(rig: Rig) -> None:
    rig.clock.set(BERLIN_NIGHT)
    await circle_of(rig, ANNA, BEN)
    await rig.availability.set_quiet(BEN.id, "22:00-07:00")
    need_id = (await rig.needs.post(PAT.id, "water")).need.id
    await rig.needs.make_urgent(PAT.id, need_id)
    offers = await rig.outbox("need.offer")
    held = [o for o in offers if o.chat_id == BEN.id]
    assert [o.state for o in held] == [OutboxState.CANCELLED, OutboxState.PENDING]
    assert held[1].not_before == rig.clock.now() and held[1].priority == 0
    # Ben takes it from the new message; the old one was never sent.
    await rig.deliver()
    await rig.needs.claim(BEN.id, need_id)
    assert chats(await rig.outbox("need.closed")) == [ANNA.id]


async def test_quiet_helpers_are_not_woken_by_a_reminder(rig: Rig) -> None:
    rig.clock.set(dt.datetime(2026, 3, 2, 20, 45, tzinfo=dt.UTC))  # 21:45 in Berlin
    await circle_of(rig, ANNA, BEN)
    await rig.availability.set_quiet(BEN.id, "22:00-07:00")
    await rig.needs.post(PAT.id, "water")  # both asked: 21:45 is before Ben's quiet hours
    await rig.later(minutes=20)  # 22:05: Ben is quiet now
    assert chats(await rig.outbox("need.remind")) == [ANNA.id]


async def test_one_at_a_time_asks_the_least_busy_first_then_widens(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN, CARA, DAN)
    # Anna did two things this week, Ben one; Cara and Dan none (Cara joined first).
    for helper, times in ((ANNA, 2), (BEN, 1)):
        for _ in range(times):
            need_id = (await rig.needs.post(PAT.id, "tea")).need.id
            await rig.needs.claim(helper.id, need_id)
            await rig.needs.complete(helper.id, need_id)
    await rig.circles.toggle_setting(PAT.id, "one_at_a_time")
    start = len(await rig.outbox("need.offer"))

    posted = await rig.needs.post(PAT.id, "groceries")
    assert posted.routed is not None
    assert posted.routed.asked == ("Cara",) and posted.routed.later == 3
    asked = lambda rows: [r.chat_id for r in rows[start:]]  # noqa: E731
    assert asked(await rig.outbox("need.offer")) == [CARA.id]
    await rig.later(minutes=9)
    assert asked(await rig.outbox("need.offer")) == [CARA.id]
    await rig.later(minutes=1)
    assert asked(await rig.outbox("need.offer")) == [CARA.id, DAN.id]
    await rig.later(minutes=10)
    everyone = asked(await rig.outbox("need.offer"))
    assert everyone[:2] == [CARA.id, DAN.id] and sorted(everyone[2:]) == [ANNA.id, BEN.id]
    assert (await rig.need(posted.need.id)).ask_level == 3


async def test_one_at_a_time_moves_on_at_once_when_someone_cant(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    await rig.circles.toggle_setting(PAT.id, "one_at_a_time")
    need_id = (await rig.needs.post(PAT.id, "a ride")).need.id
    assert [o.chat_id for o in await rig.outbox("need.offer")] == [ANNA.id]
    declined = await rig.needs.decline(ANNA.id, need_id)
    assert declined.routed is not None and declined.routed.asked == ("Ben",)
    assert await rig.outbox("need.honest") == []
    await rig.needs.decline(BEN.id, need_id)
    [note] = await rig.outbox("need.honest")  # nobody left: said now, not in 40 minutes
    assert "Nobody can do" in note.payload["text"]


async def test_everyone_saying_cant_now_tells_the_patient_at_once(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    need_id = (await rig.needs.post(PAT.id, "a ride")).need.id
    await rig.needs.decline(ANNA.id, need_id)
    assert await rig.outbox("need.honest") == []
    await rig.needs.decline(BEN.id, need_id)
    assert len(await rig.outbox("need.honest")) == 1
    await rig.later(hours=1)
    assert len(await rig.outbox("need.honest")) == 1


async def test_away_helpers_are_skipped_until_they_are_back(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    await rig.availability.away(BEN.id, 3)
    posted = await rig.needs.post(PAT.id, "water")
    assert posted.routed is not None
    assert posted.routed.asked == ("Anna",) and posted.routed.away == ("Ben",)
    assert [o.chat_id for o in await rig.outbox("need.offer")] == [ANNA.id]
    await rig.later(minutes=40)
    assert [r.chat_id for r in await rig.outbox("need.remind")] == [ANNA.id]
    assert await rig.availability.back(BEN.id) == 1
    second = await rig.needs.post(PAT.id, "tea")
    assert second.routed is not None and second.routed.asked == ("Anna", "Ben")


async def test_away_runs_out_by_itself(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    await rig.availability.away(BEN.id, 1)
    rig.clock.advance(days=1, seconds=1)
    posted = await rig.needs.post(PAT.id, "water")
    assert posted.routed is not None and posted.routed.asked == ("Anna", "Ben")


async def test_everyone_away_leaves_the_need_open_and_says_so(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    await rig.availability.away(ANNA.id, None)
    posted = await rig.needs.post(PAT.id, "water")
    assert posted.routed is not None and not posted.routed.reached
    assert await rig.outbox("need.offer") == []
    assert (await rig.need(posted.need.id)).patient_told  # the reply said so


async def test_the_clock_picks_up_after_a_restart(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    need_id = (await rig.needs.post(PAT.id, "water")).need.id
    # A new process: nothing in memory, only the rows.
    after = rig.new_process()
    clock = rig.clock
    assert await after.needs.next_due() == clock.now() + need_timings(after.settings).remind
    clock.advance(hours=2)  # it was down for a while: everything due runs now, once
    assert await after.needs.run_due(clock.now()) == 1
    assert await after.needs.run_due(clock.now()) == 0
    assert len(await rig.outbox("need.remind")) == 1
    assert len(await rig.outbox("need.honest")) == 1
    async with rig.db.transaction() as session:
        need = await session.get(Need, need_id)
        assert need is not None and need.next_step_at is None


async def test_the_due_query_uses_its_index(db: Database, clock: FrozenClock) -> None:
    """run_due and next_due read due rows through ix_needs_next_step_at, not a table scan."""
    query = "SELECT id FROM needs WHERE next_step_at <= :now ORDER BY next_step_at, id LIMIT 100"
    async with db.transaction() as session:
        if db.backend == "sqlite":
            plan = await session.execute(
                text(f"EXPLAIN QUERY PLAN {query}"), {"now": clock.now().replace(tzinfo=None)}
            )
        else:
            # An empty table is cheapest to scan; forbid that to see which index fits.
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = await session.execute(text(f"EXPLAIN {query}"), {"now": clock.now()})
        details = " ".join(str(row[-1]) for row in plan.all())
    assert "ix_needs_next_step_at" in details, details
