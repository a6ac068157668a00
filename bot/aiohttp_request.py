"""PTB's request layer on aiohttp: every Bot API call the bot makes goes through this.

PTB documents `BaseRequest` as the way to bring another HTTP library; its own
implementation, HTTPXRequest, costs the bot about 1.1 ms of CPU per call at 8 calls in flight
and 2.1 ms at 64 (httpcore's pool is searched on every request), against 0.12 ms for aiohttp
on the same machine (2-core VM, loopback, 5,000 sendMessage calls). At the morning peak with
paid broadcast that was a third of the bot's CPU, and aiohttp is already ours (the webhook
server). The ptbcontrib AiohttpRequest is not published on PyPI, hence this short one.

Timeouts as PTB means them: `connect_timeout` to open a connection, `read_timeout` between
bytes of the answer (PTB adds the long poll's own wait to it), `pool_timeout` to wait for a
free connection of our own (a full pool: the request never left, `PoolTimedOut`). aiohttp has
no write timeout, and its read timeout starts once the body is written, so an upload (a file
goes along) is bounded as a whole instead: connect + write + read timeouts, when all are set.

HTTP(S)_PROXY and NO_PROXY apply, as they did with PTB's httpx, but they are looked up once per
host: aiohttp's `trust_env` reads the environment and ~/.netrc again on every call, in two
trips to a worker thread, and on this 2-core VM those thread hand-offs cost more of the bot's
CPU than the rest of the call (py-spy, 50 updates/s during the 08:00 peak).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

TOKEN_IN_URL = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
POOL_FULL = (
    "Pool timeout: all connections in the connection pool are occupied. The request was "
    "not sent to Telegram."
)


Proxy = tuple[URL | None, aiohttp.BasicAuth | None]


class PoolTimedOut(TimedOut):
    """Every connection of ours was busy for `pool_timeout`: nothing reached Telegram."""


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on one aiohttp session, with at most `connection_pool_size` calls
    in flight."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 1,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        media_write_timeout: float | None = 20.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._timeouts = {
            "connect": connect_timeout,
            "read": read_timeout,
            "write": write_timeout,
            "media_write": media_write_timeout,  # as PTB's HTTPXRequest: a file takes longer
            "pool": pool_timeout,
        }
        self._session: aiohttp.ClientSession | None = None
        self._pool: asyncio.Semaphore | None = None
        self._proxies: dict[tuple[str, str | None, int | None], Proxy] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is not None and not self._session.closed:
            return
        # The connector is not limited: the semaphore is the pool, so that a full pool is
        # told apart from a slow Telegram. No cookies: the Bot API sets none, and the jar is
        # filtered on every call. The proxy is ours to look up (`_proxy`), not trust_env's.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._proxies.clear()
        self._pool = asyncio.Semaphore(self._pool_size)

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session, pool = self._session, self._pool
        if session is None or pool is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        uploading = request_data is not None and bool(request_data.multipart_data)
        connect = self._given(connect_timeout, "connect")
        read = self._given(read_timeout, "read")
        write = self._given(write_timeout, "media_write" if uploading else "write")
        parts = (connect, write, read)
        timeout = aiohttp.ClientTimeout(
            total=sum(p for p in parts if p is not None)
            if uploading and None not in parts
            else None,
            # connect: the name lookup and the connection (the connector has no limit, so
            # never a wait for aiohttp's pool); sock_connect alone left a hung lookup unbounded.
            connect=connect,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that arrives just as the semaphore is acquired, and leak the permit.
            async with asyncio.timeout(self._given(pool_timeout, "pool")):
                await pool.acquire()
        except TimeoutError as error:
            raise PoolTimedOut(POOL_FULL) from error
        try:
            target = URL(url)
            proxy, proxy_auth = await self._proxy(target)
            async with session.request(
                method,
                target,
                data=_body(request_data),
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # The class name says what failed when the message is empty (a dropped connection).
            # aiohttp's messages may quote the URL, and the URL holds the bot's token.
            text = TOKEN_IN_URL.sub("bot<token>", str(error))
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {text}") from error
        finally:
            pool.release()

    async def _proxy(self, url: URL) -> Proxy:
        """The proxy the environment names for this URL's host (or none), as aiohttp's
        trust_env would choose it, looked up on the first call to that host only."""
        origin = (url.scheme, url.host, url.port)
        found = self._proxies.get(origin)
        if found is None:
            try:
                # aiohttp's own lookup (NO_PROXY, credentials in the URL or ~/.netrc); it
                # reads files, so it runs off the event loop as aiohttp runs it.
                found = await asyncio.to_thread(get_env_proxy_for_url, url)
            except LookupError:
                found = (None, None)
            self._proxies[origin] = found
        return found

    def _given(self, value: Any, name: str) -> float | None:
        """A timeout the call passed, or ours (PTB: "use `is BaseRequest.DEFAULT_NONE`")."""
        if value is BaseRequest.DEFAULT_NONE:
            return self._timeouts[name]
        return value  # type: ignore[no-any-return]


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """The parameters as a form, as PTB's HTTPXRequest sends them: url-encoded, or multipart
    when a file goes along."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    files = request_data.multipart_data
    if not files:
        return fields
    form = aiohttp.FormData(fields)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
