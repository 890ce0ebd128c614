"""The designated names, folded once, and the retrieval of the few worth scoring.

:meth:`NameIndex.search` retrieves candidate names through token, phonetic,
one-deletion and trigram keys and scores only those, with the same scorer
:meth:`NameIndex.brute_force_search` applies to every name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Iterator
from itertools import pairwise
from typing import TypeVar

from services.core.name_normalisation import NameForm, name_form
from services.core.names.alignment import compare_names, similarity_bound
from services.core.names.entries import Entry, entries_of
from services.core.names.facts import Feature, Query, fold_identifier, name_floor, query
from services.core.names.joins import runs
from services.core.names.scoring import NameMatch, Scored, explain_names, rank, reported
from services.core.names.tuning import (
    CANDIDATE_CAP,
    COMMON_MIN_PARTIES,
    COMMON_SHARE,
    ESTIMATE_SHARE,
    EXPLANATION_CACHE,
    JOIN_MAX_TOKENS,
    JOIN_MIN,
    JOIN_SCAN_MIN,
    KIND_WEIGHTS,
    NAMES_PER_PARTY,
    NEAR_MISS_FLOOR,
    REACH_CACHE,
    RESULT_CACHE,
)
from services.core.names.vocabulary import LetterScan, Vocabulary, lookup_tokens
from services.core.sanctions_list import ListedParty

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _remember(cache: dict[K, V], key: K, value: V, size: int) -> V:
    """``value`` kept under ``key``; a cache at ``size`` is emptied first: a crude bound,
    which a feed's working set refills quickly."""
    if len(cache) >= size:
        cache.clear()
    cache[key] = value
    return value


