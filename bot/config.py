"""Settings from the environment or a .env file; every one is documented in .env.example."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.clocktime import parse_time_of_day

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
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
    # "text": one `time LEVEL logger event=…` line per event; "json": one JSON object per line.
    log_format: str = "text"

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

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        fmt = value.strip().lower()
        if fmt not in LOG_FORMATS:
            raise ValueError(f"must be one of {', '.join(LOG_FORMATS)}")
        return fmt


class Settings(DatabaseSettings):
    """carecircle's configuration; names match the environment variables."""

    bot_token: SecretStr
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str | None = None

    invite_ttl_days: float = Field(default=7, gt=0)
    # A question (an /addmed step, "what time did you take it?") left unanswered this long is
    # let go: an answer typed much later is not read as its answer.
    flow_expire_minutes: float = Field(default=60, gt=0)
    # How long a request to the Bot API may take before we call it unreachable.
    telegram_timeout_seconds: float = Field(default=10, gt=0)
    # Safety sweep for due work; the scheduler also wakes at the earliest due instant.
    sweep_interval_seconds: float = Field(default=30, gt=0)

    # Telegram's flood limits, the ceiling the outbox sender designs to (kept a bit under).
    flood_overall_per_second: float = Field(default=30, gt=0)
    flood_per_chat_seconds: float = Field(default=1.0, ge=0)
    flood_group_per_minute: float = Field(default=20, gt=0)
    # Large deployments: send medication reminders and nudges with the Bot API's
    # allow_paid_broadcast (up to 1,000 messages/s, a fee in Stars per message).
    paid_broadcast: bool = False
    # Sends in flight at once; a claimed message not recorded within the lease is re-sent.
    outbox_concurrency: int = Field(default=8, ge=1)
    outbox_lease_seconds: float = Field(default=60, gt=0)
    # Failed tries, while Telegram answers others, before a message is given up; an outage
    # uses up none, and a message that says until when it matters is tried until then.
    outbox_max_attempts: int = Field(default=10, ge=1)
    # Days a message stays in the outbox after it was sent (or, never sent, queued); then it
    # is deleted, or, while a later edit may still need it, keeps only its ids.
    outbox_retention_days: float = Field(default=30, ge=2)
    # Replicas on PostgreSQL: how often each one heartbeats and tries to become the scheduler
    # leader. A dead leader is replaced within about this long.
    leader_check_seconds: float = Field(default=5, gt=0)

    # --- recovery: daily tips and pain check-ins (local wall-clock times of the patient) ---
    tip_default_time: dt.time = dt.time(10, 0)
    checkin_default_time: dt.time = dt.time(11, 0)
    # No answer to the check-in by this evening time: one gentle nudge.
    checkin_nudge_time: dt.time = dt.time(19, 0)
    # Still no answer by this time the next morning: ask a close-family helper to look in.
    lookin_time: dt.time = dt.time(9, 0)
    # Nobody has tapped "I'll check on them" this many minutes after the look-in request:
    # the other helpers are asked too.
    lookin_escalate_minutes: float = Field(default=60, gt=0)
    # After downtime, a tip, check-in or nudge still goes out this many minutes late; later
    # than that it is skipped for the day (a look-in request still goes, however late).
    recovery_late_grace_minutes: float = Field(default=180, ge=0)
    # After "Not now" to a suggested stage, the same suggestion waits this many days.
    suggestion_pause_days: float = Field(default=3, ge=0)

    @field_validator(
        "tip_default_time",
        "checkin_default_time",
        "checkin_nudge_time",
        "lookin_time",
        mode="before",
    )
    @classmethod
    def _time_of_day(cls, value: Any) -> Any:
        """Accept what people write in .env: "10:00", "9am", "7:30 pm"."""
        if isinstance(value, str):
            parsed = parse_time_of_day(value)
            if parsed is None:
                raise ValueError("must be a time of day like 09:00")
            return parsed
        return value

    # --- needs ---
    # Unclaimed this long → helpers are reminded once; twice this long → the patient is told.
    need_remind_minutes: float = Field(default=20, gt=0)
    need_urgent_remind_minutes: float = Field(default=5, gt=0)
    # "One at a time": how long each helper has before the next one is asked too.
    need_ladder_minutes: float = Field(default=10, gt=0)
    need_urgent_ladder_minutes: float = Field(default=3, gt=0)

    # --- meds ---
    # One gentle nudge this long after an unanswered medication reminder.
    reminder_nudge_minutes: float = Field(default=15, gt=0)
    # Unconfirmed this long after its time, a dose counts as missed and close family is told
    # (each medication may override it in /meds).
    missed_dose_alert_minutes: float = Field(default=45, gt=0)
    # After downtime: reminders due at most this long ago are sent late; older ones are
    # recorded as missed and alerted.
    reminder_grace_minutes: float = Field(default=120, ge=0)
    # Doses of one patient due in the same minute arrive as one message with "Took all";
    # off: one message per dose.
    group_reminders: bool = True
    # Offer a refill when the counted supply is forecast to run out within this many days.
    refill_lead_days: float = Field(default=3, ge=0)

    # --- web: webhook mode, health and metrics ---
    # The public HTTPS URL Telegram posts updates to; set, the bot runs in webhook mode.
    webhook_url: str | None = None
    # The X-Telegram-Bot-Api-Secret-Token; random at each start unless set. Replicas behind
    # one load balancer must share it.
    webhook_secret: SecretStr | None = None
    # Where the webhook server listens ("host:port"); TLS is terminated in front of it.
    webhook_listen: str = "0.0.0.0:8080"
    # /healthz, /readyz and /metrics, in both modes. Port 0 picks a free port (logged).
    health_listen: str = "0.0.0.0:9090"
    # /readyz says not ready once the Bot API has answered nothing (or only 5xx) this long.
    ready_unreachable_seconds: float = Field(default=120, gt=0)

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        url = urlsplit(str(value).strip())
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ValueError(
                "must be the public URL Telegram posts to, e.g. https://bot.example.org/telegram"
            )
        return url.geturl()

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        plain = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if not WEBHOOK_SECRET_PATTERN.fullmatch(plain.strip()):
            raise ValueError("must be 1-256 characters: letters, digits, _ and -")
        return plain.strip()

    @field_validator("webhook_listen", "health_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value.strip()

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, where the webhook server takes updates."""
        assert self.webhook_url is not None
        return urlsplit(self.webhook_url).path or "/"

    @property
    def file_base_url(self) -> str:
        """The Bot API's file URL, derived from the base URL unless set explicitly."""
        if self.telegram_base_file_url:
            return self.telegram_base_file_url
        root, _, _ = self.telegram_base_url.rstrip("/").rpartition("/")
        return f"{root}/file/bot"


# --- web ---
# What Telegram allows in a secret_token.
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def parse_listen(value: str) -> tuple[str, int]:
    """ "host:port" (or ":port", or "[::1]:port") → (host, port); port 0 means any free port."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be host:port, e.g. 0.0.0.0:8080")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104 - ":8080" means every interface
    return host, int(port)


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
