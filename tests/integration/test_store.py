"""The store against a real PostgreSQL: idempotent writes, revisions, no drift."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.core.findings import Finding, Kind, Severity
from services.store import db, migrate
from services.store.outcomes import Delivery
from services.store.screenings import record_screening
from tests.conftest import sql
from tests.records import record

pytestmark = pytest.mark.integration


def finding(rule: str) -> Finding:
    return Finding(
        record_id="r-0",
        kind=Kind.VIOLATION,
        regime="HT",
        rule_id=rule,
        phase="HT-2752-all-arms-territorial",
        severity=Severity.HIGH,
        summary="s.",
        citations=("S/RES/2752 (2024), para 2",),
    )


async def store(url: str, rec: dict[str, object], findings: list[Finding]) -> int:
    engine = db.async_engine(url)
    try:
        async with db.sessions(engine).begin() as session:
            stored = await record_screening(
                session,
                rec,
                findings,
                Delivery("it", datetime.now(UTC)),
                ruleset_version=1,
                list_version=None,
            )
        assert stored is not None
        return stored.new_findings
    finally:
        await engine.dispose()


async def test_storing_the_same_screening_twice_leaves_one_row_each(database_url: str) -> None:
    rec = record()
    assert await store(database_url, rec, [finding("HT.territory")]) == 1
    assert await store(database_url, rec, [finding("HT.territory")]) == 0
    assert sql(database_url, "SELECT count(*), max(times_screened) FROM screened_transfers") == [
        (1, 2)
    ]
    assert sql(database_url, "SELECT count(*) FROM findings") == [(1,)]


async def test_a_corrected_record_supersedes_findings_it_no_longer_yields(
    database_url: str,
) -> None:
    await store(database_url, record(), [finding("HT.territory")])
    corrected = record(transfer_date="2023-06-15")
    await store(database_url, corrected, [])
    rows = sql(database_url, "SELECT superseded_at IS NOT NULL FROM findings")
    assert rows == [(True,)]
    assert sql(database_url, "SELECT transfer_date::text FROM screened_transfers") == [
        ("2023-06-15",)
    ]


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    migrate.check(database_url)


def test_migrations_apply_to_an_empty_database(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    tables = {
        r[0]
        for r in sql(
            empty_database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
    }
    assert {"screened_transfers", "findings", "rejected_records", "alembic_version"} <= tables
