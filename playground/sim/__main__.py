"""The simulated Telegram Bot API on its own, to try the bot by hand.

    python -m playground.sim --port 8081

Point the bot's ``TELEGRAM_BASE_URL`` at the address it prints; lines ``<user_id> <text>`` on
stdin are sent as that user, and every message the bot sends is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from playground.sim.server import FakeBotApi


async def _serve(args: argparse.Namespace) -> None:
    """Serve until interrupted; stdin lines ``<user_id> <text>`` are sent as that user."""
    fake = FakeBotApi(token=args.token, bot_username=args.bot_username)
    await fake.start(args.host, args.port)
    print(f"Fake Bot API at {fake.base_url} (token {fake.token})", flush=True)
    loop = asyncio.get_running_loop()

    def on_stdin() -> None:
        line = sys.stdin.readline()
        if not line:  # end of input: keep serving without it
            loop.remove_reader(sys.stdin)
        user_id, _, text = line.strip().partition(" ")
        if user_id.isdigit() and text:
            fake._user_message(fake.user(int(user_id), f"User{user_id}"), None, text=text)

    with contextlib.suppress(OSError, ValueError):  # stdin may be a file or closed
        loop.add_reader(sys.stdin, on_stdin)
    shown = 0
    try:
        while True:
            await asyncio.sleep(0.2)
            for message in fake._sent[shown:]:
                print(f"[bot -> {message.chat.id}] {message.summary()}", flush=True)
            shown = len(fake._sent)
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--bot-username", default="carecircle_test_bot")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
