"""Need rules without a database: the state machine, the timetable, fairness, the parsers."""

from __future__ import annotations

import datetime as dt
import itertools
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.domain.clocktime import format_time
from bot.domain.needs import (
    FINISHED,
    LADDER_EVERYONE,
    TRANSITIONS,
    Candidate,
    NeedAction,
    NeedState,
    Progress,
    Timings,
    clean_text,
    due_steps,
    end_of_today,
    has_content,
    is_off,
    ladder_order,
    next_state,
    next_step_at,
    parse_away_days,
    parse_deadline,
    states_allowing,
    to_ask,
    utf16_len,
)

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin
BERLIN = "Europe/Berlin"
T = Timings(remind=dt.timedelta(minutes=20), ladder=dt.timedelta(minutes=10))

# --- the state machine -----------------------------------------------------------------

ALLOWED = {
    (NeedState.OPEN, NeedAction.CLAIM): NeedState.CLAIMED,
    (NeedState.CLAIMED, NeedAction.RELEASE): NeedState.OPEN,
    (NeedState.CLAIMED, NeedAction.COMPLETE): NeedState.DONE,
    (NeedState.OPEN, NeedAction.CANCEL): NeedState.CANCELLED,
    (NeedState.CLAIMED, NeedAction.CANCEL): NeedState.CANCELLED,
    (NeedState.OPEN, NeedAction.EXPIRE): NeedState.EXPIRED,
    (NeedState.OPEN, NeedAction.RESEND): NeedState.OPEN,
    (NeedState.DONE, NeedAction.THANK): NeedState.DONE,
    (NeedState.OPEN, NeedAction.AMEND): NeedState.OPEN,
    (NeedState.CLAIMED, NeedAction.AMEND): NeedState.CLAIMED,
}
EVERY_PAIR = list(itertools.product(NeedState, NeedAction))


@pytest.mark.parametrize(("state", "action"), list(ALLOWED))
def test_every_allowed_transition(state: NeedState, action: NeedAction) -> None:
    assert next_state(state, action) == ALLOWED[(state, action)]
    assert state in states_allowing(action)


@pytest.mark.parametrize(("state", "action"), [pair for pair in EVERY_PAIR if pair not in ALLOWED])
def test_every_refused_transition(state: NeedState, action: NeedAction) -> None:
    assert next_state(state, action) is None
    assert state not in states_allowing(action)


def test_the_table_is_exactly_the_documented_one() -> None:
    table = {(s, a): t for a, moves in TRANSITIONS.items() for s, t in moves.items()}
    assert table == ALLOWED


def test_finished_needs_only_ever_take_thanks() -> None:
    for state in FINISHED:
        assert [a for a in NeedAction if next_state(state, a) is not None] == (
            [NeedAction.THANK] if state == NeedState.DONE else []
        )


class NeedLifecycle(RuleBasedStateMachine):
    """Random presses in any order: the machine never leaves a finished state, and an owner
    exists exactly while the need is claimed or done (as the service keeps it)."""

    def __init__(self) -> None:
        super().__init__()
        self.state = NeedState.OPEN
        self.owner: int | None = None

    def act(self, action: NeedAction, owner: int | None = None) -> bool:
        target = next_state(self.state, action)
        if target is None:
            return False
        if action == NeedAction.CLAIM:
            self.owner = owner
        elif action == NeedAction.RELEASE:
            self.owner = None
        self.state = target
        return True

    @rule(helper=st.integers(1, 3))
    def claim(self, helper: int) -> None:
        before = self.state
        won = self.act(NeedAction.CLAIM, helper)
        assert won == (before == NeedState.OPEN)

    @rule(action=st.sampled_from([a for a in NeedAction if a != NeedAction.CLAIM]))
    def press(self, action: NeedAction) -> None:
        before = self.state
        self.act(action)
        if before in FINISHED:
            assert self.state == before

    @precondition(lambda self: self.state == NeedState.CLAIMED)
    @rule(helper=st.integers(1, 3))
    def second_claim_loses(self, helper: int) -> None:
        owner = self.owner
        assert not self.act(NeedAction.CLAIM, helper)
        assert self.owner == owner

    @invariant()
    def owner_only_while_taken_or_done(self) -> None:
        has_owner = self.owner is not None
        if self.state in (NeedState.CLAIMED, NeedState.DONE):
            assert has_owner
        elif self.state == NeedState.OPEN:
            assert not has_owner


