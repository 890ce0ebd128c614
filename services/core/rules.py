"""The rules table: UN arms-embargo regimes and their effective-dated phases.

Rules are data (``rules/*.yaml``, validated by ``schemas/ruleset.v1.json``),
never code. This module holds their typed form and the pure loader; the store
keeps numbered, immutable versions of them.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import yaml
from jsonschema import Draft202012Validator

from services.core import resources

#: The year in a resolution's symbol: "S/RES/2752 (2024)".
_SYMBOL_YEAR = re.compile(r"\((\d{4})\)")


class Scope(StrEnum):
    TERRITORY = "territory"
    NON_STATE_ACTORS = "non_state_actors"
    DESIGNATED = "designated"


class Direction(StrEnum):
    INTO = "into"
    OUT_OF = "out_of"
    BOTH = "both"


class ItemScope(StrEnum):
    ALL_ARMS = "all_arms"
    SALW = "salw"


class Procedure(StrEnum):
    NONE = "none"
    NOTIFICATION = "advance_notification"
    APPROVAL = "prior_approval"


PROCEDURE_WORDS = {
    Procedure.NONE: "no procedure",
    Procedure.NOTIFICATION: "advance notification to the Committee",
    Procedure.APPROVAL: "prior approval by the Committee",
}


def procedure_words(procedure: Procedure, phase: Phase) -> str:
    """:data:`PROCEDURE_WORDS`, naming the body that decides under ``phase`` where it is
    not the sanctions Committee (Iran under 2231: the Security Council)."""
    words = PROCEDURE_WORDS[procedure]
    if phase.decided_by is None:
        return words
    return words.replace("the Committee", phase.decided_by)


@lru_cache(maxsize=1024)  # every finding cites; a ruleset has a few hundred citations
def _citation_text(symbol: str, paragraphs: tuple[str, ...], unconfirmed: bool) -> str:
    mark = " [unconfirmed]" if unconfirmed else ""
    if not paragraphs:
        return symbol + mark
    # "33–41" is a range of paragraphs, read as several.
    several = len(paragraphs) > 1 or any("–" in p for p in paragraphs)
    word = "paras" if several else "para"
    return f"{symbol}, {word} {', '.join(paragraphs)}{mark}"


@dataclass(frozen=True, slots=True)
class Citation:
    symbol: str  # "S/RES/2752 (2024)"
    paragraphs: tuple[str, ...] = ()
    url: str | None = None
    #: The adoption date, where the table gives it; else the year in the symbol stands for it.
    adopted: date | None = None
    #: "unconfirmed" where the paragraphs (or what they say) have not been read in a source.
    confidence: str = "confirmed"
    #: The year in the symbol, if it gives one; read once, as findings ask on every record.
    year: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        m = _SYMBOL_YEAR.search(self.symbol)
        object.__setattr__(self, "year", int(m.group(1)) if m else None)

    def __str__(self) -> str:
        return _citation_text(self.symbol, self.paragraphs, self.confidence == "unconfirmed")

    def adopted_by(self, on: date) -> bool:
        """Whether a finding on ``on`` may cite it: adopted on ``on`` or before, judged by
        the adoption date where given, else by the year in the symbol (or always, with
        neither)."""
        if self.adopted is not None:
            return self.adopted <= on
        return self.year is None or self.year <= on.year


def fold_mention(text: str) -> str:
    """Lower case without accents, for matching a record's stated purpose against the rules'
    words: "Protección" meets "proteccion", "déminage" meets "deminage"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Purpose:
    """A purpose the resolution makes the condition of an exemption ("intended solely for
    humanitarian or protective use"), and the words by which a record states it."""

    id: str
    #: The resolution's words, for findings: "intended solely for humanitarian or protective use".
    condition: str
    #: Folded words, one of which the declared end use or claimed exemption must contain.
    mentions: tuple[str, ...]
    #: "unconfirmed" where the condition's wording was not read in the resolution or a
    #: committee's page.
    confidence: str = "confirmed"


@dataclass(frozen=True, slots=True)
class Exemption:
    id: str
    description: str
    procedure: Procedure
    #: End-user (or consignee) party types the exemption covers; empty = any.
    end_user_types: frozenset[str] = frozenset()
    #: Item categories the exemption covers; empty = any item.
    item_categories: frozenset[str] = frozenset()
    citations: tuple[Citation, ...] = ()
    #: A "government" end user may be any state's (Iraq 1483: the occupying Authority);
    #: otherwise only the territory's own government is.
    any_government: bool = False
    #: Words (lower case) the record's declared end use or claimed exemption must contain,
    #: one of them; empty = no condition (Libya 2769: "reunification").
    end_use_mentions: tuple[str, ...] = ()
    #: Party types of which the record must name a carrier; empty = no condition (Libya
    #: 2769: a state's military aircraft or vessel).
    carrier_types: frozenset[str] = frozenset()
    #: The purpose the goods must be intended solely for. Unlike ``end_use_mentions`` it does
    #: not stop the exemption from matching: a record that states no such purpose gets a
    #: finding that says so, instead of passing silently or being called a violation.
    purpose: Purpose | None = None


