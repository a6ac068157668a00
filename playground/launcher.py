"""The real bot (`python -m bot`) as a child process, pointed at the simulated Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

import bot
from bot.config import Settings
from playground.simulator import PlaygroundApi

# Short timings, so that a demo shows in minutes what takes an hour in real life. Each can be
# changed in .env (or the environment) as PLAYGROUND_<NAME>, e.g. PLAYGROUND_NEED_REMIND_MINUTES=3:
# the prefix keeps them apart from the real bot's settings in the same file.
DEMO_TIMINGS: dict[str, tuple[str, str]] = {
    "REMINDER_NUDGE_MINUTES": ("1", "nudge after a medication reminder"),
    "MISSED_DOSE_ALERT_MINUTES": ("2", "close family told of an unconfirmed dose"),
    "NEED_REMIND_MINUTES": ("1", "helpers reminded of an open request"),
    "NEED_URGENT_REMIND_MINUTES": ("1", "… of an urgent one"),
    "NEED_LADDER_MINUTES": ("1", "next helper asked, one at a time"),
    "NEED_URGENT_LADDER_MINUTES": ("1", "… when urgent"),
}
PREFIX = "PLAYGROUND_"
# What the playground itself decides; an override of these would unplug the simulation.
FIXED = frozenset(
    {
        "BOT_TOKEN", "TELEGRAM_BASE_URL", "TELEGRAM_BASE_FILE_URL", "DATABASE_URL",
        "WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_LISTEN", "HEALTH_LISTEN",
    }
)  # fmt: skip
OWN = frozenset({"PORT"})  # PLAYGROUND_PORT: the page's port, not a bot setting
SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)


class PlaygroundSettingsError(ValueError):
    """A PLAYGROUND_… override that names no setting, or one the playground decides."""


@dataclass(frozen=True)
class Timing:
    """One setting the playground gives the bot, for the page to show."""

    name: str
    value: str
    meaning: str
    overridden: bool


def playground_overrides(env: Mapping[str, str], dotenv_path: Path | None) -> dict[str, str]:
    """PLAYGROUND_<NAME>=value from .env, then the environment (which wins), as NAME=value."""
    found: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.is_file():
        found.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    found.update(env)
    overrides = {}
    for key, value in found.items():
        if not key.startswith(PREFIX):
            continue
        name = key.removeprefix(PREFIX)
        if name in OWN:
            continue
        if name in FIXED:
            raise PlaygroundSettingsError(f"{key}: the playground sets {name} itself")
        if name not in SETTING_NAMES:
            raise PlaygroundSettingsError(f"{key}: carecircle has no setting {name}")
        overrides[name] = value
    return overrides


def timings(overrides: Mapping[str, str]) -> list[Timing]:
    """The demo timings in effect, and what each one means."""
    return [
        Timing(name, overrides.get(name, default), meaning, name in overrides)
        for name, (default, meaning) in DEMO_TIMINGS.items()
    ]


def bot_environment(
    sim: PlaygroundApi, database_url: str, overrides: Mapping[str, str], env: Mapping[str, str]
) -> dict[str, str]:
    """The child's environment: none of the real bot's settings, the demo's instead."""
    package_root = str(Path(bot.__file__).resolve().parents[1])
    inherited = {
        key: value
        for key, value in env.items()
        if key.upper() not in SETTING_NAMES and not key.startswith(PREFIX)
    }
    python_path = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return {
        **inherited,
        **{name: default for name, (default, _) in DEMO_TIMINGS.items()},
        **overrides,
        "PYTHONPATH": python_path,
        "BOT_TOKEN": sim.token,
        "TELEGRAM_BASE_URL": sim.base_url,
        "DATABASE_URL": database_url,
        # Health and metrics on a free loopback port: nothing of the demo is reachable
        # from other machines, and a second playground does not collide.
        "HEALTH_LISTEN": "127.0.0.1:0",
    }


class BotRunner:
    """Starts, watches and stops one bot process; its output goes to a log file."""

    def __init__(
        self,
        sim: PlaygroundApi,
        workdir: Path,
        env: dict[str, str],
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self.sim = sim
        self.workdir = workdir
        self.env = env
        self.on_exit = on_exit
        self.status = "stopped"
        self.exit_code: int | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def log_path(self) -> Path:
        return self.workdir / "bot.log"

    def _set(self, status: str) -> None:
        self.status = status
        self.sim.poke()

    async def start(self) -> None:
        """Start the bot; it counts as running once it polls the simulated Telegram."""
        since = time.monotonic()
        self._stopping, self.exit_code = False, None
        with self.log_path.open("ab") as log:
            # Its own session: Ctrl-C reaches the playground, which then stops the bot itself.
            # cwd is the playground's folder, so the bot never reads the project's .env.
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        self._set("starting")
        self._watch = asyncio.create_task(self._watch_process(self._process, since))

    async def _watch_process(self, process: asyncio.subprocess.Process, since: float) -> None:
        polling = asyncio.create_task(self.sim.wait_until_polling(timeout=120, since=since))
        exited = asyncio.create_task(process.wait())
        done, _ = await asyncio.wait({polling, exited}, return_when=asyncio.FIRST_COMPLETED)
        if polling in done and polling.exception() is None:
            self._set("running")
        else:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError, AssertionError):
                await polling
        code = await exited
        self.exit_code = code
        self._set("stopped" if self._stopping else "exited")
        if not self._stopping and self.on_exit is not None:
            self.on_exit(code)

    async def stop(self, grace_seconds: float = 20) -> None:
        """SIGTERM, as `docker stop` does; SIGKILL if it has not finished in the grace time."""
        process, self._stopping = self._process, True
        if process is None or process.returncode is not None:
            return
        self._set("stopping")
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace_seconds)
        except TimeoutError:
            process.kill()
            await process.wait()
        if self._watch is not None:
            await self._watch

    def last_lines(self, count: int = 20) -> list[str]:
        """The end of the bot's log, for the page to show why it stopped."""
        if not self.log_path.is_file():
            return []
        return self.log_path.read_text(errors="replace").splitlines()[-count:]


class Playground:
    """The simulated Telegram and the real bot talking to it, with the demo's settings."""

    def __init__(
        self,
        data_dir: Path,
        *,
        dotenv_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        on_bot_exit: Callable[[int], None] | None = None,
    ) -> None:
        env = dict(os.environ if env is None else env)
        self.data_dir = data_dir
        self.overrides = playground_overrides(env, dotenv_path)
        self.timings = timings(self.overrides)
        self.sim = PlaygroundApi()
        self._env = env
        self._on_bot_exit = on_bot_exit
        self.bot: BotRunner | None = None

    @property
    def database_path(self) -> Path:
        return self.data_dir / "carecircle.db"

    async def start(self) -> None:
        """Start the simulated Telegram, then the bot on a fresh database.

        The simulated chats live in memory only, so the bot's database starts empty too:
        a circle remembered from the last run would point at people the new run never had.
        """
        self._clear_data_dir()
        await self.sim.start("127.0.0.1", 0)
        url = f"sqlite+aiosqlite:///{self.database_path}"
        env = bot_environment(self.sim, url, self.overrides, self._env)
        self.bot = BotRunner(self.sim, self.data_dir, env, self._on_bot_exit)
        await self.bot.start()

    def _clear_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.database_path}{suffix}").unlink(missing_ok=True)
        (self.data_dir / "bot.log").unlink(missing_ok=True)

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.stop()
        await self.sim.stop()
