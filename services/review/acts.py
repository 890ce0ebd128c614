"""What a reviewer does, for the pages and the API alike: the store's decisions in a
transaction each, their refusals turned into the workspace's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.review import QueueFilter, ReviewRefused, Status
from services.review.auth import Principal
from services.review.errors import Conflict, NotFound
from services.store import db, decisions
from services.store import review as queue_store
from services.store.decisions import BulkOutcome
from services.store.review import Scope


@asynccontextmanager
async def transaction(request: Request) -> AsyncIterator[AsyncSession]:
    try:
        async with db.sessions(request.app.state.deps.engine).begin() as session:
            yield session
    except decisions.Missing:
        raise NotFound("no such finding") from None
    except decisions.Moved:
        raise Conflict(
            "the finding changed since you opened it (someone else decided or moved it); "
            "reload it and look again"
        ) from None


def _count(request: Request, status: Status, n: int = 1) -> None:
    request.app.state.deps.metrics.decisions.labels(status.value).inc(n)


async def change_status(
    request: Request,
    who: Principal,
    finding_id: int,
    target: Status,
    rationale: str,
    expected: Status | None,
) -> None:
    async with transaction(request) as session:
        await decisions.change_status(
            session, who.account, who.actor, finding_id, target, rationale, expected=expected
        )
    _count(request, target)


async def reopen(request: Request, who: Principal, finding_id: int, reason: str) -> None:
    async with transaction(request) as session:
        await decisions.reopen(session, who.account, who.actor, finding_id, reason)
    _count(request, Status.OPEN)


async def assign(request: Request, who: Principal, finding_id: int, assignee: str | None) -> None:
    async with transaction(request) as session:
        await decisions.assign(session, who.account, who.actor, finding_id, assignee)


async def comment(request: Request, who: Principal, finding_id: int, body: str) -> int:
    async with transaction(request) as session:
        return await decisions.comment(session, who.account, who.actor, finding_id, body)


async def bulk(
    request: Request,
    who: Principal,
    target: Status,
    rationale: str,
    *,
    ids: Sequence[int] | None,
    f: QueueFilter,
) -> BulkOutcome:
    """Move the findings ``ids``, or (``ids`` None) every finding of the filter ``f``."""
    async with transaction(request) as session:
        if ids is None:
            ids = await queue_store.matching_ids(
                session, Scope.of(who.account), f, decisions.MAX_BULK + 1
            )
        if not ids:
            raise ReviewRefused("no finding selected")
        outcome = await decisions.bulk_status(
            session, who.account, who.actor, ids, target, rationale
        )
    _count(request, target, len(outcome.changed))
    return outcome
