"""The annex of the Secretary-General's report on conflict-related sexual violence.

Each annual report lists, in its annex, the parties credibly suspected of committing or being
responsible for patterns of rape or other forms of sexual violence in situations of armed
conflict on the Security Council's agenda. An annex ships as YAML (``data/crsv/*.yaml``) and
newer ones are imported with ``ewatch crsv import``; :func:`parse_annex` reads one and
:class:`AnnexIndex` makes its parties searchable with the same name engine as the UN list.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import yaml

from services.core import resources
from services.core.names import NameIndex
from services.core.sanctions_list import Address, Alias, AliasQuality, ListedParty, PartyKind
from services.core.validation import COUNTRY_CODES

#: What the name engine files annex parties under (their ``list_type``).
LIST_TYPE = "CRSV annex"

_SYMBOL = re.compile(r"S/\d{4}/\d+")
_KEYS = frozenset(
    {"symbol", "title", "date", "url", "complete", "parties_listed", "sources", "parties"}
)
_PARTY_KEYS = frozenset({"name", "aliases", "country", "kind", "source"})


class PartyForce(StrEnum):
    """How the annex lists a party: a state's forces, or an armed group."""

    STATE_FORCES = "state_forces"
    ARMED_GROUP = "armed_group"


class AnnexError(ValueError):
    """The file is not a valid annex; the message names every problem."""


@dataclass(frozen=True, slots=True)
class AnnexParty:
    name: str
    country: str  # ISO alpha-2: where the annex places the party
    kind: PartyForce
    source: str  # the public source that says it is listed
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Annex:
    symbol: str  # "S/2025/389"
    date: date
    url: str
    #: False when the file ships only part of the annex (the finding says so).
    complete: bool
    parties: tuple[AnnexParty, ...]
    sha256: str  # of the file's bytes
    title: str = ""
    #: How many parties the report's annex lists, if a source says.
    parties_listed: int | None = None
    sources: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        """Recorded on every finding made with this annex."""
        return f"{self.symbol}#{self.sha256[:12]}"

    @property
    def extent(self) -> str:
        """How much of the annex this file holds: "partial (1 of the 63 parties it lists)"."""
        n = len(self.parties)
        if self.complete:
            return f"complete ({n} parties)"
        if self.parties_listed:
            return f"partial ({n} of the {self.parties_listed} parties it lists)"
        return f"partial ({n} {'party' if n == 1 else 'parties'})"


def _date(value: Any) -> date | None:
    """A YAML date, or a quoted ISO date: either is how a reviewer writes one."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


#: The annex's own fields: each with the check it must pass and what a failure says.
_HEADER: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("symbol", lambda v: isinstance(v, str) and bool(_SYMBOL.fullmatch(v)),
     "is not a document symbol like S/2025/389"),
    ("url", lambda v: isinstance(v, str) and v.startswith(("http://", "https://")),
     "is not an http(s) address"),
    ("complete", lambda v: isinstance(v, bool), "is not true or false"),
    ("parties_listed", lambda v: v is None or (isinstance(v, int) and v > 0),
     "is not a positive number"),
)  # fmt: skip


def parse_annex(data: bytes) -> Annex:
    """The annex in ``data`` (YAML); raises :class:`AnnexError` naming every problem."""
    try:
        doc = resources.read_yaml(data)
    except yaml.YAMLError as exc:
        raise AnnexError(f"not YAML: {exc}") from None
    if not isinstance(doc, Mapping):
        raise AnnexError("not an annex: expected a mapping with symbol, date, url, parties")
    problems = [f"unknown key {k!r}" for k in sorted(set(doc) - _KEYS, key=str)]
    problems += [
        f"{key} {doc.get(key)!r} {said}" for key, ok, said in _HEADER if not ok(doc.get(key))
    ]
    when = _date(doc.get("date"))
    if when is None:
        problems.append(f"date {doc.get('date')!r} is not a date (YYYY-MM-DD)")
    raw_parties = doc.get("parties")
    parties: list[AnnexParty] = []
    if not isinstance(raw_parties, list) or not raw_parties:
        problems.append("parties: expected a non-empty list")
    else:
        for n, raw in enumerate(raw_parties, 1):
            party, said = _party(raw)
            problems += [f"parties[{n}]: {p}" for p in said]
            if party is not None:
                parties.append(party)
    if problems or when is None:
        raise AnnexError("; ".join(problems))
    return Annex(
        symbol=doc["symbol"],
        date=when,
        url=doc["url"],
        complete=doc["complete"],
        parties=tuple(parties),
        sha256=hashlib.sha256(data).hexdigest(),
        title=str(doc.get("title") or ""),
        parties_listed=doc.get("parties_listed"),
        sources=tuple(str(s) for s in doc.get("sources") or ()),
    )


def _named(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


#: A party's fields: each with the check it must pass and what a failure says.
_PARTY: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("name", _named, "is not a name"),
    ("country", lambda v: v in COUNTRY_CODES, "is not an ISO alpha-2 code"),
    ("kind", lambda v: v in {k.value for k in PartyForce}, "is not state_forces or armed_group"),
    ("source", _named, "is not a source: every party needs the public source of its listing"),
    ("aliases", lambda v: v is None or (isinstance(v, list) and all(_named(a) for a in v)),
     "is not a list of names"),
)  # fmt: skip


def _party(raw: Any) -> tuple[AnnexParty | None, list[str]]:
    if not isinstance(raw, Mapping):
        return None, ["expected a mapping with name, country, kind, source"]
    problems = [f"unknown key {k!r}" for k in sorted(set(raw) - _PARTY_KEYS, key=str)]
    problems += [
        f"{key} {raw.get(key)!r} {said}" for key, ok, said in _PARTY if not ok(raw.get(key))
    ]
    if problems:
        return None, problems
    party = AnnexParty(
        raw["name"],
        raw["country"],
        PartyForce(raw["kind"]),
        raw["source"],
        tuple(raw.get("aliases") or ()),
    )
    return party, []


@dataclass(frozen=True, slots=True)
class AnnexIndex:
    """An annex made searchable: built once at load, so a record pays one set look-up
    unless a receiving party is in a country the annex names."""

    annex: Annex
    countries: frozenset[str]
    names: NameIndex
    #: Each party by the reference number its name-engine entry carries.
    by_reference: Mapping[str, AnnexParty]

    @classmethod
    def build(cls, annex: Annex) -> AnnexIndex:
        listed = [(f"{annex.symbol} annex {n}", p) for n, p in enumerate(annex.parties, 1)]
        return cls(
            annex=annex,
            countries=frozenset(p.country for p in annex.parties),
            names=NameIndex.build(_listed(reference, p) for reference, p in listed),
            by_reference=dict(listed),
        )


def _listed(reference: str, party: AnnexParty) -> ListedParty:
    """An annex party as the name engine indexes listed parties."""
    return ListedParty(
        reference_number=reference,
        data_id=reference,
        kind=PartyKind.ENTITY,
        list_type=LIST_TYPE,
        name=party.name,
        aliases=tuple(Alias(a, AliasQuality.AKA) for a in party.aliases),
        addresses=(Address(country=party.country),),
    )
