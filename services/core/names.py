"""Matching a party name against the designated parties of the Consolidated List.

Pure and in-memory: :meth:`NameIndex.build` folds every listed name once;
:meth:`NameIndex.search` retrieves a few candidate names through token,
phonetic, one-deletion and trigram keys and scores only those, with the same
scorer :meth:`NameIndex.brute_force_search` applies to every name.

A score is: the share of aligned characters between the two names' tokens
(order-free; generic words such as "Trading" count against a match but never
for one), times the weight of the name's kind (primary name, alias, former
name, nickname), plus or minus what the country and date of birth say. Each
step is one entry of the candidate's ``features``, so a reviewer can see why a
name was flagged.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from itertools import chain, pairwise
from typing import Literal, NamedTuple

from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel

from services.core.name_normalisation import (
    GENERIC,
    NameForm,
    country_code,
    deletions,
    name_form,
    name_variant,
    phonetic_key,
    trigrams,
    without_brackets,
)
from services.core.sanctions_list import AliasQuality, BirthDate, ListedParty, PartyKind

ALGORITHM_VERSION = "names-5"
DEFAULT_THRESHOLD = 0.88
NEAR_MISS_FLOOR = 0.75  # scores in [floor, threshold) are near misses

MatchedOn = Literal["name", "alias", "weak_alias", "former_name", "original_script"]
Feature = tuple[str, str, str]  # (feature, effect, detail)

# A nickname is weak evidence: alone it stays below DEFAULT_THRESHOLD.
_WEIGHTS: dict[MatchedOn, float] = {
    "name": 1.0, "original_script": 1.0, "alias": 1.0, "former_name": 0.95, "weak_alias": 0.85,
}  # fmt: skip
_PRIORITY: dict[MatchedOn, int] = {
    "name": 0, "original_script": 1, "alias": 2, "former_name": 3, "weak_alias": 4,
}  # fmt: skip
WEAK_ALIAS_CAP = 0.85
COUNTRY_SUPPORT = 0.05
#: An identity document number the list gives for the party.
IDENTIFIER_SUPPORT = 0.10
#: A country corroborates a close name; it cannot make a distant one close.
COUNTRY_NEEDS = 0.85
DOB_EXACT, DOB_YEAR, DOB_RANGE, DOB_CONTRADICTION = 0.08, 0.04, 0.03, -0.15

_PAIR_FLOOR = 0.6  # token pairs less alike than this count as unmatched
_SHORT_TOKEN = 2  # tokens this short pair only with a one-letter variant
_SUBSET_PAIR = 0.8  # every query token at least this close: the query names a subset
_LEFT_OUT_WEIGHT = 0.6  # weight of the list name parts such a query leaves out
_JOINED_MIN = 0.9  # joined-letters similarity counts only when the letters agree this well
_JOIN_MIN = 0.8  # words written as one pair with a word this alike; closely from _JOINED_MIN
_JOIN_MAX_TOKENS = 12  # names longer than this are not searched for words written as one
_JOIN_SCAN_MIN = 5  # the shortest query word looked up as listed words written as one
_CANDIDATE_CAP = 25  # names retrieval scores at most
_NAMES_PER_PARTY = 3  # of them one party's
_ESTIMATE_SHARE = 0.4  # retrieval scores no entry estimated below this share of the floor
_TRIGRAM_DICE = 0.45
_REACH_CACHE = 65536  # query tokens whose reach (entries and weights) is kept
#: Feeds repeat party names (exporters, carriers, consignees): whole results are
#: cached per index, which is immutable, so a cached answer is always the answer.
_RESULT_CACHE = 200_000
#: A word many listed parties share: in at least this many, and this share of them.
_COMMON_MIN_PARTIES = 10
_COMMON_SHARE = 0.01
#: Explanations of name matches, per query spelling and listed name.
_EXPLANATION_CACHE = 65536


#: An entry id, its name similarity, and whether that similarity is loose (name_match).
_Scored = tuple[int, float, bool]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A listed party whose name resembles the query, with the reasons why."""

    reference_number: str
    name: str  # the party's primary name
    matched_name: str  # the name, alias or original-script name that matched
    matched_on: MatchedOn
    score: float  # in [0, 1]
    features: tuple[Feature, ...]
    listed_on: date | None
    list_type: str


@dataclass(frozen=True, slots=True)
class _Entry:
    """One matchable name of one party."""

    party: int
    text: str
    form: NameForm
    matched_on: MatchedOn
    person: bool  # an individual's name parts may be left out of a query

    @property
    def thin(self) -> bool:
        """One short word ("RGB", "Tek"), or an individual's single name ("Wali Mohammad"
        is "mohammad" once the title goes): many others carry it."""
        return self.form.short or (self.person and len(self.form.tokens) == 1)


@dataclass(frozen=True, slots=True)
class _Hit:
    """One scored entry."""

    score: float
    sim: float  # name similarity before weights and support
    e_id: int
    entry: _Entry
    common: bool = False  # made of words many listed names share
    loose: bool = False  # two distinctive words paired loosely (see name_match)

    @property
    def preference(self) -> tuple[float, bool, float, int, int]:
        """Which of a party's entries to report: best score; among capped scores, a closely
        paired name, then the closer name; then the stronger kind."""
        return self.score, not self.loose, self.sim, -_PRIORITY[self.entry.matched_on], -self.e_id


@dataclass(frozen=True, slots=True)
class _Query:
    form: NameForm
    country: str | None
    dob: date | None
    dob_year: int | None
    #: Document numbers by their folded form (letters and digits, upper case), as written.
    identifiers: Mapping[str, str] = field(default_factory=dict)
    armed_group: bool = False  # the record says the party is an armed group


# --- scoring -------------------------------------------------------------------


_indel = Indel.normalized_similarity
_osa = OSA.distance  # edits, a transposition being one


_VARIANT_PAIR = 0.85  # two listed romanisations of one name (name_variant): a slip apart

#: Endings that a great many Arabic and Persian given names share ("Saifullah",
#: "Atiqullah"; "Nooruddin", "Salahuddin"): where both tokens have one, the
#: letters before it must pair too.
_SHARED_ENDINGS = ("ullah", "allah", "uddin", "eddine", "eddin", "uddeen")
_ENDING_TAILS = frozenset(e[-4:] for e in _SHARED_ENDINGS)  # a cheap first test


def _length_bound(m: int, n: int) -> float:
    """The most Indel similarity two strings of lengths ``m`` and ``n`` can have: twice
    their longest common subsequence, at most twice the shorter, over both lengths."""
    return 2 * min(m, n) / (m + n) if m + n else 0.0


def _shortest_share(least: float) -> float:
    """The share of the longer string the shorter must have for an Indel similarity of
    ``least`` (the inverse of :func:`_length_bound`)."""
    return least / (2 - least)


