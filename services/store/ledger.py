"""The ledger of accepted records: what ingest promised, until the matcher keeps its outcome.

Ingest inserts a request's accepted records in one statement, inside a transaction it
commits only once Kafka has acknowledged them (:func:`accept`). The matcher settles them in
the transaction that stores their outcome (:func:`settle`). A row still unsettled after a
while was lost on its way (a crash, the embedded broker's memory storage) or is stuck behind
one: the reconciler publishes it again (:func:`take_due`). Settling is by content digest, so
a corrected re-send accepted meanwhile stays pending until its own content is screened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import case, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.store.models import AcceptedRecord


def record_digest(record: dict[str, Any]) -> str:
    """The content digest a record is known by, whatever its keys' order."""
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()


SCREENED = "screened"
REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Settled:
    """The matcher's outcome for one record it read: which content, and how it ended."""

    integrator: str
    record_id: str
    record_sha256: str
    outcome: str


async def accept(
    session: AsyncSession, integrator: str, records: Sequence[dict[str, Any]], received_at: datetime
) -> None:
    """Insert (or replace) the ledger rows of ``records``, one statement; the caller commits.

    A re-send of the same content leaves a settled row settled; other content is pending.
    """
    if not records:
        return
    rows = {
        r["record_id"]: {
            "integrator": integrator,
            "record_id": r["record_id"],
            "record": r,
            "record_sha256": record_digest(r),
            "received_at": received_at,
        }
        for r in records  # one statement cannot touch one key twice: the last one sent wins
    }
    stmt = insert(AcceptedRecord).values(list(rows.values()))
    same = AcceptedRecord.record_sha256 == stmt.excluded.record_sha256
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["integrator", "record_id"],
            set_={
                "record": stmt.excluded.record,
                "record_sha256": stmt.excluded.record_sha256,
                "received_at": stmt.excluded.received_at,
                "published_at": func.now(),
                "times_published": AcceptedRecord.times_published + 1,
                "settled_at": case((same, AcceptedRecord.settled_at), else_=None),
                "outcome": case((same, AcceptedRecord.outcome), else_=None),
            },
        )
    )


_SETTLE = text(
    """
    UPDATE accepted_records AS a SET settled_at = now(), outcome = :outcome
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS s(integrator text, record_id text, record_sha256 text)
    WHERE a.integrator = s.integrator AND a.record_id = s.record_id
      AND a.record_sha256 = s.record_sha256 AND a.settled_at IS NULL
    """
)


async def settle(session: AsyncSession, settled: Iterable[Settled]) -> None:
    """Mark these contents settled with their outcome; rows now holding other content (a
    corrected re-send accepted meanwhile) stay pending. One statement an outcome, with the
    rows as one JSON document, whatever their number."""
    by_outcome: dict[str, list[dict[str, str]]] = {}
    for s in settled:
        by_outcome.setdefault(s.outcome, []).append(
            {"integrator": s.integrator, "record_id": s.record_id, "record_sha256": s.record_sha256}
        )
    for outcome, rows in by_outcome.items():
        await session.execute(_SETTLE, {"outcome": outcome, "rows": orjson.dumps(rows).decode()})


async def settle_screened(
    session: AsyncSession, screened: Sequence[tuple[str, dict[str, Any], str, datetime]]
) -> None:
    """Settle these (integrator, record, digest, received_at) as screened, one statement.

    An upsert rather than an update: the matcher can read a record before the ingest
    transaction that published it has committed its ledger row. The insert then waits
    on that row's key until ingest commits, and settles it; an update would find nothing
    yet and leave the row pending until the reconciler sent it again. A record that came
    straight to Kafka gets a settled row of its own.
    """
    if not screened:
        return
    rows = [
        {
            "integrator": integrator,
            "record_id": record["record_id"],
            "record": record,
            "record_sha256": digest,
            "received_at": received_at,
        }
        for integrator, record, digest, received_at in screened
    ]
    await session.execute(_SETTLE_SCREENED, {"rows": orjson.dumps(rows).decode()})


