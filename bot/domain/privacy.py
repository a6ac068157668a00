"""What a person's data amounts to, in counts: shown before deleting it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CircleCounts:
    """How much a patient's circle holds (all of it goes when they delete their data)."""

    helpers: tuple[str, ...]
    needs: int
    medications: int
    doses: int
    pain_reports: int
    stage_changes: int
    checkins: int
    tips: int
