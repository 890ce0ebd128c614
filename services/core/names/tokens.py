"""How alike two folded tokens are: the similarity every pair of words is scored by."""

from __future__ import annotations

from rapidfuzz.distance import OSA, Indel

from services.core.name_normalisation import name_variant
from services.core.names.tuning import (
    PAIR_FLOOR,
    SHORT_TOKEN,
    SHORT_WORD,
    SUFFIX_LETTERS,
    SUFFIX_STEM,
    VARIANT_PAIR,
)

#: Token pairs as aligned: similarity, query position, listed position.
Pairs = list[tuple[float, int, int]]

indel = Indel.normalized_similarity
_osa = OSA.distance  # edits, a transposition being one

#: Endings that a great many Arabic and Persian given names share ("Saifullah",
#: "Atiqullah"; "Nooruddin", "Salahuddin"): where both tokens have one, the
#: letters before it must pair too.
_SHARED_ENDINGS = ("ullah", "allah", "uddin", "eddine", "eddin", "uddeen")
_ENDING_TAILS = frozenset(e[-4:] for e in _SHARED_ENDINGS)  # a cheap first test

#: First-letter sound classes: vowels and h, w, y open alike ("Osama", "Usama"),
#: and so do consonants of one class ("Kassem", "Qasim"; "Gamal", "Jamal").
_ONSET = str.maketrans("aeiouyhwbfpvcgjkqsxzdtlmnr", "00000000111122222222334556")
#: Two-letter openings that romanise a sound also written otherwise ("Dhia", "Zia";
#: "Dzhalaluddin", "Djalaluddin", "Jalaluddin"; "Khussain", "Hussain"; "Tchaudhri",
#: "Chaudhri"; "Tsang", "Sang").
_DIGRAPHS = {"dh": "z", "dj": "j", "dz": "j", "kh": "h", "tc": "c", "ts": "s"}


def length_bound(m: int, n: int) -> float:
    """The most Indel similarity two strings of lengths ``m`` and ``n`` can have: twice
    their longest common subsequence, at most twice the shorter, over both lengths."""
    return 2 * min(m, n) / (m + n) if m + n else 0.0


def shortest_share(least: float) -> float:
    """The share of the longer string the shorter must have for an Indel similarity of
    ``least`` (the inverse of :func:`length_bound`)."""
    return least / (2 - least)


def pair_sim(a: str, b: str) -> float:
    """Similarity of two tokens in [0, 1]; 0 below PAIR_FLOOR."""
    if a == b:
        return 1.0
    variant = name_variant(a)
    if variant is not None and variant == name_variant(b):
        # Two romanisations of one name ("Kassem", "Qasim"): at least a slip apart,
        # within what their lengths allow (see similarity_bound).
        return max(indel(a, b), min(VARIANT_PAIR, length_bound(len(a), len(b))))
    if not short_pair_ok(a, b):
        return 0.0
    if a[-4:] not in _ENDING_TAILS or b[-4:] not in _ENDING_TAILS:
        return indel(a, b, score_cutoff=PAIR_FLOOR)
    for ending in _SHARED_ENDINGS:
        if a.endswith(ending) and b.endswith(ending):
            cut = len(ending)
            if not indel(a[:-cut], b[:-cut], score_cutoff=PAIR_FLOOR):
                return 0.0  # "Saifullah" is not "Atiqullah"
            break
    return indel(a, b, score_cutoff=PAIR_FLOOR)


def short_pair_ok(a: str, b: str) -> bool:
    """A token of one or two letters ("Un", "Bo") pairs only with a one-letter variant.

    Indel similarity flatters short tokens: "un" shares 0.67 with "jung", which
    would make "Kim Jong Un" a match for KIM JUNG JONG.
    """
    return min(len(a), len(b)) > SHORT_TOKEN or abs(len(a) - len(b)) <= 1


def onsets_differ(a: str, b: str) -> bool:
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


def suffixed(a: str, b: str) -> bool:
    """One word is the other with a letter or two added at its end ("Renelle" for Renel,
    "Wilsons" for Wilson, "Ahmadi" for Ahmad): another given name or a family name made
    from it, unless the two are listed as one name's romanisations ("Idriss", "Idris")."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < SUFFIX_STEM or not 0 < len(long) - len(short) <= SUFFIX_LETTERS:
        return False
    if not long.startswith(short) or not long.isascii():
        return False
    variant = name_variant(a)
    return variant is None or variant != name_variant(b)


#: Consonants that romanise one sound, so that trading them is no other name ("Ahmad",
#: "Ahmat"; "Habib", "Habip"; "Aziz", "Asis"): k/q/c, s/z, d/t, b/p, f/p/v, v/w, g/j.
_ALIKE_CONSONANTS = frozenset(
    frozenset(p) for p in ("kq", "kc", "qc", "sz", "dt", "bp", "fp", "fv", "pv", "vw", "gj")
)
_CONSONANTS = frozenset("bcdfghjklmnpqrstvwxz")


def consonant_changed(a: str, b: str) -> bool:
    """Two short words of one length that differ in one consonant only, not two ways of
    writing one sound ("Patel" for Patek, "Ahmad" for Akmad): too short for the change to
    be told from another name, unless listed as one name's romanisations."""
    if len(a) != len(b) or not SUFFIX_STEM < len(a) <= SHORT_WORD or not (a + b).isascii():
        return False
    changed = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    if len(changed) != 1:
        return False
    x, y = changed[0]
    if x not in _CONSONANTS or y not in _CONSONANTS or frozenset((x, y)) in _ALIKE_CONSONANTS:
        return False
    variant = name_variant(a)
    return variant is None or variant != name_variant(b)


def _openings(token: str) -> frozenset[str]:
    """The sound classes ``token`` may open with (see _ONSET, _DIGRAPHS)."""
    first = token[:1].translate(_ONSET)
    other = _DIGRAPHS.get(token[:2])
    return frozenset((first, other.translate(_ONSET))) if other else frozenset(first)
