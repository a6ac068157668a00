"""Property: whatever the patient and family tap on a grouped reminder, in whatever order,
each dose keeps its own state machine and the group's messages stay one of each.

Three medications due in the same minute; any interleaving of the scheduler running (nudge,
alert), a line's Taken / Skip / Snooze, "Took all" (also two at once, from two processes), a
helper's "Mark as given" and "I'll check on them", and restarts leaves: a dose answered once
never changes again; the group is led by its first dose; one grouped reminder, at most one
grouped nudge, and each dose in at most one family alert per helper. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import DoseOccurrence, OutboxMessage
from bot.domain.doses import FINAL
from bot.domain.errors import DomainError
from tests.people import ANNA, BEN, PAT
from tests.rig import BERLIN, Rig, example_url, open_rig

# 07:59:30 in Berlin on a Monday: the three doses fall due half a minute in.
START = dt.datetime(2026, 3, 2, 6, 59, 30, tzinfo=dt.UTC)
LINE = st.integers(0, 2)
ACTION = st.one_of(
    st.tuples(st.just("wait"), st.integers(1, 50)),
    st.tuples(st.just("take"), LINE),
    st.tuples(st.just("skip"), LINE),
    st.tuples(st.just("snooze"), LINE, st.sampled_from([10, 30, 60])),
    st.tuples(st.just("all")),
    st.tuples(st.just("all_twice")),
    st.tuples(st.just("give"), LINE),
    st.tuples(st.just("check"), st.booleans()),
    st.tuples(st.just("restart")),
)


async def doses(rig: Rig) -> list[DoseOccurrence]:
    async with rig.db.transaction() as session:
        return list(
            await session.scalars(
                select(DoseOccurrence)
                .where(DoseOccurrence.scheduled.is_(True))
                .order_by(DoseOccurrence.id)
            )
        )


async def act(rig: Rig, action: tuple[Any, ...]) -> None:
    meds, kind = rig.meds, action[0]
    if kind == "wait":
        rig.clock.advance(minutes=action[1])
        await rig.run_at(rig.clock.now())
        return
    if kind == "restart":
        rig.restart()
        await rig.meds.run_due(rig.clock.now())
        return
    found = [d for d in await doses(rig) if d.slot and d.slot.endswith("T08:00")]
    if len(found) < 3:
        return  # not reminded yet
    ids = [d.id for d in found[:3]]
    lead = min(ids)
    if kind == "take":
        await meds.take(PAT.id, ids[action[1]])
    elif kind == "skip":
        await meds.skip(PAT.id, ids[action[1]])
    elif kind == "snooze":
        await meds.snooze(PAT.id, ids[action[1]], action[2])
    elif kind == "all":
        await meds.take_all(PAT.id, lead)
    elif kind == "all_twice":
        other = rig.new_process().meds
        await asyncio.gather(
            meds.take_all(PAT.id, lead), other.take_all(PAT.id, lead), return_exceptions=True
        )
    elif kind == "give":
        await meds.give(ANNA.id, ids[action[1]], confirmed=True)
    elif kind == "check":
        await meds.check_on(ANNA.id if action[1] else BEN.id, lead)


async def check(rig: Rig, answered: dict[int, tuple[str, Any, Any]]) -> None:
    found = await doses(rig)
    for dose in found:
        if dose.id in answered:
            assert (dose.state, dose.taken_at, dose.recorded_by) == answered[dose.id], dose.id
        elif dose.state in FINAL:
            answered[dose.id] = (dose.state, dose.taken_at, dose.recorded_by)
    groups: dict[int, list[DoseOccurrence]] = {}
    for dose in found:
        if dose.group_id is not None:
            groups.setdefault(dose.group_id, []).append(dose)
    async with rig.db.transaction() as session:
        sends = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.op == "send")))
    keys = Counter(m.key for m in sends)
    assert all(n == 1 for n in keys.values())
    for lead, members in groups.items():
        assert lead == min(m.id for m in members) and len(members) >= 2
        assert len({m.slot for m in members}) == 1, "a group is one minute's doses"
        assert keys[f"doses:{lead}:reminder"] == 1
        assert not any(keys[f"dose:{m.id}:reminder"] for m in members), "reminded twice"
    # Each dose is in at most one family alert per helper: alerts name their first dose, and
    # the doses alerted together are those of one group alerted in the same moment.
    for helper in (ANNA.id, BEN.id):
        anchors = [
            int(m.key.split(":")[1])
            for m in sends
            if m.kind == "dose.alert" and m.chat_id == helper
        ]
        assert len(anchors) == len(set(anchors))
        for anchor in anchors:
            mine = next(d for d in found if d.id == anchor)
            assert mine.alerted_at is not None


async def scenario(url: str, actions: list[Any]) -> None:
    async with open_rig(url, FrozenClock(START), empty=True) as rig:
        await rig.patient(zone=BERLIN)
        await rig.join(ANNA, BEN)
        await rig.setting("helpers_mark_given", True)
        for letter in "ABC":
            await rig.add(f"Medicine {letter} | 1 tablet | 08:00")
        answered: dict[int, tuple[str, Any, Any]] = {}
        for action in actions:
            rig.clock.advance(seconds=1)
            with contextlib.suppress(DomainError):
                await act(rig, action)
            await check(rig, answered)
        assert len({d.group_id for d in await doses(rig)} - {None}) == 1, "no group was made"


PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@PROPERTY
@given(
    actions=st.lists(ACTION, min_size=1, max_size=25).map(
        lambda rest: [("wait", 1), *rest]  # the minute comes first: there is a group
    )
)
def test_a_grouped_reminder_keeps_every_dose_safe(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, actions: list[Any]
) -> None:
    url = example_url(backend, request, tmp_path)
    asyncio.run(scenario(url, actions))
