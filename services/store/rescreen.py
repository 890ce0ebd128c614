"""Re-screening stored transfers with other rules or another list: what would change, and
applying it.

A finding is compared by its key within its transfer. One the new screening still yields
keeps its row, and so whatever a reviewer attached to it; if its material content differs
(:func:`services.core.findings.material`) it takes the new content and, decided or under
review, is open again; one it no longer yields is superseded with the reason; one
superseded before and yielded again is in force again — the rule the matcher applies to a
corrected re-send (:mod:`services.store.screenings`). Every such change is in the audit
log, by the system through ``via``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from services.core.context import Context
from services.core.findings import Finding, material
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.core.visibility import Territories, findings_visibility
from services.store.models import FindingRow, ScreenedTransfer
from services.store.screenings import supersede_unyielded, upsert_findings

#: Transfers per transaction with ``apply``: small enough that the matcher, which may be
#: storing a re-send of one of them, waits on the row lock for a fraction of a second.
BATCH = 500
#: How many failed records a run names (the rest are counted).
SHOWN_FAILURES = 5
NO_REGIME = "none"
#: What happens to a finding on a re-screen (amended: in force, its content changed).
OUTCOMES = ("new", "restored", "superseded", "amended", "unchanged")
#: The audit log's ``via`` for changes a run applies, unless the caller names itself.
VIA = "ewatch rescreen"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which stored transfers a run looks at and reports.

    ``since`` filters on the transfer date before screening. ``regime`` keeps, after
    screening, the transfers with an in-force or a new finding of that regime, or whose
    destination is its embargoed ``territory``.
    """

    since: date | None = None
    regime: str | None = None
    territory: str | None = None


