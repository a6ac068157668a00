"""Webhook mode and the health port, end to end: the real `python -m bot` behind its own HTTP
servers, with the fake Bot API posting updates to the webhook as Telegram does."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from playground.sim import FakeBotApi
from tests.e2e.conftest import BotProcess
from tests.e2e.test_circle_journey import onboard_patient
from tests.e2e.test_startup import only_line, run_bot

HEADER = "X-Telegram-Bot-Api-Secret-Token"
LISTENING = re.compile(r"event=http\.listening server=(\w+) port=(\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_settings(port: int, **extra: str) -> dict[str, str]:
    return {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        **extra,
    }


async def listening_port(process: BotProcess, server: str, timeout: float = 30) -> int:
    """The port a server of the current run reports in its log (it may have asked for any)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = process.log_path.read_text(errors="replace") if process.log_path.exists() else ""
        for name, port in LISTENING.findall(text):
            if name == server:
                return int(port)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {server} server in the log\n{process.output()}")


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def metric_samples(exposition: str) -> dict[str, float]:
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


@pytest.fixture
async def webhook_bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[BotProcess]:
    port = free_port()
    process = BotProcess(
        fake_api, tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}", **webhook_settings(port)
    )
    await process.start()
    yield process
    code = await process.stop()
    output = process.output()
    assert "Traceback" not in output, output
    assert code == 0, output


async def test_onboarding_works_over_the_webhook_and_a_wrong_secret_is_refused(
    fake_api: FakeBotApi, webhook_bot: BotProcess
) -> None:
    [registered] = fake_api.calls_to("setWebhook")
    params: dict[str, Any] = registered.params
    url = webhook_bot.env["WEBHOOK_URL"]
    assert params["url"] == url
    assert len(params["secret_token"]) >= 32  # random: WEBHOOK_SECRET was not set
    assert "callback_query" in params["allowed_updates"]
    assert params.get("drop_pending_updates") in (None, False, "false")

    patient = fake_api.user(1001, "Pat")
    helper = fake_api.user(2001, "Anna")
    code = await onboard_patient(fake_api, patient)
    await helper.send(f"/start join_{code}")
    await helper.wait_for("care circle")
    await patient.wait_for("Anna")  # through the outbox
    assert fake_api.calls_to("getUpdates") == []
    assert fake_api.webhook_deliveries and all(s == 200 for _, s, _ in fake_api.webhook_deliveries)

    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/start"}}
    async with aiohttp.ClientSession() as session:
        for headers in ({HEADER: "not-the-secret"}, {}):
            async with session.post(url, json=update, headers=headers) as response:
                assert response.status == 401
    await patient.expect_no_message(within=0.5)
    assert webhook_bot.output().count("event=webhook.refused") == 2
    assert params["secret_token"] not in webhook_bot.output()


async def test_health_readiness_and_metrics_answer_on_the_health_port(
    fake_api: FakeBotApi, webhook_bot: BotProcess
) -> None:
    patient = fake_api.user(1001, "Pat")
    helper = fake_api.user(2001, "Anna")
    code = await onboard_patient(fake_api, patient)
    await helper.send(f"/start join_{code}")
    await patient.wait_for("Anna")  # "Anna joined", through the outbox
    port = await listening_port(webhook_bot, "health")
    base = f"http://127.0.0.1:{port}"

    assert await get(f"{base}/healthz") == (200, '{"alive": true}')
    status, body = await get(f"{base}/readyz")
    assert status == 200, body
    assert '"database": "ok"' in body and '"role": "single"' in body
    assert '"running": true' in body

    # The sender counts a notification once it has recorded it as sent, a moment after the
    # fake has it: scrape until the count shows (or give up after a few seconds).
    sent_joined = "carecircle_notifications_sent_total{kind=circle.joined}"
    for _ in range(50):
        status, exposition = await get(f"{base}/metrics")
        assert status == 200
        samples = metric_samples(exposition)
        if sent_joined in samples:
            break
        await asyncio.sleep(0.1)
    assert samples["carecircle_updates_total{kind=message}"] >= 1
    assert samples["carecircle_updates_total{kind=callback}"] >= 3  # role, zone, stage
    assert samples[sent_joined] >= 1
    assert samples["carecircle_outbox_depth{due=now}"] >= 0
    assert "carecircle_reminder_lateness_seconds_count" in samples


