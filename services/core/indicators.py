"""Diversion indicators: what an investigator should look at, short of a violation.

An indicator says something about the record makes diversion plausible (a route
through a neighbour of an embargoed territory, an end user nobody can check, a
missing end-user certificate): MEDIUM or LOW, never HIGH, since alone it proves
nothing. A designated party in a non-receiving role is an indicator too, made by
:mod:`services.core.designated_parties` with the name match it rests on.

Indicators look only where a transfer touches an embargo or a party matched the
list: elsewhere they are ordinary trade, and a queue of them buries what matters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from services.core import items as item_vocabulary
from services.core.context import Context
from services.core.evidence import items_evidence, party_evidence
from services.core.findings import Finding, Kind, PartyRef, Severity
from services.core.goods import ClassifiedItem, in_item_scope
from services.core.name_normalisation import LEGAL_FORMS, fold
from services.core.rules import Direction, ItemScope, Phase, Procedure, Regime, Ruleset, Scope
from services.core.transfers import Party, PartyRole, PartyType, Transfer, receiving_parties
from services.core.wording import and_words, items_words, role_words, where_words

#: Roles whose country counts as "where the goods go" for the neighbour indicator;
#: the end user's place is what ``route.destination`` already says.
NEIGHBOUR_ROLES = frozenset({PartyRole.CONSIGNEE, PartyRole.NOTIFY_PARTY, PartyRole.IMPORTER})

#: Roles whose country says where the goods go or who arranges it: a neighbour of an
#: embargoed territory there brings the transfer near the embargo. An exporter,
#: manufacturer, carrier or financier seated next door does not move goods towards it.
APPROACH_ROLES = NEIGHBOUR_ROLES | {
    PartyRole.END_USER,
    PartyRole.BROKER,
    PartyRole.FREIGHT_FORWARDER,
}

#: Intermediaries whose presence is a risk factor of a neighbour route: goods pass
#: through hands that neither sell nor use them.
INTERMEDIARY_ROLES = frozenset({PartyRole.BROKER, PartyRole.FREIGHT_FORWARDER})

#: Receivers whose use of the goods their state answers for; any other is a risk
#: factor of a neighbour route.
OFFICIAL_TYPES = frozenset({PartyType.GOVERNMENT, PartyType.UN_MISSION})

#: What bills of lading write as the notify party when it is the consignee (folded).
SAME_AS_CONSIGNEE = frozenset(
    {"same as consignee", "same as above", "as consignee", "same as buyer", "same"}
)

#: Parties whose name, given as the final destination, means the goods stop at a forwarder.
FORWARDING_ROLES = frozenset({PartyRole.FREIGHT_FORWARDER, PartyRole.CARRIER})

#: Folded words that make a name a forwarding or logistics business (en, fr, es, pt).
FORWARDING_WORDS = frozenset(
    {
        "freight",
        "forwarding",
        "forwarder",
        "forwarders",
        "logistics",
        "logistic",
        "shipping",
        "cargo",
        "transitaire",
        "transitaires",
        "transporte",
        "transportes",
    }
)

#: End-user names that name no one who could be asked about the end use, folded
#: (lower case, no accents or punctuation; a leading "the" is dropped). Whole names
#: only: "Police" is vague, "Police Nationale d'Haïti" is not. Curated, short on
#: purpose: every entry here is a flag on every record that uses it.
VAGUE_NAMES = frozenset(
    {
        "government",
        "state",
        "military",
        "army",
        "armed forces",
        "security forces",
        "police",
        "unknown",
        "n a",
        "na",
        "none",
        "tbd",
        "tba",
        "to be determined",
        "to order",
        "various",
        "end user",
        "enduser",
        "customer",
        "client",
        "same as consignee",
    }
)

#: Names of a ministry without its state: vague only when the party has no country,
#: since "Ministry of Defence" of a named state is the usual end user of an EUC.
VAGUE_WITHOUT_COUNTRY = frozenset(
    {
        "ministry",
        "ministry of defence",
        "ministry of defense",
        "ministry of interior",
        "ministry of the interior",
        "ministry of security",
    }
)

_ITEM_SCOPE_WORDS = {
    ItemScope.SALW: "small arms, light weapons and their ammunition",
    ItemScope.ALL_ARMS: "arms of all types",
}


def indicator_findings(
    transfer: Transfer,
    ctx: Context,
    classified: Sequence[ClassifiedItem],
    *,
    party_listed: bool = False,
) -> list[Finding]:
    """The diversion indicators of ``transfer`` at its ``transfer_date``, in a fixed order;
    none unless it touches an embargo or ``party_listed`` (a party matched the list).

    A party the record names twice repeats its findings: ``screen`` drops the repeats.
    """
    if not party_listed and not touches_embargo(transfer, ctx.ruleset):
        return []
    end_users = tuple(p for p in transfer.parties if p.role is PartyRole.END_USER)
    consignees = tuple(p for p in transfer.parties if p.role is PartyRole.CONSIGNEE)
    # The final destination: the end users; failing that the consignees, who then
    # stand for the end user.
    targets = end_users or consignees
    split = _consignee_not_end_user(transfer, ctx, end_users, consignees)
    return [
        *_neighbour_routes(transfer, ctx, classified, split=bool(split)),
        *split,
        *_forwarder_as_end_user(transfer, ctx, targets),
        *_vague_end_user(transfer, ctx, targets),
        *_end_user_certificate(transfer, ctx, classified),
    ]


def touches_embargo(transfer: Transfer, ruleset: Ruleset) -> bool:
    """Whether ``transfer`` comes near an embargo on its ``transfer_date``.

    Near means in an embargoed territory (one whose regime has a phase in force) —
    its origin, destination, a transit country or any party there — or next door to
    one: the destination, a transit country, or a party in one of
    :data:`APPROACH_ROLES` located in a neighbour.
    """
    near = _neighbours(ruleset)
    on, route = transfer.transfer_date, transfer.route
    if any(near.embargoed(c, on) for c in (route.origin, route.destination, *route.transit)):
        return True
    if any(near.next_door(c, on) for c in (route.destination, *route.transit)):
        return True
    for party in transfer.parties:
        country = party.country
        if country is not None and (
            near.embargoed(country, on)
            or (party.role in APPROACH_ROLES and near.next_door(country, on))
        ):
            return True
    return False


def _indicator(
    transfer: Transfer,
    ctx: Context,
    name: str,
    severity: Severity,
    summary: str,
    evidence: Mapping[str, Any],
    *,
    party: Party | None = None,
    regime: Regime | None = None,
    phase: Phase | None = None,
) -> Finding:
    return Finding(
        record_id=transfer.record_id,
        kind=Kind.INDICATOR,
        regime=regime.id if regime else None,
        rule_id=f"indicator.{name}",
        phase=phase.id if phase else None,
        severity=severity,
        summary=summary,
        citations=phase.citations_on(transfer.transfer_date) if phase else (),
        party=PartyRef(party.role.value, party.name) if party else None,
        evidence=evidence,
        ruleset_version=ctx.ruleset.version,
        list_version=ctx.list_version,
    )


# --- 1. Neighbour of an embargoed territory -------------------------------------------


class _Watched:
    """A phase that stops goods going *into* a territory, seen from next door.

    Holds what every neighbour finding under the phase repeats, worked out once.
    """

    def __init__(self, regime: Regime, phase: Phase) -> None:
        self.phase = phase
        self.start = phase.start.isoformat()
        self.end = phase.end.isoformat() if phase.end else None
        #: The summary from the neighbour onwards.
        if Scope.TERRITORY in phase.scopes:
            self.tail = (
                f", a neighbour of {regime.name} under a territory-wide embargo on "
                f"{_ITEM_SCOPE_WORDS[phase.item_scope]} in force since {self.start} "
                f"({phase.citation_texts[0]}); check for diversion into {regime.territory}."
            )
        else:
            self.tail = (
                f", a neighbour of {regime.name}, where an embargo on "
                f"{_ITEM_SCOPE_WORDS[phase.item_scope]} for non-state actors has been in force "
                f"since {self.start} ({phase.citation_texts[0]}); check for diversion to armed "
                f"groups in {regime.territory}."
            )
        self._embargoed: dict[str, bool] = {}  # by item category

    def embargoes(self, category: str) -> bool:
        hit = self._embargoed.get(category)
        if hit is None:
            hit = self._embargoed[category] = _embargoed(self.phase, category)
        return hit


class _Neighbours:
    """The embargoed territories of one ruleset, their neighbours, and the phases
    watched from next door per regime."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.territories = ruleset.by_territory
        table: dict[str, list[Regime]] = {}
        for regime in sorted(ruleset.regimes.values(), key=lambda r: r.id):
            if regime.territory is not None:
                for country in regime.neighbours:
                    table.setdefault(country, []).append(regime)
        self.table = {country: tuple(regimes) for country, regimes in table.items()}
        # Only phases that stop goods going *into* the territory: an export ban alone
        # (Iran 2007-10) says nothing about goods parked next door. In phase order.
        self.watched = {
            regime.id: tuple(_Watched(regime, p) for p in regime.phases if _stops_imports(p))
            for regimes in self.table.values()
            for regime in regimes
        }

    def watched_on(self, regime: Regime, on: date) -> _Watched | None:
        return next((w for w in self.watched[regime.id] if w.phase.in_force(on)), None)

    def guarded(self, country: str, on: date) -> bool:
        """``country`` is a territory with a phase in force that stops goods going in."""
        return any(
            _stops_imports(phase) and phase.in_force(on)
            for regime in self.territories.get(country, ())
            for phase in regime.phases
        )

    def embargoed(self, country: str, on: date) -> bool:
        """``country`` is a territory whose regime has a phase in force on ``on``."""
        return _in_force(self.territories.get(country, ()), on)

    def next_door(self, country: str, on: date) -> bool:
        """``country`` neighbours a territory whose regime has a phase in force on ``on``."""
        return _in_force(self.table.get(country, ()), on)


