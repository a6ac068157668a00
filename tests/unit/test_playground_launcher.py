"""The playground's bot gets the demo timings, PLAYGROUND_ overrides, and none of the real
bot's settings: a token or webhook in the project's environment never reaches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from playground.launcher import (
    DEMO_TIMINGS,
    PlaygroundSettingsError,
    bot_environment,
    playground_overrides,
    timings,
)
from playground.simulator import PlaygroundApi


def test_overrides_come_from_dotenv_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "BOT_TOKEN=123:real\nREMINDER_NUDGE_MINUTES=15\n"
        "PLAYGROUND_NEED_REMIND_MINUTES=3\nPLAYGROUND_REMINDER_NUDGE_MINUTES=2\n"
        "PLAYGROUND_PORT=8123\n"
    )
    env = {"PLAYGROUND_REMINDER_NUDGE_MINUTES": "0.5", "HOME": "/home/pat"}
    overrides = playground_overrides(env, dotenv)
    assert overrides == {"NEED_REMIND_MINUTES": "3", "REMINDER_NUDGE_MINUTES": "0.5"}
    shown = {t.name: (t.value, t.overridden) for t in timings(overrides)}
    assert shown["REMINDER_NUDGE_MINUTES"] == ("0.5", True)
    assert shown["MISSED_DOSE_ALERT_MINUTES"] == ("2", False)
    assert set(shown) == set(DEMO_TIMINGS)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("PLAYGROUND_NUDGE", "has no setting NUDGE"),
        ("PLAYGROUND_BOT_TOKEN", "sets BOT_TOKEN itself"),
        ("PLAYGROUND_DATABASE_URL", "sets DATABASE_URL itself"),
        ("PLAYGROUND_WEBHOOK_URL", "sets WEBHOOK_URL itself"),
    ],
)
def test_an_override_must_name_a_setting_the_playground_leaves_open(key: str, problem: str) -> None:
    with pytest.raises(PlaygroundSettingsError, match=problem):
        playground_overrides({key: "1"}, None)


def test_the_bot_gets_the_simulation_and_none_of_the_real_settings() -> None:
    sim = PlaygroundApi()
    real = {
        "BOT_TOKEN": "123:real-token",
        "WEBHOOK_URL": "https://bot.example.org/telegram",
        "DATABASE_URL": "postgresql://prod/carecircle",
        "health_listen": "0.0.0.0:9090",
        "REMINDER_NUDGE_MINUTES": "15",
        "PLAYGROUND_NEED_REMIND_MINUTES": "3",
        "PATH": "/usr/bin",
    }
    env = bot_environment(sim, "sqlite+aiosqlite:///x.db", {"NEED_REMIND_MINUTES": "3"}, real)
    assert env["BOT_TOKEN"] == sim.token
    assert env["TELEGRAM_BASE_URL"] == sim.base_url
    assert env["DATABASE_URL"] == "sqlite+aiosqlite:///x.db"
    assert env["HEALTH_LISTEN"] == "127.0.0.1:0"
    assert env["REMINDER_NUDGE_MINUTES"] == "1" and env["NEED_REMIND_MINUTES"] == "3"
    assert env["PATH"] == "/usr/bin"
    for leaked in ("WEBHOOK_URL", "health_listen", "PLAYGROUND_NEED_REMIND_MINUTES"):
        assert leaked not in env
