"""Territorial embargoes: arms crossing the border of an embargoed territory.

A phase's territory-wide scope reaches every receiving party; its non-state-actor
scope reaches those that are neither a government nor a UN mission. Each receiving
party gets its own findings: one for the goods no exemption covers, one per
exemption that applies only with a procedure or only for a purpose the record does
not state, and, under a phase limited to small arms and light weapons, an indicator
for goods outside it that may be SALW all the same (the declaration cannot tell, or
definitions differ), with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.core.context import Context
from services.core.evidence import items_evidence, party_evidence
from services.core.findings import Finding, Kind, PartyRef, Severity
from services.core.goods import ClassifiedItem, in_item_scope, may_be_in_item_scope
from services.core.rules import (
    Direction,
    Exemption,
    Phase,
    Procedure,
    Regime,
    Ruleset,
    Scope,
    fold_mention,
    procedure_words,
)
from services.core.transfers import Party, PartyRole, PartyType, Transfer, receiving_parties
from services.core.wording import (
    dispute_words,
    items_words,
    party_words,
    purpose_words,
    reference_words,
)

#: Party types that count as "the government" or a UN mission for non-state-actor scopes.
STATE_OR_UN = frozenset({PartyType.GOVERNMENT, PartyType.UN_MISSION})

_SCOPES = (Scope.TERRITORY, Scope.NON_STATE_ACTORS)

#: The end user's evidence fields; these findings have never stored its country.
_END_USER_FIELDS = ("name", "type", "role")


@dataclass(frozen=True, slots=True)
class _Crossing:
    """One receiving party's goods crossing an embargoed border under one phase and scope:
    what all its findings share."""

    transfer: Transfer
    ctx: Context
    regime: Regime
    phase: Phase
    scope: Scope
    #: "into" or "out of" the territory.
    way: str
    end_user: Party | None

    @property
    def rule_id(self) -> str:
        return f"{self.regime.id}.{self.scope.value}"


def territorial_findings(
    transfer: Transfer, ctx: Context, classified: Sequence[ClassifiedItem]
) -> list[Finding]:
    """The findings of every phase in force on the transfer date, in rules order."""
    findings: list[Finding] = []
    for regime in _regimes_touched(transfer, ctx.ruleset):
        for phase in regime.phases_on(transfer.transfer_date):
            for scope in _SCOPES:
                if scope in phase.scopes:
                    findings += _scope_findings(transfer, ctx, classified, regime, phase, scope)
    return findings


def _regimes_touched(transfer: Transfer, ruleset: Ruleset) -> tuple[Regime, ...]:
    """Regimes whose territory is the record's destination or origin, in rules order."""
    route = transfer.route
    into = ruleset.by_territory.get(route.destination, ())
    if route.origin == route.destination:
        return into
    return into + ruleset.by_territory.get(route.origin, ())


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


def _scope_findings(
    transfer: Transfer,
    ctx: Context,
    classified: Sequence[ClassifiedItem],
    regime: Regime,
    phase: Phase,
    scope: Scope,
) -> list[Finding]:
    way = direction_hits(regime, phase, transfer)
    if way is None:
        return []
    covered = [ci for ci in classified if in_item_scope(phase, ci.category)]
    doubtful = [ci for ci in classified if may_be_in_item_scope(phase, ci)]
    if not covered and not doubtful:
        return []
    findings = []
    for end_user in receiving_parties(transfer) or (None,):
        if (
            scope is Scope.NON_STATE_ACTORS
            and end_user is not None
            and end_user.type in STATE_OR_UN
        ):
            continue  # not a non-state actor, whichever state's
        crossing = _Crossing(transfer, ctx, regime, phase, scope, way, end_user)
        findings += _crossing_findings(crossing, covered)
        findings += _crossing_findings(crossing, doubtful, doubt=True)
    return findings


def _crossing_findings(
    c: _Crossing, covered: Sequence[ClassifiedItem], *, doubt: bool = False
) -> list[Finding]:
    """The goods no exemption covers, then those of each exemption with a procedure or
    whose purpose the record does not state; for goods that only may be in scope
    (``doubt``), indicators that say why."""
    uncovered: list[ClassifiedItem] = []
    held: dict[tuple[str, bool], tuple[Exemption, list[ClassifiedItem]]] = {}
    for ci in covered:
        match = _exemption_for(c, ci.category)
        if match is None:
            uncovered.append(ci)
            continue
        ex, stated = match
        if ex.procedure is not Procedure.NONE or not stated:
            held.setdefault((ex.id, stated), (ex, []))[1].append(ci)
    findings = [_finding(c, uncovered, None, doubt)] if uncovered else []
    findings += [
        _finding(c, cis, ex, doubt, purpose_unstated=not stated)
        for (_, stated), (ex, cis) in held.items()
    ]
    return findings