def _in_force(regimes: Sequence[Regime], on: date) -> bool:
    return any(phase.in_force(on) for regime in regimes for phase in regime.phases)


def _stops_imports(phase: Phase) -> bool:
    """A phase that stops goods going into the territory, to anyone there or to its
    non-state actors (DRC since 2667, CAR since 2745): next door is where diversion to
    them starts."""
    scoped = Scope.TERRITORY in phase.scopes or Scope.NON_STATE_ACTORS in phase.scopes
    return scoped and phase.direction in (Direction.INTO, Direction.BOTH)


# One entry: a process screens with one active ruleset at a time. Keyed by identity
# (a Ruleset holds dicts, so it cannot be hashed); holding the ruleset keeps its id
# from being reused while the entry lives.
_neighbours_cache: _Neighbours | None = None


def _neighbours(ruleset: Ruleset) -> _Neighbours:
    global _neighbours_cache
    cached = _neighbours_cache
    if cached is None or cached.ruleset is not ruleset:
        cached = _neighbours_cache = _Neighbours(ruleset)
    return cached


def _embargoed(phase: Phase, category: str) -> bool:
    """Covered by ``phase`` and not freely exempt for anyone (e.g. helmets under 2752).

    Exemptions tied to an end-user type do not clear a route next door: who gets the
    goods once they cross is exactly what is in doubt.
    """
    if not in_item_scope(phase, category):
        return False
    return not any(
        category in ex.item_categories and not ex.end_user_types and ex.procedure is Procedure.NONE
        for ex in phase.exemptions
    )


