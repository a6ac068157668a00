"""The questions the bot waits on: their stored names stay, and each has its words for /cancel."""

from __future__ import annotations

from bot import texts
from bot.domain.flows import Awaiting
from bot.handlers.conversation import CONTINUES

# users.awaiting as rows already hold it (the literals before the enum).
OLD_VALUES = {
    "timezone",
    "join_code",
    "need_detail",
    "need_note",
    "need_when",
    "need_media",
    "stage",
    "addmed",
    "med_edit",
    "dose_time",
}


def test_every_question_keeps_the_value_rows_already_hold() -> None:
    assert {question.value for question in Awaiting} == OLD_VALUES


def test_cancel_says_what_each_question_dropped() -> None:
    generic = texts.flow_cancelled("something-else", None)
    for question in Awaiting:
        assert texts.flow_cancelled(question, None) != generic, question
        assert texts.flow_cancelled(question.value, None) == texts.flow_cancelled(question, None)


def test_onboarding_commands_keep_onboarding_questions_open() -> None:
    assert CONTINUES["start"] == {"timezone", "stage", "join_code"}
