"""What an operator sees, end to end: JSON log lines, a Bot API outage on /readyz and in the
log (down, then back, then polling recovered), and a second poller named as the cause."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from playground.sim import POLL_CONFLICT, FakeBotApi
from tests.e2e.conftest import BotProcess
from tests.e2e.test_web import get, listening_port


async def readiness_becomes(port: int, status: int, timeout: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        got, body = await get(f"http://127.0.0.1:{port}/readyz")
        if got == status:
            parsed: dict[str, object] = json.loads(body)
            return parsed
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz stayed {got}: {body}")
        await asyncio.sleep(0.2)


async def logged(process: BotProcess, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in process.output():
        if time.monotonic() > deadline:
            raise AssertionError(f"never logged {text!r}\n{process.output()}")
        await asyncio.sleep(0.2)


@pytest.fixture
async def json_bot(fake_api: FakeBotApi, tmp_path: Path) -> BotProcess:
    process = BotProcess(
        fake_api,
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        LOG_FORMAT="json",
        READY_UNREACHABLE_SECONDS="1",
    )
    await process.start()
    return process


async def test_a_bot_api_outage_turns_readiness_off_and_the_log_says_when_it_is_over(
    fake_api: FakeBotApi, json_bot: BotProcess
) -> None:
    port = await listening_port(json_bot, "health")
    await readiness_becomes(port, 200)

    fake_api.faults.down()  # every connection dropped, the held long poll too
    body = await readiness_becomes(port, 503)
    assert body["bot_api"] == "unreachable" and body["database"] == "ok"
    fake_api.faults.up()
    await readiness_becomes(port, 200)
    await logged(json_bot, "event=polling.recovered")

    assert await json_bot.stop() == 0
    lines = [json.loads(line) for line in json_bot.output().splitlines() if line.strip()]
    events = [line.get("event") for line in lines]
    for event in ("bot.started", "botapi.unreachable", "botapi.reachable", "polling.recovered"):
        assert event in events, events
    assert events.index("botapi.unreachable") < events.index("botapi.reachable")
    [down] = [line for line in lines if line.get("event") == "botapi.unreachable"]
    assert down["level"] == "WARNING" and "description=" in down["message"]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert fake_api.token not in json_bot.output()


async def test_a_second_poller_is_named_as_the_cause(fake_api: FakeBotApi, bot: BotProcess) -> None:
    fake_api.faults.fail_next("getUpdates", 409, description=POLL_CONFLICT)
    await logged(bot, "another instance is polling with this token")
    await logged(bot, "event=polling.recovered")
    assert "event=polling.conflict" in bot.output()
