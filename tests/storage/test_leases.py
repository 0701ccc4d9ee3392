"""Leases (planner, delivery workers) and claims that recovery never takes from a live worker."""

from __future__ import annotations

from bot.domain.outgoing import OutgoingMessage, occurrence_key
from storage.repositories import leases, outbox

NOW = 1_772_000_000  # wall-clock seconds for leases (the domain clock is separate)


async def test_acquire_renew_and_refuse_while_held(db):
    assert await leases.acquire(db, "planner", "a", ttl=30, now=NOW)
    assert not await leases.acquire(db, "planner", "b", ttl=30, now=NOW + 1)
    # The holder renews: the lease now runs 30 s from the renewal.
    assert await leases.acquire(db, "planner", "a", ttl=30, now=NOW + 20)
    assert not await leases.acquire(db, "planner", "b", ttl=30, now=NOW + 45)
    [lease] = await leases.live(db, now=NOW + 45, prefix="planner")
    assert (lease.holder, lease.expires_at) == ("a", NOW + 50)


async def test_an_expired_lease_is_taken_over(db):
    assert await leases.acquire(db, "planner", "a", ttl=30, now=NOW)
    assert await leases.live(db, now=NOW + 30, prefix="planner") == []  # ran out
    assert await leases.acquire(db, "planner", "b", ttl=30, now=NOW + 30)
    # The old holder, back from a stall, cannot take it back while b renews.
    assert not await leases.acquire(db, "planner", "a", ttl=30, now=NOW + 31)
    [lease] = await leases.live(db, now=NOW + 31)
    assert lease.holder == "b"


async def test_release_frees_the_lease_at_once_but_only_for_its_holder(db):
    assert await leases.acquire(db, "planner", "a", ttl=30, now=NOW)
    await leases.release(db, "planner", "b")  # not b's to give up
    assert not await leases.acquire(db, "planner", "b", ttl=30, now=NOW + 1)
    await leases.release(db, "planner", "a")
    assert await leases.acquire(db, "planner", "b", ttl=30, now=NOW + 1)


async def test_live_holders_by_prefix_and_bot(db):
    for holder, bot in (("w1", ""), ("w2", ""), ("w3", "east")):
        assert await leases.acquire(db, f"delivery:{holder}", holder, ttl=15, now=NOW, bot=bot)
    assert await leases.acquire(db, "planner", "w1", ttl=30, now=NOW)
    assert await leases.acquire(db, "delivery:old", "old", ttl=15, now=NOW - 20)  # expired
    workers = await leases.live(db, now=NOW + 1, prefix="delivery:")
    assert [w.holder for w in workers] == ["w1", "w2", "w3"]
    assert await leases.count_live(db, now=NOW + 1, prefix="delivery:", bot="") == 2
    assert await leases.count_live(db, now=NOW + 1, prefix="delivery:", bot="east") == 1
    assert await leases.count_live(db, now=NOW + 16, prefix="delivery:") == 0


def _message(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        dedupe_key=occurrence_key("study.reminder", n, "item1", 0),
        kind="study.reminder",
        person_id=None,
        chat_id=7000 + n,
        text=f"提醒 {n}",
        due_at=NOW,
    )


async def _claimed(db, n: int, holder: str | None) -> int:
    row = await outbox.get_row(db, _message(n).dedupe_key)
    assert row is not None
    assert await outbox.mark_sending(db, row.id, holder=holder)
    return row.id


async def test_a_claim_is_taken_once_and_names_its_worker(db):
    await outbox.enqueue(db, [_message(1)], now=NOW)
    row_id = await _claimed(db, 1, "w1")
    assert not await outbox.mark_sending(db, row_id, holder="w2")  # already claimed
    async with db.execute("SELECT claimed_by FROM outbox WHERE id = ?", (row_id,)) as cur:
        assert (await cur.fetchone())[0] == "w1"


async def test_recovery_takes_dead_workers_claims_never_a_live_ones(db):
    await outbox.enqueue(db, [_message(n) for n in range(1, 5)], now=NOW)
    assert await leases.acquire(db, "delivery:live", "live", ttl=15, now=NOW)
    assert await leases.acquire(db, "delivery:lapsed", "lapsed", ttl=15, now=NOW - 60)
    assert await leases.acquire(db, "delivery:gone", "gone", ttl=15, now=NOW)
    live = await _claimed(db, 1, "live")
    lapsed = await _claimed(db, 2, "lapsed")  # its lease ran out: the worker died
    legacy = await _claimed(db, 3, None)  # claimed before leases existed
    gone = await _claimed(db, 4, "gone")  # lease still running, but known dead

    recovered = await outbox.recover_sending(db, now=NOW, lease_now=NOW, dead=["gone"])
    assert [row.id for row in recovered] == sorted([lapsed, legacy, gone])
    assert all(row.status == "uncertain" and row.next_attempt_at == NOW for row in recovered)
    mine = await outbox.get_row(db, _message(1).dedupe_key)
    assert mine is not None and mine.id == live and mine.status == "sending"
    # Recovered once: a second pass finds nothing more (no third copy).
    assert await outbox.recover_sending(db, now=NOW, lease_now=NOW) == []
    # Once the live worker's lease runs out too, its claim is recovered as well.
    [late] = await outbox.recover_sending(db, now=NOW, lease_now=NOW + 15)
    assert late.id == live
