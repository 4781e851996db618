"""Counting the turns other tasks get on the loop: how a test sees that a call let the loop go on."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turns:
    """How many times a task that only yields ran; `count` is set back to 0 with `reset`."""

    def __init__(self) -> None:
        self.count = 0

    def reset(self) -> int:
        """The turns counted so far; counting starts again from 0."""
        counted, self.count = self.count, 0
        return counted


@asynccontextmanager
async def counting_turns() -> AsyncIterator[Turns]:
    turns = Turns()
    stop = asyncio.Event()

    async def yielder() -> None:
        while not stop.is_set():
            turns.count += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(yielder())
    await asyncio.sleep(0)
    turns.reset()
    try:
        yield turns
    finally:
        stop.set()
        await task
