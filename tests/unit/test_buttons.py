"""Button verbs: the names keyboards write are the names handlers read, and buttons already on
people's phones (made before the verbs had names) still mean what they meant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from enum import StrEnum

import pytest

from bot import callbacks as cb
from bot import keyboards
from bot.buttons import (
    FROM_LIST,
    VERBS,
    CircleVerb,
    DoseVerb,
    HubVerb,
    LookVerb,
    MedVerb,
    NeedVerb,
    Ns,
    PainVerb,
    StageVerb,
    tap,
)
from bot.db.models import Access
from bot.domain.needs import DeadlinePreset, NeedCard
from bot.handlers import circle, meds, needs, settings
from bot.views.meds import DoseGroupView, DoseView

# Every button payload the bot made before the verbs were named, by namespace (from
# keyboards.py as it was: 102 literal pairs, plus the verbs passed in as variables).
OLD_VERBS: dict[str, set[str]] = {
    "start": {"patient", "helper"},
    "tz": {"set", "type"},
    "inv": {"new", "show", "another"},
    "circle": {"rm", "rmyes", "keep", "close", "errand", "leave", "leaveyes"},
    "set": {"show", "tog", "done"},
    "stage": {"first", "set", "go", "no"},
    "tip": {"more", "hmore", "on", "off", "hon", "hoff"},
    "pain": {"ci", "now", "tell", "on", "off"},
    "look": {"c", "d"},
    "need": {
        "cat",
        "other",
        "claim",
        "no",
        "done",
        "rel",
        "cx",
        "cxy",
        "keep",
        "thx",
        "again",
        "urg",
        "note",
        "when",
        "wh",
        "whtype",
        "msend",
        "mdrop",
    },
    "q": {"set", "off", "away"},
    "med": {
        "add",
        "for",
        "skip",
        "asneeded",
        "save",
        "cancel",
        "keep",
        "show",
        "list",
        "pause",
        "resume",
        "alert",
        "alertset",
        "edit",
        "nolimit",
        "same",
        "del",
        "delyes",
        "refill",
        "norefill",
    },
    "dose": {
        "take",
        "ok",
        "back",
        "snz",
        "skip",
        "at",
        "give",
        "giveok",
        "chk",
        "log",
        "xok",
        "ask",
        "no",
        # grouped reminders (2026-12)
        "gtake",
        "gskip",
        "glater",
        "gsnz",
        "gback",
        "all",
    },
    "data": {"yes", "no"},
    "hub": {"tz", "quiet", "tips", "checkin", "privacy"},
}


def test_every_verb_keeps_the_value_buttons_already_carry() -> None:
    assert {ns.value for ns in Ns} == set(OLD_VERBS)
    for ns, verbs in VERBS.items():
        assert {verb.value for verb in verbs} == OLD_VERBS[ns.value], ns


def test_a_tap_carries_its_namespace_and_verb_as_before() -> None:
    for ns, verbs in VERBS.items():
        for verb in verbs:
            assert tap(verb, 42) == f"1:{ns.value}:{verb.value}:42"
    assert tap(DoseVerb.SNOOZE, 9, 10) == "1:dose:snz:9:10"
    assert tap(LookVerb.DOSE, 8) == "1:look:d:8"
    assert len({verbs for verbs in VERBS.values()}) == len(VERBS)  # one namespace each


def test_the_access_verbs_are_the_access_values() -> None:
    # A helper's access is set by the verb itself ("1:circle:errand:42").
    assert (CircleVerb.CLOSE.value, CircleVerb.ERRAND.value) == (Access.CLOSE, Access.ERRAND)


def test_the_old_list_flag_and_deadline_presets_are_kept() -> None:
    assert FROM_LIST == "l"
    assert {p.value for p in DeadlinePreset} == {"1h", "2h", "today"}


def _every_keyboard() -> Iterator[keyboards.Rows]:
    """Every layout, in every variant that changes which buttons it has."""
    card = NeedCard(7, "ice", "An ice pack")
    yield keyboards.choose_role()
    yield keyboards.choose_timezone()
    for access in (Access.CLOSE, Access.ERRAND):
        yield keyboards.invite(access, "https://t.me/carecircle_bot?start=join_abc")
        yield keyboards.invite_another(access)
        yield keyboards.circle_for_patient([(5, "Bo", access)])
    yield keyboards.circle_settings([("one_at_a_time", True)])
    for is_patient, is_helper in ((False, False), (True, False), (False, True), (True, True)):
        yield keyboards.settings_hub(is_patient, is_helper)
    yield keyboards.confirm_remove(5)
    yield keyboards.leave_choices([(3, "Ann")])
    yield keyboards.confirm_leave(3)
    yield keyboards.choose_stage("acute")
    yield keyboards.choose_stage(verb=StageVerb.FIRST)
    yield keyboards.pain_scale(PainVerb.NOW, 123)
    yield keyboards.pain_scale(PainVerb.CHECKIN, 9)
    yield keyboards.pain_result(4, True, ("easing", "acute"))
    yield keyboards.another_tip()
    yield keyboards.another_helper_tip(3)
    for on in (True, False):
        yield keyboards.tips_settings(on, [(3, "Ann", on)])
        yield keyboards.checkin_settings(on)
        yield keyboards.need_posted(7, urgent=not on)
    for kind in LookVerb:
        yield keyboards.look_in(kind, 8)
    yield keyboards.need_categories()
    yield keyboards.need_when(7)
    yield keyboards.need_offer(7)
    yield keyboards.need_declined(7)
    yield keyboards.need_owner(7)
    yield keyboards.need_thank(7)
    yield keyboards.need_honest(7, 2)
    yield keyboards.need_post_again(7, 2)
    yield keyboards.need_confirm_cancel(7)
    yield keyboards.need_media(11)
    yield keyboards.needs_for_patient([(card, "open", False), (card, "done", False)])
    yield keyboards.needs_for_helper([card], [card])
    yield keyboards.quiet_choices()
    yield keyboards.away_choices()
    yield keyboards.dose_reminder(9)
    group = _group()
    yield keyboards.dose_group(group)
    yield keyboards.dose_group_later(group.doses[0], group.lead_id)
    yield keyboards.dose_group_alert(9, group.doses, can_give=True, checking=False)
    yield keyboards.dose_snoozed(9)
    yield keyboards.dose_alert(9, can_give=True)
    yield keyboards.dose_confirm(9, None, 1_700_000_000)
    yield keyboards.give_confirm(9, 1_700_000_000)
    yield keyboards.extra_confirm(2, 1_700_000_000)
    yield keyboards.after_extra(2)
    yield keyboards.took_choices([(2, "Medicine A")])
    yield keyboards.refill_offer(2, available=True)
    yield keyboards.med_list(1, [(2, "Medicine A")], [(9, "Medicine A", "08:00")], True)
    for paused, as_needed in ((True, False), (False, False), (False, True)):
        yield keyboards.med_detail(
            2,
            1,
            can_manage=True,
            for_patient=True,
            paused=paused,
            as_needed=as_needed,
            alert_minutes=45,
        )
    yield keyboards.alert_choices(2, 45, False, 45)
    yield keyboards.confirm_delete_med(2)
    for step in ("choose", "times", "note", "confirm", "name"):
        yield keyboards.add_prompt(step, [(1, "Ann")])
    for field in ("max", "gap", "times"):
        yield keyboards.edit_prompt(field)
    yield keyboards.confirm_delete_data(5)


def _group() -> DoseGroupView:
    when = dt.datetime(2026, 12, 4, 8, tzinfo=dt.UTC)

    def dose(occurrence_id: int, state: str) -> DoseView:
        return DoseView(
            occurrence_id, 2, "Medicine A", "1 tablet", None, True, when, "08:00", state,
            None, None, None, False, None, True, "Sam", "UTC",
        )  # fmt: skip

    return DoseGroupView(9, "08:00", (dose(9, "missed"), dose(10, "sent")))


def _made() -> set[tuple[str, str]]:
    made = set()
    for rows in _every_keyboard():
        for row in rows:
            for button in row:
                if button.data is None:
                    continue
                data = cb.parse(button.data)
                assert data is not None, button.data
                made.add((data.ns, data.verb))
    return made


def test_keyboards_make_every_verb_and_only_those() -> None:
    named = {(ns.value, verb.value) for ns, verbs in VERBS.items() for verb in verbs}
    assert _made() == named


@pytest.mark.parametrize(
    "verbs, presses",
    [
        (MedVerb, meds.MED_PRESSES),
        (DoseVerb, meds.DOSE_PRESSES),
        (NeedVerb, needs.PRESSES),
        (CircleVerb, circle.CIRCLE_PRESSES),
    ],
)
def test_every_verb_has_its_press(verbs: type[StrEnum], presses: dict[StrEnum, object]) -> None:
    assert set(presses) == set(verbs)


def test_every_settings_hub_button_opens_something() -> None:
    assert set(settings.OPENS) == set(HubVerb)


def test_a_deadline_preset_stands_for_its_time() -> None:
    now = dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC)
    assert DeadlinePreset.IN_1H.deadline(now, "UTC") == now + dt.timedelta(hours=1)
    assert DeadlinePreset.IN_2H.deadline(now, "UTC") == now + dt.timedelta(hours=2)
    assert DeadlinePreset.TODAY.deadline(now, "Europe/Berlin") == dt.datetime(
        2025, 3, 3, 22, 59, tzinfo=dt.UTC
    )
    assert DeadlinePreset.read("today") is DeadlinePreset.TODAY
    assert DeadlinePreset.read("in an hour") is None
