"""Storing screened transfers and their findings, idempotently, a batch at a time.

:func:`record_screenings` may be called any number of times for the same
records (Kafka redelivery, a restart before the offset commit, an integrator
re-sending, the reconciler publishing again): it leaves exactly one transfer row
per (integrator, record_id) and one row per distinct finding. A corrected re-send
(same record_id, other content) replaces the stored record and marks the findings
it no longer yields as superseded. A batch is a handful of statements, whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Update, case, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.findings import Finding
from services.core.visibility import findings_visibility, search_columns
from services.store import ledger, visibility
from services.store.ledger import record_digest
from services.store.models import AcceptedRecord, FindingRow, ScreenedTransfer
from services.store.outcomes import Delivery, Screening, Stored

RESENT = "a corrected re-send of the record no longer yields it"

#: Rows per INSERT: PostgreSQL takes at most 65,535 parameters in one statement.
ROWS_PER_STATEMENT = 2_000


async def record_screenings(
    session: AsyncSession,
    screenings: Sequence[Screening],
    *,
    ruleset_version: int,
    list_version: str | None,
) -> list[Stored | None]:
    """Upsert the transfers and insert their findings; the caller commits.

    Returns, for each screening in order, what was stored, or None where the ledger
    holds newer content for that record (an older version delivered late: keeping it
    would undo the correction). Within the batch the last delivery of a record wins.
    """
    if not screenings:
        return []
    latest = {s.key: s for s in screenings}
    keys = list(latest)
    digests = {k: record_digest(s.record) for k, s in latest.items()}
    previous = {
        (integrator, record_id): digest
        for integrator, record_id, digest in await session.execute(
            select(
                ScreenedTransfer.integrator,
                ScreenedTransfer.record_id,
                ScreenedTransfer.record_sha256,
            ).where(tuple_(ScreenedTransfer.integrator, ScreenedTransfer.record_id).in_(keys))
        )
    }
    stale = {
        (integrator, record_id)
        for integrator, record_id, digest, received_at in await session.execute(
            select(
                AcceptedRecord.integrator,
                AcceptedRecord.record_id,
                AcceptedRecord.record_sha256,
                AcceptedRecord.received_at,
            ).where(tuple_(AcceptedRecord.integrator, AcceptedRecord.record_id).in_(keys))
        )
        if digest != digests[(integrator, record_id)]
        and received_at > latest[(integrator, record_id)].delivery.received_at
    }
    keep = [k for k in keys if k not in stale]
    ids = await _upsert_transfers(
        session, [latest[k] for k in keep], digests, ruleset_version, list_version
    )
    territories = await visibility.territories(session, ruleset_version)
    new = await _insert_findings(
        session,
        [
            (
                ids[k],
                latest[k].findings,
                findings_visibility(latest[k].record, latest[k].findings, territories),
            )
            for k in keep
        ],
    )
    revised = {k for k in keep if k in previous and previous[k] != digests[k]}
    for k in revised:
        yielded = [f.key for f in latest[k].findings]
        await session.execute(supersede_unyielded(ids[k], yielded, RESENT))
    await ledger.settle_screened(
        session,
        [(k[0], latest[k].record, digests[k], latest[k].delivery.received_at) for k in keep],
    )
    return [
        None
        if s.key in stale
        else Stored(
            ids[s.key], new.get(ids[s.key], 0) if s is latest[s.key] else 0, s.key in revised
        )
        for s in screenings
    ]


async def _upsert_transfers(
    session: AsyncSession,
    screenings: Sequence[Screening],
    digests: dict[tuple[str, str], str],
    ruleset_version: int,
    list_version: str | None,
) -> dict[tuple[str, str], int]:
    ids: dict[tuple[str, str], int] = {}
    for start in range(0, len(screenings), ROWS_PER_STATEMENT):
        values = [
            {
                "integrator": s.delivery.integrator,
                "record_id": s.record["record_id"],
                "record": s.record,
                "record_sha256": digests[s.key],
                "transfer_date": s.record["transfer_date"],
                "origin": s.record["route"]["origin"],
                "destination": s.record["route"]["destination"],
                "received_at": s.delivery.received_at,
                "ruleset_version": ruleset_version,
                "list_version": list_version,
                "kafka_topic": s.delivery.topic,
                "kafka_partition": s.delivery.partition,
                "kafka_offset": s.delivery.offset,
                **search_columns(s.record),
            }
            for s in screenings[start : start + ROWS_PER_STATEMENT]
        ]
        stmt = insert(ScreenedTransfer).values(values)
        upsert = stmt.on_conflict_do_update(
            index_elements=["integrator", "record_id"],
            set_={
                **{k: stmt.excluded[k] for k in values[0] if k not in ("integrator", "record_id")},
                "screened_at": func.now(),
                "times_screened": ScreenedTransfer.times_screened + 1,
            },
        ).returning(ScreenedTransfer.integrator, ScreenedTransfer.record_id, ScreenedTransfer.id)
        ids.update(((i, r), t) for i, r, t in await session.execute(upsert))
    return ids


async def _insert_findings(
    session: AsyncSession,
    found: Sequence[tuple[int, Sequence[Finding], Sequence[Sequence[str]]]],
) -> dict[int, int]:
    """Insert what is not there yet, each finding with the regimes that see it; return the
    number of new findings per transfer id."""
    rows = [
        {"transfer_id": transfer_id, "finding_key": f.key, **f.to_dict(), "visible_regimes": seen}
        for transfer_id, findings, visible in found
        for f, seen in zip(findings, visible, strict=True)
    ]
    new: dict[int, int] = {}
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        stmt = (
            insert(FindingRow)
            .values(rows[start : start + ROWS_PER_STATEMENT])
            .on_conflict_do_nothing(index_elements=["transfer_id", "finding_key"])
            .returning(FindingRow.transfer_id)
        )
        for (transfer_id,) in await session.execute(stmt):
            new[transfer_id] = new.get(transfer_id, 0) + 1
    return new


def supersede_unyielded(
    transfer_id: int, yielded: Sequence[str], reason: str | None = None
) -> Update:
    """The statement that brings a transfer's findings in line with the keys it now yields.

    Findings it no longer yields are superseded (a finding superseded before keeps its time
    and reason; one newly superseded takes ``reason``); those it yields again are in force
    again. The matcher (a corrected re-send) and ``ewatch rescreen`` share this rule.
    Findings on sets of transfers filed on this one are ``record_patterns``' to decide.
    """
    keys = list(yielded) or [""]
    kept = FindingRow.finding_key.in_(keys)
    return (
        update(FindingRow)
        .where(FindingRow.transfer_id == transfer_id, FindingRow.pattern_group.is_(None))
        .values(
            superseded_at=case(
                (kept, None), else_=func.coalesce(FindingRow.superseded_at, func.now())
            ),
            superseded_reason=case(
                (kept, None),
                (FindingRow.superseded_at.is_(None), reason),
                else_=FindingRow.superseded_reason,
            ),
        )
    )


async def record_screening(
    session: AsyncSession,
    record: dict[str, Any],
    findings: Sequence[Finding],
    delivery: Delivery,
    *,
    ruleset_version: int,
    list_version: str | None,
) -> Stored | None:
    """:func:`record_screenings` of one record."""
    (stored,) = await record_screenings(
        session,
        [Screening(record, findings, delivery)],
        ruleset_version=ruleset_version,
        list_version=list_version,
    )
    return stored
