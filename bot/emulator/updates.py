"""The pending-update queue behind ``getUpdates`` (with real long polling).

Emulated users push updates; ``getUpdates`` confirms by ``offset``, returns at once
when updates are pending and otherwise waits on an :class:`asyncio.Event` until
one arrives or ``timeout`` elapses.

Example::

    queue = UpdateQueue()
    queue.push({"message": {...}})
    updates = await queue.fetch(offset=None, limit=100, poll_seconds=10)
    await queue.fetch(offset=updates[-1]["update_id"] + 1)  # confirm
"""

from __future__ import annotations

import asyncio
from collections import deque
from itertools import islice
from typing import Any

__all__ = ["UpdateQueue"]


class UpdateQueue:
    """FIFO of unconfirmed updates with Telegram's offset/limit/timeout semantics."""

    def __init__(self) -> None:
        self._pending: deque[dict[str, Any]] = deque()
        self._next_update_id = 1
        # Event is bound to the running loop lazily (3.10+), so building it here is safe.
        self._arrived = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._pending)

    def push(self, payload: dict[str, Any]) -> int:
        """Enqueue one update (``payload`` without ``update_id``) and wake long polls."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._pending.append({"update_id": update_id, **payload})
        self._arrived.set()
        return update_id

    def confirm(self, offset: int | None) -> None:
        """Drop updates below ``offset``; a negative offset keeps only the last ``-offset``."""
        if not offset:
            return
        if offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()
            return
        while self._pending and self._pending[0]["update_id"] < offset:
            self._pending.popleft()

    def clear(self) -> None:
        """Drop every pending update (``deleteWebhook(drop_pending_updates=True)``)."""
        self._pending.clear()

    async def fetch(
        self, *, offset: int | None = None, limit: int = 100, poll_seconds: float = 0.0
    ) -> list[dict[str, Any]]:
        """Confirm up to ``offset``; return up to ``limit`` updates, long-polling if none."""
        self.confirm(offset)
        if not self._pending and poll_seconds > 0 and not self._closed:
            # Clearing is safe: the queue is empty and push() always sets after appending.
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), poll_seconds)
            except TimeoutError:
                pass
        return list(islice(self._pending, max(1, min(limit, 100))))

    def close(self) -> None:
        """Release any waiting long polls (server shutdown)."""
        self._closed = True
        self._arrived.set()
