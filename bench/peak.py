"""The 08:00 peak: N patients with three medications each, all due in the same minute.

carecircle is run in variants, each against its own fresh database and fake Bot API, in the
same run: "grouped" (the default: one message per patient for the minute), "per-dose"
(GROUP_REMINDERS=false: a message per dose, as before grouping), "paid" (grouped, with
PAID_BROADCAST=true: reminders sent with allow_paid_broadcast at up to 1,000/s) and the
"baseline" (`bench/baseline`: one PTB JobQueue job per dose, AIORateLimiter).

Figures: messages sent, seconds from the minute until the last patient had their first
reminder and its ratio to the floor (patients ÷ 30 s, or ÷ 1,000 s when paid), lateness
p50/p99 per patient, 429s, patients and doses never reminded, duplicates, the bot's peak RSS,
and paid messages (with their cost in Stars). While the grouped peak drains, other users
drive the interactive load of `bench.interactive` (50 updates/s) and its latency is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import re
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench import interactive
from bench.burst import current_minute, due_minute
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

FIRST_PATIENT = 20_000_000
MEDS = ("Med1", "Med2", "Med3")  # the names harness.seed gives a patient's medications
REMINDER = "Time for"
STALL_SECONDS = 90.0
PAID_PER_SECOND = 1000.0
STARS_PER_PAID_MESSAGE = 0.1  # Telegram's fee for a message sent with allow_paid_broadcast
INTERACTIVE_USERS = 200
INTERACTIVE_RATE = 50.0

VARIANTS: dict[str, dict[str, str]] = {
    "grouped": {},
    "per-dose": {"GROUP_REMINDERS": "false"},
    "paid": {"PAID_BROADCAST": "true"},
}
ALL = ("grouped", "per-dose", "baseline", "paid")
_MED = re.compile(r"\bMed[123]\b")


def plan(n: int, due: dt.datetime) -> tuple[list[int], list[PatientSeed]]:
    ids = [FIRST_PATIENT + i for i in range(n)]
    hhmm = f"{due:%H:%M}"
    return ids, [PatientSeed(i, meds=[[hhmm]] * 3, med_next_due=[due] * 3) for i in ids]


async def collect(
    fake: RecordingFake, patients: list[int], due: dt.datetime, timeout: float
) -> tuple[list[tuple[int, float, str]], bool]:
    """Every reminder message to the patients as (chat, wall time, text), until each patient
    was reminded of all three doses (or nothing arrived for a while, or time ran out)."""
    wanted = set(patients)
    messages: list[tuple[int, float, str]] = []
    doses: dict[int, set[str]] = collections.defaultdict(set)
    complete_chats = 0
    checked = 0
    deadline = time.monotonic() + timeout
    quiet_until = time.monotonic() + max(0.0, due.timestamp() - time.time()) + STALL_SECONDS
    while time.monotonic() < min(deadline, quiet_until):
        deliveries = fake.deliveries
        for d in deliveries[checked:]:
            if d.chat_id not in wanted or d.method != "sendMessage" or REMINDER not in d.text:
                continue
            quiet_until = max(quiet_until, d.monotonic + STALL_SECONDS)
            messages.append((d.chat_id, d.wall, d.text))
            had = len(doses[d.chat_id])
            doses[d.chat_id] |= set(_MED.findall(d.text))
            if had < len(MEDS) <= len(doses[d.chat_id]):
                complete_chats += 1
        checked = len(deliveries)
        if complete_chats == len(wanted):
            return messages, True
        await asyncio.sleep(0.05)
    return messages, False


def summarise(
    name: str,
    n: int,
    due: dt.datetime,
    messages: list[tuple[int, float, str]],
    complete: bool,
    fake: RecordingFake,
    start_wall: float,
    per_second: float,
) -> dict[str, Any]:
    due_wall = due.timestamp()
    t0 = max(due_wall, start_wall)  # a quick run may start after the minute began
    first: dict[int, float] = {}
    doses: collections.Counter[tuple[int, str]] = collections.Counter()
    dose_first: dict[tuple[int, str], float] = {}
    for chat, wall, text in messages:
        first.setdefault(chat, wall)
        for med in _MED.findall(text):
            dose_first.setdefault((chat, med), wall)
            doses[(chat, med)] += 1
    lateness = [wall - due_wall for wall in first.values()]
    took = max(first.values(), default=float("nan")) - t0
    drained = max(dose_first.values(), default=float("nan")) - t0
    floor = n / per_second
    paid = getattr(fake, "paid_messages", None)
    figures = {
        "system": name,
        "patients": n,
        "doses due": n * len(MEDS),
        "all reminded": complete,
        "reminder messages sent": len(messages),
        "messages per patient": len(messages) / n if n else float("nan"),
        "seconds, minute to last patient reminded": took,
        f"floor at {per_second:g}/s, seconds": floor,
        "ratio to floor": took / floor,
        # a message per dose sends each patient's first before anyone's second: this is when
        # the last dose of all was reminded (the whole queue drained)
        "seconds, minute to last dose reminded": drained,
        "lateness per patient p50 s": percentile(lateness, 50),
        "lateness per patient p99 s": percentile(lateness, 99),
        "patients never reminded": n - len(first),
        "doses never reminded": n * len(MEDS) - len(doses),
        "doses reminded twice": sum(c - 1 for c in doses.values()),
        "429s received": fake.count_status(429),
        "flood violations at the fake": len(fake.flood_violations),
    }
    if paid is not None:
        figures["paid messages at the fake"] = paid
        figures["cost in Stars at 0.1 each"] = round(paid * STARS_PER_PAID_MESSAGE, 1)
    return figures


@contextlib.asynccontextmanager
async def interactive_load(
    fake: RecordingFake,
    users: list[interactive.SimUser],
    until: asyncio.Event,
    rounds: float,
    due: dt.datetime,
) -> AsyncIterator[dict[str, Any]]:
    """Other users at 50 updates/s while the peak drains, from the minute it is due (their
    warm-up first, unmeasured), in rounds of `rounds` seconds, at least one; the figures fill
    in when the block ends, with the p99 of each round to show when the tail came."""
    figures: dict[str, Any] = {}
    await asyncio.gather(*(interactive._steps(fake, u, 3 + i % 3) for i, u in enumerate(users)))

    async def drive() -> None:
        tallies: list[interactive.Tally] = []
        await asyncio.sleep(max(0.0, due.timestamp() - time.time()))
        began = time.monotonic()
        while True:
            tally, _, _ = await interactive.open_loop(fake, users, INTERACTIVE_RATE, rounds)
            tallies.append(tally)
            if until.is_set():
                break
        merged = interactive.Tally()
        for tally in tallies:
            merged.latencies += tally.latencies
            merged.commands += tally.commands
            merged.presses += tally.presses
            merged.timeouts += tally.timeouts
            merged.errors += tally.errors
        figures.update(
            interactive._summary(
                f"interactive {INTERACTIVE_RATE:g}/s during the peak:",
                merged,
                time.monotonic() - began,
            )
        )
        figures[f"interactive p99 ms per {rounds:g} s round from the minute"] = " ".join(
            f"{percentile(t.latencies, 99) * 1000:.0f}" for t in tallies
        )

    task = asyncio.create_task(drive())
    try:
        yield figures
    finally:
        until.set()
        await task


async def run_carecircle(
    variant: str, backend: str, n: int, workdir: Path, quick: bool, load: bool
) -> dict[str, Any] | None:
    per_second = PAID_PER_SECOND if variant == "paid" else TELEGRAM_CEILING_PER_SECOND
    try:
        async with database(backend, workdir) as db, RecordingFake() as fake:
            print_machine(db.backend)
            due = current_minute() if quick else due_minute(60 + n / 400)
            ids, seeds = plan(n, due)
            count = (20 if quick else INTERACTIVE_USERS) if load else 0
            others = [interactive.FIRST_USER + i for i in range(count)]
            seeds += [PatientSeed(i, meds=[["23:59"]], med_next_due=[None]) for i in others]
            seeded = await seed(db.url, seeds)
            start_users(fake, ids + others)
            settings = {"SWEEP_INTERVAL_SECONDS": "2"} if quick else {}
            bot = BotRun(fake, workdir / "bot", db.url, **settings, **VARIANTS[variant])
            await bot.start()
            try:
                await bot.wait_ready()
                start_wall = time.time()
                done = asyncio.Event()
                users = [interactive.SimUser(i) for i in others]
                async with contextlib.AsyncExitStack() as stack:
                    during: dict[str, Any] = {}
                    if load:
                        during = await stack.enter_async_context(
                            interactive_load(fake, users, done, 2 if quick else 10, due)
                        )
                    timeout = n * len(MEDS) / TELEGRAM_CEILING_PER_SECOND * 1.5 + 180
                    wait = max(0.0, due.timestamp() - time.time())
                    messages, complete = await collect(fake, ids, due, wait + timeout)
                    done.set()
                name = f"carecircle {variant} ({db.backend})"
                figures = summarise(name, n, due, messages, complete, fake, start_wall, per_second)
                figures["seconds to seed"] = round(seeded, 1)
                figures |= during
                figures["peak RSS MiB"] = round(bot.peak_rss_mib(), 1)
            finally:
                await bot.stop()
            figures["tracebacks in bot log"] = bot.tracebacks()
    except Skip as reason:
        print(f"\n== peak {variant} ({backend}) SKIPPED: {reason}", flush=True)
        return None
    print_figures(f"08:00 peak: {name}, {n} patients x {len(MEDS)}", figures)
    return figures


async def run_baseline(n: int, workdir: Path, quick: bool, max_retries: int) -> dict[str, Any]:
    async with RecordingFake() as fake:
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
        due = soon if quick else due_minute(30 + n / 1000)
        ids, _ = plan(n, due)
        rows = [
            [user_id, due.timestamp(), f"💊 {REMINDER} {med} 1 tablet"]
            for user_id in ids
            for med in MEDS
        ]
        start_users(fake, ids)
        async with baseline_bot(fake, workdir, rows, max_retries) as bot:
            start_wall = time.time()
            timeout = n * len(MEDS) / TELEGRAM_CEILING_PER_SECOND * 2.5 + 180
            messages, complete = await collect(
                fake, ids, due, max(0.0, due.timestamp() - time.time()) + timeout
            )
            figures = summarise(
                baseline_name(max_retries),
                n,
                due,
                messages,
                complete,
                fake,
                start_wall,
                TELEGRAM_CEILING_PER_SECOND,
            )
            figures["peak RSS MiB"] = round(bot.peak_rss_mib(), 1)
        figures |= baseline_log_figures(bot)
    print_figures(f"08:00 peak: baseline, {n} patients x {len(MEDS)}", figures)
    return figures


RATIO_KEYS = (
    "reminder messages sent",
    "seconds, minute to last patient reminded",
    "seconds, minute to last dose reminded",
    "lateness per patient p50 s",
    "lateness per patient p99 s",
    "peak RSS MiB",
)


def ratios(ours: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in RATIO_KEYS:
        a, b = float(ours[key]), float(other[key])
        out[f"{key}: {ours['system']} / {other['system']}"] = a / b if b else f"{a:g} vs 0"
    return out


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    variants = [v for v in ALL if v in args.variants]
    with tempfile.TemporaryDirectory(prefix="bench-peak-") as tmp:
        for backend in args.db:
            by_variant: dict[str, dict[str, Any]] = {}
            for variant in (v for v in variants if v != "baseline"):
                load = variant == "grouped" and not args.no_interactive
                found = await run_carecircle(
                    variant, backend, args.patients, Path(tmp) / f"{backend}-{variant}",
                    args.quick, load,
                )  # fmt: skip
                if found is not None:
                    by_variant[variant] = found
                    results.append(found)
            if "baseline" in variants and backend == args.db[0]:
                base = await run_baseline(
                    args.patients, Path(tmp) / "baseline", args.quick, args.max_retries
                )
                by_variant["baseline"] = base
                results.append(base)
            grouped = by_variant.get("grouped")
            for other in ("per-dose", "baseline"):
                if grouped is not None and other in by_variant:
                    compared = ratios(grouped, by_variant[other])
                    results.append({"system": f"ratios: grouped / {other}", **compared})
                    print_figures(f"08:00 peak: grouped / {other}", compared)
    return results


def add_arguments(parser: argparse.ArgumentParser, quick: bool = False) -> None:
    parser.add_argument("--patients", type=int, default=20 if quick else 10_000)
    parser.add_argument("--db", nargs="+", default=["sqlite"])
    parser.add_argument(
        "--variants", type=lambda s: s.split(","), default=list(ALL), help="e.g. grouped,paid"
    )
    parser.add_argument("--max-retries", type=int, default=3, help="the baseline's")
    parser.add_argument("--no-interactive", action="store_true")


def main() -> None:
    run_benchmark(__doc__, add_arguments, main_async)


if __name__ == "__main__":
    main()
