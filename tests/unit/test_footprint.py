"""What a running bot keeps in memory: Alembic and Pillow stay out until needed, and the
migration child runs while the parent is still small."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e.conftest import REPO


def loaded_after(statement: str, watched: set[str]) -> list[str]:
    """Which of `watched` a fresh interpreter has imported after running `statement` (this
    test process has imported them all already)."""
    probe = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    return sorted({name.split(".")[0] for name in json.loads(result.stdout)} & watched)


def test_the_running_bot_loads_neither_alembic_nor_pillow() -> None:
    # What `python -m bot` imports to run: the entry point, the application and the runner.
    statement = "import bot.__main__, bot.app, bot.runner"
    assert loaded_after(statement, {"alembic", "PIL", "mako", "telegram"}) == ["telegram"]


def test_the_migration_child_starts_before_the_bot_is_loaded() -> None:
    # upgrade_in_child runs with only the entry point loaded: no telegram, no SQLAlchemy yet.
    watched = {"telegram", "sqlalchemy", "alembic", "aiohttp", "PIL"}
    assert loaded_after("import bot.__main__", watched) == []