def _exemption_for(c: _Crossing, category: str) -> tuple[Exemption, bool] | None:
    """The exemption that covers goods of ``category``, and whether the record states the
    purpose it depends on (True for one that depends on none).

    The first that applies wins. One whose purpose the record does not state holds only
    provisionally: a later one that applies in full with no procedure wins over it (the
    goods are exempt either way: the Government of the DRC's body armour), any other does
    not (which reading is right is the reviewer's to say)."""
    provisional: Exemption | None = None
    for ex in c.phase.exemptions:
        if not _applies(ex, c, category):
            continue
        if ex.purpose is None or _mentions(c.transfer, ex.purpose.mentions):
            if provisional is None or ex.procedure is Procedure.NONE:
                return ex, True
            break
        provisional = provisional or ex
    return (provisional, False) if provisional is not None else None


def _applies(ex: Exemption, c: _Crossing, category: str) -> bool:
    """Whether ``ex`` covers this receiving party's goods of ``category``: its end user,
    item, declared end use and carrier conditions all hold (cheapest first)."""
    end_user = c.end_user
    if ex.end_user_types and (end_user is None or end_user.type not in ex.end_user_types):
        return False
    if ex.end_user_types and not ex.any_government and _foreign_government(c):
        return False
    if ex.item_categories and category not in ex.item_categories:
        return False
    if ex.carrier_types and not _carried_by(c.transfer, ex.carrier_types):
        return False
    return not ex.end_use_mentions or _mentions(c.transfer, ex.end_use_mentions)


def _carried_by(transfer: Transfer, types: frozenset[str]) -> bool:
    return any(p.role is PartyRole.CARRIER and p.type in types for p in transfer.parties)


def _mentions(transfer: Transfer, words: tuple[str, ...]) -> bool:
    """Whether the declared end use or the claimed exemption names one of ``words`` (folded
    by the loader): the record's own statement of purpose, for a reviewer to verify."""
    text = f"{transfer.declared_end_use or ''} {transfer.documents.exemption_claimed or ''}"
    folded = fold_mention(text)
    return any(w in folded for w in words)


def _foreign_government(c: _Crossing) -> bool:
    """A government other than the territory's: an exemption for "the Government"
    (Haiti's security units, the Lebanese army, Somalia's Federal Government) is not one
    for a foreign state's forces or embassy, nor, out of the territory, for the buyer's.
    A government that names no country is taken to be the destination's."""
    party = c.end_user
    if party is None or party.type is not PartyType.GOVERNMENT:
        return False
    return (party.country or c.transfer.route.destination) != c.regime.territory


def _finding(
    c: _Crossing,
    items: Sequence[ClassifiedItem],
    ex: Exemption | None,
    doubt: bool,
    *,
    purpose_unstated: bool = False,
) -> Finding:
    """The finding for ``items``: uncovered by any exemption if ``ex`` is None. Goods that
    only may be in scope (``doubt``) make a MEDIUM indicator with the reasons instead: they
    are inside the embargo if they are what they may be, and nothing on the record says.

    Goods of an exemption whose purpose the record does not state (``purpose_unstated``)
    are exempt only if they serve it: under a standing exemption a MEDIUM indicator for a
    reviewer to check, not a violation; under one with a procedure the finding the
    procedure calls for (missing either way), saying the purpose is unstated too."""
    transfer, phase, end_user = c.transfer, c.phase, c.end_user
    if ex is None:
        rule_id, procedure = c.rule_id, phase.otherwise
        tail = f"{party_words(end_user)} is not covered by any exemption"
    elif purpose_unstated and ex.purpose is not None:
        rule_id, procedure = f"{c.rule_id}.{ex.id}.purpose_unstated", ex.procedure
        tail = purpose_words(ex, phase, transfer.transfer_date)
    else:
        rule_id, procedure = f"{c.rule_id}.{ex.id}", ex.procedure
        tail = (
            f"the exemption for {ex.description} applies only with "
            f"{procedure_words(ex.procedure, phase)}"
        )
    reference = transfer.documents.committee_reference
    referenced, note = reference_words(procedure, phase, reference)
    kind, severity = (
        (Kind.INDICATOR, Severity.MEDIUM)
        if referenced or doubt or (purpose_unstated and procedure is Procedure.NONE)
        else (Kind.VIOLATION, Severity.HIGH)
    )
    evidence = _evidence(c, items, procedure, reference)
    if purpose_unstated and ex is not None and ex.purpose is not None:
        evidence["purpose"] = _purpose_evidence(transfer, ex)
    if doubt:
        rule_id += ".may_be_salw"
        head, why = _doubt_head(c, items)
        evidence |= why
        note += "; check what the goods are"
    else:
        head = _head(c, items)
    return Finding(
        record_id=transfer.record_id,
        kind=kind,
        regime=c.regime.id,
        rule_id=rule_id,
        phase=phase.id,
        severity=severity,
        summary=f"{head}; {tail}{note}{dispute_words(phase)}.",
        citations=_citations(c, ex),
        party=PartyRef(end_user.role.value, end_user.name) if end_user else None,
        evidence=evidence,
        ruleset_version=c.ctx.ruleset.version,
        list_version=c.ctx.list_version,
    )


