"""How alike two folded names are: their tokens paired one to one, order-free.

A name's similarity is the share of aligned characters between the two names'
tokens, the lower of all tokens and the distinctive (core) ones: generic words
such as "Trading" count against a match but never for one. Where that falls
short, the letters without spaces or with particles may decide.
"""

from __future__ import annotations

from typing import NamedTuple

from services.core.name_normalisation import NameForm
from services.core.names.entries import Entry
from services.core.names.joins import Join, joined_pair_loose, rejoined
from services.core.names.tokens import (
    Pairs,
    consonant_changed,
    indel,
    length_bound,
    onsets_differ,
    pair_sim,
    suffixed,
)
from services.core.names.tuning import (
    JOIN_MAX_TOKENS,
    JOINED_MIN,
    LEFT_OUT_WEIGHT,
    PARTIAL_MIN_WORDS,
    SUBSET_PAIR,
)


class Comparison(NamedTuple):
    """Two names compared: the similarity, and what made it."""

    sim: float  # in [0, 1]
    #: Two distinctive words paired though they differ by more than a slip ("Nabi" and
    #: "Naim", "Rahimi" and "Ahmadi"), so that the rest of the name, often a name many
    #: people carry ("Mohammad"), makes the score: another person's as often as not.
    loose: bool
    q: NameForm  # the forms paired: as written, or with some words joined
    n: NameForm
    pairs: Pairs
    joins: tuple[Join, ...] = ()
    #: "words": the pairs make the score; "spaces": the letters without spaces do (the
    #: words break at other places); "particles": the letters with particles do.
    rule: str = "words"
    #: A person's names that pair only some of their distinctive words: a listed name part
    #: the query leaves out, or a name part the list does not give ("Mohammad Rahimi" for
    #: YAR MOHAMMAD RAHIMI, "Thomas Lubanga Dyilo" for THOMAS LUBANGA).
    part: bool = False


def compare_names(
    q: NameForm,
    n: NameForm,
    *,
    partial: bool = False,
    memo: dict[str, dict[str, float]] | None = None,
) -> Comparison:
    """Similarity of two folded names in [0, 1], 0 unless their core tokens meet; whether
    it is loose; and the pairs, joins and rule that decided it.

    ``partial`` (for individuals) lets a query leave out some of the listed name parts.
    ``memo`` caches token similarities across the names one query is compared with.
    """
    if not q.core_tokens or not n.core_tokens:
        return Comparison(0.0, False, q, n, [])
    match = _by_words(q, n, partial, memo)
    if match.sim < 1.0 and (unspaced := _unspaced(q, n, match.sim)):
        match = match._replace(sim=unspaced[0], loose=unspaced[1], rule="spaces", part=False)
    if match.sim < 1.0 and (q.letters != q.compact or n.letters != n.compact):
        # "Alshabaab" / "AL-SHABAAB": a particle written as part of the word.
        joined = indel(q.letters, n.letters)
        if joined >= JOINED_MIN and joined > match.sim:
            match = match._replace(sim=joined, loose=False, rule="particles", part=False)
    return match


def _by_words(
    q: NameForm, n: NameForm, partial: bool, memo: dict[str, dict[str, float]] | None
) -> Comparison:
    """The token score (:func:`_aligned_share`) and loose flag, with the forms and
    pairs that make it: the names as written or, where that scores higher, with the
    words one splits and the other writes as one word joined ("Abdul Rahman",
    "Abdulrahman"). The joined word pairs as one token and the others as before, so
    "Abdulrahman Ahmed" does not borrow the letters "ahmed" shares with ZAHED. Words
    joined less than JOINED_MIN alike ("Dongmyong" for TONG MYONG) pair loosely.
    """
    pairs = _align(q.tokens, n.tokens, memo)
    sim, loose, part = _aligned_share(q, n, pairs, partial)
    if (
        sim < 1.0
        and len(q.tokens) != len(n.tokens)
        and max(len(q.tokens), len(n.tokens)) <= JOIN_MAX_TOKENS
        and (joined := rejoined(q, n, pairs))
    ):
        qj, nj, q_runs, n_runs, joins = joined
        joined_pairs = _align(qj.tokens, nj.tokens, memo)
        joined_sim, joined_loose, joined_part = _aligned_share(qj, nj, joined_pairs, partial)
        if joined_sim > sim and qj.core_tokens and nj.core_tokens:
            loose = joined_loose or any(
                joined_pair_loose(s, q_runs.get(i), qj.tokens[i], n_runs.get(j), nj.tokens[j])
                for s, i, j in joined_pairs
            )
            return Comparison(joined_sim, loose, qj, nj, joined_pairs, joins, part=joined_part)
    return Comparison(sim, loose, q, n, pairs, part=part)


