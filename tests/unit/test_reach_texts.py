"""The words of "someone always hears": what errand helpers read says nothing about why."""

from __future__ import annotations

import datetime as dt

from bot import texts
from bot.views.reach import AlertReach, LookIn

MONDAY = dt.date(2026, 3, 2)


def test_since_reads_yesterday_then_the_weekday_then_the_date() -> None:
    assert texts.since_day(MONDAY, MONDAY + dt.timedelta(days=1)) == "yesterday"
    assert texts.since_day(MONDAY, MONDAY + dt.timedelta(days=2)) == "Monday"
    assert texts.since_day(MONDAY, MONDAY + dt.timedelta(days=9)) == "Monday 2 March"


def test_what_errand_helpers_read_never_says_why() -> None:
    said = [
        texts.errand_lookin("Pat"),
        texts.someone_checking("Pat", "Erri"),
        texts.lookin_reply(LookIn("Pat", "Erri", True, False)),
        texts.lookin_reply(LookIn("Pat", "Anna", False, False)),
        texts.lookin_reply(LookIn("Pat", "", False, True)),
    ]
    for text in said:
        for word in ("dose", "medic", "pill", "tablet", "check-in", "pain", "missed"):
            assert word not in text.lower(), (word, text)


def test_who_would_be_told() -> None:
    assert "Anna and Ben would be told" in texts.alert_reach(AlertReach(("Anna", "Ben"), ()), True)
    nobody = texts.alert_reach(AlertReach((), ()), True)
    assert "nobody would be told — invite close family with /invite" in nobody
    assert "/invite" not in texts.alert_reach(AlertReach((), ()), False)  # helpers can't invite
    errand = texts.alert_reach(AlertReach((), ("Erri",)), True)
    assert "Erri would be asked to look in" in errand and "without medication details" in errand


def test_names_are_escaped() -> None:
    assert "&lt;b&gt;Pat" in texts.errand_lookin("<b>Pat")
    assert "&lt;i&gt;" in texts.someone_checking("Pat", "<i>Erri")
