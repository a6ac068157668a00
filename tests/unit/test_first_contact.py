"""First contact in Telegram: the bot's description, each role's menu, the /settings hub and
the invite's Share button."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from bot import keyboards, texts
from bot.buttons import HubVerb, SettingsVerb
from bot.db.models import Access

COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
ROLES = [(False, False), (True, False), (False, True), (True, True)]
LINK = "https://t.me/carecircle_bot?start=join_Ab-3_x"


def names(commands: tuple[tuple[str, str], ...]) -> list[str]:
    return [name for name, _ in commands]


def test_a_newcomer_sees_only_how_to_begin() -> None:
    assert names(texts.menu_commands(False, False)) == ["start", "help", "settings", "privacy"]
    assert texts.menu_commands(False, False) == texts.COMMANDS_NEWCOMER


def test_a_patient_sees_patient_commands_and_no_helper_ones() -> None:
    menu = names(texts.menu_commands(is_patient=True, is_helper=False))
    assert {"need", "meds", "addmed", "took", "invite", "pain", "stage"} <= set(menu)
    assert not {"mytasks", "quiet", "away", "back", "join", "leave"} & set(menu)
    assert menu[:3] == ["start", "help", "circle"]
    assert menu[-3:] == ["settings", "privacy", "cancel"]


def test_a_helper_sees_helper_commands_and_no_patient_ones() -> None:
    menu = names(texts.menu_commands(is_patient=False, is_helper=True))
    assert {"needs", "mytasks", "quiet", "away", "back", "join", "leave"} <= set(menu)
    assert not {"need", "addmed", "took", "invite", "pain", "stage", "progress"} & set(menu)


def test_someone_who_is_both_sees_each_command_once() -> None:
    menu = names(texts.menu_commands(is_patient=True, is_helper=True))
    assert len(menu) == len(set(menu))
    assert set(menu) == set(names(texts.menu_commands(True, False))) | set(
        names(texts.menu_commands(False, True))
    )


@pytest.mark.parametrize("is_patient, is_helper", ROLES)
def test_every_menu_is_one_telegram_takes(is_patient: bool, is_helper: bool) -> None:
    menu = texts.menu_commands(is_patient, is_helper)
    assert len(menu) <= 100
    for name, description in menu:
        assert COMMAND.match(name), name
        assert 1 <= len(description) <= 256, name


@pytest.mark.parametrize("is_patient, is_helper", ROLES)
def test_help_lists_every_command_of_the_menu(is_patient: bool, is_helper: bool) -> None:
    shown = texts.help_text(is_patient, is_helper)
    for name in names(texts.menu_commands(is_patient, is_helper)):
        assert f"/{name} " in shown, name
    assert "/settings" in shown and "/privacy" in shown


def test_the_description_says_what_carecircle_is_within_telegrams_limits() -> None:
    assert len(texts.BOT_DESCRIPTION) <= 512
    assert len(texts.BOT_SHORT_DESCRIPTION) <= 120
    for description in (texts.BOT_DESCRIPTION, texts.BOT_SHORT_DESCRIPTION):
        assert "not a medical device" in description.lower()
        assert "<" not in description  # plain text: Telegram shows tags as typed
    assert "bed rest" in texts.BOT_DESCRIPTION and "invite link" in texts.BOT_DESCRIPTION


def test_privacy_says_what_is_kept_who_sees_it_and_how_to_take_or_delete_it() -> None:
    for words in ("Close family", "Errand helpers", "/export", "/deletemydata", "medical device"):
        assert words in texts.PRIVACY, words


@pytest.mark.parametrize("access", [Access.CLOSE, Access.ERRAND])
def test_the_share_button_sends_the_link_with_a_few_words(access: str) -> None:
    [share], *_ = keyboards.invite(access, LINK)
    assert share.data is None and share.url is not None
    parts = urlsplit(share.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "t.me", "/share/url")
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {"url": [LINK], "text": [texts.invite_share(access)]}
    assert " " not in share.url and "?start=" not in share.url  # all of it URL-encoded


def test_share_url_encodes_what_would_break_a_query() -> None:
    url = keyboards.share_url("https://t.me/b?start=join_a&b", "Tea & toast? 💛 #1")
    query = parse_qs(urlsplit(url).query, strict_parsing=True)
    assert query == {"url": ["https://t.me/b?start=join_a&b"], "text": ["Tea & toast? 💛 #1"]}


def test_a_join_notice_offers_a_link_for_someone_else_of_the_same_kind() -> None:
    for access in (Access.CLOSE, Access.ERRAND):
        [[button]] = keyboards.invite_another(access)
        assert button.text == texts.BUTTON_INVITE_ANOTHER
        assert button.data == f"1:inv:another:{access}"


def test_the_settings_hub_offers_what_applies_to_each_role() -> None:
    assert keyboards.hub_options(False, False) == (HubVerb.TIMEZONE, HubVerb.PRIVACY)
    assert keyboards.hub_options(True, False) == (
        HubVerb.TIMEZONE,
        HubVerb.TIPS,
        HubVerb.CHECKIN,
        SettingsVerb.SHOW,
        HubVerb.PRIVACY,
    )
    assert keyboards.hub_options(False, True) == (
        HubVerb.TIMEZONE,
        HubVerb.QUIET,
        HubVerb.TIPS,
        HubVerb.PRIVACY,
    )
    assert set(keyboards.hub_options(True, True)) == {*HubVerb, SettingsVerb.SHOW}
    for role in ROLES:
        labels = [b.text for row in keyboards.settings_hub(*role) for b in row]
        assert len(labels) == len(keyboards.hub_options(*role))
