"""Diversion patterns across transfers against a real PostgreSQL: found whatever the order,
partition or worker, across restarts, exactly once, even when two workers race."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from services.core import resources, rules
from services.core.context import Context
from services.core.patterns import Pattern, PatternRules, detect, facts_of
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.store import db, patterns, rulesets
from services.store.outcomes import Delivery, Screening, Versions
from services.store.patterns import record_patterns
from services.store.postgres import PostgresStore
from services.store.reads import Screened, transfer_status
from services.store.screenings import record_screening
from tests.conftest import sql
from tests.records import end_user, record

pytestmark = pytest.mark.integration
RULES = PatternRules()


@pytest.fixture
def url(database_url: str) -> str:
    """A migrated database holding the shipped rules as version 1, the matcher's case."""
    engine = db.sync_engine(database_url)
    with Session(engine) as session, session.begin():
        rulesets.load(session, resources.rules_dir(), activate=True)
    engine.dispose()
    return database_url


CTX = Context(ruleset=rules.load_directory(version=1))


def pistols(record_id: str, on: str, quantity: float, **changes: Any) -> dict[str, Any]:
    """``quantity`` pistols from the US to the same company in Haiti on ``on``."""
    items = [{"category": "small_arms.revolver_pistol", "description": "9mm", "quantity": quantity}]
    return record(record_id, transfer_date=on, items=items, **changes)


SPLIT = [
    pistols("r-1", "2024-11-02", 10),
    pistols("r-2", "2024-11-10", 12),
    pistols("r-3", "2024-11-20", 8),
]


async def store_in(
    session: AsyncSession,
    records: Sequence[dict[str, Any]],
    *,
    integrator: str = "customs-ht",
    partition: int = 0,
) -> int:
    """What the matcher's batch store does: each transfer and its own findings, then the
    patterns, in the caller's transaction."""
    ids = []
    for offset, rec in enumerate(records):
        stored = await record_screening(
            session,
            rec,
            screen(parse_transfer(rec), CTX),
            Delivery(integrator, datetime.now(UTC), "transfers.v1", partition, offset),
            ruleset_version=1,
            list_version=None,
        )
        ids.append(stored.transfer_id)
    return await record_patterns(session, ids, RULES)


async def store(url: str, records: Sequence[dict[str, Any]], **delivery: Any) -> int:
    """One batch through a fresh engine: a matcher started for it and stopped after."""
    engine = db.async_engine(url)
    try:
        async with db.sessions(engine).begin() as session:
            return await store_in(session, records, **delivery)
    finally:
        await engine.dispose()


def pattern_rows(url: str, in_force: bool | None = None) -> list[tuple[Any, ...]]:
    where = "" if in_force is None else f"AND superseded_at IS {'' if in_force else 'NOT '}NULL"
    return sql(
        url,
        "SELECT record_id, rule_id, finding_key, summary, superseded_reason FROM findings "
        f"WHERE pattern_group IS NOT NULL {where} ORDER BY id",
    )


def expected_key(records: Sequence[dict[str, Any]], pattern: Pattern, key: str) -> str:
    """The key deciding the records all at once gives."""
    facts = [facts_of(parse_transfer(r), "customs-ht", CTX.ruleset) for r in records]
    (pf,) = detect(pattern, key, facts, RULES)
    return pf.key


BUYER = "HT:caribbeanimportservices"


@pytest.mark.parametrize(
    "batches",
    [
        [[0], [1], [2]],
        [[2], [0], [1]],
        [[1, 2], [0]],
        [[2, 1, 0]],
    ],
    ids=["in-order", "last-first", "two-then-one", "one-batch-reversed"],
)
async def test_a_split_shipment_is_found_whatever_the_order_batching_or_partition(
    url: str, batches: list[list[int]]
) -> None:
    for partition, batch in enumerate(batches):
        await store(url, [SPLIT[i] for i in batch], partition=partition)
    in_force = pattern_rows(url, in_force=True)
    assert [(r[0], r[1], r[2]) for r in in_force] == [
        ("r-3", "indicator.split_shipment", expected_key(SPLIT, Pattern.SPLIT_SHIPMENT, BUYER))
    ]
    assert in_force[0][3].startswith(
        "Transfers r-1, r-2 and r-3 to end user 'Caribbean Import Services SA' (HT), between "
        "2024-11-02 and 2024-11-20 (within 30 days), each carry fewer than 25 small arms"
    )
    # The HTTP API's read of the last transfer shows it with the transfer's own findings.
    engine = db.async_engine(url)
    try:
        status = await transfer_status(engine, "customs-ht", "r-3")
    finally:
        await engine.dispose()
    assert isinstance(status, Screened)
    assert "indicator.split_shipment" in [f["rule_id"] for f in status.findings]


