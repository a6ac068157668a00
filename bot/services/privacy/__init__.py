"""Data rights: a person's data as one JSON document (/export), and deleting it (/deletemydata).

What an export holds. Everyone: their profile and settings, and their memberships. A patient:
their whole circle (members, requests and who took them, medications and every dose, pain
scores, stages, check-ins, tips shown, invites, settings). A helper: only what they did
themselves — requests they took, doses they marked given or said they would check on, thanks
received — never the patient's medication list, pain scores, stages or other requests; and the
name and dose of a medication only while they are still close family in that circle (an
errand helper, or one who left or was removed, gets those doses by time only).

What deleting does, in one transaction. A patient: the circle and every row in it go (found
from the tables' metadata, so a table added later is not forgotten), with the outbox rows of
the circle, so nothing about it is sent afterwards; each helper is told first, and any helper
half-way through a flow about the circle (/addmed for the patient) loses that draft. A helper:
they leave every circle exactly as /leave does (the patient is told, what they held goes out
again), then their own rows go (user, memberships, offers, tip opt-ins, messages to them).
Messages to others that name them or carry their id forget them (bot.services.retention); one
still waiting, like the patient's "Anna has left your circle", goes out as written and only
its stored copy forgets. What they did stays in the patient's history without saying who:
foreign keys are set to NULL (`needs.owner_id`, `invites.used_by`, `medications.created_by`),
and `recorded_by` / `lookin_user_id` become `FORMER_HELPER_ID` (a dose given by "a former
helper" is still not a dose the patient took); ids kept only to steer the clock
(`needs.released_by`, `dose_occurrences.checker_id`) are cleared. The patient's goodbye to
each helper names them; its stored copy does not, once sent.
"""

from __future__ import annotations

from bot.services.privacy.deletion import Deleted, DeletionPreview, _Deletion, circle_rows
from bot.services.privacy.export import EXPORT_FORMAT, MAX_EXPORT_BYTES, ExportFile, _Export

__all__ = [
    "EXPORT_FORMAT",
    "MAX_EXPORT_BYTES",
    "Deleted",
    "DeletionPreview",
    "ExportFile",
    "PrivacyService",
    "circle_rows",
]


class PrivacyService(_Export, _Deletion):
    """Use cases for a person's own data: export it, delete it."""
