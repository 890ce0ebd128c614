"""Storing a screened transfer and its findings, idempotently.

:func:`record_screening` may be called any number of times for the same
record (Kafka redelivery, a restart before the offset commit, an integrator
re-sending): it leaves exactly one transfer row and one row per distinct
finding. A corrected re-send (same record_id, different content) replaces the
stored record and marks findings it no longer yields as superseded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.findings import Finding
from services.store.models import FindingRow, ScreenedTransfer
from services.store.outcomes import Delivery, Stored


def record_digest(record: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def record_screening(
    session: AsyncSession,
    record: dict[str, Any],
    findings: Sequence[Finding],
    delivery: Delivery,
    *,
    ruleset_version: int,
    list_version: str | None,
) -> Stored:
    """Upsert the transfer and insert its findings; the caller commits."""
    digest = record_digest(record)
    previous = await session.scalar(
        select(ScreenedTransfer.record_sha256).where(
            ScreenedTransfer.integrator == delivery.integrator,
            ScreenedTransfer.record_id == record["record_id"],
        )
    )
    values = {
        "integrator": delivery.integrator,
        "record_id": record["record_id"],
        "record": record,
        "record_sha256": digest,
        "transfer_date": record["transfer_date"],
        "origin": record["route"]["origin"],
        "destination": record["route"]["destination"],
        "received_at": delivery.received_at,
        "ruleset_version": ruleset_version,
        "list_version": list_version,
        "kafka_topic": delivery.topic,
        "kafka_partition": delivery.partition,
        "kafka_offset": delivery.offset,
    }
    insert_stmt = insert(ScreenedTransfer).values(values)
    upsert = insert_stmt.on_conflict_do_update(
        index_elements=["integrator", "record_id"],
        set_={
            **{k: insert_stmt.excluded[k] for k in values if k not in ("integrator", "record_id")},
            "screened_at": func.now(),
            "times_screened": ScreenedTransfer.times_screened + 1,
        },
    ).returning(ScreenedTransfer.id)
    transfer_id = (await session.execute(upsert)).scalar_one()
    new = await _insert_findings(session, transfer_id, findings)
    revised = previous is not None and previous != digest
    if revised:
        # Findings it no longer yields are superseded; those it yields again are in force again.
        # Findings on sets of transfers kept on this one are record_patterns' to decide.
        keys = [f.key for f in findings] or [""]
        await session.execute(
            update(FindingRow)
            .where(FindingRow.transfer_id == transfer_id, FindingRow.pattern_group.is_(None))
            .values(
                superseded_at=case(
                    (FindingRow.finding_key.in_(keys), None),
                    else_=func.coalesce(FindingRow.superseded_at, func.now()),
                )
            )
        )
    return Stored(transfer_id, new, revised)


async def _insert_findings(
    session: AsyncSession, transfer_id: int, findings: Sequence[Finding]
) -> int:
    if not findings:
        return 0
    rows = [{"transfer_id": transfer_id, "finding_key": f.key, **f.to_dict()} for f in findings]
    stmt = (
        insert(FindingRow)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["transfer_id", "finding_key"])
        .returning(FindingRow.id)
    )
    return len((await session.execute(stmt)).all())
