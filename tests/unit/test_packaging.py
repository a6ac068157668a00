"""The Dockerfile and docker-compose.yml (no Docker engine here): their structure, and the
image's health check run for real against a health server."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.clock import SystemClock
from bot.config import DatabaseSettings
from bot.db.session import Database
from bot.metrics import Metrics
from bot.web import Health, Server, health_app

REPO = Path(__file__).resolve().parents[2]


def dockerfile() -> str:
    # Continuation lines joined, as Docker reads them.
    return re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())


def instruction(name: str) -> list[str]:
    return [
        line.split(None, 1)[1]
        for line in dockerfile().splitlines()
        if line.split(None, 1)[:1] == [name]
    ]


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_image_runs_as_a_user_and_exposes_webhook_and_health_ports() -> None:
    [user] = instruction("USER")
    assert user.strip() not in ("root", "0")
    assert set(" ".join(instruction("EXPOSE")).split()) == {"8080", "9090"}
    [cmd] = instruction("CMD")
    assert json.loads(cmd) == ["python", "-m", "bot"]


def healthcheck_command() -> list[str]:
    [check] = instruction("HEALTHCHECK")
    _, _, command = check.partition("CMD ")
    parsed = json.loads(command)
    assert isinstance(parsed, list) and parsed[:2] == ["python", "-c"]
    return [sys.executable, *parsed[1:]]


async def run_check(env: dict[str, str]) -> int:
    process = await asyncio.create_subprocess_exec(
        *healthcheck_command(),
        env={"PATH": "/usr/bin:/bin", **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), 30)


async def test_the_image_health_check_asks_healthz_on_the_health_port(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    server = Server(
        "health",
        health_app(Health(db=db, clock=SystemClock(), metrics=Metrics())),
        "127.0.0.1",
        0,
        setting="HEALTH_LISTEN",
    )
    await server.start()
    try:
        assert await run_check({"HEALTH_LISTEN": f"0.0.0.0:{server.port}"}) == 0
    finally:
        await server.stop()
        await db.dispose()
    assert await run_check({"HEALTH_LISTEN": f"0.0.0.0:{server.port}"}) != 0


def test_compose_runs_the_bot_on_postgresql_15_once_it_is_healthy() -> None:
    spec = compose()
    db, bot = spec["services"]["db"], spec["services"]["bot"]
    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume, _, mount = db["volumes"][0].partition(":")
    assert mount == "/var/lib/postgresql/data" and volume in spec["volumes"]
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["env_file"] == ".env"
    assert bot["build"] == "."
    assert any(str(port).endswith("8080:8080") for port in bot["ports"])
    assert any(str(port).endswith("9090:9090") for port in bot["ports"])


# `${VAR:?message}`: compose refuses to start while POSTGRES_PASSWORD is unset or empty.
REQUIRED_PASSWORD = r"\$\{POSTGRES_PASSWORD:\?[^}]+\}"


def test_compose_points_the_bot_at_the_db_service_with_its_credentials() -> None:
    spec = compose()
    db_env = spec["services"]["db"]["environment"]
    raw = spec["services"]["bot"]["environment"]["DATABASE_URL"]
    password = "from-the-env"
    expanded = re.sub(REQUIRED_PASSWORD, password, raw)
    assert re.sub(REQUIRED_PASSWORD, password, db_env["POSTGRES_PASSWORD"]) == password
    url = make_url(DatabaseSettings(database_url=expanded).database_url)
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port) == ("db", 5432)
    assert (url.username, url.password, url.database) == (
        db_env["POSTGRES_USER"],
        password,
        db_env["POSTGRES_DB"],
    )


@pytest.mark.parametrize("secret", [".env", ".venv", ".git"])
def test_the_build_context_leaves_out_secrets_and_local_state(secret: str) -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    assert secret in ignored


# --- the database password: required, never a default ---------------------------------------


def test_compose_has_no_fallback_database_password() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    uses = re.findall(r"\$\{POSTGRES_PASSWORD[^}]*\}", text)
    assert len(uses) == 2  # the db service's, and the bot's DATABASE_URL
    assert all(re.fullmatch(REQUIRED_PASSWORD, use) for use in uses), uses


def test_env_example_says_how_to_set_the_database_password() -> None:
    example = (REPO / ".env.example").read_text()
    [line] = [line for line in example.splitlines() if "POSTGRES_PASSWORD=" in line]
    # Left empty (or commented out) on purpose: compose then refuses to start without one.
    assert line.lstrip("# ") == "POSTGRES_PASSWORD="
    assert "token_urlsafe" in example


# --- published ports: health and metrics stay on this host ----------------------------------


def published(port: int) -> list[str]:
    return [str(p) for p in compose()["services"]["bot"]["ports"] if str(p).endswith(f":{port}")]


def test_compose_publishes_health_and_metrics_on_localhost_only() -> None:
    [health] = published(9090)
    assert health.startswith("127.0.0.1:")
    assert all(
        "9090" not in str(port) or str(port).startswith("127.0.0.1:")
        for service in compose()["services"].values()
        for port in service.get("ports", [])
    )


def test_compose_does_not_publish_the_database() -> None:
    assert "ports" not in compose()["services"]["db"]


# --- the image: locked dependencies in a layer of their own, then the code -------------------


def steps() -> list[tuple[str, str]]:
    return [
        (parts[0], parts[1])
        for line in dockerfile().splitlines()
        if (parts := line.split(None, 1)) and not parts[0].startswith("#") and len(parts) == 2
    ]


def copy_sources(argument: str) -> list[str]:
    words = [word for word in argument.split() if not word.startswith("--")]
    return words[:-1]


def test_the_locked_dependencies_install_before_any_code_is_copied() -> None:
    """A code change then rebuilds only the layers after the code, not the dependencies."""
    order = steps()
    [install] = [
        i for i, (name, arg) in enumerate(order) if name == "RUN" and "requirements.lock" in arg
    ]
    assert "pip install --require-hashes -r requirements.lock" in order[install][1]
    copied_before = [
        source for name, arg in order[:install] if name == "COPY" for source in copy_sources(arg)
    ]
    assert copied_before == ["requirements.lock"]
    assert any(name == "COPY" and "bot" in copy_sources(arg) for name, arg in order[install:])


def test_the_image_installs_carecircle_itself_without_resolving_again() -> None:
    order = steps()
    [install] = [
        arg
        for name, arg in order
        if name == "RUN" and "pip install" in arg and "requirements.lock" not in arg
    ]
    assert "--no-deps" in install


def test_everything_the_image_copies_is_in_the_build_context() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    for name, arg in steps():
        if name == "COPY":
            for source in copy_sources(arg):
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
                assert source not in ignored


def test_the_image_runs_the_installed_package_not_a_copy_of_the_sources() -> None:
    # `python -m bot` imports from the working directory first: had the sources stayed there,
    # the image would never have used what pip installed (nor noticed what the wheel lacks).
    workdir, built_in = "/", []
    for name, arg in steps():
        if name == "WORKDIR":
            workdir = arg.strip()
        elif name == "COPY" and "bot" in copy_sources(arg):
            built_in.append(workdir)
    assert built_in and workdir not in built_in
    assert workdir == "/data"
