"""What one transfer contributes to the patterns: its look-up keys and facts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any

from services.core import items as item_vocabulary
from services.core.goods import classify_items
from services.core.indicators import VAGUE_NAMES, VAGUE_WITHOUT_COUNTRY
from services.core.name_normalisation import LEGAL_FORMS, fold
from services.core.rules import Direction, Phase, Regime, Ruleset, Scope
from services.core.transfers import Party, PartyRole, Transfer


class Pattern(StrEnum):
    SPLIT_SHIPMENT = "split_shipment"
    SURGE = "surge"
    REUSED_CERTIFICATE = "reused_end_user_certificate"


class Family(StrEnum):
    """What related transfers share: the kind of their look-up key."""

    RECEIVER = "receiver"
    CERTIFICATE = "certificate"


#: The patterns looked for among the transfers of one look-up key, by its family.
PATTERNS: Mapping[Family, tuple[Pattern, ...]] = {
    Family.RECEIVER: (Pattern.SPLIT_SHIPMENT, Pattern.SURGE),
    Family.CERTIFICATE: (Pattern.REUSED_CERTIFICATE,),
}
FAMILY = {pattern: family for family, patterns in PATTERNS.items() for pattern in patterns}


class Goods(StrEnum):
    """What quantities are added up in: a record's quantities of other goods have no unit."""

    WEAPONS = "weapons"
    AMMUNITION = "ammunition"


#: Roles whose party the split-shipment and surge patterns follow: who receives the goods.
RECEIVER_ROLES = (PartyRole.CONSIGNEE, PartyRole.END_USER)


@dataclass(frozen=True, slots=True, order=True)
class TransferRef:
    """A transfer as integrators name it: ``record_id`` is unique per integrator."""

    integrator: str
    record_id: str


@dataclass(frozen=True, slots=True)
class PartyFacts:
    key: str | None
    role: str
    name: str
    country: str | None


