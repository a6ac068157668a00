"""Domain errors: a rule said no. Handlers turn each into a short, kind reply."""

from __future__ import annotations

import datetime as dt


class DomainError(Exception):
    """Base for refusals; `code` picks the user-facing text in bot.texts."""

    code = "error"


class NotRegistered(DomainError):
    """The person is in no care circle yet."""

    code = "not_registered"


class NotPatient(DomainError):
    """Only the person recovering may do this."""

    code = "not_patient"


class NotHelper(DomainError):
    """Only a helper may do this."""

    code = "not_helper"


class NotInCircle(DomainError):
    """The person is not (or no longer) an active member of that circle."""

    code = "not_in_circle"


class StaleAction(DomainError):
    """A button or request that no longer applies (or never existed)."""

    code = "stale"


class FlowMoved(DomainError):
    """An answer to a question another answer (another replica, a resent update) already
    moved past: the person is shown where things stand instead."""

    code = "flow_moved"


class UnknownTimezone(DomainError):
    """Not a time zone we take; `reason` is a bot.domain.timezones.Refusal, or "location"
    when a shared place has no zone we know."""

    code = "unknown_timezone"

    def __init__(self, text: str, reason: str = "unknown") -> None:
        super().__init__(text)
        self.reason = reason


class InviteError(DomainError):
    """An invite code that cannot be used; `reason` says why."""

    code = "invite"

    def __init__(self, reason: str, patient_name: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.patient_name = patient_name


class TooManyAttempts(DomainError):
    """Too many wrong invite codes in a short time; try again later."""

    code = "too_many_attempts"

    def __init__(self, minutes: int) -> None:
        super().__init__(minutes)
        self.minutes = minutes


# --- recovery ----------------------------------------------------------------------------


class NotAPainScore(DomainError):
    """A pain score must be a whole number from 0 to 10."""

    code = "bad_pain"


class UnknownStage(DomainError):
    """Not a recovery stage we know."""

    code = "unknown_stage"


class BadTime(DomainError):
    """Not a time of day we can read (or not an option of that command)."""

    code = "bad_time"


# --- needs ---


class NoHelpers(DomainError):
    """The patient has no helpers yet: nobody to ask."""

    code = "no_helpers"


class EmptyNeed(DomainError):
    """Nothing to act on was typed (blank, only punctuation)."""

    code = "need_empty"


class BadDeadline(DomainError):
    """No single clear time could be read from what was typed."""

    code = "need_bad_time"


class NeedClosed(DomainError):
    """The need was cancelled or has expired."""

    code = "need_closed"


class NeedTaken(DomainError):
    """Someone else took (or already did) this need; `name` says who."""

    code = "need_taken"

    def __init__(self, name: str, done: bool = False) -> None:
        super().__init__(name)
        self.name = name
        self.done = done


class NoTimezone(DomainError):
    """Wall-clock times need the person's time zone first."""

    code = "no_timezone"


class BadQuietHours(DomainError):
    """Not a time range like 22:00-07:00."""

    code = "bad_quiet"


class BadAway(DomainError):
    """Not a number of days we accept."""

    code = "bad_away"


# --- meds ---


class MedInputError(DomainError):
    """Something typed for a medication could not be used; `reason` says what, `detail` where."""

    code = "med_input"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class DuplicateMedication(DomainError):
    """The circle already has an active medication with this name."""

    code = "med_duplicate"

    def __init__(self, name: str) -> None:
        super().__init__("duplicate")
        self.name = name


class UnknownMedication(DomainError):
    """No active medication matches the name typed; `names` are the ones there are."""

    code = "med_unknown"

    def __init__(self, typed: str, names: tuple[str, ...]) -> None:
        super().__init__("unknown")
        self.typed = typed
        self.names = names


class MedicationGone(DomainError):
    """The medication was deleted: its old reminders and buttons no longer apply."""

    code = "med_gone"


class MedsNotAllowed(DomainError):
    """A helper tried to add or change medications without the patient's permission."""

    code = "meds_not_allowed"


class GiveNotAllowed(DomainError):
    """A helper tried to mark a dose as given without the patient's permission."""

    code = "give_not_allowed"


class MedsPrivate(DomainError):
    """Errand helpers see needs only, never medication details."""

    code = "meds_private"


class NeedTimezone(DomainError):
    """Schedules need the patient's time zone first."""

    code = "need_timezone"


class DoseAlreadyRecorded(DomainError):
    """A dose can be confirmed once; says who recorded it, how, and when (an instant)."""

    code = "dose_recorded"

    def __init__(
        self,
        state: str,
        by_name: str | None,
        *,
        by_self: bool,
        by_patient: bool,
        at: dt.datetime | None,
        zone: str,
    ) -> None:
        super().__init__(state)
        self.state = state
        self.by_name = by_name
        self.by_self = by_self
        self.by_patient = by_patient
        self.at = at
        self.zone = zone


class DoseNotOpen(DomainError):
    """Snoozing is only for a reminder still waiting for an answer."""

    code = "dose_not_open"


class RefillUnavailable(DomainError):
    """Posting a pharmacy request is not possible in this installation."""

    code = "refill_unavailable"


# --- privacy ---


class ExportTooLarge(DomainError):
    """The export would not fit in one file Telegram lets a bot send."""

    code = "export_too_large"
