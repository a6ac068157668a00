"""The /settings hub: a button for each setting that applies to this person."""

from __future__ import annotations

from bot import texts
from bot.buttons import HubVerb, SettingsVerb, tap
from bot.keyboards.common import Rows
from bot.notify import Button

__all__ = ["hub_options", "settings_hub"]

# What each button opens, and for whom: (verb, newcomers, patients, helpers). The patient's
# circle settings are the circle's own button.
_OPTIONS: tuple[tuple[HubVerb | SettingsVerb, bool, bool, bool], ...] = (
    (HubVerb.TIMEZONE, True, True, True),
    (HubVerb.QUIET, False, False, True),
    (HubVerb.TIPS, False, True, True),
    (HubVerb.CHECKIN, False, True, False),
    (SettingsVerb.SHOW, False, True, False),
    (HubVerb.PRIVACY, True, True, True),
)
_LABELS: dict[HubVerb | SettingsVerb, str] = {
    **{verb: texts.HUB_BUTTONS[verb] for verb in HubVerb},
    SettingsVerb.SHOW: texts.HUB_BUTTONS["circle"],
}


def hub_options(is_patient: bool, is_helper: bool) -> tuple[HubVerb | SettingsVerb, ...]:
    """The hub's buttons for someone, in order (a press checks its verb is still one)."""
    newcomer = not (is_patient or is_helper)
    return tuple(
        verb
        for verb, newcomers, patients, helpers in _OPTIONS
        if (newcomer and newcomers) or (is_patient and patients) or (is_helper and helpers)
    )


def settings_hub(is_patient: bool, is_helper: bool) -> Rows:
    options = hub_options(is_patient, is_helper)
    buttons = [Button(_LABELS[verb], tap(verb)) for verb in options]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
