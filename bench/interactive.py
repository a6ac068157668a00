"""Interactive: simulated patients sending /meds and pressing its buttons, concurrently.

Each user repeats a three-step journey: `/meds` (a new message with a button per
medication), press the medication (the message is edited to its details), press Back (edited
to the list again). Latency is from the update being queued at the fake Bot API (where the
bot's long poll picks it up) to the bot's reply (sendMessage / editMessageText) arriving there.

Three phases per database:
* open loop at a fixed offered rate (the target: p99 < 100 ms at 50 updates/s);
* closed loop: every user acts again as soon as they have their answer. A third of the
  updates are commands, each answered with a new message, and Telegram lets a bot send about
  30 a second, so this is bounded by Telegram's ceiling rather than by the machine;
* closed loop of button presses only (answered by edits, which the ceiling does not count):
  what the machine itself sustains.

A user sends at most one command every two seconds: Telegram allows a bot one message a second
per private chat, and a direct reply that breaks it would come back as a 429.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import (
    BotRun,
    Delivery,
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

FIRST_USER = 7_000_000
REPLY_TIMEOUT = 15.0
# Telegram allows one message a second per private chat, and the bot's direct replies are not
# spaced per chat (the person is waiting): a person sends at most one command in two seconds.
COMMAND_GAP = 2.0


@dataclass
class SimUser:
    """One patient and where they are in the journey."""

    user_id: int
    step: int = 0
    busy: bool = False
    last_command: float = 0.0
    message_id: int | None = None
    buttons: list[str] = field(default_factory=list)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    commands: list[float] = field(default_factory=list)
    presses: list[float] = field(default_factory=list)
    timeouts: int = 0
    errors: int = 0


def _buttons(fake: RecordingFake, chat_id: int, message_id: int) -> list[str]:
    stored = fake._chats[chat_id].messages.get(message_id)
    if stored is None or stored.inline_markup is None:
        return []
    return [
        b["callback_data"]
        for row in stored.inline_markup["inline_keyboard"]
        for b in row
        if "callback_data" in b
    ]


async def act(
    fake: RecordingFake, user: SimUser, tally: Tally | None, presses_only: bool = False
) -> None:
    """Take the user's next step and wait for the bot's answer; with `presses_only`, after
    Back the user opens the medication again instead of sending /meds."""
    user.busy = True
    try:
        waiter = fake.expect(user.user_id)
        sim = fake.user(user.user_id, f"U{user.user_id}")
        if user.step == 0 or user.message_id is None:
            wait = user.last_command + COMMAND_GAP - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                waiter = fake.expect(user.user_id)
            user.last_command = began = time.monotonic()
            await sim.send("/meds")
            kind = "command"
        else:
            wanted = ":med:show:" if user.step == 1 else ":med:list:"
            data = next((b for b in user.buttons if wanted in b), None)
            if data is None:
                user.step, user.message_id = 0, None
                if tally is not None:
                    tally.errors += 1
                return
            began = time.monotonic()
            await sim.press_data(user.message_id, data)
            kind = "press"
        try:
            delivery: Delivery = await asyncio.wait_for(waiter, REPLY_TIMEOUT)
        except TimeoutError:
            if tally is not None:
                tally.timeouts += 1
            user.step, user.message_id = 0, None
            return
        latency = delivery.monotonic - began
        if tally is not None:
            tally.latencies.append(latency)
            (tally.commands if kind == "command" else tally.presses).append(latency)
        if delivery.method == "sendMessage":
            user.message_id = _last_bot_message(fake, user.user_id)
        if user.message_id is not None:
            user.buttons = _buttons(fake, user.user_id, user.message_id)
        user.step = (user.step + 1) % 3
        if presses_only and user.step == 0:
            user.step = 1
    finally:
        user.busy = False


def _last_bot_message(fake: RecordingFake, chat_id: int) -> int | None:
    messages = fake._chats[chat_id].bot_messages()
    return messages[-1].message_id if messages else None


async def open_loop(
    fake: RecordingFake, users: list[SimUser], rate: float, seconds: float
) -> tuple[Tally, float, int]:
    """Offer `rate` updates/s for `seconds`; returns the tally, real duration, skipped slots."""
    tally = Tally()
    tasks: set[asyncio.Task[None]] = set()
    total = int(rate * seconds)
    skipped = 0
    cursor = 0
    began = time.monotonic()
    for k in range(total):
        delay = began + k / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        for _ in range(len(users)):
            user = users[cursor % len(users)]
            cursor += 1
            if not user.busy:
                break
        else:
            skipped += 1
            continue
        user.busy = True
        task = asyncio.create_task(act(fake, user, tally))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return tally, time.monotonic() - began, skipped


async def closed_loop(
    fake: RecordingFake, users: list[SimUser], seconds: float, presses_only: bool = False
) -> tuple[Tally, float]:
    tally = Tally()
    if presses_only:  # users about to send /meds do so first, unmeasured
        await asyncio.gather(*(act(fake, u, None) for u in users if u.step == 0))
    deadline = time.monotonic() + seconds

    async def run(user: SimUser) -> None:
        while time.monotonic() < deadline:
            await act(fake, user, tally, presses_only)

    began = time.monotonic()
    await asyncio.gather(*(run(u) for u in users))
    return tally, time.monotonic() - began


def _summary(prefix: str, tally: Tally, duration: float) -> dict[str, Any]:
    ms = 1000.0
    return {
        f"{prefix} updates answered": len(tally.latencies),
        f"{prefix} updates/s answered": len(tally.latencies) / duration,
        f"{prefix} p50 ms": percentile(tally.latencies, 50) * ms,
        f"{prefix} p90 ms": percentile(tally.latencies, 90) * ms,
        f"{prefix} p99 ms": percentile(tally.latencies, 99) * ms,
        f"{prefix} max ms": max(tally.latencies, default=float("nan")) * ms,
        f"{prefix} p99 ms, commands (new message)": percentile(tally.commands, 99) * ms,
        f"{prefix} p99 ms, button presses (edit)": percentile(tally.presses, 99) * ms,
        f"{prefix} timeouts": tally.timeouts,
        f"{prefix} errors": tally.errors,
    }


@contextlib.contextmanager
def _phase(
    bot: BotRun, fake: RecordingFake, figures: dict[str, Any], prefix: str
) -> Iterator[None]:
    """CPU share of the bot and of this process (fake + simulated users) over a phase: which
    one is the bottleneck on two cores; and the flood rules broken meanwhile, if any."""
    wall, ours, theirs = time.monotonic(), time.process_time(), bot.cpu_seconds()
    violations = len(fake.flood_violations)
    yield
    wall = time.monotonic() - wall
    figures[f"{prefix} bot CPU %"] = round(100 * (bot.cpu_seconds() - theirs) / wall)
    figures[f"{prefix} fake+users CPU %"] = round(100 * (time.process_time() - ours) / wall)
    broken = fake.flood_violations[violations:]
    figures[f"{prefix} flood violations"] = (
        ", ".join(f"{v.rule} ({v.observed} > {v.limit:g})" for v in broken) or 0
    )


async def run(
    backend: str, users: int, rates: list[float], seconds: float, workdir: Path
) -> dict[str, Any]:
    async with database(backend, workdir) as db, RecordingFake() as fake:
        print_machine(db.backend)
        ids = [FIRST_USER + i for i in range(users)]
        await seed(db.url, [PatientSeed(i, meds=[["23:59"]], med_next_due=[None]) for i in ids])
        start_users(fake, ids)
        sims = [SimUser(i) for i in ids]
        async with running_bot(fake, workdir / "bot", db.url) as bot:
            # Warm-up, unmeasured: each user goes through the journey once, then users are set
            # a step apart, so the offered load mixes commands and presses as real use would.
            # (In step, all 200 would send /meds in the same four seconds: 50 new messages a
            # second, more than Telegram lets a bot send, so replies would queue by design.)
            await asyncio.gather(*(_steps(fake, u, 3 + i % 3) for i, u in enumerate(sims)))
            figures: dict[str, Any] = {"database": db.backend, "users": users}
            for rate in rates:
                prefix = f"open loop {rate:g}/s:"
                with _phase(bot, fake, figures, prefix):
                    tally, duration, skipped = await open_loop(fake, sims, rate, seconds)
                figures[f"{prefix} seconds"] = round(duration, 1)
                figures[f"{prefix} slots skipped (no idle user)"] = skipped
                figures |= _summary(prefix, tally, duration)
            with _phase(bot, fake, figures, "closed loop:"):
                closed, closed_duration = await closed_loop(fake, sims, seconds)
            figures |= _summary("closed loop:", closed, closed_duration)
            prefix = "closed loop, presses only:"
            with _phase(bot, fake, figures, prefix):
                closed, closed_duration = await closed_loop(fake, sims, seconds, True)
            figures |= _summary(prefix, closed, closed_duration)
            figures["429s received"] = fake.count_status(429)
            figures["flood violations at the fake"] = len(fake.flood_violations)
            figures |= fake.stall_figures()
            figures["peak RSS MiB"] = round(bot.peak_rss_mib(), 1)
            figures["tracebacks in bot log"] = bot.tracebacks()
    print_figures(f"interactive ({db.backend}, {users} users)", figures)
    return figures


async def _steps(fake: RecordingFake, user: SimUser, steps: int) -> None:
    for _ in range(steps):
        await act(fake, user, None)


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for backend in args.db:
        with tempfile.TemporaryDirectory(prefix="bench-interactive-") as tmp:
            try:
                results.append(await run(backend, args.users, args.rate, args.seconds, Path(tmp)))
            except Skip as reason:
                print(f"\n== interactive ({backend}) SKIPPED: {reason}", flush=True)
    return results


def add_arguments(parser: argparse.ArgumentParser, quick: bool = False) -> None:
    parser.add_argument("--users", type=int, default=20 if quick else 200)
    parser.add_argument("--rate", type=float, nargs="+", default=[10.0] if quick else [25.0, 50.0])
    parser.add_argument("--seconds", type=float, default=5.0 if quick else 30.0)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])


def main() -> None:
    run_benchmark(__doc__, add_arguments, main_async)


if __name__ == "__main__":
    main()
