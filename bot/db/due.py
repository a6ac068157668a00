"""The one loop over due rows: take a batch, handle each row once, skip a poison row, report.

Every area with time-driven work (need steps, medication slots and doses, daily tips and
check-ins) keeps its due work in rows with a due instant. A sweep drains them with `drain`:
each row is handled in its own transaction by the area's `handle`, which re-checks the row
(another replica may have taken it). A row whose handling raises is logged, skipped for the
rest of this run and tried again on the next sweep, so one bad row never holds up the others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Select

from bot.db.session import Database

log = logging.getLogger(__name__)

# A run stops after this many batches even if rows keep falling due; the next sweep goes on.
MAX_ROUNDS = 1000


async def drain(
    db: Database,
    due: Callable[[set[Any]], Select[Any]],
    handle: Callable[[Any], Awaitable[bool | int]],
    *,
    batch: int,
    area: str,
    key: Callable[[Any], Any] = lambda row: row,
    together: Callable[[list[Any]], Awaitable[int]] | None = None,
    chunk: int | Callable[[], int] = 1,
    pause: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Handle everything `due` selects, a batch at a time; returns how many were handled.

    `due(skip)` builds the query for the next batch (soonest first), leaving out the keys in
    `skip`: rows that failed in this run, and rows handled in this run that are still due.
    Each row is passed to `handle` at most once per run; `key(row)` names it for skipping and
    for the log line. With `together`, up to `chunk` rows at a time are handled by it in one
    go first; should that fail, each of them by `handle` on its own. `chunk` may be asked
    afresh before each of those, and `pause` is awaited then (bot.foreground: a gap between
    people's updates).
    """
    handled = 0
    seen: set[Any] = set()
    skip: set[Any] = set()  # failed in this run, or handled and still due: not asked again
    for _ in range(MAX_ROUNDS):
        # A read (no writer's turn): `handle` re-checks each row in its own transaction.
        async with db.reading() as session:
            rows = [_row(r) for r in (await session.execute(due(skip).limit(batch))).all()]
        again = {key(row) for row in rows} & seen
        skip |= again
        fresh = [row for row in rows if key(row) not in seen]
        seen.update(key(row) for row in fresh)
        start = 0
        while start < len(fresh):
            if pause is not None:
                await pause()
            size = max(1, chunk() if callable(chunk) else chunk)
            part, start = fresh[start : start + size], start + size
            if together is not None and len(part) > 1:
                try:
                    handled += await together(part)
                    continue
                except Exception as error:
                    # Each row is tried alone next; one that fails again is logged in full.
                    log.warning(
                        "event=%s.due_together_failed rows=%d error=%s",
                        area,
                        len(part),
                        type(error).__name__,
                    )
            for row in part:
                try:
                    handled += int(await handle(row))
                except Exception:
                    # Ids only: a row's contents may be health data.
                    log.exception("event=%s.due_failed id=%s", area, key(row))
                    skip.add(key(row))
        if len(rows) < batch:
            break  # that was all; otherwise every round handles a new row or skips one more
    return handled


def _row(row: Any) -> Any:
    """A one-column row is its value; a wider one a tuple."""
    return row[0] if len(row) == 1 else tuple(row)
