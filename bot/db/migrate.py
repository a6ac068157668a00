"""Bring a database's schema to the newest migration.

`python -m bot` migrates in a short-lived child process (`upgrade_in_child`): Alembic and the
migration run take about 16 MiB that the bot would otherwise carry for as long as it runs.
`python -m bot.db.migrate` is that child. This module imports little at the top, so the
parent is still small while the child runs.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

# How the parent hands the database URL to the child (not on the command line, where any
# user of the machine could read its password).
URL_VARIABLE = "CARECIRCLE_MIGRATE_URL"


class MigrationFailed(Exception):
    """The child could not migrate; it has already said why on standard error."""


def migrations_dir() -> Path:
    """The Alembic scripts: bot/migrations, in a checkout or wherever the package is installed."""
    from importlib import resources

    return Path(str(resources.files("bot.migrations")))


def alembic_config(database_url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade_in_child(database_url: str, log_level: str) -> None:
    """Migrate to head in a child process, whose output joins ours."""
    env = {**os.environ, URL_VARIABLE: database_url, "LOG_LEVEL": log_level}
    result = subprocess.run([sys.executable, "-m", "bot.db.migrate"], env=env, check=False)
    if result.returncode == 1:
        raise MigrationFailed()
    if result.returncode != 0:
        raise MigrationFailed(f"the migration process ended with exit code {result.returncode}")


# A migration script's own lines naming it and its parent (`revision: str = '0016'`).
_REVISION = re.compile(r"^revision\b[^=\n]*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_PARENT = re.compile(r"^down_revision\b[^=\n]*=\s*(?:['\"]([^'\"]+)['\"]|None)", re.MULTILINE)


def head_revision() -> str | None:
    """The newest migration, read from the scripts' lines rather than through Alembic (which
    would stay in the bot's memory); None unless they form one line of revisions."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (migrations_dir() / "versions").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revision, parent = _REVISION.search(text), _PARENT.search(text)
        if revision is None or parent is None:
            return None
        revisions.add(revision.group(1))
        if parent.group(1):
            parents.add(parent.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(database_url: str) -> bool:
    """Is the database already at the newest migration? Then a start need not spend a second
    on the migration child. Anything unclear (no database yet, unreachable, another
    revision) says no, and the child migrates or says what is wrong."""
    head = head_revision()
    if head is None:
        return False
    try:
        return asyncio.run(_stored_revision(database_url)) == head
    except Exception:
        return False


async def _stored_revision(database_url: str) -> str | None:
    from sqlalchemy import text

    from bot.db.session import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            revisions = (
                (await connection.execute(text("SELECT version_num FROM alembic_version")))
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()
    return revisions[0] if len(revisions) == 1 else None


def upgrade_to_head(database_url: str) -> None:
    """Migrate to head. Blocking: call before the event loop starts, or in a thread."""
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


def describe_database_error(database_url: str, error: Exception) -> str:
    """One line saying what is wrong with DATABASE_URL, without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

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


def main() -> int:
    """The child `upgrade_in_child` starts: migrate, or say in one line why not."""
    from bot.logs import configure_logging

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    from alembic.util import CommandError

    database_url = os.environ[URL_VARIABLE]
    migrations = migrations_dir()
    if not (migrations / "env.py").is_file():
        print(
            f"carecircle: this installation has no database migrations (looked in {migrations}). "
            "Reinstall carecircle.",
            file=sys.stderr,
        )
        return 1
    try:
        upgrade_to_head(database_url)
    except CommandError as error:
        # Alembic's own complaint, not the database's: typically a database already migrated
        # by a newer carecircle, at a revision this one does not know.
        print(f"carecircle: could not migrate the database: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        print(f"carecircle: {describe_database_error(database_url, error)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
