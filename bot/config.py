"""Settings from the environment or a .env file; every one is documented in .env.example."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ASYNC_DRIVERS = {
    "sqlite://": "sqlite+aiosqlite://",
    "postgresql://": "postgresql+asyncpg://",
    "postgres://": "postgresql+asyncpg://",
}


class DatabaseSettings(BaseSettings):
    """What migrations need: only where the database is."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///carecircle.db"
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the usual sqlite:// and postgresql:// forms; we need their async drivers."""
        value = value.strip()
        for plain, driver in ASYNC_DRIVERS.items():
            if value.startswith(plain):
                return driver + value[len(plain) :]
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level


class Settings(DatabaseSettings):
    """carecircle's configuration; names match the environment variables."""

    bot_token: SecretStr
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str | None = None

    invite_ttl_days: float = Field(default=7, gt=0)
    # How long a request to the Bot API may take before we call it unreachable.
    telegram_timeout_seconds: float = Field(default=10, gt=0)
    # Safety sweep for due work; the scheduler also wakes at the earliest due instant.
    sweep_interval_seconds: float = Field(default=30, gt=0)

    # --- meds ---
    # One gentle nudge this long after an unanswered medication reminder.
    reminder_nudge_minutes: float = Field(default=15, gt=0)
    # Unconfirmed this long after its time, a dose counts as missed and close family is told
    # (each medication may override it in /meds).
    missed_dose_alert_minutes: float = Field(default=45, gt=0)
    # After downtime: reminders due at most this long ago are sent late; older ones are
    # recorded as missed and alerted.
    reminder_grace_minutes: float = Field(default=120, ge=0)
    # Offer a refill when the counted supply is forecast to run out within this many days.
    refill_lead_days: float = Field(default=3, ge=0)

    @property
    def file_base_url(self) -> str:
        """The Bot API's file URL, derived from the base URL unless set explicitly."""
        if self.telegram_base_file_url:
            return self.telegram_base_file_url
        root, _, _ = self.telegram_base_url.rstrip("/").rpartition("/")
        return f"{root}/file/bot"


def describe_settings_error(error: ValidationError) -> str:
    """One line a person can act on, naming the variable and never echoing its value."""
    problems = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "settings"
        if item["type"] == "missing":
            if name == "BOT_TOKEN":
                problems.append(
                    "BOT_TOKEN is not set. Get a token from @BotFather and put "
                    "BOT_TOKEN=... in .env (see .env.example)"
                )
            else:
                problems.append(f"{name} is required")
        else:
            problems.append(f"{name}: {item['msg']}")
    return "; ".join(problems)
