"""Diversion patterns across transfers: split shipments, surges, reused end-user certificates.

No single record shows them: the store looks up the transfers related to a batch's (by
receiver, or by certificate number) and hands their :class:`TransferFacts` here. All of
this is pure: the same related transfers and rules give the same findings with the same
keys, whatever order the transfers arrived in.

A pattern is a property of a *set* of transfers, defined from every transfer of one
look-up key and nothing else: a split shipment is a maximal window of small shipments, a
surge a maximal window far above the history before it, a reused certificate every
transfer that names it. An arrival does not open a window, so arrival order cannot
change which sets hold. :func:`checks` says which stored findings a change can alter (a
:class:`Span` of anchor dates) and which transfers deciding them takes; :func:`detect`
decides them and :func:`reconcile` says what to insert, restore and supersede.
``docs/architecture.md`` ("Stateful indicators") says why, and why these defaults.
"""

from services.core.patterns.facts import (
    FAMILY,
    PATTERNS,
    Approach,
    Family,
    Goods,
    PartyFacts,
    Pattern,
    TransferFacts,
    TransferRef,
    approaches,
    certificate_key,
    facts_of,
    goods_of,
    party_key,
)
from services.core.patterns.filing import Filed, Plan, reconcile
from services.core.patterns.findings import PatternFinding, group_of
from services.core.patterns.tuning import PatternRules, PatternSettings
from services.core.patterns.windows import EVERYTHING, Check, Span, checks, detect, span

__all__ = [
    "EVERYTHING",
    "FAMILY",
    "PATTERNS",
    "Approach",
    "Check",
    "Family",
    "Filed",
    "Goods",
    "PartyFacts",
    "Pattern",
    "PatternFinding",
    "PatternRules",
    "PatternSettings",
    "Plan",
    "Span",
    "TransferFacts",
    "TransferRef",
    "approaches",
    "certificate_key",
    "checks",
    "detect",
    "facts_of",
    "goods_of",
    "group_of",
    "party_key",
    "reconcile",
    "span",
]