_SETTLE_SCREENED = text(
    """
    INSERT INTO accepted_records AS a (
        integrator, record_id, record, record_sha256, received_at, settled_at, outcome)
    SELECT integrator, record_id, record, record_sha256, received_at, now(), 'screened'
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS s(
        integrator text, record_id text, record jsonb, record_sha256 text,
        received_at timestamptz)
    ON CONFLICT (integrator, record_id) DO UPDATE SET
        settled_at = CASE WHEN a.record_sha256 = excluded.record_sha256
                          THEN coalesce(a.settled_at, now()) ELSE a.settled_at END,
        outcome = CASE WHEN a.record_sha256 = excluded.record_sha256
                       THEN 'screened' ELSE a.outcome END
    """
)


def unsettle_sync(session: Session, integrator: str, record_id: str) -> bool:
    """Make a settled record pending again (a rejected one replayed); False if the record
    has no ledger row (a record produced straight to Kafka)."""
    result = session.execute(
        update(AcceptedRecord)
        .where(AcceptedRecord.integrator == integrator, AcceptedRecord.record_id == record_id)
        .values(settled_at=None, outcome=None, published_at=func.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Due:
    integrator: str
    record: dict[str, Any]
    received_at: datetime


async def take_due(session: AsyncSession, older_than: timedelta, limit: int) -> list[Due]:
    """Pending rows last published more than ``older_than`` ago, oldest first, marked as
    published now; rows another reconciler holds are skipped. The caller publishes them
    and commits only then, so a failed publish leaves them due."""
    due = (
        select(AcceptedRecord.id)
        .where(
            AcceptedRecord.settled_at.is_(None),
            AcceptedRecord.published_at < func.now() - older_than,
        )
        .order_by(AcceptedRecord.received_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await session.execute(
        update(AcceptedRecord)
        .where(AcceptedRecord.id.in_(due.scalar_subquery()))
        .values(published_at=func.now(), times_published=AcceptedRecord.times_published + 1)
        .returning(AcceptedRecord.integrator, AcceptedRecord.record, AcceptedRecord.received_at)
    )
    return sorted((Due(*row) for row in rows), key=lambda d: d.received_at)


@dataclass(frozen=True, slots=True)
class Pending:
    integrator: str
    records: int
    oldest: datetime


_PENDING = (
    select(AcceptedRecord.integrator, func.count(), func.min(AcceptedRecord.received_at))
    .where(AcceptedRecord.settled_at.is_(None))
    .group_by(AcceptedRecord.integrator)
)


async def pending(session: AsyncSession) -> list[Pending]:
    """Unsettled records per integrator (on the partial index of pending rows)."""
    return [Pending(*row) for row in await session.execute(_PENDING)]


def pending_sync(session: Session) -> list[Pending]:
    return [Pending(*row) for row in session.execute(_PENDING)]


@dataclass(frozen=True, slots=True)
class IntegratorCounts:
    """Where one integrator's records stand (``ewatch status``, the matcher's gauges)."""

    integrator: str
    accepted: int
    screened: int
    rejected: int
    pending: int
    oldest_pending: datetime | None
    #: Records refused at the door (schema, malformed JSON), never accepted.
    refused: int


_COUNTS = text(
    """
    WITH ledger AS (
        SELECT integrator,
               count(*) AS accepted,
               count(*) FILTER (WHERE outcome = 'screened') AS screened,
               count(*) FILTER (WHERE outcome = 'rejected') AS rejected,
               count(*) FILTER (WHERE settled_at IS NULL) AS pending,
               min(received_at) FILTER (WHERE settled_at IS NULL) AS oldest_pending
        FROM accepted_records GROUP BY integrator
    ), refused AS (
        SELECT integrator, count(*) AS refused
        FROM rejected_records WHERE source = 'http' GROUP BY integrator
    )
    SELECT coalesce(l.integrator, r.integrator),
           coalesce(l.accepted, 0), coalesce(l.screened, 0), coalesce(l.rejected, 0),
           coalesce(l.pending, 0), l.oldest_pending, coalesce(r.refused, 0)
    FROM ledger l FULL JOIN refused r ON r.integrator = l.integrator
    ORDER BY 1
    """
)


async def counts(session: AsyncSession) -> list[IntegratorCounts]:
    return [IntegratorCounts(*row) for row in await session.execute(_COUNTS)]


def counts_sync(session: Session) -> list[IntegratorCounts]:
    return [IntegratorCounts(*row) for row in session.execute(_COUNTS)]
