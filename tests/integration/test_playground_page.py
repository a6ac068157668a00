"""The playground page's HTTP side: its actions check their input, and the event stream
carries each change (a new message, an edit) to the page as it happens.

The simulated Telegram runs for real; the bot does not: the tests call the Bot API
themselves where the bot would.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from playground.launcher import Playground
from playground.page import PageState, create_page_app
from playground.page import server as page_server
from playground.page.uploads import MAX_FILE_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
OGG = b"OggS" + b"\x00" * 64
JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    built = Playground(tmp_path, env={})
    await built.sim.start()
    yield built
    await built.sim.stop()


@pytest.fixture
async def client(playground: Playground) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_page_app(PageState(playground))
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


async def bot_api(playground: Playground, method: str, **params: Any) -> Any:
    """A Bot API request, as the bot would make it."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{playground.sim.base_url}{playground.sim.token}/{method}", json=params) as r,
    ):
        body = await r.json()
    assert body["ok"], body
    return body["result"]


async def add(client: TestClient[Any, Any], name: str = "Pat") -> int:
    response = await client.post("/api/people", json={"name": name})
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def test_the_page_is_served_with_a_strict_content_policy(
    client: TestClient[Any, Any],
) -> None:
    page = await client.get("/")
    assert page.status == 200
    assert "carecircle playground" in await page.text()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ("app.js", "format.js", "style.css"):
        assert (await client.get(f"/static/{asset}")).status == 200


async def test_a_person_writes_and_the_bot_receives_it(
    client: TestClient[Any, Any], playground: Playground
) -> None:
    pat = await add(client, "Pat")
    assert (await client.post(f"/api/people/{pat}/send", json={"text": "/start"})).status == 200
    [update] = playground.sim.pending_updates
    assert update["message"]["text"] == "/start"
    assert update["message"]["from"]["first_name"] == "Pat"
    assert await add(client, "Anna") == pat + 1


@pytest.mark.parametrize("person", ["999", "abc", "1" * 40])
async def test_an_unknown_person_is_refused(client: TestClient[Any, Any], person: str) -> None:
    response = await client.post(f"/api/people/{person}/send", json={"text": "hi"})
    assert response.status == 404
    assert "no such person" in (await response.json())["error"]


async def test_text_must_be_text_and_fit_in_a_message(
    client: TestClient[Any, Any], playground: Playground
) -> None:
    pat = await add(client)
    url = f"/api/people/{pat}/send"
    assert (await client.post(url, json={"text": "x" * 4097})).status == 413
    assert (await client.post(url, json={"text": "😀" * 2049})).status == 413  # UTF-16 units
    assert (await client.post(url, json={"text": "   "})).status == 400
    assert (await client.post(url, json={"text": 42})).status == 400
    assert (await client.post(url, json=["text"])).status == 400
    assert (await client.post(url, data="{not json", headers=JSON_HEADERS)).status == 400
    assert (await client.post(url, data="text=hi")).status == 415
    huge = json.dumps({"text": "x" * 100_000})
    assert (await client.post(url, data=huge, headers=JSON_HEADERS)).status == 413
    assert playground.sim.pending_updates == []
    assert (await client.post(url, json={"text": "x" * 4096})).status == 200


@pytest.mark.parametrize("name", ["", "   ", "x" * 33, "two\nlines", None, 7])
async def test_a_name_is_one_short_line(client: TestClient[Any, Any], name: Any) -> None:
    response = await client.post("/api/people", json={"name": name})
    assert response.status in (400, 413)


async def test_a_photo_is_checked_then_sent_and_served_back(
    client: TestClient[Any, Any], playground: Playground
) -> None:
    pat = await add(client)
    url = f"/api/people/{pat}/photo"

    def form(content: bytes, caption: str | None = None) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("file", content, filename="x.png", content_type="image/png")
        if caption is not None:
            data.add_field("caption", caption)
        return data

    assert (await client.post(url, data=form(b"<html>not a photo</html>"))).status == 415
    assert (await client.post(url, data=form(OGG))).status == 415
    assert (await client.post(url, data=form(PNG + b"\x00" * MAX_FILE_BYTES))).status == 413
    assert (await client.post(url, data=form(PNG, "x" * 1025))).status == 413
    assert (await client.post(url, json={"file": "x"})).status == 415
    assert playground.sim.pending_updates == []

    assert (await client.post(url, data=form(PNG, "the pill box"))).status == 200
    [update] = playground.sim.pending_updates
    message = update["message"]
    assert message["caption"] == "the pill box"
    served = await client.get(f"/files/{message['photo'][-1]['file_id']}")
    assert served.content_type == "image/png"
    assert await served.read() == PNG
    assert (await client.get("/files/no-such-file")).status == 404


