"""A person's one conversation: steps written only from the revision they read, questions
that expire, /cancel and the walk-through's answers never landing in the wrong step."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from bot.clock import FrozenClock
from bot.domain.errors import FlowMoved, MedInputError, StaleAction
from bot.domain.flows import Awaiting
from bot.services.meds import ADD_STEPS
from tests.people import PAT
from tests.rig import START, Rig, example_url, open_rig

# Pat in Berlin, Anna, Ben and Erri, for the tests that take a rig.
in_the_family = pytest.mark.usefixtures("family")


@in_the_family
async def test_a_step_written_from_an_old_revision_is_refused(rig: Rig) -> None:
    """Two replicas read the same step; the one that writes second finds it moved on."""
    await rig.meds.start_add(PAT.id)
    before = await rig.circles.standing(PAT.id)
    assert (await rig.meds.add_answer(PAT.id, "Medicine A")).step == "dose"
    with pytest.raises(FlowMoved):
        await rig.circles.advance_flow(
            PAT.id, before.flow_rev, "addmed", {"c": 1, "step": "dose", "name": "Other"}
        )
    standing = await rig.circles.standing(PAT.id)
    assert standing.draft is not None and standing.draft["name"] == "Medicine A"


@in_the_family
async def test_two_answers_at_once_never_both_land_in_one_step(rig: Rig) -> None:
    await rig.meds.start_add(PAT.id)
    results = await asyncio.gather(
        rig.meds.add_answer(PAT.id, "Medicine A"),
        rig.meds.add_answer(PAT.id, "1 tablet"),
        return_exceptions=True,
    )
    standing = await rig.circles.standing(PAT.id)
    assert standing.draft is not None
    won = [r for r in results if not isinstance(r, BaseException)]
    # Either one took the name step and the other was refused, or they went one after the
    # other into two steps: never both into the name.
    if len(won) == 1:
        assert standing.draft["step"] == "dose"
    else:
        assert standing.draft["step"] == "times"
        assert {standing.draft["name"], standing.draft["dose"]} == {"Medicine A", "1 tablet"}


@in_the_family
async def test_an_answer_after_the_question_expired_is_not_taken(rig: Rig) -> None:
    await rig.meds.start_add(PAT.id)
    await rig.meds.add_answer(PAT.id, "Medicine A")
    rig.clock.advance(minutes=61)
    standing = await rig.circles.standing(PAT.id)
    assert standing.awaiting is None and standing.expired == "addmed"
    with pytest.raises(StaleAction):
        await rig.meds.add_answer(PAT.id, "1 tablet")
    assert await rig.circles.end_flow(PAT.id) is None, "nothing open to report as dropped"
    assert (await rig.circles.standing(PAT.id)).expired is None


@in_the_family
async def test_end_flow_reports_what_was_open_once(rig: Rig) -> None:
    await rig.meds.start_add(PAT.id)
    await rig.meds.add_answer(PAT.id, "Medicine A")
    ended = await rig.circles.end_flow(PAT.id)
    assert ended is not None and ended.awaiting == "addmed"
    assert ended.draft is not None and ended.draft["name"] == "Medicine A"
    assert await rig.circles.end_flow(PAT.id) is None
    with pytest.raises(StaleAction):
        await rig.meds.add_answer(PAT.id, "1 tablet")


@contextlib.contextmanager
def counting(rig: Rig) -> Iterator[tuple[list[str], list[int]]]:
    """The statements run meanwhile, and how many writers' transactions were begun."""
    statements: list[str] = []
    writes: list[int] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SET")):
            statements.append(statement)

    transaction = rig.db.transaction

    def counted() -> Any:
        writes.append(1)
        return transaction()

    event.listen(rig.db.engine.sync_engine, "before_cursor_execute", count)
    rig.db.transaction = counted  # type: ignore[method-assign]
    try:
        yield statements, writes
    finally:
        rig.db.transaction = transaction  # type: ignore[method-assign]
        event.remove(rig.db.engine.sync_engine, "before_cursor_execute", count)


@in_the_family
async def test_a_command_with_no_question_open_costs_one_small_read(rig: Rig) -> None:
    """Every command asks whether a question is open, at 08:00 too: when none is (nearly
    always), one statement answers, not the whole of where the person stands, and it waits
    for no writer's turn."""
    with counting(rig) as (statements, writes):
        assert await rig.circles.end_flow(PAT.id) is None
    assert len(statements) == 1 and not writes, statements


@in_the_family
async def test_a_question_a_command_continues_is_kept_and_one_that_ran_out_is_cleared(
    rig: Rig,
) -> None:
    await rig.meds.start_add(PAT.id)
    await rig.meds.add_answer(PAT.id, "Medicine A")
    kept = frozenset({Awaiting.ADD_MED})
    with counting(rig) as (statements, writes):
        assert await rig.circles.end_flow(PAT.id, kept) is None, "kept: nothing ended"
    assert len(statements) == 1 and not writes, "kept: decided by the one read"
    assert (await rig.circles.standing(PAT.id)).awaiting == Awaiting.ADD_MED
    rig.clock.advance(minutes=61)
    assert await rig.circles.end_flow(PAT.id, kept) is None, "ran out: nothing to report"
    standing = await rig.circles.standing(PAT.id)
    assert standing.awaiting is None and standing.expired is None, "and it is cleared"


# --- property: the walk-through never skips or repeats a step ----------------------------------

GOOD = {
    "name": "Medicine A",
    "dose": "1 tablet",
    "times": "08:00, 20:00",
    "note": "with food",
    "max": "4",
    "gap": "6",
}
BAD = {"name": "", "dose": "", "times": "25:00", "note": "x" * 500, "max": "-4", "gap": "1 day"}
MOVE = st.sampled_from(["good", "bad", "skip", "restart", "expire"])


async def walk(url: str, moves: list[str]) -> None:
    clock = FrozenClock(START)
    async with open_rig(url, clock, empty=True) as rig:
        await rig.patient()
        await rig.meds.start_add(PAT.id)
        expected = "name"
        for move in moves:
            clock.advance(seconds=5)
            if move == "restart":  # a new process: nothing of the flow is in memory
                rig.restart()
                continue
            if move == "expire":
                clock.advance(minutes=61)
                expected = "gone"
                continue
            if expected in ("gone", "confirm"):
                with contextlib.suppress(StaleAction, MedInputError):
                    await rig.meds.add_answer(PAT.id, "anything")
                continue
            before = expected
            try:
                if move == "good":
                    expected = (await rig.meds.add_answer(PAT.id, GOOD[before])).step
                elif move == "skip":
                    expected = (await rig.meds.add_skip(PAT.id)).step
                else:
                    await rig.meds.add_answer(PAT.id, BAD[before])
            except (MedInputError, StaleAction):
                pass
            standing = await rig.circles.standing(PAT.id)
            assert standing.draft is not None
            step = standing.draft["step"]
            # One answer moves one step forward (or none when refused), never two.
            assert ADD_STEPS.index(step) - ADD_STEPS.index(before) in (0, 1), (before, step)
            assert step == expected
            for done in ADD_STEPS[: ADD_STEPS.index(step)]:
                if done in ("name", "dose", "times"):
                    assert done.replace("times", "kind") in standing.draft, (done, standing)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=st.lists(MOVE, max_size=20))
def test_the_walkthrough_moves_one_step_per_accepted_answer(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, moves: list[Any]
) -> None:
    asyncio.run(walk(example_url(backend, request, tmp_path), moves))
