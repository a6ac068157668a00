"""What the outbox sender does after a failed send: retry, give up, drop or pause everyone.

Pure rules, no I/O (invariant 11: give up on relevance, not on a count). A message that
says until when it matters is tried until then and dropped unsent after it; one that does not
say gets `max_attempts` tries at a Telegram that answers others. While every send is failing
(an outage), a try uses up nobody's chances: one message at a time probes, ever less often,
and the first success lets everything go.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

# Network errors in a row that we take for an outage rather than a passing fault.
OUTAGE_AFTER_FAILURES = 3
NOT_MODIFIED = "message is not modified"


class Failure(StrEnum):
    """What went wrong, as far as the rules care."""

    RETRY_AFTER = "retry_after"  # 429: Telegram says when
    FORBIDDEN = "forbidden"  # 403: blocked, deactivated, never pressed Start
    NOT_MODIFIED = "not_modified"  # 400 to an edit that would change nothing: done already
    BAD_REQUEST = "bad_request"  # any other 400: this message can never go
    NETWORK = "network"  # 5xx, a timeout, no answer at all
    INTERNAL = "internal"  # our own failure (a bug, an error we do not know)


class Action(StrEnum):
    DONE = "done"  # counts as sent
    RETRY = "retry"
    GIVE_UP = "give_up"  # failed for good: logged and counted
    DROP = "drop"  # no longer worth sending: withdrawn unsent


@dataclass(frozen=True)
class Decision:
    action: Action
    # Seconds until this message may be tried again.
    retry_in: float = 0.0
    # False: this try does not count against the message's attempts.
    use_attempt: bool = True
    # Seconds nobody in this process sends (a 429, or the gap between outage probes).
    pause_all: float = 0.0


def classify(error: Exception) -> Failure:
    """The kind of failure an exception from a send (or from our own code) stands for."""
    if isinstance(error, RetryAfter):
        return Failure.RETRY_AFTER
    if isinstance(error, Forbidden):
        return Failure.FORBIDDEN
    if isinstance(error, BadRequest):  # before NetworkError: BadRequest is one
        if NOT_MODIFIED in error.message.lower():
            return Failure.NOT_MODIFIED
        return Failure.BAD_REQUEST
    if isinstance(error, NetworkError):  # TimedOut included
        return Failure.NETWORK
    return Failure.INTERNAL


def in_outage(network_failures: int) -> bool:
    """Network errors in a row, with no success between: the Bot API is down."""
    return network_failures >= OUTAGE_AFTER_FAILURES


def relevant(relevant_until: dt.datetime | None, now: dt.datetime) -> bool:
    """Is a message that matters until `relevant_until` (None: no end) still worth sending?"""
    return relevant_until is None or now < relevant_until


@dataclass(frozen=True)
class DeliveryPolicy:
    """The sender's rules, tuned from Settings."""

    max_attempts: int = 10
    max_backoff_seconds: float = 30.0
    # While the Bot API is down, probes go at most this far apart.
    max_outage_pause_seconds: float = 15.0

    def decide(
        self,
        failure: Failure,
        *,
        attempts: int,
        network_failures: int,
        now: dt.datetime,
        relevant_until: dt.datetime | None = None,
        retry_after: float = 0.0,
        jitter: float = 1.0,
    ) -> Decision:
        """What to do with a message whose send just failed.

        `attempts` counts this try; `network_failures` is the run of network errors in a
        row, this one included; `jitter` (0.5–1) spreads retries that failed together.
        """
        if failure is Failure.NOT_MODIFIED:
            return Decision(Action.DONE)
        if failure in (Failure.FORBIDDEN, Failure.BAD_REQUEST):
            return Decision(Action.GIVE_UP)
        if failure is Failure.RETRY_AFTER:
            return Decision(
                Action.RETRY, retry_in=retry_after, use_attempt=False, pause_all=retry_after
            )
        if not relevant(relevant_until, now):
            return Decision(Action.DROP)
        if failure is Failure.NETWORK and in_outage(network_failures):
            # Probe again ever less often; every waiting message goes once one gets through.
            exponent = min(network_failures - OUTAGE_AFTER_FAILURES, 30)  # hours down: no overflow
            pause = min(self.max_outage_pause_seconds, 2.0**exponent) * jitter
            return Decision(Action.RETRY, retry_in=pause, use_attempt=False, pause_all=pause)
        # A fault that singled this message out while Telegram answers others.
        if attempts >= self.max_attempts and relevant_until is None:
            return Decision(Action.GIVE_UP)
        backoff = min(self.max_backoff_seconds, 2.0 ** min(attempts - 1, 30))
        return Decision(Action.RETRY, retry_in=backoff * jitter)

    def claim_limit(self, network_failures: int, claim_ahead: int) -> int:
        """Messages to claim at once: one probe at a time while the Bot API is down."""
        return 1 if in_outage(network_failures) else claim_ahead
