"""The store in memory, for unit tests: what PostgreSQL would keep, in dictionaries.

It keeps the real store's promises (tests/integration/test_store_contract.py runs the
same cases on both) and answers the read side's :func:`transfer_status` the same way.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.core.findings import FindingDict
from services.store.ledger import record_digest
from services.store.outcomes import Delivery, Refusal, Screening, Stored, Versions
from services.store.reads import Rejected, Screened, TransferStatus
from services.store.rejections import rejection_rows


@dataclass
class TransferEntry:
    """One screened transfer, as a ``screened_transfers`` row and its findings."""

    id: int
    record: dict[str, Any]
    record_sha256: str
    delivery: Delivery
    ruleset_version: int
    list_version: str | None
    screened_at: datetime
    times_screened: int = 1
    #: Finding key -> the finding, in the order first stored.
    findings: dict[str, FindingDict] = field(default_factory=dict)
    superseded: set[str] = field(default_factory=set)


@dataclass
class RejectionEntry:
    """One ``rejected_records`` row."""

    row: dict[str, Any]
    times_seen: int = 1


@dataclass
class MemoryStore:
    """:class:`~services.store.outcomes.ScreeningStore` in memory; never raises."""

    #: (integrator, record_id) -> the transfer.
    transfers: dict[tuple[str, str], TransferEntry] = field(default_factory=dict)
    #: (integrator, sha256 of the payload) -> the rejection, in the order first kept.
    rejections: dict[tuple[str, str], RejectionEntry] = field(default_factory=dict)

    async def record_batch(
        self, screenings: Sequence[Screening], refusals: Sequence[Refusal], versions: Versions
    ) -> list[Stored | None]:
        stored: list[Stored | None] = [self._screening(s, versions) for s in screenings]
        for r in refusals:
            self._refusal(r)
        return stored

    def _screening(self, screening: Screening, versions: Versions) -> Stored:
        record, findings, delivery = screening.record, screening.findings, screening.delivery
        digest = record_digest(record)
        previous = self.transfers.get(screening.key)
        entry = TransferEntry(
            previous.id if previous else len(self.transfers) + 1,
            copy.deepcopy(record),
            digest,
            delivery,
            versions.ruleset,
            versions.sanctions_list,
            datetime.now(UTC),
            previous.times_screened + 1 if previous else 1,
            previous.findings if previous else {},
            previous.superseded if previous else set(),
        )
        self.transfers[screening.key] = entry
        new = [f for f in findings if f.key not in entry.findings]
        entry.findings.update((f.key, f.to_dict()) for f in new)
        revised = previous is not None and previous.record_sha256 != digest
        if revised:
            keys = {f.key for f in findings}
            entry.superseded = {k for k in entry.findings if k not in keys}
        return Stored(entry.id, len({f.key for f in new}), revised)

    def _refusal(self, refusal: Refusal) -> None:
        rows = rejection_rows(
            refusal.integrator, [refusal.rejection], "kafka", reason_kind=refusal.kind
        )
        for row in rows:
            key = (row["integrator"], row["raw_sha256"])
            kept = self.rejections.get(key)
            if kept is None:
                self.rejections[key] = RejectionEntry(row)
            else:
                kept.row["reasons"] = row["reasons"]
                kept.row["reason_kind"] = row["reason_kind"]
                kept.times_seen += 1

    async def transfer_status(self, integrator: str, record_id: str) -> TransferStatus | None:
        """As :func:`services.store.reads.transfer_status` answers."""
        entry = self.transfers.get((integrator, record_id))
        if entry is None:
            rows = [
                kept.row
                for kept in self.rejections.values()
                if (kept.row["integrator"], kept.row["record_id"]) == (integrator, record_id)
            ]
            reasons = tuple(reason for row in rows for reason in row["reasons"])
            return Rejected(record_id, reasons) if rows else None
        return Screened(
            record_id,
            entry.screened_at,
            entry.ruleset_version,
            entry.list_version,
            tuple(f for k, f in entry.findings.items() if k not in entry.superseded),
        )
