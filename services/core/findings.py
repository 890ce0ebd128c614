"""Findings: what screening says about one transfer, and why.

The dictionary form (:class:`FindingDict`, made by :meth:`Finding.to_dict` alone) is the
public contract shared by ``ewatch screen``, the store's columns and the HTTP API: fields
may be added, never renamed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, TypedDict


class Kind(StrEnum):
    VIOLATION = "violation"
    INDICATOR = "indicator"


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class PartyDict(TypedDict):
    role: str
    name: str


class DesignatedDict(TypedDict):
    reference_number: str
    name: str
    matched_name: str
    score: float


#: The fields a finding is summarised by, in this order: the HTTP API's answer, the CSV columns.
SUMMARY_FIELDS = (
    "kind",
    "regime",
    "rule_id",
    "phase",
    "severity",
    "summary",
    "citations",
    "party",
    "designated",
)


class FindingDict(TypedDict):
    """A finding as JSON; the store's finding columns bear these names."""

    record_id: str
    kind: str
    regime: str | None
    rule_id: str
    phase: str | None
    severity: str
    summary: str
    citations: list[str]
    party: PartyDict | None
    designated: DesignatedDict | None
    evidence: dict[str, Any]
    ruleset_version: int
    list_version: str | None


@dataclass(frozen=True, slots=True)
class PartyRef:
    role: str
    name: str

    def to_dict(self) -> PartyDict:
        return {"role": self.role, "name": self.name}


@dataclass(frozen=True, slots=True)
class DesignatedRef:
    reference_number: str
    name: str
    matched_name: str
    score: float

    def to_dict(self) -> DesignatedDict:
        return {
            "reference_number": self.reference_number,
            "name": self.name,
            "matched_name": self.matched_name,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class Finding:
    record_id: str
    kind: Kind
    regime: str | None
    rule_id: str
    phase: str | None
    severity: Severity
    summary: str
    citations: tuple[str, ...]
    party: PartyRef | None = None
    designated: DesignatedRef | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    ruleset_version: int = 0
    list_version: str | None = None

    @property
    def key(self) -> str:
        """Stable identity of this finding within its record.

        The same record screened twice with the same rules yields the same keys,
        which is what lets the store refuse duplicates.
        """
        return hashlib.sha256(self.identity.encode()).hexdigest()[:32]

    @property
    def identity(self) -> str:
        """What :attr:`key` hashes: equal identities, equal keys.

        Comparing identities dedupes findings without paying for the hash.
        """
        party = self.party
        return "\x1f".join(
            (
                self.kind,
                self.regime or "",
                self.rule_id,
                self.phase or "",
                party.role if party else "",
                party.name if party else "",
                self.designated.reference_number if self.designated else "",
            )
        )

    def to_dict(self) -> FindingDict:
        return {
            "record_id": self.record_id,
            "kind": self.kind.value,
            "regime": self.regime,
            "rule_id": self.rule_id,
            "phase": self.phase,
            "severity": self.severity.value,
            "summary": self.summary,
            "citations": list(self.citations),
            "party": self.party.to_dict() if self.party else None,
            "designated": self.designated.to_dict() if self.designated else None,
            "evidence": dict(self.evidence),
            "ruleset_version": self.ruleset_version,
            "list_version": self.list_version,
        }


#: What a reviewer decides on and a panel pastes: a finding whose key is the same but one of
#: these differs has changed, and a decision on it is reopened. Kind, regime, rule, phase,
#: party and list reference are in the key; evidence and versions are not material.
MATERIAL_FIELDS = ("severity", "summary", "citations", "designated")


def material(finding: Mapping[str, Any]) -> tuple[Any, ...]:
    """The material content of a finding in its dictionary form (a stored row's columns
    alike): equal tuples, nothing to reopen. A listed-name match counts by its listed name,
    the name that matched and its score to two places, as the finding's page shows it (the
    store compares the same way, services/store/screenings.py)."""
    designated = finding.get("designated")
    listed = None
    if designated:
        score = Decimal(str(designated.get("score"))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        listed = (designated.get("name"), designated.get("matched_name"), score)
    return (
        str(finding.get("severity")),
        finding.get("summary"),
        tuple(finding.get("citations") or ()),
        listed,
    )


def distinct(findings: list[Finding]) -> list[Finding]:
    """``findings`` without repeats of an identity, first ones kept, in order."""
    if len(findings) < 2:
        return findings
    seen: set[str] = set()
    out = []
    for f in findings:
        identity = f.identity  # as good as the key for equality, and no hash to compute
        if identity not in seen:
            seen.add(identity)
            out.append(f)
    return out
