"""Which listed names of one view are worth scoring for a query: the few its keys reach.

A view (see services.core.names.entries) is one way of writing the listed names: as
listed, as read, by consonants. Each has its own keys, built once with the index: a
listed word reached by a query word in one view is no evidence in another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from itertools import pairwise
from typing import TypeVar

from services.core.name_normalisation import NameForm
from services.core.names.entries import Entry
from services.core.names.joins import runs
from services.core.names.tuning import (
    CANDIDATE_CAP,
    COMMON_MIN_PARTIES,
    COMMON_SHARE,
    ESTIMATE_SHARE,
    JOIN_MAX_TOKENS,
    JOIN_MIN,
    JOIN_SCAN_MIN,
    NAMES_PER_PARTY,
    PAIR_FLOOR,
    REACH_CACHE,
)
from services.core.names.vocabulary import LetterScan, Vocabulary, lookup_tokens

#: How a query token reaches a listed name: the listed token, the link's weight (the
#: aligned characters of the pair, as the scorer counts them), and the two tokens' lengths.
Link = tuple[str, float, int, int]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V, size: int) -> V:
    """``value`` kept under ``key``; a cache at ``size`` is emptied first: a crude bound,
    which a feed's working set refills quickly."""
    if len(cache) >= size:
        cache.clear()
    cache[key] = value
    return value


