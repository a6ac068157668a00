"""Reminder burst: N doses due in the same minute, plus daily tips due then too.

carecircle: N patients with one medication each, due at the same minute, and a daily tip due
at that minute for one patient in ten — seeded straight into the database, then the real bot
process materialises the reminders and tips into its outbox and delivers them. The baseline
(`bench/baseline`: one PTB JobQueue job per message, AIORateLimiter) gets the same messages at
the same instant, in the same run, against its own fresh fake Bot API.

Figures: time from the due minute to the last reminder delivered, against the floor set by
Telegram's 30 messages/s (N / 30 s; the ratio is time / floor), lateness p50/p99/max, 429s
received, reminders lost or duplicated, and how many tips went out before the last reminder.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import (
    TELEGRAM_CEILING_PER_SECOND,
    BotRun,
    PatientSeed,
    RecordingFake,
    Skip,
    baseline_bot,
    baseline_log_figures,
    baseline_name,
    database,
    percentile,
    print_figures,
    print_machine,
    run_benchmark,
    seed,
    start_users,
)

FIRST_PATIENT = 10_000_000
REMINDER = "Time for"
TIP_EVERY = 10
STALL_SECONDS = 60.0


def due_minute(lead_seconds: float) -> dt.datetime:
    """The first whole minute at least `lead_seconds` from now (time to seed and start)."""
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lead_seconds)
    return at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)


def current_minute() -> dt.datetime:
    """The minute already running: due at once when the bot starts (for tiny quick runs)."""
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


async def collect(
    fake: RecordingFake, patients: list[int], tips: int, due: dt.datetime, timeout: float
) -> tuple[list[tuple[int, float, float]], list[float], bool]:
    """Wait until every patient has a reminder and every tip arrived (or time runs out).

    Returns (chat, wall, monotonic) of each reminder delivery (all of them, duplicates too),
    the monotonic times of tip deliveries, and whether everything arrived.
    """
    wanted = set(patients)
    reminders: list[tuple[int, float, float]] = []
    tip_times: list[float] = []
    got: set[int] = set()
    checked = 0
    deadline = time.monotonic() + timeout
    # A bot that dropped messages never completes: give up once nothing arrived for a while
    # after the due minute.
    quiet_until = time.monotonic() + max(0.0, due.timestamp() - time.time()) + STALL_SECONDS
    while time.monotonic() < min(deadline, quiet_until):
        deliveries = fake.deliveries
        for d in deliveries[checked:]:
            if d.chat_id not in wanted or d.method != "sendMessage":
                continue
            quiet_until = max(quiet_until, d.monotonic + STALL_SECONDS)
            if REMINDER in d.text:
                reminders.append((d.chat_id, d.wall, d.monotonic))
                got.add(d.chat_id)
            else:
                tip_times.append(d.monotonic)
        checked = len(deliveries)
        if len(got) == len(wanted) and len(tip_times) >= tips:
            return reminders, tip_times, True
        await asyncio.sleep(0.05)
    return reminders, tip_times, False


def summarise(
    name: str,
    n: int,
    tips: int,
    due: dt.datetime,
    reminders: list[tuple[int, float, float]],
    tip_times: list[float],
    complete: bool,
    fake: RecordingFake,
    start_wall: float,
) -> dict[str, Any]:
    due_wall = due.timestamp()
    # A quick run may start the bot after the minute began: count from whichever is later.
    t0 = max(due_wall, start_wall)
    per_chat = collections.Counter(chat for chat, _, _ in reminders)
    first: dict[int, tuple[float, float]] = {}
    for chat, wall, mono in reminders:
        first.setdefault(chat, (wall, mono))
    lateness = [wall - due_wall for wall, _ in first.values()]
    last = max((wall for wall, _ in first.values()), default=float("nan"))
    last_mono = max((mono for _, mono in first.values()), default=float("nan"))
    took = last - t0
    floor = n / TELEGRAM_CEILING_PER_SECOND
    return {
        "system": name,
        "doses due": n,
        "tips due at the same minute": tips,
        "all delivered": complete,
        "reminders delivered": len(first),
        "reminders lost": n - len(first),
        "reminders duplicated": sum(c - 1 for c in per_chat.values()),
        "seconds, due minute to last reminder": took,
        "floor at 30/s, seconds": floor,
        "ratio to floor (1.0 = Telegram's ceiling)": took / floor,
        "share of the 30/s ceiling": floor / took if took > 0 else float("nan"),
        "lateness p50 s": percentile(lateness, 50),
        "lateness p99 s": percentile(lateness, 99),
        "lateness max s": max(lateness, default=float("nan")),
        "tips delivered": len(tip_times),
        "tips before the last reminder": sum(1 for t in tip_times if t < last_mono),
        "429s received": fake.count_status(429),
        "flood violations at the fake": len(fake.flood_violations),
        "flood violations by rule": dict(
            collections.Counter(v.rule for v in fake.flood_violations)
        ),
        **fake.stall_figures(),
    }


def plan(n: int, due: dt.datetime) -> tuple[list[int], list[PatientSeed]]:
    ids = [FIRST_PATIENT + i for i in range(n)]
    hhmm = f"{due:%H:%M}"
    seeds = [
        PatientSeed(
            user_id,
            meds=[[hhmm]],
            med_next_due=[due],
            tip_at=due if i % TIP_EVERY == 0 else None,
        )
        for i, user_id in enumerate(ids)
    ]
    return ids, seeds


def timeout_for(n: int, tips: int) -> float:
    return (n + tips) / TELEGRAM_CEILING_PER_SECOND * 2.5 + 90


async def run_carecircle(
    backend: str, n: int, workdir: Path, quick: bool
) -> tuple[dict[str, Any], dt.datetime] | None:
    try:
        async with database(backend, workdir) as db, RecordingFake() as fake:
            print_machine(db.backend)
            # The bot's first sweep runs one SWEEP_INTERVAL_SECONDS (30 s) after start-up and
            # only then arms its wake-up for the due minute: leave room for seeding, start-up
            # and that. A quick run sweeps every 2 s and starts after the minute began.
            due = current_minute() if quick else due_minute(45 + n / 500)
            ids, seeds = plan(n, due)
            tips = sum(1 for s in seeds if s.tip_at is not None)
            await seed(db.url, seeds)
            start_users(fake, ids)
            settings = {"SWEEP_INTERVAL_SECONDS": "2"} if quick else {}
            bot = BotRun(fake, workdir / "bot", db.url, **settings)
            await bot.start()
            try:
                await bot.wait_ready()
                start_wall = time.time()
                reminders, tip_times, complete = await collect(
                    fake,
                    ids,
                    tips,
                    due,
                    max(0.0, due.timestamp() - time.time()) + timeout_for(n, tips),
                )
                figures = summarise(
                    f"carecircle ({db.backend})",
                    n,
                    tips,
                    due,
                    reminders,
                    tip_times,
                    complete,
                    fake,
                    start_wall,
                )
                figures["peak RSS MiB"] = round(bot.peak_rss_mib(), 1)
            finally:
                await bot.stop()
            figures["tracebacks in bot log"] = bot.tracebacks()
    except Skip as reason:
        print(f"\n== burst carecircle ({backend}) SKIPPED: {reason}", flush=True)
        return None
    print_figures(f"reminder burst: carecircle, {n} doses ({db.backend})", figures)
    return figures, due


async def run_baseline(n: int, workdir: Path, quick: bool, max_retries: int) -> dict[str, Any]:
    async with RecordingFake() as fake:
        # The baseline has no minutes to respect, and APScheduler would drop a job already
        # more than a second late: a quick run gives it a few seconds to start.
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
        due = soon if quick else due_minute(20 + n / 2000)
        ids, seeds = plan(n, due)
        rows = []
        for s in seeds:
            rows.append([s.user_id, due.timestamp(), f"💊 {REMINDER} Med1 1 tablet"])
            if s.tip_at is not None:
                rows.append([s.user_id, due.timestamp(), "🌿 Today's tip: keep moving gently"])
        tips = len(rows) - n
        start_users(fake, ids)
        async with baseline_bot(fake, workdir, rows, max_retries) as bot:
            start_wall = time.time()
            reminders, tip_times, complete = await collect(
                fake, ids, tips, due, max(0.0, due.timestamp() - time.time()) + timeout_for(n, tips)
            )
            figures = summarise(
                baseline_name(max_retries),
                n,
                tips,
                due,
                reminders,
                tip_times,
                complete,
                fake,
                start_wall,
            )
            figures["peak RSS MiB"] = round(bot.peak_rss_mib(), 1)
        figures |= baseline_log_figures(bot)
    print_figures(f"reminder burst: baseline, {n} doses", figures)
    return figures


RATIO_KEYS = (
    "seconds, due minute to last reminder",
    "lateness p99 s",
    "reminders lost",
    "429s received",
    "tips before the last reminder",
    "peak RSS MiB",
)


def compare(ours: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """carecircle's figures as ratios to the baseline's (lower is better for all of these)."""
    out: dict[str, Any] = {}
    for key in RATIO_KEYS:
        a, b = float(ours[key]), float(base[key])
        out[f"{key}: carecircle / baseline"] = (
            a / b if b else ("equal (both 0)" if a == 0 else f"{a:g} vs 0")
        )
    return out


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-burst-") as tmp:
            ours_by_db = []
            for backend in args.db:
                found = await run_carecircle(backend, n, Path(tmp) / backend, args.quick)
                if found is not None:
                    ours_by_db.append(found[0])
                    results.append(found[0])
            if args.no_baseline:
                continue
            base = await run_baseline(n, Path(tmp) / "baseline", args.quick, args.max_retries)
            results.append(base)
            for ours in ours_by_db:
                ratios = compare(ours, base)
                results.append({"system": f"ratios: {ours['system']} / baseline", **ratios})
                print_figures(f"reminder burst, {n} doses: {ours['system']} / baseline", ratios)
    return results


def add_arguments(parser: argparse.ArgumentParser, quick: bool = False) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=[30] if quick else [1000, 10000])
    parser.add_argument("--db", nargs="+", default=["sqlite"])
    parser.add_argument("--max-retries", type=int, default=3, help="the baseline's")
    parser.add_argument("--no-baseline", action="store_true")


def main() -> None:
    run_benchmark(__doc__, add_arguments, main_async)


if __name__ == "__main__":
    main()
