"""Keeping every rejected record with its reasons, once per distinct payload."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.validation import Rejection
from services.store.models import RejectedRecord

#: Raw payloads are kept for audit up to this size; the digest covers the whole.
MAX_RAW_CHARS = 64 * 1024
#: The longest record_id kept (the column's size). A longer one, which the schema refuses
#: anyway, is kept only inside the payload: refusing the row would refuse the rejection.
MAX_RECORD_ID_CHARS = 200


async def record_rejections(
    session: AsyncSession,
    integrator: str,
    rejections: Sequence[Rejection],
    source: str,
    reason_kind: str = "schema",
) -> None:
    """Insert the rejections; a payload seen before only bumps its counters."""
    rows = rejection_rows(integrator, rejections, source, reason_kind)
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
    integrator: str, rejections: Sequence[Rejection], source: str, reason_kind: str = "schema"
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
