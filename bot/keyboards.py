"""Every button layout, as plain data (bot.render turns them into Telegram keyboards)."""

from __future__ import annotations

from collections.abc import Sequence

from bot import callbacks as cb
from bot import texts
from bot.domain.doses import ALERT_CHOICES, SNOOZE_CHOICES
from bot.domain.timezones import COMMON_ZONES
from bot.notify import Button

Rows = Sequence[Sequence[Button]]
Menu = Sequence[Sequence[str]]


def patient_menu() -> Menu:
    """The reply keyboard a patient always has; see MENU_* in bot.texts."""
    return [[texts.MENU_MEDS], [texts.MENU_CIRCLE, texts.MENU_HELP]]


def choose_role() -> Rows:
    return [
        [Button(texts.BUTTON_PATIENT, cb.encode("start", "patient"))],
        [Button(texts.BUTTON_HELPER, cb.encode("start", "helper"))],
    ]


def choose_timezone() -> Rows:
    zone_buttons = [
        Button(zone.split("/")[-1].replace("_", " "), cb.encode("tz", "set", zone))
        for zone in COMMON_ZONES
    ]
    rows = [zone_buttons[i : i + 2] for i in range(0, len(zone_buttons), 2)]
    rows.append([Button(texts.BUTTON_OTHER_ZONE, cb.encode("tz", "type"))])
    return rows


def invite(access: str) -> Rows:
    other = "close" if access == "errand" else "errand"
    other_label = texts.BUTTON_FAMILY_LINK if other == "close" else texts.BUTTON_ERRAND_LINK
    return [
        [Button(texts.BUTTON_NEW_LINK, cb.encode("inv", "new", access))],
        [Button(other_label, cb.encode("inv", "show", other))],
    ]


def circle_for_patient(helpers: Sequence[tuple[int, str, str]]) -> Rows:
    """helpers: (user id, name, access) for each helper."""
    rows: list[list[Button]] = []
    for user_id, name, access in helpers:
        other = "errand" if access == "close" else "close"
        rows.append(
            [
                Button(texts.button_remove(name), cb.encode("circle", "rm", user_id)),
                Button(texts.button_access(name, access), cb.encode("circle", other, user_id)),
            ]
        )
    rows.append([Button(texts.BUTTON_SETTINGS, cb.encode("set", "show"))])
    return rows


def circle_settings(values: Sequence[tuple[str, bool]]) -> Rows:
    rows = [
        [Button(texts.setting_button(name, on), cb.encode("set", "tog", name))]
        for name, on in values
    ]
    rows.append([Button(texts.BUTTON_DONE, cb.encode("set", "done"))])
    return rows


def confirm_remove(user_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_YES_REMOVE, cb.encode("circle", "rmyes", user_id)),
            Button(texts.BUTTON_KEEP, cb.encode("circle", "keep")),
        ]
    ]


def leave_choices(circles: Sequence[tuple[int, str]]) -> Rows:
    return [
        [Button(texts.button_leave(name), cb.encode("circle", "leave", circle_id))]
        for circle_id, name in circles
    ]


def confirm_leave(circle_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_YES_LEAVE, cb.encode("circle", "leaveyes", circle_id)),
            Button(texts.BUTTON_KEEP, cb.encode("circle", "keep")),
        ]
    ]


# --- meds ------------------------------------------------------------------------------------


def dose_reminder(occurrence_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_TAKEN, cb.encode("dose", "take", occurrence_id)),
            Button(texts.BUTTON_SKIP, cb.encode("dose", "skip", occurrence_id)),
        ],
        [
            Button(texts.button_snooze(m), cb.encode("dose", "snz", occurrence_id, m))
            for m in SNOOZE_CHOICES
        ],
        [Button(texts.BUTTON_TOOK_AT, cb.encode("dose", "at", occurrence_id))],
    ]


def dose_snoozed(occurrence_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_TAKEN, cb.encode("dose", "take", occurrence_id)),
            Button(texts.BUTTON_SKIP, cb.encode("dose", "skip", occurrence_id)),
        ]
    ]


def dose_alert(occurrence_id: int, can_give: bool) -> Rows:
    rows = [[Button(texts.BUTTON_CHECK_ON, cb.encode("dose", "chk", occurrence_id))]]
    if can_give:
        rows += dose_give(occurrence_id)
    return rows


def dose_give(occurrence_id: int) -> list[list[Button]]:
    return [[Button(texts.BUTTON_GIVEN, cb.encode("dose", "give", occurrence_id))]]


def dose_confirm(occurrence_id: int, at: int | None) -> Rows:
    """Past the label's limits: log anyway (at the time given, if back-dated) or not now."""
    args = (occurrence_id, at) if at is not None else (occurrence_id,)
    return [
        [Button(texts.BUTTON_LOG_ANYWAY, cb.encode("dose", "ok", *args))],
        [Button(texts.BUTTON_NOT_NOW, cb.encode("dose", "back", occurrence_id))],
    ]


