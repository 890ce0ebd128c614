"""What a record's other facts about a party say of a listed party: country, date of
birth, document numbers, party type. Declared as data (:data:`FACTS`), so the score
they add and the explanation a reviewer reads come from the same verdicts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from services.core.name_normalisation import NameForm, country_code
from services.core.names.tuning import (
    APPROXIMATE_YEARS,
    COUNTRY_NEEDS,
    COUNTRY_SUPPORT,
    DOB_CONTRADICTION,
    DOB_EXACT,
    DOB_RANGE,
    DOB_YEAR,
    FLOOR_CACHE,
    IDENTIFIER_SUPPORT,
)
from services.core.sanctions_list import BirthDate, ListedParty, PartyKind

#: One line of an explanation: (feature, effect, detail).
Feature = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Query:
    """A name to screen, with the facts the record gives about its party."""

    form: NameForm
    country: str | None
    dob: date | None
    dob_year: int | None
    #: Document numbers by their folded form (letters and digits, upper case), as written.
    identifiers: Mapping[str, str] = field(default_factory=dict)
    armed_group: bool = False  # the record says the party is an armed group


def query(
    form: NameForm,
    country: str | None,
    dob: str | None,
    identifiers: Iterable[str] = (),
    party_type: str | None = None,
) -> Query:
    # Not cached: (name, country, date) triples rarely repeat, and a large cache
    # of them makes the garbage collector scan far more objects. The costly
    # part, the name's form, is cached per name by name_form.
    day, year = _parse_dob(dob)
    folded = {f: i for i in identifiers if (f := fold_identifier(i))}
    return Query(form, country_code(country), day, year, folded, party_type == "armed_group")


def fold_identifier(value: str) -> str:
    """A document number as compared: letters and digits only, upper case."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


def _parse_dob(value: str | None) -> tuple[date | None, int | None]:
    text = (value or "").strip()
    if not text:
        return None, None  # most parties carry no date; a raised ValueError costs µs
    try:
        if len(text) == 4 and text.isdigit():
            return None, int(text)
        if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
            # YYYY-MM, as the schema allows: weighed as its year, the month unknown on
            # most listed dates.
            if 1 <= int(text[5:]) <= 12:
                return None, int(text[:4])
            return None, None
        day = date.fromisoformat(text[:10])
    except ValueError:
        return None, None
    return day, day.year


# --- verdicts ----------------------------------------------------------------------


class Verdict(NamedTuple):
    """What one fact of the query says about one listed party."""

    effect: float  # added to the weighted name score
    agrees: bool
    detail: str


def _country(q: Query, party: ListedParty) -> Verdict | None:
    """A listed country that is the query's agrees; one that is not only informs.

    A designated party is one wherever it is (a Haitian gang leader receiving
    arms in the Dominican Republic), so another country costs nothing: the
    feature shows it to the reviewer. It does decide for a weak name (see
    services.core.names.scoring).
    """
    code = q.country
    if code is None:
        return None
    places = (
        [("nationality", c) for c in party.nationalities]
        + [("address country", a.country) for a in party.addresses if a.country]
        + [("country of birth", p.country) for p in party.places_of_birth if p.country]
    )
    for where, listed in places:
        if country_code(listed) == code:
            return Verdict(COUNTRY_SUPPORT, True, f"{code} matches {where} {listed}")
    known = sorted({c for _, listed in places if (c := country_code(listed))})
    if not known:
        return None
    return Verdict(0.0, False, f"{code} is none of the listed countries {', '.join(known)}")


def _date_of_birth(q: Query, party: ListedParty) -> Verdict | None:
    """Best agreement among the listed dates; a contradiction only if none agrees."""
    if q.dob_year is None:
        return None  # most queries: no date to compare, so every verdict would be None
    verdicts = [v for v in (_birth_date(bd, q) for bd in party.birth_dates) if v]
    if not verdicts:
        return None
    effect, detail = max(verdicts, key=lambda v: v[0])
    return Verdict(effect, effect > 0, detail)


def _birth_date(bd: BirthDate, q: Query) -> tuple[float, str] | None:
    """Effect of one listed date of birth on the score, None when it says nothing."""
    qy = q.dob_year
    if qy is None:
        return None
    if bd.date is not None:
        if q.dob is not None and bd.date == q.dob:
            return DOB_EXACT, f"{q.dob.isoformat()} matches listed date of birth"
        if bd.date.year == qy:
            # Day and month are often swapped or unknown; the year still agrees.
            return (DOB_YEAR if q.dob is None else 0.0), f"{qy} matches listed year of birth"
        return DOB_CONTRADICTION, f"{qy} differs from listed {bd.date.isoformat()}"
    if bd.year is not None:
        if bd.year == qy:
            return DOB_YEAR, f"{qy} matches listed year of birth"
        if bd.kind == "approximately" and abs(bd.year - qy) <= APPROXIMATE_YEARS:
            return 0.0, f"{qy} is near listed approximate year {bd.year}"
        return DOB_CONTRADICTION, f"{qy} differs from listed year {bd.year}"
    if bd.from_year is not None and bd.to_year is not None:
        if bd.from_year <= qy <= bd.to_year:
            return DOB_RANGE, f"{qy} within listed {bd.from_year}-{bd.to_year}"
        return DOB_CONTRADICTION, f"{qy} outside listed {bd.from_year}-{bd.to_year}"
    return None


