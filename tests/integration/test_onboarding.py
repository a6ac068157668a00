"""Getting started, in order: role → time zone → stage → link; a double tap runs no step twice."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.recovery import Stage
from bot.services.onboarding import OnboardingService, Step
from tests.people import ANNA, PAT
from tests.rig import Rig

SAO_PAULO = (-23.55, -46.63)


@pytest.fixture
def onboarding(rig: Rig) -> OnboardingService:
    return rig.services.onboarding


async def test_start_shows_each_step_in_turn(rig: Rig, onboarding: OnboardingService) -> None:
    await rig.circles.touch(PAT)
    assert (await onboarding.where(PAT.id)).step is Step.CHOOSE_ROLE
    await onboarding.become_patient(PAT.id)
    assert (await onboarding.where(PAT.id)).step is Step.TIMEZONE
    answered = await onboarding.set_timezone(PAT.id, "Europe/Berlin")
    assert answered.ask_stage and answered.name == "Europe/Berlin"
    assert (await onboarding.where(PAT.id)).step is Step.STAGE
    assert (await rig.recovery.choose_stage(PAT.id, Stage.EASING)).first  # brings the link
    where = await onboarding.where(PAT.id)
    assert where.step is Step.WELCOME_BACK and where.standing.is_patient


async def test_a_double_tap_on_the_first_zone_asks_the_stage_once(
    rig: Rig, onboarding: OnboardingService
) -> None:
    await rig.circles.touch(PAT)
    await onboarding.become_patient(PAT.id)
    answers = await asyncio.gather(
        onboarding.set_timezone(PAT.id, "Europe/Berlin"),
        onboarding.set_timezone(PAT.id, "Europe/Berlin"),
    )
    assert sorted(a.ask_stage for a in answers) == [False, True]
    assert all(a.is_patient for a in answers)
    # The second tap leaves the stage question the first one opened: onboarding still ends
    # with the invite link.
    assert (await rig.circles.standing(PAT.id)).awaiting == "stage"


async def test_a_later_zone_asks_nothing_more(rig: Rig, onboarding: OnboardingService) -> None:
    await rig.patient()
    answered = await onboarding.set_timezone(PAT.id, "Asia/Kolkata")
    assert answered.is_patient and not answered.ask_stage
    assert (await onboarding.where(PAT.id)).step is Step.WELCOME_BACK


async def test_a_helper_is_asked_for_the_code_and_never_the_stage(
    rig: Rig, onboarding: OnboardingService
) -> None:
    await rig.patient()
    await rig.circles.touch(ANNA)
    await onboarding.ask_join_code(ANNA.id)
    assert (await rig.circles.standing(ANNA.id)).awaiting == "join_code"
    assert (await onboarding.where(ANNA.id)).step is Step.CHOOSE_ROLE
    await rig.join(ANNA)
    answered = await onboarding.set_timezone(ANNA.id, "Europe/Berlin")
    assert not answered.is_patient and not answered.ask_stage
    assert (await onboarding.where(ANNA.id)).step is Step.WELCOME_BACK


async def test_a_location_counts_only_when_asked_for(
    rig: Rig, onboarding: OnboardingService
) -> None:
    await rig.patient()
    unasked = await onboarding.set_timezone_at(PAT.id, *SAO_PAULO)
    assert not unasked.asked and unasked.name == "Europe/Berlin" and unasked.is_patient
    assert (await rig.circles.standing(PAT.id)).timezone == "Europe/Berlin"
    before = await onboarding.ask_timezone(PAT.id)
    assert before.timezone == "Europe/Berlin"
    asked = await onboarding.set_timezone_at(PAT.id, *SAO_PAULO)
    assert asked.asked and asked.name == "America/Sao_Paulo" and not asked.ask_stage
    assert (await rig.circles.standing(PAT.id)).awaiting is None


async def test_a_second_zone_tap_in_order_keeps_the_stage_question_open(
    rig: Rig, onboarding: OnboardingService
) -> None:
    """One chat's updates run in order: the second tap comes after the first asked for the
    stage, and must not close that question (onboarding then never sent the invite)."""
    await rig.circles.touch(PAT)
    await onboarding.become_patient(PAT.id)
    first = await onboarding.set_timezone(PAT.id, "Europe/Berlin")
    second = await onboarding.set_timezone(PAT.id, "Europe/Berlin")
    assert first.ask_stage and not second.ask_stage
    assert (await rig.circles.standing(PAT.id)).awaiting == "stage"