def _pair_sim(a: str, b: str) -> float:
    if a == b:
        return 1.0
    variant = name_variant(a)
    if variant is not None and variant == name_variant(b):
        # Two romanisations of one name ("Kassem", "Qasim"): at least a slip apart,
        # within what their lengths allow (see _similarity_bound).
        return max(_indel(a, b), min(_VARIANT_PAIR, _length_bound(len(a), len(b))))
    if not _short_pair_ok(a, b):
        return 0.0
    if a[-4:] not in _ENDING_TAILS or b[-4:] not in _ENDING_TAILS:
        return _indel(a, b, score_cutoff=_PAIR_FLOOR)
    for ending in _SHARED_ENDINGS:
        if a.endswith(ending) and b.endswith(ending):
            cut = len(ending)
            if not _indel(a[:-cut], b[:-cut], score_cutoff=_PAIR_FLOOR):
                return 0.0  # "Saifullah" is not "Atiqullah"
            break
    return _indel(a, b, score_cutoff=_PAIR_FLOOR)


#: First-letter sound classes: vowels and h, w, y open alike ("Osama", "Usama"),
#: and so do consonants of one class ("Kassem", "Qasim"; "Gamal", "Jamal").
_ONSET = str.maketrans("aeiouyhwbfpvcgjkqsxzdtlmnr", "00000000111122222222334556")
#: Two-letter openings that romanise a sound also written otherwise ("Dhia", "Zia";
#: "Dzhalaluddin", "Djalaluddin", "Jalaluddin"; "Khussain", "Hussain"; "Tchaudhri",
#: "Chaudhri"; "Tsang", "Sang").
_DIGRAPHS = {"dh": "z", "dj": "j", "dz": "j", "kh": "h", "tc": "c", "ts": "s"}


def _openings(token: str) -> frozenset[str]:
    """The sound classes ``token`` may open with (see _ONSET, _DIGRAPHS)."""
    first = token[:1].translate(_ONSET)
    other = _DIGRAPHS.get(token[:2])
    return frozenset((first, other.translate(_ONSET))) if other else frozenset(first)


def _onsets_differ(a: str, b: str) -> bool:
    """Two romanised words that begin with different sounds and differ by more than one
    slip ("Ahmed", "Zahed"): however many letters they share, the names differ, unless
    listed as one name's variants. A slip at the start ("ahid" for "Zahid", "dsial" for
    "Sial" with the space misplaced) is still a slip, and an article written onto the
    word ("Altaher" for "Taher") no difference."""
    if not (a.isascii() and b.isascii()) or a.endswith(b) or b.endswith(a):
        return False
    if not _openings(a).isdisjoint(_openings(b)) or _osa(a, b, score_cutoff=1) <= 1:
        return False
    variant = name_variant(a)
    return variant is None or variant != name_variant(b)


def _short_pair_ok(a: str, b: str) -> bool:
    """A token of one or two letters ("Un", "Bo") pairs only with a one-letter variant.

    Indel similarity flatters short tokens: "un" shares 0.67 with "jung", which
    would make "Kim Jong Un" a match for KIM JUNG JONG.
    """
    return min(len(a), len(b)) > _SHORT_TOKEN or abs(len(a) - len(b)) <= 1


def _align(
    q: tuple[str, ...], n: tuple[str, ...], memo: dict[str, dict[str, float]] | None = None
) -> list[tuple[float, int, int]]:
    """Greedy one-to-one pairing of tokens, most alike first; order-free by design.

    ``memo`` caches token similarities across the candidates of one query, which
    share tokens ("muhammad", "abd") far more often than not.
    """
    ranked = []
    for i, a in enumerate(q):
        row = memo.setdefault(a, {}) if memo is not None else {}
        for j, b in enumerate(n):
            s = row.get(b)
            if s is None:
                s = row[b] = _pair_sim(a, b)
            if s:
                ranked.append((-s, i, j))
    ranked.sort()  # most alike first; ties by position, so the result is stable
    used_q = used_n = 0
    chosen = []
    for s, i, j in ranked:
        if not (used_q >> i) & 1 and not (used_n >> j) & 1:
            used_q |= 1 << i
            used_n |= 1 << j
            chosen.append((-s, i, j))
    return chosen


def _aligned_share(
    q: NameForm, n: NameForm, pairs: list[tuple[float, int, int]], partial: bool
) -> tuple[float, bool]:
    """Share of aligned characters (length-weighted), the lower of all and core tokens;
    and whether two distinctive words are paired only loosely (see :func:`name_match`)."""
    q_core, n_core, q_len, n_len = q.core, n.core, q.lengths, n.lengths
    q_tokens, n_tokens = q.tokens, n.tokens
    num = core_num = 0.0
    paired = core_paired = 0  # bit masks of the list tokens paired
    demoted = 0  # characters of misspelt generic words, which are no core tokens
    close = True
    loose = False
    for s, i, j in pairs:
        aligned = s * (q_len[i] + n_len[j])
        num += aligned
        paired |= 1 << j
        if q_core[i] and n_core[j]:
            core_num += aligned
            core_paired |= 1 << j
            loose = (
                loose or s < _SUBSET_PAIR or (s < 1.0 and _onsets_differ(q_tokens[i], n_tokens[j]))
            )
        elif q_core[i] != n_core[j] and s >= _SUBSET_PAIR:
            # "Deartment" is no word the folding knows, but it is "Department":
            # generic on both sides, as the correctly spelt word would be.
            demoted += q_len[i] if q_core[i] else n_len[j]
            core_paired |= 1 << j
        close = close and s >= _SUBSET_PAIR
    den = float(q.total + n.total)
    core_den = float(q.core_total + n.core_total - demoted)
    # A query naming two or more parts of a person's name, all of them present,
    # is not contradicted by the list's extra parts (a third given name): they
    # weigh less. An organisation's extra words do count ("Korea Trading Bank").
    if partial and close and len(pairs) == len(q_len) and len(q.core_tokens) >= 2:
        for j, length in enumerate(n_len):
            if n_core[j] and not (paired >> j) & 1:
                den -= (1 - _LEFT_OUT_WEIGHT) * length
            if n_core[j] and not (core_paired >> j) & 1:
                core_den -= (1 - _LEFT_OUT_WEIGHT) * length
    share = min(num / den if den else 0.0, core_num / core_den if core_den else 0.0)
    return share, loose


def name_similarity(
    q: NameForm,
    n: NameForm,
    *,
    partial: bool = False,
    memo: dict[str, dict[str, float]] | None = None,
) -> float:
    """Similarity of two folded names in [0, 1]; 0 unless their core tokens meet.

    The lower of the all-token and core-token scores: generic words can cost a
    match ("Al Qaida Trading" is not "Al-Qaida") but never make one. ``partial``
    (for individuals) lets a query leave out some of the listed name parts.
    """
    return name_match(q, n, partial=partial, memo=memo)[0]


