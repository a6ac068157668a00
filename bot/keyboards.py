"""Every button layout, as plain data (bot.render turns them into Telegram keyboards)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import texts
from bot.buttons import (
    FROM_LIST,
    CircleVerb,
    DataVerb,
    DoseVerb,
    InviteVerb,
    LookVerb,
    MedVerb,
    NeedVerb,
    PainVerb,
    QuietVerb,
    SettingsVerb,
    StageVerb,
    StartVerb,
    TimezoneVerb,
    TipVerb,
    tap,
)
from bot.db.models import Access
from bot.domain.doses import ALERT_CHOICES, SNOOZE_CHOICES
from bot.domain.needs import DeadlinePreset, NeedCard
from bot.domain.timezones import COMMON_ZONES
from bot.notify import Button


@dataclass(frozen=True)
class AskLocation:
    """A reply-keyboard button that sends the person's location (private chats only)."""

    text: str


Rows = Sequence[Sequence[Button]]
Menu = Sequence[Sequence[str | AskLocation]]
# Sent as a menu, an empty one takes the reply keyboard away.
NO_MENU: Menu = ()


def patient_menu() -> Menu:
    """The reply keyboard a patient always has; see MENU_* in bot.texts."""
    return [
        [texts.MENU_NEED],
        [texts.MENU_MEDS, texts.MENU_TIP],
        [texts.MENU_CIRCLE, texts.MENU_HELP],
    ]


def choose_role() -> Rows:
    return [
        [Button(texts.BUTTON_PATIENT, tap(StartVerb.PATIENT))],
        [Button(texts.BUTTON_HELPER, tap(StartVerb.HELPER))],
    ]


def choose_timezone() -> Rows:
    zone_buttons = [
        Button(zone.split("/")[-1].replace("_", " "), tap(TimezoneVerb.SET, zone))
        for zone in COMMON_ZONES
    ]
    rows = [zone_buttons[i : i + 2] for i in range(0, len(zone_buttons), 2)]
    rows.append([Button(texts.BUTTON_OTHER_ZONE, tap(TimezoneVerb.TYPE))])
    return rows


def share_location(with_patient_menu: bool) -> Menu:
    """The time-zone step's reply keyboard. A patient keeps their menu under the 📍 button,
    so it is never lost if they pick a zone another way."""
    rows: list[Sequence[str | AskLocation]] = [[AskLocation(texts.BUTTON_SHARE_LOCATION)]]
    if with_patient_menu:
        rows.extend(patient_menu())
    return rows


def invite(access: str) -> Rows:
    other = Access.CLOSE if access == Access.ERRAND else Access.ERRAND
    other_label = texts.BUTTON_FAMILY_LINK if other == Access.CLOSE else texts.BUTTON_ERRAND_LINK
    return [
        [Button(texts.BUTTON_NEW_LINK, tap(InviteVerb.NEW, access))],
        [Button(other_label, tap(InviteVerb.SHOW, other))],
    ]


def circle_for_patient(helpers: Sequence[tuple[int, str, str]]) -> Rows:
    """helpers: (user id, name, access) for each helper."""
    rows: list[list[Button]] = []
    for user_id, name, access in helpers:
        other = CircleVerb.ERRAND if access == Access.CLOSE else CircleVerb.CLOSE
        rows.append(
            [
                Button(texts.button_remove(name), tap(CircleVerb.REMOVE, user_id)),
                Button(texts.button_access(name, access), tap(other, user_id)),
            ]
        )
    rows.append([Button(texts.BUTTON_SETTINGS, tap(SettingsVerb.SHOW))])
    return rows


def circle_settings(values: Sequence[tuple[str, bool]]) -> Rows:
    rows = [
        [Button(texts.setting_button(name, on), tap(SettingsVerb.TOGGLE, name))]
        for name, on in values
    ]
    rows.append([Button(texts.BUTTON_DONE, tap(SettingsVerb.DONE))])
    return rows


def confirm_remove(user_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_YES_REMOVE, tap(CircleVerb.REMOVE_YES, user_id)),
            Button(texts.BUTTON_KEEP, tap(CircleVerb.KEEP)),
        ]
    ]


def leave_choices(circles: Sequence[tuple[int, str]]) -> Rows:
    return [
        [Button(texts.button_leave(name), tap(CircleVerb.LEAVE, circle_id))]
        for circle_id, name in circles
    ]


def confirm_leave(circle_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_YES_LEAVE, tap(CircleVerb.LEAVE_YES, circle_id)),
            Button(texts.BUTTON_KEEP, tap(CircleVerb.KEEP)),
        ]
    ]


