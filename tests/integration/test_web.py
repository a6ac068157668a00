"""The HTTP side: the webhook endpoint's secret and body checks, /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from telegram import Update
from telegram.error import Forbidden, NetworkError
from telegram.ext import Application, ApplicationBuilder, TypeHandler

import bot.web
from bot.clock import FrozenClock
from bot.db.models import DoseOccurrence, OutboxMessage
from bot.db.session import Database
from bot.delivery import Delivered, OutboxSender, SenderConfig
from bot.metrics import Metrics
from bot.notify import Notifier, OutMessage
from bot.ratelimit import FloodControl
from bot.reminder_metrics import reminder_lateness
from bot.services.circles import Person
from bot.web import SECRET_HEADER, Health, health_app, webhook_app
from playground.sim import FakeBotApi
from tests.fakes.timer import Ticks
from tests.integration.test_delivery import ScriptedBot
from tests.people import PAT
from tests.rig import Rig
from tests.writer import writer_turn_held

SECRET = "s3cret-Token_for-tests"
PATH = "/telegram"
PTBApp = Application[Any, Any, Any, Any, Any, Any]


def an_update(update_id: int, text: str = "/start") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "is_bot": False, "first_name": "Pat"},
            "text": text,
        },
    }


# --- the webhook ------------------------------------------------------------------------------


@dataclass
class Hook:
    """A running PTB application behind the webhook endpoint, recording what it handles."""

    app: PTBApp
    client: TestClient[web.Request, web.Application]
    handled: asyncio.Queue[Update]
    metrics: Metrics

    async def post(self, body: Any, secret: str | None = SECRET, **kw: Any) -> int:
        headers = {} if secret is None else {SECRET_HEADER: secret}
        data = json.dumps(body) if isinstance(body, dict) else body
        response = await self.client.post(PATH, data=data, headers=headers, **kw)
        return response.status

    async def next_handled(self) -> Update:
        return await asyncio.wait_for(self.handled.get(), 10)

    async def only_this_was_handled(self, update_id: int) -> None:
        """Send a good update and see it arrive alone: what was refused before never ran."""
        assert await self.post(an_update(update_id)) == 200
        assert (await self.next_handled()).update_id == update_id
        assert self.handled.empty() and self.app.update_queue.empty()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


@asynccontextmanager
async def webhook(fake: FakeBotApi, max_body: int = 64 * 1024) -> AsyncIterator[Hook]:
    handled: asyncio.Queue[Update] = asyncio.Queue()

    async def record(update: Update, _context: Any) -> None:
        await handled.put(update)

    app: PTBApp = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .updater(None)
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(TypeHandler(Update, record))
    metrics = Metrics()
    server = TestServer(
        webhook_app(app, path=PATH, secret=SECRET, metrics=metrics, max_body=max_body)
    )
    async with app, TestClient(server) as client:
        await app.start()
        try:
            yield Hook(app, client, handled, metrics)
        finally:
            if app.running:
                await app.stop()


@pytest.fixture
async def hook(fake: FakeBotApi) -> AsyncIterator[Hook]:
    async with webhook(fake) as running:
        yield running


async def test_the_right_secret_gets_the_update_handled(hook: Hook) -> None:
    assert await hook.post(an_update(1, "/start")) == 200
    update = await hook.next_handled()
    assert update.update_id == 1 and update.message is not None
    assert update.message.text == "/start"


@pytest.mark.parametrize("given", [None, "", "guessed-it", SECRET[:-1] + "X", SECRET + "x", "ünï"])
async def test_a_missing_or_wrong_secret_is_refused_and_nothing_runs(
    hook: Hook, given: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.web"):
        assert await hook.post(an_update(7), secret=given) == 401
    refused = [r.getMessage() for r in caplog.records if "webhook.refused" in r.getMessage()]
    assert len(refused) == 1
    assert SECRET not in refused[0] and (not given or given not in refused[0])
    assert hook.metrics.registry.get_sample_value("carecircle_webhook_refused_total") == 1
    await hook.only_this_was_handled(8)


async def test_the_secret_is_compared_in_constant_time(
    hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = bot.web.secrets.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(bot.web.secrets, "compare_digest", spy)
    assert await hook.post(an_update(1), secret="guess") == 401
    assert await hook.post(an_update(2)) == 200
    assert compared == [(b"guess", SECRET.encode()), (SECRET.encode(), SECRET.encode())]


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"",
        b"[1, 2, 3]",
        b'{"message": {"text": "no update_id"}}',
        b'{"update_id": "1"}',
        b'{"update_id": 3, "message": {"chat": "not a chat"}}',
        b"\xff\xfe\x00",
    ],
)
async def test_a_body_that_is_not_an_update_is_a_400(hook: Hook, body: bytes) -> None:
    assert await hook.post(body) == 400
    await hook.only_this_was_handled(9)


async def test_an_oversized_body_is_refused(fake: FakeBotApi) -> None:
    async with webhook(fake, max_body=2048) as small:
        huge = an_update(1, "x" * 4000)
        assert await small.post(huge) == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit still holds
            for _ in range(4):
                yield b" " * 1024

        assert await small.post(chunks()) == 413
        await small.only_this_was_handled(2)


async def test_only_post_at_the_webhook_path(hook: Hook) -> None:
    assert (await hook.client.get(PATH, headers={SECRET_HEADER: SECRET})).status == 405
    response = await hook.client.post(
        "/elsewhere", json=an_update(1), headers={SECRET_HEADER: SECRET}
    )
    assert response.status == 404
    await hook.only_this_was_handled(2)


async def test_a_stopped_application_answers_503_so_telegram_retries(hook: Hook) -> None:
    await hook.app.stop()
    assert await hook.post(an_update(1)) == 503
    await hook.app.start()
    await hook.only_this_was_handled(2)


async def test_updates_taken_before_a_stop_are_still_handled(hook: Hook) -> None:
    statuses = await asyncio.gather(*(hook.post(an_update(n)) for n in range(1, 21)))
    assert statuses == [200] * 20
    await hook.app.stop()  # drains the queue, as on SIGTERM once the server stopped taking
    handled = {(await hook.next_handled()).update_id for _ in range(20)}
    assert handled == set(range(1, 21))


# --- health and readiness ---------------------------------------------------------------------


@asynccontextmanager
async def serving(health: Health) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(health_app(health))) as client:
        yield client


async def get_json(health: Health, path: str) -> tuple[int, Any]:
    async with serving(health) as client:
        response = await client.get(path)
        return response.status, await response.json()


@pytest.fixture
def health(db: Database, clock: FrozenClock) -> Health:
    return Health(db=db, clock=clock, metrics=Metrics(), started=True)


@pytest.fixture
async def unreachable_db() -> AsyncIterator[Database]:
    database = Database("postgresql+asyncpg://nobody@127.0.0.1:1/nothing")
    yield database
    await database.dispose()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers (a database that hangs)."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_healthz_answers_whenever_the_process_is_alive(
    unreachable_db: Database, clock: FrozenClock
) -> None:
    down = Health(db=unreachable_db, clock=clock, metrics=Metrics())
    assert await get_json(down, "/healthz") == (200, {"alive": True})


async def test_ready_once_started_with_the_database_answering(health: Health) -> None:
    status, body = await get_json(health, "/readyz")
    assert status == 200
    assert body == {
        "ready": True,
        "bot": "started",
        "database": "ok",
        "bot_api": "ok",
        "scheduler": {"running": False, "role": "single"},
    }


async def test_not_ready_while_starting_or_stopping(health: Health) -> None:
    health.started = False
    status, body = await get_json(health, "/readyz")
    assert (status, body["ready"], body["bot"], body["database"]) == (503, False, "starting", "ok")
    health.started = health.stopping = True
    status, body = await get_json(health, "/readyz")
    assert (status, body["bot"]) == (503, "stopping")


async def test_database_down_is_not_ready(unreachable_db: Database, clock: FrozenClock) -> None:
    down = Health(db=unreachable_db, clock=clock, metrics=Metrics(), started=True)
    status, body = await get_json(down, "/readyz")
    assert (status, body["ready"], body["database"]) == (503, False, "unreachable")


async def test_a_hanging_database_is_not_ready_within_the_timeout(
    silent_port: int, clock: FrozenClock
) -> None:
    hanging = Database(f"postgresql+asyncpg://nobody@127.0.0.1:{silent_port}/nothing")
    health = Health(db=hanging, clock=clock, metrics=Metrics(), started=True, ready_timeout=0.3)
    try:
        status, body = await asyncio.wait_for(get_json(health, "/readyz"), 5)
    finally:
        await hanging.dispose()
    assert (status, body["database"]) == (503, "unreachable")


async def test_not_ready_while_the_bot_api_is_unreachable_longer_than_the_limit(
    health: Health,
) -> None:
    unreachable = 0.0
    health.botapi_unreachable = lambda: unreachable
    health.unreachable_limit = 120
    unreachable = 100  # a blip: still ready
    status, body = await get_json(health, "/readyz")
    assert (status, body["bot_api"]) == (200, "ok")
    unreachable = 121
    status, body = await get_json(health, "/readyz")
    assert (status, body["ready"], body["bot_api"], body["database"]) == (
        503,
        False,
        "unreachable",
        "ok",
    )
    unreachable = 0  # it answered again
    assert (await get_json(health, "/readyz"))[0] == 200


async def test_readiness_shows_the_schedulers_role_from_the_hook(health: Health) -> None:
    health.role = lambda: "follower"
    health.scheduler_running = lambda: True
    _, body = await get_json(health, "/readyz")
    assert body["scheduler"] == {"running": True, "role": "follower"}

    def broken() -> str:
        raise RuntimeError("lost the lock")

    health.role = broken
    status, body = await get_json(health, "/readyz")
    assert (status, body["scheduler"]["role"]) == (200, "unknown")


# --- metrics ----------------------------------------------------------------------------------


async def scrape(health: Health) -> dict[str, float]:
    """/metrics parsed by prometheus_client's own parser: {"name{label=value}": value}."""
    async with serving(health) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        exposition = await response.text()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