@dataclass(frozen=True, slots=True)
class Lapse:
    """When a time-limited measure ends unless the Council renews it."""

    #: The last day in force unless renewed.
    last_day: date
    #: The resolution that set the date.
    set_by: Citation
    #: "unconfirmed" where the date is inferred ("for one year") rather than read.
    confidence: str = "confirmed"

    def words(self) -> str:
        """'2026-05-31 (set by S/RES/2781 (2025))', saying when the date is only inferred."""
        mark = "; date unconfirmed" if self.confidence == "unconfirmed" else ""
        return f"{self.last_day.isoformat()} (set by {self.set_by}{mark})"


@dataclass(frozen=True, slots=True)
class Phase:
    id: str
    start: date
    end: date | None  # inclusive last day; None = open-ended
    summary: str
    scopes: frozenset[Scope]
    direction: Direction
    item_scope: ItemScope
    assistance: bool
    citations: tuple[Citation, ...]
    exemptions: tuple[Exemption, ...] = ()
    #: What a non-exempt transfer would need to be lawful, if anything.
    otherwise: Procedure | None = None
    confidence: str = "confirmed"
    caveat: str | None = None
    #: Who grants approvals and receives notifications, where not the Committee.
    decided_by: str | None = None
    #: When the measure lapses unless renewed; None = open-ended (or ended: see ``end``).
    lapses: Lapse | None = None
    #: ``str`` of each citation, derived once: every finding under the phase quotes them.
    citation_texts: tuple[str, ...] = field(init=False, repr=False, compare=False)
    #: The last day it can be in force: its end or its lapse date, whichever comes first.
    last_day: date | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "citation_texts", tuple(map(str, self.citations)))
        days = [d for d in (self.end, self.lapses.last_day if self.lapses else None) if d]
        object.__setattr__(self, "last_day", min(days) if days else None)

    def citations_on(self, on: date) -> tuple[str, ...]:
        """The citations a finding on ``on`` quotes: the first (the phase's basis) and every
        resolution adopted in ``on``'s year or before, not the renewals that came later (a
        2015 transfer to Libya does not cite S/RES/2804 (2025))."""
        texts = self.citation_texts
        if all(c.adopted_by(on) for c in self.citations):
            return texts
        return texts[:1] + tuple(
            text for c, text in zip(self.citations[1:], texts[1:], strict=True) if c.adopted_by(on)
        )

    @property
    def disputed(self) -> bool:
        """Whether the measure's validity itself is contested, not only its reading."""
        return self.confidence == "disputed"

    def in_force(self, on: date) -> bool:
        """Whether it governs ``on``: started, not ended, and not past its lapse date (a
        renewal the table does not record is not presumed)."""
        return self.start <= on and (self.last_day is None or on <= self.last_day)

    def lapsed_by(self, on: date) -> bool:
        """Whether ``on`` is after the lapse date and the table records no end before it:
        the outcome of the renewal is unknown to the table."""
        lapses = self.lapses
        if lapses is None or on <= lapses.last_day:
            return False
        return self.end is None or self.end > lapses.last_day


@dataclass(frozen=True, slots=True)
class Regime:
    id: str  # UN reference-number prefix: HT, SO, ...
    name: str
    committee: str | None
    list_type: str | None  # UN_LIST_TYPE in the Consolidated List
    territory: str | None  # ISO alpha-2 of the embargoed territory, if any
    phases: tuple[Phase, ...]
    neighbours: frozenset[str] = frozenset()

    def phases_on(self, on: date) -> tuple[Phase, ...]:
        return tuple(p for p in self.phases if p.in_force(on))

    def lapsed_on(self, on: date) -> tuple[Phase, ...]:
        """Phases that would govern ``on`` but for a lapse date the table records no
        renewal of."""
        return tuple(p for p in self.phases if p.start <= on and p.lapsed_by(on))


