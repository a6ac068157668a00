"""Need rules against a real database: posting, claiming, progress, cancelling, bad input."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.app import need_timings
from bot.db.models import OutboxMessage
from bot.domain.errors import (
    BadDeadline,
    EmptyNeed,
    NeedClosed,
    NeedTaken,
    NoHelpers,
    NotPatient,
    NotRegistered,
    StaleAction,
)
from bot.domain.needs import NEED_TEXT_MAX, NeedState, utf16_len
from bot.services.circles import Person
from tests.people import ANNA, BEN, CARA, PAT, STRANGER
from tests.rig import Rig


async def circle_of(rig: Rig, *helpers: Person, patient: Person = PAT) -> int:
    """A patient in Berlin and these helpers, joined a second apart in this order."""
    circle_id = await rig.patient(patient)
    for helper in helpers:
        await rig.join(helper, patient=patient)
        rig.clock.advance(seconds=1)
    return circle_id


def texts_of(rows: list[OutboxMessage]) -> list[str]:
    return [r.payload["text"] for r in rows]


def buttons_of(row: OutboxMessage) -> list[tuple[str, str | None]]:
    return [(b["text"], b["data"]) for line in row.payload.get("buttons", []) for b in line]


# --- posting ---------------------------------------------------------------------------


async def test_a_need_reaches_every_active_helper_with_two_buttons(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN, CARA)
    posted = await rig.needs.post(PAT.id, "Please pick up my prescription")
    assert posted.routed is not None
    assert posted.routed.asked == ("Anna", "Ben", "Cara")
    offers = await rig.outbox("need.offer")
    assert sorted(o.chat_id for o in offers) == [ANNA.id, BEN.id, CARA.id]
    for offer in offers:
        assert "Pat" in offer.payload["text"] and "prescription" in offer.payload["text"]
        assert buttons_of(offer) == [
            ("🙋 I'll do it", f"1:need:claim:{posted.need.id}"),
            ("Can't now", f"1:need:no:{posted.need.id}"),
        ]
    need = await rig.need(posted.need.id)
    assert need.state == NeedState.OPEN and need.posted_by == PAT.id
    assert need.next_step_at == rig.clock.now() + need_timings(rig.settings).remind


async def test_a_patient_with_no_helpers_is_told_to_invite_one(rig: Rig) -> None:
    await circle_of(rig)
    with pytest.raises(NoHelpers):
        await rig.needs.post(PAT.id, "water please")
    with pytest.raises(NoHelpers):
        await rig.needs.begin(PAT.id)
    assert await rig.outbox("need.offer") == []


async def test_only_the_patient_posts(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    with pytest.raises(NotPatient):
        await rig.needs.post(ANNA.id, "water")
    await rig.circles.touch(STRANGER)
    with pytest.raises(NotRegistered):
        await rig.needs.post(STRANGER.id, "water")


async def test_a_category_tap_posts_with_its_words(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    posted = await rig.needs.post_category(PAT.id, "ice", 7)
    assert posted.need.card.text == "An ice pack" and posted.need.card.category == "ice"
    again = await rig.needs.post_category(PAT.id, "ice", 7)  # a double tap
    assert again.need.id == posted.need.id and again.routed is None
    assert len(await rig.outbox("need.offer")) == 1
    with pytest.raises(StaleAction):
        await rig.needs.post_category(PAT.id, "caviar", 8)
    # The key is the one the handler used to build (rows already hold such keys).
    assert (await rig.need(posted.need.id)).source_ref == "tap:100:7"


async def test_typed_words_post_once_per_message(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    posted = await rig.needs.post_typed(PAT.id, "groceries", 42)
    again = await rig.needs.post_typed(PAT.id, "groceries", 42)  # resent by Telegram
    assert again.need.id == posted.need.id and again.routed is None
    assert (await rig.need(posted.need.id)).source_ref == "msg:100:42"


async def test_a_resent_update_posts_once_even_at_the_same_instant(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    results = await asyncio.gather(
        *(rig.needs.post(PAT.id, "groceries", source_ref="msg:100:42") for _ in range(5))
    )
    assert len({r.need.id for r in results}) == 1
    assert sum(r.routed is not None for r in results) == 1
    assert len(await rig.outbox("need.offer")) == 2


async def test_odd_text_is_cleaned_escaped_and_trimmed(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    with pytest.raises(EmptyNeed):
        await rig.needs.post(PAT.id, "   \u200b\n\t ")
    with pytest.raises(EmptyNeed):
        await rig.needs.post(PAT.id, "...!?")
    emoji = await rig.needs.post(PAT.id, "🧊💧")
    assert emoji.need.card.text == "🧊💧"
    html = await rig.needs.post(PAT.id, "<b>bold</b> & *stars* _under_ `code` [x](y)")
    payload = (await rig.outbox("need.offer"))[-1].payload["text"]
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; *stars*" in payload
    assert html.need.card.text.startswith("<b>bold</b>")  # stored as typed, escaped on output
    rtl = await rig.needs.post(PAT.id, "\u202eשלום, אני צריך מים")
    assert rtl.need.card.text == "שלום, אני צריך מים"  # the override character is dropped
    long = await rig.needs.post(PAT.id, "🧊" * 3000)
    assert long.trimmed and utf16_len(long.need.card.text) <= NEED_TEXT_MAX
    assert long.need.card.text.endswith("…")


async def test_the_api_for_other_areas_posts_a_pharmacy_need(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    await rig.circles.set_awaiting(PAT.id, "med_name", {"step": 1})
    deadline = rig.clock.now() + dt.timedelta(hours=3)
    need_id = await rig.needs.post_need(
        PAT.id, "Pick up a refill", category="pharmacy", urgent=True, deadline=deadline
    )
    need = await rig.need(need_id)
    assert need.category == "pharmacy" and need.urgent and need.deadline_at == deadline
    [offer] = await rig.outbox("need.offer")
    assert offer.priority == 0  # urgent
    # Another area's conversation with the patient is left alone.
    assert (await rig.circles.standing(PAT.id)).awaiting == "med_name"


# --- claiming --------------------------------------------------------------------------


async def test_ten_helpers_pressing_at_once_give_exactly_one_owner(rig: Rig) -> None:
    helpers = [Person(300 + i, f"Helper{i}") for i in range(10)]
    await circle_of(rig, *helpers)
    need_id = (await rig.needs.post(PAT.id, "A ride to the clinic")).need.id
    await rig.deliver()
    results = await asyncio.gather(
        *(rig.needs.claim(h.id, need_id) for h in helpers), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 9
    owner = winners[0].need.owner_name
    assert all(isinstance(r, NeedTaken) and r.name == owner for r in losers)
    need = await rig.need(need_id)
    assert need.state == NeedState.CLAIMED and need.next_step_at is None
    assert [n.payload["text"] for n in await rig.outbox("need.claimed")] == [
        f"🙌 <b>{owner}</b> is on it: 📝 <b>A ride to the clinic</b>"
    ]
    taken = await rig.outbox("need.closed")
    assert len(taken) == 9 and all(f"Taken by <b>{owner}</b>" in t.payload["text"] for t in taken)
    assert all(not t.payload.get("buttons") for t in taken)


async def test_a_double_tap_on_ill_do_it_changes_nothing_more(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    need_id = (await rig.needs.post(PAT.id, "water")).need.id
    first = await rig.needs.claim(ANNA.id, need_id)
    before = len(await rig.outbox())
    second = await rig.needs.claim(ANNA.id, need_id)
    assert not first.repeat and second.repeat
    assert len(await rig.outbox()) == before
    with pytest.raises(NeedTaken) as late:
        await rig.needs.claim(BEN.id, need_id)
    assert late.value.name == "Anna" and not late.value.done


async def test_the_message_pressed_is_left_to_the_handler(rig: Rig) -> None:
    """Claim, done, release: the outbox changes the helper's other messages about the need,
    never the one they pressed (the handler edits that one; a second, identical edit would
    draw "message is not modified" from Telegram)."""
    await circle_of(rig, ANNA)
    need_id = (await rig.needs.post(PAT.id, "water")).need.id
    await rig.deliver()
    [offer] = await rig.outbox("need.offer")
    await rig.needs.claim(ANNA.id, need_id, message_id=offer.message_id)
    assert [e.ref_key for e in await rig.outbox("need.owner")] == []
    await rig.deliver()
    await rig.needs.complete(ANNA.id, need_id, message_id=offer.message_id)
    assert [e.ref_key for e in await rig.outbox("need.closed")] == []

    # Pressed on something else (the /needs list): every message of theirs is changed.
    second = (await rig.needs.post(PAT.id, "tea")).need.id
    await rig.deliver()
    [tea] = [o for o in await rig.outbox("need.offer") if o.key.startswith(f"need:{second}:")]
    await rig.needs.claim(ANNA.id, second, message_id=999_999)
    assert [e.ref_key for e in await rig.outbox("need.owner")] == [tea.key]
    await rig.deliver()
    await rig.needs.release(ANNA.id, second, message_id=tea.message_id)
    assert [e.ref_key for e in await rig.outbox("need.closed")] == []


async def test_a_helper_who_says_cant_now_is_not_counted_against(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    need_id = (await rig.needs.post(PAT.id, "water")).need.id
    declined = await rig.needs.decline(ANNA.id, need_id)
    again = await rig.needs.decline(ANNA.id, need_id)
    assert not declined.repeat and again.repeat
    # Anna can still change her mind.
    assert (await rig.needs.claim(ANNA.id, need_id)).need.owner_id == ANNA.id


# --- progress --------------------------------------------------------------------------


async def test_done_tells_the_patient_who_can_thank_once(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    need_id = (await rig.needs.post(PAT.id, "a meal")).need.id
    await rig.needs.claim(ANNA.id, need_id)
    with pytest.raises(NeedTaken):
        await rig.needs.complete(BEN.id, need_id)  # not Ben's to finish
    done = await rig.needs.complete(ANNA.id, need_id)
    assert (await rig.needs.complete(ANNA.id, need_id)).repeat
    assert done.need.state == NeedState.DONE
    [note] = await rig.outbox("need.done")
    assert note.chat_id == PAT.id and "Anna" in note.payload["text"]
    assert buttons_of(note) == [("💛 Thank you", f"1:need:thx:{need_id}")]
    with pytest.raises(StaleAction):
        await rig.needs.thank(ANNA.id, need_id)  # only the patient thanks
    await rig.needs.thank(PAT.id, need_id)
    assert (await rig.needs.thank(PAT.id, need_id)).repeat
    [thanks] = await rig.outbox("need.thanks")
    assert thanks.chat_id == ANNA.id and "thank you" in thanks.payload["text"]
    need = await rig.need(need_id)
    assert need.claimed_at is not None and need.done_at is not None and need.thanked_at


async def test_release_reopens_and_asks_the_others_again(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN, CARA)
    need_id = (await rig.needs.post(PAT.id, "groceries")).need.id
    await rig.needs.claim(ANNA.id, need_id)
    released = await rig.needs.release(ANNA.id, need_id)
    assert (await rig.needs.release(ANNA.id, need_id)).repeat
    assert released.need.state == NeedState.OPEN and released.need.owner_id is None
    assert released.routed is not None and released.routed.asked == ("Ben", "Cara")
    fresh = [o for o in await rig.outbox("need.offer") if ":r2:" in o.key]
    assert sorted(o.chat_id for o in fresh) == [BEN.id, CARA.id]
    [told] = await rig.outbox("need.released")
    assert told.chat_id == PAT.id and "Anna" in told.payload["text"]
    assert "Ben" in told.payload["text"] and "Cara" in told.payload["text"]
    need = await rig.need(need_id)
    assert need.route_round == 2 and need.next_step_at is not None
    # Ben takes it from his new message.
    assert (await rig.needs.claim(BEN.id, need_id)).need.owner_name == "Ben"


async def test_the_only_helper_releasing_leaves_the_patient_a_choice(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    need_id = (await rig.needs.post(PAT.id, "charger")).need.id
    await rig.needs.claim(ANNA.id, need_id)
    await rig.needs.release(ANNA.id, need_id)
    [told] = await rig.outbox("need.released")
    assert "no one else" in told.payload["text"]
    assert [d for _, d in buttons_of(told)] == [
        f"1:need:again:{need_id}:2",
        f"1:need:cx:{need_id}",
    ]


async def test_the_patient_cancels_an_open_need_and_offers_close(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    need_id = (await rig.needs.post(PAT.id, "company")).need.id
    await rig.deliver()
    cancelled = await rig.needs.cancel(PAT.id, need_id)
    assert cancelled.need.state == NeedState.CANCELLED
    assert (await rig.needs.cancel(PAT.id, need_id)).repeat
    closed = await rig.outbox("need.closed")
    assert len(closed) == 2 and all("doesn't need this" in c.payload["text"] for c in closed)
    with pytest.raises(NeedClosed):
        await rig.needs.claim(ANNA.id, need_id)
    assert (await rig.need(need_id)).next_step_at is None


async def test_cancelling_a_taken_need_asks_first_then_tells_the_owner(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    need_id = (await rig.needs.post(PAT.id, "a ride")).need.id
    await rig.needs.claim(ANNA.id, need_id)
    asked = await rig.needs.cancel(PAT.id, need_id)
    assert asked.confirm and (await rig.need(need_id)).state == NeedState.CLAIMED
    await rig.needs.cancel(PAT.id, need_id, confirmed=True)
    [told] = await rig.outbox("need.cancelled")
    assert told.chat_id == ANNA.id and "doesn't need" in told.payload["text"]
    with pytest.raises(NeedClosed):
        await rig.needs.release(ANNA.id, need_id)


# --- who may do what -------------------------------------------------------------------


async def test_forged_presses_from_strangers_change_nothing(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    await rig.circles.touch(STRANGER)
    need_id = (await rig.needs.post(PAT.id, "water")).need.id
    before = len(await rig.outbox())
    for press in (
        rig.needs.claim(STRANGER.id, need_id),
        rig.needs.decline(STRANGER.id, need_id),
        rig.needs.complete(STRANGER.id, need_id),
        rig.needs.cancel(STRANGER.id, need_id, confirmed=True),
        rig.needs.thank(STRANGER.id, need_id),
        rig.needs.keep(STRANGER.id, need_id),
        rig.needs.send_again(STRANGER.id, need_id, 1),
        rig.needs.add_note(STRANGER.id, need_id, "hello"),
        rig.needs.set_deadline(STRANGER.id, need_id, "1h"),
        rig.needs.make_urgent(ANNA.id, need_id),  # a helper is not the patient
        rig.needs.cancel(ANNA.id, need_id),
        rig.needs.claim(ANNA.id, need_id + 999),  # no such need
        rig.needs.claim(PAT.id, need_id),  # the patient is not a helper
    ):
        with pytest.raises(StaleAction):
            await press
    assert len(await rig.outbox()) == before
    assert (await rig.need(need_id)).state == NeedState.OPEN


async def test_another_patient_cannot_touch_this_circles_needs(rig: Rig) -> None:
    olga = Person(150, "Olga")
    await circle_of(rig, ANNA)
    await circle_of(rig, BEN, patient=olga)
    need_id = (await rig.needs.post(PAT.id, "water")).need.id
    with pytest.raises(StaleAction):
        await rig.needs.cancel(olga.id, need_id, confirmed=True)
    with pytest.raises(StaleAction):
        await rig.needs.claim(BEN.id, need_id)  # Ben helps Olga, not Pat


async def test_a_removed_helper_can_neither_see_nor_act(rig: Rig) -> None:
    circle_id = await circle_of(rig, ANNA, BEN)
    taken = (await rig.needs.post(PAT.id, "a meal")).need.id
    waiting = (await rig.needs.post(PAT.id, "water")).need.id
    await rig.deliver()
    await rig.needs.claim(ANNA.id, taken)
    await rig.circles.remove_helper(PAT.id, ANNA.id)
    with pytest.raises(StaleAction):
        await rig.needs.claim(ANNA.id, waiting)
    with pytest.raises(StaleAction):
        await rig.needs.complete(ANNA.id, taken)
    with pytest.raises(NotRegistered):
        await rig.needs.overview(ANNA.id)
    # What she had taken is open again and went to Ben; the patient knows why.
    need = await rig.need(taken)
    assert need.state == NeedState.OPEN and need.owner_id is None
    [told] = await rig.outbox("need.released")
    assert "no longer in your circle" in told.payload["text"]
    assert any(o.chat_id == BEN.id and ":r2:" in o.key for o in await rig.outbox("need.offer"))
    # Her messages stop offering anything.
    gone = [m for m in await rig.outbox("need.closed") if m.chat_id == ANNA.id]
    assert gone and all("no longer in Pat" in m.payload["text"] for m in gone), [
        m.payload for m in gone
    ]
    assert (await rig.needs.overview(BEN.id)).open[0].circle_id == circle_id


# --- the patient's details -------------------------------------------------------------


async def test_a_note_and_a_deadline_update_the_offers(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    need_id = (await rig.needs.post(PAT.id, "pharmacy")).need.id
    await rig.needs.add_note(PAT.id, need_id, "the blue <bag>")
    with pytest.raises(BadDeadline):
        await rig.needs.set_deadline(PAT.id, need_id, "soonish")
    await rig.needs.set_deadline(PAT.id, need_id, "pharmacy closes 19:00")
    need = await rig.need(need_id)
    assert need.note == "the blue <bag>"
    assert need.deadline_at == dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.UTC)  # 19:00 Berlin
    # The offer had not gone out yet, so it simply goes out with the newest words.
    [offer] = await rig.outbox("need.offer")
    assert "the blue &lt;bag&gt;" in offer.payload["text"] and "by 19:00" in offer.payload["text"]


async def test_the_by_when_buttons_set_their_presets_and_nothing_else(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    need_id = (await rig.needs.post(PAT.id, "pharmacy")).need.id
    now = rig.clock.now()
    await rig.needs.set_deadline_preset(PAT.id, need_id, "2h")
    assert (await rig.need(need_id)).deadline_at == now + dt.timedelta(hours=2)
    await rig.needs.set_deadline_preset(PAT.id, need_id, "today")
    assert (await rig.need(need_id)).deadline_at == dt.datetime(  # 23:59 in Berlin
        2026, 3, 2, 22, 59, tzinfo=dt.UTC
    )
    for forged in ("3h", "19:00", ""):
        with pytest.raises(StaleAction):
            await rig.needs.set_deadline_preset(PAT.id, need_id, forged)
    # Typed, a preset's words work too (as before the presets had a name).
    await rig.needs.set_deadline(PAT.id, need_id, "1h")
    assert (await rig.need(need_id)).deadline_at == now + dt.timedelta(hours=1)


async def test_typed_flows_use_the_draft_kept_in_the_database(rig: Rig) -> None:
    await circle_of(rig, ANNA)
    need_id = (await rig.needs.post(PAT.id, "pharmacy")).need.id
    await rig.needs.await_text(PAT.id, "need_when", need_id)
    assert (await rig.circles.standing(PAT.id)).awaiting == "need_when"
    await rig.needs.when_typed(PAT.id, "in 2 hours")
    assert (await rig.need(need_id)).deadline_at == rig.clock.now() + dt.timedelta(hours=2)
    assert (await rig.circles.standing(PAT.id)).awaiting is None
    with pytest.raises(StaleAction):
        await rig.needs.note_typed(PAT.id, "no draft any more")


async def test_photo_and_voice_needs_carry_their_media_to_every_helper(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    await rig.needs.offer_media(PAT.id, "photo", "photo-file-1", "empty pill box", 11)
    photo = await rig.needs.post_media(PAT.id, 11)
    assert (await rig.needs.post_media(PAT.id, 11)).need.id == photo.need.id  # double tap
    await rig.needs.offer_media(PAT.id, "voice", "voice-file-2", None, 12)
    voice = await rig.needs.media_words(PAT.id, "listen please")
    offers = await rig.outbox("need.offer")
    assert len(offers) == 4
    media = {(o.chat_id, o.payload["media"]["kind"], o.payload["media"]["file_id"]) for o in offers}
    assert media == {
        (ANNA.id, "photo", "photo-file-1"),
        (BEN.id, "photo", "photo-file-1"),
        (ANNA.id, "voice", "voice-file-2"),
        (BEN.id, "voice", "voice-file-2"),
    }
    assert photo.need.card.text == "empty pill box" and voice.need.card.text == "listen please"
    with pytest.raises(StaleAction):
        await rig.needs.post_media(PAT.id, 99)


async def test_a_taken_media_need_is_edited_with_its_media(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    await rig.needs.offer_media(PAT.id, "voice", "voice-file", None, 5)
    need_id = (await rig.needs.post_media(PAT.id, 5)).need.id
    await rig.deliver()
    await rig.needs.claim(ANNA.id, need_id)
    edits = await rig.outbox("need.closed")
    assert [e.payload["media"]["kind"] for e in edits] == ["voice"]  # a caption edit


async def test_helped_this_week_counts_only_what_was_done(rig: Rig) -> None:
    circle_id = await circle_of(rig, ANNA, BEN)
    for _ in range(2):
        need_id = (await rig.needs.post(PAT.id, "water")).need.id
        await rig.needs.claim(ANNA.id, need_id)
        await rig.needs.complete(ANNA.id, need_id)
    need_id = (await rig.needs.post(PAT.id, "tea")).need.id
    await rig.needs.decline(BEN.id, need_id)
    [week] = await rig.needs.helped_this_week(PAT.id)
    assert week.circle_id == circle_id and week.helpers == (("Anna", 2),)
    rig.clock.advance(days=8)
    [week] = await rig.needs.helped_this_week(BEN.id)
    assert week.helpers == () and not week.is_own


async def test_overview_lists_what_each_person_may_see(rig: Rig) -> None:
    await circle_of(rig, ANNA, BEN)
    first = (await rig.needs.post(PAT.id, "water")).need.id
    second = (await rig.needs.post(PAT.id, "a meal")).need.id
    await rig.needs.claim(ANNA.id, first)
    patient = await rig.needs.overview(PAT.id)
    assert patient.is_patient and not patient.is_helper
    assert [v.id for v in patient.own] == [second, first]
    anna = await rig.needs.overview(ANNA.id)
    assert [v.id for v in anna.open] == [second] and [v.id for v in anna.mine] == [first]
    ben = await rig.needs.overview(BEN.id)
    assert [v.id for v in ben.open] == [second] and ben.mine == ()
