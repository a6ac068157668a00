"""The page's HTTP side: the static page, its actions (JSON) and a server-sent event stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from pathlib import Path
from typing import Any

from aiohttp import web

from playground.family import DemoFamilyError, free_ids, set_up_demo_family
from playground.page.state import Feed, PageState
from playground.page.uploads import UploadError, read_upload
from playground.simulator import FakeUser

logger = logging.getLogger(__package__)

STATIC = Path(__file__).with_name("static")
MAX_TEXT = 4096  # what Telegram lets a person send in one message
MAX_CAPTION = 1024
MAX_NAME = 32
MAX_JSON_BYTES = 64 * 1024
KEEPALIVE_SECONDS = 15.0
PRESS_ANSWER_SECONDS = 4.0
FIRST_PERSON_ID = 1001  # people added by hand; the demo family has lower ids
STATE: web.AppKey[PageState] = web.AppKey("state", PageState)
TASKS = web.AppKey("tasks", set[asyncio.Task[None]])
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; connect-src 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class Refused(web.HTTPException):
    """A JSON error answer: ``{"error": "…"}`` with a status a person can act on."""

    def __init__(self, status: int, message: str) -> None:
        self.status_code = status
        super().__init__(text=json.dumps({"error": message}), content_type="application/json")


@web.middleware
async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """Only this machine's browser: the Host must be loopback, a change must come from the page.

    The first stops DNS rebinding, the second another site's form posting to 127.0.0.1.
    """
    host = request.host.rsplit(":", 1)[0].strip("[]")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise Refused(403, "the playground answers on 127.0.0.1 only")
    origin = request.headers.get("Origin")
    if request.method != "GET" and origin is not None and origin != f"http://{request.host}":
        raise Refused(403, "changes come from the playground's own page only")
    response: web.StreamResponse = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def create_page_app(state: PageState) -> web.Application:
    """The page's web application for one running playground."""
    app = web.Application(middlewares=[guard], client_max_size=12 * 1024 * 1024)
    app[STATE] = state
    app[TASKS] = set()
    app.router.add_get("/", index)
    app.router.add_static("/static", STATIC)
    app.router.add_get("/events", events)
    app.router.add_get("/api/state", snapshot)
    app.router.add_get("/files/{file_id}", file)
    app.router.add_post("/api/people", add_person)
    app.router.add_post("/api/people/{person}/send", send_text)
    app.router.add_post("/api/people/{person}/press", press)
    app.router.add_post("/api/people/{person}/location", send_location)
    app.router.add_post("/api/people/{person}/photo", send_photo)
    app.router.add_post("/api/people/{person}/voice", send_voice)
    app.router.add_post("/api/demo", demo_family)
    app.router.add_post("/api/switches", switches)
    app.on_shutdown.append(_cancel_tasks)
    return app


async def _cancel_tasks(app: web.Application) -> None:
    tasks: set[asyncio.Task[None]] = app[TASKS]
    for task in list(tasks):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html")


async def snapshot(request: web.Request) -> web.Response:
    """Everything the page shows, at once (what the event stream starts with)."""
    return web.json_response(Feed(request.app[STATE]).update(reset=True))


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: a full picture first, then each change as it happens."""
    state = request.app[STATE]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    feed, wake = Feed(state), asyncio.Event()
    state.playground.sim.add_listener(wake.set)
    try:
        update = feed.update(reset=True)
        while True:
            if update is not None:
                await response.write(f"data: {json.dumps(update)}\n\n".encode())
            try:
                await asyncio.wait_for(wake.wait(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": still here\n\n")
            # Cleared before looking: a change while we look wakes the next round.
            wake.clear()
            update = feed.update()
    except (ConnectionResetError, RuntimeError):
        pass  # the page went away
    finally:
        state.playground.sim.remove_listener(wake.set)
    return response


async def file(request: web.Request) -> web.StreamResponse:
    """A photo, voice note or document held by the simulated Telegram."""
    found = request.app[STATE].playground.sim.file(request.match_info["file_id"])
    if found is None:
        raise Refused(404, "no such file")
    content, mime = found
    shown = mime.startswith(("image/", "audio/", "video/"))
    headers = {} if shown else {"Content-Disposition": "attachment"}
    return web.Response(body=content, content_type=mime, headers=headers)


# ---- reading requests -------------------------------------------------------------------


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise Refused(415, "send JSON")
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise Refused(413, "that is too long")
    raw = await request.content.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise Refused(413, "that is too long")
    try:
        body = json.loads(raw)
    except ValueError:
        raise Refused(400, "that is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "send a JSON object")
    return body


def _person(request: web.Request) -> FakeUser:
    raw = request.match_info["person"]
    person = (
        request.app[STATE].playground.sim.person(int(raw))
        if raw.isdigit() and len(raw) < 16
        else None
    )
    if person is None:
        raise Refused(404, "there is no such person in the playground")
    return person


def _text(value: Any, *, limit: int, what: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Refused(400, f"the {what} must be text")
    if len(value.encode("utf-16-le")) // 2 > limit:
        raise Refused(413, f"the {what} is longer than Telegram allows ({limit} characters)")
    if required and not value.strip():
        raise Refused(400, f"the {what} is empty")
    return value


# ---- actions ------------------------------------------------------------------------------


async def add_person(request: web.Request) -> web.Response:
    """A new person with an empty chat, as if they had just found the bot in Telegram."""
    body = await _json_body(request)
    name = _text(body.get("name"), limit=MAX_NAME, what="name").strip()
    if any(not ch.isprintable() for ch in name):
        raise Refused(400, "a name is one line of letters")
    sim = request.app[STATE].playground.sim
    user_id = max([FIRST_PERSON_ID - 1, *(p.id for p in sim.people())]) + 1
    sim.user(user_id, name)
    sim.poke()
    return web.json_response({"id": user_id, "name": name}, status=201)


async def send_text(request: web.Request) -> web.Response:
    person = _person(request)
    body = await _json_body(request)
    await person.send(_text(body.get("text"), limit=MAX_TEXT, what="message"))
    return web.json_response({"ok": True})


async def press(request: web.Request) -> web.Response:
    """Tap an inline button that the bot's message really shows; the answer is returned."""
    person = _person(request)
    body = await _json_body(request)
    message_id, data = body.get("messageId"), body.get("data")
    if not isinstance(message_id, int) or not isinstance(data, str):
        raise Refused(400, "a press names a message and a button's data")
    sim = request.app[STATE].playground.sim
    message = next((m for m in sim.chat_messages(person.id) if m.message_id == message_id), None)
    buttons = (message.inline_markup or {}).get("inline_keyboard", []) if message else []
    if (
        message is None
        or message.deleted
        or not any(b.get("callback_data") == data for row in buttons for b in row)
    ):
        raise Refused(409, "that button is no longer there")
    pressed = await person.press_data(message_id, data)
    try:
        answer: dict[str, Any] | None = await pressed.answer(timeout=PRESS_ANSWER_SECONDS)
    except AssertionError:  # not answered yet (Telegram may be "down"); the press stands
        answer = None
    return web.json_response({"answer": answer})


