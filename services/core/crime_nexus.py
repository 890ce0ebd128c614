"""What the UN's monitors document about arms reaching criminal networks, per territory.

The facts live in ``data/organised_crime.yaml`` (calibres, quantities, routes, concealment),
each with its source and a ``confidence``; this module reads them once into look-up tables
that :mod:`services.core.organised_crime` consults for every record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from services.core import resources
from services.core.name_normalisation import fold
from services.core.rules import Citation
from services.core.transfers import PartyType, Route

DATA_PATH = resources.data_path("organised_crime.yaml")
CONFIDENCES = frozenset({"confirmed", "unconfirmed"})
#: What of a calibre is compared: digits, points and the "x" of a cartridge's dimensions.
_NOT_CALIBRE = re.compile(r"[^0-9.x]")


class NexusError(ValueError):
    """The facts file is not valid; the message names the entry."""


@dataclass(frozen=True, slots=True)
class Fact:
    """What a factor of the indicator rests on."""

    confidence: str  # "confirmed" or "unconfirmed"
    source: str
    reason: str | None = None  # why an unconfirmed fact is not confirmed

    @property
    def confirmed(self) -> bool:
        return self.confidence == "confirmed"


@dataclass(frozen=True, slots=True)
class Calibre:
    calibre: str  # as the finding names it: "7.62x39mm"
    fact: Fact


@dataclass(frozen=True, slots=True)
class Quantities:
    """The largest documented consignments: a smaller one is within what traffickers send."""

    firearms_at_most: float
    rounds_at_most: float
    fact: Fact


@dataclass(frozen=True, slots=True)
class TraffickingRoute:
    """A documented route: taken when every condition it gives holds (an empty one is
    not a condition)."""

    id: str
    description: str
    via: frozenset[str]  # countries the goods come from or pass through
    origins: frozenset[str]
    ports_of_loading: frozenset[str]  # folded
    ports_of_discharge: frozenset[str]  # folded
    fact: Fact

    def taken_by(self, route: Route) -> bool:
        return (
            (not self.via or route.origin in self.via or not self.via.isdisjoint(route.transit))
            and (not self.origins or route.origin in self.origins)
            and _port_in(route.port_of_loading, self.ports_of_loading)
            and _port_in(route.port_of_discharge, self.ports_of_discharge)
        )


def _port_in(port: str | None, ports: frozenset[str]) -> bool:
    return not ports or (port is not None and fold(port) in ports)


@dataclass(frozen=True, slots=True)
class Nexus:
    """One territory where the Council names gangs or criminal networks."""

    territory: str
    name: str
    since: date
    council: str  # what the Council said, in words
    citations: tuple[str, ...]
    recipient_types: frozenset[PartyType]
    recipients: Fact
    calibres: Mapping[str, Calibre]  # by calibre_key of each spelling
    quantities: Quantities
    routes: tuple[TraffickingRoute, ...]
    concealment_words: frozenset[str]
    concealment: Fact


def calibre_key(calibre: str) -> str:
    """A calibre as compared: "7.62 × 39 mm", "7,62x39" -> "7.62x39"; ".50 BMG" -> ".50"."""
    folded = calibre.lower().replace("×", "x").replace(",", ".")
    return _NOT_CALIBRE.sub("", folded).strip("x").rstrip(".")


@cache
def nexus_table(path: Path = DATA_PATH) -> Mapping[str, Nexus]:
    """Every territory of the facts file, by ISO code; read once per process."""
    doc = resources.read_yaml(path.read_bytes())
    try:
        return {code: _nexus(code, raw) for code, raw in doc["territories"].items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise NexusError(f"{path.name}: {exc!r}") from exc


def _fact(raw: Mapping[str, Any], where: str) -> Fact:
    confidence, source, reason = raw["confidence"], str(raw.get("source") or ""), raw.get("reason")
    if confidence not in CONFIDENCES:
        raise NexusError(f"{where}: confidence {confidence!r} is neither confirmed nor unconfirmed")
    if not source.strip():
        raise NexusError(f"{where}: a fact needs its source")
    if confidence == "unconfirmed" and not reason:
        raise NexusError(f"{where}: an unconfirmed fact needs the reason it is not confirmed")
    return Fact(confidence, " ".join(source.split()), reason)


def _nexus(code: str, raw: Mapping[str, Any]) -> Nexus:
    calibres: dict[str, Calibre] = {}
    for entry in raw["calibres"]:
        calibre = Calibre(entry["calibre"], _fact(entry, f"{code} calibre {entry['calibre']}"))
        for spelling in (entry["calibre"], *entry.get("also", ())):
            calibres[calibre_key(str(spelling))] = calibre
    quantities = raw["quantities"]
    concealment = raw["concealment"]
    council = raw["council"]
    return Nexus(
        territory=code,
        name=raw["name"],
        since=raw["since"],
        council=" ".join(council["text"].split()),
        citations=(
            *(
                str(Citation(c["symbol"], tuple(c.get("paragraphs") or ())))
                for c in council["citations"]
            ),
            *(r["cite"] for r in raw["reports"]),
        ),
        recipient_types=frozenset(PartyType(t) for t in raw["recipients"]["types"]),
        recipients=_fact(raw["recipients"], f"{code} recipients"),
        calibres=calibres,
        quantities=Quantities(
            float(quantities["firearms_at_most"]),
            float(quantities["rounds_at_most"]),
            _fact(quantities, f"{code} quantities"),
        ),
        routes=tuple(
            TraffickingRoute(
                id=r["id"],
                description=r["description"],
                via=frozenset(r.get("via", ())),
                origins=frozenset(r.get("origins", ())),
                ports_of_loading=frozenset(fold(p) for p in r.get("ports_of_loading", ())),
                ports_of_discharge=frozenset(fold(p) for p in r.get("ports_of_discharge", ())),
                fact=_fact(r, f"{code} route {r['id']}"),
            )
            for r in raw["routes"]
        ),
        concealment_words=frozenset(concealment["words"]),
        concealment=_fact(concealment, f"{code} concealment"),
    )
