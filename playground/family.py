"""The demo family, onboarded through the bot's real flows as the end-to-end tests do it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from playground.simulator import FakeUser, PlaygroundApi

LINK = re.compile(r"https://t\.me/(\w+)\?start=(join_[A-Za-z0-9_-]+)")
# How long one step may take: the bot may be sending a burst, or just starting.
STEP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Member:
    """One person of the demo family."""

    user_id: int
    name: str
    role: str


PATIENT = Member(100, "Pat", "patient")
CLOSE = Member(201, "Anna", "close family")
ERRAND = Member(301, "Erri", "errand helper")
DEMO_FAMILY = (PATIENT, CLOSE, ERRAND)


class DemoFamilyError(RuntimeError):
    """The demo family could not be set up (the bot did not answer as expected)."""


async def onboard_patient(patient: FakeUser) -> str:
    """/start → "I'm recovering" → Berlin → a stage; returns the invite link's start payload."""
    await patient.send("/start")
    welcome = await patient.wait_for("Who are you here as?", timeout=STEP_TIMEOUT)
    await patient.press(welcome, "I'm recovering")
    await patient.wait_for_edit(welcome, text_contains="which time zone", timeout=STEP_TIMEOUT)
    await patient.press(welcome, "Berlin")
    await patient.wait_for_edit(welcome, text_contains="Europe/Berlin", timeout=STEP_TIMEOUT)
    question = await patient.wait_for("how is your back today?", timeout=STEP_TIMEOUT)
    await patient.press(question, "Acute flare")
    await patient.wait_for_edit(question, text_contains="Got it", timeout=STEP_TIMEOUT)
    return _start_payload(await patient.wait_for("Send this link", timeout=STEP_TIMEOUT))


async def errand_invite(patient: FakeUser) -> str:
    """/invite errand; returns the link's start payload."""
    await patient.send("/invite errand")
    return _start_payload(await patient.wait_for("won't see your medication", timeout=STEP_TIMEOUT))


async def open_invite(patient: FakeUser, helper: FakeUser, payload: str) -> None:
    """The helper opens the invite link (Telegram then sends /start with its payload)."""
    await helper.send(f"/start {payload}")
    await helper.wait_for("You're now in", timeout=STEP_TIMEOUT)
    await patient.wait_for(f"{helper.first_name} joined your circle", timeout=STEP_TIMEOUT)


def _start_payload(invite: dict[str, object]) -> str:
    match = LINK.search(str(invite.get("text") or ""))
    if match is None:
        raise DemoFamilyError("the invite message carried no link")
    return match.group(2)


def free_ids(sim: PlaygroundApi) -> bool:
    """Whether the demo family's people are still to be added."""
    return all(sim.person(member.user_id) is None for member in DEMO_FAMILY)


async def set_up_demo_family(sim: PlaygroundApi, progress: Callable[[str], None]) -> None:
    """Pat onboards as the patient; Anna joins as close family and Erri as an errand helper."""
    if not free_ids(sim):
        raise DemoFamilyError("the demo family is already here")
    people = {member: sim.user(member.user_id, member.name) for member in DEMO_FAMILY}
    patient = people[PATIENT]
    try:
        progress("Pat starts the bot and says they are recovering…")
        payload = await onboard_patient(patient)
        progress("Anna opens Pat's invite link…")
        await open_invite(patient, people[CLOSE], payload)
        progress("Pat invites an errand helper; Erri opens that link…")
        await open_invite(patient, people[ERRAND], await errand_invite(patient))
    except AssertionError as error:  # a driver's wait timed out: say what it saw
        raise DemoFamilyError(str(error).splitlines()[0]) from None
    progress("")
