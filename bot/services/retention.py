"""What the outbox keeps: stored messages forget someone who deleted their data, and old
messages are pruned after OUTBOX_RETENTION_DAYS.

Forgetting. Rows addressed to the person go with them (bot.services.privacy). In every other
row that names them or carries their id: a key or ref_key segment that is their id is
replaced (an edit's ref_key follows its message's new key, so edits still find it); a message
already sent, failed, withdrawn or in flight is redacted at once (their name becomes the
stand-in, buttons that carry their id go); a message still waiting goes out as it was written
— the patient is told *who* left — and carries the redacted copy that replaces it the moment
it is sent, fails or is withdrawn (`bot.notify.KEEP_AFTER_SEND`).

Pruning. Once a day (and a few minutes after each start) rows that are settled (sent, failed,
withdrawn) and were sent — or, never sent, queued — more than the retention ago are deleted;
except a sent message that an edit may still need: one about a dose that can still be
answered (a missed dose taken late edits its reminder and the family's alerts), a request
still open or taken, or one an edit waiting to go out refers to. Those keep their Telegram
message id and key, but lose their words. A key freed by pruning is never queued
again: every key names a one-time event (an id with a round, version, date or stamp).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DoseOccurrence, Need, OutboxMessage, OutboxState
from bot.db.session import Database
from bot.db.statements import rowcount
from bot.domain.doses import ANSWERABLE
from bot.domain.needs import FINISHED
from bot.domain.privacy import Forgotten
from bot.events import log_event
from bot.notify import KEEP_AFTER_SEND, settled_payload

log = logging.getLogger(__name__)

# What a pruned message that may still be edited keeps of its words.
EMPTIED: dict[str, Any] = {"text": ""}
PRUNE_BATCH = 500
_SETTLED = (OutboxState.SENT, OutboxState.FAILED, OutboxState.CANCELLED)


@dataclass(frozen=True)
class Pruned:
    """One pruning run: rows deleted, and rows kept for a later edit whose words were cleared."""

    deleted: int
    emptied: int


# --- forgetting ------------------------------------------------------------------------------


async def forget_in_outbox(
    session: AsyncSession, person: Forgotten, where: ColumnElement[bool]
) -> int:
    """In the caller's transaction, make the rows matching `where` (and not addressed to the
    person) forget them; returns how many rows changed."""
    rows = (
        await session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.key,
                OutboxMessage.ref_key,
                OutboxMessage.state,
                OutboxMessage.payload,
            ).where(where, OutboxMessage.chat_id != person.user_id)
        )
    ).all()
    # A row's own id stands in for theirs: the key stays unique, and says nothing.
    new_keys = {
        row.key: person.scrub_key(row.key, f"former{row.id}")
        for row in rows
        if person.carries_id(row.key)
    }
    changed = 0
    for row in rows:
        values: dict[str, Any] = {}
        if row.key in new_keys:
            values["key"] = new_keys[row.key]
        if person.carries_id(row.ref_key):
            values["ref_key"] = new_keys.get(row.ref_key) or person.scrub_key(row.ref_key, "former")
        # A waiting message is delivered as written; its copy to keep is what must not name them.
        base = settled_payload(row.payload) or _live(row.payload)
        redacted = person.redact_payload(base)
        waiting = row.state == OutboxState.PENDING
        names_them = redacted != (base if waiting else row.payload)
        if not values and not names_them:
            continue
        changed += 1
        if names_them and waiting:
            still_waiting = update(OutboxMessage).where(
                OutboxMessage.id == row.id, OutboxMessage.state == OutboxState.PENDING
            )
            live = {**row.payload, KEEP_AFTER_SEND: redacted}
            result = await session.execute(still_waiting.values(**values, payload=live))
            if rowcount(result) == 1:
                continue
            # Claimed meanwhile (another replica): the sender has its words already.
        if names_them:
            values["payload"] = redacted
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
        )
    return changed


def _live(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key != KEEP_AFTER_SEND}


# --- pruning ---------------------------------------------------------------------------------


async def prune_outbox(db: Database, now: dt.datetime, retention: dt.timedelta) -> Pruned:
    """Delete what was settled before `now - retention` (see the module's docstring).

    Idempotent and cheap: a few short transactions of at most PRUNE_BATCH rows each, in id
    order, so the sender and the scheduler are never held up for long.
    """
    cutoff = now - retention
    old = or_(
        OutboxMessage.sent_at < cutoff,
        (OutboxMessage.sent_at.is_(None)) & (OutboxMessage.created_at < cutoff),
    )
    deleted = emptied = 0
    after = 0
    while True:
        async with db.transaction() as session:
            batch = (
                await session.execute(
                    select(
                        OutboxMessage.id,
                        OutboxMessage.key,
                        OutboxMessage.op,
                        OutboxMessage.state,
                        OutboxMessage.payload,
                    )
                    .where(OutboxMessage.state.in_(_SETTLED), old, OutboxMessage.id > after)
                    .order_by(OutboxMessage.id)
                    .limit(PRUNE_BATCH)
                )
            ).all()
            if not batch:
                break
            after = batch[-1].id
            editable = await _still_editable(session, [row.key for row in batch])
            being_edited = await _being_edited(session, [row.key for row in batch])
            keep = [
                row
                for row in batch
                if row.op == "send"
                and row.state == OutboxState.SENT
                and (
                    row.key in being_edited
                    or ((about := _about(row.key)) is not None and about in editable)
                )
            ]
            kept_ids = {row.id for row in keep}
            gone = [row.id for row in batch if row.id not in kept_ids]
            words = [row.id for row in keep if row.payload != EMPTIED]
            if gone:
                await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(gone)))
            if words:
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(words)).values(payload=EMPTIED)
                )
            deleted, emptied = deleted + len(gone), emptied + len(words)
        if len(batch) < PRUNE_BATCH:
            break
    log_event(log, "outbox.pruned", deleted=deleted, emptied=emptied)
    return Pruned(deleted, emptied)


async def _being_edited(session: AsyncSession, keys: list[str]) -> set[str]:
    """Of these keys, those an edit still waiting to go out refers to."""
    refs = await session.scalars(
        select(OutboxMessage.ref_key).where(
            OutboxMessage.ref_key.in_(keys),
            OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
        )
    )
    return {ref for ref in refs if ref is not None}


def _about(key: str) -> tuple[str, int] | None:
    """What a key is about, when that thing may still change: ("dose", 7) for "dose:7:…"."""
    kind, _, rest = key.partition(":")
    number = rest.partition(":")[0]
    return (kind, int(number)) if kind in ("dose", "need") and number.isdigit() else None


async def _still_editable(session: AsyncSession, keys: list[str]) -> set[tuple[str, int]]:
    """Of the doses and requests these keys are about, those that may still change."""
    about = [a for a in map(_about, keys) if a is not None]
    doses = [number for kind, number in about if kind == "dose"]
    needs = [number for kind, number in about if kind == "need"]
    found: set[tuple[str, int]] = set()
    if doses:
        answerable = await session.scalars(
            select(DoseOccurrence.id).where(
                DoseOccurrence.id.in_(doses),
                DoseOccurrence.state.in_([s.value for s in ANSWERABLE]),
            )
        )
        found |= {("dose", number) for number in answerable}
    if needs:
        going = await session.scalars(
            select(Need.id).where(
                Need.id.in_(needs), Need.state.not_in([s.value for s in FINISHED])
            )
        )
        found |= {("need", number) for number in going}
    return found