async def test_storing_the_same_transfers_again_inserts_nothing(url: str) -> None:
    assert await store(url, SPLIT) == 1
    before = pattern_rows(url)
    assert await store(url, SPLIT) == 0
    assert await store(url, list(reversed(SPLIT)), partition=3) == 0
    assert pattern_rows(url) == before
    assert sql(url, "SELECT count(*), max(times_screened) FROM screened_transfers") == [(3, 3)]


async def test_a_growing_set_supersedes_the_smaller_one_and_a_shrinking_one_restores_it(
    url: str,
) -> None:
    two = [pistols("r-1", "2024-11-02", 13), pistols("r-2", "2024-11-10", 13)]
    assert await store(url, two) == 1
    ((holder, _, small, _, _),) = pattern_rows(url, in_force=True)
    assert holder == "r-2"

    third = pistols("r-3", "2024-11-20", 1)
    assert await store(url, [third]) == 1
    ((holder, _, grown, summary, _),) = pattern_rows(url, in_force=True)
    assert (holder, "r-1, r-2 and r-3" in summary) == ("r-3", True)
    ((_, _, key, _, why),) = pattern_rows(url, in_force=False)
    assert key == small
    assert why == (
        f"the set grew to 3 transfers; finding {grown} on transfer r-3 (customs-ht) names them all"
    )

    # r-3 corrected to a date outside the window: the pair holds again, the trio does not.
    assert await store(url, [pistols("r-3", "2025-03-01", 1)]) == 0
    ((holder, _, key, _, why),) = pattern_rows(url, in_force=True)
    assert (holder, key, why) == ("r-2", small, None)
    superseded = {r[2]: r[4] for r in pattern_rows(url, in_force=False)}
    assert superseded == {
        grown: "the related transfers, as now recorded, no longer show this pattern"
    }
    # Each move is in the audit log, by the system through the matcher, with its reason.
    log = sql(
        url,
        "SELECT f.finding_key, a.action, a.actor_id, a.via, a.before, a.after, a.rationale "
        "FROM audit_log a JOIN findings f ON f.id = a.finding_id "
        "WHERE f.pattern_group IS NOT NULL ORDER BY a.id",
    )
    assert [(r[0], r[1], r[2], r[3]) for r in log] == [
        (small, "finding.supersede", None, "matcher"),
        # The correction: one statement supersedes the trio and restores the pair.
        (grown, "finding.supersede", None, "matcher"),
        (small, "finding.restore", None, "matcher"),
    ]
    assert log[0][4:] == ({"superseded": False}, {"superseded": True}, why_grown(grown))
    assert log[2][4:] == (
        {"superseded": True},
        {"superseded": False},
        "the set of transfers it names is found again",
    )
    # Pattern findings are seen by the regimes of the places their transfers touch.
    assert sql(
        url, "SELECT DISTINCT visible_regimes FROM findings WHERE pattern_group IS NOT NULL"
    ) == [(["HT"],)]


def why_grown(grown: str) -> str:
    return (
        f"the set grew to 3 transfers; finding {grown} on transfer r-3 (customs-ht) names them all"
    )


async def test_a_restarted_matcher_finds_the_set_a_stopped_one_began(url: str) -> None:
    """State is in PostgreSQL alone: each store() has its own engine (a matcher process),
    and the first is gone before the others start."""
    assert await store(url, SPLIT[:1], integrator="customs-ht", partition=0) == 0
    assert await store(url, SPLIT[1:2], integrator="customs-ht", partition=5) == 0
    assert await store(url, SPLIT[2:], integrator="customs-ht", partition=2) == 1