class Retrieval:
    """The keys of one view's entries, and the retrieval of the few worth scoring.

    Entry ids are the index's; ``weights`` (of each entry's kind), ``core_lengths`` and
    ``party_of`` are indexed by them. Its caches only ever hold recomputable values.
    """

    def __init__(
        self,
        entries: Sequence[Entry],
        ids: Sequence[int],
        *,
        weights: Sequence[float],
        core_lengths: Sequence[int],
        party_of: Sequence[int],
        parties: int,
    ) -> None:
        self._weights = weights
        self._entities = frozenset(e for e in ids if not entries[e].person)
        self._entity_reach: dict[tuple[str, bool], frozenset[int]] = {}
        self._core_lengths = core_lengths
        self._party_of = party_of
        self._reach: dict[tuple[str, bool], dict[int, Link]] = {}
        postings: dict[str, list[int]] = {}
        joined: set[str] = set()
        for e_id in ids:
            for token, single in lookup_tokens(entries[e_id].form):
                postings.setdefault(token, []).append(e_id)
                if not single:
                    joined.add(token)
        self._postings = {t: tuple(found) for t, found in postings.items()}
        # Words many listed parties share ("mohammed", "omar", "kim"): a name made of
        # them only is the name of many people, on the list and off it.
        holders: dict[str, set[int]] = {}
        for e_id in ids:
            for token in entries[e_id].form.core_tokens:
                holders.setdefault(token, set()).add(entries[e_id].party)
        least = max(COMMON_MIN_PARTIES, COMMON_SHARE * parties)
        common = {t for t, held in holders.items() if len(held) >= least}
        # Written as one word they are as common: "Abdulrahman" is "Abdul Rahman".
        common.update(
            a + b
            for e_id in ids
            for a, b in pairwise(entries[e_id].form.core_tokens)
            if a in common and b in common
        )
        self._common = frozenset(common)
        # Words a name carries twice ("Mohammad Sadiq Amir Mohammad"): both can pair.
        self._repeated = {
            e_id: frozenset(t for t in tokens if tokens.count(t) > 1)
            for e_id in ids
            if (tokens := entries[e_id].form.core_tokens)
        }
        # A listed token that is also some name's two parts joined keeps its keys.
        singles = {t for e_id in ids for t in entries[e_id].form.core_tokens}
        self._vocabulary = Vocabulary(singles, typo_only=joined - singles)
        # The fallback (see _letters_alike): every name's letters with its particles
        # and without them; and without them for the names that have particles.
        forms = [(entries[e_id].form, e_id) for e_id in ids]
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

    def knows_a_word(self, words: Iterable[str]) -> bool:
        """Whether one of ``words`` is a word of a listed name."""
        return any(t in self._vocabulary for t in words)

    def is_common(self, form: NameForm) -> bool:
        """Whether every distinctive word of ``form`` is one many listed parties share."""
        return bool(form.core_tokens) and all(t in self._common for t in form.core_tokens)

    def candidates(self, form: NameForm, least: float, *, every_word: bool = False) -> list[int]:
        """Ids of the entries worth scoring for ``form``: the best-estimated ones its words
        reach (see :meth:`_retrieve`), then those whose letters are alike. With
        ``every_word``, only the people's names that each of its distinctive words reaches,
        and of the names alike in letters only those with words written as one."""
        retrieved = self._retrieve(form, least, every_word)
        seen = set(retrieved)
        alike = self._joined_words(form) if every_word else self._letters_alike(form)
        return retrieved + [e for e in alike if e not in seen]

    def _letters_alike(self, form: NameForm) -> list[int]:
        """Entries whose letters, spaces and particles aside, are near-identical to the query's.

        The recall-safe fallback where words fail to meet but letters do ("Abdulasattar"
        for HAJI ABDUL SATAR; generic words, which have no keys). Scans only names of
        compatible length, in rapidfuzz's compiled loop: tens of µs per new name.
        """
        if not form.letters:
            return []
        found = self._letters.alike(form.letters)  # the particles rule
        # The split rule compares letters without particles. Where the query has
        # none, the scan above has compared them with every name without particles.
        plain = form.letters == form.compact
        compacts = self._particle_compacts if plain else self._compacts
        found += compacts.alike(form.compact)
        return list(dict.fromkeys(found + self._joined_words(form)))

    def _joined_words(self, form: NameForm) -> list[int]:
        """Entries with two or three words that a word of ``form`` no listed name has
        writes as one, wherever its other words stand."""
        return [
            e_id
            for token in form.tokens
            if len(token) >= JOIN_SCAN_MIN and token not in self._vocabulary
            for e_id in self._joined(token)
        ]

    def _joined(self, token: str) -> tuple[int, ...]:
        """Entries with two or three words that ``token`` writes as one; cached per token."""
        reached = self._joined_reach.get(token)
        if reached is None:
            alike = tuple(self._joined_runs.alike(token, JOIN_MIN))
            reached = remember(self._joined_reach, token, alike, REACH_CACHE)
        return reached

    def _retrieve(self, q: NameForm, least: float, every_word: bool) -> list[int]:
        """Ids of the entries most likely to score well, at most CANDIDATE_CAP, and at
        most NAMES_PER_PARTY of one party.

        Each entry sharing a (fuzzy) core token with the query gets an estimate
        of its core-token score: aligned characters over all core characters,
        as the scorer counts them, so a long name sharing one common token
        ranks low.
        """
        aligned: dict[int, float] = {}
        # The link each entry was first reached by (see _reached): two query tokens
        # reaching one listed token ("Mohamud Mohamed", MOHAMED LAKHAL) count once, as the
        # scorer pairs each token once.
        first: dict[int, Link] = {}
        lookups = lookup_tokens(q)
        # A word the query names twice reaches again, for the names that carry it twice.
        lookups += [(t, True) for t in sorted(set(q.core_tokens)) if q.core_tokens.count(t) > 1]
        reaches = [(token, wide, self._reached(token, wide)) for token, wide in lookups]
        if every_word:
            # An organisation's name may have a word the other lacks and still read alike.
            allowed = _every_word(q, reaches).union(
                *(self._entities_reached(token, wide) for token, wide, _ in reaches)
            )
            if not allowed:
                return []  # most names read
            reaches = [
                (t, w, {e: found[e] for e in allowed if e in found}) for t, w, found in reaches
            ]
        for _, _, found in reaches:
            for e_id, link in found.items():
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
            # Words no key links may still pair, at PAIR_FLOOR at least: of two names
            # equally linked, the one with as many letters left to pair as the query ranks
            # first ("Mohammad Rahimi": MOHAMMAD AHMADI before MOHAMMAD). Counted from the
            # first link: a name linked twice ranks high anyway.
            floor2 = 2 * PAIR_FLOOR
            kept_ids = [-n for _, n in ranked]
            ranked = []
            for e in kept_ids:
                a, n, link = aligned[e], lengths[e], first[e]
                left = min(size - link[2], n - link[3])
                if left > 0:
                    a += floor2 * left
                ranked.append((min(a, 2 * min(size, n)) * weights[e] / (size + n), -e))
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

    def _entities_reached(self, token: str, wide: bool) -> frozenset[int]:
        """The organisations' names that a query token reaches; cached per token."""
        key = (token, wide)
        reached = self._entity_reach.get(key)
        if reached is None:
            found = self._entities.intersection(self._reached(token, wide))
            reached = remember(self._entity_reach, key, found, REACH_CACHE)
        return reached

    def _reached(self, token: str, wide: bool) -> dict[int, Link]:
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
                link = (neighbour, weight, len(token), len(neighbour))
                reached.update(dict.fromkeys(self._postings[neighbour], link))
            remember(self._reach, key, reached, REACH_CACHE)
        return reached


def _every_word(q: NameForm, reaches: Sequence[tuple[str, bool, Mapping[int, object]]]) -> set[int]:
    """The entries that every distinctive word of ``q`` reaches, alone or joined to the
    word next to it."""
    joined = {a + b: (a, b) for a, b in pairwise(q.core_tokens)}
    by_word: dict[str, list[Mapping[int, object]]] = {}
    for token, wide, found in reaches:
        if found:
            for word in (token,) if wide else joined.get(token, ()):
                by_word.setdefault(word, []).append(found)
    words = set(q.core_tokens)
    if not words or not words <= by_word.keys():
        return set()  # most names: a word that reaches no listed name
    # From the word that reaches fewest names, the names every other word reaches too.
    ordered = sorted(by_word.items(), key=lambda item: sum(map(len, item[1])))
    left = {e for found in ordered[0][1] for e in found}
    for _, founds in ordered[1:]:
        left = {e for e in left if any(e in found for found in founds)}
    return left
