"""Need fan-out: a circle with 20 helpers; time from `/need` to the last helper notified.

The patient sends `/need <text>`; the bot answers them and queues one offer per helper in the
outbox, which its sender delivers within Telegram's limits (one message a second per chat,
about 30 a second overall). Measured from the update being queued at the fake Bot API to the
last helper's offer arriving there. Repeated a few times per database.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import (
    PatientSeed,
    RecordingFake,
    Skip,
    database,
    percentile,
    print_figures,
    print_machine,
    run_benchmark,
    running_bot,
    seed,
    start_users,
)

PATIENT = 8_000_000
OFFER = "needs a hand"


async def wait_offers(
    fake: RecordingFake, helpers: set[int], since: float, timeout: float = 60
) -> dict[int, float]:
    """When each helper got their first offer after `since` (monotonic)."""
    deadline = time.monotonic() + timeout
    seen: dict[int, float] = {}
    checked = 0
    while time.monotonic() < deadline:
        deliveries = fake.deliveries
        for delivery in deliveries[checked:]:
            if (
                delivery.monotonic >= since
                and delivery.chat_id in helpers
                and delivery.chat_id not in seen
                and OFFER in delivery.text
            ):
                seen[delivery.chat_id] = delivery.monotonic
        checked = len(deliveries)
        if len(seen) == len(helpers):
            break
        await asyncio.sleep(0.005)
    return seen


async def run(backend: str, helpers: int, rounds: int, workdir: Path) -> dict[str, Any]:
    async with database(backend, workdir) as db, RecordingFake() as fake:
        print_machine(db.backend)
        helper_ids = [PATIENT + 1 + i for i in range(helpers)]
        await seed(db.url, [PatientSeed(PATIENT, helpers=helper_ids)])
        start_users(fake, [PATIENT, *helper_ids])
        patient = fake.user(PATIENT, "Pat")
        totals: list[float] = []
        firsts: list[float] = []
        replies: list[float] = []
        missing = 0
        async with running_bot(fake, workdir / "bot", db.url) as bot:
            for round_no in range(rounds + 1):  # round 0 warms up, unmeasured
                reply = fake.expect(PATIENT)
                began = time.monotonic()
                await patient.send(f"/need Please bring a glass of water ({round_no})")
                answered = await asyncio.wait_for(reply, 15)
                seen = await wait_offers(fake, set(helper_ids), began)
                if round_no == 0:
                    await asyncio.sleep(1.5)
                    continue
                missing += len(helper_ids) - len(seen)
                replies.append(answered.monotonic - began)
                if seen:
                    totals.append(max(seen.values()) - began)
                    firsts.append(min(seen.values()) - began)
                # Let every chat's one-a-second spacing pass before the next need.
                await asyncio.sleep(1.5)
            offers = sum(1 for d in fake.deliveries if OFFER in d.text)
            figures: dict[str, Any] = {
                "database": db.backend,
                "helpers": helpers,
                "needs posted (measured)": rounds,
                "patient's reply, median ms": percentile(replies, 50) * 1000,
                "first helper notified, median ms": percentile(firsts, 50) * 1000,
                "last helper notified, median ms": percentile(totals, 50) * 1000,
                "last helper notified, max ms": max(totals, default=float("nan")) * 1000,
                "floor at 30 msg/s, ms": helpers / 30 * 1000,
                "offers delivered": offers,
                "offers expected": helpers * (rounds + 1),
                "offers missing": missing,
                "429s received": fake.count_status(429),
                "tracebacks in bot log": bot.tracebacks(),
            }
    print_figures(f"need fan-out ({db.backend}, {helpers} helpers)", figures)
    return figures


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for backend in args.db:
        with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
            try:
                results.append(await run(backend, args.helpers, args.rounds, Path(tmp)))
            except Skip as reason:
                print(f"\n== need fan-out ({backend}) SKIPPED: {reason}", flush=True)
    return results


def add_arguments(parser: argparse.ArgumentParser, quick: bool = False) -> None:
    parser.add_argument("--helpers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3 if quick else 10)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])


def main() -> None:
    run_benchmark(__doc__, add_arguments, main_async)


if __name__ == "__main__":
    main()