def name_match(
    q: NameForm,
    n: NameForm,
    *,
    partial: bool = False,
    memo: dict[str, dict[str, float]] | None = None,
) -> tuple[float, bool]:
    """:func:`name_similarity`, and whether it is ``loose``: two distinctive words
    paired though they differ by more than a slip ("Nabi" and "Naim", "Rahimi" and
    "Ahmadi"), so that the rest of the name, often a name many people carry
    ("Mohammad"), makes the score. Such a name is another person's as often as not.
    """
    if not q.core_tokens or not n.core_tokens:
        return 0.0, False
    match = _match(q, n, partial, memo)
    return match.sim, match.loose


def _match(
    q: NameForm, n: NameForm, partial: bool, memo: dict[str, dict[str, float]] | None
) -> _TokenMatch:
    """What :func:`name_match` decides, with what decided it (see _TokenMatch.rule)."""
    match = _token_match(q, n, partial, memo)
    if match.sim < 1.0 and (compact := _compact_match(q, n, match.sim)):
        match = match._replace(sim=compact[0], loose=compact[1], rule="spaces")
    if match.sim < 1.0 and (q.letters != q.compact or n.letters != n.compact):
        # "Alshabaab" / "AL-SHABAAB": a particle written as part of the word.
        joined = _indel(q.letters, n.letters)
        if joined >= _JOINED_MIN and joined > match.sim:
            match = match._replace(sim=joined, loose=False, rule="particles")
    return match


_Pairs = list[tuple[float, int, int]]
#: Words one name writes as one: which side ("query", "list"), its words, and the word.
_Join = tuple[str, tuple[str, ...], str]


class _TokenMatch(NamedTuple):
    sim: float
    loose: bool
    q: NameForm  # the forms paired: as written, or with some words joined
    n: NameForm
    pairs: _Pairs
    joins: tuple[_Join, ...] = ()
    #: "words": the pairs make the score; "spaces": the letters without spaces do (the
    #: words break at other places); "particles": the letters with particles do.
    rule: str = "words"


def _token_match(
    q: NameForm, n: NameForm, partial: bool, memo: dict[str, dict[str, float]] | None
) -> _TokenMatch:
    """The token score (:func:`_aligned_share`) and loose flag, with the forms and
    pairs that make it: the names as written or, where that scores higher, with the
    words one splits and the other writes as one word joined ("Abdul Rahman",
    "Abdulrahman"). The joined word pairs as one token and the others as before, so
    "Abdulrahman Ahmed" does not borrow the letters "ahmed" shares with ZAHED. Words
    joined less than _JOINED_MIN alike ("Dongmyong" for TONG MYONG) pair loosely.
    """
    pairs = _align(q.tokens, n.tokens, memo)
    sim, loose = _aligned_share(q, n, pairs, partial)
    if (
        sim < 1.0
        and len(q.tokens) != len(n.tokens)
        and max(len(q.tokens), len(n.tokens)) <= _JOIN_MAX_TOKENS
        and (rejoined := _rejoined(q, n, pairs))
    ):
        qj, nj, q_runs, n_runs, joins = rejoined
        joined_pairs = _align(qj.tokens, nj.tokens, memo)
        joined, joined_loose = _aligned_share(qj, nj, joined_pairs, partial)
        if joined > sim and qj.core_tokens and nj.core_tokens:
            loose = joined_loose or any(
                _joined_pair_loose(s, q_runs.get(i), qj.tokens[i], n_runs.get(j), nj.tokens[j])
                for s, i, j in joined_pairs
            )
            return _TokenMatch(joined, loose, qj, nj, joined_pairs, joins)
    return _TokenMatch(sim, loose, q, n, pairs)


def _joined_pair_loose(
    s: float, q_run: _Run | None, q_token: str, n_run: _Run | None, n_token: str
) -> bool:
    """Whether a pair of the rejoined names, one of them a run of words written as one,
    pairs only loosely: less than _JOINED_MIN alike, or, cut where the run's words meet,
    one of its words pairs loosely with its piece ("Mohammadamin" is MOHAMMAD AMAN only
    as loosely as Amin is Aman, however alike the long words are)."""
    if s >= 1.0 or (q_run is None and n_run is None):
        return False
    if s < _JOINED_MIN:
        return True
    if q_run is not None and n_run is not None:
        return False  # both written as one: the letters are all there is to compare
    if q_run is not None:
        return _pieces_loose(q_run.words, n_token)
    return n_run is not None and _pieces_loose(n_run.words, q_token)


def _pieces_loose(words: tuple[str, ...], token: str) -> bool:
    """``token`` cut into as many pieces as ``words`` where they align best; whether a
    word of three letters or more pairs only loosely with its piece (see _aligned_share,
    _onsets_differ)."""
    size = len(token)
    cuts: Iterable[tuple[int, ...]] = (
        ((c,) for c in range(1, size))
        if len(words) == 2
        else ((c, d) for c in range(1, size - 1) for d in range(c + 1, size))
    )
    # Most aligned letters; of equal cuts ("abdul|asattar", "abdula|sattar" for ABDUL
    # SATAR), the one whose worst piece is closest.
    best: tuple[float, float, list[tuple[float, str]]] = (-1.0, -1.0, [])
    for cut in cuts:
        bounds = (0, *cut, size)
        pieces = [token[bounds[x] : bounds[x + 1]] for x in range(len(words))]
        sims = [_indel(w, piece) for w, piece in zip(words, pieces, strict=True)]
        aligned = round(
            sum(sim * (len(w) + len(pc)) for sim, w, pc in zip(sims, words, pieces, strict=True)),
            9,
        )
        if (aligned, min(sims)) > best[:2]:
            best = (aligned, min(sims), list(zip(sims, pieces, strict=True)))
    return any(
        len(w) > _SHORT_TOKEN and (sim < _SUBSET_PAIR or (sim < 1.0 and _onsets_differ(w, piece)))
        for w, (sim, piece) in zip(words, best[2], strict=True)
    )


def _compact_match(q: NameForm, n: NameForm, sim: float) -> tuple[float, bool] | None:
    """The names' letters without spaces, where they are near-identical and closer than
    ``sim``: the words break at other places ("Sha Msurrahman", "Mohammedomarghulamnabi").
    Loose unless the letters are the same: "Abdulrahman Ahmed" and ABDUL RAHMAN ZAHED
    share 0.94 of them, but Ahmed is not Zahed.
    """
    if len(q.tokens) == len(n.tokens):
        return None
    if _length_bound(len(q.compact), len(n.compact)) < _JOINED_MIN:
        return None
    joined = min(_indel(q.compact, n.compact), _indel(q.core_compact, n.core_compact))
    if joined < _JOINED_MIN or joined <= sim + 1e-9:  # the same letters, summed otherwise
        return None
    return joined, q.compact != n.compact and q.core_compact != n.core_compact