class NameIndex:
    """Designated names, folded once, with lookup keys for fast candidate retrieval.

    Immutable after :meth:`build`; ``search`` may be called from several
    threads (its caches only ever hold recomputable values).
    """

    def __init__(self, parties: tuple[ListedParty, ...], entries: tuple[Entry, ...]) -> None:
        self._parties = parties
        self._entries = entries
        self._results: dict[tuple[tuple[str, ...], str, float], tuple[Scored, ...]] = {}
        self._reach: dict[tuple[str, bool], dict[int, tuple[str, float]]] = {}
        self._explanations: dict[tuple[str, int], Feature] = {}
        postings: dict[str, list[int]] = {}
        joined: set[str] = set()
        for e_id, entry in enumerate(entries):
            for token, single in lookup_tokens(entry.form):
                postings.setdefault(token, []).append(e_id)
                if not single:
                    joined.add(token)
        self._postings = {t: tuple(ids) for t, ids in postings.items()}
        self._core_lengths = [e.form.core_total for e in entries]
        self._weights = [KIND_WEIGHTS[e.matched_on] for e in entries]
        self._party_of = [e.party for e in entries]
        # Words many listed parties share ("mohammed", "omar", "kim"): a name made of
        # them only is the name of many people, on the list and off it.
        holders: dict[str, set[int]] = {}
        for entry in entries:
            for token in entry.form.core_tokens:
                holders.setdefault(token, set()).add(entry.party)
        least = max(COMMON_MIN_PARTIES, COMMON_SHARE * len(parties))
        common = {t for t, held in holders.items() if len(held) >= least}
        # Written as one word they are as common: "Abdulrahman" is "Abdul Rahman".
        common.update(
            a + b
            for e in entries
            for a, b in pairwise(e.form.core_tokens)
            if a in common and b in common
        )
        self._common = frozenset(common)
        self._common_entry = [self._is_common(e.form) for e in entries]
        # Words a name carries twice ("Mohammad Sadiq Amir Mohammad"): both can pair.
        self._repeated = [
            frozenset(t for t in e.form.core_tokens if e.form.core_tokens.count(t) > 1)
            for e in entries
        ]
        by_document: dict[str, list[int]] = {}
        for e_id, entry in enumerate(entries):
            for doc in parties[entry.party].documents:
                if doc.number and (number := fold_identifier(doc.number)):
                    by_document.setdefault(number, []).append(e_id)
        self._by_document = {n: tuple(ids) for n, ids in by_document.items()}
        # A listed token that is also some name's two parts joined keeps its keys.
        singles = {t for e in entries for t in e.form.core_tokens}
        self._vocabulary = Vocabulary(singles, typo_only=joined - singles)
        # The fallback (see _letters_alike): every name's letters with its particles
        # and without them; and without them for the names that have particles.
        forms = [(e.form, e_id) for e_id, e in enumerate(entries)]
        self._letters = LetterScan((f.letters, e_id) for f, e_id in forms)
        self._compacts = LetterScan((f.compact, e_id) for f, e_id in forms)
        self._particle_compacts = LetterScan(
            (f.compact, e_id) for f, e_id in forms if f.letters != f.compact
        )
        # Two or three listed words joined, which a query may write as one word wherever
        # its other words stand ("Makki Hafizabdulrehman" for HAFIZ ABDUL REHMAN MAKKI).
        self._joined_runs = LetterScan(
            (run.word, e_id)
            for f, e_id in forms
            if len(f.tokens) <= JOIN_MAX_TOKENS
            for run in runs(f.tokens, f.core)
        )
        self._joined_reach: dict[str, tuple[int, ...]] = {}

    @classmethod
    def build(cls, parties: Iterable[ListedParty]) -> NameIndex:
        listed = tuple(parties)
        entries = [e for i, p in enumerate(listed) for e in entries_of(i, p)]
        return cls(listed, tuple(entries))

    def __len__(self) -> int:
        return len(self._entries)

    def search(
        self,
        name: str,
        *,
        country: str | None = None,
        date_of_birth: str | None = None,
        identifiers: Iterable[str] = (),
        party_type: str | None = None,
        limit: int = 5,
        floor: float = NEAR_MISS_FLOOR,
    ) -> list[NameMatch]:
        """Screen ``name``: the best-scoring parties, score descending, at most ``limit``.

        ``country`` is an ISO alpha-2 code (or a country name), ``date_of_birth``
        ``YYYY-MM-DD`` or ``YYYY``, ``identifiers`` document numbers (passport,
        registration), ``party_type`` the record's party type ("armed_group"
        supports a listed entity's acronym); they only adjust scores. Never
        raises on arbitrary text: a name without distinctive tokens returns ``[]``.
        """
        form = name_form(name)
        identifiers = tuple(identifiers)
        least = name_floor(floor, bool(date_of_birth), bool(identifiers))
        similar = self._similar(form, least)
        if identifiers:
            similar += self._documented(form, least, identifiers, similar)
        if not similar:
            return []  # most party names: nothing on the list is like them
        q = query(form, country, date_of_birth, identifiers, party_type)
        return self._rank(q, similar, limit, floor)

    def brute_force_search(
        self,
        name: str,
        *,
        country: str | None = None,
        date_of_birth: str | None = None,
        identifiers: Iterable[str] = (),
        party_type: str | None = None,
        limit: int = 5,
        floor: float = NEAR_MISS_FLOOR,
    ) -> list[NameMatch]:
        """As :meth:`search`, scoring every listed name: the recall baseline."""
        q = query(name_form(name), country, date_of_birth, identifiers, party_type)
        least = name_floor(floor, bool(date_of_birth), bool(q.identifiers))
        every = range(len(self._entries))
        return self._rank(q, self._score_names(q.form, least, every), limit, floor)

    def _rank(
        self, q: Query, similar: Iterable[Scored], limit: int, floor: float
    ) -> list[NameMatch]:
        hits = rank(
            q,
            similar,
            entries=self._entries,
            parties=self._parties,
            common=self._common_entry,
            common_query=self._is_common(q.form),
            floor=floor,
        )
        found = []
        for hit in hits[: max(limit, 0)]:
            # A party that matches once is usually named again, spelled the same way; the
            # folded query fixes its tokens and the entry id the listed name.
            key = (q.form.folded, hit.e_id)
            entry = hit.case.entry
            feature = self._explanations.get(key)
            if feature is None:
                feature = explain_names(q.form, entry.form, partial=entry.person)
                _remember(self._explanations, key, feature, EXPLANATION_CACHE)
            found.append(reported(q, hit, self._parties[entry.party], feature))
        return found

    def _is_common(self, form: NameForm) -> bool:
        return bool(form.core_tokens) and all(t in self._common for t in form.core_tokens)

    def _documented(
        self,
        form: NameForm,
        least: float,
        identifiers: Iterable[str],
        similar: Iterable[Scored],
    ) -> tuple[Scored, ...]:
        """The names of the parties whose listed document numbers the query gives,
        scored, that name retrieval has not found: a matching passport number is
        reason enough to compare the names ("Abu ydah" for ABU UBAYDAH)."""
        found = {scored[0] for scored in similar}
        ids = [
            e_id
            for number in identifiers
            for e_id in self._by_document.get(fold_identifier(number), ())
            if e_id not in found
        ]
        return tuple(self._score_names(form, least, dict.fromkeys(ids)))

    def _similar(self, form: NameForm, least: float) -> tuple[Scored, ...]:
        """Entries whose weighted name score reaches ``least``, with their similarity.

        Depends on the name's tokens and letters only, so it is cached per
        spelling of them: spellings that fold alike ("ACME Ltd", "Acme Limited")
        share one entry. Country, date of birth and documents, which differ
        between records naming the same party, are applied afterwards. Most names
        in a feed match nothing and cache as ``()``.
        """
        key = (form.tokens, form.letters, least)
        cached = self._results.get(key)
        if cached is None:
            retrieved = self._retrieve(form, least)
            seen = set(retrieved)
            fallback = [e for e in self._letters_alike(form) if e not in seen]
            scored = tuple(self._score_names(form, least, retrieved + fallback))
            cached = _remember(self._results, key, scored, RESULT_CACHE)
        return cached

    def _score_names(
        self, form: NameForm, least: float, entry_ids: Iterable[int]
    ) -> Iterator[Scored]:
        """The entries whose weighted name score reaches ``least`` (see name_floor)."""
        if not form.core_tokens:
            return
        memo: dict[str, dict[str, float]] = {}
        for e_id in entry_ids:
            entry = self._entries[e_id]
            weight = KIND_WEIGHTS[entry.matched_on]
            if similarity_bound(form, entry) * weight < least:
                continue  # cheap and exact: lengths alone rule it out
            match = compare_names(form, entry.form, partial=entry.person, memo=memo)
            if match.sim * weight >= least:
                yield e_id, match.sim, match.loose

    # retrieval

    def _letters_alike(self, form: NameForm) -> list[int]:
        """Entries whose letters, spaces and particles aside, are near-identical to the query's.

        The recall-safe fallback: tokens can fail to meet where the letters do
        ("Sapporters of eslamic Law" for SUPPORTERS OF ISLAMIC LAW, whose words
        are generic and so have no keys; "Abdulasattar" for HAJI ABDUL SATAR,
        one word for two), and the scorer counts such letters where one of the
        names has particles or the two split the letters into different words
        (see :func:`compare_names`): "al Shamsurrahman" for SHAMS-U-RAHMAN.
        Scans only names of compatible length, in rapidfuzz's compiled loop: tens
        of microseconds, once per new name.
        """
        if not form.letters:
            return []
        found = self._letters.alike(form.letters)  # the particles rule
        # The split rule compares letters without particles. Where the query has
        # none, the scan above has compared them with every name without particles.
        plain = form.letters == form.compact
        compacts = self._particle_compacts if plain else self._compacts
        found += compacts.alike(form.compact)
        # A word no listed name has may be two or three of a name's words written as one,
        # wherever the query's other words stand.
        for token in form.tokens:
            if len(token) >= JOIN_SCAN_MIN and token not in self._vocabulary:
                found += self._joined(token)
        return list(dict.fromkeys(found))

    def _joined(self, token: str) -> tuple[int, ...]:
        """Entries with two or three words that ``token`` writes as one; cached per token."""
        reached = self._joined_reach.get(token)
        if reached is None:
            alike = tuple(self._joined_runs.alike(token, JOIN_MIN))
            reached = _remember(self._joined_reach, token, alike, REACH_CACHE)
        return reached

    def _retrieve(self, q: NameForm, least: float) -> list[int]:
        """Ids of the entries most likely to score well, at most CANDIDATE_CAP, and at
        most NAMES_PER_PARTY of one party.

        Each entry sharing a (fuzzy) core token with the query gets an estimate
        of its core-token score: aligned characters over all core characters,
        as the scorer counts them, so a long name sharing one common token
        ranks low.
        """
        aligned: dict[int, float] = {}
        # The listed token each entry was first reached by, and the weight of that link:
        # two query tokens reaching one listed token ("Mohamud Mohamed", MOHAMED LAKHAL)
        # count once, as the scorer pairs each token once.
        first: dict[int, tuple[str, float]] = {}
        lookups = lookup_tokens(q)
        # A word the query names twice reaches again, for the names that carry it twice.
        lookups += [(t, True) for t in sorted(set(q.core_tokens)) if q.core_tokens.count(t) > 1]
        for token, wide in lookups:
            for e_id, link in self._reached(token, wide).items():
                held = first.get(e_id)
                if held is None:
                    first[e_id] = link
                    aligned[e_id] = link[1]
                elif held[0] != link[0] or link[0] in self._repeated[e_id]:
                    aligned[e_id] += link[1]
                elif link[1] > held[1]:
                    aligned[e_id] += link[1] - held[1]
                    first[e_id] = link
        size, lengths, weights = q.core_total, self._core_lengths, self._weights
        # The estimate can fall short of the score (pairs no key reached, the
        # lower weight of left-out name parts): "Abu Salah" estimates ABU SALMAN,
        # whose "salman" no key of "salah" reaches, at 0.35 of a 0.82 score.
        # It can also overshoot: two query tokens may reach one listed token ("Mohamud
        # Mohamed" reaches MOHAMMAD twice), where the scorer pairs each token once.
        # However paired, aligned characters never exceed twice the shorter side.
        lowest = least * ESTIMATE_SHARE
        ranked = [
            (estimate, -e)
            for e, a in aligned.items()
            if (estimate := min(a, 2 * min(size, lengths[e])) * weights[e] / (size + lengths[e]))
            >= lowest
        ]
        if len(ranked) > CANDIDATE_CAP:
            # The best-estimated names, at most NAMES_PER_PARTY of one party: the many
            # aliases of a few parties (the al-Tikriti brothers) must not crowd out
            # another party of the same name.
            ranked.sort(reverse=True)
            party_of = self._party_of
            taken: Counter[int] = Counter()
            kept = []
            for estimate, e in ranked:
                party = party_of[-e]
                if taken[party] < NAMES_PER_PARTY:
                    taken[party] += 1
                    kept.append((estimate, e))
                    if len(kept) == CANDIDATE_CAP:
                        break
            ranked = kept
        return [-e for _, e in ranked]

    def _reached(self, token: str, wide: bool) -> dict[int, tuple[str, float]]:
        """Entries that a query token reaches, each with its closest link: the listed
        token and the link's weight.

        Cached per token: the names of a feed share their words far more often
        than whole names, so most tokens of a new name have been looked up before.
        """
        key = (token, wide)
        reached = self._reach.get(key)
        if reached is None:
            reached = {}
            # Ascending, so each entry keeps its closest link to this token.
            for neighbour, weight in self._vocabulary.neighbours(token, wide=wide):
                reached.update(dict.fromkeys(self._postings[neighbour], (neighbour, weight)))
            _remember(self._reach, key, reached, REACH_CACHE)
        return reached
