"""Medication keyboards: dose reminders, the list, one medication, /addmed."""

from __future__ import annotations

from collections.abc import Sequence

from bot import texts
from bot.buttons import DoseVerb, MedVerb, tap
from bot.domain.doses import ALERT_CHOICES, SNOOZE_CHOICES
from bot.keyboards.common import Rows
from bot.notify import Button

__all__ = [
    "add_prompt",
    "after_extra",
    "alert_choices",
    "confirm_delete_med",
    "dose_alert",
    "dose_confirm",
    "dose_give",
    "dose_reminder",
    "dose_snoozed",
    "edit_prompt",
    "extra_confirm",
    "give_confirm",
    "med_detail",
    "med_list",
    "refill_offer",
    "took_choices",
]


def dose_reminder(occurrence_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_TAKEN, tap(DoseVerb.TAKE, occurrence_id)),
            Button(texts.BUTTON_SKIP, tap(DoseVerb.SKIP, occurrence_id)),
        ],
        [
            Button(texts.button_snooze(m), tap(DoseVerb.SNOOZE, occurrence_id, m))
            for m in SNOOZE_CHOICES
        ],
        [Button(texts.BUTTON_TOOK_AT, tap(DoseVerb.AT, occurrence_id))],
    ]


def dose_snoozed(occurrence_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_TAKEN, tap(DoseVerb.TAKE, occurrence_id)),
            Button(texts.BUTTON_SKIP, tap(DoseVerb.SKIP, occurrence_id)),
        ]
    ]


def dose_alert(occurrence_id: int, can_give: bool) -> Rows:
    rows = [[Button(texts.BUTTON_CHECK_ON, tap(DoseVerb.CHECK, occurrence_id))]]
    if can_give:
        rows += dose_give(occurrence_id)
    return rows


def dose_give(occurrence_id: int) -> list[list[Button]]:
    return [[Button(texts.BUTTON_GIVEN, tap(DoseVerb.GIVE, occurrence_id))]]


def dose_confirm(occurrence_id: int, at: int | None, shown: int) -> Rows:
    """Past the label's limits: log anyway (at the time given, if back-dated) or not now.
    `shown` is when the warning was made: an old "Log it anyway" asks again."""
    args = (occurrence_id, at or 0, shown)
    return [
        [Button(texts.BUTTON_LOG_ANYWAY, tap(DoseVerb.OK, *args))],
        [Button(texts.BUTTON_NOT_NOW, tap(DoseVerb.BACK, occurrence_id))],
    ]


def give_confirm(occurrence_id: int, shown: int) -> Rows:
    return [
        [Button(texts.BUTTON_LOG_ANYWAY, tap(DoseVerb.GIVE_OK, occurrence_id, shown))],
        [Button(texts.BUTTON_NOT_NOW, tap(DoseVerb.NO))],
    ]


def extra_confirm(med_id: int, shown: int) -> Rows:
    return [
        [Button(texts.BUTTON_LOG_ANYWAY, tap(DoseVerb.LOG_OK, med_id, shown))],
        [Button(texts.BUTTON_NOT_NOW, tap(DoseVerb.NO))],
    ]


def after_extra(med_id: int) -> Rows:
    return [[Button(texts.BUTTON_CAN_I, tap(DoseVerb.ASK, med_id))]]


def took_choices(meds: Sequence[tuple[int, str]]) -> Rows:
    return [[Button(name, tap(DoseVerb.LOG, med_id))] for med_id, name in meds]


def refill_offer(med_id: int, available: bool) -> Rows:
    if not available:
        return []
    return [
        [Button(texts.BUTTON_REFILL, tap(MedVerb.REFILL, med_id))],
        [Button(texts.BUTTON_NOT_NOW, tap(MedVerb.NO_REFILL, med_id))],
    ]