class _Run(NamedTuple):
    """Two or three adjacent tokens [start, end) of a name, written as one word."""

    start: int
    end: int
    words: tuple[str, ...]
    word: str
    core: bool  # distinctive, unless all its words are generic or it is a generic word
    #: Distinctive and generic words together ("Daesong Trading"): the generic word's
    #: letters would hide how the distinctive ones differ, so such a run joins only exactly.
    mixed: bool


@lru_cache(maxsize=65536)
def _runs(tokens: tuple[str, ...], core: tuple[bool, ...]) -> tuple[_Run, ...]:
    """Every run of two or three adjacent tokens, shortest first. A single letter, an
    initial, is neither distinctive nor generic: "Shams-u-Rahman" is one word joined."""
    generic = [not c and len(t) > 1 for t, c in zip(tokens, core, strict=True)]
    runs = []
    for i in range(len(tokens) - 1):
        for k in range(i + 2, min(i + 3, len(tokens)) + 1):
            word = "".join(tokens[i:k])
            kinds = set(generic[i:k])
            distinctive = any(core[i:k]) and word not in GENERIC
            runs.append(_Run(i, k, tokens[i:k], word, distinctive, len(kinds) > 1))
    return tuple(sorted(runs, key=lambda run: len(run.word)))  # shortest first: see _joins


_JOIN_LENGTHS = _shortest_share(_JOIN_MIN)


def _joins(a: NameForm, b: NameForm) -> Iterator[tuple[float, _Run, int]]:
    """Runs of ``a`` whose letters are one token of ``b`` at least _JOIN_MIN alike, of the
    same kind (distinctive or generic): (similarity, the run, that token)."""
    longest = max(b.lengths)
    for run in _runs(a.tokens, a.core):
        size = len(run.word)
        if size * _JOIN_LENGTHS > longest:
            break  # this run and the longer ones after it: longer than any token of b pairs with
        for j, token in enumerate(b.tokens):
            if (
                run.core == b.core[j]
                and _length_bound(size, b.lengths[j]) >= _JOIN_MIN
                and (s := _indel(run.word, token, score_cutoff=_JOIN_MIN))
            ):
                yield s, run, j


def _rejoined(
    q: NameForm, n: NameForm, pairs: _Pairs
) -> tuple[NameForm, NameForm, dict[int, _Run], dict[int, _Run], tuple[_Join, ...]] | None:
    """``q`` and ``n`` with the words one of them splits and the other writes as one
    word ("abdul rahman", "abdulrahman") joined, each with its runs by their position in
    the joined form, and the joins; None if there are none. Most alike first; each token
    joins or takes a run once. A run of distinctive and generic words joins only
    exactly: the letters of "trading" would hide that HWASONG is not HESONG. Words that
    ``pairs`` (the names as written) pair exactly stay as they are: "Sulaiman Ali" is
    not the second SULAIMAN of SULAIMAN JASSEM SULAIMAN ALI.
    """
    exact = ({i for s, i, _ in pairs if s >= 1.0}, {j for s, _, j in pairs if s >= 1.0})

    def free(side: int, run: _Run, j: int) -> bool:
        return exact[side].isdisjoint(range(run.start, run.end)) and j not in exact[1 - side]

    # (similarity, side that is split, the run, the other side's token)
    found = sorted(
        (
            (s, side, run, j)
            for side, (a, b) in enumerate(((q, n), (n, q)))
            for s, run, j in _joins(a, b)
            if (s >= 1.0 or not run.mixed) and free(side, run, j)
        ),
        key=lambda f: (-f[0], f[1], f[2].start, f[2].end, f[3]),
    )
    if not found:
        return None
    used: tuple[set[int], set[int]] = (set(), set())
    chosen: tuple[list[_Run], list[_Run]] = ([], [])
    joins: list[_Join] = []
    for _, side, run, j in found:
        taken, other = used[side], used[1 - side]
        if j in other or not taken.isdisjoint(range(run.start, run.end)):
            continue
        taken.update(range(run.start, run.end))
        other.add(j)
        chosen[side].append(run)
        joins.append(("query" if side == 0 else "list", run.words, run.word))
    qj, q_runs = _join_runs(q, chosen[0])
    nj, n_runs = _join_runs(n, chosen[1])
    return qj, nj, q_runs, n_runs, tuple(joins)


def _join_runs(form: NameForm, runs: Iterable[_Run]) -> tuple[NameForm, dict[int, _Run]]:
    """``form`` with each run's tokens written as one token, and the runs by their
    position in it."""
    by_start = {run.start: run for run in runs}
    if not by_start:
        return form, {}
    tokens: list[str] = []
    core: list[bool] = []
    at: dict[int, _Run] = {}
    i = 0
    while i < len(form.tokens):
        run = by_start.get(i)
        if run is None:
            tokens.append(form.tokens[i])
            core.append(form.core[i])
            i += 1
        else:
            at[len(tokens)] = run
            tokens.append(run.word)
            core.append(run.core)
            i = run.end
    core_tokens = tuple(t for t, c in zip(tokens, core, strict=True) if c)
    joined = replace(
        form,
        tokens=tuple(tokens),
        core=tuple(core),
        core_tokens=core_tokens,
        lengths=tuple(map(len, tokens)),
        core_total=sum(map(len, core_tokens)),
        core_compact="".join(core_tokens),
    )
    return joined, at


@lru_cache(maxsize=64)  # a handful of (floor, facts) combinations, asked per party
def _name_floor(floor: float, dob: bool, identifiers: bool) -> float:
    """The least weighted name score that support could lift to ``floor``.

    A matching date of birth and document number add to any name; a matching
    country only to a name at or above COUNTRY_NEEDS (see :meth:`_Support.delta`).
    ``dob`` and ``identifiers`` say whether the query has them at all.
    """
    below = floor - (DOB_EXACT if dob else 0.0) - (IDENTIFIER_SUPPORT if identifiers else 0.0)
    if below < COUNTRY_NEEDS:
        return round(below, 6)
    return round(max(COUNTRY_NEEDS, below - COUNTRY_SUPPORT), 6)


def _similarity_bound(q: NameForm, entry: _Entry) -> float:
    """Upper bound of :func:`name_similarity` from lengths alone.

    Indel similarity times the two lengths is twice their longest common
    subsequence, so aligned characters never exceed 2 * min(Q, N); the
    denominator is at least Q + N, or Q + w*N when list name parts may be left out.
    Where either name has particles, the letters rule compares the letters with
    them, whose lengths bound it the same way.
    """
    size_q, size_n = q.total, entry.form.total
    partial = entry.person and len(q.core_tokens) >= 2
    den = size_q + (_LEFT_OUT_WEIGHT * size_n if partial else size_n)
    bound = 2 * min(size_q, size_n) / den if den else 0.0
    n = entry.form
    if q.letters != q.compact or n.letters != n.compact:
        # The letters rule compares the letters with their particles: longer strings.
        bound = max(bound, _length_bound(len(q.letters), len(n.letters)))
    return bound


# --- supporting features -------------------------------------------------------


