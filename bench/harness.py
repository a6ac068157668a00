"""The shared rig: the real bot process, a recording fake Bot API, databases, seeding, figures.

Every benchmark runs `python -m bot` as a subprocess against the project's own fake Telegram
Bot API (playground/sim/) on loopback, with Telegram's flood limits enforced, so a message
sent too fast comes back as a 429 exactly as it would from Telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import signal
import socket
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from bot.db.migrate import upgrade_to_head
from bot.db.models import Circle, Medication, Membership, RecoveryPlan, User
from bot.db.session import create_engine
from playground.sim import FakeBotApi, FloodLimits

REPO = Path(__file__).resolve().parents[1]
PG_SERVER_URL = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# Methods whose arrival at the fake is "the bot answered / notified someone".
CONTENT_METHODS = frozenset({"sendMessage", "editMessageText", "sendPhoto", "sendDocument"})
TELEGRAM_CEILING_PER_SECOND = 30.0


class Skip(Exception):
    """A benchmark cannot run here (e.g. PostgreSQL unreachable); the message says why."""


# --- the machine ------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    import sqlite3

    import telegram

    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "ram": ram,
        "load (1/5/15 min) at start": load,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "python-telegram-bot": telegram.__version__,
        "sqlite": sqlite3.sqlite_version,
    }


def print_machine(database: str | None = None) -> None:
    info = machine()
    if database:
        info["database"] = database
    print("machine: " + "; ".join(f"{k}={v}" for k, v in info.items()), flush=True)


def print_figures(title: str, figures: dict[str, Any]) -> None:
    # The load when the run ended shows whether something else shared the machine meanwhile.
    figures.setdefault("load (1/5/15 min) at end", ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"\n== {title}", flush=True)
    width = max(len(k) for k in figures) if figures else 0
    for key, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}", flush=True)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


# --- the fake Bot API, recording what arrives ------------------------------------------------


@dataclass
class Delivery:
    """One successful message-producing call the bot made."""

    monotonic: float
    wall: float
    method: str
    chat_id: int
    text: str


class RecordingFake(FakeBotApi):
    """The fake Bot API with flood limits enforced, recording deliveries cheaply.

    The fake's own `wait_for` re-scans every chat on each change, which would make the load
    generator itself the bottleneck with hundreds of users; here each delivery wakes only the
    one waiter of its chat.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(flood_limits=FloodLimits(), **kwargs)
        self.deliveries: list[Delivery] = []
        self._waiters: dict[int, asyncio.Future[Delivery]] = {}
        # (when, seconds) this process's loop woke late: requests arriving meanwhile are timed
        # late, bunched together, so a stall can look like a burst the bot never sent.
        self.stalls: list[tuple[float, float]] = []
        self._watch: asyncio.Task[None] | None = None

    async def _execute(self, token: str, method: str, params: dict[str, Any]) -> Any:
        result = await super()._execute(token, method, params)
        if method in CONTENT_METHODS:
            chat_id = params.get("chat_id")
            if isinstance(chat_id, int):
                delivery = Delivery(
                    time.monotonic(),
                    time.time(),
                    method,
                    chat_id,
                    str(params.get("text") or params.get("caption") or ""),
                )
                self.deliveries.append(delivery)
                waiter = self._waiters.pop(chat_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(delivery)
        return result

    async def __aenter__(self) -> RecordingFake:
        await self.start()
        self._watch = asyncio.create_task(self._watch_loop())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await super().__aexit__(*exc_info)

    async def _watch_loop(self, tick: float = 0.005, reported: float = 0.02) -> None:
        frozen_at = time.monotonic()
        while True:
            before = time.monotonic()
            await asyncio.sleep(tick)
            late = time.monotonic() - before - tick
            if late > reported:
                self.stalls.append((time.monotonic(), late))
            if before - frozen_at > 1.0:
                # What the fake stores only grows during a run (10,000 reminders: some 100,000
                # objects): a full garbage collection rescanning it stalled this process for
                # ~100 ms. Frozen objects are not scanned again, so collections stay short.
                gc.freeze()
                frozen_at = before

    def stall_figures(self) -> dict[str, Any]:
        """Stalls of the fake's own process, and the flood violations that follow one."""
        after_stall = sum(
            1
            for v in self.flood_violations
            if any(0 <= v.at - at <= 1.0 + late for at, late in self.stalls)
        )
        return {
            "fake process stalls > 20 ms": len(self.stalls),
            "fake process longest stall ms": round(
                max((s for _, s in self.stalls), default=0) * 1000
            ),
            "flood violations within 1 s after a stall": after_stall,
        }

    def expect(self, chat_id: int) -> asyncio.Future[Delivery]:
        """A future for the next delivery to this chat (arm it before triggering the bot)."""
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        self._waiters[chat_id] = future
        return future

    def count_status(self, status: int) -> int:
        return sum(1 for call in self.calls if call.status == status)


# --- databases --------------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    """A throwaway database: a SQLite file or a fresh PostgreSQL database."""

    backend: str
    url: str
    path: Path | None = None

    async def size_bytes(self) -> int:
        if self.path is not None:
            return sum(
                p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file()
            )
        engine = create_engine(self.url)
        try:
            async with engine.connect() as conn:
                value = await conn.scalar(text("SELECT pg_database_size(current_database())"))
            return int(value or 0)
        finally:
            await engine.dispose()

    def describe(self) -> str:
        return "SQLite (file, WAL)" if self.backend == "sqlite" else "PostgreSQL"


async def _admin(url: str, statement: str) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            result = await conn.execute(text(statement))
            return result.scalar() if result.returns_rows else None
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def database(backend: str, workdir: Path) -> AsyncIterator[BenchDatabase]:
    """A migrated, empty database; PostgreSQL ones are dropped afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        path = workdir / "carecircle.db"
        db = BenchDatabase("sqlite", f"sqlite+aiosqlite:///{path}", path)
        await asyncio.to_thread(upgrade_to_head, db.url)
        yield db
        return
    try:
        version = await asyncio.wait_for(_admin(PG_SERVER_URL, "SHOW server_version"), 10)
    except Exception as error:
        raise Skip(f"PostgreSQL unreachable at {_shown(PG_SERVER_URL)}: {error}") from None
    name = f"carecircle_bench_{uuid.uuid4().hex[:10]}"
    await _admin(PG_SERVER_URL, f'CREATE DATABASE "{name}"')
    url = make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    try:
        db = BenchDatabase("postgresql", url)
        await asyncio.to_thread(upgrade_to_head, db.url)
        db.backend = f"postgresql {version}"
        yield db
    finally:
        await _admin(PG_SERVER_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- seeding (bulk inserts straight into the bot's tables) -----------------------------------


@dataclass
class PatientSeed:
    """A patient with a circle, optional helpers, medications and a daily tip."""

    user_id: int
    timezone: str = "UTC"
    meds: list[list[str]] = field(default_factory=list)  # each: local "HH:MM" times
    med_next_due: list[dt.datetime | None] = field(default_factory=list)
    helpers: list[int] = field(default_factory=list)
    tip_at: dt.datetime | None = None  # a recovery plan whose daily tip falls due then


async def seed(url: str, patients: Sequence[PatientSeed], chunk: int = 5000) -> float:
    """Insert the patients, their circles, helpers, plans and medications; returns seconds."""
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    users: list[dict[str, Any]] = []
    circles: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    meds: list[dict[str, Any]] = []
    for circle_id, p in enumerate(patients, start=1):
        users.append(_user(p.user_id, f"P{p.user_id}", p.timezone, now))
        circles.append({"id": circle_id, "patient_id": p.user_id, "created_at": now})
        members.append(_member(circle_id, p.user_id, "patient", now))
        for helper in p.helpers:
            users.append(_user(helper, f"H{helper}", p.timezone, now))
            members.append(_member(circle_id, helper, "helper", now))
        if p.tip_at is not None:
            local = p.tip_at.astimezone(dt.UTC).time().replace(second=0, microsecond=0)
            plans.append(
                {
                    "circle_id": circle_id,
                    "stage": "acute",
                    "stage_since": now - dt.timedelta(days=1),
                    "tips_on": True,
                    "tip_time": local,
                    "next_tip_at": p.tip_at,
                    "checkins_on": False,
                    "checkin_time": dt.time(11, 0),
                    "next_checkin_at": None,
                }
            )
        for index, times in enumerate(p.meds):
            meds.append(
                {
                    "circle_id": circle_id,
                    "name": f"Med{index + 1}",
                    "name_key": f"med{index + 1}",
                    "dose": "1 tablet",
                    "note": None,
                    "kind": "fixed",
                    "times": times,
                    "paused": False,
                    "next_due_at": p.med_next_due[index],
                    "created_by": p.user_id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    engine = create_engine(url)
    try:
        for model, rows in (
            (User, users),
            (Circle, circles),
            (Membership, members),
            (RecoveryPlan, plans),
            (Medication, meds),
        ):
            for start in range(0, len(rows), chunk):
                async with engine.begin() as conn:
                    await conn.execute(insert(model), rows[start : start + chunk])
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                # Circle ids were given explicitly: move the sequence past them.
                await conn.execute(
                    text("SELECT setval('circles_id_seq', (SELECT max(id) FROM circles))")
                )
                await conn.commit()
                await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return time.monotonic() - started


def _user(user_id: int, name: str, zone: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": user_id,
        "first_name": name,
        "last_name": None,
        "username": None,
        "timezone": zone,
        "awaiting": None,
        "draft": None,
        "reachable": True,
        "join_failures": 0,
        "created_at": now,
        "updated_at": now,
    }


def _member(circle_id: int, user_id: int, role: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "circle_id": circle_id,
        "user_id": user_id,
        "role": role,
        "access": "close",
        "status": "active",
        "joined_at": now,
    }


def start_users(fake: FakeBotApi, ids: Iterable[int]) -> None:
    """Users who pressed Start long ago: the bot may message them."""
    for user_id in ids:
        fake.user(user_id, f"U{user_id}", started=True)


# --- the bot process --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotRun:
    """One `python -m bot` (or another bot module) as a subprocess against the fake."""

    def __init__(
        self,
        fake: FakeBotApi,
        workdir: Path,
        database_url: str,
        *,
        module: str = "bot",
        **settings: str,
    ) -> None:
        self.fake = fake
        self.workdir = workdir
        self.module = module
        self.health_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))},
            "BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
            "HEALTH_LISTEN": f"127.0.0.1:{self.health_port}",
            **settings,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.module.replace('.', '-')}.log"

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.started_at = time.monotonic()
            # cwd is a scratch folder, so the repository's .env is never read.
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                self.module,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def wait_ready(self, timeout: float = 120) -> float:
        """Seconds from spawning the process until /readyz answers 200."""
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.health_port}/readyz"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.returncode is not None:
                raise RuntimeError(f"bot exited with {self.process.returncode}:\n{self.output()}")
            if await asyncio.to_thread(_http_ok, url):
                return time.monotonic() - self.started_at
            await asyncio.sleep(0.02)
        raise RuntimeError(f"bot not ready within {timeout}s:\n{self.output()[-3000:]}")

    async def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.health_port}/metrics"
        return await asyncio.to_thread(_http_text, url)

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> float:
        """The process's peak resident set (VmHWM) so far."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self, timeout: float = 30) -> int:
        if self.process is None:
            return 0
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tracebacks(self) -> int:
        return self.output().count("Traceback")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _http_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeBotApi, workdir: Path, database_url: str, **settings: str
) -> AsyncIterator[BotRun]:
    """The bot, started and ready; stopped (and checked for tracebacks) afterwards."""
    bot = BotRun(fake, workdir, database_url, **settings)
    await bot.start()
    try:
        await bot.wait_ready()
        yield bot
    finally:
        await bot.stop()


