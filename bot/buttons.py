"""Button names: one StrEnum of verbs per namespace, written by keyboards and read by handlers.

The values are what buttons already on people's phones carry (``1:dose:take:42``): renaming
a member is fine, changing a value breaks every such button.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias

from bot.callbacks import encode


class Ns(StrEnum):
    """The part of the bot a button belongs to (one handler each, see bot.handlers)."""

    START = "start"
    TIMEZONE = "tz"
    INVITE = "inv"
    CIRCLE = "circle"
    SETTINGS = "set"
    STAGE = "stage"
    TIP = "tip"
    PAIN = "pain"
    LOOK = "look"
    NEED = "need"
    QUIET = "q"
    MED = "med"
    DOSE = "dose"
    DATA = "data"
    HUB = "hub"


class StartVerb(StrEnum):
    """The first question: who are you here as?"""

    PATIENT = "patient"
    HELPER = "helper"


class TimezoneVerb(StrEnum):
    SET = "set"  # a common zone, named in the argument
    TYPE = "type"  # "Another one": type it or share a location


class InviteVerb(StrEnum):
    NEW = "new"  # replace the link of this kind
    SHOW = "show"  # show the link of the other kind
    ANOTHER = "another"  # "Invite someone else" after a join: a link of this kind, anew


class CircleVerb(StrEnum):
    """The patient's /circle buttons and a helper's "Leave"; CLOSE and ERRAND set a helper's
    access to that kind (the values are `bot.db.models.Access`'s)."""

    REMOVE = "rm"
    REMOVE_YES = "rmyes"
    KEEP = "keep"
    CLOSE = "close"
    ERRAND = "errand"
    LEAVE = "leave"
    LEAVE_YES = "leaveyes"


class SettingsVerb(StrEnum):
    SHOW = "show"
    TOGGLE = "tog"
    DONE = "done"


class StageVerb(StrEnum):
    FIRST = "first"  # onboarding's question (the answer sends the invite link)
    SET = "set"  # /stage
    GO = "go"  # "Yes, switch" on a suggestion
    NO = "no"  # "Not now" on a suggestion


class TipVerb(StrEnum):
    MORE = "more"
    HELPER_MORE = "hmore"
    ON = "on"
    OFF = "off"
    HELPER_ON = "hon"
    HELPER_OFF = "hoff"


class PainVerb(StrEnum):
    CHECKIN = "ci"  # a 0–10 tap answering the daily check-in
    NOW = "now"  # a 0–10 tap after /pain
    TELL = "tell"  # "Let my helpers know"
    ON = "on"  # daily check-ins on
    OFF = "off"


class LookVerb(StrEnum):
    """ "I'll check on them" on a look-in request. Errand helpers get these, so the data
    says only "c" or "d", never what it is about."""

    CHECKIN = "c"
    DOSE = "d"


class NeedVerb(StrEnum):
    CATEGORY = "cat"
    OTHER = "other"
    CLAIM = "claim"
    DECLINE = "no"
    DONE = "done"
    RELEASE = "rel"
    CANCEL = "cx"
    CANCEL_YES = "cxy"
    KEEP = "keep"
    THANK = "thx"
    AGAIN = "again"
    URGENT = "urg"
    NOTE = "note"
    WHEN = "when"
    WHEN_PRESET = "wh"
    WHEN_TYPE = "whtype"
    MEDIA_SEND = "msend"
    MEDIA_DROP = "mdrop"


# A need button's second argument when it sits on /needs or /mytasks: the answer redraws
# the list instead of the message about one need.
FROM_LIST = "l"


class QuietVerb(StrEnum):
    SET = "set"
    OFF = "off"
    AWAY = "away"


class MedVerb(StrEnum):
    """Managing medications: adding, the list, one medication's buttons, refills."""

    ADD = "add"
    FOR = "for"  # whose medication, for a helper in several circles
    SKIP = "skip"
    AS_NEEDED = "asneeded"
    SAVE = "save"
    CANCEL = "cancel"
    KEEP = "keep"
    SHOW = "show"
    LIST = "list"
    PAUSE = "pause"
    RESUME = "resume"
    ALERT = "alert"
    ALERT_SET = "alertset"
    EDIT = "edit"
    NO_LIMIT = "nolimit"
    SAME = "same"
    DELETE = "del"
    DELETE_YES = "delyes"
    REFILL = "refill"
    NO_REFILL = "norefill"


class DoseVerb(StrEnum):
    """A dose's buttons: the reminder's, the label warning's, and the family's."""

    TAKE = "take"
    OK = "ok"  # "Log it anyway" on a scheduled dose
    BACK = "back"  # "Not now" on that warning: the reminder again
    SNOOZE = "snz"
    SKIP = "skip"
    AT = "at"  # "I took it at another time"
    GIVE = "give"
    GIVE_OK = "giveok"
    CHECK = "chk"
    LOG = "log"  # an as-needed or extra dose
    LOG_OK = "xok"
    ASK = "ask"  # "Can I take one now?"
    NO = "no"  # "Not now" on a warning about an extra dose or a given one
    # A line of a grouped reminder: the same answers, and the whole message redrawn after.
    G_TAKE = "gtake"
    G_SKIP = "gskip"
    G_LATER = "glater"  # that line's snooze choices and "I took it at…"
    G_SNOOZE = "gsnz"
    G_BACK = "gback"  # back from those choices to the group (names the group's lead dose)
    ALL = "all"  # "Took all" (names the group's lead dose)


class DataVerb(StrEnum):
    YES = "yes"
    NO = "no"


class HubVerb(StrEnum):
    """The /settings hub: each button opens what its command shows."""

    TIMEZONE = "tz"
    QUIET = "quiet"
    TIPS = "tips"
    CHECKIN = "checkin"
    PRIVACY = "privacy"


# Each namespace's verbs, for tests and for anything that must know them all.
VERBS: dict[Ns, type[StrEnum]] = {
    Ns.START: StartVerb,
    Ns.TIMEZONE: TimezoneVerb,
    Ns.INVITE: InviteVerb,
    Ns.CIRCLE: CircleVerb,
    Ns.SETTINGS: SettingsVerb,
    Ns.STAGE: StageVerb,
    Ns.TIP: TipVerb,
    Ns.PAIN: PainVerb,
    Ns.LOOK: LookVerb,
    Ns.NEED: NeedVerb,
    Ns.QUIET: QuietVerb,
    Ns.MED: MedVerb,
    Ns.DOSE: DoseVerb,
    Ns.DATA: DataVerb,
    Ns.HUB: HubVerb,
}

Verb: TypeAlias = (
    StartVerb
    | TimezoneVerb
    | InviteVerb
    | CircleVerb
    | SettingsVerb
    | StageVerb
    | TipVerb
    | PainVerb
    | LookVerb
    | NeedVerb
    | QuietVerb
    | MedVerb
    | DoseVerb
    | DataVerb
    | HubVerb
)
_NAMESPACE: dict[type[StrEnum], Ns] = {verbs: ns for ns, verbs in VERBS.items()}


def tap(verb: Verb, *args: object) -> str:
    """What a button sends when tapped: its verb, in the verb's namespace, and the things
    it names (``tap(DoseVerb.TAKE, 42)`` is ``1:dose:take:42``)."""
    return encode(_NAMESPACE[type(verb)], verb, *args)