@dataclass(frozen=True, slots=True)
class Approach:
    """How a transfer comes near one embargoed territory on its date: into it, or into or
    through a neighbour of it, while a phase that stops goods going in is in force."""

    regime: str
    regime_name: str
    territory: str
    via: str  # "destination" | "transit"
    country: str  # the territory itself or its neighbour
    phase: str
    citations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TransferFacts:
    """What the patterns read from one screened transfer; stored as JSON beside it."""

    ref: TransferRef
    transfer_date: date
    ruleset_version: int
    destination: str
    approaches: tuple[Approach, ...] = ()
    #: Consignees and end users with a key, once per key, in record order.
    receivers: tuple[PartyFacts, ...] = ()
    exporters: tuple[PartyFacts, ...] = ()
    #: End users; failing those, consignees: who the certificate's end user is compared with.
    end_users: tuple[PartyFacts, ...] = ()
    certificate: str | None = None
    certificate_as_written: str | None = None
    goods: tuple[tuple[Goods, float], ...] = ()

    @property
    def order(self) -> tuple[date, str, str]:
        """The order sets are read in; a set's finding goes to its last transfer."""
        return (self.transfer_date, self.ref.integrator, self.ref.record_id)

    def quantity(self, goods: Goods) -> float:
        return next((q for g, q in self.goods if g is goods), 0.0)

    def lookup_keys(self) -> frozenset[tuple[Family, str]]:
        """The look-up keys this transfer is found by."""
        keys = set()
        if self.goods:
            keys |= {(Family.RECEIVER, p.key) for p in self.receivers if p.key}
        if self.certificate:
            keys.add((Family.CERTIFICATE, self.certificate))
        return frozenset(keys)

    def receiver(self, key: str) -> PartyFacts | None:
        return next((p for p in self.receivers if p.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "integrator": self.ref.integrator,
            "record_id": self.ref.record_id,
            "transfer_date": self.transfer_date.isoformat(),
            "ruleset_version": self.ruleset_version,
            "destination": self.destination,
            "approaches": [
                [a.regime, a.regime_name, a.territory, a.via, a.country, a.phase, list(a.citations)]
                for a in self.approaches
            ],
            "receivers": [_party_row(p) for p in self.receivers],
            "exporters": [_party_row(p) for p in self.exporters],
            "end_users": [_party_row(p) for p in self.end_users],
            "certificate": self.certificate,
            "certificate_as_written": self.certificate_as_written,
            "goods": [[g.value, q] for g, q in self.goods],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransferFacts:
        return cls(
            ref=TransferRef(data["integrator"], data["record_id"]),
            transfer_date=date.fromisoformat(data["transfer_date"]),
            ruleset_version=data["ruleset_version"],
            destination=data["destination"],
            approaches=tuple(
                Approach(r, n, t, v, c, p, tuple(cites))
                for r, n, t, v, c, p, cites in data["approaches"]
            ),
            receivers=tuple(PartyFacts(*row) for row in data["receivers"]),
            exporters=tuple(PartyFacts(*row) for row in data["exporters"]),
            end_users=tuple(PartyFacts(*row) for row in data["end_users"]),
            certificate=data["certificate"],
            certificate_as_written=data["certificate_as_written"],
            goods=tuple((Goods(g), float(q)) for g, q in data["goods"]),
        )


def _party_row(p: PartyFacts) -> list[str | None]:
    return [p.key, p.role, p.name, p.country]


@lru_cache(maxsize=65_536)  # the same parties come back, transfer after transfer
def party_key(name: str, country: str | None) -> str | None:
    """The key one party is followed by: its country and its folded name without legal
    forms ("HT:caribbeanimportservices"); None for names that name no one in particular
    ("the government", "unknown"), which would pool unrelated transfers.

    The country is part of the key: "Ministry of Defence" or "Police Nationale" in two
    states are two parties. A party recorded once with its country and once without is
    followed as two; the other way round, two states' bodies would merge.
    """
    tokens = _dotted_joined(fold(name).split())
    plain = " ".join(tokens[1:] if tokens[:1] == ["the"] else tokens)
    if plain in VAGUE_NAMES or (country is None and plain in VAGUE_WITHOUT_COUNTRY):
        return None
    compact = "".join(t for t in tokens if t not in LEGAL_FORMS)
    return f"{country or '-'}:{compact}" if compact else None


def _dotted_joined(tokens: list[str]) -> list[str]:
    """Runs of single letters read as one word: "S.A." folds to "s a" and is "sa"."""
    out: list[str] = []
    run = False  # whether out[-1] is a run of single letters
    for t in tokens:
        if len(t) == 1 and run:
            out[-1] += t
        else:
            out.append(t)
            run = len(t) == 1
    return out


_NOT_A_NUMBER = re.compile(r"[^0-9a-z]")


def certificate_key(number: str) -> str | None:
    """An end-user certificate number as compared: letters and digits only, upper case
    ("EUC/HT-2024 017" -> "EUCHT2024017"); None for what cannot be a number (no digit, or
    fewer than four characters: "N/A", "12"), which many records would share."""
    key = _NOT_A_NUMBER.sub("", fold(number)).upper()
    return key if len(key) >= 4 and any(c.isdigit() for c in key) else None


def goods_of(category: str) -> Goods | None:
    """Small arms and light weapons count in units, their ammunition in rounds."""
    if not item_vocabulary.is_salw(category):
        return None
    return Goods.AMMUNITION if category.startswith("ammunition.") else Goods.WEAPONS


def facts_of(transfer: Transfer, integrator: str, ruleset: Ruleset) -> TransferFacts:
    """What the patterns read from ``transfer``, judged with ``ruleset`` on its date."""
    totals: dict[Goods, float] = {}
    for ci in classify_items(transfer):
        goods = goods_of(ci.category)
        if goods is not None and ci.item.quantity > 0:
            totals[goods] = totals.get(goods, 0.0) + ci.item.quantity
    end_users = [p for p in transfer.parties if p.role is PartyRole.END_USER] or [
        p for p in transfer.parties if p.role is PartyRole.CONSIGNEE
    ]
    receivers: dict[str, PartyFacts] = {}
    for p in transfer.parties:
        facts = _party_facts(p)
        if p.role in RECEIVER_ROLES and facts.key:
            receivers.setdefault(facts.key, facts)
    docs = transfer.documents
    certificate = certificate_key(docs.end_user_certificate) if docs.end_user_certificate else None
    return TransferFacts(
        ref=TransferRef(integrator, transfer.record_id),
        transfer_date=transfer.transfer_date,
        ruleset_version=ruleset.version,
        destination=transfer.route.destination,
        approaches=approaches(transfer, ruleset),
        receivers=tuple(receivers.values()),
        exporters=tuple(_party_facts(p) for p in transfer.parties if p.role is PartyRole.EXPORTER),
        end_users=tuple(_party_facts(p) for p in end_users),
        certificate=certificate,
        certificate_as_written=docs.end_user_certificate if certificate else None,
        goods=tuple(sorted(totals.items())),
    )


def _party_facts(p: Party) -> PartyFacts:
    return PartyFacts(party_key(p.name, p.country), p.role.value, p.name, p.country)


def approaches(transfer: Transfer, ruleset: Ruleset) -> tuple[Approach, ...]:
    """The embargoed territories ``transfer`` goes into or next to on its date, one per
    regime, by regime id.

    Goods bound for an embargoed territory are that territory's (as the neighbour-route
    indicator has it): that the same country neighbours another one adds nothing. Out of
    a territory is not towards it.
    """
    on, route = transfer.transfer_date, transfer.route
    own = [
        _approach(regime, phase, on, "destination", route.destination)
        for regime in ruleset.by_territory.get(route.destination, ())
        if (phase := _stopping_imports(regime, on)) is not None
    ]
    if own:
        return tuple(sorted(own, key=lambda a: a.regime))
    ways = [("destination", route.destination), *(("transit", c) for c in route.transit)]
    found = []
    for regime in sorted(ruleset.regimes.values(), key=lambda r: r.id):
        territory = regime.territory
        if territory is None or territory == route.origin:
            continue
        way = next(((via, c) for via, c in ways if c == territory or c in regime.neighbours), None)
        phase = _stopping_imports(regime, on) if way else None
        if way is not None and phase is not None:
            found.append(_approach(regime, phase, on, *way))
    return tuple(found)


def _stopping_imports(regime: Regime, on: date) -> Phase | None:
    """The phase in force on ``on`` that stops goods going in, the widest first: one on the
    whole territory, then one on its non-state actors, then one on listed parties."""
    phases = [p for p in regime.phases_on(on) if p.direction in (Direction.INTO, Direction.BOTH)]
    return min(phases, key=_narrowness, default=None)


def _narrowness(phase: Phase) -> tuple[bool, bool]:
    return (Scope.TERRITORY not in phase.scopes, Scope.NON_STATE_ACTORS not in phase.scopes)


def _approach(regime: Regime, phase: Phase, on: date, via: str, country: str) -> Approach:
    territory = regime.territory or country
    citations = phase.citations_on(on)
    return Approach(regime.id, regime.name, territory, via, country, phase.id, citations)
