"""The one loop over due rows (bot.db.due.drain): every row once, a poison row skipped."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.db.due import drain


@dataclass
class _Query:
    skip: set[int]
    limit_to: int = 0

    def limit(self, n: int) -> _Query:
        self.limit_to = n
        return self


@dataclass
class _Table:
    """Due rows by id; handled rows leave unless they 'stay due' (a row nobody can move)."""

    due: list[int]
    stay: set[int] = field(default_factory=set)
    queries: list[set[int]] = field(default_factory=list)

    async def execute(self, query: _Query) -> Any:
        self.queries.append(set(query.skip))
        rows = [(i,) for i in self.due if i not in query.skip][: query.limit_to]

        class _Result:
            def all(self) -> list[tuple[int]]:
                return rows

        return _Result()


class _Db:
    def __init__(self, table: _Table) -> None:
        self.table = table

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[_Table]:
        yield self.table


async def _run(table: _Table, poison: set[int], batch: int) -> tuple[int, list[int]]:
    calls: list[int] = []

    async def handle(row: int) -> bool:
        calls.append(row)
        if row in poison:
            raise RuntimeError("bad row")
        if row not in table.stay:
            table.due.remove(row)
        return True

    handled = await drain(
        _Db(table),  # type: ignore[arg-type]
        lambda skip: _Query(skip),  # type: ignore[arg-type,return-value]
        handle,
        batch=batch,
        area="test",
    )
    return handled, calls


async def test_a_poison_row_is_logged_skipped_and_the_rest_are_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = _Table(due=[1, 2, 3, 4, 5])
    with caplog.at_level(logging.ERROR):
        handled, calls = await _run(table, poison={2}, batch=2)
    assert handled == 4
    assert sorted(calls) == [1, 2, 3, 4, 5]
    assert table.due == [2]  # still due: the next sweep tries it again
    assert any(q == {2} for q in table.queries)  # later batches leave it out
    assert "event=test.due_failed id=2" in caplog.text


async def test_a_row_that_stays_due_is_handled_once_per_run() -> None:
    table = _Table(due=[1, 2, 3], stay={1, 2, 3})
    handled, calls = await _run(table, poison=set(), batch=3)
    assert calls == [1, 2, 3]
    assert handled == 3


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(st.integers(0, 60), unique=True, max_size=40),
    poison=st.sets(st.integers(0, 60)),
    stay=st.sets(st.integers(0, 60)),
    batch=st.integers(1, 7),
)
async def test_every_due_row_is_handled_exactly_once(
    ids: list[int], poison: set[int], stay: set[int], batch: int
) -> None:
    table = _Table(due=list(ids), stay=stay)
    handled, calls = await _run(table, poison, batch)
    assert sorted(calls) == sorted(ids)  # each due row once: none lost, none twice
    assert handled == len([i for i in ids if i not in poison])