# --- recovery ------------------------------------------------------------------------------

STAGE_ORDER = ("acute", "easing", "strengthening", "staying-well", "not-improving")


def choose_stage(current: str | None = None, verb: StageVerb = StageVerb.SET) -> Rows:
    """One stage per row; `verb` is FIRST during onboarding, SET from /stage."""
    return [
        [Button(texts.stage_button(stage, stage == current), tap(verb, stage))]
        for stage in STAGE_ORDER
    ]


def pain_scale(verb: PainVerb, *args: object) -> Rows:
    """0–10 in two rows, one tap each; `verb` and `args` say what the answer belongs to."""
    buttons = [Button(str(n), tap(verb, *args, n)) for n in range(11)]
    return [buttons[:6], buttons[6:]]


def tell_helpers(report_id: int) -> Rows:
    return [[Button(texts.BUTTON_TELL_HELPERS, tap(PainVerb.TELL, report_id))]]


def pain_result(report_id: int, severe: bool, suggestion: tuple[str, str] | None) -> Rows:
    """suggestion: (target stage, the stage it was suggested in)."""
    rows: list[list[Button]] = []
    if severe:
        rows.extend(list(row) for row in tell_helpers(report_id))
    if suggestion is not None:
        target, current = suggestion
        # On a severe report the answer carries the report, so its advice and button stay.
        severe_report = (report_id,) if severe else ()
        rows.append(
            [
                Button(
                    texts.button_switch_stage(target),
                    tap(StageVerb.GO, target, current, *severe_report),
                ),
                Button(texts.BUTTON_NOT_NOW, tap(StageVerb.NO, target, *severe_report)),
            ]
        )
    return rows


def another_tip() -> Rows:
    return [[Button(texts.BUTTON_ANOTHER_TIP, tap(TipVerb.MORE))]]


def another_helper_tip(circle_id: int) -> Rows:
    return [[Button(texts.BUTTON_ANOTHER_TIP, tap(TipVerb.HELPER_MORE, circle_id))]]


def tips_settings(patient_on: bool | None, helping: Sequence[tuple[int, str, bool]]) -> Rows:
    """patient_on: None if not a patient; helping: (circle id, patient name, on)."""
    rows: list[list[Button]] = []
    if patient_on is not None:
        label = texts.BUTTON_TIPS_OFF if patient_on else texts.BUTTON_TIPS_ON
        rows.append([Button(label, tap(TipVerb.OFF if patient_on else TipVerb.ON))])
    for circle_id, name, on in helping:
        data = tap(TipVerb.HELPER_OFF if on else TipVerb.HELPER_ON, circle_id)
        rows.append([Button(texts.button_helper_tips(name, on), data)])
    return rows


def look_in(kind: LookVerb, item_id: int) -> Rows:
    """ "I'll check on them" on a look-in request: about a daily check-in, or a missed dose."""
    return [[Button(texts.BUTTON_CHECK_ON, tap(kind, item_id))]]


def checkin_settings(on: bool) -> Rows:
    label = texts.BUTTON_CHECKIN_OFF if on else texts.BUTTON_CHECKIN_ON
    return [[Button(label, tap(PainVerb.OFF if on else PainVerb.ON))]]


# --- needs ---------------------------------------------------------------------------------


def need_categories() -> Rows:
    """One tap each: a common need goes out with the second tap from the menu."""
    buttons = [
        Button(
            f"{emoji} {label}",
            tap(NeedVerb.OTHER) if key == "other" else tap(NeedVerb.CATEGORY, key),
        )
        for key, (emoji, label, _) in texts.NEED_CATEGORIES.items()
    ]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def need_posted(need_id: int, urgent: bool) -> Rows:
    """After posting: the optional details, and a way back."""
    first = [Button(texts.BUTTON_ADD_NOTE, tap(NeedVerb.NOTE, need_id))]
    if not urgent:
        first.append(Button(texts.BUTTON_MAKE_URGENT, tap(NeedVerb.URGENT, need_id)))
    return [
        first,
        [
            Button(texts.BUTTON_BY_TIME, tap(NeedVerb.WHEN, need_id)),
            Button(texts.BUTTON_CANCEL_NEED, tap(NeedVerb.CANCEL, need_id)),
        ],
    ]


def need_when(need_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_IN_1H, tap(NeedVerb.WHEN_PRESET, need_id, DeadlinePreset.IN_1H)),
            Button(texts.BUTTON_IN_2H, tap(NeedVerb.WHEN_PRESET, need_id, DeadlinePreset.IN_2H)),
        ],
        [
            Button(texts.BUTTON_TODAY, tap(NeedVerb.WHEN_PRESET, need_id, DeadlinePreset.TODAY)),
            Button(texts.BUTTON_TYPE_TIME, tap(NeedVerb.WHEN_TYPE, need_id)),
        ],
    ]


