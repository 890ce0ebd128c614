"""Changing a finding: its status, its assignee, comments, reopening; one finding or many.

Every change is written with its audit entry in one transaction (the caller's), and is
made only from the state the reviewer saw: the UPDATE names the status it expects, so two
reviewers deciding the same finding at once cannot both win, and a bulk triage skips (and
reports) the findings another reviewer moved meanwhile. Each finding of a bulk act is
audited on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.review import (
    REOPENED,
    Act,
    ReviewRefused,
    Status,
    can_be_assigned,
    check_move,
    check_rationale,
    check_reopen,
    may,
)
from services.store import audit
from services.store.audit import Action, Actor
from services.store.models import Comment, FindingRow, User
from services.store.review import Scope
from services.store.users import Account


class Missing(LookupError):
    """No such finding for this user (absent or out of scope: never told apart)."""


class Moved(Exception):
    """The finding is no longer in the status the reviewer saw."""


@dataclass(frozen=True, slots=True)
class Current:
    id: int
    status: Status
    assignee_id: int | None
    assignee: str | None
    visible_regimes: tuple[str, ...]


async def current(
    session: AsyncSession, scope: Scope, finding_id: int, *, lock: bool = True
) -> Current:
    """The finding's review state, locked for the transaction; :class:`Missing` if the user
    cannot see it."""
    stmt = (
        select(
            FindingRow.id,
            FindingRow.status,
            FindingRow.assignee_id,
            User.name,
            FindingRow.visible_regimes,
        )
        .outerjoin(User, User.id == FindingRow.assignee_id)
        .where(FindingRow.id == finding_id, scope.visible())
    )
    if lock:
        stmt = stmt.with_for_update(of=FindingRow)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise Missing(finding_id)
    return Current(row[0], row[1], row[2], row[3], tuple(row[4]))


async def _move(
    session: AsyncSession,
    who: Account,
    actor: Actor,
    found: Current,
    target: Status,
    rationale: str,
    action: Action,
) -> None:
    values: dict[str, object] = {"status": target, "status_changed_at": func.now()}
    assignee = found.assignee
    if target is Status.UNDER_REVIEW and found.assignee_id is None:
        # Taking a finding up makes it yours, unless a lead gave it to someone.
        values["assignee_id"] = who.id
        assignee = who.name
    done = await session.execute(
        update(FindingRow)
        .where(FindingRow.id == found.id, FindingRow.status == found.status)
        .values(**values)
        .returning(FindingRow.id)
    )
    if done.first() is None:
        raise Moved(found.id)
    await session.execute(
        audit.entry(
            actor,
            action,
            finding_id=found.id,
            before={"status": found.status.value, "assignee": found.assignee},
            after={"status": target.value, "assignee": assignee},
            rationale=rationale.strip() or None,
        )
    )


async def change_status(
    session: AsyncSession,
    who: Account,
    actor: Actor,
    finding_id: int,
    target: Status,
    rationale: str,
    *,
    expected: Status | None = None,
) -> Status:
    """Move one finding to ``target``; returns the status it had. :class:`Missing`,
    :class:`Moved` (not in ``expected`` any more), or ReviewRefused (not allowed)."""
    found = await current(session, Scope.of(who), finding_id)
    if expected is not None and found.status is not expected:
        raise Moved(finding_id)
    check_move(who.role, found.status, target, rationale)
    await _move(session, who, actor, found, target, rationale, Action.FINDING_STATUS)
    return found.status


async def reopen(
    session: AsyncSession, who: Account, actor: Actor, finding_id: int, reason: str
) -> None:
    found = await current(session, Scope.of(who), finding_id)
    check_reopen(who.role, found.status, reason)
    await _move(session, who, actor, found, REOPENED, reason, Action.FINDING_REOPEN)


async def assign(
    session: AsyncSession,
    who: Account,
    actor: Actor,
    finding_id: int,
    assignee: str | None,
) -> None:
    """Assign a finding to ``assignee`` (None: to nobody). A lead assigns anyone who works
    one of the finding's regimes; a reviewer takes a finding nobody has, or lets go of
    their own."""
    found = await current(session, Scope.of(who), finding_id)
    if found.status.decided:
        raise ReviewRefused("the finding is decided; reopen it first")
    if not may(who.role, Act.ASSIGN):
        if not may(who.role, Act.REVIEW):
            raise ReviewRefused(f"a {who.role.value} does not assign findings")
        if assignee not in (who.name, None):
            raise ReviewRefused("only a lead assigns findings to others")
        if assignee is None and found.assignee_id != who.id:
            raise ReviewRefused("only a lead takes a finding from someone else")
        if assignee is not None and found.assignee_id not in (None, who.id):
            raise ReviewRefused(f"the finding is {found.assignee}'s; ask a lead")
    target: User | None = None
    if assignee is not None:
        target = await session.scalar(select(User).where(User.name == assignee))
        if (
            target is None
            or target.disabled_at is not None
            or not can_be_assigned(target.role)
            or not set(target.regimes) & set(found.visible_regimes)
        ):
            raise ReviewRefused(f"{assignee!r} is not a reviewer of this finding's regime")
    if (target.id if target else None) == found.assignee_id:
        raise ReviewRefused("the finding is assigned so already")
    await session.execute(
        update(FindingRow)
        .where(FindingRow.id == found.id)
        .values(assignee_id=target.id if target else None)
    )
    await session.execute(
        audit.entry(
            actor,
            Action.FINDING_ASSIGN,
            finding_id=found.id,
            subject_user_id=target.id if target else found.assignee_id,
            before={"assignee": found.assignee},
            after={"assignee": assignee},
        )
    )


MAX_COMMENT_CHARS = 10_000


async def comment(
    session: AsyncSession, who: Account, actor: Actor, finding_id: int, body: str
) -> int:
    if not may(who.role, Act.REVIEW):
        raise ReviewRefused(f"a {who.role.value} does not comment")
    if not body.strip():
        raise ReviewRefused("the comment is empty")
    if len(body) > MAX_COMMENT_CHARS:
        raise ReviewRefused(f"a comment has at most {MAX_COMMENT_CHARS} characters")
    found = await current(session, Scope.of(who), finding_id, lock=False)
    row = Comment(finding_id=found.id, user_id=who.id, body=body.strip())
    session.add(row)
    await session.flush()
    await session.execute(
        audit.entry(
            actor,
            Action.FINDING_COMMENT,
            finding_id=found.id,
            after={"comment_id": row.id, "body": row.body},
        )
    )
    return row.id


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    changed: tuple[int, ...]
    #: Finding id -> why it was left as it was.
    skipped: dict[int, str] = field(default_factory=dict)


#: The most findings one bulk act may change: a triage, not a migration.
MAX_BULK = 1_000


async def bulk_status(
    session: AsyncSession,
    who: Account,
    actor: Actor,
    finding_ids: Sequence[int],
    target: Status,
    rationale: str,
) -> BulkOutcome:
    """Move each of ``finding_ids`` to ``target`` with one rationale, each audited on its
    own. Raises :class:`Missing` if any id is not the user's to see (nothing is changed:
    a selection naming a finding out of scope is refused whole); findings the move does
    not apply to (decided, or already there) are skipped with the reason."""
    if not may(who.role, Act.REVIEW):
        raise ReviewRefused(f"a {who.role.value} does not change findings")
    check_rationale(rationale, required=target.decided)
    ids = list(dict.fromkeys(finding_ids))
    if len(ids) > MAX_BULK:
        raise ReviewRefused(f"at most {MAX_BULK} findings at once; narrow the filter")
    scope = Scope.of(who)
    visible: ColumnElement[bool] = scope.visible()
    rows = await session.execute(
        select(FindingRow.id)
        .where(FindingRow.id.in_(ids), visible)
        .order_by(FindingRow.id)
        .with_for_update()
    )
    seen = {r for (r,) in rows}
    missing = [i for i in ids if i not in seen]
    if missing:
        raise Missing(missing[0])
    changed: list[int] = []
    skipped: dict[int, str] = {}
    for finding_id in ids:
        found = await current(session, scope, finding_id)
        try:
            check_move(who.role, found.status, target, rationale)
        except ReviewRefused as exc:
            skipped[finding_id] = str(exc)
            continue
        await _move(session, who, actor, found, target, rationale, Action.FINDING_STATUS)
        changed.append(finding_id)
    return BulkOutcome(tuple(changed), skipped)
