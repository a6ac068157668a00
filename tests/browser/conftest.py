"""Browser rig: the playground (the real bot against the simulated Telegram) and its page,
driven in the system's headless Chromium with Playwright. No browser is ever downloaded.

Without Chromium (or Playwright) the tests skip and say why; CI sets
CARECIRCLE_REQUIRE_BROWSER=1, and there a missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from playground.launcher import Playground
from playground.page import PageState, serve_page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRE_BROWSER = os.environ.get("CARECIRCLE_REQUIRE_BROWSER") == "1"
VIEWPORT = {"width": 1500, "height": 900}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make .venv/.installed)"
    if not Path(CHROMIUM).is_file():
        return "no Chromium found (apt-get install chromium)"
    return None


@pytest.fixture
def chromium_path() -> str:
    reason = browser_missing()
    if reason is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"browser required (CARECIRCLE_REQUIRE_BROWSER=1): {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    return CHROMIUM


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    """A running playground: its own simulated Telegram, bot process and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYGROUND_")}
    built = Playground(tmp_path / "playground", env=env)
    await built.start()
    yield built
    await built.stop()
    log = (tmp_path / "playground" / "bot.log").read_text(errors="replace")
    assert "Traceback" not in log, log


@pytest.fixture
async def page(chromium_path: str, playground: Playground) -> AsyncIterator[Any]:
    """The playground's page, open in headless Chromium."""
    from playwright.async_api import async_playwright

    runner, url = await serve_page(PageState(playground), 0)
    try:
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path=chromium_path)
            opened = await browser.new_page(viewport=VIEWPORT)
            errors: list[str] = []
            opened.on("pageerror", lambda error: errors.append(str(error)))
            await opened.goto(url)
            yield opened
            await browser.close()
            assert errors == [], f"the page's script failed: {errors}"
    finally:
        await runner.cleanup()
