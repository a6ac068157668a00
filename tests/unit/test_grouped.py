"""Group commit (bot.grouped): every caller gets its own item's outcome, whatever else fails.

Tried to break: any set of bad items among any number submitted at once, a bad first item
(written alone), a failure about the whole database rather than an item, and how many
tries it takes to find one bad item among many.
"""

from __future__ import annotations

import asyncio
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.grouped import Grouped


class Bad(Exception):
    """An item that cannot be handled."""


class Down(Exception):
    """The store itself is gone: says nothing about the items."""


class Store:
    def __init__(self, bad: set[int], down: bool = False) -> None:
        self.bad = bad
        self.down = down
        self.calls: list[list[int]] = []
        self.done: list[int] = []

    async def handle(self, batch: list[int]) -> None:
        self.calls.append(batch)
        await asyncio.sleep(0)
        if self.down:
            raise Down
        if self.bad.intersection(batch):
            raise Bad
        self.done.extend(batch)  # all or nothing, as a transaction


async def submit_all(grouped: Grouped[int], items: list[int]) -> list[BaseException | None]:
    results = await asyncio.gather(*(grouped.submit(i) for i in items), return_exceptions=True)
    return list(results)


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(1, 300),
    bad=st.sets(st.integers(0, 299), max_size=5),
)
def test_each_caller_gets_its_own_outcome(count: int, bad: set[int]) -> None:
    async def run() -> None:
        store = Store({i for i in bad if i < count})
        grouped = Grouped(store.handle, name="t", most=500)
        results = await submit_all(grouped, list(range(count)))
        for item, result in enumerate(results):
            assert isinstance(result, Bad) == (item in store.bad), item
            assert result is None or isinstance(result, Bad)
        assert sorted(store.done) == [i for i in range(count) if i not in store.bad]
        # Halving: each bad item costs about two tries per level, not one per good item.
        levels = math.ceil(math.log2(max(count, 2))) + 1
        assert len(store.calls) <= 2 + 2 * len(store.bad) * levels

    asyncio.run(run())


async def test_one_bad_item_among_many_is_found_in_a_few_tries() -> None:
    store = Store({137})
    grouped = Grouped(store.handle, name="t")
    results = await submit_all(grouped, list(range(500)))
    assert [i for i, r in enumerate(results) if r is not None] == [137]
    # The batch, then halves down to the one: far fewer tries than one per good item.
    assert len(store.calls) <= 2 + 2 * 9


async def test_a_failure_of_the_store_fails_the_batch_at_once() -> None:
    store = Store(set(), down=True)
    grouped = Grouped(store.handle, name="t", isolate=lambda error: not isinstance(error, Down))
    results = await submit_all(grouped, list(range(100)))
    assert all(isinstance(r, Down) for r in results)
    assert len(store.calls) <= 2  # one try per batch handed in: no retries in parts


async def test_without_isolate_the_same_failure_is_tried_in_parts() -> None:
    store = Store(set(), down=True)
    grouped = Grouped(store.handle, name="t")
    results = await submit_all(grouped, list(range(8)))
    assert all(isinstance(r, Down) for r in results)
    assert len(store.calls) > 2


# --- found by a hostile review: no caller may be left waiting for ever ------------------


async def _outcomes(grouped: Grouped[int], n: int) -> list[object]:
    tasks = [asyncio.create_task(grouped.submit(i)) for i in range(n)]
    _, pending = await asyncio.wait(tasks, timeout=1.0)
    for task in pending:
        task.cancel()
    return ["waiting" if t in pending else (t.exception() or "ok") for t in tasks]


async def test_an_isolate_that_fails_fails_the_batch_instead_of_hanging_it() -> None:
    async def handle(batch: list[int]) -> None:
        await asyncio.sleep(0)
        if 3 in batch:
            raise ValueError("bad item")

    def isolate(error: Exception) -> bool:
        raise KeyError("a bug in the predicate")

    outcomes = await _outcomes(Grouped(handle, name="t", isolate=isolate), 6)
    assert "waiting" not in outcomes, outcomes
    assert any(isinstance(o, KeyError) for o in outcomes)


async def test_a_batch_cancelled_inside_handle_cancels_its_callers_instead_of_hanging() -> None:
    async def handle(batch: list[int]) -> None:
        await asyncio.sleep(0)
        raise asyncio.CancelledError  # a driver turning its own timeout into this

    grouped = Grouped(handle, name="t")
    tasks = [asyncio.create_task(grouped.submit(i)) for i in range(3)]
    _, pending = await asyncio.wait(tasks, timeout=1.0)
    assert not pending
    assert all(task.cancelled() for task in tasks)