def _country_feature(party: ListedParty, code: str | None) -> tuple[float, Feature] | None:
    """A listed country that is ``code`` supports; one that is not only informs.

    A designated party is one wherever it is (a Haitian gang leader receiving
    arms in the Dominican Republic), so another country costs nothing: the
    feature shows it to the reviewer. It does decide for a name of generic words
    only (see :func:`_adjust`).
    """
    if code is None:
        return None
    places = (
        [("nationality", c) for c in party.nationalities]
        + [("address country", a.country) for a in party.addresses if a.country]
        + [("country of birth", p.country) for p in party.places_of_birth if p.country]
    )
    for where, listed in places:
        if country_code(listed) == code:
            detail = f"{code} matches {where} {listed}"
            return COUNTRY_SUPPORT, ("country", f"+{COUNTRY_SUPPORT:.2f}", detail)
    known = sorted({c for _, listed in places if (c := country_code(listed))})
    if not known:
        return None
    detail = f"{code} is none of the listed countries {', '.join(known)}"
    return 0.0, ("country", "0", detail)


def fold_identifier(value: str) -> str:
    """A document number as compared: letters and digits only, upper case."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


def _identifier_feature(party: ListedParty, q: _Query) -> tuple[float, Feature] | None:
    if not q.identifiers:
        return None
    for doc in party.documents:
        written = doc.number and q.identifiers.get(fold_identifier(doc.number))
        if written:
            kind = doc.type or "document"
            detail = f"{written} matches listed {kind} {doc.number}"
            return IDENTIFIER_SUPPORT, ("identifier", f"+{IDENTIFIER_SUPPORT:.2f}", detail)
    return None


def _dob_verdict(bd: BirthDate, q: _Query) -> tuple[float, str] | None:
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
        if bd.kind == "approximately" and abs(bd.year - qy) <= 1:
            return 0.0, f"{qy} is near listed approximate year {bd.year}"
        return DOB_CONTRADICTION, f"{qy} differs from listed year {bd.year}"
    if bd.from_year is not None and bd.to_year is not None:
        if bd.from_year <= qy <= bd.to_year:
            return DOB_RANGE, f"{qy} within listed {bd.from_year}-{bd.to_year}"
        return DOB_CONTRADICTION, f"{qy} outside listed {bd.from_year}-{bd.to_year}"
    return None


def _dob_feature(party: ListedParty, q: _Query) -> tuple[float, Feature] | None:
    """Best agreement among the listed dates; a contradiction only if none agrees."""
    if q.dob_year is None:
        return None  # most queries: no date to compare, so every verdict would be None
    verdicts = [v for v in (_dob_verdict(bd, q) for bd in party.birth_dates) if v]
    if not verdicts:
        return None
    effect, detail = max(verdicts, key=lambda v: v[0])
    return effect, ("date_of_birth", f"{effect:+.2f}" if effect else "0", detail)


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


def _query(
    form: NameForm,
    country: str | None,
    dob: str | None,
    identifiers: Iterable[str] = (),
    party_type: str | None = None,
) -> _Query:
    # Not cached: (name, country, date) triples rarely repeat, and a large cache
    # of them makes the garbage collector scan far more objects. The costly
    # part, the name's form, is cached per name by name_form.
    day, year = _parse_dob(dob)
    folded = {f: i for i in identifiers if (f := fold_identifier(i))}
    return _Query(form, country_code(country), day, year, folded, party_type == "armed_group")


# --- the index -----------------------------------------------------------------


_ALIAS_KIND: dict[AliasQuality, MatchedOn] = {
    AliasQuality.GOOD: "alias", AliasQuality.AKA: "alias",
    AliasQuality.FKA: "former_name", AliasQuality.LOW: "weak_alias",
}  # fmt: skip


def _entries_of(index: int, party: ListedParty) -> list[_Entry]:
    """Every matchable name of a party, each distinct spelling once."""
    named: list[tuple[str, MatchedOn]] = [(party.name, "name")]
    if party.original_script:
        named.append((party.original_script, "original_script"))
    named += [(a.name, _ALIAS_KIND[a.quality]) for a in party.aliases]
    entries, seen = [], set()
    person = party.kind is PartyKind.INDIVIDUAL
    for text, on in named:
        # An acronym or script in brackets is an aside, not a name part that a
        # query must repeat: the name is also matchable without it.
        for variant in (text, without_brackets(text)):
            form = name_form(variant) if variant else None
            if form and form.core_tokens and form.tokens not in seen:
                seen.add(form.tokens)
                entries.append(_Entry(index, text, form, on, person))
    return entries


def _lookup_tokens(form: NameForm) -> list[tuple[str, bool]]:
    """Core tokens (wide lookup), and adjacent core tokens joined (typo lookup only).

    Joined pairs let "Ryung Song" find "Ryungsong" and the other way round.
    """
    core = set(form.core_tokens)
    joined = {a + b for a, b in pairwise(form.core_tokens)} - core
    return sorted([(t, True) for t in core] + [(t, False) for t in joined])


def _invert(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, set[str]] = {}
    for key, token in pairs:
        out.setdefault(key, set()).add(token)
    return {k: tuple(sorted(v)) for k, v in out.items()}


class _Vocabulary:
    """Listed tokens, reachable from a query token by fuzzy keys.

    One-deletion keys (symmetric delete) reach single typos; consonant-class keys
    ("wide" lookups only) reach vowel and spelling variants, and trigrams of
    similar-length tokens two-edit variants ("Abdelrahmmatn" for "Abdelrahman").
    """

    def __init__(self, tokens: Iterable[str], typo_only: Iterable[str] = ()) -> None:
        """``typo_only`` tokens (joined pairs) get one-deletion keys only."""
        vocab = sorted(tokens)
        self._tokens = frozenset(vocab).union(typo_only)
        keys = ((phonetic_key(t), t) for t in vocab)
        self._phonetic = _invert((k, t) for k, t in keys if k)
        self._deletions = _invert((d, t) for t in self._tokens for d in deletions(t))
        self._trigrams = _invert((f"{g}{len(t)}", t) for t in vocab for g in trigrams(t))
        self._variants = _invert((v, t) for t in vocab if (v := name_variant(t)))

    def __contains__(self, token: str) -> bool:
        return token in self._tokens

    def neighbours(self, token: str, *, wide: bool = True) -> tuple[tuple[str, float], ...]:
        """Listed tokens the scorer would pair with ``token``, lowest weight first.

        Weight: the pair's aligned characters, as the score's numerator counts them.
        Not cached here: :meth:`NameIndex._reached` caches what it makes of them.
        """
        found = set(self._deletions.get(token, ()))
        for variant in deletions(token) | {token}:
            found.update(self._deletions.get(variant, ()))
            if variant in self._tokens:
                found.add(variant)
        if wide and len(token) > 2:  # a two-letter token has no useful sound or trigrams
            key = phonetic_key(token)
            found.update(self._phonetic.get(key, ()) if key else ())
            found.update(self._by_trigrams(token))
        close = process.extract(
            token, list(found), scorer=_indel, score_cutoff=_PAIR_FLOOR, limit=None
        )
        weighted = {v: s * (len(token) + len(v)) for v, s, _ in close if _short_pair_ok(token, v)}
        # Other romanisations of the same name, however unlike their letters ("qasim").
        for v in self._variants.get(name_variant(token) or "", ()):
            weighted[v] = _pair_sim(token, v) * (len(token) + len(v))
        # Ties (an exact token and a longer one can weigh the same) go to the exact one.
        return tuple(sorted(weighted.items(), key=lambda n: (n[1], n[0] == token, n[0])))

    def _by_trigrams(self, token: str) -> list[str]:
        grams = trigrams(token)
        size = len(token)
        get = self._trigrams.get
        keys = [f"{g}{n}" for n in range(max(1, size - 2), size + 3) for g in grams]
        shared = Counter(chain.from_iterable([get(k, ()) for k in keys]))
        # Dice coefficient on padded trigrams; a token of length n has at most n.
        need = _TRIGRAM_DICE * len(grams)
        return [t for t, n in shared.items() if 2 * n >= need + _TRIGRAM_DICE * len(t)]


class _LetterScan:
    """Some entries' names as unbroken letters, sorted by length, for a bounded
    compiled scan."""

    def __init__(self, texts: Iterable[tuple[str, int]]) -> None:
        by_length = sorted((len(text), text, e_id) for text, e_id in texts)
        self._lengths = [n for n, _, _ in by_length]
        self._texts = [text for _, text, _ in by_length]
        self._ids = [e_id for _, _, e_id in by_length]

    def alike(self, text: str, least: float = _JOINED_MIN) -> list[int]:
        """Ids of the entries whose text is at least ``least`` alike."""
        ratio = _shortest_share(least)
        lo = bisect.bisect_left(self._lengths, len(text) * ratio)
        hi = bisect.bisect_right(self._lengths, len(text) / ratio)
        found = process.extract(
            text, self._texts[lo:hi], scorer=_indel, score_cutoff=least, limit=None
        )
        return [self._ids[lo + i] for _, _, i in found]


class NameIndex:
    """Designated names, folded once, with lookup keys for fast candidate retrieval.

    Immutable after :meth:`build`; ``search`` may be called from several
    threads (its caches only ever hold recomputable values).
    """

    def __init__(self, parties: tuple[ListedParty, ...], entries: tuple[_Entry, ...]) -> None:
        self._parties = parties
        self._entries = entries
        self._results: dict[tuple[tuple[str, ...], str, float], tuple[_Scored, ...]] = {}
        self._reach: dict[tuple[str, bool], dict[int, tuple[str, float]]] = {}
        self._explanations: dict[tuple[str, int], Feature] = {}
        postings: dict[str, list[int]] = {}
        joined: set[str] = set()
        for e_id, entry in enumerate(entries):
            for token, single in _lookup_tokens(entry.form):
                postings.setdefault(token, []).append(e_id)
                if not single:
                    joined.add(token)
        self._postings = {t: tuple(ids) for t, ids in postings.items()}
        self._core_lengths = [e.form.core_total for e in entries]
        self._weights = [_WEIGHTS[e.matched_on] for e in entries]
        self._party_of = [e.party for e in entries]
        # Words many listed parties share ("mohammed", "omar", "kim"): a name made of
        # them only is the name of many people, on the list and off it.
        holders: dict[str, set[int]] = {}
        for entry in entries:
            for token in entry.form.core_tokens:
                holders.setdefault(token, set()).add(entry.party)
        least = max(_COMMON_MIN_PARTIES, _COMMON_SHARE * len(parties))
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
        self._vocabulary = _Vocabulary(singles, typo_only=joined - singles)
        # The fallback (see _letters_alike): every name's letters with its particles
        # and without them; and without them for the names that have particles.
        forms = [(e.form, e_id) for e_id, e in enumerate(entries)]
        self._letters = _LetterScan((f.letters, e_id) for f, e_id in forms)
        self._compacts = _LetterScan((f.compact, e_id) for f, e_id in forms)
        self._particle_compacts = _LetterScan(
            (f.compact, e_id) for f, e_id in forms if f.letters != f.compact
        )
        # Two or three listed words joined, which a query may write as one word wherever
        # its other words stand ("Makki Hafizabdulrehman" for HAFIZ ABDUL REHMAN MAKKI).
        self._joined_runs = _LetterScan(
            (run.word, e_id)
            for f, e_id in forms
            if len(f.tokens) <= _JOIN_MAX_TOKENS
            for run in _runs(f.tokens, f.core)
        )
        self._joined_reach: dict[str, tuple[int, ...]] = {}

    @classmethod
    def build(cls, parties: Iterable[ListedParty]) -> NameIndex:
        listed = tuple(parties)
        entries = [e for i, p in enumerate(listed) for e in _entries_of(i, p)]
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
    ) -> list[Candidate]:
        """Best-scoring parties for ``name``, score descending, at most ``limit``.

        ``country`` is an ISO alpha-2 code (or a country name), ``date_of_birth``
        ``YYYY-MM-DD`` or ``YYYY``, ``identifiers`` document numbers (passport,
        registration), ``party_type`` the record's party type ("armed_group"
        supports a listed entity's acronym); they only adjust scores. Never
        raises on arbitrary text: a name without distinctive tokens returns ``[]``.
        """
        form = name_form(name)
        identifiers = tuple(identifiers)
        least = _name_floor(floor, bool(date_of_birth), bool(identifiers))
        similar = self._similar(form, least)
        if identifiers:
            similar += self._documented(form, least, identifiers, similar)
        if not similar:
            return []  # most party names: nothing on the list is like them
        q = _query(form, country, date_of_birth, identifiers, party_type)
        return self._rank(q, similar, limit, floor)

    def _documented(
        self,
        form: NameForm,
        least: float,
        identifiers: Iterable[str],
        similar: Iterable[_Scored],
    ) -> tuple[_Scored, ...]:
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

    def _similar(self, form: NameForm, least: float) -> tuple[_Scored, ...]:
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
            if len(self._results) >= _RESULT_CACHE:
                self._results.clear()  # crude bound; a feed's working set refills it quickly
            retrieved = self._retrieve(form, least)
            seen = set(retrieved)
            fallback = [e for e in self._letters_alike(form) if e not in seen]
            cached = self._results[key] = tuple(
                self._score_names(form, least, retrieved + fallback)
            )
        return cached

    def _letters_alike(self, form: NameForm) -> list[int]:
        """Entries whose letters, spaces and particles aside, are near-identical to the query's.

        The recall-safe fallback: tokens can fail to meet where the letters do
        ("Sapporters of eslamic Law" for SUPPORTERS OF ISLAMIC LAW, whose words
        are generic and so have no keys; "Abdulasattar" for HAJI ABDUL SATAR,
        one word for two), and the scorer counts such letters where one of the
        names has particles or the two split the letters into different words
        (see :func:`name_similarity`): "al Shamsurrahman" for SHAMS-U-RAHMAN.
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
        # wherever the query's other words stand (see _joins).
        for token in form.tokens:
            if len(token) >= _JOIN_SCAN_MIN and token not in self._vocabulary:
                found += self._joined(token)
        return list(dict.fromkeys(found))

    def _joined(self, token: str) -> tuple[int, ...]:
        """Entries with two or three words that ``token`` writes as one; cached per token."""
        reached = self._joined_reach.get(token)
        if reached is None:
            if len(self._joined_reach) >= _REACH_CACHE:
                self._joined_reach.clear()  # crude bound; the working set refills quickly
            reached = self._joined_reach[token] = tuple(self._joined_runs.alike(token, _JOIN_MIN))
        return reached

    def _score_names(
        self, form: NameForm, least: float, entry_ids: Iterable[int]
    ) -> Iterator[_Scored]:
        """The entries whose weighted name score reaches ``least`` (see :func:`_name_floor`)."""
        if not form.core_tokens:
            return
        memo: dict[str, dict[str, float]] = {}
        for e_id in entry_ids:
            entry = self._entries[e_id]
            weight = _WEIGHTS[entry.matched_on]
            if _similarity_bound(form, entry) * weight < least:
                continue  # cheap and exact: lengths alone rule it out
            sim, loose = name_match(form, entry.form, partial=entry.person, memo=memo)
            if sim * weight >= least:
                yield e_id, sim, loose

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
    ) -> list[Candidate]:
        """As :meth:`search`, scoring every listed name: the recall baseline."""
        q = _query(name_form(name), country, date_of_birth, identifiers, party_type)
        least = _name_floor(floor, bool(date_of_birth), bool(q.identifiers))
        every = range(len(self._entries))
        return self._rank(q, self._score_names(q.form, least, every), limit, floor)

    # retrieval

    def _retrieve(self, q: NameForm, least: float) -> list[int]:
        """Ids of the entries most likely to score well, at most _CANDIDATE_CAP, and at
        most _NAMES_PER_PARTY of one party.

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
        lookups = _lookup_tokens(q)
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
        # whose "salman" no key of "salah" reaches, at 0.35 of a 0.82 score. In
        # every comparison with brute force we ran it kept more than this share.
        # It can also overshoot: two query tokens may reach one listed token ("Mohamud
        # Mohamed" reaches MOHAMMAD twice), where the scorer pairs each token once.
        # However paired, aligned characters never exceed twice the shorter side.
        lowest = least * _ESTIMATE_SHARE
        ranked = [
            (estimate, -e)
            for e, a in aligned.items()
            if (estimate := min(a, 2 * min(size, lengths[e])) * weights[e] / (size + lengths[e]))
            >= lowest
        ]
        if len(ranked) > _CANDIDATE_CAP:
            # The best-estimated names, at most _NAMES_PER_PARTY of one party: the many
            # aliases of a few parties (the al-Tikriti brothers) must not crowd out
            # another party of the same name.
            ranked.sort(reverse=True)
            party_of = self._party_of
            taken: Counter[int] = Counter()
            kept = []
            for estimate, e in ranked:
                party = party_of[-e]
                if taken[party] < _NAMES_PER_PARTY:
                    taken[party] += 1
                    kept.append((estimate, e))
                    if len(kept) == _CANDIDATE_CAP:
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
            if len(self._reach) >= _REACH_CACHE:
                self._reach.clear()  # crude bound; the working set refills quickly
            self._reach[key] = reached
        return reached

    # scoring

    def _is_common(self, form: NameForm) -> bool:
        return bool(form.core_tokens) and all(t in self._common for t in form.core_tokens)

    def _rank(
        self, q: _Query, similar: Iterable[_Scored], limit: int, floor: float
    ) -> list[Candidate]:
        """Apply country, date of birth, documents and party type; keep each party's
        best, at or above ``floor``."""
        best: dict[int, _Hit] = {}  # by party
        support: dict[int, _Support] = {}
        ceiling = _ceiling(q)
        q_common = self._is_common(q.form)
        for e_id, sim, loose in similar:
            entry = self._entries[e_id]
            # Many people share a common name; organisations' names are weighed by
            # their generic words instead.
            common = entry.person and (q_common or self._common_entry[e_id])
            if _adjust(q, sim, entry, ceiling, common, loose) < floor:
                continue  # not even a matching country and date of birth would lift it
            if entry.party not in support:
                support[entry.party] = _support(q, self._parties[entry.party])
            score = _adjust(q, sim, entry, support[entry.party], common, loose)
            hit = _Hit(score, sim, e_id, entry, common, loose)
            held = best.get(entry.party)
            if held is None or hit.preference > held.preference:
                best[entry.party] = hit
        hits = sorted(
            (h for h in best.values() if h.score >= floor),
            # Capped scores tie: a closely paired name first, then the closer name.
            key=lambda h: (
                -h.score,
                h.loose,
                -h.sim,
                self._parties[h.entry.party].reference_number,
            ),
        )
        return [self._candidate(q, h, support[h.entry.party]) for h in hits[: max(limit, 0)]]

    def _candidate(self, q: _Query, hit: _Hit, support: _Support) -> Candidate:
        entry, score = hit.entry, hit.score
        party = self._parties[entry.party]
        features = [
            self._explain_name(q.form, hit),
            *_explain_kind(entry),
            *support.features(hit.sim * _WEIGHTS[entry.matched_on]),
        ]
        capped = score == WEAK_ALIAS_CAP
        cap = f"cap {WEAK_ALIAS_CAP:.2f}"
        if entry.form.generic or q.form.generic:
            features.append(("generic_name", cap if capped else "supported", _GENERIC_RULE))
        elif capped:
            # Every rule that held this name back, given what supports it.
            lifted = _lifted(entry, support)
            rules = [
                ("weak_alias", entry.matched_on == "weak_alias", _WEAK_RULE),
                ("thin_name", (entry.thin or q.form.short) and not support.positive, _THIN_RULE),
                ("common_name", hit.common and not lifted, _COMMON_RULE),
                ("loose_words", hit.loose and not lifted, _LOOSE_RULE),
            ]
            features += [(name, cap, rule) for name, applies, rule in rules if applies]
        return Candidate(
            reference_number=party.reference_number,
            name=party.name,
            matched_name=entry.text,
            matched_on=entry.matched_on,
            score=score,
            features=tuple(features),
            listed_on=party.listed_on,
            list_type=party.list_type,
        )

    def _explain_name(self, q: NameForm, hit: _Hit) -> Feature:
        """The module's :func:`_explain_name`, cached per query spelling and entry.

        A party that matches once is usually named again, spelled the same way.
        The folded query fixes its tokens and the entry id the listed name, so
        together they fix the alignment and the similarity being explained.
        """
        key = (q.folded, hit.e_id)
        feature = self._explanations.get(key)
        if feature is None:
            if len(self._explanations) >= _EXPLANATION_CACHE:
                self._explanations.clear()  # crude bound; the working set refills it
            feature = self._explanations[key] = _explain_name(q, hit)
        return feature


_WEAK_RULE = "a nickname needs an exact match and a matching date of birth or document"
_GENERIC_RULE = "a name of generic words only counts with a matching country or date of birth"
_THIN_RULE = "a single short word or single name needs a matching country or date of birth"
_COMMON_RULE = (
    "every word of the name is common among listed names: a match needs a matching date of "
    "birth or document"
)
_LOOSE_RULE = (
    "a distinctive word pairs with a different listed word only loosely: a match needs a "
    "matching date of birth or document"
)


@dataclass(frozen=True, slots=True)
class _Support:
    """What the query's country, date of birth and identifiers say about one party."""

    country: tuple[float, Feature] | None
    dob: tuple[float, Feature] | None
    identifier: tuple[float, Feature] | None = None
    kind: Feature | None = None  # an armed group, as the listed entity is; adds nothing

    @property
    def positive(self) -> bool:
        """Anything agrees, a country or the kind of party included."""
        return (
            self.strong
            or self.kind is not None
            or (self.country is not None and self.country[0] > 0)
        )

    @property
    def contradicted(self) -> bool:
        """The party's listed countries do not include the query's."""
        return self.country is not None and self.country[0] <= 0

    @property
    def strong(self) -> bool:
        """Something only this party shares agrees: a date of birth or a document number."""
        return any(f is not None and f[0] > 0 for f in (self.dob, self.identifier))

    def delta(self, name_score: float) -> float:
        """What support adds to a name scoring ``name_score`` before it.

        A country corroborates a close name but cannot make a distant one close;
        a contradicting country always counts.
        """
        out = sum(f[0] for f in (self.dob, self.identifier) if f is not None)
        if self.country is not None and (self.country[0] <= 0 or name_score >= COUNTRY_NEEDS):
            out += self.country[0]
        return out

    def features(self, name_score: float) -> list[Feature]:
        """The features as applied to a name scoring ``name_score`` before support."""
        out = []
        if self.country is not None:
            feature = self.country[1]
            if self.country[0] > 0 and name_score < COUNTRY_NEEDS:
                feature = (feature[0], "0", f"{feature[2]}; the name is too far for it to count")
            out.append(feature)
        out += [f[1] for f in (self.dob, self.identifier) if f is not None]
        return out + ([self.kind] if self.kind else [])


