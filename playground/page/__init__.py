"""The playground's web page: everyone's chats side by side, the switches and the timeline."""

from __future__ import annotations

import socket

from aiohttp import web

from playground.page.server import create_page_app
from playground.page.state import PageState

__all__ = ["PageState", "create_page_app", "serve_page"]

HOST = "127.0.0.1"  # the playground is for this machine only


async def serve_page(
    state: PageState, port: int, *, fallback: bool = False
) -> tuple[web.AppRunner, str]:
    """Serve the page on 127.0.0.1:``port``; with ``fallback``, on a free port if it is taken.

    Returns the runner (``await runner.cleanup()`` to stop) and the page's URL.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        if not fallback:
            sock.close()
            raise
        sock.bind((HOST, 0))
    runner = web.AppRunner(create_page_app(state), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner, f"http://{HOST}:{sock.getsockname()[1]}/"
