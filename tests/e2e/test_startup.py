"""Starting up wrong: one clear line, a non-zero exit, never a traceback."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from playground.sim import FakeBotApi
from tests.e2e.conftest import REPO, BotProcess


async def run_bot(workdir: Path, **env: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


def only_line(output: str) -> str:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.startswith("carecircle:")]
    assert len(lines) == 1, output
    return lines[0]


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts connections and never answers."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_no_token(tmp_path: Path) -> None:
    code, output = await run_bot(tmp_path)
    assert code != 0
    assert "BOT_TOKEN" in only_line(output)


async def test_nothing_listening_at_the_bot_api(tmp_path: Path) -> None:
    code, output = await run_bot(
        tmp_path, BOT_TOKEN="1:x", TELEGRAM_BASE_URL="http://127.0.0.1:9/bot"
    )
    assert code != 0
    assert "could not reach the Telegram Bot API" in only_line(output)


async def test_bot_api_that_never_answers(tmp_path: Path, silent_server: int) -> None:
    code, output = await run_bot(
        tmp_path,
        BOT_TOKEN="1:x",
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{silent_server}/bot",
        TELEGRAM_TIMEOUT_SECONDS="2",
    )
    assert code != 0
    assert "could not reach the Telegram Bot API" in only_line(output)


async def test_rejected_token(tmp_path: Path, fake_api: FakeBotApi) -> None:
    code, output = await run_bot(tmp_path, BOT_TOKEN="1:wrong", TELEGRAM_BASE_URL=fake_api.base_url)
    assert code != 0
    assert "rejected BOT_TOKEN" in only_line(output)


async def test_a_wrong_base_url_says_so_not_that_the_token_was_rejected(
    tmp_path: Path, fake_api: FakeBotApi
) -> None:
    """A server that answers 404 (here: the fake, under another path) is not Telegram
    refusing the token, though PTB raises InvalidToken for both."""
    wrong = fake_api.base_url.replace("/bot", "/api/bot")
    code, output = await run_bot(tmp_path, BOT_TOKEN=fake_api.token, TELEGRAM_BASE_URL=wrong)
    assert code != 0
    line = only_line(output)
    assert "404" in line and "check TELEGRAM_BASE_URL" in line, line
    assert fake_api.token not in output


@pytest.mark.parametrize(
    "url", ["nonsense", "mysql+nodriver://x/y", "postgresql://u:secret@127.0.0.1:1/x"]
)
async def test_bad_database_url(tmp_path: Path, url: str) -> None:
    code, output = await run_bot(tmp_path, BOT_TOKEN="1:x", DATABASE_URL=url)
    assert code != 0
    line = only_line(output)
    assert "DATABASE_URL" in line and "secret" not in line


async def test_migrate_needs_no_token(tmp_path: Path) -> None:
    database = tmp_path / "migrated.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate",
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(REPO),
            "DATABASE_URL": f"sqlite:///{database}",
        },
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert database.exists()


async def test_sigterm_stops_cleanly_and_start_again_resumes(
    fake_api: FakeBotApi, tmp_path: Path, empty_database_url: str
) -> None:
    # The first start migrates the empty database; the second finds it current.
    process = BotProcess(fake_api, tmp_path, empty_database_url)
    await process.start()
    patient = fake_api.user(1, "Pat")
    await patient.send("/start")
    await patient.wait_for("Who are you here as?")
    assert await process.stop() == 0
    await patient.send("/help")  # arrives while the bot is down
    await process.start()
    await patient.wait_for("How carecircle works")
    assert await process.stop() == 0
    assert "Traceback" not in process.output()
