"""The ledger of accepted records on a real PostgreSQL: accepted, settled, due again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.core.validation import Rejection
from services.store import db, ledger
from services.store.outcomes import Delivery, Refusal, Screening, Versions
from services.store.postgres import PostgresStore
from services.store.rejections import RejectionKind
from tests.conftest import sql
from tests.records import record

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
VERSIONS = Versions(1, None)


async def accept(url: str, records: list[dict[str, Any]], at: datetime = T0) -> None:
    engine = db.async_engine(url)
    try:
        async with db.sessions(engine).begin() as session:
            await ledger.accept(session, "it", records, at)
    finally:
        await engine.dispose()


async def screen(url: str, rec: dict[str, Any], received_at: datetime = T0) -> Any:
    engine = db.async_engine(url)
    try:
        screening = Screening(rec, [], Delivery("it", received_at, "t", 0, 1))
        return await PostgresStore(engine).record_batch([screening], [], VERSIONS)
    finally:
        await engine.dispose()


async def due(url: str, older_than: timedelta = timedelta(0)) -> list[ledger.Due]:
    engine = db.async_engine(url)
    try:
        async with db.sessions(engine).begin() as session:
            return await ledger.take_due(session, older_than, 100)
    finally:
        await engine.dispose()


def states(url: str) -> list[tuple[object, ...]]:
    return sql(url, "SELECT record_id, outcome FROM accepted_records ORDER BY record_id")


async def test_accepted_records_are_pending_until_screened(database_url: str) -> None:
    await accept(database_url, [record("a-1"), record("a-2")])
    assert states(database_url) == [("a-1", None), ("a-2", None)]
    await screen(database_url, record("a-1"))
    assert states(database_url) == [("a-1", "screened"), ("a-2", None)]


async def test_a_resend_of_the_same_content_stays_settled_and_other_content_is_pending(
    database_url: str,
) -> None:
    await accept(database_url, [record("a-1")])
    await screen(database_url, record("a-1"))
    await accept(database_url, [record("a-1")])
    assert states(database_url) == [("a-1", "screened")]
    await accept(database_url, [record("a-1", transfer_date="2023-06-15")])
    assert states(database_url) == [("a-1", None)]
    assert sql(database_url, "SELECT times_published FROM accepted_records") == [(3,)]


async def test_an_older_version_delivered_late_is_not_kept_and_settles_nothing(
    database_url: str,
) -> None:
    old, new = record("a-1"), record("a-1", transfer_date="2023-06-15")
    await accept(database_url, [old], T0)
    await accept(database_url, [new], T0 + timedelta(minutes=1))
    await screen(database_url, new, T0 + timedelta(minutes=1))
    assert await screen(database_url, old, T0) == [None]  # e.g. republished before the fix
    assert sql(database_url, "SELECT transfer_date::text FROM screened_transfers") == [
        ("2023-06-15",)
    ]
    assert states(database_url) == [("a-1", "screened")]


async def test_a_rejected_record_is_settled_as_rejected(database_url: str) -> None:
    rec = record("a-1")
    await accept(database_url, [rec])
    engine = db.async_engine(database_url)
    try:
        refusal = Refusal(
            "it",
            Rejection(0, "a-1", ("internal error",), "{}"),
            RejectionKind.ERROR,
            ledger.record_digest(rec),
        )
        await PostgresStore(engine).record_batch([], [refusal], VERSIONS)
    finally:
        await engine.dispose()
    assert states(database_url) == [("a-1", "rejected")]
    assert sql(database_url, "SELECT reason_kind, source FROM rejected_records") == [
        ("error", "kafka")
    ]


async def test_due_records_are_taken_once_until_the_delay_passes_again(
    database_url: str,
) -> None:
    await accept(database_url, [record("a-1"), record("a-2")])
    await screen(database_url, record("a-2"))
    assert await due(database_url, timedelta(hours=1)) == []  # published just now
    taken = await due(database_url)
    assert [d.record["record_id"] for d in taken] == ["a-1"]
    assert taken[0].integrator == "it"
    assert taken[0].received_at == T0
    assert await due(database_url, timedelta(hours=1)) == []  # published again just now
    assert sql(
        database_url, "SELECT times_published FROM accepted_records WHERE record_id = 'a-1'"
    ) == [(2,)]


async def test_counts_per_integrator(database_url: str) -> None:
    await accept(database_url, [record("a-1"), record("a-2"), record("a-3")])
    await screen(database_url, record("a-1"))
    engine = db.async_engine(database_url)
    try:
        async with db.sessions(engine)() as session:
            counts = await ledger.counts(session)
            pending = await ledger.pending(session)
    finally:
        await engine.dispose()
    assert [(c.integrator, c.accepted, c.screened, c.rejected, c.pending) for c in counts] == [
        ("it", 3, 1, 0, 2)
    ]
    assert [(p.integrator, p.records, p.oldest) for p in pending] == [("it", 2, T0)]


def test_ewatch_status_shows_each_integrator_and_exits_1_while_pending(
    database_url: str,
) -> None:
    env = {**os.environ, "EWATCH_DATABASE_URL": database_url}

    def status(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "services.cli.main", "status", *args]
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=False)

    asyncio.run(accept(database_url, [record("a-1"), record("a-2")]))
    asyncio.run(screen(database_url, record("a-1")))
    shown = status("--json")
    assert shown.returncode == 1, shown.stderr
    (row,) = orjson.loads(shown.stdout)["integrators"]
    assert {k: v for k, v in row.items() if k != "oldest_pending_seconds"} == {
        "integrator": "it",
        "accepted": 2,
        "screened": 1,
        "rejected": 0,
        "pending": 1,
        "refused_at_ingest": 0,
    }
    assert row["oldest_pending_seconds"] > 0
    table = status()
    assert "it" in table.stdout
    assert "pending" in table.stdout
    asyncio.run(screen(database_url, record("a-2")))
    assert status().returncode == 0


async def test_a_record_screened_before_ingest_commits_its_ledger_row_is_settled(
    database_url: str,
) -> None:
    """Ingest commits after Kafka's acknowledgement, and the matcher may read the record
    before that: its settling waits for ingest's row instead of missing it."""
    engine = db.async_engine(database_url)
    try:
        async with db.sessions(engine).begin() as ingest:
            await ledger.accept(ingest, "it", [record("a-1")], T0)
            screening = asyncio.create_task(screen(database_url, record("a-1")))
            await asyncio.sleep(0.5)
            assert not screening.done()  # waiting on the uncommitted row's key
        await asyncio.wait_for(screening, 10)
    finally:
        await engine.dispose()
    assert states(database_url) == [("a-1", "screened")]


async def test_a_record_sent_straight_to_kafka_gets_a_settled_row(database_url: str) -> None:
    await screen(database_url, record("k-1"))
    assert states(database_url) == [("k-1", "screened")]
