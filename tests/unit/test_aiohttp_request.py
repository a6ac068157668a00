"""The bot's request layer (bot.aiohttp_request) against a local HTTP server: what arrives,
what comes back, and every way a call can fail without an answer.

Tried to break: a photo upload beside form fields, Telegram's error statuses, a refused
connection, an answer that never comes, the pool full of slow calls, a call before
initialize and after shutdown, a second initialize, and PTB's own Bot on top of it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot import aiohttp_request
from bot.aiohttp_request import AiohttpRequest, PoolTimedOut
from bot.botapi import BotApiMonitor, ObservedRequest
from bot.metrics import Metrics

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
MESSAGE = {"message_id": 7, "date": 0, "chat": {"id": 42, "type": "private"}, "text": "hi"}


@dataclass
class Server:
    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)
    # Seconds each answer waits before it is given.
    delay: float = 0.0
    # The next answers: (status, body).
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server("")

    async def answer(request: web.Request) -> web.Response:
        seen: dict[str, Any] = {"method": request.method, "path": request.path}
        seen["host"] = request.host
        seen["content_type"] = request.content_type
        if request.content_type == "multipart/form-data":
            parts: dict[str, Any] = {}
            reader = await request.multipart()
            async for part in reader:
                parts[part.name] = (part.filename, await part.read())  # type: ignore[union-attr]
            seen["parts"] = parts
        else:
            seen["form"] = dict(await request.post())
        state.seen.append(seen)
        if state.delay:
            await asyncio.sleep(state.delay)
        status, body = state.script.pop(0) if state.script else (200, {"ok": True, "result": True})
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


def form(**values: Any) -> RequestData:
    return RequestData([RequestParameter(k, v, None) for k, v in values.items()])


async def test_form_fields_go_url_encoded_and_the_answer_comes_back(server: Server) -> None:
    request = AiohttpRequest()
    await request.initialize()
    status, body = await request.do_request(
        f"{server.url}/bot{TOKEN}/sendMessage", "POST", form(chat_id=42, text="hi & bye ✓")
    )
    await request.shutdown()
    assert (status, json.loads(body)) == (200, {"ok": True, "result": True})
    [seen] = server.seen
    assert seen["content_type"] == "application/x-www-form-urlencoded"
    assert seen["form"] == {"chat_id": "42", "text": "hi & bye ✓"}


async def test_a_file_goes_multipart_beside_the_fields(server: Server) -> None:
    photo = InputFile(b"\x89PNG fake", filename="chart.png", attach=False)
    params = [
        RequestParameter("chat_id", 42, None),
        RequestParameter("photo", photo.attach_uri or "", [photo]),
    ]
    request = AiohttpRequest()
    await request.initialize()
    await request.do_request(f"{server.url}/bot{TOKEN}/sendPhoto", "POST", RequestData(params))
    await request.shutdown()
    [seen] = server.seen
    assert seen["content_type"] == "multipart/form-data"
    assert seen["parts"]["chat_id"] == (None, b"42")
    [(filename, content)] = [v for k, v in seen["parts"].items() if k != "chat_id"]
    assert (filename, content) == ("chart.png", b"\x89PNG fake")


async def test_ptb_reads_telegrams_errors_through_it(server: Server) -> None:
    server.script = [
        (200, {"ok": True, "result": MESSAGE}),
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
        ),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
    ]
    request = AiohttpRequest(connection_pool_size=4)
    bot = Bot(TOKEN, base_url=f"{server.url}/bot", request=request)
    # get_me is not called: the bot is not initialized, only its request layer.
    await request.initialize()
    message = await bot.send_message(42, "hi")
    assert message.message_id == 7
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(42, "hi")
    with pytest.raises(RetryAfter):
        await bot.send_message(42, "hi")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(42, "hi")
    await request.shutdown()


async def test_no_answer_at_all_is_a_network_error(unused_tcp_port: int) -> None:
    request = AiohttpRequest(connect_timeout=1.0)
    await request.initialize()
    with pytest.raises(NetworkError, match=r"aiohttp\.Client") as caught:
        await request.do_request(f"http://127.0.0.1:{unused_tcp_port}/bot1:x/getMe", "POST")
    assert not isinstance(caught.value, TimedOut)
    await request.shutdown()


async def test_a_name_lookup_that_hangs_is_bounded_by_the_connect_timeout() -> None:
    request = AiohttpRequest(connect_timeout=0.2)
    await request.initialize()
    assert request._session is not None
    resolver = request._session.connector._resolver  # type: ignore[union-attr]
    real = resolver.resolve

    async def hung(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "api.example.invalid":
            await asyncio.sleep(30)  # a DNS server that never answers
        return await real(host, *args, **kwargs)

    resolver.resolve = hung
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(TimedOut):
        await request.do_request("http://api.example.invalid/bot1:x/getMe", "POST")
    assert loop.time() - start < 5  # 0.2 s and scheduling; was the whole 30 s
    await request.shutdown()


async def test_an_answer_slower_than_the_read_timeout_is_timed_out(server: Server) -> None:
    server.delay = 0.5
    request = AiohttpRequest(read_timeout=0.1)
    await request.initialize()
    with pytest.raises(TimedOut) as caught:
        await request.do_request(f"{server.url}/bot1:x/getMe", "POST")
    assert not isinstance(caught.value, PoolTimedOut)
    # A call may ask for longer (PTB does for the long poll): then it gets its answer.
    status, _ = await request.do_request(f"{server.url}/bot1:x/getMe", "POST", read_timeout=2.0)
    assert status == 200
    await request.shutdown()


async def test_a_full_pool_is_told_apart_and_counted_as_ours(server: Server) -> None:
    server.delay = 0.5
    metrics = Metrics()
    monitor = BotApiMonitor(metrics)
    request = ObservedRequest(monitor, connection_pool_size=2, pool_timeout=0.1)
    await request.initialize()
    url = f"{server.url}/bot1:x/sendMessage"
    results = await asyncio.gather(
        *(request.do_request(url, "POST") for _ in range(3)), return_exceptions=True
    )
    await request.shutdown()
    assert sorted(type(r).__name__ for r in results) == ["PoolTimedOut", "tuple", "tuple"]
    assert len(server.seen) == 2  # the third never left
    assert monitor.unreachable_seconds() == 0


async def test_a_caller_cancelled_while_waiting_for_the_pool_leaks_no_connection(
    server: Server,
) -> None:
    server.delay = 0.2
    request = AiohttpRequest(connection_pool_size=1, pool_timeout=5.0)
    await request.initialize()
    url = f"{server.url}/bot1:x/sendMessage"
    first = asyncio.create_task(request.do_request(url, "POST"))
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(request.do_request(url, "POST"))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert (await first)[0] == 200
    # The one connection is free again: a call with no patience for the pool gets it.
    status, _ = await request.do_request(url, "POST", pool_timeout=0.01)
    await request.shutdown()
    assert status == 200 and len(server.seen) == 2


async def test_an_upload_that_stalls_is_timed_out_as_a_whole() -> None:
    # A server that takes the connection and never reads: the upload fills the socket's
    # buffers and stalls while being written, before any read timeout could start.
    accepted: list[asyncio.StreamWriter] = []

    async def never_read(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    listener = await asyncio.start_server(never_read, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    request = AiohttpRequest(connect_timeout=0.5, read_timeout=0.2, media_write_timeout=0.3)
    await request.initialize()
    big = InputFile(b"x" * 64_000_000, filename="big.bin", attach=False)
    upload = RequestData(
        [
            RequestParameter("chat_id", 1, None),
            RequestParameter("document", big.attach_uri or "", [big]),
        ]
    )
    started = asyncio.get_running_loop().time()
    with pytest.raises(TimedOut):
        await request.do_request(f"http://127.0.0.1:{port}/bot1:x/sendDocument", "POST", upload)
    took = asyncio.get_running_loop().time() - started
    await request.shutdown()
    for writer in accepted:
        writer.close()
    listener.close()
    assert took < 3.0, "bounded by connect + write + read"


async def test_calls_before_initialize_or_after_shutdown_are_refused(server: Server) -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{server.url}/bot1:x/getMe", "POST")
    await request.initialize()
    await request.initialize()  # a second initialize keeps the same session
    assert (await request.do_request(f"{server.url}/bot1:x/getMe", "POST"))[0] == 200
    await request.shutdown()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{server.url}/bot1:x/getMe", "POST")
    await request.initialize()  # PTB may initialize again after a shutdown
    assert (await request.do_request(f"{server.url}/bot1:x/getMe", "POST"))[0] == 200
    await request.shutdown()


def clear_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def test_the_environments_proxy_is_used_and_looked_up_once(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `server` plays the proxy: a proxied call arrives with Telegram's host in its Host header.
    clear_proxies(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    lookups: list[str] = []
    real = aiohttp_request.get_env_proxy_for_url

    def counted(url: Any) -> Any:
        lookups.append(str(url.host))
        return real(url)

    monkeypatch.setattr(aiohttp_request, "get_env_proxy_for_url", counted)
    request = AiohttpRequest()
    await request.initialize()
    for method in ("getMe", "sendMessage", "getMe"):
        status, _ = await request.do_request(
            f"http://api.telegram.invalid/bot{TOKEN}/{method}", "POST", form(chat_id=1)
        )
        assert status == 200
    await request.shutdown()
    assert [seen["host"] for seen in server.seen] == ["api.telegram.invalid"] * 3
    assert lookups == ["api.telegram.invalid"]


async def test_no_proxy_sends_straight_to_the_host(
    server: Server, unused_tcp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy that is not listening: going through it would fail.
    clear_proxies(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{unused_tcp_port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    request = AiohttpRequest()
    await request.initialize()
    status, _ = await request.do_request(f"{server.url}/bot{TOKEN}/getMe", "POST")
    await request.shutdown()
    assert status == 200
    monkeypatch.delenv("NO_PROXY")
    request = AiohttpRequest()
    await request.initialize()
    with pytest.raises(NetworkError):
        await request.do_request(f"{server.url}/bot{TOKEN}/getMe", "POST")
    await request.shutdown()


async def test_file_downloads_use_get(server: Server) -> None:
    request = AiohttpRequest()
    await request.initialize()
    status, _ = await request.do_request(f"{server.url}/file/bot1:x/photos/a.jpg", "GET")
    await request.shutdown()
    assert status == 200
    assert server.seen[0]["method"] == "GET"


async def test_an_error_that_quotes_the_url_does_not_show_the_token() -> None:
    request = AiohttpRequest()
    await request.initialize()
    with pytest.raises(NetworkError) as caught:  # no scheme: aiohttp quotes the URL
        await request.do_request(f"127.0.0.1:1/bot{TOKEN}/getMe", "POST")
    await request.shutdown()
    assert TOKEN not in caught.value.message
    assert TOKEN.split(":")[1] not in caught.value.message
