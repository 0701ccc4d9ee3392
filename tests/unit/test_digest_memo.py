"""The roll-up line memo: computed once per branch and week, reused while fresh."""

from __future__ import annotations

from bot.digest_memo import WeekMemo, line_memo


class _Counter:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        return self.calls


async def test_a_line_is_computed_once_for_every_leader_within_its_freshness() -> None:
    memo: WeekMemo[int] = WeekMemo(finished_ttl=600, partial_ttl=60)
    compute = _Counter()
    for recipient in range(5):  # general branch, committee, committee members, pages…
        assert await memo.get((7, "2026W10", "zh"), partial=False, now=1000 + recipient,
                              compute=compute) == 1
    assert compute.calls == 1 and memo.computed == 1
    # Another branch, week or language is another line.
    await memo.get((8, "2026W10", "zh"), partial=False, now=1000, compute=compute)
    await memo.get((7, "2026W11", "zh"), partial=False, now=1000, compute=compute)
    await memo.get((7, "2026W10", "en"), partial=False, now=1000, compute=compute)
    assert compute.calls == 4


async def test_stale_lines_are_recomputed_and_a_week_under_way_goes_stale_sooner() -> None:
    memo: WeekMemo[int] = WeekMemo(finished_ttl=600, partial_ttl=60)
    finished, partial = _Counter(), _Counter()
    await memo.get("done", partial=False, now=0, compute=finished)
    await memo.get("so far", partial=True, now=0, compute=partial)
    await memo.get("done", partial=False, now=59, compute=finished)
    await memo.get("so far", partial=True, now=59, compute=partial)
    assert (finished.calls, partial.calls) == (1, 1)
    await memo.get("so far", partial=True, now=60, compute=partial)
    assert partial.calls == 2
    await memo.get("done", partial=False, now=599, compute=finished)
    assert finished.calls == 1
    await memo.get("done", partial=False, now=600, compute=finished)
    assert finished.calls == 2
    # A clock set back never keeps a value computed "in the future".
    await memo.get("done", partial=False, now=10, compute=finished)
    assert finished.calls == 3


async def test_the_memo_is_bounded_and_belongs_to_one_database() -> None:
    memo: WeekMemo[int] = WeekMemo(max_entries=3)
    compute = _Counter()
    for key in range(5):
        await memo.get(key, partial=False, now=0, compute=compute)
    assert len(memo) == 3
    await memo.get(0, partial=False, now=0, compute=compute)  # evicted: computed again
    assert compute.calls == 6

    class _Db:  # stands in for an open connection (weakly referenced)
        pass

    first, second = _Db(), _Db()
    assert line_memo(first) is line_memo(first) and line_memo(first) is not line_memo(second)
