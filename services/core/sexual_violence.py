"""Conflict-related sexual violence risk: a receiving party the Secretary-General's annex lists.

Arms Trade Treaty art. 7(4) requires an exporting State to take into account the risk that
arms are used to commit or facilitate serious acts of gender-based violence or violence
against women and children. A party listed in the annex of the Secretary-General's report on
conflict-related sexual violence is credibly suspected of patterns of such violence: arms it
receives are a HIGH indicator, whatever embargo does or does not apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.core.findings import Finding, Kind, PartyRef, Severity
from services.core.names import REPORTED_MATCHES
from services.core.sexual_violence_annex import Annex, AnnexParty
from services.core.transfers import Party, Transfer, receiving_parties
from services.core.wording import role_words

if TYPE_CHECKING:
    from services.core.context import Context, ListMatch

RULE_ID = "indicator.sexual_violence.listed_party"
ATT_CITATION = "Arms Trade Treaty (2013), art. 7(4)"
#: How the finding states the treaty's duty (Control Arms' reading of art. 7(4)).
ATT_WORDS = (
    "Arms Trade Treaty art. 7(4) requires an exporting State to take into account the risk "
    "that arms are used to commit or facilitate serious acts of gender-based violence or "
    "violence against women and children"
)


def sexual_violence_findings(transfer: Transfer, ctx: Context) -> list[Finding]:
    """A HIGH indicator for each receiving party whose name matches a party the annex lists.

    Only receiving parties located (or, naming no country, received) in a country the annex
    names are searched: most records cost one set look-up.
    """
    index = ctx.sexual_violence
    if index is None:
        return []
    destination = transfer.route.destination
    findings = []
    for party in receiving_parties(transfer):
        where = party.country or destination
        if where not in index.countries:
            continue
        matches = index.names.search(
            party.name, country=where, party_type=party.type, limit=REPORTED_MATCHES
        )
        for match in matches:
            if match.score >= ctx.threshold:
                listed = index.by_reference[match.reference_number]
                findings.append(_finding(transfer, party, listed, match, index.annex, ctx))
    return findings


def _finding(
    transfer: Transfer,
    party: Party,
    listed: AnnexParty,
    match: ListMatch,
    annex: Annex,
    ctx: Context,
) -> Finding:
    on = transfer.transfer_date.isoformat()
    summary = (
        f"{role_words(party).capitalize()} {party.name!r} of the arms transfer on {on} matches "
        f"{listed.name!r} ({listed.country}, score {match.score:.2f}), listed in the annex of the "
        f"Secretary-General's report on conflict-related sexual violence {annex.symbol} "
        f"({annex.date.isoformat()}) among the parties credibly suspected of committing or "
        f"being responsible for patterns of rape or other forms of sexual violence; "
        f"{ATT_WORDS}."
    )
    if transfer.transfer_date < annex.date:
        summary += (
            f" The report was published on {annex.date.isoformat()}, after the transfer: the "
            "party may not have been listed then."
        )
    if not annex.complete:
        summary += f" The annex screened with is {annex.extent}: a party it lacks is not cleared."
    return Finding(
        record_id=transfer.record_id,
        kind=Kind.INDICATOR,
        regime=None,
        rule_id=RULE_ID,
        phase=None,
        severity=Severity.HIGH,
        summary=summary,
        citations=(f"{annex.symbol}, annex", ATT_CITATION),
        party=PartyRef(party.role.value, party.name),
        evidence=_evidence(transfer, listed, match, annex, ctx),
        ruleset_version=ctx.ruleset.version,
        list_version=ctx.list_version,
    )


def _evidence(
    transfer: Transfer, listed: AnnexParty, match: ListMatch, annex: Annex, ctx: Context
) -> dict[str, Any]:
    return {
        "annex": annex.symbol,
        "annex_date": annex.date.isoformat(),
        "annex_url": annex.url,
        "annex_version": annex.version,
        "annex_complete": annex.complete,
        "annex_extent": annex.extent,
        "listed_party": {
            "name": listed.name,
            "country": listed.country,
            "kind": listed.kind.value,
            "source": listed.source,
        },
        "matched_name": match.matched_name,
        "matched_on": match.matched_on,
        "score": round(match.score, 4),
        "features": [list(f) for f in match.features],
        "threshold": ctx.threshold,
        "algorithm": ctx.algorithm,
        "transfer_date": transfer.transfer_date.isoformat(),
    }
