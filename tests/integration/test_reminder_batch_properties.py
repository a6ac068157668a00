"""Property: patients whose reminders are queued together, in one transaction and a few
statements (the morning peak), get exactly what each would have got alone.

Two worlds are set up alike — two to four patients in zones with DST and half-hour offsets,
each with medications due at nearby minutes, some paused, deleted or taken early, a close
helper in every circle — and the scheduler runs at the same instants in both, after downtime
or not. In one world the circles are handled together (as the app does); in the other one at
a time. The doses, where each medication moves next and every queued message (reminder,
grouped reminder, family alert; text, buttons, priority, and each chat's order) come out the
same.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import DoseOccurrence, Medication, OutboxMessage
from bot.services.circles import Person
from bot.services.meds import reminders
from tests.people import ANNA
from tests.rig import Rig, example_url, open_rig

# Saturday 28 March 2026, 04:00 UTC: Berlin's clocks go forward the next night, Lord Howe's
# go back a week later; Kolkata is half an hour off the hour.
START = dt.datetime(2026, 3, 28, 4, 0, tzinfo=dt.UTC)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe")
TIMES = ("06:00", "06:30", "07:00", "23:30")
STATES = ("active", "active", "active", "paused", "deleted", "took")

MEDICATION = st.tuples(st.sampled_from(TIMES), st.sampled_from(STATES))
PATIENT = st.tuples(st.sampled_from(ZONES), st.lists(MEDICATION, min_size=1, max_size=3))
# When the scheduler runs, in minutes after START: on time, late, after a long outage; last
# 26 hours in, when every time of day has come at least once.
LAST_RUN = 26 * 60
RUNS = st.lists(st.integers(1, LAST_RUN), min_size=0, max_size=3).map(
    lambda runs: [*sorted(runs), LAST_RUN]
)


async def world(url: str, patients: list[Any], runs: list[int], together: bool) -> Any:
    """Set the world up, run the scheduler at each instant, and read back what it did."""
    async with open_rig(url, FrozenClock(START), empty=True) as rig:
        for number, (zone, meds) in enumerate(patients):
            patient = Person(1000 + number, f"Patient {number}")
            await rig.patient(patient, zone=zone)
            await rig.join(ANNA, patient=patient)
            if number == 1:  # also close family of the first patient: alerts and reminders meet
                await rig.join(patient, patient=Person(1000, "Patient 0"))
            for index, (at, state) in enumerate(meds):
                med_id = await rig.add(f"Medicine {index} | 1 tablet | {at}", who=patient)
                if state == "paused":
                    await rig.meds.set_paused(patient.id, med_id, True)
                elif state == "deleted":
                    await rig.meds.delete(patient.id, med_id)
                elif state == "took":
                    rig.clock.set(START + dt.timedelta(minutes=1))
                    await rig.meds.took(
                        patient.id, med_id=med_id, request_key=f"{number}:{index}", confirmed=True
                    )
        chunk = reminders.CIRCLES_AT_ONCE if together else 1
        with mock.patch.object(reminders, "CIRCLES_AT_ONCE", chunk):
            for minutes in runs:
                await rig.run_at(START + dt.timedelta(minutes=minutes, seconds=20))
        return await read_back(rig)


DOSE_COLUMNS = (
    *("id", "medication_id", "slot", "state", "due_at", "reminded_at", "alert_at"),
    *("alerted_at", "next_action_at", "late", "group_id", "taken_at"),
)
MESSAGE_COLUMNS = (
    *("key", "chat_id", "kind", "op", "payload", "priority", "place", "not_before"),
    *("state", "circle_id"),
)


async def read_back(rig: Rig) -> Any:
    async with rig.db.transaction() as session:
        doses = [
            tuple(getattr(d, column) for column in DOSE_COLUMNS)
            for d in await session.scalars(select(DoseOccurrence).order_by(DoseOccurrence.id))
        ]
        meds = (await session.execute(select(Medication.id, Medication.next_due_at))).all()
        # Each chat's messages in the order they were queued (the order they go out in).
        messages: dict[int, list[tuple[Any, ...]]] = {}
        for m in await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
            messages.setdefault(m.chat_id, []).append(
                tuple(getattr(m, column) for column in MESSAGE_COLUMNS)
            )
    return doses, sorted(meds), messages


PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@PROPERTY
@given(patients=st.lists(PATIENT, min_size=2, max_size=4), runs=RUNS)
def test_patients_reminded_together_get_what_each_would_alone(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    patients: list[Any],
    runs: list[int],
) -> None:
    urls = [example_url(backend, request, tmp_path) for _ in range(2)]

    async def both() -> None:
        alone = await world(urls[0], patients, runs, False)
        together = await world(urls[1], patients, runs, True)
        assert together[0] == alone[0], "the doses differ"
        assert together[1] == alone[1], "the medications moved differently"
        assert together[2] == alone[2], "the queued messages differ"
        active = sum(state == "active" for _, meds in patients for _, state in meds)
        assert len({dose[1] for dose in together[0] if dose[2]}) >= active, "nothing was due"

    asyncio.run(both())
