"""Forgetting someone in the messages the bot keeps: their name as a whole word, their id as a
whole key segment, nothing else."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot import texts
from bot.domain.privacy import Forgotten

ANNA = Forgotten(201, texts.shown_names("Anna", "@anna_k"), texts.FORMER_HELPER)
WHOLE_ANNA = re.compile(r"(?<!\w)Anna(?!\w)")


def test_a_name_goes_only_where_it_is_a_whole_word() -> None:
    text = "<b>Anna</b> gave Annabel and Hanna a hand.\n✅ Resolved: Anna gave it, given by Anna."
    assert ANNA.redact_text(text) == (
        "<b>A former helper</b> gave Annabel and Hanna a hand.\n"
        "✅ Resolved: A former helper gave it, given by a former helper."
    )
    assert ANNA.redact_text("🙌 <b>@anna_k</b> is on it") == "🙌 <b>A former helper</b> is on it"
    assert ANNA.redact_text("Taken by <b>Anna</b>.") == "Taken by <b>a former helper</b>."


def test_names_are_matched_as_messages_rendered_them() -> None:
    long = "Maximiliana-Konstantina Alexandrova"  # longer than a message shows
    tom = Forgotten(7, texts.shown_names("Tom & Jerry", long), "someone")
    assert tom.redact_text("<b>Tom &amp; Jerry</b> has left") == "<b>Someone</b> has left"
    shortened = texts.helper_left(long[: texts.NAME_MAX])
    assert long[: texts.NAME_MAX] in shortened and "Someone" in tom.redact_text(shortened)


def test_ids_go_from_keys_and_buttons_but_not_a_things_own_id() -> None:
    assert ANNA.carries_id("dose:7:alert:201") and not ANNA.carries_id("dose:201:reminder")
    assert ANNA.scrub_key("dose:201:alert:201:v3", "former9") == "dose:201:alert:former9:v3"
    payload = {
        "text": "Anna joined",
        "buttons": [[{"text": "Remove Anna", "data": "circle:rm:201", "url": None}]],
    }
    assert ANNA.redact_payload(payload) == {"text": "A former helper joined"}


@given(
    st.lists(
        st.sampled_from(["Anna", "Annabel", "Hanna", "<b>", "</b>", " ", ", ", ". ", "by ", "🙌"])
    )
)
def test_nobody_else_is_touched(tokens: list[str]) -> None:
    text = "".join(tokens)
    redacted = ANNA.redact_text(text)
    assert not WHOLE_ANNA.search(redacted)
    for other in ("Annabel", "Hanna"):
        assert redacted.count(other) == text.count(other)
