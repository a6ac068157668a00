"""The playground in a real browser: the demo family, a need claimed, a reminder answered,
and a reminder that waits out a Telegram outage — all by clicking on the page."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from playground.launcher import Playground

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "playground.png"
BERLIN = ZoneInfo("Europe/Berlin")  # the demo patient's time zone
SETUP_MS = 90_000  # the bot starts, then three people are onboarded through its flows
STEP_MS = 20_000


def column(page: Any, name: str) -> Any:
    return page.locator(f'section.phone[data-name="{name}"]')


def bubble(col: Any, text: str) -> Any:
    return col.locator(".bubble", has_text=text)


async def set_up_demo_family(page: Any) -> tuple[Any, Any, Any]:
    from playwright.async_api import expect

    await page.get_by_role("button", name="Set up a demo family").click()
    pat, anna, erri = (column(page, name) for name in ("Pat", "Anna", "Erri"))
    await expect(bubble(pat, "Erri joined your circle")).to_be_visible(timeout=SETUP_MS)
    await expect(bubble(anna, "You're now in")).to_be_visible()
    await expect(page.locator("#bot-status")).to_have_text("bot running")
    return pat, anna, erri


def next_whole_minute(at_least_seconds: float) -> dt.datetime:
    soon = dt.datetime.now(BERLIN) + dt.timedelta(seconds=at_least_seconds)
    return soon.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)


async def type_and_send(col: Any, text: str) -> None:
    await col.get_by_label("Message from").fill(text)
    await col.get_by_role("button", name="Send").click()


async def test_a_need_posted_claimed_and_seen_as_taken(page: Any) -> None:
    from playwright.async_api import expect

    pat, anna, erri = await set_up_demo_family(page)
    # Telegram's formatting: the helper's name is bold in "Anna joined your circle".
    await expect(bubble(pat, "Anna joined your circle").locator("b")).to_have_text("Anna")

    await pat.locator(".keyboard").get_by_role("button", name="I need something").click()
    await bubble(pat, "What do you need?").get_by_role("button", name="Ice pack").click()
    offer = bubble(anna, "needs a hand")
    await expect(offer).to_be_visible(timeout=STEP_MS)
    await expect(bubble(erri, "needs a hand")).to_be_visible(timeout=STEP_MS)

    await offer.get_by_role("button", name="I'll do it").click()
    await expect(bubble(erri, "Taken by Anna")).to_be_visible(timeout=STEP_MS)
    await expect(bubble(erri, "Taken by Anna").get_by_role("button")).to_have_count(0)
    await expect(bubble(pat, "Anna is on it")).to_be_visible(timeout=STEP_MS)
    await expect(bubble(anna, "You're on it")).to_be_visible()

    timeline = page.locator("#calls tr", has_text="editMessageText")
    await expect(timeline.first).to_be_visible()
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        await page.screenshot(path=str(SCREENSHOT))


async def test_an_invite_link_opens_the_bot_as_whoever_is_picked(page: Any) -> None:
    from playwright.async_api import expect

    pat, _, _ = await set_up_demo_family(page)
    await type_and_send(pat, "/invite")  # the demo's two links are used: a fresh one
    await expect(bubble(pat, "Send this link")).to_have_count(3, timeout=STEP_MS)
    invite = bubble(pat, "Send this link").last
    await invite.locator("a.start-link").click()
    menu = page.locator("#open-as")
    await expect(menu.get_by_role("button", name="Anna")).to_be_visible()
    await menu.get_by_placeholder("someone new").fill("Ben")
    await menu.get_by_role("button", name="Add and open").click()
    await expect(bubble(column(page, "Ben"), "You're now in")).to_be_visible(timeout=STEP_MS)
    await expect(bubble(pat, "Ben joined your circle")).to_be_visible(timeout=STEP_MS)


async def test_names_and_messages_are_shown_as_text_never_as_markup(page: Any) -> None:
    from playwright.async_api import expect

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    name = "<img src=x onerror=alert(1)>"
    await page.get_by_placeholder("Name").fill(name)
    await page.get_by_role("button", name="Add a person").click()
    col = page.locator("section.phone").first
    await expect(col.locator("header b")).to_have_text(name)
    await type_and_send(col, "<b>not bold</b> <script>alert(2)</script>")
    await expect(bubble(col, "<b>not bold</b>")).to_be_visible()
    await expect(page.locator(".phone img, .phone script, .bubble.me b")).to_have_count(0)
    assert dialogs == []


@pytest.mark.timing  # waits for the reminder's wall-clock minute
async def test_a_reminder_arrives_on_its_minute_and_taken_edits_it(page: Any) -> None:
    from playwright.async_api import expect

    pat, _, _ = await set_up_demo_family(page)
    due = next_whole_minute(20)
    await type_and_send(pat, f"/addmed Medicine A | 1 tablet | {due:%H:%M}")
    await expect(bubble(pat, "Added Medicine A")).to_be_visible(timeout=STEP_MS)

    reminder = bubble(pat, "Time for Medicine A")
    await expect(reminder).to_be_visible(
        timeout=int((due.timestamp() - time.time()) * 1000) + 30_000
    )
    key = await reminder.get_attribute("data-key")
    await reminder.get_by_role("button", name="Taken").click()
    edited = pat.locator(f'.bubble[data-key="{key}"]')
    await expect(edited).to_contain_text("taken at", timeout=STEP_MS)
    await expect(edited).to_contain_text("edited")
    await expect(edited.get_by_role("button")).to_have_count(0)


@pytest.mark.timing  # an outage over a reminder's wall-clock minute
async def test_a_reminder_waits_out_an_outage_and_arrives_once(
    page: Any, playground: Playground
) -> None:
    from playwright.async_api import expect

    pat, _, _ = await set_up_demo_family(page)
    due = next_whole_minute(20)
    await type_and_send(pat, f"/addmed Medicine B | 1 tablet | {due:%H:%M}")
    await expect(bubble(pat, "Added Medicine B")).to_be_visible(timeout=STEP_MS)

    await page.get_by_label("Telegram is down").check()
    await expect(page.locator("#sw-down")).to_be_checked()
    assert playground.sim.down
    await asyncio.sleep(max(0.0, due.timestamp() - time.time()) + 5)
    await expect(bubble(pat, "Time for Medicine B")).to_have_count(0)
    await expect(page.locator("#calls tr", has_text="dropped").first).to_be_attached()

    await page.get_by_label("Telegram is down").uncheck()
    reminder = bubble(pat, "Time for Medicine B")
    await expect(reminder).to_be_visible(timeout=60_000)
    await asyncio.sleep(3)  # a duplicate would come right behind it
    await expect(reminder).to_have_count(1)
