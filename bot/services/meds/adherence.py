"""Medication: the last week's doses per medication, and doses per day for /progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from bot.db import doses as doses_db
from bot.db import meds as meds_db
from bot.db.circles import circle_and_patient
from bot.domain.clocktime import local_date, local_instant
from bot.domain.doses import DoseState
from bot.services.meds.catalog import _Catalog
from bot.views.meds import AdherenceReport, AdherenceRow, MedView

ADHERENCE_DAYS = 7


class _Adherence(_Catalog):
    """How the doses went: /adherence, and the dose counter behind /progress."""

    async def adherence(self, user_id: int) -> list[AdherenceReport]:
        """The last 7 days per medication: on time, late, skipped, missed."""
        lists = await self.overview(user_id)
        since = self._clock.now() - dt.timedelta(days=ADHERENCE_DAYS)
        reports = []
        async with self._db.transaction() as session:
            for listing in lists:
                rows = []
                for med in listing.meds:
                    counts = await doses_db.state_counts(session, med.id, since)
                    rows.append(_adherence_row(med, counts))
                reports.append(
                    AdherenceReport(listing.patient_name, listing.for_patient, tuple(rows))
                )
        return reports

    async def doses_per_day(
        self, circle_id: int, days: Sequence[dt.date]
    ) -> Mapping[dt.date, int] | None:
        """Doses taken on each of these local dates of the patient (for /progress); None if
        the circle has never had a medication."""
        if not days:
            return {}
        async with self._db.transaction() as session:
            if not await meds_db.has_medication(session, circle_id):
                return None
            found = await circle_and_patient(session, circle_id)
            zone = (found[1].timezone if found else None) or "UTC"
            start = local_instant(min(days), dt.time(0, 0), zone)
            end = local_instant(max(days) + dt.timedelta(days=1), dt.time(0, 0), zone)
            taken = await doses_db.taken_times(session, circle_id, start, end)
            counts = dict.fromkeys(days, 0)
            for taken_at in taken:
                if taken_at is not None and (day := local_date(taken_at, zone)) in counts:
                    counts[day] += 1
        return counts


def _adherence_row(med: MedView, counts: dict[tuple[str, bool], int]) -> AdherenceRow:
    def count(state: str, late: bool | None = None) -> int:
        return sum(
            n for (s, lt), n in counts.items() if s == state and (late is None or lt == late)
        )

    return AdherenceRow(
        name=med.name,
        dose=med.dose,
        on_time=count(DoseState.TAKEN, False),
        late=count(DoseState.TAKEN, True),
        skipped=count(DoseState.SKIPPED),
        missed=count(DoseState.MISSED),
    )
