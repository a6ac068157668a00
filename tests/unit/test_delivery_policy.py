"""The sender's rules after a failed send: retry, give up, drop, pause (bot.delivery.policy)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.delivery.policy import (
    OUTAGE_AFTER_FAILURES,
    Action,
    DeliveryPolicy,
    Failure,
    classify,
    in_outage,
    relevant,
)
from bot.notify import LATE, RELEVANT_UNTIL, message_at, relevant_until

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
POLICY = DeliveryPolicy(max_attempts=10, max_backoff_seconds=30, max_outage_pause_seconds=15)


def test_errors_are_classified_as_telegram_means_them() -> None:
    assert classify(RetryAfter(3)) is Failure.RETRY_AFTER
    assert classify(Forbidden("Forbidden: bot was blocked by the user")) is Failure.FORBIDDEN
    assert classify(BadRequest("Bad Request: message is not modified")) is Failure.NOT_MODIFIED
    assert classify(BadRequest("Bad Request: message is too long")) is Failure.BAD_REQUEST
    assert classify(NetworkError("Bad Gateway")) is Failure.NETWORK
    assert classify(TimedOut()) is Failure.NETWORK
    assert classify(KeyError("text")) is Failure.INTERNAL


def test_three_network_errors_in_a_row_are_an_outage() -> None:
    assert not in_outage(OUTAGE_AFTER_FAILURES - 1)
    assert in_outage(OUTAGE_AFTER_FAILURES)


def test_a_passing_network_error_backs_off_and_counts() -> None:
    first = POLICY.decide(Failure.NETWORK, attempts=1, network_failures=1, now=NOW)
    assert first.action is Action.RETRY and first.use_attempt and first.pause_all == 0
    assert first.retry_in == 1
    fifth = POLICY.decide(Failure.NETWORK, attempts=5, network_failures=1, now=NOW, jitter=0.5)
    assert fifth.retry_in == 8


def test_out_of_attempts_without_an_end_of_relevance_it_gives_up() -> None:
    decision = POLICY.decide(Failure.NETWORK, attempts=10, network_failures=1, now=NOW)
    assert decision.action is Action.GIVE_UP


def test_a_message_that_still_matters_is_not_given_up_on_a_count() -> None:
    until = NOW + dt.timedelta(minutes=30)
    decision = POLICY.decide(
        Failure.NETWORK, attempts=50, network_failures=1, now=NOW, relevant_until=until
    )
    assert decision.action is Action.RETRY and decision.retry_in == 30


def test_past_its_relevance_a_message_is_dropped_not_failed() -> None:
    for failure in (Failure.NETWORK, Failure.INTERNAL):
        decision = POLICY.decide(
            failure, attempts=1, network_failures=1, now=NOW, relevant_until=NOW
        )
        assert decision.action is Action.DROP


def test_in_an_outage_a_try_uses_up_nothing_and_probes_slow_down() -> None:
    pauses = []
    for failures in range(OUTAGE_AFTER_FAILURES, OUTAGE_AFTER_FAILURES + 8):
        decision = POLICY.decide(Failure.NETWORK, attempts=10, network_failures=failures, now=NOW)
        assert decision.action is Action.RETRY and not decision.use_attempt
        assert decision.pause_all == decision.retry_in
        pauses.append(decision.pause_all)
    assert pauses == [1, 2, 4, 8, 15, 15, 15, 15]


def test_an_internal_error_is_never_taken_for_an_outage() -> None:
    decision = POLICY.decide(Failure.INTERNAL, attempts=2, network_failures=9, now=NOW)
    assert decision.action is Action.RETRY and decision.use_attempt and decision.pause_all == 0


def test_429_waits_as_told_for_everyone_and_costs_nothing() -> None:
    decision = POLICY.decide(
        Failure.RETRY_AFTER, attempts=10, network_failures=0, now=NOW, retry_after=7
    )
    assert decision.action is Action.RETRY and not decision.use_attempt
    assert decision.retry_in == 7 and decision.pause_all == 7


def test_403_and_400_give_up_at_once_and_not_modified_is_done() -> None:
    for failure in (Failure.FORBIDDEN, Failure.BAD_REQUEST):
        assert POLICY.decide(failure, attempts=1, network_failures=0, now=NOW).action is (
            Action.GIVE_UP
        )
    decision = POLICY.decide(Failure.NOT_MODIFIED, attempts=1, network_failures=0, now=NOW)
    assert decision.action is Action.DONE


def test_one_probe_at_a_time_while_down() -> None:
    assert POLICY.claim_limit(0, 10) == 10
    assert POLICY.claim_limit(OUTAGE_AFTER_FAILURES, 10) == 1


@given(
    attempts=st.integers(min_value=1, max_value=10_000),
    failures=st.integers(min_value=1, max_value=10_000),
    minutes_left=st.one_of(st.none(), st.integers(min_value=-600, max_value=600)),
    jitter=st.floats(min_value=0.5, max_value=1.0),
)
def test_a_network_error_gives_up_only_on_a_count_outside_an_outage(
    attempts: int, failures: int, minutes_left: int | None, jitter: float
) -> None:
    until = None if minutes_left is None else NOW + dt.timedelta(minutes=minutes_left)
    decision = POLICY.decide(
        Failure.NETWORK,
        attempts=attempts,
        network_failures=failures,
        now=NOW,
        relevant_until=until,
        jitter=jitter,
    )
    if until is not None and until <= NOW:
        assert decision.action is Action.DROP
    elif decision.action is Action.GIVE_UP:
        assert until is None and not in_outage(failures) and attempts >= POLICY.max_attempts
    else:
        assert decision.action is Action.RETRY
        assert 0 < decision.retry_in <= max(POLICY.max_backoff_seconds, 15)
        assert decision.use_attempt is not in_outage(failures)


def test_relevance_and_the_late_note_come_from_the_payload() -> None:
    payload = {
        "text": "💊 Time for <b>Medicine A</b> 1 tablet",
        RELEVANT_UNTIL: (NOW + dt.timedelta(minutes=45)).isoformat(),
        LATE: {"after": (NOW + dt.timedelta(minutes=1)).isoformat(), "note": "\n<i>late</i>"},
    }
    assert relevant_until(payload) == NOW + dt.timedelta(minutes=45)
    assert relevant(relevant_until(payload), NOW + dt.timedelta(minutes=44))
    assert not relevant(relevant_until(payload), NOW + dt.timedelta(minutes=45))
    assert message_at(payload, NOW + dt.timedelta(minutes=1)).text == payload["text"]
    late = message_at(payload, NOW + dt.timedelta(minutes=1, seconds=1))
    assert late.text == payload["text"] + "\n<i>late</i>"
    assert relevant_until({"text": "a tip"}) is None
    assert message_at({"text": "a tip"}, NOW).text == "a tip"