async def test_a_voice_note_is_checked_then_sent(
    client: TestClient[Any, Any], playground: Playground
) -> None:
    pat = await add(client)
    url = f"/api/people/{pat}/voice"

    def form(content: bytes, duration: str = "4") -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("file", content, filename="note.ogg", content_type="audio/ogg")
        data.add_field("duration", duration)
        return data

    assert (await client.post(url, data=form(PNG))).status == 415
    assert (await client.post(url, data=form(OGG, "0"))).status == 400
    assert (await client.post(url, data=form(OGG, "soon"))).status == 400
    assert (
        await client.post(url, data=aiohttp.FormData({"duration": "3"}, default_to_multipart=True))
    ).status == 400
    assert (await client.post(url, data=form(OGG))).status == 200
    [update] = playground.sim.pending_updates
    assert update["message"]["voice"]["duration"] == 4


async def test_a_press_must_be_on_a_button_the_message_shows(
    client: TestClient[Any, Any], playground: Playground, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_server, "PRESS_ANSWER_SECONDS", 0.1)
    pat = await add(client)
    await client.post(f"/api/people/{pat}/send", json={"text": "/start"})
    keyboard = {"inline_keyboard": [[{"text": "Yes", "callback_data": "1:yes"}]]}
    sent = await bot_api(
        playground, "sendMessage", chat_id=pat, text="Sure?", reply_markup=keyboard
    )
    url = f"/api/people/{pat}/press"

    for forged in (
        {"messageId": sent["message_id"], "data": "1:admin"},
        {"messageId": sent["message_id"] + 5, "data": "1:yes"},
        {"messageId": "1", "data": "1:yes"},
    ):
        response = await client.post(url, json=forged)
        assert response.status in (400, 409), forged
    pressed = await client.post(url, json={"messageId": sent["message_id"], "data": "1:yes"})
    assert pressed.status == 200
    assert (await pressed.json()) == {"answer": None}  # no bot here to answer it
    queries = [u["callback_query"] for u in playground.sim.pending_updates if "callback_query" in u]
    assert [q["data"] for q in queries] == ["1:yes"]


async def test_the_switches_change_the_simulated_telegram(
    client: TestClient[Any, Any], playground: Playground
) -> None:
    sim = playground.sim
    response = await client.post(
        "/api/switches", json={"down": True, "errors5xx": True, "strictFlood": True}
    )
    assert await response.json() == {"down": True, "errors5xx": True, "strictFlood": True}
    assert sim.down and sim.faults.error_rate_5xx == 0.2 and sim.strict_flood
    await client.post("/api/switches", json={"down": False, "errors5xx": False})
    assert not sim.down and sim.faults.error_rate_5xx == 0 and sim.strict_flood
    for bad in ({}, {"down": "yes"}, {"everything": True}):
        assert (await client.post("/api/switches", json=bad)).status == 400


async def test_another_site_or_host_cannot_drive_the_playground(
    client: TestClient[Any, Any], playground: Playground
) -> None:
    foreign = {"Origin": "http://evil.example"}
    assert (await client.post("/api/people", json={"name": "X"}, headers=foreign)).status == 403
    rebound = {"Host": "evil.example:8000"}
    assert (await client.get("/api/state", headers=rebound)).status == 403
    assert playground.sim.people() == []


async def test_the_demo_family_is_set_up_once(
    client: TestClient[Any, Any], playground: Playground
) -> None:
    playground.sim.user(100, "Pat")  # the demo's patient is already here
    assert (await client.post("/api/demo")).status == 409


async def next_event(stream: aiohttp.ClientResponse, timeout: float = 5.0) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        while True:
            line = (await stream.content.readline()).decode()
            if line.startswith("data: "):
                return dict(json.loads(line.removeprefix("data: ")))

    return await asyncio.wait_for(read(), timeout)


async def test_the_event_stream_carries_a_message_then_its_edit(
    client: TestClient[Any, Any], playground: Playground
) -> None:
    pat = await add(client, "<b>Pat</b>")
    await client.post(f"/api/people/{pat}/send", json={"text": "/start"})
    stream = await client.get("/events")
    first = await next_event(stream)
    assert first["reset"] and first["people"][0]["name"] == "<b>Pat</b>"
    assert [m["text"] for m in first["messages"]] == ["/start"]

    sent = await bot_api(
        playground, "sendMessage", chat_id=pat, text="Hello <b>Pat</b>", parse_mode="HTML"
    )
    update = await next_event(stream)
    while "messages" not in update:
        update = await next_event(stream)
    [message] = update["messages"]
    assert message["text"] == "Hello Pat"
    assert message["entities"] == [{"type": "bold", "offset": 6, "length": 3}]

    edited_at = time.monotonic()
    await bot_api(
        playground, "editMessageText", chat_id=pat, message_id=sent["message_id"], text="Bye"
    )
    update = await next_event(stream)
    while "messages" not in update:
        update = await next_event(stream)
    assert [(m["text"], m["edited"]) for m in update["messages"]] == [("Bye", True)]
    assert time.monotonic() - edited_at < 2, "the edit took seconds to reach the page"
    stream.close()
    timeline = (await (await client.get("/api/state")).json())["calls"]
    assert [(c["method"], c["chat"], c["status"]) for c in timeline] == [
        ("sendMessage", pat, 200),
        ("editMessageText", pat, 200),
    ]
