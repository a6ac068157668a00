"""Medication messages: valid Telegram HTML whatever a name contains, and never advice."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import keyboards, texts
from bot.domain.doses import check_label
from bot.domain.errors import DoseAlreadyRecorded, MedInputError
from bot.services.meds import (
    AddPrompt,
    AdherenceReport,
    AdherenceRow,
    AsNeededAnswer,
    DoseView,
    DoseWarning,
    EditPrompt,
    MedDetail,
    MedList,
    MedView,
)
from playground.sim import MAX_TEXT_LENGTH, parse_html

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
NAMES = [
    "Ibuprofen",
    "Ibu_*profen* `x` [a](b)",
    "<b>bold</b> & <script>",
    "إيبوبروفين",  # right-to-left
    "💊💊",
    "x" * 60,
]


def med(name: str, **kw: object) -> MedView:
    values: dict[str, object] = {
        "id": 1,
        "circle_id": 1,
        "name": name,
        "dose": "400 mg <&>",
        "note": "with food *now*",
        "kind": "fixed",
        "times": ("08:00", "20:00"),
        "every_hours": None,
        "max_per_24h": 4,
        "min_hours_between": 6.0,
        "supply_on_hand": 9,
        "alert_minutes": 45.0,
        "custom_alert": False,
        "paused": False,
        "next_due_at": NOW + dt.timedelta(hours=3),
        "last_taken_at": NOW - dt.timedelta(hours=3),
        "timezone": "Europe/Berlin",
    }
    values.update(kw)
    return MedView(**values)  # type: ignore[arg-type]


def dose(name: str, state: str, **kw: object) -> DoseView:
    values: dict[str, object] = {
        "occurrence_id": 7,
        "medication_id": 1,
        "name": name,
        "dose": "400 mg",
        "note": None,
        "scheduled": True,
        "due_at": NOW,
        "due_label": "10:00",
        "state": state,
        "taken_at": NOW + dt.timedelta(minutes=5),
        "snoozed_until": NOW + dt.timedelta(minutes=60),
        "alert_at": NOW + dt.timedelta(minutes=45),
        "late": False,
        "by_name": "Anna <3",
        "by_patient": False,
        "patient_name": "Pat & co",
        "timezone": "Europe/Berlin",
    }
    values.update(kw)
    return DoseView(**values)  # type: ignore[arg-type]


def rendered(name: str) -> list[str]:
    view = med(name)
    as_needed = med(name, kind="as_needed", times=(), next_due_at=None)
    check = check_label([NOW - dt.timedelta(hours=h) for h in (2, 8, 14, 20)], NOW, 4, 6)
    out = [
        texts.dose_reminder(name, "400 mg", "with <food>", None),
        texts.dose_reminder(name, "400 mg", None, "10:00"),
        texts.dose_nudge(name, "400 mg", "10:00"),
        texts.dose_alert("Pat <3", name, "400 mg", "10:00"),
        texts.dose_warning(DoseWarning(1, 7, name, "400 mg", check, NOW, "Europe/Berlin")),
        texts.as_needed_answer(AsNeededAnswer(name, "1 tablet", check, NOW, "Asia/Kolkata")),
        texts.med_list(MedList(1, "Pat", "Europe/Berlin", True, True, False, (view,), ()), NOW),
        texts.med_list(MedList(1, "Pat", "UTC", False, False, True, (as_needed,), ()), NOW),
        texts.med_detail(MedDetail(view, "Pat", True, True), NOW),
        texts.med_detail(MedDetail(as_needed, "Pat", True, True), NOW),
        texts.med_added(view, "Pat <3", False, NOW),
        texts.choose_alert(view),
        texts.refill_offer(name, 9, 3.0),
        texts.refill_offer(name, 0, None),
        texts.supply_empty_to_family("Pat", name),
        texts.adherence(AdherenceReport("Pat", False, (AdherenceRow(name, "1", 3, 1, 0, 2),))),
        texts.dose_someone_checking(dose(name, "missed"), "Anna <3"),
        texts.check_on_reply("Pat <3", "Anna & Ben", False, False),
        texts.dose_given_to_patient(dose(name, "taken")),
    ]
    for field in ("times", "supply", "max", "gap"):
        out.append(texts.ask_edit(field, view))
    for change in ("added", "paused", "deleted", "times", "supply", "max", "alert", "other"):
        out.append(texts.med_changed_by_helper("Anna <3", change, view))
    for field, saved in ((None, "times"), ("gap", "max"), (None, "gap"), ("max", None)):
        out.append(texts.edit_reply(EditPrompt(field, view, saved)))
        out.append(texts.edit_reply(EditPrompt(field, as_needed, saved)))
    for state in ("taken", "skipped", "snoozed", "cancelled", "sent"):
        for by_patient in (True, False):
            out.append(texts.dose_done(dose(name, state, by_patient=by_patient)))
            out.append(texts.dose_resolved(dose(name, state, by_patient=by_patient)))
    draft = {"c": 1, "name": name, "dose": "1 <tab>", "kind": "interval", "every": 8}
    draft |= {"times": ["07:00", "15:00", "23:00"], "note": "*x*", "max": 4, "gap": 6}
    for step in ("choose", "name", "dose", "times", "note", "max", "gap", "confirm"):
        out.append(texts.add_prompt(AddPrompt(step, "Pat <3", False, draft)))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_medication_message_is_valid_html_whatever_the_name(name: str) -> None:
    for text in rendered(name):
        plain, _ = parse_html(text)  # raises on anything Telegram would refuse
        assert len(plain) <= MAX_TEXT_LENGTH
    # The person sees the name exactly as typed, markup characters and all.
    plain, entities = parse_html(texts.dose_reminder(name, "400 mg", None, None))
    assert f"Time for {name} 400 mg" in plain
    assert [e["type"] for e in entities] == ["bold"]


def test_refusals_are_valid_html_and_name_what_to_type() -> None:
    for reason in texts.MED_INPUT:
        text = texts.med_refusal(MedInputError(reason, "8<b>"))
        assert text is not None
        parse_html(text)
    bare = texts.med_refusal(MedInputError("time_bare_hour", "8"))
    assert bare is not None and "8am" in bare and "8pm" in bare
    already = DoseAlreadyRecorded(
        "taken", "Anna", by_self=False, by_patient=False, at=NOW, zone="Europe/Berlin"
    )
    assert texts.med_refusal(already) == (
        "Anna already marked this dose as given at 10:00, so it isn't logged twice."
    )


def test_medication_messages_point_to_the_label_and_never_advise() -> None:
    check = check_label([NOW - dt.timedelta(hours=1)], NOW, 1, 6)
    warning = texts.dose_warning(DoseWarning(1, None, "Ibuprofen", "400 mg", check, NOW, "UTC"))
    answer = texts.as_needed_answer(AsNeededAnswer("Ibuprofen", "400 mg", check, NOW, "UTC"))
    for text in (warning, answer):
        lowered = text.lower()
        assert "label" in lowered and ("doctor" in lowered or "pharmacist" in lowered)
        for advice in ("you should", "you can take", "safe to", "recommend", "take another"):
            assert advice not in lowered


def test_every_button_fits_telegrams_64_bytes() -> None:
    big = 2**62
    rows = [
        *keyboards.dose_reminder(big),
        *keyboards.dose_confirm(big, 4_102_444_800, 4_102_444_800),
        *keyboards.dose_alert(big, True),
        *keyboards.give_confirm(big, 4_102_444_800),
        *keyboards.extra_confirm(big, 4_102_444_800),
        *keyboards.refill_offer(big, True),
        *keyboards.alert_choices(big, 45, False, 45),
        *keyboards.med_list(big, [(big, "x" * 60)], [(big, "x" * 60, "08:00")], True),
        *keyboards.med_detail(
            big,
            big,
            can_manage=True,
            for_patient=True,
            paused=False,
            as_needed=True,
            alert_minutes=45,
        ),
    ]
    assert all(b.data is None or len(b.data.encode()) <= 64 for row in rows for b in row)
