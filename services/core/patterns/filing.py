"""What to store so that the findings in force are what the patterns say now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.core.patterns.facts import TransferRef
from services.core.patterns.findings import PatternFinding


@dataclass(frozen=True, slots=True)
class Filed:
    """A pattern finding already stored under a check's group, anchored in its span."""

    key: str
    in_force: bool
    members: tuple[TransferRef, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """What makes the stored findings of one check what :func:`detect` says now."""

    insert: tuple[PatternFinding, ...] = ()
    #: Keys stored superseded that hold again.
    restore: tuple[str, ...] = ()
    #: (key, reason) of findings in force that no longer hold.
    supersede: tuple[tuple[str, str], ...] = ()


def reconcile(filed: Sequence[Filed], desired: Sequence[PatternFinding]) -> Plan:
    """Insert what is not stored, restore what holds again, supersede what no longer
    holds, saying why: the set grew, its facts changed, or it no longer shows the pattern."""
    stored = {f.key: f for f in filed}
    wanted = {d.key: d for d in desired}
    supersede = []
    for f in filed:
        if f.key in wanted or not f.in_force:
            continue
        supersede.append((f.key, _why_not(f, desired)))
    return Plan(
        insert=tuple(d for d in desired if d.key not in stored),
        restore=tuple(k for k, f in stored.items() if k in wanted and not f.in_force),
        supersede=tuple(supersede),
    )


def _why_not(f: Filed, desired: Sequence[PatternFinding]) -> str:
    had = set(f.members)
    for d in desired:
        if had < set(d.members):
            return (
                f"the set grew to {len(d.members)} transfers; finding {d.key} on transfer "
                f"{d.holder.record_id} ({d.holder.integrator}) names them all"
            )
    for d in desired:
        if had == set(d.members):
            return f"restated with the transfers as now recorded: finding {d.key}"
    return "the related transfers, as now recorded, no longer show this pattern"
