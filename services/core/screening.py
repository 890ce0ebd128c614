"""Screening: which embargo phases a transfer falls under, and which risks it carries.

``screen(transfer, context)`` is pure: no Kafka, HTTP or SQL. The matcher,
``ewatch screen`` and the tests all call it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Protocol

from services.core import items as item_vocabulary
from services.core.findings import DesignatedRef, Finding, Kind, PartyRef, Severity
from services.core.rules import (
    Direction,
    Exemption,
    ItemScope,
    Phase,
    Procedure,
    Regime,
    Ruleset,
    Scope,
    procedure_words,
)
from services.core.transfers import (
    RECEIVING_ROLES,
    Item,
    Party,
    PartyRole,
    PartyType,
    Transfer,
)

#: Party types that count as "the government" or a UN mission for non-state-actor scopes.
STATE_OR_UN = frozenset({PartyType.GOVERNMENT, PartyType.UN_MISSION})


class Candidate(Protocol):
    """One designated-list candidate for a party name (see services.core.names)."""

    @property
    def reference_number(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def matched_name(self) -> str: ...
    @property
    def matched_on(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def list_type(self) -> str: ...
    @property
    def listed_on(self) -> date | None: ...
    @property
    def features(self) -> Sequence[tuple[str, str, str]]: ...


class DesignatedIndex(Protocol):
    def search(
        self,
        name: str,
        *,
        country: str | None = None,
        date_of_birth: str | None = None,
        identifiers: Iterable[str] = (),
        party_type: str | None = None,
        limit: int = 5,
    ) -> Sequence[Candidate]: ...


@dataclass(frozen=True, slots=True)
class Context:
    """What screening decides with: the rules, and the designated list if loaded."""

    ruleset: Ruleset
    designated: DesignatedIndex | None = None
    list_version: str | None = None
    threshold: float = 0.88
    near_miss_floor: float = 0.75
    algorithm: str = ""


@dataclass(frozen=True, slots=True)
class ClassifiedItem:
    item: Item
    category: str
    note: str | None


@lru_cache(maxsize=65536)  # screening and indicators both ask; item lines recur in feeds
def _classify(item: Item) -> ClassifiedItem:
    c = item_vocabulary.classify(item.category, item.hs_code, item.ml_code, item.calibre)
    return ClassifiedItem(item, c.category, c.note)


def classify_items(transfer: Transfer) -> tuple[ClassifiedItem, ...]:
    return tuple(_classify(it) for it in transfer.items)


def in_item_scope(phase: Phase, category: str) -> bool:
    if item_vocabulary.is_assistance(category):
        return phase.assistance
    if phase.item_scope is ItemScope.SALW:
        return item_vocabulary.is_salw(category)
    return True


_RECEIVER_ROLES = (PartyRole.END_USER, PartyRole.CONSIGNEE, PartyRole.IMPORTER)


def receiving_parties(transfer: Transfer) -> tuple[Party, ...]:
    """Who the goods are for: every end user; failing those every consignee, then
    every importer. Each one is screened: an exempt end user beside one that is not
    leaves the other's share of the goods under the embargo."""
    for role in _RECEIVER_ROLES:
        parties = tuple(p for p in transfer.parties if p.role is role)
        if parties:
            return parties
    return ()


def direction_hits(regime: Regime, phase: Phase, transfer: Transfer) -> str | None:
    """Which way the transfer crosses the territory's border under ``phase``, if at all."""
    if regime.territory is None:
        return None
    into = transfer.route.destination == regime.territory
    out_of = transfer.route.origin == regime.territory
    if into and phase.direction in (Direction.INTO, Direction.BOTH):
        return "into"
    if out_of and phase.direction in (Direction.OUT_OF, Direction.BOTH):
        return "out of"
    return None


def _exemption_for(
    phase: Phase, end_user: Party | None, category: str, territory: str | None, destination: str
) -> Exemption | None:
    for ex in phase.exemptions:
        if ex.end_user_types and (end_user is None or end_user.type not in ex.end_user_types):
            continue
        if (
            ex.end_user_types
            and not ex.any_government
            and _foreign_government(end_user, territory, destination)
        ):
            continue
        if ex.item_categories and category not in ex.item_categories:
            continue
        return ex
    return None


def _foreign_government(party: Party | None, territory: str | None, destination: str) -> bool:
    """A government other than the territory's: an exemption for "the Government"
    (Haiti's security units, the Lebanese army, Somalia's Federal Government) is not one
    for a foreign state's forces or embassy, nor, out of the territory, for the buyer's.
    A government that names no country is taken to be the destination's."""
    if party is None or party.type is not PartyType.GOVERNMENT:
        return False
    return (party.country or destination) != territory