async def test_a_shared_secret_is_used_and_the_webhook_is_kept_across_a_restart(
    tmp_path: Path,
) -> None:
    # Telegram retries a webhook for a long time; so does this fake, for this test.
    async with FakeBotApi(webhook_retry_delays=(0.5,) * 80) as fake:
        port = free_port()
        shared = "shared-by-every-replica_0123456789"
        process = BotProcess(
            fake,
            tmp_path,
            f"sqlite+aiosqlite:///{tmp_path / 'db'}",
            **webhook_settings(port, WEBHOOK_SECRET=shared),
        )
        await process.start()
        assert fake.calls_to("setWebhook")[-1].params["secret_token"] == shared
        patient = fake.user(1001, "Pat")
        await patient.send("/help")
        await patient.wait_for("How carecircle works")
        assert await process.stop() == 0
        assert fake.calls_to("deleteWebhook") == []  # another replica may still serve it

        await patient.send("/help")  # sent while no replica is up: Telegram keeps it
        await process.start()
        await patient.wait_for("How carecircle works", timeout=30)
        assert await process.stop() == 0
        assert "Traceback" not in process.output()


async def test_polling_mode_serves_health_too(fake_api: FakeBotApi, bot: BotProcess) -> None:
    port = await listening_port(bot, "health")
    assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
    status, body = await get(f"http://127.0.0.1:{port}/readyz")
    assert status == 200, body
    assert fake_api.calls_to("setWebhook") == []


@pytest.fixture
def taken_port() -> Any:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize("setting", ["WEBHOOK_LISTEN", "HEALTH_LISTEN"])
async def test_a_port_in_use_is_one_clear_line(
    fake_api: FakeBotApi, tmp_path: Path, taken_port: int, setting: str
) -> None:
    webhook_port = free_port()
    env = {
        "BOT_TOKEN": fake_api.token,
        "TELEGRAM_BASE_URL": fake_api.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db'}",
        "HEALTH_LISTEN": "127.0.0.1:0",
        **webhook_settings(webhook_port),
        setting: f"127.0.0.1:{taken_port}",
    }
    code, output = await run_bot(tmp_path, **env)
    assert code != 0
    line = only_line(output)
    assert f"127.0.0.1:{taken_port}" in line and setting in line


@pytest.mark.telegram_faults  # setWebhook refused on purpose
async def test_a_webhook_the_bot_api_refuses_is_one_clear_line(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    fake_api.faults.fail_next(
        "setWebhook", 400, description="Bad Request: bad webhook: Failed to resolve host"
    )
    code, output = await run_bot(
        tmp_path,
        BOT_TOKEN=fake_api.token,
        TELEGRAM_BASE_URL=fake_api.base_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db'}",
        HEALTH_LISTEN="127.0.0.1:0",
        **webhook_settings(free_port()),
    )
    assert code != 0
    line = only_line(output)
    assert "refused WEBHOOK_URL" in line and "failed to resolve host" in line.lower()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOK_URL", "ftp://bot.example.org/x"),
        ("WEBHOOK_SECRET", "has spaces and ümlauts"),
        ("WEBHOOK_LISTEN", "8080"),
        ("HEALTH_LISTEN", "0.0.0.0:99999"),
    ],
)
async def test_bad_web_settings_are_one_clear_line(tmp_path: Path, name: str, value: str) -> None:
    code, output = await run_bot(tmp_path, BOT_TOKEN="1:x", **{name: value})
    assert code != 0
    line = only_line(output)
    assert name in line and (name != "WEBHOOK_SECRET" or value not in line)
