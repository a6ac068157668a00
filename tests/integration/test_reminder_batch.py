"""Many patients' reminders queued together (the morning peak): one bad patient holds up no
other, two sweeps at once remind each patient once, and a patient's messages keep their
place in the queue.

The clock starts on Monday 2 March 2026, 09:00 UTC: 10:00 in Berlin.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Update

from bot.db import meds as meds_db
from bot.notify import OutMessage, Priority, Queued
from bot.services.circles import Person
from tests.rig import Rig

PATIENTS = [Person(1000 + n, f"Patient {n}") for n in range(6)]


async def six_patients_with_three_at_eleven(rig: Rig) -> dict[int, list[int]]:
    """Six patients in Berlin, each with medicines A, B and C at 11:00; their medication ids."""
    meds: dict[int, list[int]] = {}
    for patient in PATIENTS:
        await rig.patient(patient)
        meds[patient.id] = [
            await rig.add(f"Medicine {letter} | 1 tablet | 11:00", who=patient) for letter in "ABC"
        ]
    return meds


async def test_one_bad_patient_holds_up_no_other_patient(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    meds = await six_patients_with_three_at_eleven(rig)
    bad = meds[PATIENTS[2].id][1]  # one medication of the third patient
    real = rig.meds._due

    def failing(ctx: Any, slots: Any, now: Any) -> Any:
        if ctx.med.id == bad:
            raise RuntimeError("a poison row")
        return real(ctx, slots, now)

    monkeypatch.setattr(rig.meds, "_due", failing)
    await rig.run_at(rig.utc(10, 0))
    reminders = await rig.outbox("dose.reminder")
    others = [m for m in reminders if m.chat_id != PATIENTS[2].id]
    assert sorted(m.chat_id for m in others) == sorted(p.id for p in PATIENTS if p != PATIENTS[2])
    assert all(m.key.startswith("doses:") for m in others)  # grouped, as ever
    # The third patient's good medications go each alone (a transaction each, so that the bad
    # one holds them up neither).
    third = [m.payload["text"] for m in reminders if m.chat_id == PATIENTS[2].id]
    assert len(third) == 2 and not any("Medicine B" in text for text in third)
    assert len(await rig.doses()) == 6 * 3 - 1
    monkeypatch.setattr(rig.meds, "_due", real)
    await rig.run_at(rig.utc(10, 0, 30))  # the next sweep: B is reminded after all, alone
    assert len(await rig.doses()) == 6 * 3
    assert len(await rig.outbox("dose.reminder")) == 5 + 3


async def test_two_sweeps_at_once_remind_each_patient_once(rig: Rig) -> None:
    await six_patients_with_three_at_eleven(rig)
    other = rig.new_process().meds
    now = rig.utc(10, 0, 5)
    rig.clock.set(now)
    results = await asyncio.gather(
        rig.meds.run_due(now), other.run_due(now), return_exceptions=True
    )
    assert sum(r for r in results if isinstance(r, int)) == 6 * 3, results
    reminders = await rig.outbox("dose.reminder")
    assert sorted(m.chat_id for m in reminders) == sorted(p.id for p in PATIENTS)
    doses = await rig.doses()
    assert len(doses) == 6 * 3 and len({(d.medication_id, d.slot) for d in doses}) == 6 * 3
    assert len({d.group_id for d in doses}) == 6


async def test_a_patients_messages_queued_together_keep_their_place(rig: Rig) -> None:
    await rig.patient(PATIENTS[0])
    chat = PATIENTS[0].id

    def message(key: str, priority: Priority = Priority.URGENT) -> Queued:
        return Queued(key, chat, OutMessage(f"text {key}"), "test", priority)

    async with rig.db.transaction() as session:
        assert await rig.notifier.send_all(session, [message("a")]) == {"a"}
    async with rig.db.transaction() as session:
        added = await rig.notifier.send_all(
            session, [message("b"), message("c"), message("d", Priority.NORMAL)]
        )
    assert added == {"b", "c", "d"}
    places = {m.key: m.place for m in await rig.outbox(chat)}
    assert places == {"a": 0, "b": 1, "c": 2, "d": 0}
    async with rig.db.transaction() as session:
        assert await rig.notifier.send_all(session, [message("a"), message("e")]) == {"e"}
    # "a" was queued before: it holds no second place, and "e" waits behind a, b and c only.
    assert {m.key: m.place for m in await rig.outbox(chat)}["e"] == 3
    async with rig.db.transaction() as session:
        assert await rig.notifier.send_all(session, []) == set()
    assert [m.key for m in await rig.outbox(chat)] == ["a", "b", "c", "d", "e"]


async def test_two_sweeps_taking_circles_in_other_orders_do_not_deadlock(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two replicas' batches overlap, in other orders, with two moves each (two zones): each
    batch locks its medications by id first, so neither waits on the other crosswise."""
    if rig.db.backend != "postgresql":
        pytest.skip("SQLite runs one transaction at a time: there are no row locks to cross")
    berlin, kolkata = PATIENTS[0], PATIENTS[1]
    one = await rig.patient(berlin, zone="Europe/Berlin")
    two = await rig.patient(kolkata, zone="Asia/Kolkata")
    await rig.add("Medicine A | 1 tablet | 11:00", who=berlin)  # 10:00 UTC
    await rig.add("Medicine B | 1 tablet | 15:29", who=kolkata)  # 09:59 UTC
    real = meds_db.move_next_due

    class Slow:
        """The session, pausing after each UPDATE so that the two batches interleave."""

        def __init__(self, session: Any) -> None:
            self._session = session

        def get_bind(self) -> Any:
            return self._session.get_bind()

        async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
            result = await self._session.execute(statement, *args, **kwargs)
            if isinstance(statement, Update):
                await asyncio.sleep(0.3)
            return result

    async def slow_move(session: Any, moves: Any) -> set[int]:
        return await real(Slow(session), moves)

    monkeypatch.setattr(meds_db, "move_next_due", slow_move)
    other = rig.new_process().meds
    now = rig.utc(10, 0, 5)
    rig.clock.set(now)
    results = await asyncio.gather(
        rig.meds._materialise_meds([one, two], None, now),
        other._materialise_meds([two, one], None, now),
        return_exceptions=True,
    )
    assert not any(isinstance(r, BaseException) for r in results), results
    assert sorted(results) == [0, 2]  # one batch did both; the other found them moved
    assert sorted(m.chat_id for m in await rig.outbox("dose.reminder")) == [1000, 1001]