@contextlib.asynccontextmanager
async def baseline_bot(
    fake: FakeBotApi, workdir: Path, rows: list[list[Any]], max_retries: int
) -> AsyncIterator[BotRun]:
    """The PTB JobQueue baseline (`bench/baseline`) sending `rows` — [chat, due timestamp,
    text] each — started and polling; stopped afterwards (see `baseline_log_figures`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    messages = workdir / "messages.json"
    messages.write_text(json.dumps(rows))
    bot = BotRun(
        fake,
        workdir,
        "unused",
        module="bench.baseline",
        BASELINE_MESSAGES=str(messages),
        BASELINE_MAX_RETRIES=str(max_retries),
    )
    await bot.start()
    try:
        await fake.wait_until_polling(timeout=120)
        yield bot
    finally:
        await bot.stop()


def baseline_name(max_retries: int) -> str:
    return f"baseline (PTB JobQueue + AIORateLimiter(max_retries={max_retries}))"


def baseline_log_figures(bot: BotRun) -> dict[str, int]:
    """What the stopped baseline's log says it lost."""
    output = bot.output()
    return {
        "send failures logged": output.count("baseline.send_failed"),
        "APScheduler runs missed (misfire)": output.count("was missed by"),
    }


def dump_json(path: Path, figures: dict[str, Any]) -> None:
    path.write_text(json.dumps(figures, indent=2, default=str))


def run_benchmark(
    description: str | None,
    add_arguments: Callable[[argparse.ArgumentParser, bool], None],
    main_async: Callable[[argparse.Namespace], Awaitable[Any]],
) -> None:
    """A benchmark module's command line: `--quick` picks the defaults of its other options."""
    first = argparse.ArgumentParser(add_help=False)  # --help waits for the full parser
    first.add_argument("--quick", action="store_true")
    known, _ = first.parse_known_args()
    parser = argparse.ArgumentParser(description=description, parents=[first])
    add_arguments(parser, known.quick)

    async def run() -> None:
        await main_async(parser.parse_args())

    asyncio.run(run())