def _neighbour_touches(
    transfer: Transfer, table: Mapping[str, tuple[Regime, ...]]
) -> dict[str, tuple[list[str], list[Party]]]:
    """Neighbour country -> (how the route touches it, parties located there)."""
    route = transfer.route
    touches: dict[str, tuple[list[str], list[Party]]] = {}
    if route.destination in table:
        touches.setdefault(route.destination, ([], []))[0].append("destination")
    for country in route.transit:
        if country in table:
            ways = touches.setdefault(country, ([], []))[0]
            if "transit" not in ways:
                ways.append("transit")
    for party in transfer.parties:
        located = party.country
        if located is not None and located in table and party.role in NEIGHBOUR_ROLES:
            touches.setdefault(located, ([], []))[1].append(party)
    return touches


def _neighbour_routes(
    transfer: Transfer, ctx: Context, classified: Sequence[ClassifiedItem], *, split: bool
) -> list[Finding]:
    """``split``: the record names a consignee or notify party other than the end user."""
    neighbours = _neighbours(ctx.ruleset)
    route = transfer.route
    # Goods bound for a territory under its own import embargo are that embargo's to
    # judge: a route "next door" to a second territory repeats the same doubt (who ends
    # up with them) a panel already has, for every UN mission and government there.
    if neighbours.guarded(route.destination, transfer.transfer_date):
        return []
    touches = _neighbour_touches(transfer, neighbours.table)
    if not touches:
        return []
    findings = []
    for country in sorted(touches):
        ways, parties = touches[country]
        risks = _risk_factors(transfer, country, split=split)
        for regime in neighbours.table[country]:
            # Into the territory itself is screening's (violation) case; out of it is
            # not a diversion towards it.
            if regime.territory in (route.destination, route.origin):
                continue
            watched = neighbours.watched_on(regime, transfer.transfer_date)
            if watched is None:
                continue
            covered = [ci for ci in classified if watched.embargoes(ci.category)]
            if covered:
                route_to = _Approach(country, ways, parties, risks)
                findings.append(
                    _neighbour_finding(transfer, ctx, regime, watched, route_to, covered)
                )
    return findings