async def race(
    url: str, halves: Sequence[Sequence[dict[str, Any]]], *, both_decide_first: bool = False
) -> list[int]:
    """Two workers, each with its own engine, store one half each at the same time: both
    have written their transfers before either looks for related ones. With
    ``both_decide_first``, neither commits before both have decided (which, with the lock
    in place, would wait for ever: the second cannot decide before the first commits)."""
    engines = [db.async_engine(url) for _ in halves]
    written = asyncio.Barrier(len(halves))
    decided = asyncio.Barrier(len(halves))

    async def worker(engine: AsyncEngine, half: Sequence[dict[str, Any]], n: int) -> int:
        async with db.sessions(engine).begin() as session:
            ids = []
            for offset, rec in enumerate(half):
                stored = await record_screening(
                    session,
                    rec,
                    [],
                    Delivery(f"worker-{n}", datetime.now(UTC), "transfers.v1", n, offset),
                    ruleset_version=1,
                    list_version=None,
                )
                ids.append(stored.transfer_id)
            await written.wait()
            new = await record_patterns(session, ids, RULES)
            if both_decide_first:
                await decided.wait()
            return new

    try:
        return list(
            await asyncio.gather(
                *(worker(e, h, n) for n, (e, h) in enumerate(zip(engines, halves, strict=True)))
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()


HALVES = ([pistols("a", "2024-11-02", 13)], [pistols("b", "2024-11-05", 13)])


async def test_two_workers_storing_the_halves_at_once_find_the_split_exactly_once(
    url: str,
) -> None:
    assert sorted(await race(url, HALVES)) == [0, 1]
    rows = pattern_rows(url)
    assert len(rows) == 1
    assert rows[0][1] == "indicator.split_shipment"
    assert "a (worker-0) and b (worker-1)" in rows[0][3]


async def test_without_the_lock_the_two_halves_would_miss_each_other(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the advisory lock is for: the race above, unlocked, finds nothing."""

    async def no_lock(session: AsyncSession, keys: object) -> None:
        return None

    monkeypatch.setattr(patterns, "_lock", no_lock)
    assert await race(url, HALVES, both_decide_first=True) == [0, 0]
    assert pattern_rows(url) == []


async def test_workers_touching_the_same_keys_in_opposite_orders_do_not_deadlock(
    url: str,
) -> None:
    other = "Port-au-Prince Hardware SA"

    def to_other(rec: dict[str, Any]) -> dict[str, Any]:
        return end_user(rec, name=other)

    first = [pistols("a1", "2024-11-02", 13), to_other(pistols("b1", "2024-11-02", 13))]
    second = [to_other(pistols("b2", "2024-11-04", 13)), pistols("a2", "2024-11-04", 13)]
    assert sum(await race(url, [first, second])) == 2
    summaries = sorted(r[3] for r in pattern_rows(url, in_force=True))
    assert len(summaries) == 2
    assert "'Caribbean Import Services SA'" in summaries[0]
    assert f"{other!r}" in summaries[1]


def certificate(rec: dict[str, Any], number: str) -> dict[str, Any]:
    return {**rec, "documents": {"end_user_certificate": number}}


async def test_a_certificate_reused_by_another_integrators_exporter_is_found(url: str) -> None:
    ours = certificate(pistols("c-1", "2024-06-01", 30), "EUC/HT-2024-017")
    theirs = copy.deepcopy(certificate(pistols("x-9", "2024-12-01", 40), "EUC HT 2024 017"))
    theirs["parties"][0]["name"] = "Armes de Paris SARL"
    assert await store(url, [ours], integrator="customs-ht") == 0
    assert await store(url, [theirs], integrator="licensing-fr", partition=1) == 1
    ((holder, rule, _, summary, _),) = pattern_rows(url, in_force=True)
    assert (holder, rule) == ("x-9", "indicator.reused_end_user_certificate")
    assert summary.startswith(
        "End-user certificate 'EUC HT 2024 017' is given for 2 transfers, c-1 (customs-ht) and "
        "x-9 (licensing-fr), from 2 exporters ('Gulf Coast Sporting Arms LLC'; "
        "'Armes de Paris SARL'); both are bound for HT"
    )


async def test_a_surge_over_a_receivers_history_is_found_when_the_history_arrives_last(
    url: str,
) -> None:
    history = [pistols(f"h-{m}", f"2024-0{m}-15", 5) for m in (2, 4, 6, 8)]
    burst = [pistols("s-1", "2024-11-02", 30), pistols("s-2", "2024-11-12", 40)]
    assert await store(url, burst) == 0
    assert await store(url, history[2:]) == 0
    assert await store(url, history[:2]) == 1
    ((holder, rule, key, _, _),) = pattern_rows(url, in_force=True)
    assert (holder, rule) == ("s-2", "indicator.surge")
    assert key == expected_key([*history, *burst], Pattern.SURGE, BUYER)


async def test_the_matchers_batch_store_finds_patterns_across_its_batches(url: str) -> None:
    """PostgresStore.record_batch, the matcher's write, runs record_patterns last."""
    engine = db.async_engine(url)
    store = PostgresStore(engine, RULES)
    try:
        for offset, rec in enumerate(SPLIT):  # one record a batch, as a slow feed would
            delivery = Delivery("customs-ht", datetime.now(UTC), "transfers.v1", 0, offset)
            screening = Screening(rec, screen(parse_transfer(rec), CTX), delivery)
            await store.record_batch([screening], [], Versions(1, None))
    finally:
        await engine.dispose()
    assert [(r[0], r[1]) for r in pattern_rows(url, in_force=True)] == [
        ("r-3", "indicator.split_shipment")
    ]
