"""A listed name's score and its explanation.

A score is the name's similarity (see services.core.names.alignment), times
the weight of the name's kind (primary name, alias, former name, nickname),
plus or minus what the record's facts say (see services.core.names.facts),
held at WEAK_ALIAS_CAP where the name alone says too little (:data:`CAPS`).
Each step is one entry of the match's ``features``, so a reviewer can see why
a name was flagged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from services.core.name_normalisation import NameForm
from services.core.names.alignment import compare_names
from services.core.names.entries import Entry, MatchedOn, View
from services.core.names.facts import Feature, Query, Support, ceiling, support
from services.core.names.tuning import (
    GENERIC_DROPPED_WORDS,
    KIND_PRIORITY,
    KIND_WEIGHTS,
    WEAK_ALIAS_CAP,
)
from services.core.sanctions_list import ListedParty


class Scored(NamedTuple):
    """A listed name the query resembles: what retrieval and the name scorer found."""

    e_id: int
    sim: float
    loose: bool  # see Comparison.loose
    part: bool  # see Comparison.part


@dataclass(frozen=True, slots=True)
class NameMatch:
    """A listed party whose name resembles the query, with the reasons why."""

    reference_number: str
    name: str  # the party's primary name
    matched_name: str  # the name, alias or original-script name that matched
    matched_on: MatchedOn
    score: float  # in [0, 1]
    features: tuple[Feature, ...]
    listed_on: date | None
    list_type: str


# --- caps ------------------------------------------------------------------------------


class Case(NamedTuple):
    """One listed name as the query meets it: what the score's rules look at."""

    entry: Entry
    sim: float  # name similarity before weights and support
    support: Support
    common: bool  # a person's name made of words many listed names share
    loose: bool  # two distinctive words paired loosely (see Comparison.loose)
    part: bool  # a person's names pair only some of their words (see Comparison.part)
    generic: bool  # either name is generic words only
    short: bool  # either name is one short word
    #: Generic words, one short word or an individual's single name, and nothing agrees.
    weak: bool


def case_of(q: Query, scored: Scored, entry: Entry, support: Support, common: bool) -> Case:
    """How the query meets ``entry``, a name as alike as ``scored`` says, with ``support``."""
    generic = entry.as_listed.generic or q.form.generic
    short = entry.as_listed.short or q.form.short
    weak = (generic or short or entry.thin) and not support.positive
    return Case(entry, scored.sim, support, common, scored.loose, scored.part, generic, short, weak)


class Cap(NamedTuple):
    """A rule that holds a name at WEAK_ALIAS_CAP: a near miss at most."""

    name: str  # the feature's name in explanations
    holds: Callable[[Case], bool]
    rule: str  # what would lift it, as the explanation says


def _lifted(entry: Entry, support: Support) -> bool:
    """Whether support lifts the cap on a common or loosely paired name: for a person, a
    date of birth or document only this party shares; for an organisation, which has no
    date of birth, anything that agrees (a country, a document, a declared armed group)."""
    return support.strong if entry.person else support.positive


_GENERIC = Cap(
    "generic_name",
    lambda c: c.weak and c.generic,
    "a name of generic words only counts with a matching country or date of birth",
)
#: Every cap, in the order an explanation lists them; a generic name is explained by
#: _GENERIC alone.
CAPS = (
    _GENERIC,
    Cap(
        "weak_alias",
        lambda c: c.entry.matched_on == "weak_alias",
        "a nickname needs an exact match and a matching date of birth or document",
    ),
    Cap(
        "thin_name",
        lambda c: c.weak and not c.generic,
        "a single short word or single name needs a matching country or date of birth",
    ),
    Cap(
        "common_name",
        lambda c: c.common and not _lifted(c.entry, c.support),
        "every word of the name is common among listed names: a match needs a matching "
        "date of birth or document",
    ),
    Cap(
        "loose_words",
        lambda c: c.loose and not _lifted(c.entry, c.support),
        "a distinctive word pairs with a different listed word only loosely (other sounds, "
        "a letter or two added, or a short word with a consonant changed): a match needs a "
        "matching date of birth or document",
    ),
    Cap(
        "part_of_name",
        lambda c: c.part and not _lifted(c.entry, c.support),
        "the names share only some of their words (a listed name part left out, or one the "
        "list does not give): a match needs a matching date of birth or document",
    ),
)


def adjust(q: Query, c: Case) -> float:
    """The score of a listed name as the query meets it: similarity times the kind's
    weight, plus support, held at WEAK_ALIAS_CAP by any of :data:`CAPS`.

    A short word must be spelt exactly; a weak name nothing supports is dropped when
    another country contradicts it or it is at most two generic words.
    """
    support = c.support
    if c.short and c.sim < 1.0:
        return 0.0  # "FACA" is not "FOCA"
    if c.weak and (
        support.contradicted or (c.generic and len(q.form.tokens) <= GENERIC_DROPPED_WORDS)
    ):
        return 0.0  # "RGB Ltd" of the United Kingdom; any "Ministry of Defence"
    score = c.sim * KIND_WEIGHTS[c.entry.matched_on]
    score = round(min(1.0, max(0.0, score + support.delta(score))), 6)
    # An exact name with a date of birth or document only this party shares is held by
    # no cap (only the nickname's can hold for it).
    if score > WEAK_ALIAS_CAP and not (c.sim == 1.0 and support.strong):
        for cap in CAPS:
            if cap.holds(c):
                return WEAK_ALIAS_CAP
    return score


