"""carecircle as an operator installs it: a wheel in a fresh virtualenv, beside exactly the
locked runtime dependencies, migrating a new database from a directory far from this checkout.

Offline: the wheel is built with this virtualenv's setuptools, and the fresh one sees the
runtime packages of requirements.lock (this virtualenv installed them from it) and nothing else
— no test tools, no benchmark extras, not this checkout.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

import pytest
from alembic.script import ScriptDirectory
from packaging.requirements import Requirement

from bot.db import migrate
from bot.db.migrate import alembic_config
from bot.db.models import Base

REPO = Path(__file__).resolve().parents[2]


def locked_runtime_names() -> list[str]:
    """The distributions requirements.lock pins for this platform."""
    names = []
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if not line or line[0] in " #-":
            continue
        requirement = Requirement(line.removesuffix("\\").strip())
        if requirement.marker is None or requirement.marker.evaluate():
            names.append(requirement.name)
    assert names, "requirements.lock pins nothing"
    return names


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{command} failed ({done.returncode}):\n{done.stderr}"
    return done.stdout


def build_wheel(workdir: Path) -> Path:
    # From a copy of the sources: building in the checkout leaves build/ behind, and a later
    # build would ship whatever stale file is still in it.
    source = workdir / "source"
    shutil.copytree(REPO / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    wheels = workdir / "wheels"
    pip = (sys.executable, "-m", "pip")
    run(
        *pip,
        "wheel",
        "-q",
        "--no-deps",
        "--no-index",
        "--no-build-isolation",
        "-w",
        wheels,
        source,
        cwd=workdir,
    )
    [wheel] = wheels.glob("carecircle-*.whl")
    return wheel


def expose_locked_runtime(site_packages: Path, deps: Path) -> None:
    """Let the fresh virtualenv import the locked runtime packages, and only those."""
    deps.mkdir()
    for name in locked_runtime_names():
        distribution = metadata.distribution(name)
        tops = {PurePosixPath(file).parts[0] for file in distribution.files or []}
        for top in sorted(tops - {"..", "__pycache__"}):
            link = deps / top
            assert not link.exists(), f"{top} comes from two distributions"
            link.symlink_to(Path(str(distribution.locate_file(top))))
    (site_packages / "locked-runtime.pth").write_text(f"{deps}\n")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path
    elsewhere: Path  # an empty directory outside the checkout, the operator's


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    workdir = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(workdir)
    venv = workdir / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=workdir)
    python = venv / "bin" / "python"
    site_packages = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=workdir
        ).strip()
    )
    expose_locked_runtime(site_packages, workdir / "locked-runtime")
    pip = (sys.executable, "-m", "pip", "--python", python)
    run(*pip, "install", "-q", "--no-deps", "--no-index", wheel, cwd=workdir)
    # The wheel's own requirements are met by the locked runtime alone.
    run(*pip, "check", cwd=workdir)
    elsewhere = workdir / "operator"
    elsewhere.mkdir()
    yield Installed(wheel=wheel, python=python, elsewhere=elsewhere)


def clean_env(**settings: str) -> dict[str, str]:
    # Nothing of this test run leaks in (no PYTHONPATH, no settings of ours).
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent", **settings}


def test_an_installed_wheel_migrates_a_new_database_from_anywhere(installed: Installed) -> None:
    database = installed.elsewhere / "carecircle.db"
    env = clean_env(DATABASE_URL=f"sqlite+aiosqlite:///{database}")

    where = run(
        installed.python, "-c", "import bot; print(bot.__file__)", cwd=installed.elsewhere, env=env
    )
    assert Path(where.strip()).is_relative_to(installed.python.parents[1])

    run(installed.python, "-m", "bot", "migrate", cwd=installed.elsewhere, env=env)

    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        [(revision,)] = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert {table.name for table in Base.metadata.sorted_tables} <= tables
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()


# --- when it cannot migrate, it says why, and blames DATABASE_URL only when that is the cause ---


def migrate_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database: Path
) -> str:
    monkeypatch.setattr("bot.logs.configure_logging", lambda *settings: None)
    monkeypatch.setenv(migrate.URL_VARIABLE, f"sqlite+aiosqlite:///{database}")
    assert migrate.main() == 1
    [line] = capsys.readouterr().err.splitlines()
    return line


def test_missing_migrations_are_not_blamed_on_the_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(migrate, "migrations_dir", lambda: tmp_path / "not-installed")
    line = migrate_in_process(monkeypatch, capsys, tmp_path / "new.db")
    assert "no database migrations" in line and "not-installed" in line
    assert "DATABASE_URL" not in line


def test_a_database_from_a_newer_carecircle_is_not_blamed_on_its_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    database = tmp_path / "newer.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999')")
    line = migrate_in_process(monkeypatch, capsys, database)
    assert "could not migrate the database" in line and "'9999'" in line
    assert "DATABASE_URL" not in line


def test_the_wheel_carries_every_migration_and_the_template_for_new_ones(
    installed: Installed,
) -> None:
    location = Path(alembic_config().get_main_option("script_location") or "")
    package = REPO / "bot"
    assert location.is_relative_to(package), f"the migrations at {location} are not in bot/"
    expected = {
        f"bot/{path.relative_to(package).as_posix()}"
        for pattern in ("env.py", "script.py.mako", "versions/*.py")
        for path in location.glob(pattern)
    }
    assert len(expected) > 3
    with zipfile.ZipFile(installed.wheel) as wheel:
        assert expected <= set(wheel.namelist())
