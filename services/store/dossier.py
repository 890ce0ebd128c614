"""Everything about one finding, as its page shows it: the transfer record, every finding
on it, the list entry a designated finding names, the exemptions its phase offers, its
history and comments, and other transfers with the same parties.

Scoped like the queue (services/store/review.py): a finding out of the user's regimes is
None here, as one that does not exist; the transfer's other findings and the related
transfers are limited to what the user may see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.core.findings import FindingDict
from services.core.review import Status
from services.store.audit import Entry, entries
from services.store.models import (
    AuditEntry,
    Comment,
    FindingRow,
    ListedPartyRow,
    RulesetVersion,
    SanctionsListVersion,
    ScreenedTransfer,
    User,
)
from services.store.reads import finding_dict
from services.store.review import Scope, overlaps

#: Related transfers shown at most, the latest first.
RELATED_LIMIT = 50


@dataclass(frozen=True, slots=True)
class FindingView:
    id: int
    finding: FindingDict
    status: Status
    assignee: str | None
    status_changed_at: datetime | None
    created_at: datetime
    superseded_at: datetime | None
    superseded_reason: str | None
    visible_regimes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.finding,
            "status": self.status.value,
            "assignee": self.assignee,
            "status_changed_at": _iso(self.status_changed_at),
            "created_at": self.created_at.isoformat(),
            "superseded_at": _iso(self.superseded_at),
            "superseded_reason": self.superseded_reason,
            "visible_regimes": list(self.visible_regimes),
        }


@dataclass(frozen=True, slots=True)
class ListedEntry:
    """A party of the UN list version a finding was made with."""

    reference_number: str
    name: str
    kind: str
    list_type: str
    listed_on: date | None
    aliases: list[dict[str, Any]]
    original_script: str | None
    nationalities: list[Any]
    designations: list[Any]
    comments: str | None
    list_version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_number": self.reference_number,
            "name": self.name,
            "kind": self.kind,
            "list_type": self.list_type,
            "listed_on": _iso(self.listed_on),
            "aliases": self.aliases,
            "original_script": self.original_script,
            "nationalities": self.nationalities,
            "designations": self.designations,
            "comments": self.comments,
            "list_version": self.list_version,
        }


@dataclass(frozen=True, slots=True)
class TransferView:
    id: int
    integrator: str
    record_id: str
    record: dict[str, Any]
    record_sha256: str
    transfer_date: date
    received_at: datetime
    screened_at: datetime
    times_screened: int
    ruleset_version: int
    list_version: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "integrator": self.integrator,
            "record_id": self.record_id,
            "record": self.record,
            "record_sha256": self.record_sha256,
            "transfer_date": self.transfer_date.isoformat(),
            "received_at": self.received_at.isoformat(),
            "screened_at": self.screened_at.isoformat(),
            "times_screened": self.times_screened,
            "ruleset_version": self.ruleset_version,
            "list_version": self.list_version,
        }


@dataclass(frozen=True, slots=True)
class CommentView:
    id: int
    author: str
    body: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author": self.author,
            "body": self.body,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Related:
    """Another transfer sharing a party (by normalised name) with a finding the user sees."""

    transfer_id: int
    integrator: str
    record_id: str
    transfer_date: date
    origin: str
    destination: str
    shared: tuple[str, ...]
    finding_id: int
    findings: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "integrator": self.integrator,
            "record_id": self.record_id,
            "transfer_date": self.transfer_date.isoformat(),
            "origin": self.origin,
            "destination": self.destination,
            "shared_parties": list(self.shared),
            "finding_id": self.finding_id,
            "findings": self.findings,
        }


@dataclass(frozen=True, slots=True)
class Dossier:
    finding: FindingView
    transfer: TransferView
    #: Every finding on the transfer the user sees, this one included, in stored order.
    findings: tuple[FindingView, ...]
    #: Reference number -> its list entry, for the designated findings among them.
    listed: dict[str, ListedEntry]
    #: Phase id -> its exemptions as the ruleset stores them.
    exemptions: dict[str, list[dict[str, Any]]]
    history: tuple[Entry, ...]
    comments: tuple[CommentView, ...]
    related: tuple[Related, ...]


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


Assignee = aliased(User)


async def finding_views(
    session: AsyncSession, where: Sequence[ColumnElement[bool]]
) -> list[FindingView]:
    rows = await session.execute(
        select(FindingRow, Assignee.name)
        .outerjoin(Assignee, Assignee.id == FindingRow.assignee_id)
        .where(*where)
        .order_by(FindingRow.id)
    )
    return [
        FindingView(
            row.id,
            finding_dict(row),
            row.status,
            assignee,
            row.status_changed_at,
            row.created_at,
            row.superseded_at,
            row.superseded_reason,
            tuple(row.visible_regimes),
        )
        for row, assignee in rows.tuples()
    ]


async def dossier(session: AsyncSession, scope: Scope, finding_id: int) -> Dossier | None:
    """The finding's page, or None if there is no such finding for this user."""
    transfer_id = await session.scalar(
        select(FindingRow.transfer_id).where(FindingRow.id == finding_id, scope.visible())
    )
    if transfer_id is None:
        return None
    findings = await finding_views(
        session, [FindingRow.transfer_id == transfer_id, scope.visible()]
    )
    (current,) = (f for f in findings if f.id == finding_id)
    t = await session.get_one(ScreenedTransfer, transfer_id)
    transfer = TransferView(
        t.id,
        t.integrator,
        t.record_id,
        t.record,
        t.record_sha256,
        t.transfer_date,
        t.received_at,
        t.screened_at,
        t.times_screened,
        t.ruleset_version,
        t.list_version,
    )
    return Dossier(
        current,
        transfer,
        tuple(findings),
        await listed_entries(session, findings),
        await exemptions(session, findings),
        tuple(await history(session, finding_id)),
        tuple(await comments(session, finding_id)),
        tuple(await related(session, scope, t.id, t.party_keys)),
    )


