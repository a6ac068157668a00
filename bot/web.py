"""The bot's HTTP side (aiohttp): the webhook endpoint, and /healthz, /readyz and /metrics.

We serve the webhook ourselves rather than through PTB's `run_webhook` (tornado): we need our
own routes next to it, a body limit, a 401 and a log line for a wrong secret, and the secret
compared in constant time; PTB's server compares with `!=` and offers no custom routes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler
from sqlalchemy import text
from telegram import Update
from telegram.ext import Application

from bot.clock import Clock
from bot.db.session import Database
from bot.events import log_event
from bot.metrics import Metrics

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# Telegram's updates are a few kilobytes; a message at its 4096-character limit with every
# entity stays far below this.
MAX_BODY_BYTES = 1024 * 1024
# /readyz answers within this time even when the database hangs.
READY_TIMEOUT_SECONDS = 2.0
# In-flight requests get this long to finish when a server stops.
SHUTDOWN_SECONDS = 5.0


class ListenError(Exception):
    """A server could not listen where it was told to (port in use, bad address): one line."""


def new_secret() -> str:
    """A webhook secret Telegram accepts (letters, digits, _ and -), fresh at each start."""
    return secrets.token_urlsafe(32)


# --- the webhook ------------------------------------------------------------------------------


def webhook_app(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    path: str,
    secret: str,
    metrics: Metrics,
    max_body: int = MAX_BODY_BYTES,
) -> web.Application:
    """An aiohttp app handling Telegram's POSTs at `path`, one update per request."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        # Constant time: the comparison must not tell an attacker how much of a guess was right.
        if given is None or not secrets.compare_digest(given.encode(errors="replace"), expected):
            metrics.webhook_refused.inc()
            log_event(
                log,
                "webhook.refused",
                logging.WARNING,
                reason="missing" if given is None else "wrong",
            )
            return web.Response(status=401, text="unauthorized")
        if not application.running:
            # Starting or stopping: Telegram tries again shortly (maybe at another replica).
            return web.Response(status=503, text="not running")
        if request.content_length is not None and request.content_length > max_body:
            return _bad_body("too_large", 413)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _bad_body("too_large", 413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, application.bot)
        except Exception:  # ValueError for bad JSON, and whatever a malformed update raises
            return _bad_body("not_an_update", 400)
        # Handled before Telegram hears "200": if this process dies meanwhile, Telegram
        # delivers the update again (the handlers are idempotent), so a tap is never lost.
        # Requests are handled concurrently, each in its own task, through the application's
        # update processor, so one chat's updates still run one at a time, in order.
        await application.update_processor.process_update(
            update, application.process_update(update)
        )
        return web.Response(status=200)

    app = web.Application(client_max_size=max_body)
    app.router.add_post(path, receive)
    return app


def _bad_body(reason: str, status: int) -> web.Response:
    log_event(log, "webhook.bad_request", logging.WARNING, reason=reason, status=status)
    return web.Response(status=status, text=reason.replace("_", " "))


# --- health and metrics -----------------------------------------------------------------------


@dataclass
class Health:
    """What /readyz and /metrics look at; the runner flips `started` around the bot's life."""

    db: Database
    clock: Clock
    metrics: Metrics
    # "leader", "follower" or "single": the cluster's view of who runs the scheduler.
    role: Callable[[], str] = lambda: "single"
    # Whether this process's scheduler is driving due work.
    scheduler_running: Callable[[], bool] = lambda: False
    # How long the Bot API has been unreachable (bot.botapi), and how long makes us not ready.
    botapi_unreachable: Callable[[], float] = lambda: 0.0
    unreachable_limit: float = math.inf
    started: bool = False
    stopping: bool = False
    ready_timeout: float = READY_TIMEOUT_SECONDS

    async def database_ok(self) -> bool:
        async def select_one() -> None:
            async with self.db.transaction() as session:
                await session.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(select_one(), self.ready_timeout)
        except Exception as error:
            log_event(log, "health.database_down", logging.WARNING, error=type(error).__name__)
            return False
        return True

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        database = await self.database_ok()
        bot = "stopping" if self.stopping else "started" if self.started else "starting"
        # A short blip is not worth failing over; an outage longer than the limit is.
        bot_api = self.botapi_unreachable() <= self.unreachable_limit
        ready = database and bot_api and bot == "started"
        try:
            role = self.role()
        except Exception:
            role = "unknown"
        return ready, {
            "ready": ready,
            "bot": bot,
            "database": "ok" if database else "unreachable",
            "bot_api": "ok" if bot_api else "unreachable",
            "scheduler": {
                "running": self.scheduler_running(),
                "role": role,
            },
        }


def health_app(health: Health) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        # Answering at all is the proof: the event loop is turning.
        return web.json_response({"alive": True})

    async def readyz(_request: web.Request) -> web.Response:
        ready, body = await health.readiness()
        return web.json_response(body, status=200 if ready else 503)

    exposition = make_aiohttp_handler(health.metrics.registry)

    async def metrics(request: web.Request) -> web.StreamResponse:
        # The outbox gauges are read from the database now, then prometheus_client renders.
        await health.metrics.refresh_outbox(health.db, health.clock.now(), health.ready_timeout)
        return await exposition(request)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


# --- serving ----------------------------------------------------------------------------------


class Server:
    """One aiohttp app on one address; `start` raises ListenError instead of a traceback."""

    def __init__(
        self, name: str, app: web.Application, host: str, port: int, *, setting: str
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._setting = setting
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        self._running = False

    async def start(self) -> None:
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as error:
            await self._runner.cleanup()
            reason = error.strerror or str(error)
            raise ListenError(
                f"cannot listen on {self.host}:{self.port} ({reason}). "
                f"Free that port or choose another with {self._setting}."
            ) from None
        self._running = True
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])  # the real port when 0 asked for any free one
        log_event(log, "http.listening", server=self.name, port=self.port)

    async def stop(self) -> None:
        """Stop listening, let requests in flight finish (briefly), then close."""
        if self._running:
            self._running = False
            await self._runner.cleanup()
