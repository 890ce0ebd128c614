"""What the ingest HTTP API reads: where a record stands, and its findings in force.

Findings come back as :class:`~services.core.findings.FindingDict`, the shape
``Finding.to_dict`` gives, built from the columns that shape was stored in
(:func:`finding_dict`, which the review workspace's finding page uses too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.core.findings import DesignatedDict, FindingDict, PartyDict
from services.store import db
from services.store.models import FindingRow, RejectedRecord, ScreenedTransfer


@dataclass(frozen=True, slots=True)
class Screened:
    """A screened record and its findings in force (none superseded), in the order stored."""

    record_id: str
    screened_at: datetime
    ruleset_version: int
    list_version: str | None
    findings: tuple[FindingDict, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record kept as rejected: the reasons of every payload kept under its record_id."""

    record_id: str
    reasons: tuple[str, ...]


TransferStatus = Screened | Rejected


async def transfer_status(
    engine: AsyncEngine, integrator: str, record_id: str
) -> TransferStatus | None:
    """Where ``record_id`` from ``integrator`` stands; None if it was neither screened nor
    rejected (yet). A record both screened and rejected is screened."""
    async with db.sessions(engine)() as session:
        transfer = await session.scalar(
            select(ScreenedTransfer).where(
                ScreenedTransfer.integrator == integrator, ScreenedTransfer.record_id == record_id
            )
        )
        if transfer is None:
            return await _rejected(session, integrator, record_id)
        return Screened(
            record_id,
            transfer.screened_at,
            transfer.ruleset_version,
            transfer.list_version,
            await _findings_in_force(session, transfer.id),
        )


async def _rejected(session: AsyncSession, integrator: str, record_id: str) -> Rejected | None:
    rows = (
        await session.scalars(
            select(RejectedRecord).where(
                RejectedRecord.integrator == integrator, RejectedRecord.record_id == record_id
            )
        )
    ).all()
    if not rows:
        return None
    return Rejected(record_id, tuple(reason for row in rows for reason in row.reasons))


async def _findings_in_force(session: AsyncSession, transfer_id: int) -> tuple[FindingDict, ...]:
    rows = await session.scalars(
        select(FindingRow)
        .where(FindingRow.transfer_id == transfer_id, FindingRow.superseded_at.is_(None))
        .order_by(FindingRow.id)
    )
    return tuple(finding_dict(row) for row in rows)


def finding_dict(row: FindingRow) -> FindingDict:
    """The finding as ``Finding.to_dict`` gave it when stored (JSON columns come back from
    PostgreSQL with their keys in its own order)."""
    return {
        "record_id": row.record_id,
        "kind": row.kind.value,
        "regime": row.regime,
        "rule_id": row.rule_id,
        "phase": row.phase,
        "severity": row.severity.value,
        "summary": row.summary,
        "citations": row.citations,
        # The columns hold what PartyRef.to_dict and DesignatedRef.to_dict wrote.
        "party": cast("PartyDict | None", row.party),
        "designated": cast("DesignatedDict | None", row.designated),
        "evidence": row.evidence,
        "ruleset_version": row.ruleset_version,
        "list_version": row.list_version,
    }
