"""A regime's overview, kept for a minute: at a million findings its numbers take seconds
to add up, and a panel looks at the same regime's page again and again.

Every user who may see a regime sees the same overview of it (its findings, and the
regime-less ones visible to it), so one is kept per regime. Past :data:`MAX_AGE_S` the kept
one is still served while a fresh one is computed in the background; only a regime asked
for the first time waits for its numbers. The page and the API say when they were taken.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from services.store import db
from services.store.overview import Overview, overview
from services.store.review import Scope

MAX_AGE_S = 60.0
EVERY_REGIME = Scope(None)


@dataclass(frozen=True, slots=True)
class Kept:
    numbers: Overview
    as_of: datetime
    taken: float  # monotonic


class Overviews:
    def __init__(self, engine: Callable[[], AsyncEngine], max_age_s: float = MAX_AGE_S) -> None:
        self._engine = engine
        self._max_age_s = max_age_s
        self._kept: dict[str, Kept] = {}
        self._computing: dict[str, asyncio.Task[Kept]] = {}

    async def get(self, regime: str) -> Kept:
        kept = self._kept.get(regime)
        if kept is None:
            return await self._refresh(regime)
        if time.monotonic() - kept.taken > self._max_age_s:
            self._refresh(regime)  # in the background; the kept one answers meanwhile
        return kept

    def _refresh(self, regime: str) -> asyncio.Task[Kept]:
        """The one computation of ``regime`` under way, started if none is."""
        task = self._computing.get(regime)
        if task is None:
            task = asyncio.create_task(self._compute(regime))
            self._computing[regime] = task
            task.add_done_callback(lambda _: self._computing.pop(regime, None))
        return task

    async def _compute(self, regime: str) -> Kept:
        as_of, taken = datetime.now(UTC), time.monotonic()
        async with db.sessions(self._engine())() as session:
            numbers = await overview(session, EVERY_REGIME, regime)
        kept = Kept(numbers, as_of, taken)
        self._kept[regime] = kept
        return kept
