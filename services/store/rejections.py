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
            "record_id": _storable(r.record_id) if r.record_id is not None else None,
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


def _storable(text: str) -> str:
    """``text`` as a PostgreSQL text column can hold it: a NUL character, which none can,
    becomes U+FFFD, so a rejection is kept whatever bytes were sent."""
    return text.replace("\x00", "\ufffd")
