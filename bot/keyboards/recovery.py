"""Recovery keyboards: stages, pain, care tips, check-ins, look-ins."""

from __future__ import annotations

from collections.abc import Sequence

from bot import texts
from bot.buttons import LookVerb, PainVerb, StageVerb, TipVerb, tap
from bot.keyboards.common import Rows
from bot.notify import Button

__all__ = [
    "STAGE_ORDER",
    "another_helper_tip",
    "another_tip",
    "checkin_settings",
    "choose_stage",
    "look_in",
    "pain_result",
    "pain_scale",
    "tell_helpers",
    "tips_settings",
]

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
