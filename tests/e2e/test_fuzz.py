"""A fuzz run against the running bot: thousands of random updates — junk text, commands with
junk arguments, random and replayed callback data, media, users in no circle. The bot must not
crash, never cause a Bad Request, and answer every update within 2 seconds."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from pathlib import Path

import pytest

from bot import texts
from playground.sim import FakeBotApi, FakeUser
from tests.e2e.conftest import BotProcess
from tests.e2e.test_circle_journey import onboard_patient

UPDATES = int(os.environ.get("FUZZ_UPDATES", "2000"))
ACTORS = 15
# Telegram lets a bot send about 30 messages a second, so no bot can answer faster than that:
# the updates come at a steady rate below it (a reply can be two messages).
UPDATES_PER_SECOND = 20.0
# Each actor acts every 0.75 s, faster than the one message a second Telegram allows per chat,
# and the bot keeps to that for replies too: an answer can wait a second behind each message
# still due in that chat (a reply of two, a notification). This checks that every update is
# answered, not how fast at a pace no chat may be served at.
REPLY_WITHIN = 4.0
SEED = int(os.environ.get("FUZZ_SEED", "20261123"))

COMMANDS = sorted(
    {name for name, _ in texts.menu_commands(is_patient=True, is_helper=True)}
    | {name for name, _ in texts.COMMANDS_EVERYONE}
    | {"start", "join", "need", "addmed", "took", "quiet", "away", "back", "export"}
)
ODD_TEXTS = [
    "",
    " ",
    "<b>bold</b> & <i>",
    "<script>alert(1)</script>",
    "*_[]()~`>#+-=|{}.!",
    "مرحبا، أحتاج إلى الماء",
    "שלום עולם",
    "😀😀😀",
    "\u200f\u202e reversed",
    "null",
    "0",
    "-1",
    "99999999999999999999",
    "08:00,,",
    "25:00",
    "a | b | c | d | e",
    "join_" + "A" * 40,
    "%s %d {0} {{}}",
]
ACTIVE_METHODS = (
    "sendMessage",
    "sendPhoto",
    "sendVoice",
    "sendDocument",
    "copyMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
)


def junk(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(ODD_TEXTS)
    if roll < 0.45:
        return "x" * rng.randint(3000, 4500)  # long, some over our 4,000 limit
    alphabet = "abc XYZ 0123456789 <>&|:/_-.,;!? äöü ßç ñ 日本 😀 \n\t"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))


def random_callback(rng: random.Random, seen: list[str]) -> str:
    roll = rng.random()
    if roll < 0.4 and seen:
        return rng.choice(seen)  # a real button, pressed by whoever comes along
    if roll < 0.7:
        ns = rng.choice(["need", "med", "dose", "circle", "set", "inv", "tz", "stage", "tip"])
        verb = rng.choice(["claim", "done", "rm", "rmyes", "take", "snz", "tog", "go", "x"])
        args = ":".join(str(rng.randint(-5, 10**6)) for _ in range(rng.randint(0, 2)))
        return f"1:{ns}:{verb}" + (f":{args}" if args else "")
    return junk(rng)[:64] or "?"


async def responded(fake: FakeBotApi, chat_id: int, after: int, timeout: float) -> bool:
    """Whether the bot sent or changed something in this chat after call number `after`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in fake.calls[after:]:
            if call.method in ACTIVE_METHODS and call.chat_id == chat_id and call.ok:
                return True
        await asyncio.sleep(0.02)
    return False


def button_data(fake: FakeBotApi) -> list[str]:
    found = []
    for message in fake.sent_messages():
        markup = message.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            found += [b["callback_data"] for b in row if "callback_data" in b]
    return found


async def act(
    fake: FakeBotApi, user: FakeUser, rng: random.Random, seen: list[str], latencies: list[float]
) -> None:
    roll = rng.random()
    mark = len(fake.calls)
    started = time.monotonic()
    if roll < 0.3:
        message = await user.send(junk(rng))
        got = await responded(fake, user.chat_id, mark, REPLY_WITHIN)
        what = f"text {message.get('text', '')[:40]!r}"
    elif roll < 0.65:
        command = f"/{rng.choice(COMMANDS)}"
        if rng.random() < 0.7:
            command += " " + junk(rng)[:200]
        await user.send(command)
        got = await responded(fake, user.chat_id, mark, REPLY_WITHIN)
        what = f"command {command[:40]!r}"
    elif roll < 0.92 and user.messages:
        # Telegram only reports presses on real messages; what they carry can be anything.
        message_id = rng.choice(user.messages)["message_id"]
        data = random_callback(rng, seen)
        press = await user.press_data(message_id, data)
        try:
            await press.answer(timeout=REPLY_WITHIN)
            got = True
        except AssertionError:
            got = False
        what = f"button {data!r}"
    else:
        await (user.send_photo() if rng.random() < 0.5 else user.send_voice())
        got = await responded(fake, user.chat_id, mark, REPLY_WITHIN)
        what = "media"
    latencies.append(time.monotonic() - started)
    assert got, f"user {user.chat_id}: no reply within {REPLY_WITHIN}s to {what}"


@pytest.mark.timing  # it measures reply times on the wall clock
async def test_thousands_of_random_updates(fake_api: FakeBotApi, tmp_path: Path) -> None:
    # The fuzz run exercises handlers, not the database: SQLite is enough (no PostgreSQL
    # database is created for a run that would only skip).
    process = BotProcess(fake_api, tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'carecircle.db'}")
    await process.start()
    rng = random.Random(SEED)
    # A few real circles, so there are real buttons and real states to stumble into.
    people: list[FakeUser] = []
    for n in range(2):
        patient = fake_api.user(1600 + n, f"Pat{n}")
        code = await onboard_patient(fake_api, patient)
        helper = fake_api.user(2600 + n, f"Helper{n}")
        await helper.send(f"/join {code}")
        await helper.wait_for("You're now in")
        people += [patient, helper]
    strangers = [fake_api.user(3600 + n, f"Stranger{n}") for n in range(ACTORS - len(people))]
    actors = people + strangers
    seen = button_data(fake_api)
    latencies: list[float] = []
    per_actor = UPDATES // len(actors)

    gap = len(actors) / UPDATES_PER_SECOND

    async def run(index: int, user: FakeUser) -> None:
        start = time.monotonic() + index * gap / len(actors)
        for n in range(per_actor):
            await asyncio.sleep(max(0.0, start + n * gap - time.monotonic()))
            await act(fake_api, user, rng, seen, latencies)
            if rng.random() < 0.05:
                seen[:] = button_data(fake_api)

    await asyncio.gather(*(run(i, user) for i, user in enumerate(actors)))

    # Not even "message is not modified": two presses racing on one message both carry its
    # old view, and edit_or_reply remembers that the first already made the edit.
    bad = [c for c in fake_api.calls if c.status == 400]
    ordered = sorted(latencies)
    print(
        f"\nfuzz: {len(latencies)} updates (seed {SEED}), replies p50 "
        f"{statistics.median(ordered) * 1000:.0f} ms, p99 "
        f"{ordered[int(len(ordered) * 0.99)] * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms; "
        f"{len(bad)} Bad Requests"
    )
    assert not bad, [(c.method, c.error) for c in bad[:5]]
    assert process.process is not None and process.process.returncode is None, "the bot died"
    assert await process.stop() == 0
    output = process.output()
    assert "Traceback" not in output, output[-3000:]