async def test_metrics_parse_and_name_what_operators_watch(health: Health) -> None:
    async with serving(health) as client:
        exposition = await (await client.get("/metrics")).text()
    families = {f.name: f.type for f in text_string_to_metric_families(exposition)}
    ours = {name: kind for name, kind in families.items() if name.startswith("carecircle_")}
    assert ours == {
        "carecircle_updates": "counter",
        "carecircle_notifications_sent": "counter",
        "carecircle_notifications_retried": "counter",
        "carecircle_notifications_failed": "counter",
        "carecircle_webhook_refused": "counter",
        "carecircle_outbox_depth": "gauge",
        "carecircle_outbox_oldest_age_seconds": "gauge",
        "carecircle_reminder_lateness_seconds": "histogram",
        "carecircle_newest_update_age_seconds": "gauge",
        "carecircle_handler_errors": "counter",
        "carecircle_botapi_errors": "counter",
        "carecircle_botapi_unreachable_seconds": "gauge",
    }
    # The process itself, from prometheus_client's ProcessCollector (Linux's /proc).
    for name in ("resident_memory_bytes", "cpu_seconds", "open_fds", "start_time_seconds"):
        assert f"process_{name}" in families
    samples = await scrape(health)
    for kind in ("message", "callback", "other"):
        assert samples[f"carecircle_updates_total{{kind={kind}}}"] == 0
    assert samples["process_resident_memory_bytes"] > 0


