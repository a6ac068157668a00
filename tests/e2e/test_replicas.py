"""Two replicas in webhook mode on one PostgreSQL, behind a load balancer: kill the scheduler
leader with SIGKILL and the other takes over — the reminder and its nudge arrive exactly once."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from playground.sim import FakeBotApi
from tests.e2e.conftest import BotProcess
from tests.e2e.test_circle_journey import onboard_patient
from tests.e2e.test_meds import next_whole_minute
from tests.e2e.test_web import free_port

SECRET = "replicas-share-this-secret"
LEADER = re.compile(r"event=cluster\.leadership role=leader")


class LoadBalancer:
    """Round robin over the replicas' webhook ports, skipping any that does not answer."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._next = itertools.cycle(range(len(ports)))
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/telegram", self.forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-telegram")}
        headers["Content-Type"] = "application/json"
        for _ in self.ports:
            port = self.ports[next(self._next)]
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.post(
                        f"http://127.0.0.1:{port}/telegram", data=body, headers=headers
                    ) as response,
                ):
                    return web.Response(status=response.status, text=await response.text())
            except aiohttp.ClientError:
                continue
        return web.Response(status=502, text="no replica")


@pytest.fixture
async def balancer() -> AsyncIterator[LoadBalancer]:
    lb = LoadBalancer([free_port(), free_port()])
    await lb.start()
    yield lb
    await lb.stop()


async def wait_for_leader(replicas: list[BotProcess], timeout: float = 30) -> BotProcess:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for replica in replicas:
            if LEADER.search(replica.log_path.read_text(errors="replace")):
                return replica
        await asyncio.sleep(0.1)
    raise AssertionError("no replica became the scheduler leader")


async def test_killing_the_leader_loses_nothing_and_doubles_nothing(
    fake_api: FakeBotApi, tmp_path: Path, empty_database_url: str, balancer: LoadBalancer
) -> None:
    if "postgresql" not in empty_database_url:
        pytest.skip("several replicas share one PostgreSQL; SQLite is the one-process setup")
    replicas = []
    for name, port in zip(("a", "b"), balancer.ports, strict=True):
        workdir = tmp_path / name
        workdir.mkdir()
        replicas.append(
            BotProcess(
                fake_api,
                workdir,
                empty_database_url,
                WEBHOOK_URL=f"http://127.0.0.1:{balancer.port}/telegram",
                WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                WEBHOOK_SECRET=SECRET,
                LEADER_CHECK_SECONDS="1",
                REMINDER_NUDGE_MINUTES="0.1",  # 6 s
                MISSED_DOSE_ALERT_MINUTES="5",
            )
        )
    for replica in replicas:
        since = time.monotonic()
        await replica.start(wait=False)
        await fake_api.wait_for_call("setWebhook", since=since, timeout=30)

    patient = fake_api.user(1701, "Pat")
    await onboard_patient(fake_api, patient)  # its updates reach both replicas, in turn
    due = next_whole_minute(20)
    await patient.send(f"/addmed Zqxmed | 1 mg | {due.strftime('%H:%M')}")
    await patient.wait_for("Added")

    leader = await wait_for_leader(replicas)
    follower = next(r for r in replicas if r is not leader)
    await asyncio.sleep(max(0.0, due.timestamp() - time.time() - 8))
    await leader.kill()  # SIGKILL, a few seconds before the reminder is due

    reminder = await patient.wait_for("Time for Zqxmed", timeout=90)
    late_by = time.time() - due.timestamp()
    await patient.wait_for("did you take Zqxmed", timeout=30)
    await asyncio.sleep(8)  # room for any duplicate to show up

    texts = [m["text"] or "" for m in fake_api.sent_messages(patient.chat_id)]
    print(f"\nreplicas: reminder {late_by:.1f}s after its minute, sent by the new leader")
    assert sum("Time for Zqxmed" in t for t in texts) == 1, texts
    assert sum("did you take Zqxmed" in t for t in texts) == 1, texts
    assert reminder["buttons"], "the reminder has its Taken / Snooze / Skip buttons"
    assert late_by < 15, "the new leader took too long"
    assert LEADER.search(follower.log_path.read_text(errors="replace")), "no takeover logged"

    # The survivor still serves updates through the load balancer.
    await patient.press(reminder, "Taken")
    await patient.wait_for_edit(reminder, predicate=lambda m: not m["buttons"])
    assert await follower.stop() == 0
    assert "Traceback" not in follower.output()
