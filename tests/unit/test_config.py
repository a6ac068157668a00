"""Settings: defaults, friendly database URLs and one-line errors that never echo secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import DatabaseSettings, Settings, describe_settings_error


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in ("BOT_TOKEN", "DATABASE_URL", "LOG_LEVEL", "TELEGRAM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_missing_token_says_where_to_get_one() -> None:
    with pytest.raises(ValidationError) as error:
        Settings()  # type: ignore[call-arg]
    line = describe_settings_error(error.value)
    assert "BOT_TOKEN" in line and "@BotFather" in line and "\n" not in line


def test_defaults_are_the_embedded_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    settings = Settings()  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///carecircle.db"
    assert settings.telegram_base_url == "https://api.telegram.org/bot"
    assert settings.file_base_url == "https://api.telegram.org/file/bot"
    assert "123:abc" not in repr(settings)


@pytest.mark.parametrize(
    "given, expected",
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_plain_database_urls_get_the_async_driver(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert DatabaseSettings().database_url == expected


def test_bad_log_level_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "loud")
    with pytest.raises(ValidationError) as error:
        DatabaseSettings()
    assert describe_settings_error(error.value).startswith("LOG_LEVEL")


def test_file_url_follows_a_custom_bot_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:x")
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://127.0.0.1:8081/bot")
    assert Settings().file_base_url == "http://127.0.0.1:8081/file/bot"  # type: ignore[call-arg]
