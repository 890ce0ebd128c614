"""Screening: every finding for one transfer, from the rules, the list and the indicators.

``screen(transfer, context)`` is pure: no Kafka, HTTP or SQL. The matcher,
``ewatch screen`` and the tests all call it the same way.
"""

from __future__ import annotations

from services.core.context import Context
from services.core.designated_parties import designated_findings
from services.core.findings import Finding, distinct
from services.core.goods import classify_items
from services.core.indicators import indicator_findings
from services.core.organised_crime import organised_crime_findings
from services.core.sexual_violence import sexual_violence_findings
from services.core.territorial_embargo import territorial_findings
from services.core.transfers import Transfer


def screen(transfer: Transfer, ctx: Context) -> list[Finding]:
    """Every finding for ``transfer``, evaluated at its ``transfer_date``.

    Deterministic: the same record, rules and list give the same findings in
    the same order (their keys are what make stored findings idempotent):
    territorial embargoes, then designated parties, then diversion indicators, then
    the sexual-violence and organised-crime indicators, each finding once. Diversion
    indicators are looked for only where the transfer touches an embargo or a party
    matched the list (closely or as a near miss).
    """
    classified = classify_items(transfer)
    designated = designated_findings(transfer, ctx)
    return distinct(
        [
            *territorial_findings(transfer, ctx, classified),
            *designated,
            *indicator_findings(transfer, ctx, classified, party_listed=bool(designated)),
            *sexual_violence_findings(transfer, ctx),
            *organised_crime_findings(transfer, ctx, classified),
        ]
    )
