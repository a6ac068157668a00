"""Logs carry ids and short codes only; anything that looks like a person's words is redacted."""

from __future__ import annotations

import logging

import pytest

from bot.events import log_event


def test_ids_pass_and_free_text_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.events")
    with caplog.at_level(logging.INFO, logger="test.events"):
        log_event(logger, "need.posted", need_id=5, kind="pharmacy", note="Ibuprofen 400 mg")
    assert caplog.messages == ["event=need.posted need_id=5 kind=pharmacy note=<redacted>"]