@dataclass(frozen=True, slots=True)
class _Approach:
    """How a transfer comes next door: the neighbour, the ways (destination, transit),
    the parties located there, and the risk factors on record, in words."""

    country: str
    ways: Sequence[str]
    parties: Sequence[Party]
    risks: Sequence[str]


def _risk_factors(transfer: Transfer, country: str, *, split: bool) -> list[str]:
    """What besides the neighbour makes diversion plausible, in words: a transit, an
    intermediary, a consignee other than the end user, an end user other than the
    neighbour's own state."""
    risks = []
    if transfer.route.transit:
        risks.append(f"transit through {and_words(list(dict.fromkeys(transfer.route.transit)))}")
    risks += [
        f"{role_words(p)} {p.name!r}" for p in transfer.parties if p.role in INTERMEDIARY_ROLES
    ]
    if split:
        risks.append("a consignee or notify party other than the end user")
    # A government elsewhere counts too: the goods then travel on from next door.
    receivers = receiving_parties(transfer)
    if not all(r.type in OFFICIAL_TYPES and r.country in (None, country) for r in receivers):
        risks.append(f"a receiver other than {country}'s government")
    elif not receivers:
        risks.append("no end user, consignee or importer named")
    return risks


_VIA_WORDS = {"destination": "ends in", "transit": "passes through"}


def _neighbour_finding(
    transfer: Transfer,
    ctx: Context,
    regime: Regime,
    watched: _Watched,
    near: _Approach,
    covered: Sequence[ClassifiedItem],
) -> Finding:
    country = near.country
    how = [f"{_VIA_WORDS[w]} {country}" for w in near.ways]
    how += [f"names {role_words(p)} {p.name!r} in {country}" for p in near.parties]
    on = transfer.transfer_date.isoformat()
    goods = items_words(covered, "all")
    summary = f"Transfer {transfer.record_id} of {goods} on {on} {and_words(how)}"
    phase, route = watched.phase, transfer.route
    if near.risks:
        also = f" Other risk factors on record: {'; '.join(near.risks)}."
    else:
        also = (
            f" Nothing else on record points to diversion: the goods go to {country}'s government."
        )
    evidence = {
        "neighbour": country,
        "territory": regime.territory,
        "via": list(near.ways),
        "parties": [
            {"role": p.role.value, "name": p.name, "country": p.country} for p in near.parties
        ],
        "transfer_date": on,
        "origin": route.origin,
        "destination": route.destination,
        "transit": list(route.transit),
        "phase_start": watched.start,
        "phase_end": watched.end,
        "item_scope": phase.item_scope.value,
        "items": items_evidence(covered),
        "confidence": phase.confidence,
        "caveat": phase.caveat,
        "risk_factors": list(near.risks),
    }
    # MEDIUM only with another risk factor: most trade with a neighbour is lawful, and
    # goods its own government receives directly from a supplier are the usual case.
    # Even then a panel checks; it does not act. The neighbour goes into the rule id: one
    # finding per (regime, neighbour), and the finding key has no other field that tells
    # two neighbours apart.
    return _indicator(
        transfer,
        ctx,
        f"neighbour_route.{country}",
        Severity.MEDIUM if near.risks else Severity.LOW,
        summary + watched.tail + also,
        evidence,
        regime=regime,
        phase=phase,
    )


