"""Per-branch roll-up lines computed once per week and reused by every leader above.

    memo = line_memo(services.db)
    line = await memo.get((branch_id, period.code, language), partial=period.partial,
                          now=now, compute=lambda: build_line(...))

A county's roll-up is built from one line per branch.  Without a memo, the
weekly planner recomputed every branch's whole digest once per recipient: the
general-branch secretary, the committee secretary above, each committee member
(with [digest].include_committee), and again for every ◀ ▶ page a leader turns.
Here a line is computed once and reused while it is fresh:

* a finished week's line for FINISHED_TTL seconds (a planner run, a leader
  paging through the roll-up); late records for that week show after that;
* a week still under way (/digest's "so far") for PARTIAL_TTL seconds, since
  every answer changes it.

Time is the caller's `now` (the injected clock).  One memo per open database
connection, held weakly, so a restarted bot or another test's database never
sees another's lines.  Bounded: the oldest entries go first past MAX_ENTRIES.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["FINISHED_TTL", "MAX_ENTRIES", "PARTIAL_TTL", "WeekMemo", "line_memo"]

FINISHED_TTL = 600
PARTIAL_TTL = 60
# A 100k-member county has ~2,500 branches; two languages and two weeks fit well within.
MAX_ENTRIES = 20_000

T = TypeVar("T")


class WeekMemo(Generic[T]):
    """Values keyed by (branch, week, …), computed once and kept while fresh."""

    def __init__(
        self, *, finished_ttl: int = FINISHED_TTL, partial_ttl: int = PARTIAL_TTL,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._entries: OrderedDict[Hashable, tuple[int, int, T]] = OrderedDict()
        self._ttl = {False: finished_ttl, True: partial_ttl}
        self._max = max_entries
        self.computed = 0  # how many values were computed rather than reused

    def __len__(self) -> int:
        return len(self._entries)

    async def get(
        self, key: Hashable, *, partial: bool, now: int, compute: Callable[[], Awaitable[T]]
    ) -> T:
        """Return the fresh value under `key`, else compute, keep and return it."""
        entry = self._entries.get(key)
        if entry is not None:
            at, ttl, value = entry
            # A clock set back (tests, a corrected host clock) must not keep a value forever.
            if at <= now < at + ttl:
                self._entries.move_to_end(key)
                return value
        value = await compute()
        self.computed += 1
        self._entries[key] = (now, self._ttl[partial], value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything (a bench timing the uncached path)."""
        self._entries.clear()


_MEMOS: weakref.WeakKeyDictionary[Any, WeekMemo[Any]] = weakref.WeakKeyDictionary()


def line_memo(db: Any) -> WeekMemo[Any]:
    """Return the memo of roll-up lines belonging to the open database `db`."""
    memo = _MEMOS.get(db)
    if memo is None:
        memo = _MEMOS[db] = WeekMemo()
    return memo
