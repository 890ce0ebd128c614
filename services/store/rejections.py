"""Keeping every rejected record with its reasons, once per distinct payload; reading them
back for an operator, and marking the ones sent to be screened again."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.core.validation import Rejection
from services.store.models import AcceptedRecord, RejectedRecord, ScreenedTransfer

#: Raw payloads are kept for audit up to this size; the digest covers the whole.
MAX_RAW_CHARS = 64 * 1024
#: The longest record_id kept (the column's size). A longer one, which the schema refuses
#: anyway, is kept only inside the payload: refusing the row would refuse the rejection.
MAX_RECORD_ID_CHARS = 200


class RejectionKind(StrEnum):
    """Why a record was rejected: what an operator filters on and what may be replayed."""

    #: Ingest: a record the schema refuses; JSON that does not parse; a body it cannot read.
    SCHEMA = "schema"
    MALFORMED_JSON = "malformed_json"
    BODY = "body"
    #: Matcher: a message that is not a transfer envelope.
    MALFORMED = "malformed"
    #: Matcher: screening raised (a bug); PostgreSQL refused the content. Both may be replayed.
    ERROR = "error"
    REFUSED = "refused"


REASON_KINDS = tuple(RejectionKind)
#: The kinds a fix on our side can cure: the same payload may be screened again.
REPLAYABLE_KINDS = frozenset({RejectionKind.ERROR, RejectionKind.REFUSED})
#: The source of rejections made by the matcher: ``raw`` is the Kafka message value.
KAFKA = "kafka"


async def record_rejections(
    session: AsyncSession,
    integrator: str,
    rejections: Sequence[Rejection],
    source: str,
    *,
    reason_kind: str = RejectionKind.SCHEMA,
) -> None:
    """Insert the rejections; a payload seen before only bumps its counters (its reasons
    and kind become the latest ones)."""
    rows = rejection_rows(integrator, rejections, source, reason_kind=reason_kind)
    if not rows:
        return
    stmt = insert(RejectedRecord).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["integrator", "raw_sha256"],
        set_={
            "last_seen_at": func.now(),
            "times_seen": RejectedRecord.times_seen + 1,
            "reasons": stmt.excluded.reasons,
            "reason_kind": stmt.excluded.reason_kind,
        },
    )
    await session.execute(stmt)


def rejection_rows(
    integrator: str,
    rejections: Sequence[Rejection],
    source: str,
    *,
    reason_kind: str = RejectionKind.SCHEMA,
) -> list[dict[str, Any]]:
    """The rows to keep, one per distinct payload (the last one sent wins)."""
    rows = [
        {
            "integrator": _storable(integrator),
            "record_id": _record_id(r.record_id),
            "raw": _storable(r.raw[:MAX_RAW_CHARS]),
            "raw_sha256": hashlib.sha256(r.raw.encode()).hexdigest(),
            "reasons": [_storable(reason) for reason in r.reasons],
            "source": source,
            "reason_kind": reason_kind,
        }
        for r in rejections
    ]
    # One statement cannot touch the same conflict key twice.
    return list({row["raw_sha256"]: row for row in rows}.values())


def _record_id(record_id: str | None) -> str | None:
    if record_id is None or len(record_id) > MAX_RECORD_ID_CHARS:
        return None
    return _storable(record_id)


def _storable(text: str) -> str:
    """``text`` as a PostgreSQL text column can hold it: a NUL character, which none can,
    becomes U+FFFD, so a rejection is kept whatever bytes were sent."""
    return text.replace("\x00", "\ufffd")


# --- Reading them back -------------------------------------------------------------------


def _filtered(
    stmt: Select[Any],
    integrator: str | None,
    reason_kind: str | None,
    source: str | None,
    since: datetime | None,
) -> Select[Any]:
    if integrator is not None:
        stmt = stmt.where(RejectedRecord.integrator == integrator)
    if reason_kind is not None:
        stmt = stmt.where(RejectedRecord.reason_kind == reason_kind)
    if source is not None:
        stmt = stmt.where(RejectedRecord.source == source)
    if since is not None:
        stmt = stmt.where(RejectedRecord.last_seen_at >= since)
    return stmt


def list_rejections(
    session: Session,
    *,
    integrator: str | None = None,
    reason_kind: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    limit: int | None = 100,
) -> list[RejectedRecord]:
    """Rejections matching every filter given, last seen first (``since``: seen since)."""
    stmt = _filtered(select(RejectedRecord), integrator, reason_kind, source, since)
    stmt = stmt.order_by(RejectedRecord.last_seen_at.desc(), RejectedRecord.id.desc())
    return list(session.scalars(stmt.limit(limit)))


def count_rejections(
    session: Session,
    *,
    integrator: str | None = None,
    reason_kind: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
) -> int:
    """How many rejections :func:`list_rejections` would give without a limit."""
    stmt = _filtered(
        select(func.count()).select_from(RejectedRecord), integrator, reason_kind, source, since
    )
    return session.scalar(stmt) or 0


def rejection(session: Session, rejection_id: int) -> RejectedRecord | None:
    return session.get(RejectedRecord, rejection_id)


def rejections_by_id(session: Session, ids: Iterable[int]) -> dict[int, RejectedRecord]:
    """The rejections of ``ids`` that exist, locked until the transaction ends, so two
    operators replaying the same ids do not both count it."""
    stmt = select(RejectedRecord).where(RejectedRecord.id.in_(list(ids))).with_for_update()
    return {row.id: row for row in session.scalars(stmt)}


_BY_KIND = select(RejectedRecord.reason_kind, func.count()).group_by(RejectedRecord.reason_kind)


def _with_every_kind(rows: Iterable[Any]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(REASON_KINDS, 0)
    counts.update((kind, n) for kind, n in rows)
    return counts


async def rejected_by_kind(session: AsyncSession) -> dict[str, int]:
    """Rejected records kept, by reason kind, every known kind present (0 if none): the
    matcher's gauge ``ewatch_matcher_rejected_records``."""
    return _with_every_kind(await session.execute(_BY_KIND))


