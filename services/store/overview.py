"""A regime's numbers for its overview page and for the panel's report: findings per month
by kind, the goods, routes and end users behind them, and the open backlog by age.

Findings in force only (superseded ones left out), within the user's scope and the
regime's visibility (services/store/review.py): the same findings the queue shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.review import Status
from services.store.models import FindingRow, ScreenedTransfer
from services.store.review import Scope, of_regimes

F, T = FindingRow, ScreenedTransfer
#: Months shown on the chart, the latest last.
MONTHS = 36
TOP = 10
#: Open backlog age buckets: (label, lower bound in days, upper bound or None).
AGES = (("under a week", 0, 7), ("1-4 weeks", 7, 30), ("1-3 months", 30, 90), ("older", 90, None))


@dataclass(frozen=True, slots=True)
class Overview:
    regime: str
    total: int
    by_status: dict[str, int]
    #: (first day of the month, kind) -> findings, by transfer date.
    by_month: list[tuple[date, str, int]]
    #: (item category, transfers)
    categories: list[tuple[str, int]]
    #: (origin, destination, transfers)
    routes: list[tuple[str, str, int]]
    #: (end-user type, transfers)
    end_user_types: list[tuple[str, int]]
    #: (age bucket label, open or under-review findings)
    backlog: list[tuple[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "regime": self.regime,
            "total": self.total,
            "by_status": self.by_status,
            "by_month": [
                {"month": m.isoformat()[:7], "kind": k, "findings": n} for m, k, n in self.by_month
            ],
            "top_item_categories": [{"category": c, "transfers": n} for c, n in self.categories],
            "top_routes": [
                {"origin": o, "destination": d, "transfers": n} for o, d, n in self.routes
            ],
            "end_user_types": [{"type": t, "transfers": n} for t, n in self.end_user_types],
            "open_backlog_by_age": [{"age": a, "findings": n} for a, n in self.backlog],
        }


async def overview(session: AsyncSession, scope: Scope, regime: str) -> Overview:
    live: list[ColumnElement[bool]] = [
        scope.visible(),
        of_regimes([regime]),
        F.superseded_at.is_(None),
    ]
    by_status = {
        s.value: n
        for s, n in (
            await session.execute(select(F.status, func.count()).where(*live).group_by(F.status))
        ).tuples()
    }
    month = func.date_trunc("month", T.transfer_date)
    first_month = select(func.date_trunc("month", func.max(T.transfer_date))).join(
        F, F.transfer_id == T.id
    ).where(*live).scalar_subquery() - literal_column(f"interval '{MONTHS - 1} months'")
    by_month = (
        await session.execute(
            select(cast(month, String), F.kind, func.count())
            .join(T, T.id == F.transfer_id)
            .where(*live, month >= first_month)
            .group_by(month, F.kind)
            .order_by(month)
        )
    ).tuples()
    transfers = (
        select(T.id, T.origin, T.destination, T.item_categories, T.record)
        .where(T.id.in_(select(F.transfer_id).where(*live)))
        .subquery()
    )
    category = func.unnest(transfers.c.item_categories).label("category")
    categories = select(category, transfers.c.id).subquery()
    top_categories = (
        await session.execute(
            select(categories.c.category, func.count())
            .where(categories.c.category.contains("."))  # leaves, not their parents
            .group_by(categories.c.category)
            .order_by(func.count().desc(), categories.c.category)
            .limit(TOP)
        )
    ).tuples()
    routes = (
        await session.execute(
            select(transfers.c.origin, transfers.c.destination, func.count())
            .group_by(transfers.c.origin, transfers.c.destination)
            .order_by(func.count().desc(), transfers.c.origin, transfers.c.destination)
            .limit(TOP)
        )
    ).tuples()
    party = func.jsonb_array_elements(transfers.c.record["parties"]).table_valued("value")
    end_user_type = func.coalesce(party.c.value.op("->>")("type"), "unknown")
    end_users = (
        await session.execute(
            select(end_user_type, func.count(func.distinct(transfers.c.id)))
            .select_from(transfers)
            .join(party, literal_column("true"))
            .where(party.c.value.op("->>")("role") == "end_user")
            .group_by(end_user_type)
            .order_by(func.count(func.distinct(transfers.c.id)).desc(), end_user_type)
        )
    ).tuples()
    age = func.extract("epoch", func.now() - F.created_at) / 86400
    buckets = case(
        *[
            (and_(age >= low, age < high) if high else age >= low, label)
            for label, low, high in AGES
        ]
    )
    backlog: dict[str, int] = dict(
        (
            await session.execute(
                select(buckets, func.count())
                .where(*live, F.status.in_([Status.OPEN, Status.UNDER_REVIEW]))
                .group_by(buckets)
            )
        )
        .tuples()
        .all()
    )
    return Overview(
        regime,
        sum(by_status.values()),
        {s.value: by_status.get(s.value, 0) for s in Status},
        [(date.fromisoformat(m[:10]), k.value, n) for m, k, n in by_month],
        list(top_categories),
        list(routes),
        list(end_users),
        [(label, backlog.get(label, 0)) for label, _, _ in AGES],
    )