TestNeedLifecycle = NeedLifecycle.TestCase

# --- the timetable ---------------------------------------------------------------------


def progress(**changes: object) -> Progress:
    values: dict[str, object] = {
        "routed_at": NOW,
        "widened_at": NOW,
        "ask_level": LADDER_EVERYONE,
        "reminded": False,
        "patient_told": False,
        "deadline_at": None,
    }
    values.update(changes)
    return Progress(**values)  # type: ignore[arg-type]


def test_the_timetable_of_an_unclaimed_need() -> None:
    p = progress()
    assert next_step_at(p, T) == NOW + dt.timedelta(minutes=20)
    assert due_steps(p, T, NOW + dt.timedelta(minutes=19)) == due_steps(p, T, NOW)
    assert due_steps(p, T, NOW + dt.timedelta(minutes=20)).remind
    reminded = progress(reminded=True)
    assert next_step_at(reminded, T) == NOW + dt.timedelta(minutes=40)
    assert due_steps(reminded, T, NOW + dt.timedelta(minutes=40)).tell_patient
    assert next_step_at(progress(reminded=True, patient_told=True), T) is None


def test_a_deadline_comes_first_and_ends_everything_else() -> None:
    deadline = NOW + dt.timedelta(minutes=5)
    p = progress(deadline_at=deadline)
    assert next_step_at(p, T) == deadline
    steps = due_steps(p, T, NOW + dt.timedelta(hours=1))
    assert steps.expire and not (steps.remind or steps.tell_patient or steps.widen)


def test_the_ladder_widens_every_window_until_everyone_is_asked() -> None:
    p = progress(ask_level=1)
    assert next_step_at(p, T) == NOW + dt.timedelta(minutes=10)
    assert due_steps(p, T, NOW + dt.timedelta(minutes=10)).widen
    assert not due_steps(progress(), T, NOW + dt.timedelta(days=1)).widen


@given(
    level=st.integers(1, 3),
    reminded=st.booleans(),
    told=st.booleans(),
    later=st.integers(0, 10_000),
    deadline=st.none() | st.integers(1, 10_000),
)
def test_after_doing_what_is_due_the_next_step_is_in_the_future(
    level: int, reminded: bool, told: bool, later: int, deadline: int | None
) -> None:
    """The clock can never spin: once due steps are done, nothing is due at `now` again."""
    now = NOW + dt.timedelta(minutes=later)
    p = progress(
        ask_level=level,
        reminded=reminded,
        patient_told=told,
        deadline_at=None if deadline is None else NOW + dt.timedelta(minutes=deadline),
    )
    steps = due_steps(p, T, now)
    if steps.expire:
        return
    after = Progress(
        routed_at=p.routed_at,
        widened_at=now if steps.widen else p.widened_at,
        ask_level=p.ask_level + 1 if steps.widen else p.ask_level,
        reminded=p.reminded or steps.remind,
        patient_told=p.patient_told or steps.tell_patient,
        deadline_at=p.deadline_at,
    )
    upcoming = next_step_at(after, T)
    assert upcoming is None or upcoming > now


# --- fairness --------------------------------------------------------------------------


def test_the_least_busy_available_helper_is_asked_first() -> None:
    order = ladder_order(
        [
            Candidate(1, done_this_week=2, on_it_now=0, available_now=True, seniority=0),
            Candidate(2, done_this_week=0, on_it_now=0, available_now=False, seniority=1),
            Candidate(3, done_this_week=0, on_it_now=1, available_now=True, seniority=2),
            Candidate(4, done_this_week=0, on_it_now=0, available_now=True, seniority=3),
            Candidate(5, done_this_week=1, on_it_now=0, available_now=True, seniority=4),
        ]
    )
    assert order == [4, 3, 5, 1, 2]


def test_to_ask_fills_the_ladder_level_with_people_not_asked_yet() -> None:
    order = [4, 3, 5, 1]
    assert to_ask(order, set(), 1) == [4]
    assert to_ask(order, {4}, 2) == [3]
    assert to_ask(order, {4, 3}, 2) == []
    assert to_ask(order, {4, 3}, LADDER_EVERYONE) == [5, 1]
    assert to_ask(order, {99}, 1) == [4]  # someone asked before who is no longer around


