"""People first on the event loop: the sweep waits between its batches for a moment when no
update is being handled, but never for long (bot.foreground)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.db.due import drain
from bot.foreground import QUIET_AFTER, Foreground
from bot.ordering import ChatOrderedProcessor
from tests.unit.test_due import _Db, _Query, _Table
from tests.unit.test_ordering import text_update


async def test_no_update_being_handled_means_no_wait() -> None:
    foreground = Foreground()
    await asyncio.wait_for(foreground.gap(at_most=60), 1)


async def test_the_gap_comes_when_the_last_update_ends() -> None:
    foreground = Foreground()
    ended: list[str] = []
    release = asyncio.Event()

    async def update() -> None:
        with foreground.update():
            await release.wait()
            ended.append("update")

    task = asyncio.create_task(update())
    await asyncio.sleep(0)
    assert foreground.serving == 1
    waiting = asyncio.create_task(foreground.gap(at_most=60))
    await asyncio.sleep(0)
    assert not waiting.done(), "it waits while someone is being answered"
    release.set()
    await asyncio.wait_for(waiting, 1)
    assert ended == ["update"]
    await task
    assert foreground.serving == 0


async def test_a_steady_stream_of_updates_only_slows_the_sweep_down() -> None:
    foreground = Foreground()
    with foreground.update():
        # Someone is always being answered: the wait ends by its bound, not never.
        await asyncio.wait_for(foreground.gap(at_most=0.01), 5)
    assert foreground.serving == 0


async def test_an_update_that_fails_still_ends_its_turn() -> None:
    foreground = Foreground()
    with pytest.raises(RuntimeError), foreground.update():
        raise RuntimeError("handler failed")
    assert foreground.serving == 0
    await asyncio.wait_for(foreground.gap(at_most=60), 1)


async def test_the_update_processor_counts_the_updates_it_runs() -> None:
    foreground = Foreground()
    processor = ChatOrderedProcessor(foreground)
    seen: list[int] = []

    async def handle() -> None:
        seen.append(foreground.serving)
        await asyncio.sleep(0)

    await asyncio.gather(
        processor.process_update(text_update(1, 100), handle()),
        processor.process_update(text_update(2, 200), handle()),
        processor.process_update(text_update(3, 100), handle()),  # waits for Pat's first
        processor.process_update(object(), handle()),  # no chat: runs at once
    )
    assert max(seen) >= 2 and min(seen) >= 1
    assert foreground.serving == 0


async def _sweep(table: _Table, **options: Any) -> tuple[int, list[list[int]]]:
    """drain() over `table`, every batch of several handled together; what it did."""
    batches: list[list[int]] = []

    async def together(rows: list[int]) -> int:
        batches.append(rows)
        for row in rows:
            table.due.remove(row)
        return len(rows)

    async def handle(row: int) -> bool:
        raise AssertionError("batches of several go together")

    handled = await drain(
        _Db(table),  # type: ignore[arg-type]
        lambda skip: _Query(skip),  # type: ignore[arg-type,return-value]
        handle,
        batch=100,
        area="test",
        together=together,
        **options,
    )
    return handled, batches


async def test_the_sweep_waits_for_a_gap_before_each_batch() -> None:
    table = _Table(due=list(range(10)))
    pauses: list[int] = []

    async def pause() -> None:
        pauses.append(len(table.due))  # rows still due when it waits

    handled, batches = await _sweep(table, chunk=4, pause=pause)
    assert handled == 10
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert pauses == [10, 6, 2], "one wait before each batch"


def test_quiet_means_nobody_answered_for_a_second() -> None:
    now = [100.0]
    foreground = Foreground(monotonic=lambda: now[0])
    assert foreground.quiet(), "at the start nobody has been answered"
    with foreground.update():
        assert not foreground.quiet()
        now[0] += 5
        assert not foreground.quiet(), "someone is being answered"
    assert not foreground.quiet(), "someone was answered just now"
    now[0] += QUIET_AFTER - 0.01
    assert not foreground.quiet()
    now[0] += 0.01
    assert foreground.quiet()


async def test_the_batch_size_is_asked_afresh_before_each_batch() -> None:
    sizes = iter([2, 5, 50])
    handled, batches = await _sweep(_Table(due=list(range(12))), chunk=lambda: next(sizes))
    assert handled == 12
    assert batches == [[0, 1], [2, 3, 4, 5, 6], list(range(7, 12))]


async def test_the_sweep_never_waits_longer_than_half_its_last_batch() -> None:
    """An update waiting on Telegram counts as being handled: the bound keeps that from
    costing the sweep more than a third of its pace."""
    now = [10.0]
    foreground = Foreground(monotonic=lambda: now[0])
    await foreground.gap(at_most=60)  # nobody answered: back at once, at t=10
    with foreground.update():
        # The batch in between took no time at all: no wait, though someone is served.
        await asyncio.wait_for(foreground.gap(at_most=60), 0.5)
        now[0] += 0.02  # a batch of 20 ms: at most 10 ms now
        waiting = asyncio.create_task(foreground.gap(at_most=60))
        await asyncio.wait_for(waiting, 5)
