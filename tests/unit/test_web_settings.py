"""Webhook and health settings: listen addresses, the webhook's path, the shared secret."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError
from telegram import CallbackQuery, Chat, Message, Update, User

from bot.config import WEBHOOK_SECRET_PATTERN, Settings, describe_settings_error, parse_listen
from bot.metrics import update_kind
from bot.web import new_secret


def settings(**values: object) -> Settings:
    return Settings(bot_token=SecretStr("1:x"), _env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.0.0.0:8080", ("0.0.0.0", 8080)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        (":9090", ("0.0.0.0", 9090)),
        ("[::1]:8080", ("::1", 8080)),
        (" localhost:80 ", ("localhost", 80)),
    ],
)
def test_listen_addresses(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["8080", "host:", "host:http", "host:65536", "", "host:-1"])
def test_bad_listen_addresses(value: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_listen(value)


def test_defaults_poll_and_serve_health_on_9090() -> None:
    s = settings()
    assert s.webhook_url is None and s.webhook_secret is None
    assert (s.webhook_listen, s.health_listen) == ("0.0.0.0:8080", "0.0.0.0:9090")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://bot.example.org/telegram", "/telegram"),
        ("https://bot.example.org", "/"),
        ("https://bot.example.org:8443/a/b", "/a/b"),
    ],
)
def test_the_webhook_is_served_at_the_urls_path(url: str, path: str) -> None:
    assert settings(webhook_url=url).webhook_path == path


def test_an_empty_webhook_url_means_polling() -> None:
    assert settings(webhook_url="  ").webhook_url is None


@pytest.mark.parametrize("url", ["bot.example.org/telegram", "ftp://x/y", "https://"])
def test_a_webhook_url_must_be_a_web_url(url: str) -> None:
    with pytest.raises(ValidationError) as error:
        settings(webhook_url=url)
    assert "WEBHOOK_URL" in describe_settings_error(error.value)


def test_a_bad_secret_is_named_but_never_shown() -> None:
    with pytest.raises(ValidationError) as error:
        settings(webhook_secret="my secret!")
    line = describe_settings_error(error.value)
    assert "WEBHOOK_SECRET" in line and "my secret!" not in line


def test_a_shared_secret_is_kept_secret() -> None:
    s = settings(webhook_secret="shared_secret-123")
    assert s.webhook_secret is not None
    assert s.webhook_secret.get_secret_value() == "shared_secret-123"
    assert "shared_secret-123" not in repr(s)


def test_generated_secrets_are_what_telegram_accepts_and_differ() -> None:
    secrets = [new_secret() for _ in range(50)]
    assert all(WEBHOOK_SECRET_PATTERN.fullmatch(s) and len(s) >= 32 for s in secrets)
    assert len(set(secrets)) == len(secrets)


def test_updates_are_counted_by_kind() -> None:
    user = User(5, "Pat", is_bot=False)
    chat = Chat(5, "private")
    message = Message(1, None, chat, from_user=user, text="hi")  # type: ignore[arg-type]
    query = CallbackQuery("q", user, "instance", data="x")
    assert update_kind(Update(1, message=message)) == "message"
    assert update_kind(Update(2, edited_message=message)) == "message"
    assert update_kind(Update(3, callback_query=query)) == "callback"
    assert update_kind(Update(4)) == "other"
