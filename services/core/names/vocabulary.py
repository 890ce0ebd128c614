"""The keys retrieval reaches listed names by: fuzzy token keys and letter scans."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from itertools import chain, pairwise

from rapidfuzz import process

from services.core.name_normalisation import (
    NameForm,
    deletions,
    name_variant,
    phonetic_key,
    trigrams,
)
from services.core.names.tokens import indel, pair_sim, short_pair_ok, shortest_share
from services.core.names.tuning import (
    JOINED_MIN,
    PAIR_FLOOR,
    SOUND_KEY_MIN,
    TRIGRAM_DICE,
    TRIGRAM_LENGTHS,
)


def lookup_tokens(form: NameForm) -> list[tuple[str, bool]]:
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


class Vocabulary:
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
        Not cached here: the index caches what it makes of them.
        """
        found = set(self._deletions.get(token, ()))
        for variant in deletions(token) | {token}:
            found.update(self._deletions.get(variant, ()))
            if variant in self._tokens:
                found.add(variant)
        if wide and len(token) >= SOUND_KEY_MIN:
            key = phonetic_key(token)
            found.update(self._phonetic.get(key, ()) if key else ())
            found.update(self._by_trigrams(token))
        close = process.extract(
            token, list(found), scorer=indel, score_cutoff=PAIR_FLOOR, limit=None
        )
        weighted = {v: s * (len(token) + len(v)) for v, s, _ in close if short_pair_ok(token, v)}
        # Other romanisations of the same name, however unlike their letters ("qasim").
        for v in self._variants.get(name_variant(token) or "", ()):
            weighted[v] = pair_sim(token, v) * (len(token) + len(v))
        # Ties (an exact token and a longer one can weigh the same) go to the exact one.
        return tuple(sorted(weighted.items(), key=lambda n: (n[1], n[0] == token, n[0])))

    def _by_trigrams(self, token: str) -> list[str]:
        grams = trigrams(token)
        size = len(token)
        get = self._trigrams.get
        lengths = range(max(1, size - TRIGRAM_LENGTHS), size + TRIGRAM_LENGTHS + 1)
        keys = [f"{g}{n}" for n in lengths for g in grams]
        shared = Counter(chain.from_iterable([get(k, ()) for k in keys]))
        # Dice coefficient on padded trigrams; a token of length n has at most n.
        need = TRIGRAM_DICE * len(grams)
        return [t for t, n in shared.items() if 2 * n >= need + TRIGRAM_DICE * len(t)]


class LetterScan:
    """Some entries' names as unbroken letters, sorted by length, for a bounded
    compiled scan."""

    def __init__(self, texts: Iterable[tuple[str, int]]) -> None:
        by_length = sorted((len(text), text, e_id) for text, e_id in texts)
        self._lengths = [n for n, _, _ in by_length]
        self._texts = [text for _, text, _ in by_length]
        self._ids = [e_id for _, _, e_id in by_length]

    def alike(self, text: str, least: float = JOINED_MIN) -> list[int]:
        """Ids of the entries whose text is at least ``least`` alike."""
        ratio = shortest_share(least)
        lo = bisect.bisect_left(self._lengths, len(text) * ratio)
        hi = bisect.bisect_right(self._lengths, len(text) / ratio)
        found = process.extract(
            text, self._texts[lo:hi], scorer=indel, score_cutoff=least, limit=None
        )
        return [self._ids[lo + i] for _, _, i in found]
