"""The UN Security Council Consolidated List, in typed form.

Parsing the published XML (and recovering what a damaged copy still holds)
lives in :mod:`services.core.un_xml`; this module is the shape both the
importer and the name matcher work with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class PartyKind(StrEnum):
    INDIVIDUAL = "individual"
    ENTITY = "entity"


class AliasQuality(StrEnum):
    GOOD = "good"  # individual alias, strong
    LOW = "low"  # individual alias, weak (nicknames)
    AKA = "aka"  # entity: also known as
    FKA = "fka"  # entity: formerly known as


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    quality: AliasQuality
    note: str | None = None


@dataclass(frozen=True, slots=True)
class BirthDate:
    kind: str  # "exact" | "approximately" | "between"
    date: date | None = None
    year: int | None = None
    from_year: int | None = None
    to_year: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class IdDocument:
    type: str | None
    number: str | None
    type2: str | None = None
    issuing_country: str | None = None
    date_of_issue: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    street: str | None = None
    city: str | None = None
    state_province: str | None = None
    country: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ListedParty:
    reference_number: str  # "HTi.001", stripped
    data_id: str
    kind: PartyKind
    list_type: str  # UN_LIST_TYPE, e.g. "Haiti"
    name: str  # primary name: the name parts joined in list order
    name_parts: tuple[str, ...] = ()
    original_script: str | None = None
    aliases: tuple[Alias, ...] = ()
    listed_on: date | None = None
    birth_dates: tuple[BirthDate, ...] = ()
    places_of_birth: tuple[Address, ...] = ()
    nationalities: tuple[str, ...] = ()
    documents: tuple[IdDocument, ...] = ()
    addresses: tuple[Address, ...] = ()
    titles: tuple[str, ...] = ()
    designations: tuple[str, ...] = ()
    gender: str | None = None
    comments: str | None = None
    version_num: str | None = None
    last_updated: tuple[date, ...] = ()

    @property
    def fingerprint(self) -> str:
        """Digest of every field, so two list versions can tell an amendment."""
        return hashlib.sha256(repr(self).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SanctionsList:
    date_generated: str  # as published, e.g. "2024-09-26T00:00:07.514Z"
    sha256: str  # of the file's bytes
    parties: tuple[ListedParty, ...]
    by_reference: dict[str, ListedParty] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_reference.update({p.reference_number: p for p in self.parties})

    @property
    def version(self) -> str:
        """Human-readable list version recorded on every finding."""
        return f"{self.date_generated[:10]}#{self.sha256[:12]}"