async def test_metrics_are_served_by_prometheus_client_with_its_formats(health: Health) -> None:
    """Content negotiation and compression come with prometheus_client's aiohttp handler."""
    openmetrics = "application/openmetrics-text; version=1.0.0"
    async with serving(health) as client:
        response = await client.get(
            "/metrics", headers={"Accept": openmetrics, "Accept-Encoding": "gzip"}
        )
        text = await response.text()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.headers["Content-Encoding"] == "gzip"
    assert text.rstrip().endswith("# EOF")
    assert "carecircle_outbox_depth" in text  # refreshed from the database first


async def test_the_newest_updates_age_grows_until_the_next_one(
    db: Database, clock: FrozenClock
) -> None:
    now = [50.0]
    metrics = Metrics(monotonic=lambda: now[0])
    health = Health(db=db, clock=clock, metrics=metrics, started=True)
    assert math.isnan((await scrape(health))["carecircle_newest_update_age_seconds"])
    metrics.update_handled("message")
    now[0] += 42
    assert (await scrape(health))["carecircle_newest_update_age_seconds"] == 42
    metrics.update_handled("callback")
    assert (await scrape(health))["carecircle_newest_update_age_seconds"] == 0


async def test_every_application_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()  # the global registry would refuse the second
    first.update_handled("message")
    assert first.registry.get_sample_value("carecircle_updates_total", {"kind": "message"}) == 1
    assert second.registry.get_sample_value("carecircle_updates_total", {"kind": "message"}) == 0


@dataclass
class SendRig:
    db: Database
    clock: FrozenClock
    bot: ScriptedBot
    sender: OutboxSender
    notifier: Notifier
    health: Health
    ticks: Ticks

    async def queue(self, key: str, chat_id: int, kind: str, **kw: Any) -> None:
        async with self.db.transaction() as session:
            await self.notifier.send(
                session, key=key, chat_id=chat_id, message=OutMessage("hi"), kind=kind, **kw
            )

    def later(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)
        self.ticks.now += seconds

    async def deliver(self) -> None:
        await self.sender.dispatch_once()
        await self.sender.wait_inflight()