# --- what people type ------------------------------------------------------------------


@given(st.text(max_size=3000), st.integers(10, 800))
def test_clean_text_always_fits_and_says_when_it_cut(raw: str, limit: int) -> None:
    text, cut = clean_text(raw, limit)
    assert utf16_len(text) <= limit
    assert all(unicodedata.category(ch) not in ("Cc", "Cs") or ch == "\n" for ch in text)
    assert "\u202e" not in text and "\u200b" not in text
    assert text == text.strip()
    if cut:
        assert text.endswith("…")
    again, cut_again = clean_text(text, limit)
    assert again == text and not cut_again


@given(st.text(alphabet=st.characters(categories=("L", "N", "So")), min_size=1, max_size=50))
def test_words_digits_and_emoji_are_content(text: str) -> None:
    assert has_content(clean_text(text, 500)[0])


@pytest.mark.parametrize("text", ["", "   ", "...", "!?!", "\u200b\u200b", "- - -"])
def test_blank_or_punctuation_only_is_not_a_need(text: str) -> None:
    assert not has_content(clean_text(text, 500)[0])


@pytest.mark.parametrize(
    ("typed", "local"),
    [
        ("19:00", "19:00"),
        ("by 7pm", "19:00"),
        ("pharmacy closes 19:00", "19:00"),
        ("before 6:30 pm please", "18:30"),
        ("noon", "12:00"),
        ("8.15", "08:15"),
    ],
)
def test_a_deadline_is_read_from_a_time_in_the_text(typed: str, local: str) -> None:
    deadline = parse_deadline(typed, NOW, BERLIN)
    assert deadline is not None and deadline > NOW
    assert format_time(deadline.astimezone(dt.timezone(dt.timedelta(hours=1))).time()) == local


def test_a_time_that_has_passed_today_means_tomorrow() -> None:
    deadline = parse_deadline("08:00", NOW, BERLIN)  # it is 10:00 in Berlin
    assert deadline == dt.datetime(2026, 3, 3, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("typed", "minutes"), [("in 2 hours", 120), ("in an hour", 60), ("in 45 min", 45),
                           ("in half an hour", 30)]
)  # fmt: skip
def test_relative_deadlines(typed: str, minutes: int) -> None:
    assert parse_deadline(typed, NOW, BERLIN) == NOW + dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    "typed", ["soon", "8", "between 17:00 and 18:00", "25:00", "in 0 minutes", "in 99 hours",
              "call 0176 5551234", ""]
)  # fmt: skip
def test_unclear_deadlines_are_refused(typed: str) -> None:
    assert parse_deadline(typed, NOW, BERLIN) is None


@given(st.text(max_size=200))
def test_parse_deadline_never_raises_and_stays_within_a_day(typed: str) -> None:
    deadline = parse_deadline(typed, NOW, BERLIN)
    assert deadline is None or NOW < deadline <= NOW + dt.timedelta(hours=24, minutes=1)


def test_end_of_today_is_the_last_local_minute() -> None:
    assert end_of_today(NOW, BERLIN) == dt.datetime(2026, 3, 2, 22, 59, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("typed", "days"),
    [("3", 3), ("3 days", 3), ("3d", 3), ("1 day", 1), ("a week", 7), ("2 weeks", 14),
     ("one week", 7), (" 90 ", 90)],
)  # fmt: skip
def test_days_away(typed: str, days: int) -> None:
    assert parse_away_days(typed) == days


@pytest.mark.parametrize("typed", ["", "0", "91", "forever", "-3", "3 months", "days", "w"])
def test_days_away_refused(typed: str) -> None:
    assert parse_away_days(typed) is None


@given(st.text(max_size=30))
def test_parse_away_days_never_raises(typed: str) -> None:
    days = parse_away_days(typed)
    assert days is None or 1 <= days <= 90


@pytest.mark.parametrize(("typed", "off"), [("off", True), (" OFF ", True), ("none", True),
                                            ("22:00-07:00", False), ("", False)])  # fmt: skip
def test_quiet_off_words(typed: str, off: bool) -> None:
    assert is_off(typed) == off
