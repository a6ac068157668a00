"""Bring a database's schema to the newest migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Migrate to head. Blocking: call before the event loop starts, or in a thread."""
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_connection(connection: AsyncConnection, revision: str = "head") -> None:
    """Migrate over a connection that is already open (tests)."""

    def run(sync_connection: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        command.upgrade(config, revision)

    await connection.run_sync(run)


def describe_database_error(database_url: str, error: Exception) -> str:
    """One line saying what is wrong with DATABASE_URL, without its password."""
    try:
        shown = make_url(database_url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        shown = "(unparseable)"
    if isinstance(error, ArgumentError | NoSuchModuleError):
        reason = "it is not a database URL we understand"
    else:
        reason = " ".join(str(getattr(error, "orig", None) or error).split())[:200]
    return (
        f"could not open the database at DATABASE_URL={shown}: {reason}. Use e.g. "
        "sqlite+aiosqlite:///carecircle.db or postgresql+asyncpg://user:pass@host/db"
    )
