"""The fake Bot API server: HTTP in front of the simulator's areas, composed into one class."""

from __future__ import annotations

import functools
import gc
import json
import re
import socket
import time
from typing import Any

import aiohttp
from aiohttp import web

from playground.sim.api import JSON, ApiError, _DropConnection, bad_request
from playground.sim.commands import _Commands
from playground.sim.core import Handler
from playground.sim.messages import _Messages
from playground.sim.people import _People
from playground.sim.state import _MEDIA_DEFAULTS, ApiCall, UploadedFile
from playground.sim.updates import _Updates

_API_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[^/]*)$")
_FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates",
        "link_preview_options", "reply_parameters", "media", "results", "permissions",
        "options", "explanation_entities", "message_ids", "reaction", "menu_button", "rights",
    }
)  # fmt: skip
_INT_FIELDS = frozenset(
    {
        "chat_id", "from_chat_id", "message_id", "offset", "limit", "timeout", "user_id",
        "reply_to_message_id", "message_thread_id", "duration", "cache_time", "max_connections",
        "width", "height", "until_date", "length",
    }
)  # fmt: skip
_STRING_FIELDS = frozenset({"text", "caption", "callback_query_id", "secret_token", "url"})


def _coerce_param(name: str, value: Any) -> Any:
    """Decode one form/query value the way Telegram interprets it."""
    if name in _STRING_FIELDS:
        return value if isinstance(value, str) else json.dumps(value)
    if not isinstance(value, str):
        return value
    if name in _JSON_FIELDS or (value[:1] in ("{", "[") and name not in _STRING_FIELDS):
        try:
            return json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if name == "reply_markup" else name
            raise bad_request(f"can't parse {what} JSON object") from None
    if name in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    return value


class FakeBotApi(_People, _Commands, _Updates, _Messages):
    """The fake Bot API server plus its state and the test-facing query helpers."""

    def _method_table(self) -> dict[str, Handler]:
        """Each Bot API method by name, answered by the area (mixin) it belongs to."""
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": functools.partial(self._set_description, "description", 512),
            "getMyDescription": functools.partial(self._get_description, "description"),
            "setMyShortDescription": functools.partial(
                self._set_description, "short_description", 120
            ),
            "getMyShortDescription": functools.partial(self._get_description, "short_description"),
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "copyMessage": functools.partial(self._copy_message, forward=False),
            "forwardMessage": functools.partial(self._copy_message, forward=True),
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "close": self._returns_true,
            "logOut": self._returns_true,
        }
        for kind in _MEDIA_DEFAULTS:
            handlers[f"send{kind.capitalize()}"] = functools.partial(self._send_media, kind)
        return handlers

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0 = a free port) inside the running event loop."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self._host, self._port = host, sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._client = aiohttp.ClientSession()
        # The fake is also the stopwatch for flood limits: a full garbage collection of the
        # host process (the whole test session's objects) stalls it for tens of ms, and the
        # requests that queue meanwhile would be timed as a burst the bot never sent.
        # Frozen objects are not scanned again, so collections stay short.
        gc.collect()
        gc.freeze()

    async def stop(self) -> None:
        """Wake held long polls, stop webhook delivery and close the server."""
        self._closing = True
        self._notify()
        await self._stop_webhook_worker()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()
        gc.unfreeze()

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self._host}:{self._port}/file/bot"

    # ---- HTTP layer ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if match := _FILE_PATH.match(request.path):
            return await self._handle_file(request, match["token"], match["path"])
        match = _API_PATH.match(request.path)
        if match is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        method = self._canonical.get(match["method"].lower(), match["method"])
        call = ApiCall(method=method, params={}, at=time.monotonic())
        self.calls.append(call)
        tracked = method != "getUpdates"  # a held long poll is not "activity"
        self._in_flight += tracked
        try:
            if self.faults.in_outage:
                raise _DropConnection
            call.params = await self._read_params(request)
            await self.faults.delay()
            call.result = await self._execute(match["token"], method, call.params)
            status, body = 200, {"ok": True, "result": call.result}
        except _DropConnection:
            status, body, call.error = 0, None, "connection dropped (simulated outage)"
        except ApiError as exc:
            status, body, call.error = exc.status, exc.body(), exc.description
        except Exception as exc:  # a bug in the fake: answer 500 and keep the evidence
            error = ApiError(500, f"Internal Server Error (fake bug: {exc!r})")
            status, body, call.error = 500, error.body(), error.description
        finally:
            self._in_flight -= tracked
            if tracked:
                self._last_activity = time.monotonic()
        call.status, call.finished_at = status, time.monotonic()
        self._notify()
        if body is None:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request, token: str, path: str) -> web.StreamResponse:
        if self.faults.in_outage and request.transport is not None:
            request.transport.abort()
            return web.Response(status=503)
        if token != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        for record in self._files.values():
            if record.file_path == path:
                return web.Response(
                    body=record.content,
                    content_type=record.attributes.get("mime_type", "image/jpeg"),
                )
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    async def _read_params(self, request: web.Request) -> JSON:
        """Merge query string, JSON body, urlencoded and multipart parameters; decode them."""
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, UploadedFile] = {}
        if request.content_type == "application/json" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if isinstance(body, dict):
                raw.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    upload = UploadedFile(value.filename, value.content_type, value.file.read())
                    uploads[name] = upload
                    raw[name] = upload
                else:
                    raw[name] = value
        params = {name: _coerce_param(name, value) for name, value in raw.items()}
        for name, value in params.items():  # multipart "attach://<name>" references
            if isinstance(value, str) and value.startswith("attach://"):
                params[name] = uploads.get(value.removeprefix("attach://"), value)
        return params

    async def _execute(self, token: str, method: str, params: JSON) -> Any:
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        handler = self._handlers.get(method)
        if handler is None:
            raise ApiError(404, "Not Found")
        planned = self.faults.take_planned(method)
        if planned is not None and not planned.after_effect:
            raise planned.error()
        if (error := self.faults.random_5xx(method)) is not None:
            raise error
        result = await handler(params)
        if planned is not None:
            raise planned.error()
        return result