@dataclass(frozen=True, slots=True)
class Brief:
    """A finding as a run reports it: stored (with its row id) or only yielded."""

    key: str
    kind: str
    regime: str | None
    rule_id: str
    phase: str | None
    severity: str
    summary: str
    id: int | None = None

    @classmethod
    def of(cls, finding: Finding) -> Brief:
        return cls(
            finding.key,
            finding.kind.value,
            finding.regime,
            finding.rule_id,
            finding.phase,
            finding.severity.value,
            finding.summary,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "kind": self.kind,
            "regime": self.regime,
            "rule_id": self.rule_id,
            "phase": self.phase,
            "severity": self.severity,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class StoredFinding:
    brief: Brief
    superseded: bool
    #: :func:`services.core.findings.material` of the row; None: not compared.
    material: tuple[Any, ...] | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """What screening one transfer again does to its findings."""

    new: tuple[Finding, ...]  # no row yet
    restored: tuple[Brief, ...]  # superseded rows yielded again
    superseded: tuple[Brief, ...]  # in-force rows no longer yielded
    unchanged: tuple[Brief, ...]  # in-force rows yielded again, same material content
    #: In-force rows yielded again with other material content: as they will read.
    amended: tuple[Brief, ...] = ()
    #: Everything the screening yields.
    findings: tuple[Finding, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.new or self.restored or self.superseded or self.amended)


def compare(stored: Iterable[StoredFinding], findings: Sequence[Finding]) -> Change:
    """How ``findings`` (a screening of a transfer) differ from its ``stored`` rows."""
    rows = {s.brief.key: s for s in stored}
    yielded = {f.key: f for f in findings}
    amended: list[Brief] = []
    unchanged: list[Brief] = []
    for k, s in rows.items():
        if k not in yielded or s.superseded:
            continue
        f = yielded[k]
        if s.material is not None and s.material != material(f.to_dict()):
            amended.append(dataclasses.replace(Brief.of(f), id=s.brief.id))
        else:
            unchanged.append(s.brief)
    return Change(
        new=tuple(f for f in findings if f.key not in rows),
        restored=tuple(s.brief for k, s in rows.items() if k in yielded and s.superseded),
        superseded=tuple(s.brief for k, s in rows.items() if k not in yielded and not s.superseded),
        unchanged=tuple(unchanged),
        amended=tuple(amended),
        findings=tuple(findings),
    )


@dataclass(frozen=True, slots=True)
class TransferChange:
    integrator: str
    record_id: str
    transfer_date: date
    change: Change

    def to_dict(self) -> dict[str, Any]:
        return {
            "integrator": self.integrator,
            "record_id": self.record_id,
            "transfer_date": self.transfer_date.isoformat(),
            "new": [Brief.of(f).to_dict() for f in self.change.new],
            "restored": [b.to_dict() for b in self.change.restored],
            "superseded": [b.to_dict() for b in self.change.superseded],
            "amended": [b.to_dict() for b in self.change.amended],
        }


@dataclass(frozen=True, slots=True)
class Failure:
    integrator: str
    record_id: str
    error: str


@dataclass
class Tally:
    """What a run saw; with ``apply``, also what it did."""

    applied: bool
    screened: int = 0  # transfers read and screened (or failed), in scope or not
    in_scope: int = 0
    changed: int = 0
    #: In-scope transfers last screened with other versions than these.
    other_versions: int = 0
    #: With ``apply``: transfer rows updated (their versions, or their findings changed).
    updated: int = 0
    failed: int = 0
    failures: list[Failure] = field(default_factory=list)
    #: ``new`` / ``restored`` / ``superseded`` / ``amended`` / ``unchanged`` → regime →
    #: findings.
    findings: dict[str, Counter[str]] = field(
        default_factory=lambda: {k: Counter() for k in OUTCOMES}
    )
    changes: list[TransferChange] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.in_scope - self.changed

    def count(self, what: str) -> int:
        return sum(self.findings[what].values())

    def add(self, transfer: TransferChange) -> None:
        change = transfer.change
        self.in_scope += 1
        self.findings["new"].update(f.regime or NO_REGIME for f in change.new)
        for what, briefs in (
            ("restored", change.restored),
            ("superseded", change.superseded),
            ("amended", change.amended),
            ("unchanged", change.unchanged),
        ):
            self.findings[what].update(b.regime or NO_REGIME for b in briefs)
        if change.changed:
            self.changed += 1
            self.changes.append(transfer)

    def fail(self, integrator: str, record_id: str, exc: Exception) -> None:
        self.failed += 1
        if len(self.failures) < SHOWN_FAILURES:
            self.failures.append(Failure(integrator, record_id, repr(exc)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "transfers": {
                "screened": self.screened,
                "in_scope": self.in_scope,
                "changed": self.changed,
                "unchanged": self.unchanged,
                "other_versions": self.other_versions,
                "updated": self.updated,
                "failed": self.failed,
            },
            "findings": {
                what: {"total": sum(c.values()), "by_regime": dict(sorted(c.items()))}
                for what, c in self.findings.items()
            },
            "failures": [
                {"integrator": f.integrator, "record_id": f.record_id, "error": f.error}
                for f in self.failures
            ],
            "changes": [c.to_dict() for c in self.changes],
        }


def count(engine: Engine, scope: Scope) -> int:
    """How many stored transfers a run reads (before ``scope.regime`` narrows them)."""
    with Session(engine) as session:
        query = select(func.count()).select_from(ScreenedTransfer)
        if scope.since is not None:
            query = query.where(ScreenedTransfer.transfer_date >= scope.since)
        return session.scalar(query) or 0


def _screened_with(context: Context) -> str:
    listed = context.list_version or "none"
    return f"re-screened with ruleset {context.ruleset.version} / list {listed}"


def superseded_reason(context: Context) -> str:
    return f"{_screened_with(context)}: no longer yielded"


def rescreen(
    engine: Engine,
    context: Context,
    scope: Scope,
    *,
    apply: bool,
    batch_size: int = BATCH,
    progress: Callable[[int], None] | None = None,
    via: str = VIA,
) -> Tally:
    """Screen the stored transfers in ``scope`` with ``context`` and compare.

    Without ``apply`` nothing is written (each batch is read in a read-only transaction).
    With it, each batch is one transaction, its transfer rows locked while it runs: new
    findings inserted, changed ones updated (and reopened), vanished ones superseded,
    superseded ones yielded again in force, who sees each finding recomputed, each change
    audited through ``via``, and each transfer stamped with the versions it was screened
    with. Applying twice
    changes nothing the second time. A record whose screening raises is counted, its
    transfer left as it was, and the run goes on. ``progress`` is told how many transfers
    each batch read.
    """
    tally = Tally(applied=apply)
    territories = Territories.of(context.ruleset)
    after = 0
    while True:
        with Session(engine) as session, session.begin():
            if not apply:
                session.execute(text("SET TRANSACTION READ ONLY"))
            batch = _transfers(session, scope, after, batch_size, lock=apply)
            if not batch:
                break
            after = batch[-1].id
            stored = _stored_findings(session, [t.id for t in batch])
            keep: list[tuple[int, TransferChange, dict[str, Any]]] = []
            for t in batch:
                transfer = _screen_one(tally, context, scope, t, stored.get(t.id, ()))
                if transfer is None:
                    continue
                stale = (t.ruleset_version, t.list_version) != (
                    context.ruleset.version,
                    context.list_version,
                )
                tally.other_versions += stale
                if stale or transfer.change.changed:
                    keep.append((t.id, transfer, t.record))
            if apply:
                tally.updated += _apply(session, context, keep, territories, via)
        if progress is not None:
            progress(len(batch))
    return tally


def _screen_one(
    tally: Tally, context: Context, scope: Scope, t: Any, stored: Sequence[StoredFinding]
) -> TransferChange | None:
    """Screen one stored transfer; None if it failed or is out of scope."""
    tally.screened += 1
    try:
        findings = screen(parse_transfer(t.record), context)
    except Exception as exc:  # one bad record must not stop a run over years of history
        tally.fail(t.integrator, t.record_id, exc)
        return None
    if not _in_scope(scope, t.destination, stored, findings):
        return None
    transfer = TransferChange(t.integrator, t.record_id, t.transfer_date, compare(stored, findings))
    tally.add(transfer)
    return transfer


def _in_scope(
    scope: Scope, destination: str, stored: Sequence[StoredFinding], findings: Sequence[Finding]
) -> bool:
    if scope.regime is None:
        return True
    return (
        (scope.territory is not None and destination == scope.territory)
        or any(f.regime == scope.regime for f in findings)
        or any(s.brief.regime == scope.regime and not s.superseded for s in stored)
    )


def _transfers(
    session: Session, scope: Scope, after: int, limit: int, *, lock: bool
) -> Sequence[Any]:
    query = (
        select(
            ScreenedTransfer.id,
            ScreenedTransfer.integrator,
            ScreenedTransfer.record_id,
            ScreenedTransfer.record,
            ScreenedTransfer.transfer_date,
            ScreenedTransfer.destination,
            ScreenedTransfer.ruleset_version,
            ScreenedTransfer.list_version,
        )
        .where(ScreenedTransfer.id > after)
        .order_by(ScreenedTransfer.id)
        .limit(limit)
    )
    if scope.since is not None:
        query = query.where(ScreenedTransfer.transfer_date >= scope.since)
    if lock:
        query = query.with_for_update()
    return session.execute(query).all()


def _stored_findings(
    session: Session, transfer_ids: Sequence[int]
) -> dict[int, list[StoredFinding]]:
    rows = session.execute(
        select(
            FindingRow.transfer_id,
            FindingRow.id,
            FindingRow.finding_key,
            FindingRow.kind,
            FindingRow.regime,
            FindingRow.rule_id,
            FindingRow.phase,
            FindingRow.severity,
            FindingRow.summary,
            FindingRow.citations,
            FindingRow.designated,
            FindingRow.superseded_at,
        )
        # Findings on sets of transfers are not one record's to re-screen (record_patterns).
        .where(FindingRow.transfer_id.in_(transfer_ids), FindingRow.pattern_group.is_(None))
        .order_by(FindingRow.id)
    )
    out: dict[int, list[StoredFinding]] = {}
    for r in rows:
        brief = Brief(
            r.finding_key,
            r.kind.value,
            r.regime,
            r.rule_id,
            r.phase,
            r.severity.value,
            r.summary,
            r.id,
        )
        content = {
            "severity": r.severity.value,
            "summary": r.summary,
            "citations": r.citations,
            "designated": r.designated,
        }
        out.setdefault(r.transfer_id, []).append(
            StoredFinding(brief, r.superseded_at is not None, material(content))
        )
    return out


def _apply(
    session: Session,
    context: Context,
    transfers: Sequence[tuple[int, TransferChange, dict[str, Any]]],
    territories: Territories,
    via: str,
) -> int:
    """Write one batch's changes, a statement each; returns how many transfer rows were
    updated. Every finding yielded is written: new ones inserted, stored ones brought up to
    date where their content or who sees them differs."""
    statement, params = upsert_findings(
        [
            (
                transfer_id,
                t.change.findings,
                findings_visibility(record, t.change.findings, territories),
            )
            for transfer_id, t, record in transfers
        ],
        via=via,
        reason=f"{_screened_with(context)}: its content changed",
    )
    if statement is not None:
        session.execute(statement, params)
    moved = [
        (transfer_id, [f.key for f in t.change.findings])
        for transfer_id, t, _ in transfers
        if t.change.superseded or t.change.restored
    ]
    if moved:
        session.execute(
            supersede_unyielded(
                moved,
                reason=superseded_reason(context),
                restored=f"{_screened_with(context)}: yielded again",
                via=via,
            )
        )
    if transfers:
        session.execute(
            update(ScreenedTransfer)
            .where(ScreenedTransfer.id.in_([transfer_id for transfer_id, _, _ in transfers]))
            .values(
                ruleset_version=context.ruleset.version,
                list_version=context.list_version,
                screened_at=func.now(),
            )
        )
    return len(transfers)