def _support(q: _Query, party: ListedParty) -> _Support:
    kind = None
    if q.armed_group and party.kind is PartyKind.ENTITY:
        kind = ("party_type", "0", "declared an armed group; the listed party is an entity")
    return _Support(
        _country_feature(party, q.country),
        _dob_feature(party, q),
        _identifier_feature(party, q),
        kind,
    )


_CEILING: Feature = ("ceiling", "", "the most the query's other facts can add")


def _ceiling(q: _Query) -> _Support:
    """What the query's country, date of birth, documents and party type would add at
    best: all of them matching.

    :func:`_adjust` never scores an entry higher with less support, so an entry
    below the floor with this support is below it with the party's real one.
    """
    return _Support(
        (COUNTRY_SUPPORT, _CEILING) if q.country is not None else None,
        (DOB_EXACT, _CEILING) if q.dob_year is not None else None,
        (IDENTIFIER_SUPPORT, _CEILING) if q.identifiers else None,
        _CEILING if q.armed_group else None,
    )


def _lifted(entry: _Entry, support: _Support) -> bool:
    """Whether support lifts the cap on a common or loosely paired name: for a person, a
    date of birth or document only this party shares; for an organisation, which has no
    date of birth, anything that agrees (a country, a document, a declared armed group)."""
    return support.strong if entry.person else support.positive