async def listed_entries(
    session: AsyncSession, findings: Sequence[FindingView]
) -> dict[str, ListedEntry]:
    """The list entries the designated findings name, from the list version each was made
    with (the latest import when that version is not stored)."""
    out: dict[str, ListedEntry] = {}
    for f in findings:
        designated = f.finding["designated"]
        if designated is None or designated["reference_number"] in out:
            continue
        version = await session.scalar(
            select(SanctionsListVersion).where(
                SanctionsListVersion.version == f.finding["list_version"]
            )
        ) or await session.scalar(
            select(SanctionsListVersion).order_by(SanctionsListVersion.id.desc()).limit(1)
        )
        if version is None:
            continue
        row = await session.scalar(
            select(ListedPartyRow).where(
                ListedPartyRow.list_version_id == version.id,
                ListedPartyRow.reference_number == designated["reference_number"],
            )
        )
        if row is not None:
            out[row.reference_number] = ListedEntry(
                row.reference_number,
                row.name,
                row.kind,
                row.list_type,
                row.listed_on,
                list(row.aliases),
                row.original_script,
                list(row.nationalities),
                list(row.designations),
                row.comments,
                version.version,
            )
    return out


async def exemptions(
    session: AsyncSession, findings: Sequence[FindingView]
) -> dict[str, list[dict[str, Any]]]:
    """The exemptions of each finding's phase, from the ruleset version it was made with
    (the active one when that version is not stored)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        phase = f.finding["phase"]
        if phase is None or phase in out:
            continue
        documents = await session.scalar(
            select(RulesetVersion.documents).where(
                RulesetVersion.version == f.finding["ruleset_version"]
            )
        ) or await session.scalar(select(RulesetVersion.documents).where(RulesetVersion.active))
        for doc in (documents or {}).values():
            for p in doc.get("phases", ()):
                if p.get("id") == phase:
                    out[phase] = list(p.get("exemptions") or ())
    return out


async def history(session: AsyncSession, finding_id: int) -> list[Entry]:
    return await entries(session, [AuditEntry.finding_id == finding_id], ascending=True)


async def comments(session: AsyncSession, finding_id: int) -> list[CommentView]:
    rows = await session.execute(
        select(Comment, User.name)
        .join(User, User.id == Comment.user_id)
        .where(Comment.finding_id == finding_id)
        .order_by(Comment.id)
    )
    return [CommentView(c.id, name, c.body, c.created_at) for c, name in rows.tuples()]


async def related(
    session: AsyncSession, scope: Scope, transfer_id: int, keys: Sequence[str]
) -> list[Related]:
    """Other transfers naming a party of this one (same normalised name) that carry a
    finding the user sees, the latest first; each with the first such finding."""
    if not keys:
        return []
    other = aliased(FindingRow)
    seen = scope.visible(other)
    t = ScreenedTransfer
    first = select(func.min(other.id)).where(other.transfer_id == t.id, seen).scalar_subquery()
    count = (
        select(func.count()).select_from(other).where(other.transfer_id == t.id, seen)
    ).scalar_subquery()
    rows = await session.execute(
        select(
            t.id,
            t.integrator,
            t.record_id,
            t.transfer_date,
            t.origin,
            t.destination,
            t.party_keys,
            first,
            count,
        )
        .where(
            overlaps(t.party_keys, keys),
            t.id != transfer_id,
            exists().where(other.transfer_id == t.id, seen),
        )
        .order_by(t.transfer_date.desc(), t.id.desc())
        .limit(RELATED_LIMIT)
    )
    wanted = set(keys)
    return [
        Related(i, integ, rec, day, o, d, tuple(k for k in pk if k in wanted), fid, n)
        for i, integ, rec, day, o, d, pk, fid, n in rows.tuples()
    ]
