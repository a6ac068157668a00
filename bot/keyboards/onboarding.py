"""Onboarding keyboards: the patient's menu, the role, the time zone, invites."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote, urlencode

from bot import texts
from bot.buttons import InviteVerb, StartVerb, TimezoneVerb, tap
from bot.db.models import Access
from bot.domain.timezones import COMMON_ZONES
from bot.keyboards.common import AskLocation, Menu, Rows
from bot.notify import Button

__all__ = [
    "SHARE_URL",
    "choose_role",
    "choose_timezone",
    "invite",
    "invite_another",
    "patient_menu",
    "share_location",
    "share_url",
]

# Telegram's share page: it asks whom to send to, and sends the link with the words.
SHARE_URL = "https://t.me/share/url"


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


def share_url(link: str, words: str) -> str:
    """A t.me/share link: two taps send `link` and `words` to whoever the patient picks."""
    return f"{SHARE_URL}?{urlencode({'url': link, 'text': words}, quote_via=quote)}"


def invite(access: str, link: str) -> Rows:
    other = Access.CLOSE if access == Access.ERRAND else Access.ERRAND
    other_label = texts.BUTTON_FAMILY_LINK if other == Access.CLOSE else texts.BUTTON_ERRAND_LINK
    return [
        [Button(texts.BUTTON_SHARE_LINK, url=share_url(link, texts.invite_share(access)))],
        [Button(texts.BUTTON_NEW_LINK, tap(InviteVerb.NEW, access))],
        [Button(other_label, tap(InviteVerb.SHOW, other))],
    ]


def invite_another(access: str) -> Rows:
    """Under "Anna joined your circle": a link works for one person, so one tap for the next."""
    return [[Button(texts.BUTTON_INVITE_ANOTHER, tap(InviteVerb.ANOTHER, access))]]
