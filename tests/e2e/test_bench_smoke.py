"""The benchmarks at tiny sizes: the harness runs end to end and its figures add up."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import burst, fanout, interactive, peak, scale


async def test_burst_delivers_each_reminder_once_and_reminders_before_tips(
    tmp_path: Path,
) -> None:
    found = await burst.run_carecircle("sqlite", 30, tmp_path / "cc", quick=True)
    assert found is not None
    ours, _ = found
    assert ours["all delivered"] is True, ours
    assert ours["reminders delivered"] == 30
    assert ours["reminders lost"] == 0
    assert ours["reminders duplicated"] == 0
    assert ours["tips delivered"] == 3
    assert ours["tips before the last reminder"] == 0
    # No assertion on 429s: this runs in parallel with other tests, and the timing of a burst
    # on a loaded machine is test_delivery's (serial) business.
    assert ours["tracebacks in bot log"] == 0

    base = await burst.run_baseline(30, tmp_path / "base", quick=True, max_retries=3)
    assert base["reminders delivered"] + base["reminders lost"] == 30
    ratios = burst.compare(ours, base)
    assert set(ratios) == {f"{key}: carecircle / baseline" for key in burst.RATIO_KEYS}


async def test_fanout_reaches_every_helper(tmp_path: Path) -> None:
    figures = await fanout.run("sqlite", helpers=5, rounds=1, workdir=tmp_path)
    assert figures["offers missing"] == 0
    assert figures["offers delivered"] == figures["offers expected"] == 10
    assert figures["first helper notified, median ms"] > 0
    assert figures["first helper notified, median ms"] <= figures["last helper notified, max ms"]


async def test_interactive_answers_every_update(tmp_path: Path) -> None:
    figures = await interactive.run("sqlite", users=12, rates=[6], seconds=2, workdir=tmp_path)
    answered = figures["open loop 6/s: updates answered"]
    # 6 updates/s for 2 s, each to the next user not still busy (else skipped); with 12
    # users each one acts every 2 s, so nearly none are.
    assert answered + figures["open loop 6/s: slots skipped (no idle user)"] == 12, figures
    assert answered >= 10, figures
    assert figures["open loop 6/s: timeouts"] == figures["closed loop: timeouts"] == 0
    assert figures["open loop 6/s: errors"] == figures["closed loop: errors"] == 0
    assert 0 < figures["open loop 6/s: p50 ms"] <= figures["open loop 6/s: p99 ms"]
    assert figures["closed loop: updates answered"] > 0
    presses = "closed loop, presses only:"
    assert figures[f"{presses} updates answered"] > 0
    assert figures[f"{presses} timeouts"] == figures[f"{presses} errors"] == 0
    assert math.isnan(figures[f"{presses} p99 ms, commands (new message)"])  # none sent
    assert figures["tracebacks in bot log"] == 0


async def test_scale_starts_on_seeded_schedules_and_sends_nothing(tmp_path: Path) -> None:
    figures = await scale.run_carecircle("sqlite", 50, tmp_path, sweep_seconds=1)
    assert figures["daily doses"] == 450
    assert figures["messages sent meanwhile (expect 0)"] == 0
    assert 0 < figures["start-up to ready, s"] < 60
    assert figures["peak RSS after first sweep, MiB"] >= figures["peak RSS at ready, MiB"] > 0
    assert figures["database MiB"] > 0


pytestmark = pytest.mark.e2e


async def test_peak_reminds_each_patient_once_grouped_and_paid_goes_paid(
    tmp_path: Path,
) -> None:
    grouped = await peak.run_carecircle(
        "grouped", "sqlite", 12, tmp_path / "grouped", quick=True, load=True
    )
    assert grouped is not None
    assert grouped["all reminded"] is True, grouped
    assert grouped["reminder messages sent"] == 12  # one message per patient, three doses each
    assert grouped["doses never reminded"] == grouped["doses reminded twice"] == 0
    assert grouped["interactive 50/s during the peak: updates answered"] > 0
    assert grouped["tracebacks in bot log"] == 0
    per_dose = await peak.run_carecircle(
        "per-dose", "sqlite", 12, tmp_path / "per-dose", quick=True, load=False
    )
    assert per_dose is not None and per_dose["reminder messages sent"] == 36
    paid = await peak.run_carecircle(
        "paid", "sqlite", 12, tmp_path / "paid", quick=True, load=False
    )
    assert paid is not None and paid["all reminded"] is True
    assert paid["paid messages at the fake"] == 12
    assert paid["cost in Stars at 0.1 each"] == 1.2
    assert set(peak.ratios(grouped, per_dose)) == {
        f"{key}: {grouped['system']} / {per_dose['system']}" for key in peak.RATIO_KEYS
    }
