"""The review queue's reads: filtered, scoped, sorted, a page at a time, with counts.

Every query here is scoped: a user sees the findings whose ``visible_regimes`` meet their
regimes (an admin sees all), and nothing else exists for them — a finding out of scope is
answered exactly as one that does not exist.

Pages are cut by keyset (the last row's sort key and id), not by offset: a reviewer works
the top of a queue while findings leave it (decided, reassigned), and an offset would
then skip rows; a keyset page also costs the same at the millionth row as at the first.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import orjson
from psycopg.errors import QueryCanceled
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    any_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased

from services.core.findings import Severity
from services.core.name_normalisation import fold
from services.core.review import (
    UNASSIGNED,
    FilterError,
    QueueFilter,
    Role,
    Sort,
    Status,
    Superseded,
)
from services.store.audit import Action
from services.store.db import sessions
from services.store.models import AuditEntry, FindingCount, FindingRow, ScreenedTransfer, User
from services.store.users import Account


@dataclass(frozen=True, slots=True)
class Scope:
    """The regimes a user sees; None for all of them."""

    regimes: tuple[str, ...] | None

    @classmethod
    def of(cls, account: Account) -> Scope:
        return cls(None if account.sees_all else account.regimes)

    def visible(self, findings: Any = FindingRow) -> ColumnElement[bool]:
        """Whether a row of ``findings`` (the table, or an alias of it) is in scope."""
        if self.regimes is None:
            return true()
        return of_regimes(self.regimes, findings)


def of_regimes(regimes: Sequence[str], findings: Any = FindingRow) -> ColumnElement[bool]:
    """Findings visible to ``regimes``. A finding of a regime is visible to that regime
    alone (services/core/visibility.py), so this asks the btree on ``regime`` for those and
    the GIN on ``visible_regimes`` only for the regime-less rest: same rows as
    ``visible_regimes && regimes``, several times faster to count."""
    if not regimes:
        return false()
    return or_(
        findings.regime.in_(list(regimes)),
        and_(findings.regime.is_(None), overlaps(findings.visible_regimes, regimes)),
    )


def overlaps(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """``column && ARRAY[values]``: a text[] column shares an element with ``values``."""
    return cast("ColumnElement[bool]", column.overlap(list(values)))


F = FindingRow
T = ScreenedTransfer
C = FindingCount
ARRAY_IDS = ARRAY(BigInteger)
Assignee = aliased(User)


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    kind: str
    regime: str | None
    rule_id: str
    severity: str
    status: Status
    summary: str
    party: dict[str, Any] | None
    designated: dict[str, Any] | None
    citations: list[str]
    assignee: str | None
    created_at: datetime
    superseded_at: datetime | None
    superseded_reason: str | None
    transfer_id: int
    integrator: str
    record_id: str
    transfer_date: date
    origin: str
    destination: str
    phase: str | None
    ruleset_version: int
    list_version: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "regime": self.regime,
            "rule_id": self.rule_id,
            "phase": self.phase,
            "severity": self.severity,
            "status": self.status.value,
            "summary": self.summary,
            "party": self.party,
            "designated": self.designated,
            "citations": self.citations,
            "assignee": self.assignee,
            "created_at": self.created_at.isoformat(),
            "superseded_at": self.superseded_at.isoformat() if self.superseded_at else None,
            "superseded_reason": self.superseded_reason,
            "ruleset_version": self.ruleset_version,
            "list_version": self.list_version,
            "transfer": {
                "id": self.transfer_id,
                "integrator": self.integrator,
                "record_id": self.record_id,
                "transfer_date": self.transfer_date.isoformat(),
                "origin": self.origin,
                "destination": self.destination,
            },
        }


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: tuple[QueueRow, ...]
    #: Where the next page starts; None on the last page.
    next_cursor: str | None


def _columns() -> Select[Any]:
    return (
        select(
            F.id,
            F.kind,
            F.regime,
            F.rule_id,
            F.severity,
            F.status,
            F.summary,
            F.party,
            F.designated,
            F.citations,
            Assignee.name,
            F.created_at,
            F.superseded_at,
            F.superseded_reason,
            T.id,
            T.integrator,
            T.record_id,
            T.transfer_date,
            T.origin,
            T.destination,
            F.phase,
            F.ruleset_version,
            F.list_version,
        )
        .select_from(F)
        .join(T, T.id == F.transfer_id)
        .outerjoin(Assignee, Assignee.id == F.assignee_id)
    )


def _row(r: Any) -> QueueRow:
    kind, severity = r[1].value, r[4].value
    return QueueRow(r[0], kind, r[2], r[3], severity, *r[5:])


def needs_transfers(f: QueueFilter) -> bool:
    """Whether the filter asks about the transfer (its date, goods or parties)."""
    return bool(f.date_from or f.date_to or f.category or f.party)


#: A transfer filter matching at most this many transfers is answered from their ids
#: (:func:`few_transfers`).
FEW_TRANSFERS = 5_000


async def few_transfers(session: AsyncSession, f: QueueFilter) -> list[int] | None:
    """The transfers a filter's dates, goods and parties match, when they are at most
    :data:`FEW_TRANSFERS`; None when there are more, or the filter asks nothing of them.

    The planner cannot tell how many findings such a filter leaves: walking the findings in
    the page's order and testing each transfer is fast when most match, and read every
    finding in scope (seconds) when none does. Asked first (through the transfers' own
    indexes, a few milliseconds), the few are then joined by id."""
    if not needs_transfers(f):
        return None
    ids = list(
        await session.scalars(select(T.id).where(*transfer_conditions(f)).limit(FEW_TRANSFERS + 1))
    )
    return ids if len(ids) <= FEW_TRANSFERS else None


async def where(
    session: AsyncSession,
    scope: Scope,
    f: QueueFilter,
    *,
    with_status: bool = True,
    transfers: Sequence[int] | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``f`` within ``scope`` (findings joined to their transfers
    where :func:`needs_transfers`). Every value is a bound parameter; the assignee's name is
    looked up first, so that the planner sees the id."""
    assignee_id: int | None = None
    if f.assignee and f.assignee != UNASSIGNED:
        assignee_id = await session.scalar(select(User.id).where(User.name == f.assignee))
    return conditions(
        scope, f, assignee_id=assignee_id, with_status=with_status, transfers=transfers
    )