@pytest.fixture
def send_rig(db: Database, clock: FrozenClock) -> SendRig:
    metrics = Metrics()
    bot = ScriptedBot()
    ticks = Ticks()

    async def on_unreachable(chat_id: int) -> None:
        pass

    sender = OutboxSender(
        db,
        bot,  # type: ignore[arg-type]
        FloodControl(timer=ticks),
        clock,
        on_unreachable=on_unreachable,
        config=SenderConfig(concurrency=4, max_attempts=3),
        metrics=metrics,
    )
    health = Health(db=db, clock=clock, metrics=metrics, started=True)
    return SendRig(db, clock, bot, sender, Notifier(clock), health, ticks)


async def test_notification_counters_move_when_messages_are_sent_retried_and_failed(
    send_rig: SendRig,
) -> None:
    rig = send_rig
    before = await scrape(rig.health)
    assert not any(name.startswith("carecircle_notifications_sent_total") for name in before)

    rig.bot.errors["send_message"] = [NetworkError("down"), Forbidden("blocked")]
    await rig.queue("a", 1, "need.offer")
    await rig.queue("b", 2, "need.offer")
    await rig.queue("c", 3, "recovery.tip")
    await rig.deliver()
    after = await scrape(rig.health)
    assert after["carecircle_notifications_retried_total{kind=need.offer}"] == 1
    assert after["carecircle_notifications_failed_total{kind=need.offer}"] == 1
    assert after["carecircle_notifications_sent_total{kind=recovery.tip}"] == 1

    rig.later(60)  # past the retry's backoff
    await rig.deliver()
    after = await scrape(rig.health)
    assert after["carecircle_notifications_sent_total{kind=need.offer}"] == 1
    assert after["carecircle_notifications_failed_total{kind=need.offer}"] == 1


async def test_outbox_depth_and_age_come_from_the_database_at_scrape_time(
    send_rig: SendRig,
) -> None:
    rig = send_rig
    empty = await scrape(rig.health)
    assert empty["carecircle_outbox_depth{due=now}"] == 0
    assert empty["carecircle_outbox_depth{due=later}"] == 0
    assert empty["carecircle_outbox_oldest_age_seconds"] == 0

    start = rig.clock.now()
    await rig.queue("a", 1, "need.offer")
    rig.later(20)
    await rig.queue("b", 2, "need.offer")
    await rig.queue("held", 3, "need.offer", not_before=start + dt.timedelta(hours=8))
    rig.later(10)
    samples = await scrape(rig.health)
    assert samples["carecircle_outbox_depth{due=now}"] == 2
    assert samples["carecircle_outbox_depth{due=later}"] == 1
    assert samples["carecircle_outbox_oldest_age_seconds"] == pytest.approx(30)

    await rig.deliver()
    samples = await scrape(rig.health)
    assert samples["carecircle_outbox_depth{due=now}"] == 0
    assert samples["carecircle_outbox_depth{due=later}"] == 1
    assert samples["carecircle_outbox_oldest_age_seconds"] == 0


async def test_outbox_gauges_are_unknown_while_the_database_is_down(
    unreachable_db: Database, clock: FrozenClock
) -> None:
    down = Health(db=unreachable_db, clock=clock, metrics=Metrics())
    samples = await scrape(down)
    assert math.isnan(samples["carecircle_outbox_depth{due=now}"])
    assert math.isnan(samples["carecircle_outbox_oldest_age_seconds"])


async def test_a_scrape_does_not_hang_with_the_database(
    silent_port: int, clock: FrozenClock
) -> None:
    hanging = Database(f"postgresql+asyncpg://nobody@127.0.0.1:{silent_port}/nothing")
    health = Health(db=hanging, clock=clock, metrics=Metrics(), ready_timeout=0.3)
    try:
        samples = await asyncio.wait_for(scrape(health), 5)
    finally:
        await hanging.dispose()
    assert math.isnan(samples["carecircle_outbox_depth{due=later}"])