def _adjust(
    q: _Query,
    sim: float,
    entry: _Entry,
    support: _Support,
    common: bool = False,
    loose: bool = False,
) -> float:
    """The candidate score of ``entry`` for a name similarity ``sim``.

    Weak names never make a match alone: a name of generic words only ("Ministry
    of National Defence"), one short word ("RGB"), an individual's single name.
    Unless something else about the party agrees, such a name is dropped when
    the party's listed countries are not the query's (or, for generic words,
    when it is two words), and is at most a near miss otherwise. A short word
    must be spelt exactly. A ``common`` name (every word one that many listed
    parties share: "Mohammed Omar"), a ``loose`` one (see :func:`name_match`) and a
    nickname need a date of birth or a document number to be more than a near
    miss (an organisation's name: anything that agrees, see :func:`_lifted`).
    """
    generic = entry.form.generic or q.form.generic
    short = entry.form.short or q.form.short
    if short and sim < 1.0:
        return 0.0  # "FACA" is not "FOCA"
    weak = (generic or short or entry.thin) and not support.positive
    if weak and (support.contradicted or (generic and len(q.form.tokens) <= 2)):
        return 0.0  # "RGB Ltd" of the United Kingdom; any "Ministry of Defence"
    on = entry.matched_on
    score = sim * _WEIGHTS[on]
    score = min(1.0, max(0.0, score + support.delta(score)))
    if on == "weak_alias" and not (sim == 1.0 and support.strong):
        score = min(score, WEAK_ALIAS_CAP)
    if weak or ((common or loose) and not _lifted(entry, support)):
        score = min(score, WEAK_ALIAS_CAP)
    return round(score, 6)


