"""The questions the bot can wait on: what a person's next typed message answers.

Stored in `users.awaiting` (see bot.db.flows). The values are in the database of every
running bot: renaming a member is fine, changing a value drops the questions open now.
"""

from __future__ import annotations

from enum import StrEnum


class Awaiting(StrEnum):
    TIMEZONE = "timezone"
    JOIN_CODE = "join_code"
    # --- needs ---
    NEED_DETAIL = "need_detail"  # the words for "Something else…"
    NEED_NOTE = "need_note"
    NEED_WHEN = "need_when"
    NEED_MEDIA = "need_media"  # words to go with a photo or voice note
    # --- recovery ---
    STAGE = "stage"  # onboarding: how is your back?
    # --- meds ---
    ADD_MED = "addmed"
    MED_EDIT = "med_edit"
    DOSE_TIME = "dose_time"  # "I took it at another time"