def transfer_conditions(f: QueueFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.date_from:
        where.append(T.transfer_date >= f.date_from)
    if f.date_to:
        where.append(T.transfer_date <= f.date_to)
    if f.category:
        where.append(overlaps(T.item_categories, [f.category]))
    if f.party:
        where.append(T.party_names.contains(fold(f.party), autoescape=True))
    return where


def conditions(
    scope: Scope,
    f: QueueFilter,
    *,
    assignee_id: int | None,
    with_status: bool = True,
    transfers: Sequence[int] | None = None,
) -> list[ColumnElement[bool]]:
    """``transfers``: the transfers the filter's dates, goods and parties match
    (:func:`few_transfers`), to use instead of those conditions."""
    where: list[ColumnElement[bool]] = [scope.visible()]
    if f.regimes:
        where.append(of_regimes(f.regimes))
    if f.kinds:
        where.append(F.kind.in_(f.kinds))
    if f.severities:
        where.append(F.severity.in_(f.severities))
    if with_status and f.statuses:
        where.append(F.status.in_(f.statuses))
    if f.assignee == UNASSIGNED:
        where.append(F.assignee_id.is_(None))
    elif f.assignee:
        where.append(F.assignee_id == assignee_id if assignee_id is not None else false())
    if transfers is not None:
        where.append(F.transfer_id == any_(bindparam("transfers", list(transfers), ARRAY_IDS)))
    else:
        where += transfer_conditions(f)
    if f.superseded is Superseded.HIDE:
        where.append(F.superseded_at.is_(None))
    elif f.superseded is Superseded.ONLY:
        where.append(F.superseded_at.is_not(None))
    return where


def _sort_key(sort: Sort, *, opaque: bool = False) -> tuple[list[Any], bool]:
    """The ORDER BY columns (ending in the id) and whether they descend. ``opaque``: as
    expressions no index is sorted by (``id + 0``), so that the few findings of
    :func:`few_transfers` are found by transfer and sorted, not sought in an index's order."""
    keys, descending = _sort_columns(sort)
    return ([k + 0 for k in keys] if opaque else keys), descending


def _sort_columns(sort: Sort) -> tuple[list[Any], bool]:
    match sort:
        case Sort.NEWEST:
            return [F.id], True
        case Sort.OLDEST:
            return [F.id], False
        case Sort.TRANSFER_DATE_DESC:
            return [T.transfer_date, F.id], True
        case Sort.TRANSFER_DATE:
            return [T.transfer_date, F.id], False
        case Sort.SEVERITY:
            return [F.severity_rank, F.id], False


def _cursor_of(sort: Sort, row: QueueRow) -> str:
    values: list[Any]
    match sort:
        case Sort.NEWEST | Sort.OLDEST:
            values = [row.id]
        case Sort.TRANSFER_DATE_DESC | Sort.TRANSFER_DATE:
            values = [row.transfer_date.isoformat(), row.id]
        case Sort.SEVERITY:
            values = [_RANKS[row.severity], row.id]
    raw = orjson.dumps([sort.value, *values])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_RANKS = {Severity.HIGH.value: 0, Severity.MEDIUM.value: 1, Severity.LOW.value: 2}


def _cursor_values(sort: Sort, cursor: str) -> list[Any]:
    """The sort key a cursor holds, checked; :class:`FilterError` if it is not one of ours
    for this sort (a cursor of another sort order cannot continue this one)."""
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise FilterError("after: not a page cursor") from None
    if not isinstance(decoded, list) or not decoded or decoded[0] != sort.value:
        raise FilterError("after: a cursor of another sort order")
    values = decoded[1:]
    ok = all(isinstance(v, int) and not isinstance(v, bool) for v in values[-1:])
    if sort in (Sort.TRANSFER_DATE, Sort.TRANSFER_DATE_DESC):
        ok = ok and len(values) == 2 and isinstance(values[0], str)
        if ok:
            try:
                values[0] = date.fromisoformat(values[0])
            except ValueError:
                ok = False
    elif sort is Sort.SEVERITY:
        ok = ok and len(values) == 2 and isinstance(values[0], int)
    else:
        ok = ok and len(values) == 1
    if not ok:
        raise FilterError("after: not a page cursor")
    return values


async def queue_with_counts(
    engine: AsyncEngine, scope: Scope, f: QueueFilter
) -> tuple[QueuePage, StatusCounts]:
    """A page of the queue and the counts of its filter, read at once on two connections:
    the slowest filters take about as long for either, and the page waits for both."""

    async def page() -> QueuePage:
        async with sessions(engine)() as session:
            return await queue(session, scope, f)

    async def counts() -> StatusCounts:
        async with sessions(engine)() as session:
            return await status_counts(session, scope, f)

    return await asyncio.gather(page(), counts())


async def queue(session: AsyncSession, scope: Scope, f: QueueFilter) -> QueuePage:
    """One page of the queue: ``f.limit`` rows after ``f.after``."""
    transfers = await few_transfers(session, f)
    keys, descending = _sort_key(f.sort, opaque=transfers is not None)
    stmt = _columns().where(*await where(session, scope, f, transfers=transfers))
    if f.after:
        values = _cursor_values(f.sort, f.after)
        key = tuple_(*keys) if len(keys) > 1 else keys[0]
        bound = tuple_(*(literal(v) for v in values)) if len(values) > 1 else values[0]
        stmt = stmt.where(key < bound if descending else key > bound)
    stmt = stmt.order_by(*(k.desc() if descending else k.asc() for k in keys)).limit(f.limit + 1)
    rows = [_row(r) for r in await session.execute(stmt)]
    more = len(rows) > f.limit
    rows = rows[: f.limit]
    return QueuePage(tuple(rows), _cursor_of(f.sort, rows[-1]) if more and rows else None)


#: A filter on the transfer is counted up to this many findings and for this long at most:
#: an exact count of a broad one takes seconds at a million findings, and the queue's page
#: comes with its counts. Past either, the counts are "not counted", with the reason.
COUNT_CAP = 10_000
COUNT_BUDGET_MS = 80


@dataclass(frozen=True, slots=True)
class StatusCounts:
    """Findings of a filter in each status (its statuses aside)."""

    by_status: dict[Status, int]
    #: Why the findings were not counted (a broad filter on the transfer): ``by_status``
    #: is then empty. None when the counts are exact.
    not_counted: str | None = None

    def total(self, statuses: Sequence[Status] = ()) -> int | None:
        """How many findings have one of ``statuses`` (any if none); None if not counted."""
        if self.not_counted is not None:
            return None
        counted = statuses or list(self.by_status)
        return sum(self.by_status[s] for s in counted)

    def to_dict(self) -> dict[str, Any]:
        exact = self.not_counted is None
        return {
            "counts": {s.value: n for s, n in self.by_status.items()} if exact else None,
            "total": self.total(),
            "not_counted": self.not_counted,
        }


async def status_counts(
    session: AsyncSession, scope: Scope, f: QueueFilter, *, exact: bool = False
) -> StatusCounts:
    """How many findings of the filter (its statuses aside) are in each status.

    A filter on the findings' own columns sums ``finding_counts`` (kept by triggers, a row
    per regime, status, kind, severity, assignee): a few thousand rows whatever the number
    of findings. One asking about the transfer (dates, goods, parties) counts the findings
    it matches; unless ``exact``, only up to :data:`COUNT_CAP` of them and for
    :data:`COUNT_BUDGET_MS` when it matches more than :data:`FEW_TRANSFERS` transfers."""
    found: dict[Status, int] = dict.fromkeys(Status, 0)
    if needs_transfers(f):
        transfers = await few_transfers(session, f)
        matched = select(F.status).select_from(F)
        if transfers is None:
            matched = matched.join(T, T.id == F.transfer_id)
        matched = matched.where(
            *await where(session, scope, f, with_status=False, transfers=transfers)
        )
        bounded = transfers is None and not exact
        if bounded:
            matched = matched.limit(COUNT_CAP + 1)
        rows = matched.subquery()
        stmt = select(rows.c.status, func.count()).group_by(rows.c.status)
        if bounded:
            counted = await within_budget(session, stmt, COUNT_BUDGET_MS)
            if counted is None:
                return StatusCounts({}, f"counting took more than {COUNT_BUDGET_MS} ms")
        else:
            counted = list(await session.execute(stmt))
        for status, n in counted:
            found[Status(status)] += n
        if bounded and sum(found.values()) > COUNT_CAP:
            return StatusCounts({}, f"more than {COUNT_CAP:,} findings match")
        return StatusCounts(found)
    assignee_id: int | None = None
    if f.assignee and f.assignee != UNASSIGNED:
        assignee_id = await session.scalar(select(User.id).where(User.name == f.assignee))
    summed = select(C.status, func.sum(C.n)).where(
        *count_conditions(scope, f, assignee_id=assignee_id)
    )
    for value, total in await session.execute(summed.group_by(C.status)):
        found[Status(value)] += int(total)
    return StatusCounts(found)


async def within_budget(session: AsyncSession, stmt: Any, budget_ms: int) -> list[Any] | None:
    """``stmt``'s rows, or None if PostgreSQL took more than ``budget_ms`` (it cancels the
    statement). A savepoint keeps the session's transaction usable either way, and the
    session's own statement timeout is put back."""
    before = await session.scalar(text("SELECT current_setting('statement_timeout')"))
    try:
        async with session.begin_nested():
            await session.execute(
                text("SELECT set_config('statement_timeout', :ms, true)"),
                {"ms": str(budget_ms)},
            )
            rows = list(await session.execute(stmt))
            await session.execute(
                text("SELECT set_config('statement_timeout', :before, true)"), {"before": before}
            )
            return rows
    except DBAPIError as exc:
        if isinstance(exc.orig, QueryCanceled):
            return None
        raise


def count_conditions(
    scope: Scope, f: QueueFilter, *, assignee_id: int | None
) -> list[ColumnElement[bool]]:
    """:func:`conditions` of a filter that asks nothing of the transfer, on
    ``finding_counts``."""
    where: list[ColumnElement[bool]] = [scope.visible(C)]
    if f.regimes:
        where.append(of_regimes(f.regimes, C))
    if f.kinds:
        where.append(C.kind.in_([k.value for k in f.kinds]))
    if f.severities:
        where.append(C.severity.in_([s.value for s in f.severities]))
    if f.assignee == UNASSIGNED:
        where.append(C.assignee_id.is_(None))
    elif f.assignee:
        where.append(C.assignee_id == assignee_id if assignee_id is not None else false())
    if f.superseded is Superseded.HIDE:
        where.append(C.superseded.is_(False))
    elif f.superseded is Superseded.ONLY:
        where.append(C.superseded.is_(True))
    return where


#: Folds the changes the triggers appended into one row per key, dropping keys at zero.
#: One statement: a reader sees the rows before or after it, never half; a change appended
#: meanwhile is not in its snapshot and stays as it is; two at once fold disjoint rows.
COMPACT = text(
    """
    WITH gone AS (DELETE FROM finding_counts RETURNING *)
    INSERT INTO finding_counts
        (regime, visible_regimes, status, kind, severity, assignee_id, superseded, n)
    SELECT regime, visible_regimes, status, kind, severity, assignee_id, superseded, sum(n)
    FROM gone
    GROUP BY regime, visible_regimes, status, kind, severity, assignee_id, superseded
    HAVING sum(n) <> 0
    """
)


async def compact_counts(session: AsyncSession) -> None:
    """Fold ``finding_counts`` (the review workspace does it at start and every minute)."""
    await session.execute(COMPACT)


async def matching_ids(
    session: AsyncSession, scope: Scope, f: QueueFilter, limit: int
) -> list[int]:
    """The ids of up to ``limit`` findings of the filter (every page), in its order."""
    keys, descending = _sort_key(f.sort)
    stmt = (
        select(F.id)
        .select_from(F)
        .join(T, T.id == F.transfer_id)
        .where(*await where(session, scope, f))
        .order_by(*(k.desc() if descending else k.asc() for k in keys))
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def regime_ids(session: AsyncSession) -> list[str]:
    """The regime ids of the active ruleset, sorted."""
    ids = await session.scalar(
        text(
            "SELECT coalesce(jsonb_agg(d.value->>'id' ORDER BY d.value->>'id'), '[]') "
            "FROM ruleset_versions r, jsonb_each(r.documents) d WHERE r.active"
        )
    )
    return list(ids or [])


async def assignable(session: AsyncSession, regimes: Sequence[str]) -> list[str]:
    """Names of the enabled reviewers and leads who work any of ``regimes``."""
    rows = await session.scalars(
        select(User.name)
        .where(
            User.disabled_at.is_(None),
            User.role.in_([Role.REVIEWER, Role.LEAD]),
            overlaps(User.regimes, regimes),
        )
        .order_by(User.name)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Decision:
    """The last status change of a finding: the rationale a report quotes."""

    status: str
    rationale: str | None
    by: str | None
    at: datetime


async def last_decisions(session: AsyncSession, ids: Sequence[int]) -> dict[int, Decision]:
    if not ids:
        return {}
    rows = await session.execute(
        select(
            AuditEntry.finding_id, AuditEntry.after, AuditEntry.rationale, User.name, AuditEntry.at
        )
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(
            AuditEntry.finding_id.in_(ids),
            AuditEntry.action.in_([Action.FINDING_STATUS.value, Action.FINDING_REOPEN.value]),
        )
        .order_by(AuditEntry.finding_id, AuditEntry.id.desc())
        .distinct(AuditEntry.finding_id)
    )
    return {
        fid: Decision((after or {}).get("status", ""), rationale, by, at)
        for fid, after, rationale, by, at in rows.tuples()
    }