def _lower_first(label: str) -> str:
    """'Rifles and carbines' -> 'rifles and carbines'; 'UN Register II: …' stays."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def _describe_items(items: Sequence[ClassifiedItem]) -> str:
    parts = [
        f"{ci.item.quantity:g} × {_lower_first(item_vocabulary.label(ci.category))}"
        for ci in items[:3]
    ]
    if len(items) > 3:
        parts.append(f"{len(items) - 3} more item lines")
    return ", ".join(parts)


def _party_words(party: Party | None) -> str:
    if party is None:
        return "no end user, consignee or importer named"
    return f"{party.role.value.replace('_', ' ')} {party.name!r} ({party.type.value})"


def _territorial(
    regime: Regime,
    phase: Phase,
    scope: Scope,
    transfer: Transfer,
    classified: Sequence[ClassifiedItem],
    ctx: Context,
) -> list[Finding]:
    way = direction_hits(regime, phase, transfer)
    if way is None:
        return []
    covered = [ci for ci in classified if in_item_scope(phase, ci.category)]
    if not covered:
        return []
    findings = []
    for end_user in receiving_parties(transfer) or (None,):
        if (
            scope is Scope.NON_STATE_ACTORS
            and end_user is not None
            and end_user.type in STATE_OR_UN
        ):
            continue  # not a non-state actor, whichever state's
        findings += _territorial_for(regime, phase, scope, way, transfer, covered, end_user, ctx)
    return findings


def _territorial_for(
    regime: Regime,
    phase: Phase,
    scope: Scope,
    way: str,
    transfer: Transfer,
    covered: Sequence[ClassifiedItem],
    end_user: Party | None,
    ctx: Context,
) -> list[Finding]:
    """The findings of one receiving party (see :func:`receiving_parties`)."""
    uncovered: list[ClassifiedItem] = []
    procedures: dict[str, tuple[Exemption, list[ClassifiedItem]]] = {}
    for ci in covered:
        ex = _exemption_for(
            phase, end_user, ci.category, regime.territory, transfer.route.destination
        )
        if ex is None:
            uncovered.append(ci)
        elif ex.procedure is not Procedure.NONE:
            procedures.setdefault(ex.id, (ex, []))[1].append(ci)
    findings = []
    scope_words = {
        Scope.TERRITORY: f"the territory-wide arms embargo on {regime.name}",
        Scope.NON_STATE_ACTORS: f"the arms embargo on non-state actors in {regime.name}",
    }[scope]
    base = (
        f"Transfer {transfer.record_id} of {{items}} {way} {regime.territory} on "
        f"{transfer.transfer_date.isoformat()} falls under {scope_words} "
        f"in force since {phase.start.isoformat()} ({phase.citation_texts[0]})"
    )
    rule_id = f"{regime.id}.{scope.value}"
    if uncovered:
        findings.append(
            _procedure_finding(
                transfer,
                regime,
                phase,
                rule_id,
                base.format(items=_describe_items(uncovered)),
                uncovered,
                end_user,
                phase.otherwise,
                None,
                ctx,
                tail=f"{_party_words(end_user)} is not covered by any exemption",
            )
        )
    for ex, cis in procedures.values():
        findings.append(
            _procedure_finding(
                transfer,
                regime,
                phase,
                f"{rule_id}.{ex.id}",
                base.format(items=_describe_items(cis)),
                cis,
                end_user,
                ex.procedure,
                ex,
                ctx,
                tail=f"the exemption for {ex.description} applies only with "
                f"{procedure_words(ex.procedure, phase)}",
            )
        )
    return findings


def _procedure_finding(
    transfer: Transfer,
    regime: Regime,
    phase: Phase,
    rule_id: str,
    head: str,
    cis: Sequence[ClassifiedItem],
    end_user: Party | None,
    procedure: Procedure | None,
    exemption: Exemption | None,
    ctx: Context,
    tail: str,
) -> Finding:
    reference = transfer.documents.committee_reference
    kind, severity = Kind.VIOLATION, Severity.HIGH
    if procedure not in (None, Procedure.NONE) and reference:
        kind, severity = Kind.INDICATOR, Severity.MEDIUM
        tail += f"; verify Committee reference {reference!r}"
    elif procedure not in (None, Procedure.NONE):
        tail += f"; no {procedure_words(procedure, phase)} is referenced"
    citations = phase.citations_on(transfer.transfer_date)
    if exemption is not None:
        on = transfer.transfer_date
        citations += tuple(
            str(c) for c in exemption.citations if c.adopted_by(on) and str(c) not in citations
        )
    evidence = {
        "transfer_date": transfer.transfer_date.isoformat(),
        "origin": transfer.route.origin,
        "destination": transfer.route.destination,
        "phase_start": phase.start.isoformat(),
        "phase_end": phase.end.isoformat() if phase.end else None,
        "item_scope": phase.item_scope.value,
        "items": [
            {
                "category": ci.category,
                "quantity": ci.item.quantity,
                "description": ci.item.description,
                "classification_note": ci.note,
            }
            for ci in cis
        ],
        "end_user": {
            "name": end_user.name,
            "type": end_user.type.value,
            "role": end_user.role.value,
        }
        if end_user
        else None,
        "procedure_required": procedure.value if procedure else None,
        "committee_reference": reference,
        "confidence": phase.confidence,
        "caveat": phase.caveat,
    }
    return Finding(
        record_id=transfer.record_id,
        kind=kind,
        regime=regime.id,
        rule_id=rule_id,
        phase=phase.id,
        severity=severity,
        summary=f"{head}; {tail}{_dispute_words(phase)}.",
        citations=citations,
        party=PartyRef(end_user.role.value, end_user.name) if end_user else None,
        evidence=evidence,
        ruleset_version=ctx.ruleset.version,
        list_version=ctx.list_version,
    )


def _designated(transfer: Transfer, ctx: Context) -> list[Finding]:
    if ctx.designated is None:
        return []
    findings = []
    # A record often names one party in two roles (consignee and end user): the
    # search is deterministic, so its answer is reused.
    searched: dict[tuple[Any, ...], Sequence[Candidate]] = {}
    for party in transfer.parties:
        query = (party.name, party.country, party.date_of_birth, party.identifiers, party.type)
        candidates = searched.get(query)
        if candidates is None:
            candidates = searched[query] = ctx.designated.search(
                party.name,
                country=party.country,
                date_of_birth=party.date_of_birth,
                identifiers=[value for _, value in party.identifiers],
                party_type=party.type,  # a StrEnum: the value itself, no lookup
                limit=3,
            )
        # Candidates come best first: once one is a match, the weaker ones for the
        # same party are another person's name, not a second risk to look at.
        if candidates and candidates[0].score >= ctx.threshold:
            candidates = [c for c in candidates if c.score >= ctx.threshold]
        for cand in candidates:
            finding = _designated_finding(transfer, party, cand, ctx)
            if finding is not None:
                findings.append(finding)
    return findings


def _designated_finding(
    transfer: Transfer, party: Party, cand: Candidate, ctx: Context
) -> Finding | None:
    regime = ctx.ruleset.by_list_type.get(cand.list_type)
    if regime is None or cand.score < ctx.near_miss_floor:
        return None
    on = transfer.transfer_date
    in_force = regime.phases_on(on)
    phase = next((p for p in in_force if Scope.DESIGNATED in p.scopes), None)
    listed = cand.listed_on is None or cand.listed_on <= on
    strong = cand.score >= ctx.threshold
    receiving = party.role in RECEIVING_ROLES
    who = f"{party.role.value.replace('_', ' ').capitalize()} {party.name!r}"
    listing = f"{cand.reference_number} {cand.name}"
    reference = transfer.documents.committee_reference
    citations = phase.citations_on(on) if phase else ()
    if phase is None:
        if not (strong and listed):
            return None
        # Listed under a regime whose arms embargo does not (or not then) reach its
        # designated persons: no violation, but not a party to let pass unseen either.
        kind, severity, rule = Kind.INDICATOR, Severity.MEDIUM, "designated.listed_party"
        text = f"{who} matches {listing} (score {cand.score:.2f}), listed under the {regime.name} "
        if in_force:
            # The embargo then in force reaches them where it reaches anyone (DRC 1807:
            # non-governmental entities and individuals in the DRC), not wherever they are.
            # Cited, but not the finding's phase: the key of this finding stays what it was.
            then = in_force[0]
            citations = then.citations_on(on)
            text += (
                f"sanctions; the arms embargo in force on {on.isoformat()} "
                f"({then.citation_texts[0]}) covers {_scope_words(regime, then)}, not the "
                "designated persons wherever they are, but a listed party in an arms transfer "
                f"should be investigated{_dispute_words(then)}"
            )
        else:
            text += (
                f"sanctions; no arms embargo on that regime's designated persons was in force "
                f"on {on.isoformat()}, but a listed party in an arms transfer should be "
                "investigated"
            )
    elif strong and listed and receiving:
        kind, severity, rule = Kind.VIOLATION, Severity.HIGH, "designated.receiving"
        text = (
            f"{who} matches designated {listing} (listed "
            f"{_iso(cand.listed_on)}; score {cand.score:.2f}), a receiving party of an arms "
            f"transfer on {on.isoformat()} under the targeted arms embargo "
            f"({phase.citation_texts[0]})"
        )
        procedure = phase.otherwise
        if procedure not in (None, Procedure.NONE) and reference:
            # The Committee may exempt a supply case by case (Yemen): a cited decision
            # is for a reviewer to check, not a violation to assert.
            kind, severity, rule = Kind.INDICATOR, Severity.MEDIUM, "designated.referenced"
            text += f"; verify Committee reference {reference!r}"
        elif procedure not in (None, Procedure.NONE):
            text += f"; no {procedure_words(procedure, phase)} is referenced"
        text += _dispute_words(phase)
    elif strong and listed:
        kind, severity, rule = Kind.INDICATOR, Severity.HIGH, "designated.other_role"
        text = (
            f"{who} matches designated {listing} (score {cand.score:.2f}); a listed "
            f"party involved in an arms transfer on {on.isoformat()} should be investigated "
            f"({phase.citation_texts[0]})"
        )
    elif strong:
        kind, severity, rule = Kind.INDICATOR, Severity.LOW, "designated.listed_later"
        text = (
            f"{who} matches {listing}, designated only on {_iso(cand.listed_on)}, "
            f"after the transfer date {on.isoformat()}"
        )
    else:
        kind, severity, rule = Kind.INDICATOR, Severity.MEDIUM, "designated.near_miss"
        text = (
            f"{who} resembles designated {listing} (matched {cand.matched_name!r}, "
            f"score {cand.score:.2f}, below the {ctx.threshold:.2f} threshold)"
        )
    return Finding(
        record_id=transfer.record_id,
        kind=kind,
        regime=regime.id,
        rule_id=f"{regime.id}.{rule}",
        phase=phase.id if phase else None,
        severity=severity,
        summary=text + ".",
        citations=citations,
        party=PartyRef(party.role.value, party.name),
        designated=DesignatedRef(cand.reference_number, cand.name, cand.matched_name, cand.score),
        evidence={
            "matched_on": cand.matched_on,
            "features": [list(f) for f in cand.features],
            "listed_on": _iso(cand.listed_on),
            "transfer_date": on.isoformat(),
            "threshold": ctx.threshold,
            "algorithm": ctx.algorithm,
            "committee_reference": reference,
            "confidence": phase.confidence if phase else None,
        },
        ruleset_version=ctx.ruleset.version,
        list_version=ctx.list_version,
    )


_DIRECTION_WORDS = {
    Direction.INTO: "into",
    Direction.OUT_OF: "out of",
    Direction.BOTH: "into and out of",
}


def _scope_words(regime: Regime, phase: Phase) -> str:
    """Whom ``phase`` embargoes, in words: "non-state actors in CD"."""
    where = regime.territory or regime.name
    if Scope.TERRITORY in phase.scopes:
        return f"arms {_DIRECTION_WORDS[phase.direction]} {where}"
    return f"non-state actors in {where}"


def _dispute_words(phase: Phase) -> str:
    """What a summary must say of a measure whose validity is contested (Iran's snapback)."""
    return "; the measure is legally disputed (see the caveat)" if phase.disputed else ""


def _iso(d: date | None) -> str:
    return d.isoformat() if d else "unknown"


def _regimes_touched(transfer: Transfer, ruleset: Ruleset) -> tuple[Regime, ...]:
    """Regimes whose territory is the record's destination or origin, in rules order."""
    route = transfer.route
    into = ruleset.by_territory.get(route.destination, ())
    if route.origin == route.destination:
        return into
    return into + ruleset.by_territory.get(route.origin, ())


def screen(transfer: Transfer, ctx: Context) -> list[Finding]:
    """Every finding for ``transfer``, evaluated at its ``transfer_date``.

    Deterministic: the same record, rules and list give the same findings in
    the same order (their keys are what make stored findings idempotent).
    """
    classified = classify_items(transfer)
    findings: list[Finding] = []
    for regime in _regimes_touched(transfer, ctx.ruleset):
        for phase in regime.phases_on(transfer.transfer_date):
            for scope in (Scope.TERRITORY, Scope.NON_STATE_ACTORS):
                if scope in phase.scopes:
                    findings += _territorial(regime, phase, scope, transfer, classified, ctx)
    findings += _designated(transfer, ctx)
    # Imported here: indicators builds on this module (Context, classify_items).
    from services.core.indicators import diversion_indicators

    findings += diversion_indicators(transfer, ctx, classified)
    return _dedupe(findings)


def _dedupe(findings: list[Finding]) -> list[Finding]:
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