async def send_location(request: web.Request) -> web.Response:
    person = _person(request)
    body = await _json_body(request)
    lat, lon = body.get("lat"), body.get("lon")
    valid = all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in (lat, lon)
    )
    if not valid or not (-90 <= lat <= 90 and -180 <= lon <= 180):  # type: ignore[operator]
        raise Refused(400, "a location is a latitude (-90…90) and a longitude (-180…180)")
    await person.send_location(float(lat), float(lon))  # type: ignore[arg-type]
    return web.json_response({"ok": True})


async def send_photo(request: web.Request) -> web.Response:
    person = _person(request)
    try:
        upload = await read_upload(request, "photo")
    except UploadError as error:
        raise Refused(error.status, str(error)) from None
    caption = _text(upload.caption, limit=MAX_CAPTION, what="caption", required=False)
    request.app[STATE].playground.sim.send_photo(person, upload.data, upload.mime, caption or None)
    return web.json_response({"ok": True})


async def send_voice(request: web.Request) -> web.Response:
    person = _person(request)
    try:
        upload = await read_upload(request, "voice")
    except UploadError as error:
        raise Refused(error.status, str(error)) from None
    request.app[STATE].playground.sim.send_voice(person, upload.data, upload.mime, upload.duration)
    return web.json_response({"ok": True})


async def demo_family(request: web.Request) -> web.Response:
    """Start onboarding the demo family; the page follows its progress on the event stream."""
    state = request.app[STATE]
    if state.demo.state == "running" or not free_ids(state.playground.sim):
        raise Refused(409, "the demo family is already here")
    state.demo.state, state.demo.error = "running", ""
    task = asyncio.create_task(_run_demo(state))
    request.app[TASKS].add(task)
    task.add_done_callback(request.app[TASKS].discard)
    return web.json_response({"ok": True}, status=202)


async def _run_demo(state: PageState) -> None:
    sim = state.playground.sim

    def progress(step: str) -> None:
        state.demo.step = step
        sim.poke()

    try:
        await set_up_demo_family(sim, progress)
        state.demo.state = "done"
    except DemoFamilyError as error:
        state.demo.state, state.demo.error = "failed", str(error)
        logger.warning("event=playground.demo_failed")
    sim.poke()


async def switches(request: web.Request) -> web.Response:
    """Turn "Telegram is down", "5xx errors 20 %" and "strict flood limits" on or off."""
    body = await _json_body(request)
    known = {"down", "errors5xx", "strictFlood"}
    if not body or set(body) - known or not all(isinstance(v, bool) for v in body.values()):
        raise Refused(400, f"switches are {', '.join(sorted(known))}, each true or false")
    sim = request.app[STATE].playground.sim
    if "down" in body:
        sim.set_down(body["down"])
    if "errors5xx" in body:
        sim.faults.error_rate_5xx = 0.2 if body["errors5xx"] else 0.0
        sim.poke()
    if "strictFlood" in body:
        sim.set_strict_flood(body["strictFlood"])
    return web.json_response(request.app[STATE].switches())
