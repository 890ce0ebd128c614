"""The matcher's store on PostgreSQL: one transaction per batch, its errors given meaning."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from itertools import groupby

from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.store import db, ledger
from services.store.outcomes import (
    ContentRefused,
    Refusal,
    Screening,
    Stored,
    StoreUnavailable,
    Versions,
)
from services.store.patterns import PatternRules, record_patterns
from services.store.rejections import record_rejections
from services.store.screenings import record_screenings


class PostgresStore:
    """:class:`~services.store.outcomes.ScreeningStore` on PostgreSQL."""

    def __init__(self, engine: AsyncEngine, patterns: PatternRules | None = None) -> None:
        self._sessions = db.sessions(engine)
        #: Look for diversion patterns across transfers in each batch (None: do not).
        self._patterns = patterns

    async def record_batch(
        self, screenings: Sequence[Screening], refusals: Sequence[Refusal], versions: Versions
    ) -> list[Stored | None]:
        async with self._transaction() as session:
            stored = await record_screenings(
                session,
                screenings,
                ruleset_version=versions.ruleset,
                list_version=versions.sanctions_list,
            )
            await _keep_refusals(session, refusals)
            if self._patterns is not None:  # last: it locks the parties' keys until commit
                ids = [s.transfer_id for s in stored if s is not None]
                screened = {
                    kept.transfer_id: (s.delivery.integrator, s.transfer)
                    for s, kept in zip(screenings, stored, strict=True)
                    if kept is not None and s.transfer is not None
                }
                await record_patterns(session, ids, self._patterns, screened)
            return stored

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self._sessions.begin() as session:
                yield session
        except (DBAPIError, OSError) as exc:
            meaning = translated(exc)
            if meaning is None:
                raise
            raise meaning from exc


async def _keep_refusals(session: AsyncSession, refusals: Sequence[Refusal]) -> None:
    def group(r: Refusal) -> tuple[str, str]:
        return (r.integrator, r.kind.value)

    for (integrator, kind), same in groupby(sorted(refusals, key=group), key=group):
        rejections = [r.rejection for r in same]
        await record_rejections(session, integrator, rejections, "kafka", reason_kind=kind)
    await ledger.settle(
        session,
        [
            ledger.Settled(r.integrator, r.rejection.record_id, r.record_sha256, ledger.REJECTED)
            for r in refusals
            if r.record_sha256 is not None and r.rejection.record_id is not None
        ],
    )


def translated(exc: DBAPIError | OSError) -> StoreUnavailable | ContentRefused | None:
    """What ``exc`` means to a caller, or None for a lasting fault to raise as it is."""
    if isinstance(exc, OperationalError | OSError) or exc.connection_invalidated:
        return StoreUnavailable(str(exc))
    if isinstance(exc, DataError):
        return ContentRefused(f"PostgreSQL refused to store it: {exc.orig}")
    return None