def _explain_name(q: NameForm, hit: _Hit) -> Feature:
    entry = hit.entry
    match = _match(q, entry.form, entry.person, None)
    detail = f"{q.folded!r} ~ {entry.form.folded!r}"
    if match.rule != "words":
        how = "without spaces" if match.rule == "spaces" else "with particles"
        return ("name_similarity", f"={hit.sim:.3f}", f"{detail}; the letters compared {how}")
    qf, nf, pairs = match.q, match.n, match.pairs
    missing_q = [t for i, t in enumerate(qf.tokens) if all(p[1] != i for p in pairs)]
    missing_n = [t for j, t in enumerate(nf.tokens) if all(p[2] != j for p in pairs)]
    for side, words, word in match.joins:
        detail += f"; {side} words {' '.join(words)!r} read as one, {word!r}"
    if missing_q or missing_n:
        detail += f"; unmatched query {missing_q or '-'}, list {missing_n or '-'}"
    return ("name_similarity", f"={hit.sim:.3f}", detail)


def _explain_kind(entry: _Entry) -> list[Feature]:
    weight = _WEIGHTS[entry.matched_on]
    if entry.matched_on == "weak_alias":
        return [("weak_alias", f"x{weight:.2f}", "low-quality alias (nickname)")]
    if entry.matched_on == "former_name":
        return [("former_name", f"x{weight:.2f}", "former name (f.k.a.)")]
    return []
