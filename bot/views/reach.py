"""Who hears about a missed dose, and the answer to an "I'll check on them" tap."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlertReach:
    """Who would hear about a missed dose right now (for /addmed and /meds)."""

    close: tuple[str, ...]
    # Asked to look in, told nothing about medication: only when no close family can be
    # reached and the patient switched errand look-ins on.
    errand: tuple[str, ...]


@dataclass(frozen=True)
class LookIn:
    """The answer to an "I'll check on them" tap."""

    patient_name: str
    checker_name: str
    by_me: bool
    # Not needed any more: the patient answered, or the dose was settled.
    resolved: bool