# --- ranking ---------------------------------------------------------------------------


class Hit(NamedTuple):
    """One scored entry."""

    score: float
    e_id: int
    case: Case

    @property
    def preference(self) -> tuple[float, bool, bool, bool, float, int, int]:
        """Which of a party's entries to report: best score; among capped scores, a closely
        paired name, then one whose every word pairs; a name as written before one read
        (see services.core.names.romanisation); then the closer name; then the stronger
        kind."""
        c = self.case
        priority = KIND_PRIORITY[c.entry.matched_on]
        listed = c.entry.view == "listed"
        return self.score, not c.loose, not c.part, listed, c.sim, -priority, -self.e_id


def rank(
    q: Query,
    similar: Iterable[Scored],
    *,
    entries: Sequence[Entry],
    parties: Sequence[ListedParty],
    common: Sequence[bool],
    common_query: Mapping[View, bool],
    floor: float,
) -> list[Hit]:
    """Each party's best entry at or above ``floor``, best first, its score adjusted by
    country, date of birth, documents and party type. ``common`` says which entries, and
    ``common_query`` whether the query in each view, are made of words many listed names
    share."""
    best: dict[int, Hit] = {}  # by party
    supports: dict[int, Support] = {}
    most = ceiling(q)
    for scored in similar:
        e_id = scored.e_id
        entry = entries[e_id]
        # Many people share a common name; organisations' names are weighed by
        # their generic words instead.
        is_common = entry.person and (common_query.get(entry.view, False) or common[e_id])
        if adjust(q, case_of(q, scored, entry, most, is_common)) < floor:
            continue  # not even a matching country and date of birth would lift it
        held_support = supports.get(entry.party)
        if held_support is None:
            held_support = supports[entry.party] = support(q, parties[entry.party])
        met = case_of(q, scored, entry, held_support, is_common)
        hit = Hit(adjust(q, met), e_id, met)
        held = best.get(entry.party)
        if held is None or hit.preference > held.preference:
            best[entry.party] = hit
    return sorted(
        (h for h in best.values() if h.score >= floor),
        # Capped scores tie: a closely paired name first, then the closer name, weighed
        # by its kind (a nickname after a name).
        key=lambda h: (
            -h.score,
            h.case.loose,
            h.case.part,
            -h.case.sim * KIND_WEIGHTS[h.case.entry.matched_on],
            parties[h.case.entry.party].reference_number,
        ),
    )


# --- explanations ----------------------------------------------------------------------


def explain_names(q: NameForm, n: NameForm, *, partial: bool = False) -> Feature:
    """The name-similarity feature of two folded names: how alike, and which words
    did not pair or were read as one (see :func:`compare_names`)."""
    match = compare_names(q, n, partial=partial)
    detail = f"{q.folded!r} ~ {n.folded!r}"
    if match.rule != "words":
        how = "without spaces" if match.rule == "spaces" else "with particles"
        return ("name_similarity", f"={match.sim:.3f}", f"{detail}; the letters compared {how}")
    qf, nf, pairs = match.q, match.n, match.pairs
    missing_q = [t for i, t in enumerate(qf.tokens) if all(p[1] != i for p in pairs)]
    missing_n = [t for j, t in enumerate(nf.tokens) if all(p[2] != j for p in pairs)]
    for side, words, word in match.joins:
        detail += f"; {side} words {' '.join(words)!r} read as one, {word!r}"
    if missing_q or missing_n:
        detail += f"; unmatched query {missing_q or '-'}, list {missing_n or '-'}"
    return ("name_similarity", f"={match.sim:.3f}", detail)


#: What an explanation says of a name that is not quite the party's own.
_KIND_NOTES: dict[MatchedOn, str] = {
    "former_name": "former name (f.k.a.)",
    "weak_alias": "low-quality alias (nickname)",
}


def reported(q: Query, hit: Hit, party: ListedParty, name_feature: Feature) -> NameMatch:
    """``hit`` as reported, explained step by step; ``name_feature`` explains the name
    similarity (see :func:`explain_names`)."""
    score, c = hit.score, hit.case
    entry = c.entry
    on = entry.matched_on
    weight = KIND_WEIGHTS[on]
    features = [name_feature]
    if on in _KIND_NOTES:
        features.append((on, f"x{weight:.2f}", _KIND_NOTES[on]))
    features += c.support.features(c.sim * weight)
    capped = score == WEAK_ALIAS_CAP
    cap = f"cap {WEAK_ALIAS_CAP:.2f}"
    if c.generic:
        features.append((_GENERIC.name, cap if capped else "supported", _GENERIC.rule))
    elif capped:
        # Every rule that held this name back, given what supports it.
        features += [(held.name, cap, held.rule) for held in CAPS if held.holds(c)]
    return NameMatch(
        reference_number=party.reference_number,
        name=party.name,
        matched_name=entry.text,
        matched_on=on,
        score=score,
        features=tuple(features),
        listed_on=party.listed_on,
        list_type=party.list_type,
    )