def counts_by_integrator(session: Session) -> dict[str, dict[str, int]]:
    """Rejected records kept, by integrator, then by reason kind (only kinds it has)."""
    stmt = (
        select(RejectedRecord.integrator, RejectedRecord.reason_kind, func.count())
        .group_by(RejectedRecord.integrator, RejectedRecord.reason_kind)
        .order_by(RejectedRecord.integrator, RejectedRecord.reason_kind)
    )
    counts: dict[str, dict[str, int]] = {}
    for integrator, kind, n in session.execute(stmt):
        counts.setdefault(integrator, {})[kind] = n
    return counts


# --- Replays -----------------------------------------------------------------------------


def was_cut(row: RejectedRecord) -> bool:
    """Whether ``raw`` is only the first :data:`MAX_RAW_CHARS` of what was sent."""
    return len(row.raw) >= MAX_RAW_CHARS and not _kept_whole(row)


def _kept_whole(row: RejectedRecord) -> bool:
    return hashlib.sha256(row.raw.encode()).hexdigest() == row.raw_sha256


def replayed_since_rejected(row: RejectedRecord) -> bool:
    """Replayed, and not rejected again since (the replay may still be on its way)."""
    return row.replayed_at is not None and row.replayed_at >= row.last_seen_at


def replay_refusal(row: RejectedRecord) -> str | None:
    """Why ``row`` cannot be sent to be screened again as it is kept; None if it can.

    Only what a fix on our side cures is replayed (an internal error, a store refusal);
    a record that breaks the contract must be corrected and sent again by its integrator.
    """
    if row.reason_kind not in REPLAYABLE_KINDS:
        if row.reason_kind in (
            RejectionKind.SCHEMA,
            RejectionKind.MALFORMED_JSON,
            RejectionKind.BODY,
            RejectionKind.MALFORMED,
        ):
            return (
                f"a {row.reason_kind} rejection: what was sent breaks the contract; "
                f"the integrator ({row.integrator}) must correct it and send it again"
            )
        return f"reason kind {row.reason_kind!r} is not one a replay can cure"
    if row.source != KAFKA:
        return f"rejected at {row.source}, not by the matcher: nothing kept to publish again"
    if was_cut(row):
        return (
            f"its payload was cut at the {MAX_RAW_CHARS // 1024} KiB kept; "
            f"the integrator ({row.integrator}) must send it again"
        )
    if not _kept_whole(row):
        return "the payload kept is not byte for byte what was sent (NUL characters replaced)"
    if row.record_id is None:
        return "it has no record_id to key the message with"
    return None


def replayable_ids(session: Session) -> list[int]:
    """Internal-error and store-refusal rejections awaiting a replay: never replayed, or
    rejected again since their last replay. Oldest first."""
    stmt = (
        select(RejectedRecord.id)
        .where(
            RejectedRecord.reason_kind.in_(REPLAYABLE_KINDS),
            or_(
                RejectedRecord.replayed_at.is_(None),
                RejectedRecord.replayed_at < RejectedRecord.last_seen_at,
            ),
        )
        .order_by(RejectedRecord.first_seen_at, RejectedRecord.id)
        .with_for_update(skip_locked=True)  # another operator replaying them now has them
    )
    return list(session.scalars(stmt))


def accepted_row(session: Session, integrator: str, record_id: str) -> AcceptedRecord | None:
    """The ledger row of this record, if ingest accepted it (the latest content accepted)."""
    return session.scalar(
        select(AcceptedRecord).where(
            AcceptedRecord.integrator == integrator, AcceptedRecord.record_id == record_id
        )
    )


def newer_content(
    session: Session, integrator: str, record_id: str, record_sha256: str, rejected_at: datetime
) -> str | None:
    """Why screening this content now would overwrite a newer version of the record (None
    if it would not): the ledger holds other content (it keeps the latest accepted), or,
    for a record with no ledger row, other content was screened after this rejection."""
    accepted = accepted_row(session, integrator, record_id)
    if accepted is not None:
        if accepted.record_sha256 != record_sha256:
            return f"record {record_id} of {integrator} was sent again with other content since"
        return None
    screened = session.scalar(
        select(ScreenedTransfer.record_sha256).where(
            ScreenedTransfer.integrator == integrator,
            ScreenedTransfer.record_id == record_id,
            ScreenedTransfer.screened_at > rejected_at,
        )
    )
    if screened is not None and screened != record_sha256:
        return f"other content of record {record_id} of {integrator} was screened since"
    return None


def mark_replayed(session: Session, ids: Sequence[int]) -> None:
    """Record that these rejections were sent to be screened again, now."""
    if not ids:
        return
    session.execute(
        update(RejectedRecord)
        .where(RejectedRecord.id.in_(list(ids)))
        .values(replayed_at=func.now(), times_replayed=RejectedRecord.times_replayed + 1)
    )