def med_list(
    circle_id: int,
    meds: Sequence[tuple[int, str]],
    open_doses: Sequence[tuple[int, str, str]],
    can_manage: bool,
) -> Rows:
    """meds: (id, name); open_doses: (occurrence id, name, due label) a helper may mark given."""
    buttons = [Button(name, tap(MedVerb.SHOW, med_id)) for med_id, name in meds]
    rows: list[list[Button]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows += [
        [Button(texts.button_given(name, label), tap(DoseVerb.GIVE, occurrence_id))]
        for occurrence_id, name, label in open_doses
    ]
    if can_manage:
        rows.append([Button(texts.BUTTON_ADD_MED, tap(MedVerb.ADD, circle_id))])
    return rows


def med_detail(
    med_id: int,
    circle_id: int,
    *,
    can_manage: bool,
    for_patient: bool,
    paused: bool,
    as_needed: bool,
    alert_minutes: float,
) -> Rows:
    rows: list[list[Button]] = []
    if as_needed:
        row = [Button(texts.BUTTON_CAN_I, tap(DoseVerb.ASK, med_id))]
        if for_patient:
            row.insert(0, Button(texts.BUTTON_LOG_DOSE, tap(DoseVerb.LOG, med_id)))
        rows.append(row)
    if can_manage:
        if not as_needed:
            rows.append(
                [
                    Button(texts.BUTTON_RESUME, tap(MedVerb.RESUME, med_id))
                    if paused
                    else Button(texts.BUTTON_PAUSE, tap(MedVerb.PAUSE, med_id)),
                    Button(texts.button_alert(alert_minutes), tap(MedVerb.ALERT, med_id)),
                ]
            )
        rows += [
            [
                Button(texts.BUTTON_TIMES, tap(MedVerb.EDIT, med_id, "times")),
                Button(texts.BUTTON_SUPPLY, tap(MedVerb.EDIT, med_id, "supply")),
            ],
            [
                Button(texts.BUTTON_LIMITS, tap(MedVerb.EDIT, med_id, "max")),
                Button(texts.BUTTON_DELETE, tap(MedVerb.DELETE, med_id)),
            ],
        ]
    rows.append([Button(texts.BUTTON_BACK, tap(MedVerb.LIST, circle_id))])
    return rows


def alert_choices(med_id: int, current: float, custom: bool, default: float) -> Rows:
    chosen = current if custom else -1
    buttons = [
        Button(texts.button_alert_choice(m, chosen), tap(MedVerb.ALERT_SET, med_id, m))
        for m in ALERT_CHOICES
    ]
    rows = [buttons[:3], buttons[3:]]
    default_label = texts.button_alert_choice(0, 0 if not custom else -1, default)
    rows.append([Button(default_label, tap(MedVerb.ALERT_SET, med_id, 0))])
    rows.append([Button(texts.BUTTON_BACK, tap(MedVerb.SHOW, med_id))])
    return rows


def confirm_delete_med(med_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_YES_DELETE, tap(MedVerb.DELETE_YES, med_id)),
            Button(texts.BUTTON_KEEP, tap(MedVerb.SHOW, med_id)),
        ]
    ]


def add_prompt(step: str, choices: Sequence[tuple[int, str]] = ()) -> Rows:
    cancel = [Button(texts.BUTTON_CANCEL, tap(MedVerb.CANCEL))]
    if step == "choose":
        return [
            [Button(texts.button_for_patient(name), tap(MedVerb.FOR, circle_id))]
            for circle_id, name in choices
        ]
    if step == "times":
        return [[Button(texts.BUTTON_AS_NEEDED, tap(MedVerb.AS_NEEDED))], cancel]
    if step in ("note", "max", "gap"):
        return [[Button(texts.BUTTON_SKIP_STEP, tap(MedVerb.SKIP))], cancel]
    if step == "confirm":
        return [[Button(texts.BUTTON_SAVE, tap(MedVerb.SAVE)), cancel[0]]]
    return [cancel]


def edit_prompt(field: str) -> Rows:
    cancel = [Button(texts.BUTTON_CANCEL, tap(MedVerb.KEEP))]
    if field in ("max", "gap"):
        rows = [
            [Button(texts.BUTTON_NO_LIMIT, tap(MedVerb.NO_LIMIT))],
            [Button(texts.BUTTON_KEEP_LIMIT, tap(MedVerb.SAME))],
        ]
        # At the gap the maximum may already be saved: "nothing changed" would not be true.
        return [*rows, cancel] if field == "max" else rows
    return [cancel]
