"""Need messages always parse as Telegram HTML and fit Telegram's limits, whatever was typed."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import keyboards, texts
from bot.callbacks import MAX_BYTES
from bot.domain.needs import (
    CATEGORIES,
    NEED_TEXT_MAX,
    NOTE_MAX,
    NeedCard,
    Routed,
    clean_text,
    utf16_len,
)
from playground.sim import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, parse_html

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
TYPED = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from("<>&\"'*_`[]🧊שלום"),
    min_size=1,
    max_size=2000,
)
NAME = st.text(min_size=1, max_size=64).filter(lambda n: n.strip() != "")


def plain_length(html: str) -> int:
    plain, _ = parse_html(html)  # raises on invalid HTML, as Telegram would refuse it
    return utf16_len(plain)


@st.composite
def cards(draw: st.DrawFn) -> NeedCard:
    text, _ = clean_text(draw(TYPED), NEED_TEXT_MAX)
    note, _ = clean_text(draw(TYPED), NOTE_MAX)
    return NeedCard(
        id=draw(st.integers(1, 2**62)),
        category=draw(st.sampled_from(CATEGORIES)),
        text=text or "x",
        note=note or None,
        urgent=draw(st.booleans()),
        deadline_at=NOW + dt.timedelta(minutes=draw(st.integers(1, 2000))),
        media_kind=draw(st.sampled_from([None, "photo", "voice"])),
    )


@settings(max_examples=60, deadline=None)
@given(card=cards(), patient=NAME, helper=NAME)
def test_what_helpers_see_fits_a_photo_caption(card: NeedCard, patient: str, helper: str) -> None:
    zone = "Europe/Berlin"
    for message in (
        texts.need_offer(patient, card, zone, NOW),
        texts.need_reminder(patient, card, zone, NOW),
        texts.need_taken_view(patient, card, helper, zone, NOW),
        texts.need_owner_view(patient, card, zone, NOW),
        texts.need_declined_view(patient, card, zone, NOW),
        *(texts.need_finished_view(patient, card, how) for how in
          ("done", "released", "cancelled", "expired", "gone")),
    ):  # fmt: skip
        assert plain_length(message) <= MAX_CAPTION_LENGTH


@settings(max_examples=60, deadline=None)
@given(card=cards(), patient=NAME, helper=NAME, names=st.lists(NAME, max_size=8))
def test_what_the_patient_sees_parses_and_fits(
    card: NeedCard, patient: str, helper: str, names: list[str]
) -> None:
    zone = "Europe/Berlin"
    routed = Routed(
        asked=tuple(names),
        held=tuple((n, NOW) for n in names[:2]),
        away=tuple(names[2:]),
        later=len(names),
        one_at_a_time=True,
    )
    for message in (
        texts.need_posted(card, routed, zone, NOW, trimmed=True),
        texts.need_sent_again(card, routed, zone, NOW),
        texts.need_updated(card, "note", zone, NOW),
        texts.need_claimed_for_patient(helper, card),
        texts.need_done_for_patient(helper, card),
        texts.need_released_for_patient(helper, card, routed, zone, NOW, gone=False),
        texts.need_honest_note(card, names, all_declined=True),
        texts.need_expired_for_patient(card, zone),
        texts.need_confirm_cancel(helper, card),
        texts.need_thanks_sent(helper, card),
        texts.need_thanks_for_owner(patient, card),
        texts.need_cancelled_for_owner(patient, card),
        texts.need_changed_for_owner(patient, card, "note", zone, NOW),
    ):
        assert plain_length(message) <= MAX_TEXT_LENGTH


@settings(max_examples=20, deadline=None)
@given(many=st.lists(cards(), min_size=15, max_size=15), name=NAME)
def test_the_longest_lists_still_fit_one_message(many: list[NeedCard], name: str) -> None:
    zone = "Europe/Berlin"
    own = [(c, "claimed", name, False) for c in many]
    assert plain_length(texts.needs_for_patient(own, zone, NOW)) <= MAX_TEXT_LENGTH
    pairs = [(c, name) for c in many]
    assert plain_length(texts.needs_for_helper(pairs, pairs, zone, NOW)) <= MAX_TEXT_LENGTH
    assert plain_length(texts.my_tasks(pairs, 3, zone, NOW)) <= MAX_TEXT_LENGTH
    rows = [
        *keyboards.needs_for_patient([(c, "open", False) for c in many]),
        *keyboards.needs_for_helper(many, many),
    ]
    for row in rows:
        for button in row:
            assert button.data is not None and len(button.data.encode()) <= MAX_BYTES
            assert 0 < len(button.text) <= 64


def test_every_need_button_fits_telegrams_64_bytes() -> None:
    big = 2**62
    layouts = [
        keyboards.need_categories(),
        keyboards.need_posted(big, False),
        keyboards.need_when(big),
        keyboards.need_offer(big),
        keyboards.need_declined(big),
        keyboards.need_owner(big),
        keyboards.need_thank(big),
        keyboards.need_honest(big, 10_000),
        keyboards.need_post_again(big, 10_000),
        keyboards.need_confirm_cancel(big),
        keyboards.need_media(big),
        keyboards.quiet_choices(),
        keyboards.away_choices(),
    ]
    for rows in layouts:
        for row in rows:
            for button in row:
                assert button.data is not None and len(button.data.encode()) <= MAX_BYTES
