"""`python -m playground`: the real bot against a simulated Telegram, and a page to watch it."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from dotenv import dotenv_values

from playground.launcher import Playground, PlaygroundSettingsError
from playground.page import PageState, serve_page

DEFAULT_PORT = 8000
REAL_TELEGRAM = "for real Telegram, put BOT_TOKEN=… from @BotFather in .env and run `make run`"


def say(message: str) -> None:
    print(f"carecircle playground: {message}", file=sys.stderr, flush=True)


def chosen_port(argument: int | None, dotenv_path: Path) -> tuple[int, bool]:
    """The page's port and whether someone chose it (else a taken default falls back)."""
    if argument is not None:
        return argument, True
    configured = os.environ.get("PLAYGROUND_PORT")
    if configured is None and dotenv_path.is_file():
        configured = dotenv_values(dotenv_path).get("PLAYGROUND_PORT")
    if configured and configured.strip().isdigit():
        return int(configured), True
    return DEFAULT_PORT, False


async def run(port: int, chosen: bool, data_dir: Path, dotenv_path: Path) -> int:
    def bot_exited(code: int) -> None:
        say(f"the bot stopped (exit code {code}); its log is {data_dir / 'bot.log'}")

    playground = Playground(data_dir, dotenv_path=dotenv_path, on_bot_exit=bot_exited)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await playground.start()
    try:
        runner, url = await serve_page(PageState(playground), port, fallback=not chosen)
    except OSError as error:
        await playground.stop()
        say(f"cannot listen on 127.0.0.1:{port} ({error.strerror}); set PLAYGROUND_PORT")
        return 1
    print(
        f"carecircle playground: open {url} — the real bot with a simulated Telegram, "
        f"no token needed ({REAL_TELEGRAM}). Ctrl-C stops it.",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await playground.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground", description=__doc__)
    parser.add_argument("--port", type=int, help=f"the page's port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(".playground"), help="the bot's database and log"
    )
    args = parser.parse_args(argv)
    dotenv_path = Path(".env")
    port, chosen = chosen_port(args.port, dotenv_path)
    try:
        return asyncio.run(run(port, chosen, args.data_dir.resolve(), dotenv_path))
    except PlaygroundSettingsError as error:
        say(str(error))
        return 2


if __name__ == "__main__":
    sys.exit(main())
