"""Tests of the fake Bot API server, driven by python-telegram-bot's real ``telegram.Bot``.

If PTB accepts the fake's answers and raises the same exceptions it would against Telegram,
end-to-end tests built on the fake exercise the bot's real error handling. Error checks compare
the exact wire description (``fake.calls[-1].error``): PTB rewrites the message it raises.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from playground.sim import ApiError, FakeBotApi, FakeUser, FloodLimits, format_text

TOKEN = "123456:TEST-token"


def http_request() -> HTTPXRequest:
    # The fake speaks plain HTTP; skipping TLS setup saves ~0.1 s per Bot (loading CA certs).
    return HTTPXRequest(httpx_kwargs={"verify": False})


def make_bot(fake: FakeBotApi, token: str = TOKEN) -> Bot:
    return Bot(
        token,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        request=http_request(),
        get_updates_request=http_request(),
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN, bot_username="carecircle_test_bot") as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with make_bot(fake) as client:
        yield client


async def rejected(
    fake: FakeBotApi, error: type[TelegramError], description: str, call: Awaitable[object]
) -> None:
    """Assert PTB raises ``error`` and the fake answered with exactly ``description``."""
    with pytest.raises(error):
        await call
    assert fake.calls[-1].error == description


def seconds(value: int | timedelta) -> float:
    """PTB 22 reports durations as int or timedelta depending on its settings."""
    return value.total_seconds() if isinstance(value, timedelta) else value


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data)] for text, data in buttons]
    )


async def started_user(fake: FakeBotApi, bot: Bot, user_id: int = 1001) -> FakeUser:
    """A user who pressed Start; the update is confirmed so later getUpdates start clean."""
    user = fake.user(user_id, "Alice", username="alice")
    await user.send("/start")
    updates = await bot.get_updates()
    await bot.get_updates(offset=updates[-1].update_id + 1)
    return user


async def raw_call(fake: FakeBotApi, method: str, **kwargs: object) -> tuple[int, dict]:
    url = f"{fake.base_url}{fake.token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, await response.json()


# ---- basics and parameter decoding -----------------------------------------------------------


async def test_get_me(bot: Bot, fake: FakeBotApi) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "carecircle_test_bot", True)
    assert fake.calls[-1].method == "getMe" and fake.calls[-1].ok


async def test_wrong_token_and_unknown_method(fake: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(fake, "123456:wrong"):
            pass
    assert (fake.calls[-1].status, fake.calls[-1].error) == (401, "Unauthorized")
    status, body = await raw_call(fake, "sendSticker")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = await raw_call(fake, "GETME")  # method names are case-insensitive
    assert status == 200 and body["result"]["username"] == "carecircle_test_bot"
    assert fake.calls[-1].method == "getMe"


async def test_params_from_json_body_and_query_string(bot: Bot, fake: FakeBotApi) -> None:
    await started_user(fake, bot)
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    body_params = {"chat_id": "1001", "text": 123, "reply_markup": markup}
    status, body = await raw_call(fake, "sendMessage", json=body_params)
    assert status == 200 and body["result"]["text"] == "123"
    assert fake.calls[-1].params == {"chat_id": 1001, "text": "123", "reply_markup": markup}
    status, body = await raw_call(fake, "sendMessage", params={"chat_id": "1001", "text": "007"})
    assert body["result"]["text"] == "007"  # text stays a string even when it looks numeric
    await bot.send_message(
        1001, "form", disable_notification=True, reply_markup=keyboard(("A", "a"))
    )
    params = fake.calls[-1].params  # PTB's form encoding, JSON inside for complex fields
    assert params["disable_notification"] is True and params["reply_markup"]["inline_keyboard"]


# ---- text formatting ----------------------------------------------------------------------


async def test_send_html_stores_plain_and_raw_text(bot: Bot, fake: FakeBotApi) -> None:
    user = await started_user(fake, bot)
    raw = (
        '<b>Hi</b> <a href="https://x.org/?a=1&amp;b=2">you</a> &lt;3 '
        '<pre><code class="language-py">x</code></pre>'
    )
    sent = await bot.send_message(1001, raw, parse_mode="HTML")
    assert sent.text == "Hi you <3 x"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("text_link", 3, 3),
        ("pre", 10, 1),
    ]
    assert sent.entities[1].url == "https://x.org/?a=1&b=2" and sent.entities[2].language == "py"
    message = await user.wait_for("Hi you")
    assert (message["raw_text"], message["parse_mode"], message["edited"]) == (raw, "HTML", False)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("é < 2", 'Unsupported start tag "" at byte offset 3'),  # byte, not character, offset
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("a &nbsp; b", 'Unsupported HTML entity "&nbsp;" at byte offset 2'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_bad_html_is_rejected(bot: Bot, fake: FakeBotApi, text: str, reason: str) -> None:
    await started_user(fake, bot)
    description = f"Bad Request: can't parse entities: {reason}"
    await rejected(fake, BadRequest, description, bot.send_message(1001, text, parse_mode="HTML"))


def test_html_subset_and_markdown_v2() -> None:
    text, entities = format_text(
        "<tg-spoiler>s</tg-spoiler><blockquote expandable>q</blockquote>Tom & Jerry", "HTML"
    )
    assert text == "sqTom & Jerry"
    assert [e["type"] for e in entities] == ["spoiler", "expandable_blockquote"]
    text, entities = format_text(r"*bold* _it_ [link](https://x.org) 1\.5\!", "MarkdownV2")
    assert text == "bold it link 1.5!"
    assert [e["type"] for e in entities] == ["bold", "italic", "text_link"]
    for bad, reason in [
        ("Done.", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("*unclosed", "Can't find end of Bold entity at byte offset 0"),
    ]:
        with pytest.raises(ApiError) as failure:
            format_text(bad, "MarkdownV2")
        assert failure.value.description == f"Bad Request: can't parse entities: {reason}"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_escaped_text_round_trips(text: str) -> None:
    expected = text.strip(" \t\r\n\v\f")
    assert format_text(html.escape(text), "HTML") == (expected, [])
    escaped = re.sub(r"([_*\[\]()~`>#+\-=|{}.!\\])", r"\\\1", text)
    assert format_text(escaped, "MarkdownV2") == (expected, [])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="<>/&;#x\"'= abiprecodespan-tg\\*_~|`[]()!."))
def test_parsers_never_crash(text: str) -> None:
    for mode in ("HTML", "MarkdownV2"):
        try:
            format_text(text, mode)
        except ApiError as exc:
            assert exc.description.startswith("Bad Request: can't parse entities: ")


async def test_length_limits_count_utf16_after_parsing(bot: Bot, fake: FakeBotApi) -> None:
    await started_user(fake, bot)
    await bot.send_message(1001, "😀" * 2048)  # 4096 UTF-16 code units
    await bot.send_message(1001, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    too_long = bot.send_message(1001, "😀" * 2048 + "x")
    await rejected(fake, BadRequest, "Bad Request: message is too long", too_long)
    empty = bot.send_message(1001, "<b> </b>", parse_mode="HTML")
    await rejected(fake, BadRequest, "Bad Request: message text is empty", empty)
    caption = bot.send_photo(1001, b"img", caption="c" * 1025)
    await rejected(fake, BadRequest, "Bad Request: message caption is too long", caption)


# ---- who may be messaged, keyboards ---------------------------------------------------------


async def test_who_the_bot_may_message(bot: Bot, fake: FakeBotApi) -> None:
    fake.user(2002, "Bob")
    cannot_initiate = "Forbidden: bot can't initiate conversation with a user"
    await rejected(fake, Forbidden, cannot_initiate, bot.send_message(2002, "hello"))
    await rejected(fake, BadRequest, "Bad Request: chat not found", bot.send_message(999, "x"))
    user = await started_user(fake, bot)
    user.block()
    blocked = "Forbidden: bot was blocked by the user"
    await rejected(fake, Forbidden, blocked, bot.send_message(1001, "hello"))
    user.unblock()
    await bot.send_message(1001, "hello")
    user.deactivate()
    deactivated = "Forbidden: user is deactivated"
    await rejected(fake, Forbidden, deactivated, bot.send_message(1001, "hello"))
    updates = await bot.get_updates()  # blocking and unblocking are my_chat_member updates
    statuses = [u.my_chat_member.new_chat_member.status for u in updates]
    assert statuses == ["kicked", "member"]


async def test_keyboard_validation(bot: Bot, fake: FakeBotApi) -> None:
    user = await started_user(fake, bot)
    await bot.send_message(1001, "ok", reply_markup=keyboard(("A", "x" * 64)))
    too_long = bot.send_message(1001, "no", reply_markup=keyboard(("A", "é" * 33)))  # 66 bytes
    await rejected(fake, BadRequest, "Bad Request: BUTTON_DATA_INVALID", too_long)
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("A", url="ftp://x")]])
    url = bot.send_message(1001, "no", reply_markup=bad_url)
    await rejected(fake, BadRequest, "Bad Request: BUTTON_URL_INVALID", url)
    await bot.send_message(1001, "choose", reply_markup=ReplyKeyboardMarkup([["Yes", "No"]]))
    assert (await user.wait_for("choose"))["keyboard"] == ["Yes", "No"]
    assert user.reply_keyboard == {"keyboard": [[{"text": "Yes"}, {"text": "No"}]]}


# ---- editing, deleting, callback queries ----------------------------------------------------


async def test_edit_message_rules(bot: Bot, fake: FakeBotApi) -> None:
    user = await started_user(fake, bot)
    markup = keyboard(("A", "a"))
    sent = await bot.send_message(1001, "<b>Plan</b>", parse_mode="HTML", reply_markup=markup)
    same = bot.edit_message_text(
        "*Plan*", 1001, sent.message_id, parse_mode="MarkdownV2", reply_markup=markup
    )
    await rejected(
        fake,
        BadRequest,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
        same,
    )
    # The same text without reply_markup removes the keyboard, which is a modification.
    edited = await bot.edit_message_text("Plan", 1001, sent.message_id, entities=sent.entities)
    assert edited.edit_date is not None and edited.reply_markup is None
    view = await user.wait_for_edit(sent.message_id, predicate=lambda m: not m["buttons"])
    assert (view["edit_count"], view["text"]) == (1, "Plan")
    missing = bot.edit_message_text("x", 1001, 999)
    await rejected(fake, BadRequest, "Bad Request: message to edit not found", missing)
    users_own = bot.edit_message_text("x", 1001, 1)  # message 1 is the user's /start
    await rejected(fake, BadRequest, "Bad Request: message can't be edited", users_own)
    new_markup = keyboard(("B", "b"))
    changed = await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=new_markup)
    assert changed.reply_markup.inline_keyboard[0][0].text == "B"
    assert await bot.delete_message(1001, sent.message_id)
    again = bot.delete_message(1001, sent.message_id)
    await rejected(fake, BadRequest, "Bad Request: message to delete not found", again)


async def test_press_and_answer_callback_query(bot: Bot, fake: FakeBotApi) -> None:
    user = await started_user(fake, bot)
    markup = keyboard(("Yes, please", "yes"), ("No", "no"))
    sent = await bot.send_message(1001, "Pick", reply_markup=markup)
    message = await user.wait_for("Pick")
    with pytest.raises(AssertionError, match="no button 'Maybe'"):
        await user.press(message, "Maybe")
    press = await user.press(message, "Yes")  # a unique substring is enough
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert (query.id, query.data, query.message.message_id) == (press.id, "yes", sent.message_id)
    assert await query.answer("Saved", show_alert=True)
    assert (await press.answer())["text"] == "Saved"
    invalid = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    await rejected(fake, BadRequest, invalid, query.answer("again"))
    await rejected(fake, BadRequest, invalid, bot.answer_callback_query("12345"))
    forged = await user.press_data(424242, "admin:delete")
    (update,) = await bot.get_updates(offset=update.update_id + 1)
    assert update.callback_query.data == "admin:delete" and forged.message_id == 424242
    long_answer = bot.answer_callback_query(forged.id, text="x" * 201)
    await rejected(fake, BadRequest, "Bad Request: MESSAGE_TOO_LONG", long_answer)


# ---- updates: long polling, webhook ---------------------------------------------------------


@pytest.mark.timing  # "promptly" is measured on the wall clock
async def test_long_poll_wakes_promptly_and_offset_confirms(bot: Bot, fake: FakeBotApi) -> None:
    user = fake.user(1001, "Alice")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_until_polling(timeout=2)
    await asyncio.sleep(0.05)
    sent_at = time.monotonic()
    await user.send("/start@carecircle_test_bot now")
    (update,) = await poll
    assert time.monotonic() - sent_at < 0.2
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start@carecircle_test_bot")
    await user.send("second")
    assert len(await bot.get_updates()) == 2  # nothing confirmed yet
    updates = await bot.get_updates(offset=update.update_id + 1)
    assert [u.message.text for u in updates] == ["second"]
    await bot.get_updates(offset=updates[-1].update_id + 1)
    assert fake.pending_updates == []
    await fake.wait_idle(timeout=2)


async def test_webhook_delivery_with_secret(bot: Bot, fake: FakeBotApi) -> None:
    received: list[tuple[str | None, dict]] = []

    async def receive(request: web.Request) -> web.Response:
        if not received:
            received.append(("refused", {}))
            return web.Response(status=500)  # the fake retries failed deliveries
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        webhook_active = (
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first"
        )
        await rejected(fake, Conflict, webhook_active, bot.get_updates())
        await fake.user(1001, "Alice").send("hello")
        await fake.wait_idle(timeout=3)
        assert [(s, b.get("message", {}).get("text")) for s, b in received] == [
            ("refused", None),
            ("s3cret", "hello"),
        ]
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0 and "500" in (info.last_error_message or "")
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
    finally:
        await runner.cleanup()


async def test_ptb_application_runs_against_the_fake(fake: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("Welcome!", reply_markup=keyboard(("Yes", "yes")))

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("Saved")
        await update.callback_query.edit_message_text("Saved: yes")

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .request(http_request())
        .get_updates_request(http_request())
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(button))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=5)
        await fake.wait_until_polling(timeout=3)
        alice = fake.user(1001, "Alice")
        await alice.send("/start")
        welcome = await alice.wait_for("Welcome", timeout=3)
        press = await alice.press(welcome, "Yes")
        assert (await press.answer(timeout=3))["text"] == "Saved"
        await alice.wait_for_edit(welcome, text_contains="Saved: yes", timeout=3)
        await fake.wait_idle(timeout=3)
        await alice.expect_no_message(0.05)
        await application.updater.stop()
        await application.stop()


# ---- test-facing driver ---------------------------------------------------------------------


async def test_wait_for_is_a_cursor(bot: Bot, fake: FakeBotApi) -> None:
    user = await started_user(fake, bot)
    for text in ("one", "two", "three"):
        await bot.send_message(1001, text)
    assert (await user.wait_for("three"))["text"] == "three"
    assert (await user.wait_for())["text"] == "one"  # skipped messages stay available
    assert (await user.wait_for())["text"] == "two"
    await user.expect_no_message(0.05)
    with pytest.raises(AssertionError, match="timed out") as failure:
        await user.wait_for("four", timeout=0.05)
    assert "'three'" in str(failure.value)  # the report lists the chat's messages
    late = asyncio.create_task(user.wait_for("late", timeout=2))
    await asyncio.sleep(0.05)
    await bot.send_message(1001, "late")
    assert (await late)["text"] == "late"
    await bot.send_message(1001, "stray")
    with pytest.raises(AssertionError, match="unexpected bot message"):
        await user.expect_no_message(0.05)
    texts = [m["text"] for m in fake.sent_messages(1001)]
    assert texts == ["one", "two", "three", "late", "stray"]


async def test_media_round_trip(bot: Bot, fake: FakeBotApi) -> None:
    user = fake.user(1001, "Alice")
    await user.send_photo(caption="rash")
    await user.send_voice(duration=7)
    await user.send_document(file_name="plan.pdf")
    photo, voice, document = [u.message for u in await bot.get_updates()]
    assert photo.caption == "rash" and seconds(voice.voice.duration) == 7
    assert document.document.file_name == "plan.pdf"
    file = await bot.get_file(photo.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()).startswith(b"\xff\xd8")
    again = await bot.send_photo(
        1001, photo.photo[-1].file_id, caption="<i>seen</i>", parse_mode="HTML"
    )
    assert again.photo[-1].file_unique_id == photo.photo[-1].file_unique_id
    assert again.caption == "seen"
    uploaded = await bot.send_document(1001, b"%PDF data", filename="notes.pdf")
    assert uploaded.document.file_name == "notes.pdf"
    downloaded = await (await bot.get_file(uploaded.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"%PDF data"
    unknown = bot.send_voice(1001, "no-such-file")
    await rejected(
        fake, BadRequest, "Bad Request: wrong file identifier/HTTP URL specified", unknown
    )
    copied = await bot.copy_message(1001, 1001, voice.message_id)
    assert fake.sent_messages(1001)[-1]["voice"]["duration"] == 7
    forwarded = await bot.forward_message(1001, 1001, document.message_id)
    assert forwarded.forward_origin.sender_user.id == 1001
    assert forwarded.message_id == copied.message_id + 1  # ids are shared per chat
    assert await bot.send_chat_action(1001, "typing")


async def test_groups_commands_and_get_chat(bot: Bot, fake: FakeBotApi) -> None:
    group = fake.group(-1001234, "Family")
    await fake.user(1001, "Alice").send("/status", chat=group)
    (update,) = await bot.get_updates()
    assert (update.message.chat.type, update.message.chat.title) == ("supergroup", "Family")
    await bot.send_message(-1001234, "All good")
    assert (await group.wait_for("All good"))["chat_id"] == -1001234
    never_wrote = bot.get_chat(1001)  # Alice never wrote to the bot privately
    await rejected(fake, BadRequest, "Bad Request: chat not found", never_wrote)
    assert (await bot.get_chat(-1001234)).title == "Family"
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands([BotCommand("help", "Help")], scope=BotCommandScopeChat(1001))
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert [c["command"] for c in fake.commands({"type": "chat", "chat_id": 1001})] == ["help"]
    invalid = bot.set_my_commands([BotCommand("Bad-Name", "x")])
    await rejected(fake, BadRequest, "Bad Request: BOT_COMMAND_INVALID", invalid)
    await bot.delete_my_commands(scope=BotCommandScopeChat(1001))
    assert fake.commands({"type": "chat", "chat_id": 1001}) == []


async def test_descriptions(bot: Bot, fake: FakeBotApi) -> None:
    assert (await bot.get_my_description()).description == ""
    await bot.set_my_description("What this bot does.")
    await bot.set_my_short_description("In short.")
    assert (await bot.get_my_description()).description == "What this bot does."
    assert (await bot.get_my_short_description()).short_description == "In short."
    assert fake.descriptions == {
        ("description", ""): "What this bot does.",
        ("short_description", ""): "In short.",
    }
    too_long = bot.set_my_short_description("x" * 121)
    await rejected(fake, BadRequest, "Bad Request: SHORT_DESCRIPTION_INVALID", too_long)


# ---- faults ---------------------------------------------------------------------------------


async def test_fail_next_429_and_5xx(bot: Bot, fake: FakeBotApi) -> None:
    await started_user(fake, bot)
    fake.faults.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(1001, "hi")
    assert "Retry in 7 seconds" in str(flood.value) or "0:00:07" in str(flood.value)
    assert fake.calls[-1].error == "Too Many Requests: retry after 7"
    fake.faults.fail_next("sendMessage", status=502, after_effect=True)
    lost_response = bot.send_message(1001, "delivered anyway")
    await rejected(fake, NetworkError, "Bad Gateway", lost_response)
    assert [m["text"] for m in fake.sent_messages(1001)] == ["delivered anyway"]
    fake.faults.seed, fake.faults.error_rate_5xx = 1, 1.0
    with pytest.raises(NetworkError):
        await bot.send_message(1001, "lost")
    assert await bot.get_me()  # random 5xx only hit send*/edit*-style methods
    fake.faults.error_rate_5xx, fake.faults.latency = 0.0, (0.05, 0.05)
    started = time.monotonic()
    await bot.send_message(1001, "slow")
    assert time.monotonic() - started >= 0.05


async def test_outage_drops_connections(bot: Bot, fake: FakeBotApi) -> None:
    fake.faults.outage(0.3)
    with pytest.raises(NetworkError):
        await bot.get_me()
    assert fake.calls[-1].status == 0
    await asyncio.sleep(0.3)
    assert await bot.get_me()


async def test_down_until_up(bot: Bot, fake: FakeBotApi) -> None:
    fake.faults.down()
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.get_me()
    assert fake.faults.in_outage and fake.calls[-1].status == 0
    fake.faults.up()
    assert await bot.get_me()


async def test_flood_limits_recorded_and_enforced(bot: Bot, fake: FakeBotApi) -> None:
    await started_user(fake, bot)
    await bot.send_message(1001, "a")
    await bot.send_message(1001, "b")  # not enforced by default, but recorded
    assert [(v.rule, v.observed) for v in fake.flood_violations] == [("per_chat_per_second", 2)]
    async with FakeBotApi(token=TOKEN, flood_limits=FloodLimits(per_chat_per_second=1)) as strict:
        await strict.user(1001, "Alice").send("/start")
        async with make_bot(strict) as strict_bot:
            await strict_bot.send_message(1001, "a")
            with pytest.raises(RetryAfter):
                await strict_bot.send_message(1001, "b")
        assert len(strict.sent_messages()) == 1


async def test_paid_broadcasts_pass_at_a_thousand_a_second_and_are_counted() -> None:
    async with FakeBotApi(token=TOKEN, flood_limits=FloodLimits()) as strict:
        for chat in range(2001, 2061):
            await strict.user(chat, f"U{chat}").send("/start")
            await strict.user(chat + 100, f"V{chat}").send("/start")
        async with make_bot(strict) as strict_bot:
            for chat in range(2001, 2061):  # sixty at once: twice the free limit
                await strict_bot.send_message(chat, "paid", allow_paid_broadcast=True)
            assert strict.paid_messages == 60
            with pytest.raises(RetryAfter):  # the free lane is still 30 a second
                for chat in range(2101, 2161):
                    await strict_bot.send_message(chat, "free")
        assert strict.flood_violations[-1].rule == "global_per_second"
        assert strict.paid_messages == 60
