"""Organised-crime nexus: small arms for private hands where the Council names criminal networks.

Where a resolution names gangs or criminal networks (Haiti since 2653 (2022)), small arms or
ammunition for a private individual or company there are an indicator when they look like
what the UN's monitors document reaching those networks: a calibre gangs use, a consignment
no larger than documented seizures, a documented route (through South Florida ports, from the
United States to northern Haiti, from or through the Dominican Republic), or arms declared as
other goods.

The facts are data (:mod:`services.core.crime_nexus`). The finding is MEDIUM when a confirmed
fact holds and LOW when only unconfirmed ones do; it names each fact and whether it is
confirmed, and never rises to HIGH: it proves nothing on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.core import items as item_vocabulary
from services.core.context import Context
from services.core.crime_nexus import Fact, Nexus, calibre_key, nexus_table
from services.core.evidence import items_evidence, party_evidence
from services.core.findings import Finding, Kind, PartyRef, Severity
from services.core.goods import ClassifiedItem
from services.core.name_normalisation import fold
from services.core.transfers import Party, Transfer, receiving_parties
from services.core.wording import and_words, items_words, role_words

RULE_ID = "indicator.organised_crime"
#: HS chapter 93 holds arms and ammunition: anything else declared for them is other goods.
ARMS_CHAPTER = "93"


@dataclass(frozen=True, slots=True)
class Factor:
    """One documented fact the record matches, and what it rests on."""

    name: str  # calibre, quantity, route, concealment
    detail: str
    fact: Fact

    def words(self) -> str:
        if self.fact.confirmed:
            return f"{self.name}: {self.detail}"
        return f"{self.name}: {self.detail} (unconfirmed: {self.fact.reason})"


def organised_crime_findings(
    transfer: Transfer, ctx: Context, classified: Sequence[ClassifiedItem]
) -> list[Finding]:
    """One indicator per territory whose criminal networks the record's goods may reach."""
    table = nexus_table()
    destination = transfer.route.destination
    # Most records touch no such territory: one dict look-up per party and they are done.
    if destination not in table and not any(p.country in table for p in transfer.parties):
        return []
    findings = []
    for territory in sorted({p.country or destination for p in receiving_parties(transfer)}):
        nexus = table.get(territory)
        if nexus is not None and transfer.transfer_date >= nexus.since:
            finding = _finding(transfer, ctx, classified, nexus)
            if finding is not None:
                findings.append(finding)
    return findings


def _finding(
    transfer: Transfer, ctx: Context, classified: Sequence[ClassifiedItem], nexus: Nexus
) -> Finding | None:
    destination = transfer.route.destination
    private = [
        p
        for p in receiving_parties(transfer)
        if (p.country or destination) == nexus.territory and p.type in nexus.recipient_types
    ]
    salw = [ci for ci in classified if item_vocabulary.is_salw(ci.category)]
    if not private or not salw:
        return None
    factors = _factors(transfer, salw, nexus)
    if not factors:
        return None
    confirmed = any(f.fact.confirmed for f in factors)
    summary = (
        f"Transfer {transfer.record_id} of {items_words(salw, 'all')} on "
        f"{transfer.transfer_date.isoformat()} to {_who(private)} in {nexus.name}, where the "
        f"Security Council names gangs and criminal networks ({nexus.citations[0]}), matches "
        f"what the UN's monitors document reaching them: {'; '.join(f.words() for f in factors)}"
    )
    return Finding(
        record_id=transfer.record_id,
        kind=Kind.INDICATOR,
        regime=nexus.territory,
        rule_id=RULE_ID,
        phase=None,
        severity=Severity.MEDIUM if confirmed else Severity.LOW,
        summary=summary + ".",
        citations=nexus.citations,
        party=PartyRef(private[0].role.value, private[0].name),
        evidence=_evidence(transfer, nexus, private, salw, factors),
        ruleset_version=ctx.ruleset.version,
        list_version=ctx.list_version,
    )


def _who(parties: Sequence[Party]) -> str:
    return and_words([f"{role_words(p)} {p.name!r} ({p.type.value})" for p in parties])


def _factors(transfer: Transfer, salw: Sequence[ClassifiedItem], nexus: Nexus) -> list[Factor]:
    return [
        *_calibres(salw, nexus),
        *_quantity(salw, nexus),
        *(
            Factor("route", r.description, r.fact)
            for r in nexus.routes
            if r.taken_by(transfer.route)
        ),
        *_concealment(salw, nexus),
    ]


def _calibres(salw: Sequence[ClassifiedItem], nexus: Nexus) -> list[Factor]:
    found = {
        hit.calibre: hit
        for ci in salw
        if ci.item.calibre and (hit := nexus.calibres.get(calibre_key(ci.item.calibre)))
    }
    return [
        Factor("calibre", f"{c.calibre}, among the calibres documented with gangs", c.fact)
        for c in found.values()
    ]


def _quantity(salw: Sequence[ClassifiedItem], nexus: Nexus) -> list[Factor]:
    rounds = sum(ci.item.quantity for ci in salw if ci.category.startswith("ammunition."))
    firearms = sum(ci.item.quantity for ci in salw if not ci.category.startswith("ammunition."))
    bounds = nexus.quantities
    if firearms > bounds.firearms_at_most or rounds > bounds.rounds_at_most:
        return []
    detail = (
        f"{firearms:,g} firearms and {rounds:,g} rounds, no more than the largest documented "
        f"seizures ({bounds.firearms_at_most:,g} firearms, {bounds.rounds_at_most:,g} rounds)"
    )
    return [Factor("quantity", detail, bounds.fact)]


def _concealment(salw: Sequence[ClassifiedItem], nexus: Nexus) -> list[Factor]:
    factors = []
    for ci in salw:
        code = "".join(ch for ch in ci.item.hs_code or "" if ch.isdigit())
        words = sorted(nexus.concealment_words.intersection(fold(ci.item.description).split()))
        if code and not code.startswith(ARMS_CHAPTER):
            detail = f"declared as other goods (HS {ci.item.hs_code}, {ci.item.description!r})"
        elif words:
            detail = f"described as {', '.join(words)} ({ci.item.description!r})"
        else:
            continue
        factors.append(Factor("concealment", detail, nexus.concealment))
    return factors


def _evidence(
    transfer: Transfer,
    nexus: Nexus,
    private: Sequence[Party],
    salw: Sequence[ClassifiedItem],
    factors: Sequence[Factor],
) -> dict[str, Any]:
    return {
        "territory": nexus.territory,
        "council": nexus.council,
        "since": nexus.since.isoformat(),
        "transfer_date": transfer.transfer_date.isoformat(),
        "recipients": [party_evidence(p) for p in private],
        "items": items_evidence(salw),
        "factors": [
            {
                "factor": f.name,
                "detail": f.detail,
                "confidence": f.fact.confidence,
                "source": f.fact.source,
            }
            for f in factors
        ],
        "route": {
            "origin": transfer.route.origin,
            "transit": list(transfer.route.transit),
            "port_of_loading": transfer.route.port_of_loading,
            "port_of_discharge": transfer.route.port_of_discharge,
        },
    }