def _identifier(q: Query, party: ListedParty) -> Verdict | None:
    if not q.identifiers:
        return None
    for doc in party.documents:
        written = doc.number and q.identifiers.get(fold_identifier(doc.number))
        if written:
            kind = doc.type or "document"
            detail = f"{written} matches listed {kind} {doc.number}"
            return Verdict(IDENTIFIER_SUPPORT, True, detail)
    return None


def _party_type(q: Query, party: ListedParty) -> Verdict | None:
    if q.armed_group and party.kind is PartyKind.ENTITY:
        return Verdict(0.0, True, "declared an armed group; the listed party is an entity")
    return None


# --- the facts as data ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)  # each one of a kind: compared by identity
class Fact:
    """One kind of fact a record may give about a party, and how it counts."""

    name: str  # the feature's name in explanations
    read: Callable[[Query, ListedParty], Verdict | None]
    given: Callable[[Query], bool]  # whether the query states it at all
    weight: float  # the most it adds: what the query's best case assumes
    identifying: bool  # only this party shares it: it lifts the caps (see scoring)
    #: Agreeing, it counts only for a name scoring this much before support.
    needs: float = 0.0
    #: Disagreeing, it drops a weak name: another country than the listed ones.
    excludes: bool = False


#: In the order an explanation lists them.
FACTS = (
    Fact("country", _country, lambda q: q.country is not None, COUNTRY_SUPPORT,
         identifying=False, needs=COUNTRY_NEEDS, excludes=True),
    Fact("date_of_birth", _date_of_birth, lambda q: q.dob_year is not None, DOB_EXACT,
         identifying=True),
    Fact("identifier", _identifier, lambda q: bool(q.identifiers), IDENTIFIER_SUPPORT,
         identifying=True),
    Fact("party_type", _party_type, lambda q: q.armed_group, 0.0, identifying=False),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Support:
    """What the query's facts say about one party: a verdict per fact it states."""

    verdicts: tuple[tuple[Fact, Verdict], ...]
    #: Anything agrees, a country or the kind of party included.
    positive: bool
    #: Something only this party shares agrees: a date of birth or a document number.
    strong: bool
    #: A fact that rules out a weak name disagrees: none of the listed countries is the query's.
    contradicted: bool
    always: float  # what the facts that count for any name add
    #: The others' (needs, effect): they count only for a close name.
    gated: tuple[tuple[float, float], ...]

    def delta(self, name_score: float) -> float:
        """What support adds to a name scoring ``name_score`` before it.

        A country corroborates a close name but cannot make a distant one close;
        a contradicting country always counts.
        """
        out = self.always
        for needs, effect in self.gated:
            if effect <= 0 or name_score >= needs:
                out += effect
        return out

    def features(self, name_score: float) -> list[Feature]:
        """The explanation of :meth:`delta` for a name scoring ``name_score``."""
        out = []
        for fact, (effect, _, detail) in self.verdicts:
            if effect > 0 and name_score < fact.needs:
                out.append((fact.name, "0", f"{detail}; the name is too far for it to count"))
            else:
                out.append((fact.name, f"{effect:+.2f}" if effect else "0", detail))
        return out


def support(q: Query, party: ListedParty) -> Support:
    """The verdicts of every fact the query states on ``party``."""
    verdicts = tuple([(f, v) for f in FACTS if (v := f.read(q, party)) is not None])
    return _supported(verdicts)


def ceiling(q: Query) -> Support:
    """What the query's facts would add at best: all of them agreeing.

    Scores never rise with less support, so a name below the floor with this
    support is below it with any party's real one.
    """
    return best_support(tuple([f for f in FACTS if f.given(q)]))


@lru_cache(maxsize=1 << len(FACTS))  # one per combination of facts given
def best_support(given: tuple[Fact, ...]) -> Support:
    """Every fact in ``given`` agreeing, each adding its weight."""
    best = "the most the query's other facts can add"
    return _supported(tuple((f, Verdict(f.weight, True, best)) for f in given))


def _supported(verdicts: tuple[tuple[Fact, Verdict], ...]) -> Support:
    positive = strong = contradicted = False
    # Summed apart, and before the gated ones: the order names-5 added them in, on which
    # the last bit of a score depends.
    always = 0.0
    gated = []
    for fact, verdict in verdicts:
        positive = positive or verdict.agrees
        strong = strong or (verdict.agrees and fact.identifying)
        contradicted = contradicted or (fact.excludes and not verdict.agrees)
        if fact.needs:
            gated.append((fact.needs, verdict.effect))
        else:
            always += verdict.effect
    return Support(verdicts, positive, strong, contradicted, always, tuple(gated))


@lru_cache(maxsize=FLOOR_CACHE)  # a handful of (floor, facts) combinations, asked per party
def name_floor(floor: float, dob: bool, identifiers: bool) -> float:
    """The least weighted name score that support could lift to ``floor``.

    A matching date of birth and document number add to any name; a matching
    country only to a name at or above COUNTRY_NEEDS (see :meth:`Support.delta`).
    ``dob`` and ``identifiers`` say whether the query has them at all.
    """
    below = floor - (DOB_EXACT if dob else 0.0) - (IDENTIFIER_SUPPORT if identifiers else 0.0)
    if below < COUNTRY_NEEDS:
        return round(below, 6)
    return round(max(COUNTRY_NEEDS, below - COUNTRY_SUPPORT), 6)
