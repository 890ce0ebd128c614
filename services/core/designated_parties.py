"""Designated parties: a party whose name matches the designated list.

A receiving party listed before the transfer, under a phase whose embargo reaches
designated persons, is a violation; any other role, a later listing, a weaker
match or a listing under a regime without such an embargo is an indicator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.core.context import Context, ListMatch
from services.core.findings import DesignatedRef, Finding, Kind, PartyRef, Severity
from services.core.names import REPORTED_MATCHES
from services.core.rules import Direction, Phase, Regime, Scope
from services.core.transfers import RECEIVING_ROLES, Party, Transfer
from services.core.wording import date_words, dispute_words, reference_words, role_words

#: How a finding is judged: its kind, severity, rule (after the regime id) and summary.
_Verdict = tuple[Kind, Severity, str, str]

_DIRECTION_WORDS = {
    Direction.INTO: "into",
    Direction.OUT_OF: "out of",
    Direction.BOTH: "into and out of",
}


def designated_findings(transfer: Transfer, ctx: Context) -> list[Finding]:
    """The list matches of every party, in record order, best match first."""
    if ctx.designated is None:
        return []
    findings = []
    # A record often names one party in two roles (consignee and end user): the
    # search is deterministic, so its answer is reused.
    searched: dict[tuple[Any, ...], Sequence[ListMatch]] = {}
    for party in transfer.parties:
        query = (party.name, party.country, party.date_of_birth, party.identifiers, party.type)
        matches = searched.get(query)
        if matches is None:
            matches = searched[query] = ctx.designated.search(
                party.name,
                country=party.country,
                date_of_birth=party.date_of_birth,
                identifiers=[value for _, value in party.identifiers],
                party_type=party.type,  # a StrEnum: the value itself, no lookup
                limit=REPORTED_MATCHES,
            )
        # Matches come best first: once one is strong, the weaker ones for the
        # same party are another person's name, not a second risk to look at.
        if matches and matches[0].score >= ctx.threshold:
            matches = [m for m in matches if m.score >= ctx.threshold]
        for match in matches:
            finding = _finding(transfer, party, match, ctx)
            if finding is not None:
                findings.append(finding)
    return findings


@dataclass(frozen=True, slots=True)
class _PartyMatch:
    """A party of a transfer and a list entry its name resembles, judged with ``ctx``."""

    transfer: Transfer
    party: Party
    match: ListMatch
    ctx: Context

    @property
    def strong(self) -> bool:
        return self.match.score >= self.ctx.threshold

    @property
    def listed(self) -> bool:
        """Listed by the transfer date (or on a date the list does not give)."""
        listed_on = self.match.listed_on
        return listed_on is None or listed_on <= self.transfer.transfer_date

    @property
    def who(self) -> str:
        return f"{role_words(self.party).capitalize()} {self.party.name!r}"

    @property
    def listing(self) -> str:
        return f"{self.match.reference_number} {self.match.name}"


def _finding(transfer: Transfer, party: Party, match: ListMatch, ctx: Context) -> Finding | None:
    regime = ctx.ruleset.by_list_type.get(match.list_type)
    if regime is None or match.score < ctx.near_miss_floor:
        return None
    pm = _PartyMatch(transfer, party, match, ctx)
    on = transfer.transfer_date
    in_force = regime.phases_on(on)
    phase = next((p for p in in_force if Scope.DESIGNATED in p.scopes), None)
    if phase is not None:
        verdict, citations = _under_embargo(pm, phase), phase.citations_on(on)
    elif pm.strong and pm.listed:
        verdict = _listed_party(pm, regime, in_force)
        # Cited, but not the finding's phase: the key of this finding stays what it was.
        citations = in_force[0].citations_on(on) if in_force else ()
    else:
        return None
    kind, severity, rule, text = verdict
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
        designated=DesignatedRef(
            match.reference_number, match.name, match.matched_name, match.score
        ),
        evidence={
            "matched_on": match.matched_on,
            "features": [list(f) for f in match.features],
            "listed_on": date_words(match.listed_on),
            "transfer_date": on.isoformat(),
            "threshold": ctx.threshold,
            "algorithm": ctx.algorithm,
            "committee_reference": transfer.documents.committee_reference,
            "confidence": phase.confidence if phase else None,
        },
        ruleset_version=ctx.ruleset.version,
        list_version=ctx.list_version,
    )


def _listed_party(pm: _PartyMatch, regime: Regime, in_force: Sequence[Phase]) -> _Verdict:
    """Listed under a regime whose arms embargo does not (or not then) reach its
    designated persons: no violation, but not a party to let pass unseen either."""
    on = pm.transfer.transfer_date.isoformat()
    text = (
        f"{pm.who} matches {pm.listing} (score {pm.match.score:.2f}), listed under the "
        f"{regime.name} sanctions; "
    )
    if in_force:
        # The embargo then in force reaches them where it reaches anyone (DRC 1807:
        # non-governmental entities and individuals in the DRC), not wherever they are.
        then = in_force[0]
        text += (
            f"the arms embargo in force on {on} ({then.citation_texts[0]}) covers "
            f"{_scope_words(regime, then)}, not the designated persons wherever they are, "
            f"but a listed party in an arms transfer should be investigated{dispute_words(then)}"
        )
    elif lapsed := regime.lapsed_on(pm.transfer.transfer_date):
        lapse = lapsed[0].lapses
        text += (
            f"its arms embargo ({lapsed[0].citation_texts[0]}) lapsed after "
            f"{lapse.words() if lapse else 'its lapse date'} unless the Council renewed it, and "
            "the rules table records no renewal; a listed party in an arms transfer should be "
            "investigated"
        )
    else:
        text += (
            f"no arms embargo on that regime's designated persons was in force on {on}, "
            "but a listed party in an arms transfer should be investigated"
        )
    return Kind.INDICATOR, Severity.MEDIUM, "designated.listed_party", text


def _under_embargo(pm: _PartyMatch, phase: Phase) -> _Verdict:
    """Under a phase whose arms embargo reaches the regime's designated persons."""
    m, on = pm.match, pm.transfer.transfer_date.isoformat()
    if pm.strong and pm.listed and pm.party.role in RECEIVING_ROLES:
        return _receiving(pm, phase)
    if pm.strong and pm.listed:
        return (
            Kind.INDICATOR,
            Severity.HIGH,
            "designated.other_role",
            f"{pm.who} matches designated {pm.listing} (score {m.score:.2f}); a listed "
            f"party involved in an arms transfer on {on} should be investigated "
            f"({phase.citation_texts[0]})",
        )
    if pm.strong:
        return (
            Kind.INDICATOR,
            Severity.LOW,
            "designated.listed_later",
            f"{pm.who} matches {pm.listing}, designated only on {date_words(m.listed_on)}, "
            f"after the transfer date {on}",
        )
    return (
        Kind.INDICATOR,
        Severity.MEDIUM,
        "designated.near_miss",
        f"{pm.who} resembles designated {pm.listing} (matched {m.matched_name!r}, "
        f"score {m.score:.2f}, below the {pm.ctx.threshold:.2f} threshold)",
    )


def _receiving(pm: _PartyMatch, phase: Phase) -> _Verdict:
    m = pm.match
    text = (
        f"{pm.who} matches designated {pm.listing} (listed "
        f"{date_words(m.listed_on)}; score {m.score:.2f}), a receiving party of an arms "
        f"transfer on {pm.transfer.transfer_date.isoformat()} under the targeted arms embargo "
        f"({phase.citation_texts[0]})"
    )
    reference = pm.transfer.documents.committee_reference
    referenced, note = reference_words(phase.otherwise, phase, reference)
    text += note + dispute_words(phase)
    if referenced:
        # The Committee may exempt a supply case by case (Yemen).
        return Kind.INDICATOR, Severity.MEDIUM, "designated.referenced", text
    return Kind.VIOLATION, Severity.HIGH, "designated.receiving", text


def _scope_words(regime: Regime, phase: Phase) -> str:
    """Whom ``phase`` embargoes, in words: "non-state actors in CD"."""
    where = regime.territory or regime.name
    if Scope.TERRITORY in phase.scopes:
        return f"arms {_DIRECTION_WORDS[phase.direction]} {where}"
    return f"non-state actors in {where}"
