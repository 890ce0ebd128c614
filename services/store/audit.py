"""The audit log: every change to a finding and every user-management act, appended.

PostgreSQL refuses any UPDATE, DELETE or TRUNCATE of ``audit_log`` (a trigger, migration
0006), so an entry once committed stays as written. Entries are written in the same
transaction as the change they describe: no change without its entry, no entry without
its change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Insert, and_, exists, insert, null, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.store.models import AuditEntry, FindingRow, User


class Action(StrEnum):
    # Names of acts, not secrets (S105 reads "password" and "token" as one).
    FINDING_STATUS = "finding.status"
    FINDING_REOPEN = "finding.reopen"
    FINDING_ASSIGN = "finding.assign"
    FINDING_COMMENT = "finding.comment"
    #: By the system (``actor_id`` NULL): a screening changed a finding's content or who
    #: sees it, superseded it, or yielded a superseded one again.
    FINDING_CHANGE = "finding.change"
    FINDING_SUPERSEDE = "finding.supersede"
    FINDING_RESTORE = "finding.restore"
    USER_ADD = "user.add"
    USER_DISABLE = "user.disable"
    USER_PASSWORD = "user.reset_password"  # noqa: S105
    TOKEN_ISSUE = "user.token"  # noqa: S105
    TOKEN_REVOKE = "user.revoke_token"  # noqa: S105
    RULESET_ACTIVATE = "ruleset.activate"


ACTION_WORDS = {
    Action.FINDING_STATUS: "changed the status",
    Action.FINDING_REOPEN: "reopened",
    Action.FINDING_ASSIGN: "assigned",
    Action.FINDING_COMMENT: "commented",
    Action.FINDING_CHANGE: "changed it",
    Action.FINDING_SUPERSEDE: "superseded it",
    Action.FINDING_RESTORE: "put it in force again",
    Action.USER_ADD: "added a user",
    Action.USER_DISABLE: "disabled a user",
    Action.USER_PASSWORD: "reset a password",
    Action.TOKEN_ISSUE: "issued an API token",
    Action.TOKEN_REVOKE: "revoked an API token",
    Action.RULESET_ACTIVATE: "activated a ruleset version",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and through what: a user (None for the system) and "web", "api", "cli …"."""

    user_id: int | None
    via: str


def entry(
    actor: Actor,
    action: Action,
    *,
    finding_id: int | None = None,
    subject_user_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    rationale: str | None = None,
) -> Insert:
    """The statement that appends one entry; run it in the transaction of the change."""
    return insert(AuditEntry).values(
        actor_id=actor.user_id,
        via=actor.via,
        action=action.value,
        finding_id=finding_id,
        subject_user_id=subject_user_id,
        # SQL NULL, not a JSON null, where there is nothing to say.
        before=dict(before) if before is not None else null(),
        after=dict(after) if after is not None else null(),
        rationale=rationale,
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """An audit entry as read, with the names of the users it refers to."""

    id: int
    at: datetime
    actor: str | None
    via: str
    action: str
    finding_id: int | None
    subject_user: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    rationale: str | None

    @property
    def words(self) -> str:
        try:
            return ACTION_WORDS[Action(self.action)]
        except ValueError:
            return self.action

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "via": self.via,
            "action": self.action,
            "finding_id": self.finding_id,
            "subject_user": self.subject_user,
            "before": self.before,
            "after": self.after,
            "rationale": self.rationale,
        }


ActorUser = aliased(User)
Subject = aliased(User)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the audit log page narrows to; None: anything."""

    action: str | None = None
    actor: str | None = None  # a user's name
    finding_id: int | None = None
    since: date | None = None
    until: date | None = None  # inclusive

    def where(self) -> list[ColumnElement[bool]]:
        where = []
        if self.action is not None:
            where.append(AuditEntry.action == self.action)
        if self.actor is not None:
            actor_id = select(User.id).where(User.name == self.actor).scalar_subquery()
            where.append(AuditEntry.actor_id == actor_id)
        if self.finding_id is not None:
            where.append(AuditEntry.finding_id == self.finding_id)
        if self.since is not None:
            where.append(AuditEntry.at >= self.since)
        if self.until is not None:
            where.append(AuditEntry.at < self.until + timedelta(days=1))
        return where


async def entries(
    session: AsyncSession,
    where: Sequence[ColumnElement[bool]],
    *,
    ascending: bool = False,
    limit: int | None = None,
    before: int | None = None,
) -> list[Entry]:
    """Audit entries with the names of their users."""
    stmt = (
        select(AuditEntry, ActorUser.name, Subject.name)
        .outerjoin(ActorUser, ActorUser.id == AuditEntry.actor_id)
        .outerjoin(Subject, Subject.id == AuditEntry.subject_user_id)
        .where(*where)
        .order_by(AuditEntry.id.asc() if ascending else AuditEntry.id.desc())
    )
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        Entry(
            e.id,
            e.at,
            actor,
            e.via,
            e.action,
            e.finding_id,
            subject,
            e.before,
            e.after,
            e.rationale,
        )
        for e, actor, subject in (await session.execute(stmt)).tuples()
    ]


def in_scope(regimes: Sequence[str] | None, visible: ColumnElement[bool]) -> ColumnElement[bool]:
    """Entries a user of ``regimes`` (None: every regime) may read: those on a finding they
    see (``visible``, a condition on ``findings``), and user-management acts on users who
    share a regime with them."""
    if regimes is None:
        return true()
    on_finding = exists().where(FindingRow.id == AuditEntry.finding_id, visible)
    on_user = exists().where(
        User.id == AuditEntry.subject_user_id, User.regimes.overlap(list(regimes))
    )
    return or_(
        and_(AuditEntry.finding_id.is_not(None), on_finding),
        and_(AuditEntry.finding_id.is_(None), on_user),
    )
