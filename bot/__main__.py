"""`python -m bot` runs the bot (polling, or a webhook when WEBHOOK_URL is set);
`python -m bot migrate` only migrates the database."""

from __future__ import annotations

import asyncio
import sys

from pydantic import ValidationError

from bot.config import DatabaseSettings, Settings, describe_settings_error
from bot.db.migrate import MigrationFailed, at_head, upgrade_in_child
from bot.logs import configure_logging


def fail(message: str) -> int:
    print(f"carecircle: {message}", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command not in ("run", "migrate"):
        return fail(f"unknown command {command!r}; use `python -m bot` or `python -m bot migrate`")
    try:
        # BOT_TOKEN comes from the environment, which mypy cannot see.
        settings: DatabaseSettings = (
            Settings() if command == "run" else DatabaseSettings()  # type: ignore[call-arg]
        )
    except ValidationError as error:
        return fail(describe_settings_error(error))
    configure_logging(settings.log_level, settings.log_format)
    try:
        # A restart with the schema already current starts at once; otherwise the child
        # migrates (or says in one line what is wrong).
        if command == "migrate" or not at_head(settings.database_url):
            upgrade_in_child(settings.database_url, settings.log_level)
    except MigrationFailed as error:
        return fail(str(error)) if str(error) else 1
    if command == "migrate":
        print("carecircle: database is up to date", file=sys.stderr)
        return 0

    assert isinstance(settings, Settings)
    return run(settings)


def run(settings: Settings) -> int:
    # The bot's own modules load only now: while the migration child ran, this process was
    # still small, so the two never held their peak memory at the same time.
    from telegram.error import InvalidToken, NetworkError, TimedOut

    from bot.app import build_application
    from bot.runner import StartupError, run_polling, run_webhook

    serve = run_webhook if settings.webhook_url else run_polling
    try:
        asyncio.run(serve(build_application(settings)))
    except StartupError as error:
        return fail(str(error))
    except InvalidToken:
        return fail("the Bot API rejected BOT_TOKEN. Copy the token from @BotFather into .env.")
    except (NetworkError, TimedOut) as error:
        return fail(
            f"could not reach the Telegram Bot API at {settings.telegram_base_url} "
            f"({error.message}). Check your network and TELEGRAM_BASE_URL."
        )
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
