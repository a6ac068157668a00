"""Scale at rest: P patients × 3 medications × 3 times a day, none of them due right now.

The schedules are bulk-inserted into a migrated database (no onboarding over HTTP), then the
real bot starts on it. Figures: start-up time from spawning the process to `/readyz` answering
200, peak RSS (VmHWM) at ready and after the first scheduler sweep (one SWEEP_INTERVAL_SECONDS
later), and the database's size — at each size, to show how cost grows with the number of
schedules. The baseline (one in-memory JobQueue job per daily dose) is started with the same
number of doses for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import (
    BotRun,
    PatientSeed,
    RecordingFake,
    Skip,
    database,
    print_figures,
    print_machine,
    run_benchmark,
    seed,
)

FIRST_PATIENT = 20_000_000
MEDS = 3
TIMES = 3
# The first sweep runs one SWEEP_INTERVAL_SECONDS after start-up (30 s by default).
SWEEP_SECONDS = 30.0


def schedules(patients: int) -> list[PatientSeed]:
    """Each patient's three medications at three times, all at least two hours away."""
    base = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(hours=2)
    seeds = []
    for i in range(patients):
        times: list[list[str]] = []
        due: list[dt.datetime | None] = []
        for j in range(MEDS):
            first = base + dt.timedelta(minutes=(i % 60) + 20 * j)
            times.append([f"{first + dt.timedelta(hours=8 * k):%H:%M}" for k in range(TIMES)])
            due.append(first)
        seeds.append(PatientSeed(FIRST_PATIENT + i, meds=times, med_next_due=due))
    return seeds


async def run_carecircle(
    backend: str, patients: int, workdir: Path, sweep_seconds: float = SWEEP_SECONDS
) -> dict[str, Any]:
    async with database(backend, workdir) as db, RecordingFake() as fake:
        print_machine(db.backend)
        seeded = await seed(db.url, schedules(patients))
        size = await db.size_bytes()
        bot = BotRun(fake, workdir / "bot", db.url, SWEEP_INTERVAL_SECONDS=str(sweep_seconds))
        await bot.start()
        try:
            ready = await bot.wait_ready()
            rss_ready = bot.peak_rss_mib()
            await asyncio.sleep(sweep_seconds + 5)
            rss_swept = bot.peak_rss_mib()
            sent = len(fake.deliveries)
        finally:
            await bot.stop()
        figures = {
            "system": f"carecircle ({db.backend})",
            "patients": patients,
            "medications": patients * MEDS,
            "daily doses": patients * MEDS * TIMES,
            "seeding seconds (bulk insert)": seeded,
            "database MiB": size / 2**20,
            "start-up to ready, s": ready,
            "peak RSS at ready, MiB": rss_ready,
            "peak RSS after first sweep, MiB": rss_swept,
            "messages sent meanwhile (expect 0)": sent,
            "tracebacks in bot log": bot.tracebacks(),
        }
    print_figures(f"scale at rest: carecircle, {patients} patients ({db.backend})", figures)
    return figures


async def run_baseline(patients: int, workdir: Path) -> dict[str, Any]:
    """The baseline holds one job per daily dose in memory: start it with as many."""
    rows = []
    for s in schedules(patients):
        for times, first in zip(s.meds, s.med_next_due, strict=True):
            assert first is not None
            for k in range(len(times)):
                at = (first + dt.timedelta(hours=8 * k)).timestamp()
                rows.append([s.user_id, at, "💊 Time for Med 1 tablet"])
    workdir.mkdir(parents=True, exist_ok=True)
    messages = workdir / "messages.json"
    messages.write_text(json.dumps(rows))
    async with RecordingFake() as fake:
        bot = BotRun(fake, workdir, "unused", module="bench.baseline")
        bot.env["BASELINE_MESSAGES"] = str(messages)
        await bot.start()
        try:
            await fake.wait_until_polling(timeout=300)
            ready = time.monotonic() - bot.started_at
            rss = bot.peak_rss_mib()
        finally:
            await bot.stop()
    figures = {
        "system": "baseline (one JobQueue job per dose)",
        "patients": patients,
        "daily doses (jobs in memory)": len(rows),
        "start-up to polling, s": ready,
        "peak RSS at ready, MiB": rss,
    }
    print_figures(f"scale at rest: baseline, {len(rows)} jobs", figures)
    return figures


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for patients in args.patients:
        for backend in args.db:
            with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
                try:
                    results.append(
                        await run_carecircle(backend, patients, Path(tmp), args.sweep_seconds)
                    )
                except Skip as reason:
                    print(f"\n== scale ({backend}) SKIPPED: {reason}", flush=True)
        if not args.no_baseline:
            with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
                results.append(await run_baseline(patients, Path(tmp)))
    return results


def add_arguments(parser: argparse.ArgumentParser, quick: bool = False) -> None:
    parser.add_argument(
        "--patients", type=int, nargs="+", default=[200] if quick else [10_000, 50_000]
    )
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--sweep-seconds", type=float, default=2.0 if quick else SWEEP_SECONDS)


def main() -> None:
    run_benchmark(__doc__, add_arguments, main_async)


if __name__ == "__main__":
    main()