@pytest.mark.parametrize("meds", [1, 2], ids=["alone", "grouped"])
async def test_reminder_lateness_is_measured_from_the_doses_time_to_its_delivery(
    rig: Rig, clock: FrozenClock, meds: int
) -> None:
    await rig.patient()
    metrics = Metrics()
    bot = ScriptedBot()

    async def on_unreachable(chat_id: int) -> None:
        pass

    sender = OutboxSender(
        rig.db,
        bot,  # type: ignore[arg-type]
        FloodControl(timer=Ticks()),
        clock,
        on_unreachable=on_unreachable,
        metrics=metrics,
        on_delivered=[reminder_lateness(rig.db, metrics)],  # as build_application wires it
    )
    # 09:00 UTC is 10:00 in Berlin: the dose is due at 09:30 UTC.
    for letter in "AB"[:meds]:  # two at one time go as one grouped message
        await rig.meds.add_line(PAT.id, f"Medicine {letter} | 1 tablet | 10:30")
    due = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    clock.set(due + dt.timedelta(seconds=4))  # the scheduler woke a little late
    await rig.meds.run_due(clock.now())
    clock.advance(seconds=3)  # and the sender took a while
    await sender.dispatch_once()
    await sender.wait_inflight()

    assert [kind for _, kind in await outbox_kinds(rig.db)].count("dose.reminder") == 1
    health = Health(db=rig.db, clock=clock, metrics=metrics)
    samples = await scrape(health)
    assert samples["carecircle_reminder_lateness_seconds_count"] == 1
    assert samples["carecircle_reminder_lateness_seconds_sum"] == pytest.approx(7)
    assert samples["carecircle_reminder_lateness_seconds_bucket{le=5.0}"] == 0
    assert samples["carecircle_reminder_lateness_seconds_bucket{le=10.0}"] == 1
    assert samples["carecircle_notifications_sent_total{kind=dose.reminder}"] == 1


# Only SQLite has a writers' turn to skip; on PostgreSQL the test could not fail.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_measuring_a_reminders_lateness_waits_for_no_writer(
    rig: Rig, clock: FrozenClock
) -> None:
    """At the morning peak the sweep and the sender's records need every writer's turn there
    is: the lateness hook only reads, and must not take one."""
    await rig.patient()
    await rig.add("Medicine | 1 tablet | 10:30")
    clock.set(dt.datetime(2026, 3, 2, 9, 30, 5, tzinfo=dt.UTC))
    await rig.meds.run_due(clock.now())
    async with rig.db.reading() as session:
        dose_id = await session.scalar(select(DoseOccurrence.id))
    metrics = Metrics()
    observe = reminder_lateness(rig.db, metrics)
    delivered = Delivered("dose.reminder", f"dose:{dose_id}:reminder", "send", clock.now())
    async with writer_turn_held(rig.db):
        await asyncio.wait_for(observe(delivered), 1.0)  # before, it queued behind the writer
    samples = await scrape(Health(db=rig.db, clock=clock, metrics=metrics))
    assert samples["carecircle_reminder_lateness_seconds_count"] == 1
    assert samples["carecircle_reminder_lateness_seconds_sum"] == pytest.approx(5)


async def test_reminders_delivered_together_are_each_measured(rig: Rig, clock: FrozenClock) -> None:
    """Their due times are read together (one read for those sent at once): none is lost or
    counted twice, and each is measured from its own dose."""
    metrics = Metrics()
    sender = OutboxSender(
        rig.db,
        ScriptedBot(),  # type: ignore[arg-type]
        FloodControl(timer=Ticks()),
        clock,
        on_unreachable=mock.AsyncMock(),
        config=SenderConfig(concurrency=6, claim_ahead=6),
        metrics=metrics,
        on_delivered=[reminder_lateness(rig.db, metrics)],
    )
    for number in range(6):
        who = Person(900 + number, f"Patient {number}")
        await rig.patient(who)
        # Berlin: 10:30 and 10:31 are 09:30 and 09:31 UTC.
        await rig.add(f"Medicine | 1 tablet | 10:3{number % 2}", who=who)
    clock.set(dt.datetime(2026, 3, 2, 9, 31, tzinfo=dt.UTC))
    await rig.meds.run_due(clock.now())
    clock.advance(seconds=10)
    await sender.dispatch_once()
    await sender.wait_inflight()
    samples = await scrape(Health(db=rig.db, clock=clock, metrics=metrics))
    assert samples["carecircle_reminder_lateness_seconds_count"] == 6
    # Three were due 70 s before they went, three 10 s before.
    assert samples["carecircle_reminder_lateness_seconds_sum"] == pytest.approx(3 * 70 + 3 * 10)


async def outbox_kinds(db: Database) -> list[tuple[str, str]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage.key, OutboxMessage.kind).where(OutboxMessage.state == "sent")
        )
        return [(row.key, row.kind) for row in rows]