# --- 2-4. Who receives the goods --------------------------------------------------------


#: What the receiving-party indicators read from one party name: its compact folded
#: forms, with and without legal forms ("Acme Ltd" == "ACME Limited"); the forwarding
#: words in it, sorted; the folded name without a leading "the", as the vague-name
#: lists hold them. A plain tuple of strings, which the garbage collector stops
#: tracking: the cache holds one per party name a feed has used.
_NameFacts = tuple[tuple[str, ...], tuple[str, ...], str]


# Party names repeat across records (the same exporters, forwarders, carriers) and
# within one (each indicator looks at the same parties): fold each name once.
@lru_cache(maxsize=65536)
def _facts(name: str) -> _NameFacts:
    tokens = tuple(fold(name).split())
    keys = dict.fromkeys(("".join(tokens), "".join(t for t in tokens if t not in LEGAL_FORMS)))
    keys.pop("", None)
    forwarding = tuple(sorted(FORWARDING_WORDS.intersection(tokens)))
    return tuple(keys), forwarding, " ".join(tokens[1:] if tokens[:1] == ("the",) else tokens)


def _keys(name: str) -> tuple[str, ...]:
    return _facts(name)[0]


def _shares_key(keys: tuple[str, ...], name: str) -> bool:
    return any(key in keys for key in _keys(name))


def _consignee_not_end_user(
    transfer: Transfer, ctx: Context, end_users: Sequence[Party], consignees: Sequence[Party]
) -> list[Finding]:
    # A consignee or notified party other than the end user is a sign of diversion. A notify
    # party that is the consignee again ("SAME AS CONSIGNEE", or its name) adds nothing.
    consignee_keys = {key for p in consignees for key in _keys(p.name)}
    notified = [
        p
        for p in transfer.parties
        if p.role is PartyRole.NOTIFY_PARTY
        and _facts(p.name)[2] not in SAME_AS_CONSIGNEE
        and consignee_keys.isdisjoint(_keys(p.name))
    ]
    if not end_users or not (consignees or notified):
        return []
    end_user_keys = {key for p in end_users for key in _keys(p.name)}
    findings = []
    for consignee in (*consignees, *notified):
        if not end_user_keys.isdisjoint(_keys(consignee.name)):
            continue
        named = and_words(list(dict.fromkeys(f"{p.name!r}{where_words(p)}" for p in end_users)))
        how = (
            "is consigned to"
            if consignee.role is PartyRole.CONSIGNEE
            else "names as the party to notify on arrival"
        )
        # LOW: importers and distributors routinely receive goods for someone else;
        # the split matters only together with other signs.
        findings.append(
            _indicator(
                transfer,
                ctx,
                "consignee_not_end_user",
                Severity.LOW,
                f"Transfer {transfer.record_id} {how} {consignee.name!r}"
                f"{where_words(consignee)} but declares end user {named}; goods delivered to one "
                "party for another can be diverted on the way.",
                {
                    consignee.role.value: party_evidence(consignee),
                    "end_users": [party_evidence(p) for p in end_users],
                },
                party=consignee,
            )
        )
    return findings