def need_offer(need_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_I_WILL, tap(NeedVerb.CLAIM, need_id)),
            Button(texts.BUTTON_CANT_NOW, tap(NeedVerb.DECLINE, need_id)),
        ]
    ]


def need_declined(need_id: int) -> Rows:
    return [[Button(texts.BUTTON_CAN_AFTER_ALL, tap(NeedVerb.CLAIM, need_id))]]


def need_owner(need_id: int) -> Rows:
    return [
        [Button(texts.BUTTON_NEED_DONE, tap(NeedVerb.DONE, need_id))],
        [Button(texts.BUTTON_RELEASE, tap(NeedVerb.RELEASE, need_id))],
    ]


def need_thank(need_id: int) -> Rows:
    return [[Button(texts.BUTTON_THANK, tap(NeedVerb.THANK, need_id))]]


def need_honest(need_id: int, route_round: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_SEND_AGAIN, tap(NeedVerb.AGAIN, need_id, route_round)),
            # Someone may have taken it since: then the patient is asked first.
            Button(texts.BUTTON_CANCEL_NEED, tap(NeedVerb.CANCEL, need_id)),
        ]
    ]


def need_post_again(need_id: int, route_round: int) -> Rows:
    return [[Button(texts.BUTTON_POST_AGAIN, tap(NeedVerb.AGAIN, need_id, route_round))]]


def need_confirm_cancel(need_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_YES_CANCEL, tap(NeedVerb.CANCEL_YES, need_id)),
            Button(texts.BUTTON_KEEP_NEED, tap(NeedVerb.KEEP, need_id)),
        ]
    ]


def need_media(ref: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_SEND_MEDIA, tap(NeedVerb.MEDIA_SEND, ref)),
            Button(texts.BUTTON_DONT_SEND, tap(NeedVerb.MEDIA_DROP, ref)),
        ]
    ]


def needs_for_patient(needs: Sequence[tuple[NeedCard, str, bool]]) -> Rows:
    """needs: (card, state, thanked). Buttons act on the list itself (the FROM_LIST flag)."""
    rows: list[list[Button]] = []
    for card, state, thanked in needs:
        label = texts.need_button_label(card)
        if state in ("open", "claimed"):
            rows.append([Button(f"✖️ Cancel: {label}", tap(NeedVerb.CANCEL, card.id, FROM_LIST))])
        elif state == "done" and not thanked:
            rows.append([Button(f"💛 Thank: {label}", tap(NeedVerb.THANK, card.id, FROM_LIST))])
    return rows


def needs_for_helper(open_ids: Sequence[NeedCard], mine: Sequence[NeedCard]) -> Rows:
    rows: list[list[Button]] = []
    for card in open_ids:
        label = texts.need_button_label(card)
        rows.append([Button(f"🙋 I'll do it: {label}", tap(NeedVerb.CLAIM, card.id, FROM_LIST))])
    for card in mine:
        label = texts.need_button_label(card)
        rows.append(
            [
                Button(f"✅ Done: {label}", tap(NeedVerb.DONE, card.id, FROM_LIST)),
                Button(texts.BUTTON_RELEASE_SHORT, tap(NeedVerb.RELEASE, card.id, FROM_LIST)),
            ]
        )
    return rows


def quiet_choices() -> Rows:
    return [
        [
            Button("22:00–07:00", tap(QuietVerb.SET, "2200", "0700")),
            Button("23:00–08:00", tap(QuietVerb.SET, "2300", "0800")),
        ],
        [Button(texts.BUTTON_QUIET_OFF, tap(QuietVerb.OFF))],
    ]


def away_choices() -> Rows:
    return [
        [Button(texts.away_days_button(d), tap(QuietVerb.AWAY, d)) for d in (1, 3, 7)],
        [Button(texts.BUTTON_AWAY_UNTIL_BACK, tap(QuietVerb.AWAY, 0))],
    ]


# --- meds ------------------------------------------------------------------------------------


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


# --- privacy ---------------------------------------------------------------------------------


def confirm_delete_data(user_id: int) -> Rows:
    """The person's own id rides along: a press by anyone else is refused."""
    return [
        [Button(texts.BUTTON_DELETE_ALL, tap(DataVerb.YES, user_id))],
        [Button(texts.BUTTON_KEEP_DATA, tap(DataVerb.NO, user_id))],
    ]
