"""Data-rights messages always parse as Telegram HTML and fit one message, whatever the names;
the confirm buttons fit Telegram's 64 bytes for any user id."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import callbacks, keyboards, texts
from bot.callbacks import MAX_BYTES
from bot.domain.needs import utf16_len
from bot.domain.privacy import CircleCounts
from playground.sim import MAX_TEXT_LENGTH, parse_html

NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from("<>&\"'🧊שלום"),
    min_size=1,
    max_size=128,
)
COUNT = st.integers(0, 10**6)


def plain_length(html: str) -> int:
    plain, _ = parse_html(html)  # raises on invalid HTML, as Telegram would refuse it
    return utf16_len(plain)


@st.composite
def circles(draw: st.DrawFn) -> CircleCounts:
    return CircleCounts(
        helpers=tuple(draw(st.lists(NAME, max_size=40))),
        needs=draw(COUNT),
        medications=draw(COUNT),
        doses=draw(COUNT),
        pain_reports=draw(COUNT),
        stage_changes=draw(COUNT),
        checkins=draw(COUNT),
        tips=draw(COUNT),
    )


@settings(max_examples=80, deadline=None)
@given(
    circle=st.none() | circles(),
    helping=st.lists(NAME, max_size=40),
    taken=st.integers(0, 500),
)
def test_the_delete_question_always_fits_one_message(
    circle: CircleCounts | None, helping: list[str], taken: int
) -> None:
    text = texts.confirm_delete_data(circle, helping=helping, taken_needs=taken)
    assert plain_length(text) <= MAX_TEXT_LENGTH
    assert "can't be undone" in text and "/export" in text


@given(name=NAME)
def test_the_goodbye_to_helpers_escapes_the_name(name: str) -> None:
    text = texts.circle_closed_for_helper(name)
    plain, _ = parse_html(text)
    assert plain.endswith("has closed their care circle. Thank you for helping. 💛")


def test_the_question_says_exactly_what_goes() -> None:
    circle = CircleCounts(("Anna", "Ben"), 5, 1, 12, 3, 2, 4, 6)
    text = texts.confirm_delete_data(circle, helping=["Sam"], taken_needs=1)
    plain, _ = parse_html(text)
    for part in (
        "your care circle — Anna and Ben will be told it has closed",
        "5 requests and who took them",
        "1 medication with 12 doses of history",
        "3 pain scores, 2 stage changes, 4 check-ins and 6 tips shown",
        "your place in Sam's circle — they'll be told you left",
        "1 request you've taken will go back to the other helpers",
        "a former helper",
    ):
        assert part in plain, part


@given(circle_closed=st.booleans(), told=st.integers(0, 1000), left=st.integers(0, 1000))
def test_the_result_parses(circle_closed: bool, told: int, left: int) -> None:
    text = texts.data_deleted(circle_closed=circle_closed, helpers_told=told, circles_left=left)
    assert plain_length(text) <= MAX_TEXT_LENGTH


@given(user_id=st.integers(1, 2**53))
def test_confirm_buttons_fit_and_name_the_person(user_id: int) -> None:
    rows = keyboards.confirm_delete_data(user_id)
    labels = [b.text for row in rows for b in row]
    assert labels == [texts.BUTTON_DELETE_ALL, texts.BUTTON_KEEP_DATA]
    for row in rows:
        for button in row:
            assert button.data is not None and len(button.data.encode()) <= MAX_BYTES
            parsed = callbacks.parse(button.data)
            assert parsed is not None and parsed.int_arg(0) == user_id
