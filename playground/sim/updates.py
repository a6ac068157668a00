"""Delivering updates to the bot: getUpdates long polls, or a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time

import aiohttp

from playground.sim.api import (
    JSON,
    POLL_CONFLICT,
    WEBHOOK_CONFLICT,
    ApiError,
    _DropConnection,
    bad_request,
)
from playground.sim.core import _Core


class _Updates(_Core):
    """getUpdates, setWebhook, deleteWebhook, getWebhookInfo and the webhook's delivery."""

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self._webhook:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._polled = True
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"] or None
        offset = params.get("offset")
        if isinstance(offset, int):
            if offset < 0:  # keep only the last -offset updates
                while len(self._updates) > -offset:
                    self._updates.popleft()
            else:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # a newer poll terminates an older one, like Telegram does

        def ready() -> str | None:
            if generation != self._poll_generation:
                return "conflict"
            if self.faults.in_outage:
                return "outage"
            return "ready" if self._updates or self._closing else None

        state = await self._wait_for_state(ready, max(float(params.get("timeout") or 0), 0.0))
        if state == "conflict":
            raise ApiError(409, POLL_CONFLICT)
        if state == "outage":
            raise _DropConnection
        return list(itertools.islice(self._updates, limit))

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(params)
        if not re.match(r"^https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        await self._stop_webhook_worker()
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"] or None
        self._webhook = {"url": url, "secret_token": params.get("secret_token")}
        self._webhook_error = None
        self._webhook_task = asyncio.create_task(self._webhook_loop())
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        await self._stop_webhook_worker()
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._notify()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["max_connections"] = 40
        if self._allowed_updates:
            info["allowed_updates"] = self._allowed_updates
        if self._webhook_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _stop_webhook_worker(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._webhook_busy = False

    async def _webhook_loop(self) -> None:
        """Deliver queued updates to the webhook in order, one at a time, with retries."""
        while self._webhook and not self._closing:
            ready = await self._wait_for_state(
                lambda: True if self._updates and not self.faults.in_outage else None, None
            )
            if not ready or self._webhook is None:
                return
            update = self._updates[0]
            self._webhook_busy = True
            try:
                await self._post_update(self._webhook, update)
            finally:
                self._webhook_busy = False
            # Delivered or given up after retries: either way it leaves the queue.
            if self._updates and self._updates[0] is update:
                self._updates.popleft()
            self._last_activity = time.monotonic()
            self._notify()

    async def _post_update(self, webhook: JSON, update: JSON) -> bool:
        assert self._client is not None
        headers = {}
        if webhook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        for delay in (0.0, *self.webhook_retry_delays):
            await asyncio.sleep(delay)
            status: int | None = None
            try:
                async with self._client.post(
                    webhook["url"], json=update, headers=headers, timeout=aiohttp.ClientTimeout(10)
                ) as response:
                    status = response.status
                    error = (
                        None
                        if 200 <= status < 300
                        else (f"Wrong response from the webhook: {status} {response.reason}")
                    )
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc!r}"
            self.webhook_deliveries.append((update["update_id"], status, error))
            if error is None:
                return True
            self._webhook_error = (int(time.time()), error)
        return False