@dataclass(frozen=True, slots=True)
class Ruleset:
    version: int
    regimes: Mapping[str, Regime]
    digest: str = ""
    by_list_type: Mapping[str, Regime] = field(default_factory=dict)

    #: Regimes by the territory they embargo: screening looks only at the
    #: regimes of a record's origin and destination instead of all of them.
    by_territory: Mapping[str, tuple[Regime, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, version: int, regimes: Iterable[Regime], digest: str = "") -> Ruleset:
        table = {r.id: r for r in regimes}
        by_list = {r.list_type: r for r in table.values() if r.list_type}
        by_territory: dict[str, tuple[Regime, ...]] = {}
        for r in table.values():
            if r.territory:
                by_territory[r.territory] = (*by_territory.get(r.territory, ()), r)
        return cls(
            version=version,
            regimes=table,
            digest=digest,
            by_list_type=by_list,
            by_territory=by_territory,
        )


class RulesError(ValueError):
    """A rules document is not valid; the message names the file and the field."""


def _citation(raw: Mapping[str, Any]) -> Citation:
    adopted = raw.get("adopted")
    return Citation(
        symbol=raw["symbol"],
        paragraphs=tuple(str(p) for p in raw.get("paragraphs", ())),
        url=raw.get("url"),
        adopted=date.fromisoformat(str(adopted)) if adopted else None,
        confidence=raw.get("confidence", "confirmed"),
    )


def _citations(raw: Iterable[Mapping[str, Any]]) -> tuple[Citation, ...]:
    return tuple(_citation(c) for c in raw)


def _lapse(raw: Mapping[str, Any] | None) -> Lapse | None:
    if not raw:
        return None
    return Lapse(
        last_day=date.fromisoformat(str(raw["last_day"])),
        set_by=_citation(raw["set_by"]),
        confidence=raw.get("confidence", "confirmed"),
    )


def _purposes(raw: Mapping[str, Any]) -> dict[str, Purpose]:
    return {
        pid: Purpose(
            id=pid,
            condition=p["condition"],
            mentions=tuple(fold_mention(w) for w in p["mentions"]),
            confidence=p.get("confidence", "confirmed"),
        )
        for pid, p in raw.items()
    }


def _exemption(raw: Mapping[str, Any], purposes: Mapping[str, Purpose]) -> Exemption:
    purpose = raw.get("purpose")
    return Exemption(
        id=raw["id"],
        description=raw["description"],
        procedure=Procedure(raw.get("procedure", "none")),
        end_user_types=frozenset(raw.get("end_user_types", ())),
        item_categories=frozenset(raw.get("item_categories", ())),
        citations=_citations(raw.get("citations", ())),
        any_government=bool(raw.get("any_government", False)),
        end_use_mentions=tuple(fold_mention(w) for w in raw.get("end_use_mentions", ())),
        carrier_types=frozenset(raw.get("carrier_types", ())),
        purpose=purposes[purpose] if purpose else None,
    )


def _phase(raw: Mapping[str, Any], purposes: Mapping[str, Purpose]) -> Phase:
    end = raw.get("end")
    otherwise = raw.get("otherwise")
    return Phase(
        id=raw["id"],
        start=date.fromisoformat(str(raw["start"])),
        end=date.fromisoformat(str(end)) if end else None,
        summary=raw["summary"],
        scopes=frozenset(Scope(s) for s in raw["scope"]),
        direction=Direction(raw["direction"]),
        item_scope=ItemScope(raw["items"]),
        assistance=bool(raw.get("assistance", False)),
        citations=_citations(raw["citations"]),
        exemptions=tuple(_exemption(e, purposes) for e in raw.get("exemptions", ())),
        otherwise=Procedure(otherwise) if otherwise else None,
        confidence=raw.get("confidence", "confirmed"),
        caveat=raw.get("caveat"),
        decided_by=raw.get("decided_by"),
        lapses=_lapse(raw.get("lapses")),
    )


def regime_from_dict(raw: Mapping[str, Any]) -> Regime:
    purposes = _purposes(raw.get("purposes", {}))
    phases = tuple(sorted((_phase(p, purposes) for p in raw["phases"]), key=lambda p: p.start))
    return Regime(
        id=raw["id"],
        name=raw["name"],
        committee=raw.get("committee"),
        list_type=raw.get("list_type"),
        territory=raw.get("territory"),
        phases=phases,
        neighbours=frozenset(raw.get("neighbours", ())),
    )


def _validator() -> Draft202012Validator:
    return Draft202012Validator(orjson.loads(resources.schema_bytes("ruleset.v1.json")))


def validate_documents(documents: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise :class:`RulesError` naming every problem in every document."""
    validator = _validator()
    problems: list[str] = []
    for source, doc in documents.items():
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
            where = "/".join(str(p) for p in err.absolute_path) or "(document)"
            problems.append(f"{source}: {where}: {err.message}")
        problems.extend(f"{source}: {msg}" for msg in _phase_overlaps(doc))
        problems.extend(f"{source}: {msg}" for msg in _date_slips(doc))
        problems.extend(f"{source}: {msg}" for msg in _purpose_slips(doc))
    if problems:
        raise RulesError("invalid rules:\n  " + "\n  ".join(problems))


def _phase_overlaps(doc: Mapping[str, Any]) -> list[str]:
    """Phases of one scope that are in force at the same time.

    One phase governs a scope on any date; phases of different scopes may run
    side by side (Haiti's targeted embargo beside its territorial phases).
    """
    out = []
    scopes = sorted({s for p in doc.get("phases", ()) for s in p.get("scope", ())})
    for scope in scopes:
        phases = sorted(
            (p for p in doc.get("phases", ()) if scope in p.get("scope", ())),
            key=lambda p: str(p.get("start")),
        )
        for before, after in itertools.pairwise(phases):
            end = before.get("end")
            if end is None or str(end) >= str(after.get("start")):
                message = f"phase {before.get('id')} overlaps phase {after.get('id')} ({scope})"
                if message not in out:
                    out.append(message)
    return out


def _date_slips(doc: Mapping[str, Any]) -> list[str]:
    """Dates that contradict the table itself: an adoption date outside its symbol's year, a
    lapse date before the phase starts."""
    out = []
    for phase in doc.get("phases", ()):
        lapse = phase.get("lapses") or {}
        cited = [*phase.get("citations", ()), *([lapse["set_by"]] if "set_by" in lapse else [])]
        cited += [c for e in phase.get("exemptions", ()) for c in e.get("citations", ())]
        for c in cited:
            year = _SYMBOL_YEAR.search(str(c.get("symbol", "")))
            if c.get("adopted") and year and not str(c["adopted"]).startswith(year.group(1)):
                out.append(f"phase {phase.get('id')}: {c['symbol']} adopted {c['adopted']}")
        if "last_day" in lapse and str(lapse["last_day"]) < str(phase.get("start")):
            out.append(f"phase {phase.get('id')} lapses before it starts")
    return out


def _purpose_slips(doc: Mapping[str, Any]) -> list[str]:
    """An exemption naming a purpose the file does not declare. A declared purpose no
    exemption names is left alone: removing an exemption leaves a valid table."""
    declared = set(doc.get("purposes") or {})
    out = []
    for phase in doc.get("phases", ()):
        for ex in phase.get("exemptions", ()):
            name = ex.get("purpose")
            if name is None:
                continue
            if name not in declared:
                out.append(
                    f"phase {phase.get('id')}: exemption {ex.get('id')} names purpose "
                    f"{name!r}, which the file's purposes do not declare"
                )
    return out


def read_documents(directory: Path) -> dict[str, dict[str, Any]]:
    """Read every ``*.yaml`` regime file in ``directory`` (sorted by name)."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise RulesError(f"no *.yaml rules files in {directory}")
    docs: dict[str, dict[str, Any]] = {}
    for path in files:
        try:
            doc = resources.read_yaml(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise RulesError(f"{path.name}: not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise RulesError(f"{path.name}: expected a mapping at the top level")
        # YAML turns 2023-10-02 into a date; the schema and the stored version want text.
        docs[path.name] = orjson.loads(orjson.dumps(doc))
    return docs


def digest_documents(documents: Mapping[str, Mapping[str, Any]]) -> str:
    canonical = orjson.dumps(
        {k: documents[k] for k in sorted(documents)},
        option=orjson.OPT_SORT_KEYS,
        default=str,
    )
    return hashlib.sha256(canonical).hexdigest()


def ruleset_from_documents(documents: Mapping[str, Mapping[str, Any]], version: int = 0) -> Ruleset:
    validate_documents(documents)
    return Ruleset.of(
        version,
        (regime_from_dict(doc) for doc in documents.values()),
        digest=digest_documents(documents),
    )


def load_directory(directory: Path | None = None, version: int = 0) -> Ruleset:
    """Load and validate the rules in ``directory`` (default: the shipped rules)."""
    return ruleset_from_documents(read_documents(directory or resources.rules_dir()), version)


def lapse_warnings(ruleset: Ruleset, today: date) -> list[str]:
    """One sentence per phase past its lapse date on ``today`` whose renewal the table does
    not record: screening makes no finding under such a phase after that date."""
    return [
        f"{regime.id} phase {phase.id} lapsed after {phase.lapses.words()} unless the "
        "Council renewed it; the rules table records no renewal, so no finding is made "
        "under it for transfers after that date. Record the renewal (a later lapse date or "
        "a new phase) or end the phase."
        for regime in sorted(ruleset.regimes.values(), key=lambda r: r.id)
        for phase in regime.phases
        if phase.lapses is not None and phase.lapsed_by(today)
    ]
