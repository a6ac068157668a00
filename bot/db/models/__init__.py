"""The tables: people, care circles, invites, the outbox, recovery, needs and medication.

One module per area; every model and enum is importable from here, and importing any of
them registers every table on `Base.metadata` (Alembic and the tests rely on that).
"""

from __future__ import annotations

from bot.db.models.core import (
    FORMER_HELPER_ID,
    NAMING,
    Access,
    Base,
    Circle,
    Invite,
    InviteStatus,
    Membership,
    MemberStatus,
    OutboxMessage,
    OutboxState,
    Replica,
    Role,
    User,
)
from bot.db.models.meds import DoseOccurrence, Medication
from bot.db.models.needs import Need, NeedOffer
from bot.db.models.recovery import (
    CheckinState,
    DailyCheckin,
    HelperTipOptIn,
    PainReport,
    RecoveryPlan,
    StageChange,
    TipShown,
)

__all__ = [
    "FORMER_HELPER_ID",
    "NAMING",
    "Access",
    "Base",
    "CheckinState",
    "Circle",
    "DailyCheckin",
    "DoseOccurrence",
    "HelperTipOptIn",
    "Invite",
    "InviteStatus",
    "Medication",
    "MemberStatus",
    "Membership",
    "Need",
    "NeedOffer",
    "OutboxMessage",
    "OutboxState",
    "PainReport",
    "RecoveryPlan",
    "Replica",
    "Role",
    "StageChange",
    "TipShown",
    "User",
]
