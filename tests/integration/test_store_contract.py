"""The same cases on the in-memory store and the real one, so the fake cannot drift.

PostgreSQL is read back through the read side the HTTP API uses; the memory store
answers the same question itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from services.core.findings import DesignatedRef, Finding, Kind, PartyRef, Severity
from services.core.validation import Rejection
from services.store import db, reads
from services.store.memory import MemoryStore
from services.store.outcomes import (
    ContentRefused,
    Delivery,
    Refusal,
    Screening,
    ScreeningStore,
    Versions,
)
from services.store.postgres import PostgresStore
from services.store.reads import Rejected, Screened, TransferStatus
from services.store.rejections import RejectionKind
from tests.records import record

pytestmark = pytest.mark.integration

DELIVERY = Delivery("it", datetime(2024, 11, 21, tzinfo=UTC), "transfers.v1", 0, 3)
VERSIONS = Versions(4, "2024-11-01")


@dataclass
class Store:
    writes: ScreeningStore
    status: Callable[[str, str], Awaitable[TransferStatus | None]]

    async def screen(self, rec: dict[str, Any], findings: list[Finding]) -> tuple[int, bool]:
        (stored,) = await self.writes.record_batch(
            [Screening(rec, findings, DELIVERY)], [], VERSIONS
        )
        assert stored is not None
        return stored.new_findings, stored.revised

    async def reject(self, integrator: str, rejections: list[Rejection]) -> None:
        refusals = [Refusal(integrator, r, RejectionKind.SCHEMA) for r in rejections]
        await self.writes.record_batch([], refusals, VERSIONS)

    async def findings(self, record_id: str = "r-0") -> list[str]:
        status = await self.status("it", record_id)
        assert isinstance(status, Screened), status
        return [f["rule_id"] for f in status.findings]


@pytest.fixture(params=["memory", "postgres"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        memory = MemoryStore()
        yield Store(memory, memory.transfer_status)
        return
    engine = db.async_engine(request.getfixturevalue("database_url"))
    try:
        yield Store(PostgresStore(engine), partial(reads.transfer_status, engine))
    finally:
        await engine.dispose()


FINDING = Finding(
    record_id="r-0",
    kind=Kind.VIOLATION,
    regime="HT",
    rule_id="HT.territory",
    phase="HT-2752-all-arms-territorial",
    severity=Severity.HIGH,
    summary="Pistols to a company in Haiti.",
    citations=("S/RES/2752 (2024), para 2",),
    ruleset_version=4,
    list_version="2024-11-01",
)


def finding(rule: str, **changes: Any) -> Finding:
    return replace(FINDING, rule_id=rule, **changes)


async def test_a_screening_reads_back_as_finding_to_dict_gave_it(store: Store) -> None:
    findings = [
        finding(
            "HT.designated",
            party=PartyRef("end_user", "Jimmy Chérizier"),
            designated=DesignatedRef("HTi.001", "Jimmy CHERIZIER", "Jimmy Cherizier", 0.912345),
            evidence={"score": 0.9123, "names": ["Jimmy Chérizier"], "why": {"b": 1, "a": None}},
        ),
        finding("indicator.x", kind=Kind.INDICATOR, regime=None, phase=None, citations=()),
    ]
    assert await store.screen(record(), findings) == (2, False)

    status = await store.status("it", "r-0")
    assert isinstance(status, Screened)
    assert status.record_id == "r-0"
    assert (status.ruleset_version, status.list_version) == (4, "2024-11-01")
    assert status.screened_at.tzinfo is not None
    assert list(status.findings) == [f.to_dict() for f in findings]


async def test_storing_the_same_screening_again_adds_nothing(store: Store) -> None:
    assert await store.screen(record(), [finding("A"), finding("B")]) == (2, False)
    assert await store.screen(record(), [finding("A"), finding("B")]) == (0, False)
    assert await store.findings() == ["A", "B"]


async def test_a_corrected_record_supersedes_the_findings_it_no_longer_yields(
    store: Store,
) -> None:
    await store.screen(record(), [finding("A"), finding("B")])
    corrected = record(transfer_date="2023-06-15")
    assert await store.screen(corrected, [finding("B"), finding("C")]) == (1, True)
    assert await store.findings() == ["B", "C"]


async def test_a_superseded_finding_is_in_force_again_when_the_record_is_put_back(
    store: Store,
) -> None:
    await store.screen(record(), [finding("A")])
    await store.screen(record(transfer_date="2023-06-15"), [])
    assert await store.findings() == []
    assert await store.screen(record(), [finding("A")]) == (0, True)
    assert await store.findings() == ["A"]


async def test_rejections_are_kept_once_per_payload_with_the_latest_reasons(store: Store) -> None:
    await store.reject(
        "it",
        [
            Rejection(0, "bad-1", ("one", "two"), "raw-1"),
            Rejection(1, "bad-1", ("three",), "raw-2"),
        ],
    )
    await store.reject("it", [Rejection(0, "bad-1", ("one again",), "raw-1")])
    status = await store.status("it", "bad-1")
    assert isinstance(status, Rejected)
    assert sorted(status.reasons) == ["one again", "three"]


async def test_a_nul_in_a_rejection_is_kept_as_a_replacement_character(store: Store) -> None:
    await store.reject("it", [Rejection(0, "bad-2", ("a\x00b",), "\x00")])
    assert await store.status("it", "bad-2") == Rejected("bad-2", ("a\ufffdb",))


async def test_a_record_screened_after_a_rejection_is_screened(store: Store) -> None:
    await store.reject("it", [Rejection(0, "r-0", ("no",), "raw")])
    await store.screen(record(), [])
    assert await store.findings() == []


async def test_what_was_never_stored_has_no_status(store: Store) -> None:
    await store.screen(record(), [finding("A")])
    assert await store.status("it", "other") is None
    assert await store.status("someone-else", "r-0") is None


async def test_postgresql_refuses_content_it_cannot_hold_and_keeps_nothing(
    database_url: str,
) -> None:
    engine = db.async_engine(database_url)
    try:
        rec = record(route={"origin": "USA", "destination": "HT"})
        with pytest.raises(
            ContentRefused, match=r"^PostgreSQL refused to store it: value too long"
        ):
            await PostgresStore(engine).record_batch(
                [Screening(rec, [finding("A")], DELIVERY)], [], VERSIONS
            )
        assert await reads.transfer_status(engine, "it", "r-0") is None
    finally:
        await engine.dispose()
