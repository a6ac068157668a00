"""Building blocks of every message: the disclaimer, escaping, names."""

from __future__ import annotations

import html

__all__ = ["ACCESS_LABEL", "BUTTON_NOT_NOW", "NAME_MAX", "NOT_MEDICAL", "esc"]

NOT_MEDICAL = (
    "<i>carecircle is not a medical device. Follow your prescription label and your "
    "doctor's advice.</i>"
)


def esc(text: str) -> str:
    """Escape something a person typed (or a Telegram name) for HTML messages."""
    return html.escape(text, quote=False)


ACCESS_LABEL = {"close": "close family", "errand": "errand helper"}


def _join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# Names in need messages are cut so a photo's caption (1024) always fits.
NAME_MAX = 32


def _name(name: str) -> str:
    return esc(name[:NAME_MAX])


def _names(names: list[str] | tuple[str, ...]) -> str:
    return _join_names([f"<b>{_name(n)}</b>" for n in names])


# One answer to a question the bot asked (a stage change, a dose past the label's
# limits, a refill): the same words wherever it is asked.
BUTTON_NOT_NOW = "Not now"