def _forwarder_as_end_user(
    transfer: Transfer, ctx: Context, targets: Sequence[Party]
) -> list[Finding]:
    if not targets:
        return []
    forwarders = [p for p in transfer.parties if p.role in FORWARDING_ROLES]
    findings = []
    for target in targets:
        keys, forwarding, _ = _facts(target.name)
        same = next((f for f in forwarders if _shares_key(keys, f.name)), None)
        # An army's "Logistics Command" is a unit of an answerable end user, not a forwarder.
        words = list(forwarding) if target.type not in OFFICIAL_TYPES else []
        if same is not None:
            why = f"is also named as the {role_words(same)} ({same.name!r})"
        elif words:
            why = f"has a forwarding or logistics name ({', '.join(words)})"
        else:
            continue
        # MEDIUM: a forwarder as final destination is a sign of diversion: the record
        # then says where the goods stop, not who uses them.
        findings.append(
            _indicator(
                transfer,
                ctx,
                "forwarder_as_end_user",
                Severity.MEDIUM,
                f"The {role_words(target)} of transfer {transfer.record_id}, {target.name!r}, "
                f"{why}: a freight forwarder as final destination hides who receives the goods.",
                {
                    "party": party_evidence(target),
                    "same_as": party_evidence(same) if same else None,
                    "words": words,
                },
                party=target,
            )
        )
    return findings


def _is_vague(party: Party) -> bool:
    name = _facts(party.name)[2]
    return name in VAGUE_NAMES or (party.country is None and name in VAGUE_WITHOUT_COUNTRY)


def _vague_end_user(transfer: Transfer, ctx: Context, targets: Sequence[Party]) -> list[Finding]:
    # MEDIUM: an end user nobody can identify defeats the end-use check that every
    # exemption and licence rests on, as "the government" does.
    if not targets:
        return [
            _indicator(
                transfer,
                ctx,
                "vague_end_user",
                Severity.MEDIUM,
                f"Transfer {transfer.record_id} names neither an end user nor a consignee, "
                "so nobody on record answers for the end use.",
                {"end_user": None, "consignee": None},
            )
        ]
    return [
        _indicator(
            transfer,
            ctx,
            "vague_end_user",
            Severity.MEDIUM,
            f"The {role_words(p)} of transfer {transfer.record_id} is given only as {p.name!r}"
            f"{where_words(p)}, which names no unit or institution that could be asked about "
            "the end use.",
            {"party": party_evidence(p)},
            party=p,
        )
        for p in targets
        if _is_vague(p)
    ]


# --- 5. End-user certificate -------------------------------------------------------------


def _end_user_certificate(
    transfer: Transfer, ctx: Context, classified: Sequence[ClassifiedItem]
) -> list[Finding]:
    docs = transfer.documents
    expiry = docs.end_user_certificate_expiry
    if docs.end_user_certificate and (expiry is None or expiry >= transfer.transfer_date):
        return []  # the usual case, whatever the items: a certificate valid on the day
    military = [ci for ci in classified if not item_vocabulary.is_non_lethal(ci.category)]
    if not military:
        return []
    on = transfer.transfer_date.isoformat()
    if not docs.end_user_certificate:
        goods = items_words(military, "all")
        # LOW: many sources (UN Register, SIPRI, customs data) never carry the
        # certificate, so its absence from a record is often a gap in the data.
        return [
            _indicator(
                transfer,
                ctx,
                "end_user_certificate_missing",
                Severity.LOW,
                f"Transfer {transfer.record_id} of {goods} on {on} "
                "records no end-user certificate.",
                {"transfer_date": on, "items": items_evidence(military)},
            )
        ]
    if expiry is None or expiry >= transfer.transfer_date:
        return []
    # MEDIUM: the record itself says the end-use assurance had lapsed when the goods moved.
    return [
        _indicator(
            transfer,
            ctx,
            "end_user_certificate_expired",
            Severity.MEDIUM,
            f"The end-user certificate {docs.end_user_certificate!r} of transfer "
            f"{transfer.record_id} expired on {expiry.isoformat()}, before the transfer "
            f"date {on}.",
            {
                "end_user_certificate": docs.end_user_certificate,
                "expiry": expiry.isoformat(),
                "transfer_date": on,
                "days_expired": (transfer.transfer_date - expiry).days,
            },
        )
    ]
