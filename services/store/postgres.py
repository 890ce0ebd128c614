"""The matcher's store on PostgreSQL: one transaction per call, its errors given meaning."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.core.findings import Finding
from services.core.validation import Rejection
from services.store import db
from services.store.outcomes import ContentRefused, Delivery, Stored, StoreUnavailable
from services.store.rejections import record_rejections
from services.store.screenings import record_screening


class PostgresStore:
    """:class:`~services.store.outcomes.ScreeningStore` on PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = db.sessions(engine)

    async def record_screening(
        self,
        record: dict[str, Any],
        findings: Sequence[Finding],
        delivery: Delivery,
        *,
        ruleset_version: int,
        list_version: str | None,
    ) -> Stored:
        async with self._transaction() as session:
            return await record_screening(
                session,
                record,
                findings,
                delivery,
                ruleset_version=ruleset_version,
                list_version=list_version,
            )

    async def record_rejections(
        self, integrator: str, rejections: Sequence[Rejection], source: str
    ) -> None:
        async with self._transaction() as session:
            await record_rejections(session, integrator, rejections, source)

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


def translated(exc: DBAPIError | OSError) -> StoreUnavailable | ContentRefused | None:
    """What ``exc`` means to a caller, or None for a lasting fault to raise as it is."""
    if isinstance(exc, OperationalError | OSError) or exc.connection_invalidated:
        return StoreUnavailable(str(exc))
    if isinstance(exc, DataError):
        return ContentRefused(f"PostgreSQL refused to store it: {exc.orig}")
    return None
