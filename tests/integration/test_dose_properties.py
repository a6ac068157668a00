"""Property: whatever people tap, in whatever order, the dose log stays safe.

Any interleaving of reminders, Taken, Skip, Snooze, /took, a helper's "Mark as given",
back-dated times, missed doses (the clock passing the alert), downtime and restarts leaves a
log that never holds two doses for one scheduled time, never two doses closer than the
label's minimum gap, and never more than its 24-hour maximum — unless the dose that made it
so was confirmed past a warning (and is recorded as such). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from bot.clock import FrozenClock
from bot.db.models import DoseOccurrence, Medication
from bot.domain.doses import busiest_window
from bot.domain.errors import DomainError
from bot.domain.meds import schedule_from_stored, slot_for
from bot.services.meds import AS_NEEDED_CLOSE
from tests.people import ANNA, PAT
from tests.rig import BERLIN, Rig, example_url, open_rig

ZONE = BERLIN
# Saturday evening before Berlin's clocks go forward: DST is inside most runs.
START = dt.datetime(2026, 3, 28, 20, 0, tzinfo=dt.UTC)

SCHEDULES = st.sampled_from(
    ["08:00", "08:00, 20:00", "08:00, 09:00, 14:00", "every 6 hours from 06:00", "as needed"]
)
LIMITS = st.tuples(st.one_of(st.none(), st.integers(1, 4)), st.sampled_from([None, 2.0, 6.0]))
PICK = st.integers(0, 4)  # which dose a button belongs to: the newest, the one before, …
ACTION = st.one_of(
    st.tuples(st.just("wait"), st.integers(1, 300)),
    st.tuples(st.just("take"), PICK, st.booleans()),
    st.tuples(st.just("take_at"), PICK, st.integers(0, 600), st.booleans()),
    st.tuples(st.just("skip"), PICK),
    st.tuples(st.just("snooze"), PICK, st.sampled_from([10, 30, 60])),
    st.tuples(st.just("took"), st.booleans()),
    st.tuples(st.just("give"), PICK, st.booleans()),
    st.tuples(st.just("restart")),
)


async def build(rig: Rig) -> None:
    """Pat in Berlin with Anna, who may mark doses as given."""
    await rig.patient(zone=ZONE)
    await rig.join(ANNA)
    await rig.setting("helpers_mark_given", True)


async def pick(rig: Rig, index: int) -> int | None:
    async with rig.db.transaction() as session:
        ids = list(
            await session.scalars(
                select(DoseOccurrence.id)
                .where(DoseOccurrence.scheduled.is_(True))
                .order_by(DoseOccurrence.due_at.desc())
            )
        )
    return ids[index % len(ids)] if ids else None


async def act(rig: Rig, med_id: int, action: tuple[Any, ...], step: int) -> None:
    meds, now = rig.meds, rig.clock.now()
    kind = action[0]
    if kind == "wait":
        rig.clock.advance(minutes=action[1])
        await meds.run_due(rig.clock.now())
        return
    if kind == "restart":
        rig.restart()  # a new process on the same database: nothing in memory survives
        await rig.meds.run_due(now)
        return
    if kind == "took":
        await meds.took(PAT.id, med_id=med_id, request_key=f"k{step}", confirmed=action[1])
        return
    dose = await pick(rig, action[1])
    if dose is None:
        return
    if kind == "take":
        await meds.take(PAT.id, dose, confirmed=action[2])
    elif kind == "take_at":
        at = now - dt.timedelta(minutes=action[2])
        await meds.take(PAT.id, dose, at=at, confirmed=action[3])
    elif kind == "skip":
        await meds.skip(PAT.id, dose)
    elif kind == "snooze":
        await meds.snooze(PAT.id, dose, action[2])
    elif kind == "give":
        await meds.give(ANNA.id, dose, confirmed=action[2])


async def scenario(
    url: str, schedule: str, limits: tuple[int | None, float | None], actions: list[Any]
) -> None:
    async with open_rig(url, FrozenClock(START), empty=True) as rig:
        await build(rig)
        detail = await rig.meds.add_line(PAT.id, f"Medicine A | 1 tablet | {schedule}")
        med_id = detail.med.id
        async with rig.db.transaction() as session:
            await session.execute(
                update(Medication)
                .where(Medication.id == med_id)
                .values(max_per_24h=limits[0], min_hours_between=limits[1])
            )
        for step, action in enumerate(actions):
            rig.clock.advance(seconds=1)  # one person's taps are never the same instant
            # A refusal (already recorded, not open, a time in the future …) is an answer too.
            with contextlib.suppress(DomainError):
                await act(rig, med_id, action, step)
        await check_log(rig, med_id)


async def check_log(rig: Rig, med_id: int) -> None:
    async with rig.db.transaction() as session:
        med = await session.get(Medication, med_id)
        assert med is not None
        doses = list(
            await session.scalars(
                select(DoseOccurrence)
                .where(DoseOccurrence.state == "taken")
                .order_by(DoseOccurrence.recorded_at, DoseOccurrence.id)
            )
        )
    plan = schedule_from_stored(med.kind, list(med.times), med.every_hours)

    def same_time(a: DoseOccurrence, b: DoseOccurrence) -> bool:
        assert a.taken_at is not None and b.taken_at is not None
        if plan.as_needed:
            return abs(a.taken_at - b.taken_at) < AS_NEEDED_CLOSE
        return bool(times_of(a) & times_of(b))

    def times_of(d: DoseOccurrence) -> set[str]:
        """The scheduled time a dose was recorded for, and the one it was taken in."""
        assert d.taken_at is not None
        window = slot_for(plan.times, ZONE, d.taken_at)
        assert window is not None
        return {d.slot or window.key, window.key}

    for index, dose in enumerate(doses):
        assert dose.taken_at is not None and dose.recorded_at is not None
        if dose.past_warning:
            continue  # the person saw the warning and chose to log it anyway
        before = doses[:index]
        for other in before:
            assert not same_time(dose, other), f"two doses for one time: {other.id}, {dose.id}"
            assert other.taken_at is not None
            if med.min_hours_between:
                gap = dt.timedelta(hours=med.min_hours_between)
                assert abs(dose.taken_at - other.taken_at) >= gap, "closer than the label's gap"
        if med.max_per_24h:
            taken = [o.taken_at for o in before if o.taken_at is not None]
            busiest = busiest_window(taken, dose.taken_at)
            assert busiest + 1 <= med.max_per_24h, "more than the label's 24-hour maximum"


PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@PROPERTY
@given(schedule=SCHEDULES, limits=LIMITS, actions=st.lists(ACTION, min_size=1, max_size=30))
def test_no_interleaving_logs_an_unconfirmed_unsafe_dose(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    schedule: str,
    limits: tuple[int | None, float | None],
    actions: list[Any],
) -> None:
    url = example_url(backend, request, tmp_path)  # a fresh database for every example
    asyncio.run(scenario(url, schedule, limits, actions))
