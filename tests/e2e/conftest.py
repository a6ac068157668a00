"""End-to-end rig: the real `python -m bot` process, talking HTTP to the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy.engine import make_url

from bot.db.migrate import upgrade_to_head
from playground.sim import FakeBotApi, Press
from tests.conftest import fresh_pg_database, sqlite_copy

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e

# What Telegram must never have to say to us in a journey: 400 is a request we got wrong
# (an edit that changes nothing, a button answered twice …), 429 is a flood limit we broke.
REFUSALS = (400, 429)


class BotProcess:
    """One run of the bot as a subprocess; can be stopped, killed and started again."""

    # Every process started and not yet seen to exit: the autouse fixture below kills any
    # that a failing test left behind, so nothing outlives its test.
    running: ClassVar[set[asyncio.subprocess.Process]] = set()

    def __init__(self, fake: FakeBotApi, workdir: Path, database_url: str, **settings: str):
        self.fake = fake
        self.workdir = workdir
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))},
            "BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "INFO",
            "PYTHONPATH": str(REPO),
            # --- web --- Any free port: bots of parallel test runs must not collide on 9090.
            "HEALTH_LISTEN": "127.0.0.1:0",
            **settings,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"bot-{self.runs}.log"

    async def start(self, *, wait: bool = True) -> None:
        self.runs += 1
        since = time.monotonic()
        log = self.log_path.open("wb")
        # cwd is the test's own folder, so the repository's .env is never read.
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        log.close()
        BotProcess.running.add(self.process)
        if wait:
            # Only this run's first poll counts: the fake remembers the runs before it, and a
            # start on a busy machine takes a while.
            await self.fake.wait_until_polling(timeout=30, since=since)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Stop the process and return its exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"bot did not stop within {timeout}s\n{self.output()}") from None
        finally:
            if self.process.returncode is not None:
                BotProcess.running.discard(self.process)
        return code

    async def kill(self) -> None:
        await self.stop(signal.SIGKILL)

    def output(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.workdir.glob("bot-*.log"))
        )


@pytest.fixture(autouse=True)
async def no_orphan_bots() -> AsyncIterator[None]:
    yield
    for process in list(BotProcess.running):
        if process.returncode is None:
            process.kill()
            await process.wait()
        BotProcess.running.discard(process)


def refusals(fake: FakeBotApi) -> list[tuple[str, int | None, str, str]]:
    """Every request the fake Bot API refused with a 400 or a 429, in order: the method,
    the status, the start of Telegram's reason and of the text the request carried."""
    return [
        (
            c.method,
            c.status,
            (c.error or "")[:60],
            str(c.params.get("text") or c.params.get("caption") or "")[:60],
        )
        for c in fake.calls
        if c.status in REFUSALS
    ]


def assert_telegram_never_refused(fake: FakeBotApi) -> None:
    """Telegram answered no request with a 400 or a 429, not even a harmless one."""
    refused = refusals(fake)
    assert refused == [], f"the Bot API refused {len(refused)} request(s): {refused[:5]}"


async def assert_answered_first(fake: FakeBotApi, press: Press, text_contains: str) -> None:
    """The press was answered before the message it brought went out, so the spinner never
    waits behind that message's turn in the chat (one a second)."""
    await press.answer()
    calls = fake.calls
    answered = next(
        i
        for i, c in enumerate(calls)
        if c.method == "answerCallbackQuery" and str(c.params.get("callback_query_id")) == press.id
    )
    sent = next(
        (
            i
            for i, c in enumerate(calls)
            if c.method == "sendMessage"
            and c.chat_id == press.chat_id
            and text_contains in str(c.params.get("text", ""))
        ),
        None,
    )
    assert sent is not None, f"no message with {text_contains!r} after the press"
    assert answered < sent, f"{text_contains!r} went out before the press was answered"


async def menu_of(
    fake: FakeBotApi, chat_id: int, *, has: set[str] | None = None, timeout: float = 10.0
) -> set[str]:
    """The commands set for a private chat's own menu (empty: Telegram's default one), once
    it holds `has` (or, with `has` empty, once it is the default). The bot sets a menu just
    after it answers, so it may land a moment after the reply a test waited for."""
    scope = {"type": "chat", "chat_id": chat_id}
    deadline = time.monotonic() + timeout
    while True:
        menu = {c["command"] for c in fake.commands(scope)}
        done = has <= menu if has else not menu
        if done or has is None or time.monotonic() > deadline:
            return menu
        await asyncio.sleep(0.05)


@pytest.fixture(autouse=True)
def telegram_never_refused(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each journey that uses `fake_api`: no 400 and no 429 from the Bot API.

    A test that injects faults on purpose (429s, refused webhooks …) opts out with
    `@pytest.mark.telegram_faults`.
    """
    if "fake_api" not in request.fixturenames or request.node.get_closest_marker("telegram_faults"):
        yield
        return
    fake = request.getfixturevalue("fake_api")
    yield
    assert_telegram_never_refused(fake)


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture(scope="session")
def pg_e2e_template(pg_server_url: str) -> Iterator[str]:
    """The name of a migrated PostgreSQL database, kept unused, that each journey's own
    database is copied from."""
    for url in fresh_pg_database(pg_server_url):
        upgrade_to_head(url)
        name = make_url(url).database
        assert name is not None
        yield name


@pytest.fixture(params=["sqlite", "postgresql"])
def e2e_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, already migrated, for a journey: a SQLite file, or a fresh
    PostgreSQL database (when TEST_DATABASE_URL is set).

    The bot then starts as after any restart, without its migration child (a second of CPU
    per start, on a machine the parallel run keeps busy). Starting on an empty database,
    which the bot migrates first, is what `empty_database_url` gives: test_startup.py and
    test_replicas.py start on one.
    """
    if request.param == "sqlite":
        yield sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        template = request.getfixturevalue("pg_e2e_template")
        yield from fresh_pg_database(request.getfixturevalue("pg_server_url"), template)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for the bot to migrate at start: a SQLite file, or a fresh
    PostgreSQL database (when TEST_DATABASE_URL is set)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'carecircle.db'}"
    else:
        yield from fresh_pg_database(request.getfixturevalue("pg_server_url"))


@pytest.fixture
async def bot(
    fake_api: FakeBotApi, tmp_path: Path, e2e_database_url: str
) -> AsyncIterator[BotProcess]:
    """A running bot; at the end it must stop cleanly and never have printed a traceback."""
    process = BotProcess(fake_api, tmp_path, e2e_database_url)
    await process.start()
    yield process
    code = await process.stop()
    output = process.output()
    assert "Traceback" not in output, output
    assert code == 0, output
