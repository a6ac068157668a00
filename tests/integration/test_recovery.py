"""Recovery against a real database: stages, suggestions, tips on request, pain, /progress."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence

import pytest
from sqlalchemy import func, select, update

from bot.db.models import PainReport, StageChange, User
from bot.domain.errors import (
    NotAPainScore,
    NotInCircle,
    NotPatient,
    NotRegistered,
    StaleAction,
)
from bot.domain.recovery import Reason, Stage
from bot.services.recovery import DoseCounter, RecoveryConfig, RecoveryService
from tests.people import ANNA, BEN, PAT, SAM
from tests.rig import Rig, berlin

pytestmark = pytest.mark.usefixtures("morning")  # Monday, 08:00 in Berlin


async def pain(rig: Rig, score: int, key: str, who: int = PAT.id):  # type: ignore[no-untyped-def]
    return await rig.recovery.record_pain(who, score, key=key, source="command")


# --- the stage ---------------------------------------------------------------------------


async def test_onboarding_stage_answer_finishes_onboarding_once(rig: Rig) -> None:
    await rig.circles.touch(PAT)
    await rig.circles.become_patient(PAT.id)
    await rig.circles.set_timezone(PAT.id, "Europe/Berlin")
    await rig.recovery.ask_first_stage(PAT.id)
    assert (await rig.circles.standing(PAT.id)).awaiting == "stage"

    first, again = await asyncio.gather(
        rig.recovery.choose_stage(PAT.id, Stage.EASING),
        rig.recovery.choose_stage(PAT.id, Stage.EASING),
    )
    assert sorted([first.first, again.first]) == [False, True]  # one invite link, not two
    assert first.stage == again.stage == Stage.EASING
    assert (await rig.circles.standing(PAT.id)).awaiting is None


async def test_only_the_patient_has_a_stage(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    with pytest.raises(NotPatient):
        await rig.recovery.choose_stage(ANNA.id, Stage.EASING)
    await rig.circles.touch(BEN)
    with pytest.raises(NotRegistered):
        await rig.recovery.stage(BEN.id)


async def test_stage_changes_are_kept_for_the_chart(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    rig.clock.advance(days=2)
    changed = await rig.recovery.choose_stage(PAT.id, Stage.EASING)
    same = await rig.recovery.choose_stage(PAT.id, Stage.EASING)
    assert changed.changed and not same.changed
    async with rig.db.transaction() as session:
        history = (
            await session.execute(
                select(StageChange.from_stage, StageChange.to_stage)
                .where(StageChange.circle_id == circle_id)
                .order_by(StageChange.id)
            )
        ).all()
    assert [tuple(row) for row in history] == [(None, "acute"), ("acute", "easing")]


# --- suggestions: offered, never made --------------------------------------------------


async def test_two_low_scores_in_acute_suggest_easing_but_change_nothing(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    first = await pain(rig, 3, "m1")
    assert first.suggestion is None
    rig.clock.advance(days=1)
    second = await pain(rig, 3, "m2")
    assert second.suggestion is not None
    assert (second.suggestion.target, second.suggestion.reason) == (
        Stage.EASING,
        Reason.EASING_READY,
    )
    assert (await rig.recovery.stage(PAT.id)).stage == Stage.ACUTE  # a suggestion only

    accepted = await rig.recovery.accept_suggestion(PAT.id, Stage.EASING, Stage.ACUTE)
    assert accepted.stage == Stage.EASING and accepted.changed


async def test_reports_from_before_the_stage_do_not_count(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await pain(rig, 3, "m1")
    rig.clock.advance(minutes=1)
    await rig.recovery.choose_stage(PAT.id, Stage.NOT_IMPROVING)
    rig.clock.advance(minutes=1)
    result = await pain(rig, 3, "m2")
    assert result.suggestion is None  # one low report in this stage, not two


async def test_a_stale_suggestion_cannot_be_accepted(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.recovery.choose_stage(PAT.id, Stage.STRENGTHENING)
    with pytest.raises(StaleAction):
        await rig.recovery.accept_suggestion(PAT.id, Stage.EASING, Stage.ACUTE)
    assert (await rig.recovery.stage(PAT.id)).stage == Stage.STRENGTHENING


async def test_accepting_twice_is_harmless(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    results = await asyncio.gather(
        *(rig.recovery.accept_suggestion(PAT.id, Stage.EASING, Stage.ACUTE) for _ in range(4))
    )
    assert [r.changed for r in results].count(True) == 1
    async with rig.db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(StageChange))
    assert count == 2  # the first stage, then one change


async def test_two_low_scores_minutes_apart_do_not_suggest_easing(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await pain(rig, 3, "m1")
    rig.clock.advance(minutes=2)
    assert (await pain(rig, 3, "m2")).suggestion is None
    # Late evening and the next morning in Berlin: two local days, though only hours apart.
    rig.clock.set(berlin(2, 23, 30))
    await pain(rig, 2, "m3")
    rig.clock.set(berlin(3, 7, 30))
    result = await pain(rig, 2, "m4")
    assert result.suggestion is not None and result.suggestion.target == Stage.EASING


async def test_not_now_pauses_that_suggestion_for_a_few_days(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await pain(rig, 3, "m1")
    rig.clock.advance(days=1)
    assert (await pain(rig, 3, "m2")).suggestion is not None
    await rig.recovery.decline_suggestion(PAT.id, Stage.EASING)
    assert (await pain(rig, 2, "m3")).suggestion is None
    rig.clock.advance(days=3, minutes=1)
    assert (await pain(rig, 2, "m4")).suggestion is not None


async def test_easing_to_strengthening_after_three_good_days(rig: Rig) -> None:
    await rig.patient(stage=Stage.EASING)
    for day in range(2):
        assert (await pain(rig, 2, f"d{day}")).suggestion is None
        rig.clock.advance(days=1)
    result = await pain(rig, 1, "d2")
    assert result.suggestion is not None and result.suggestion.target == Stage.STRENGTHENING


async def test_rising_pain_points_to_the_not_getting_better_tips(rig: Rig) -> None:
    await rig.patient(stage=Stage.STRENGTHENING)
    for day, score in enumerate((3, 5)):
        await pain(rig, score, f"d{day}")
        rig.clock.advance(days=1)
    result = await pain(rig, 7, "d2")
    assert result.suggestion is not None
    assert (result.suggestion.target, result.suggestion.reason) == (
        Stage.NOT_IMPROVING,
        Reason.RISING,
    )


async def test_a_week_in_acute_without_improvement(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    for day in range(7):
        assert (await pain(rig, 6, f"d{day}")).suggestion is None
        rig.clock.advance(days=1)
    result = await pain(rig, 6, "d7")
    assert result.suggestion is not None
    assert result.suggestion.reason == Reason.NO_IMPROVEMENT


# --- flare-ups: back to acute?, and exercise tips wait -----------------------------------


async def patient_tips(rig: Rig, count: int) -> list[str]:
    return [(await rig.recovery.tip_now(PAT.id)).tip_id for _ in range(count)]


def exercise(rig: Rig, tip_ids: list[str]) -> list[str]:
    return [t for t in tip_ids if rig.tips.get(t).exercise]  # type: ignore[union-attr]


async def test_severe_pain_in_easing_asks_back_to_acute_and_pauses_exercise_tips(
    rig: Rig,
) -> None:
    circle_id = await rig.patient(stage=Stage.EASING)
    await rig.join(ANNA)
    result = await pain(rig, 8, "m1")
    assert result.suggestion is not None
    assert (result.suggestion.target, result.suggestion.reason) == (Stage.ACUTE, Reason.FLARE)
    assert not result.severe  # 8 is a flare-up; 9 and 10 also bring "contact your doctor"
    assert (await rig.recovery.stage(PAT.id)).stage == Stage.EASING  # asked, not moved

    count = 3 * len(rig.tips.for_stage(Stage.EASING, "patient"))
    shown = await patient_tips(rig, count)
    assert exercise(rig, shown) == []
    assert (await rig.recovery.tip_now(PAT.id)).exercise_paused
    helper = [(await rig.recovery.helper_tip_now(ANNA.id, circle_id)).tip_id for _ in range(4)]
    assert exercise(rig, helper) == []

    # The pause is in the database: a restart keeps it.
    restarted = rig.new_process().recovery
    assert exercise(rig, [(await restarted.tip_now(PAT.id)).tip_id for _ in range(count)]) == []

    # "Not now": we stay in easing and the exercise tips come back.
    await rig.recovery.decline_suggestion(PAT.id, Stage.ACUTE)
    assert (await rig.recovery.stage(PAT.id)).stage == Stage.EASING
    assert exercise(rig, await patient_tips(rig, count)) != []
    assert not (await rig.recovery.tip_now(PAT.id)).exercise_paused


async def test_yes_back_to_acute_moves_the_stage_and_ends_the_pause(rig: Rig) -> None:
    await rig.patient(stage=Stage.STRENGTHENING)
    result = await pain(rig, 9, "m1")
    assert result.severe and result.suggestion is not None
    assert result.suggestion.target == Stage.ACUTE
    view = await rig.recovery.accept_suggestion(PAT.id, Stage.ACUTE, Stage.STRENGTHENING)
    assert view.stage == Stage.ACUTE and view.changed
    assert not (await rig.recovery.tip_now(PAT.id)).exercise_paused
    # Later, back in strengthening by choice: its exercise tips are there again.
    await rig.recovery.choose_stage(PAT.id, Stage.STRENGTHENING)
    count = len(rig.tips.for_stage(Stage.STRENGTHENING, "patient"))
    assert exercise(rig, await patient_tips(rig, count)) != []


async def test_picking_a_stage_answers_the_flare_up_question(rig: Rig) -> None:
    await rig.patient(stage=Stage.STAYING_WELL)
    await pain(rig, 8, "m1")
    assert (await rig.recovery.tip_now(PAT.id)).exercise_paused
    await rig.recovery.choose_stage(PAT.id, Stage.STAYING_WELL)  # "/stage": still staying well
    assert not (await rig.recovery.tip_now(PAT.id)).exercise_paused


async def test_high_pain_again_asks_once_but_a_severe_flare_asks_even_after_not_now(
    rig: Rig,
) -> None:
    await rig.patient(stage=Stage.EASING)
    assert (await pain(rig, 6, "d0")).suggestion is None
    rig.clock.advance(days=1)
    again = await pain(rig, 7, "d1")
    assert again.suggestion is not None
    assert (again.suggestion.target, again.suggestion.reason) == (Stage.ACUTE, Reason.HIGH_AGAIN)
    await rig.recovery.decline_suggestion(PAT.id, Stage.ACUTE)
    rig.clock.advance(hours=2)
    assert (await pain(rig, 7, "d1b")).suggestion is None  # "Not now" holds for high pain
    assert not (await rig.recovery.tip_now(PAT.id)).exercise_paused
    rig.clock.advance(hours=2)
    severe = await pain(rig, 8, "d1c")
    assert severe.suggestion is not None  # but not for a severe flare-up: safety first
    assert (severe.suggestion.target, severe.suggestion.reason) == (Stage.ACUTE, Reason.FLARE)
    assert (await rig.recovery.tip_now(PAT.id)).exercise_paused


async def test_a_severe_score_in_acute_asks_nothing_and_pauses_nothing(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    result = await pain(rig, 10, "m1")
    assert result.severe and result.suggestion is None
    assert not (await rig.recovery.tip_now(PAT.id)).exercise_paused


# --- pain --------------------------------------------------------------------------------


async def test_the_same_prompt_twice_is_one_report_corrected(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await asyncio.gather(*(pain(rig, 5, "btn:1") for _ in range(3)))
    await pain(rig, 4, "btn:1")
    async with rig.db.transaction() as session:
        scores = list(await session.scalars(select(PainReport.score)))
    assert scores == [4]


async def test_a_score_is_kept_once_per_message_or_prompt(rig: Rig) -> None:
    await rig.patient()
    await rig.recovery.pain_typed(PAT.id, 5, 42)
    await rig.recovery.pain_typed(PAT.id, 6, 42)  # the same message, resent: corrected
    await rig.recovery.pain_tapped(PAT.id, 3, 1_700_000_000_000)
    await rig.recovery.pain_tapped(PAT.id, 2, 1_700_000_000_000)  # a second tap on the prompt
    async with rig.db.transaction() as session:
        reports = {(r.key, r.source, r.score) for r in await session.scalars(select(PainReport))}
    # The keys are those the handler used to build (rows already hold such keys).
    assert reports == {("msg:100:42", "command", 6), ("btn:100:1700000000000", "button", 2)}


async def test_scores_outside_zero_to_ten_are_refused(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    for score in (-1, 11):
        with pytest.raises(NotAPainScore):
            await pain(rig, score, f"bad{score}")


async def test_severe_pain_lets_close_family_know_once(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    await rig.join(BEN, access="errand")
    result = await pain(rig, 9, "m1")
    assert result.severe
    names = await asyncio.gather(
        *(rig.recovery.tell_helpers(PAT.id, result.report_id) for _ in range(3))
    )
    assert set(names) == {("Anna",)}
    alerts = await rig.outbox("recovery.severe_pain")
    assert [row.chat_id for row in alerts] == [ANNA.id]  # not the errand helper, and once
    assert "9/10" in alerts[0].payload["text"]
    assert alerts[0].priority == 0


async def test_telling_helpers_needs_a_recent_severe_report_of_ones_own(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.patient(SAM, stage=Stage.ACUTE)
    mild = await pain(rig, 4, "m1")
    with pytest.raises(StaleAction):
        await rig.recovery.tell_helpers(PAT.id, mild.report_id)
    severe = await pain(rig, 10, "m2")
    with pytest.raises(StaleAction):
        await rig.recovery.tell_helpers(SAM.id, severe.report_id)
    rig.clock.advance(hours=13)
    with pytest.raises(StaleAction):
        await rig.recovery.tell_helpers(PAT.id, severe.report_id)


# --- tips on request ----------------------------------------------------------------------


async def test_tips_are_not_repeated_until_the_stage_is_used_up(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    acute = [t.id for t in rig.tips.for_stage(Stage.ACUTE, "patient")]
    shown = [(await rig.recovery.tip_now(PAT.id)).tip_id for _ in acute]
    assert sorted(shown) == sorted(acute)
    # Used up: now the one shown longest ago comes back first, and the order holds.
    again = [(await rig.recovery.tip_now(PAT.id)).tip_id for _ in acute]
    assert again == shown


async def test_a_new_stage_brings_its_own_tips(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    tip = await rig.recovery.tip_now(PAT.id)
    assert Stage.ACUTE in rig.tips.get(tip.tip_id).stages  # type: ignore[union-attr]
    await rig.recovery.choose_stage(PAT.id, Stage.STRENGTHENING)
    for _ in range(6):
        tip = await rig.recovery.tip_now(PAT.id)
        assert tip.stage == Stage.STRENGTHENING
        assert Stage.STRENGTHENING in rig.tips.get(tip.tip_id).stages  # type: ignore[union-attr]


async def test_tips_asked_for_at_once_are_all_different(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    count = len(rig.tips.for_stage(Stage.ACUTE, "patient"))
    tips = await asyncio.gather(*(rig.recovery.tip_now(PAT.id) for _ in range(count)))
    assert len({t.tip_id for t in tips}) == count


async def test_rotation_is_per_circle(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.patient(SAM, stage=Stage.ACUTE)
    first = await rig.recovery.tip_now(PAT.id)
    assert (await rig.recovery.tip_now(SAM.id)).tip_id == first.tip_id


async def test_helper_tips_on_request_only_for_helpers_of_that_circle(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    tip = await rig.recovery.helper_tip_now(ANNA.id, circle_id)
    assert rig.tips.get(tip.tip_id).audience == "helper"  # type: ignore[union-attr]
    assert tip.patient_name == "Pat"
    await rig.circles.touch(BEN)
    with pytest.raises(NotInCircle):
        await rig.recovery.helper_tip_now(BEN.id, circle_id)


# --- /progress ----------------------------------------------------------------------------


async def test_progress_shows_each_days_highest_pain_and_stage_changes(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await pain(rig, 7, "a")
    await pain(rig, 8, "b")
    rig.clock.advance(days=1)
    await rig.recovery.choose_stage(PAT.id, Stage.EASING)
    await pain(rig, 4, "c")
    rig.clock.advance(days=20)
    await pain(rig, 2, "d")
    rig.clock.advance(days=-20)  # back to the day after the first reports
    view = await rig.recovery.progress(PAT.id)
    assert len(view.days) == 14 and view.days[-1] == dt.date(2026, 3, 3)
    assert view.pain == {dt.date(2026, 3, 2): 8, dt.date(2026, 3, 3): 4}
    assert view.reports == 3
    assert [stage for _, stage in view.stage_marks] == [Stage.ACUTE, Stage.EASING]
    assert view.doses is None and view.stage == Stage.EASING


async def test_progress_uses_the_patients_local_days(rig: Rig) -> None:
    await rig.patient(zone="America/New_York", stage=Stage.ACUTE)
    rig.clock.set(dt.datetime(2026, 3, 3, 3, 0, tzinfo=dt.UTC))  # 22:00 on the 2nd there
    await pain(rig, 6, "late")
    view = await rig.recovery.progress(PAT.id)
    assert view.pain == {dt.date(2026, 3, 2): 6}


class FakeDoses:
    """A DoseCounter double: a fixed count per day, or no medications at all."""

    def __init__(self, per_day: Mapping[dt.date, int] | None) -> None:
        self.per_day = per_day
        self.asked: list[tuple[int, tuple[dt.date, ...]]] = []

    async def doses_per_day(
        self, circle_id: int, days: Sequence[dt.date]
    ) -> Mapping[dt.date, int] | None:
        self.asked.append((circle_id, tuple(days)))
        if self.per_day is None:
            return None
        return {day: self.per_day.get(day, 0) for day in days}


def counting(rig: Rig, doses: DoseCounter) -> RecoveryService:
    """Recovery over the rig's database, counting doses with `doses` (the app counts them
    with the medication service). The daily times play no part in /progress."""
    config = RecoveryConfig(
        tip_time=dt.time(10, 0),
        checkin_time=dt.time(11, 0),
        nudge_time=dt.time(19, 0),
        lookin_time=dt.time(9, 0),
        late_grace=dt.timedelta(hours=3),
        suggestion_pause=dt.timedelta(days=3),
    )
    return RecoveryService(rig.db, rig.clock, rig.notifier, rig.tips, config, doses=doses)


async def test_progress_asks_the_dose_counter_when_there_is_one(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await pain(rig, 5, "a")
    today = dt.date(2026, 3, 2)
    counter = FakeDoses({today: 3})
    view = await counting(rig, counter).progress(PAT.id)
    assert view.doses is not None and view.doses[today] == 3 and len(view.doses) == 14
    assert counter.asked == [(circle_id, view.days)]
    no_meds = await counting(rig, FakeDoses(None)).progress(PAT.id)
    assert no_meds.doses is None


async def test_a_patient_without_a_time_zone_still_gets_tips_and_scores(rig: Rig) -> None:
    await rig.circles.touch(PAT)
    await rig.circles.become_patient(PAT.id)
    async with rig.db.transaction() as session:
        await session.execute(update(User).where(User.id == PAT.id).values(timezone=None))
    assert (await rig.recovery.tip_now(PAT.id)).stage == Stage.ACUTE
    assert (await pain(rig, 5, "a")).score == 5
    assert (await rig.recovery.progress(PAT.id)).timezone == "UTC"
