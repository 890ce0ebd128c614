"""Which regimes' staff see a finding, and the searchable forms of a transfer.

A finding of a regime is that regime's alone. A finding without one (most diversion
indicators) concerns whoever watches the places the transfer touches: it is visible to
the regimes whose embargoed territory, or a neighbour of it, is the transfer's origin,
destination, a transit state or a party's country; to the regimes of the transfer's
other findings (their reviewers open that transfer anyway); and to the regime of the
listed party it names, if any (a reference number starts with its regime: HTi.001).
A regime-less finding that touches none of these is visible to admins only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.core.findings import Finding
from services.core.items import classify
from services.core.name_normalisation import fold, name_form
from services.core.rules import Ruleset


@dataclass(frozen=True, slots=True)
class Territories:
    """For each country, the regimes whose embargoed territory or neighbour it is."""

    by_country: Mapping[str, frozenset[str]]
    regimes: frozenset[str]

    @classmethod
    def of(cls, ruleset: Ruleset) -> Territories:
        by_country: dict[str, set[str]] = {}
        for regime in ruleset.regimes.values():
            if regime.territory is None:
                continue
            for country in {regime.territory, *regime.neighbours}:
                by_country.setdefault(country, set()).add(regime.id)
        return cls({c: frozenset(r) for c, r in by_country.items()}, frozenset(ruleset.regimes))


def record_countries(record: Mapping[str, Any]) -> frozenset[str]:
    """Origin, destination, transit states and the parties' countries of a v1 record."""
    route = record.get("route") or {}
    countries = {route.get("origin"), route.get("destination"), *(route.get("transit") or ())}
    countries.update(p.get("country") for p in record.get("parties") or ())
    return frozenset(c for c in countries if isinstance(c, str) and c)


def visible_regimes(
    regime: str | None,
    designated_reference: str | None,
    countries: Iterable[str],
    record_regimes: Iterable[str | None],
    territories: Territories,
) -> tuple[str, ...]:
    """The regimes whose staff see a finding (sorted), by the rule in this module's
    docstring. ``record_regimes`` are the regimes of all findings on the same transfer."""
    if regime:
        return (regime,)
    seen: set[str] = set()
    for country in countries:
        seen |= territories.by_country.get(country, frozenset())
    seen.update(r for r in record_regimes if r)
    if designated_reference and designated_reference[:2] in territories.regimes:
        seen.add(designated_reference[:2])
    return tuple(sorted(seen))


def party_names(record: Mapping[str, Any]) -> str:
    """The record's party names folded (case, accents, punctuation) and joined by `` | ``:
    what the queue's party-name filter searches for a folded substring."""
    names = (fold(str(p.get("name") or "")) for p in record.get("parties") or ())
    return " | ".join(n for n in names if n)


def party_keys(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The record's party names as the name matcher normalises them (titles, legal forms,
    particles and lone letters dropped, word order kept): transfers sharing one share a
    party, "Sécurité Plus S.A." and "SECURITE PLUS SA" alike."""
    keys = {_key(str(p.get("name") or "")) for p in record.get("parties") or ()}
    return tuple(sorted(k for k in keys if k))


def _key(name: str) -> str:
    return " ".join(t for t in name_form(name).tokens if len(t) > 1)


def item_categories(record: Mapping[str, Any]) -> tuple[str, ...]:
    """Each item's category as screening classifies it, with its parent categories
    (``small_arms.revolver_pistol`` also counts as ``small_arms``)."""
    out: set[str] = set()
    for item in record.get("items") or ():
        category = classify(
            item.get("category"),
            item.get("hs_code"),
            item.get("ml_code"),
            item.get("calibre"),
            item.get("description"),
        ).category
        parts = category.split(".")
        out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return tuple(sorted(out))


def findings_visibility(
    record: Mapping[str, Any], findings: Sequence[Finding], territories: Territories
) -> list[tuple[str, ...]]:
    """:func:`visible_regimes` of each of a record's findings, in order."""
    countries = record_countries(record)
    regimes = {f.regime for f in findings}
    return [
        visible_regimes(
            f.regime,
            f.designated.reference_number if f.designated else None,
            countries,
            regimes,
            territories,
        )
        for f in findings
    ]


def search_columns(record: Mapping[str, Any]) -> dict[str, Any]:
    """The screened-transfer columns the review workspace searches, from the record."""
    return {
        "party_names": party_names(record),
        "party_keys": list(party_keys(record)),
        "item_categories": list(item_categories(record)),
    }