def give_confirm(occurrence_id: int) -> Rows:
    return [
        [Button(texts.BUTTON_LOG_ANYWAY, cb.encode("dose", "giveok", occurrence_id))],
        [Button(texts.BUTTON_NOT_NOW, cb.encode("dose", "no"))],
    ]


def extra_confirm(med_id: int) -> Rows:
    return [
        [Button(texts.BUTTON_LOG_ANYWAY, cb.encode("dose", "xok", med_id))],
        [Button(texts.BUTTON_NOT_NOW, cb.encode("dose", "no"))],
    ]


def after_extra(med_id: int) -> Rows:
    return [[Button(texts.BUTTON_CAN_I, cb.encode("dose", "ask", med_id))]]


def took_choices(meds: Sequence[tuple[int, str]]) -> Rows:
    return [[Button(name, cb.encode("dose", "log", med_id))] for med_id, name in meds]


def refill_offer(med_id: int, available: bool) -> Rows:
    if not available:
        return []
    return [
        [Button(texts.BUTTON_REFILL, cb.encode("med", "refill", med_id))],
        [Button(texts.BUTTON_NOT_NOW, cb.encode("med", "norefill", med_id))],
    ]


def med_list(
    circle_id: int,
    meds: Sequence[tuple[int, str]],
    open_doses: Sequence[tuple[int, str, str]],
    can_manage: bool,
) -> Rows:
    """meds: (id, name); open_doses: (occurrence id, name, due label) a helper may mark given."""
    buttons = [Button(name, cb.encode("med", "show", med_id)) for med_id, name in meds]
    rows: list[list[Button]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows += [
        [Button(texts.button_given(name, label), cb.encode("dose", "give", occurrence_id))]
        for occurrence_id, name, label in open_doses
    ]
    if can_manage:
        rows.append([Button(texts.BUTTON_ADD_MED, cb.encode("med", "add", circle_id))])
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
        row = [Button(texts.BUTTON_CAN_I, cb.encode("dose", "ask", med_id))]
        if for_patient:
            row.insert(0, Button(texts.BUTTON_LOG_DOSE, cb.encode("dose", "log", med_id)))
        rows.append(row)
    if can_manage:
        if not as_needed:
            rows.append(
                [
                    Button(texts.BUTTON_RESUME, cb.encode("med", "resume", med_id))
                    if paused
                    else Button(texts.BUTTON_PAUSE, cb.encode("med", "pause", med_id)),
                    Button(texts.button_alert(alert_minutes), cb.encode("med", "alert", med_id)),
                ]
            )
        rows += [
            [
                Button(texts.BUTTON_TIMES, cb.encode("med", "edit", med_id, "times")),
                Button(texts.BUTTON_SUPPLY, cb.encode("med", "edit", med_id, "supply")),
            ],
            [
                Button(texts.BUTTON_LIMITS, cb.encode("med", "edit", med_id, "max")),
                Button(texts.BUTTON_DELETE, cb.encode("med", "del", med_id)),
            ],
        ]
    rows.append([Button(texts.BUTTON_BACK, cb.encode("med", "list", circle_id))])
    return rows


def alert_choices(med_id: int, current: float, custom: bool, default: float) -> Rows:
    chosen = current if custom else -1
    buttons = [
        Button(texts.button_alert_choice(m, chosen), cb.encode("med", "alertset", med_id, m))
        for m in ALERT_CHOICES
    ]
    rows = [buttons[:3], buttons[3:]]
    default_label = texts.button_alert_choice(0, 0 if not custom else -1, default)
    rows.append([Button(default_label, cb.encode("med", "alertset", med_id, 0))])
    rows.append([Button(texts.BUTTON_BACK, cb.encode("med", "show", med_id))])
    return rows


def confirm_delete_med(med_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_YES_DELETE, cb.encode("med", "delyes", med_id)),
            Button(texts.BUTTON_KEEP, cb.encode("med", "show", med_id)),
        ]
    ]


def add_prompt(step: str, choices: Sequence[tuple[int, str]] = ()) -> Rows:
    cancel = [Button(texts.BUTTON_CANCEL, cb.encode("med", "cancel"))]
    if step == "choose":
        return [
            [Button(texts.button_for_patient(name), cb.encode("med", "for", circle_id))]
            for circle_id, name in choices
        ]
    if step == "times":
        return [[Button(texts.BUTTON_AS_NEEDED, cb.encode("med", "asneeded"))], cancel]
    if step in ("note", "max", "gap"):
        return [[Button(texts.BUTTON_SKIP_STEP, cb.encode("med", "skip"))], cancel]
    if step == "confirm":
        return [[Button(texts.BUTTON_SAVE, cb.encode("med", "save")), cancel[0]]]
    return [cancel]


def edit_prompt(field: str) -> Rows:
    cancel = [Button(texts.BUTTON_CANCEL, cb.encode("med", "keep"))]
    if field in ("max", "gap"):
        return [[Button(texts.BUTTON_NO_LIMIT, cb.encode("med", "nolimit"))], cancel]
    return [cancel]
