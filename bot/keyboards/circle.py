"""The circle's keyboards: helpers, settings, removing and leaving."""

from __future__ import annotations

from collections.abc import Sequence

from bot import texts
from bot.buttons import CircleVerb, SettingsVerb, tap
from bot.db.models import Access
from bot.keyboards.common import Rows
from bot.notify import Button

__all__ = [
    "circle_for_patient",
    "circle_settings",
    "confirm_leave",
    "confirm_remove",
    "leave_choices",
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