def _align(
    q: tuple[str, ...], n: tuple[str, ...], memo: dict[str, dict[str, float]] | None = None
) -> Pairs:
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
                s = row[b] = pair_sim(a, b)
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
    q: NameForm, n: NameForm, pairs: Pairs, partial: bool
) -> tuple[float, bool, bool]:
    """Share of aligned characters (length-weighted), the lower of all and core tokens;
    whether two distinctive words are paired only loosely (see Comparison.loose); and,
    for a person (``partial``), whether a distinctive word of either name has no pair
    (see Comparison.part)."""
    q_core, n_core, q_len, n_len = q.core, n.core, q.lengths, n.lengths
    q_tokens, n_tokens = q.tokens, n.tokens
    num = core_num = 0.0
    paired = core_paired = 0  # bit masks of the list tokens paired
    q_core_paired = n_core_paired = 0  # distinctive words in a pair, of either name
    demoted = 0  # characters of misspelt generic words, which are no core tokens
    close = True
    loose = False
    for s, i, j in pairs:
        aligned = s * (q_len[i] + n_len[j])
        num += aligned
        paired |= 1 << j
        q_core_paired += q_core[i]
        n_core_paired += n_core[j]
        if q_core[i] and n_core[j]:
            core_num += aligned
            core_paired |= 1 << j
            loose = loose or s < SUBSET_PAIR or (s < 1.0 and _other_name(q_tokens[i], n_tokens[j]))
        elif q_core[i] != n_core[j] and s >= SUBSET_PAIR:
            # "Deartment" is no word the folding knows, but it is "Department":
            # generic on both sides, as the correctly spelt word would be.
            demoted += q_len[i] if q_core[i] else n_len[j]
            core_paired |= 1 << j
        close = close and s >= SUBSET_PAIR
    den = float(q.total + n.total)
    core_den = float(q.core_total + n.core_total - demoted)
    # A query naming two or more parts of a person's name, all of them present,
    # is not contradicted by the list's extra parts (a third given name): they
    # weigh less. An organisation's extra words do count ("Korea Trading Bank").
    if partial and close and len(pairs) == len(q_len) and len(q.core_tokens) >= PARTIAL_MIN_WORDS:
        for j, length in enumerate(n_len):
            if n_core[j] and not (paired >> j) & 1:
                den -= (1 - LEFT_OUT_WEIGHT) * length
            if n_core[j] and not (core_paired >> j) & 1:
                core_den -= (1 - LEFT_OUT_WEIGHT) * length
    share = min(num / den if den else 0.0, core_num / core_den if core_den else 0.0)
    part = partial and (q_core_paired < len(q.core_tokens) or n_core_paired < len(n.core_tokens))
    return share, loose, part


def _other_name(a: str, b: str) -> bool:
    """Two distinctive words, not the same, that are likely other names however alike:
    they open with different sounds, one is the other with a letter or two added, or
    short, they differ in one consonant."""
    return onsets_differ(a, b) or suffixed(a, b) or consonant_changed(a, b)


def _unspaced(q: NameForm, n: NameForm, sim: float) -> tuple[float, bool] | None:
    """The names' letters without spaces, where they are near-identical and closer than
    ``sim``: the words break at other places ("Sha Msurrahman", "Mohammedomarghulamnabi").
    Loose unless the letters are the same: "Abdulrahman Ahmed" and ABDUL RAHMAN ZAHED
    share 0.94 of them, but Ahmed is not Zahed.
    """
    if len(q.tokens) == len(n.tokens):
        return None
    if length_bound(len(q.compact), len(n.compact)) < JOINED_MIN:
        return None
    joined = min(indel(q.compact, n.compact), indel(q.core_compact, n.core_compact))
    if joined < JOINED_MIN or joined <= sim + 1e-9:  # the same letters, summed otherwise
        return None
    return joined, q.compact != n.compact and q.core_compact != n.core_compact


def similarity_bound(q: NameForm, entry: Entry) -> float:
    """Upper bound of :func:`compare_names` from lengths alone.

    Indel similarity times the two lengths is twice their longest common
    subsequence, so aligned characters never exceed 2 * min(Q, N); the
    denominator is at least Q + N, or Q + w*N when list name parts may be left out.
    Where either name has particles, the letters rule compares the letters with
    them, whose lengths bound it the same way.
    """
    size_q, size_n = q.total, entry.form.total
    partial = entry.person and len(q.core_tokens) >= PARTIAL_MIN_WORDS
    den = size_q + (LEFT_OUT_WEIGHT * size_n if partial else size_n)
    bound = 2 * min(size_q, size_n) / den if den else 0.0
    n = entry.form
    if q.letters != q.compact or n.letters != n.compact:
        # The letters rule compares the letters with their particles: longer strings.
        bound = max(bound, length_bound(len(q.letters), len(n.letters)))
    return bound