def _purpose_evidence(transfer: Transfer, ex: Exemption) -> dict[str, Any]:
    """What the exemption asks of the goods' purpose and what the record says of it."""
    purpose = ex.purpose
    assert purpose is not None
    return {
        "exemption": ex.id,
        "condition": purpose.condition,
        "stated": False,
        "declared_end_use": transfer.declared_end_use,
        "exemption_claimed": transfer.documents.exemption_claimed,
        "confidence": purpose.confidence,
    }


def _doubt_head(c: _Crossing, items: Sequence[ClassifiedItem]) -> tuple[str, dict[str, Any]]:
    """The summary up to the exemption for goods that may be SALW, and the evidence of why:
    each item's reason, and ``unconfirmed`` if one rests on a source nobody checked."""
    doubts = [(ci, d) for ci in items if (d := ci.may_be_salw) is not None]
    reasons = "; ".join(dict.fromkeys(d.reason for _, d in doubts))
    why: dict[str, Any] = {
        "may_be_salw": [
            {"description": ci.item.description, "reason": d.reason, "confirmed": d.confirmed}
            for ci, d in doubts
        ]
    }
    if not all(d.confirmed for _, d in doubts):
        why["confidence"] = "unconfirmed"
    head = (
        f"{_head(c, items, 'may fall')}, which covers small arms, light weapons and their "
        f"ammunition: {reasons}"
    )
    return head, why


def _head(c: _Crossing, items: Sequence[ClassifiedItem], verb: str = "falls") -> str:
    """What falls under which embargo: the summary up to the exemption."""
    regime, phase = c.regime, c.phase
    scope_words = {
        Scope.TERRITORY: f"the territory-wide arms embargo on {regime.name}",
        Scope.NON_STATE_ACTORS: f"the arms embargo on non-state actors in {regime.name}",
    }[c.scope]
    return (
        f"Transfer {c.transfer.record_id} of {items_words(items)} {c.way} {regime.territory} on "
        f"{c.transfer.transfer_date.isoformat()} {verb} under {scope_words} "
        f"in force since {phase.start.isoformat()} ({phase.citation_texts[0]})"
    )


def _citations(c: _Crossing, ex: Exemption | None) -> tuple[str, ...]:
    """The phase's citations, then the exemption's own, none adopted after the transfer."""
    on = c.transfer.transfer_date
    citations = c.phase.citations_on(on)
    if ex is not None:
        citations += tuple(
            str(r) for r in ex.citations if r.adopted_by(on) and str(r) not in citations
        )
    return citations


def _evidence(
    c: _Crossing,
    items: Sequence[ClassifiedItem],
    procedure: Procedure | None,
    reference: str | None,
) -> dict[str, Any]:
    transfer, phase = c.transfer, c.phase
    return {
        "transfer_date": transfer.transfer_date.isoformat(),
        "origin": transfer.route.origin,
        "destination": transfer.route.destination,
        "phase_start": phase.start.isoformat(),
        "phase_end": phase.end.isoformat() if phase.end else None,
        "phase_lapses": phase.lapses.last_day.isoformat() if phase.lapses else None,
        "item_scope": phase.item_scope.value,
        "items": items_evidence(items),
        "end_user": party_evidence(c.end_user, _END_USER_FIELDS) if c.end_user else None,
        "procedure_required": procedure.value if procedure else None,
        "committee_reference": reference,
        "confidence": phase.confidence,
        "caveat": phase.caveat,
    }
