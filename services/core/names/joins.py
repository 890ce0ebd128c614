"""Words one name splits and the other writes as one ("Abdul Rahman", "Abdulrahman")."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import lru_cache
from typing import NamedTuple

from services.core.name_normalisation import GENERIC, NameForm
from services.core.names.tokens import Pairs, indel, length_bound, onsets_differ, shortest_share
from services.core.names.tuning import JOIN_MIN, JOINED_MIN, RUNS_CACHE, SHORT_TOKEN, SUBSET_PAIR

#: Words one name writes as one: which side ("query", "list"), its words, and the word.
Join = tuple[str, tuple[str, ...], str]


class Run(NamedTuple):
    """Two or three adjacent tokens [start, end) of a name, written as one word."""

    start: int
    end: int
    words: tuple[str, ...]
    word: str
    core: bool  # distinctive, unless all its words are generic or it is a generic word
    #: Distinctive and generic words together ("Daesong Trading"): the generic word's
    #: letters would hide how the distinctive ones differ, so such a run joins only exactly.
    mixed: bool


class Rejoined(NamedTuple):
    """Two names with some words joined, each with its runs by their position in it."""

    q: NameForm
    n: NameForm
    q_runs: dict[int, Run]
    n_runs: dict[int, Run]
    joins: tuple[Join, ...]


@lru_cache(maxsize=RUNS_CACHE)
def runs(tokens: tuple[str, ...], core: tuple[bool, ...]) -> tuple[Run, ...]:
    """Every run of two or three adjacent tokens, shortest first. A single letter, an
    initial, is neither distinctive nor generic: "Shams-u-Rahman" is one word joined."""
    generic = [not c and len(t) > 1 for t, c in zip(tokens, core, strict=True)]
    found = []
    for i in range(len(tokens) - 1):
        for k in range(i + 2, min(i + 3, len(tokens)) + 1):
            word = "".join(tokens[i:k])
            kinds = set(generic[i:k])
            distinctive = any(core[i:k]) and word not in GENERIC
            found.append(Run(i, k, tokens[i:k], word, distinctive, len(kinds) > 1))
    return tuple(sorted(found, key=lambda run: len(run.word)))  # shortest first: see _joins


_JOIN_LENGTHS = shortest_share(JOIN_MIN)


def _joins(a: NameForm, b: NameForm) -> Iterator[tuple[float, Run, int]]:
    """Runs of ``a`` whose letters are one token of ``b`` at least JOIN_MIN alike, of the
    same kind (distinctive or generic): (similarity, the run, that token)."""
    longest = max(b.lengths)
    for run in runs(a.tokens, a.core):
        size = len(run.word)
        if size * _JOIN_LENGTHS > longest:
            break  # this run and the longer ones after it: longer than any token of b pairs with
        for j, token in enumerate(b.tokens):
            if (
                run.core == b.core[j]
                and length_bound(size, b.lengths[j]) >= JOIN_MIN
                and (s := indel(run.word, token, score_cutoff=JOIN_MIN))
            ):
                yield s, run, j


def rejoined(q: NameForm, n: NameForm, pairs: Pairs) -> Rejoined | None:
    """``q`` and ``n`` with the words one of them splits and the other writes as one
    word ("abdul rahman", "abdulrahman") joined; None if there are none. Most alike
    first; each token joins or takes a run once. A run of distinctive and generic words
    joins only exactly: the letters of "trading" would hide that HWASONG is not HESONG.
    Words that ``pairs`` (the names as written) pair exactly stay as they are:
    "Sulaiman Ali" is not the second SULAIMAN of SULAIMAN JASSEM SULAIMAN ALI.
    """
    exact = ({i for s, i, _ in pairs if s >= 1.0}, {j for s, _, j in pairs if s >= 1.0})

    def free(side: int, run: Run, j: int) -> bool:
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
    chosen: tuple[list[Run], list[Run]] = ([], [])
    joins: list[Join] = []
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
    return Rejoined(qj, nj, q_runs, n_runs, tuple(joins))


def _join_runs(form: NameForm, chosen: Iterable[Run]) -> tuple[NameForm, dict[int, Run]]:
    """``form`` with each run's tokens written as one token, and the runs by their
    position in it."""
    by_start = {run.start: run for run in chosen}
    if not by_start:
        return form, {}
    tokens: list[str] = []
    core: list[bool] = []
    at: dict[int, Run] = {}
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


def joined_pair_loose(
    s: float, q_run: Run | None, q_token: str, n_run: Run | None, n_token: str
) -> bool:
    """Whether a pair of the rejoined names, one of them a run of words written as one,
    pairs only loosely: less than JOINED_MIN alike, or, cut where the run's words meet,
    one of its words pairs loosely with its piece ("Mohammadamin" is MOHAMMAD AMAN only
    as loosely as Amin is Aman, however alike the long words are)."""
    if s >= 1.0 or (q_run is None and n_run is None):
        return False
    if s < JOINED_MIN:
        return True
    if q_run is not None and n_run is not None:
        return False  # both written as one: the letters are all there is to compare
    if q_run is not None:
        return _pieces_loose(q_run.words, n_token)
    return n_run is not None and _pieces_loose(n_run.words, q_token)


def _pieces_loose(words: tuple[str, ...], token: str) -> bool:
    """``token`` cut into as many pieces as ``words`` where they align best; whether a
    word of three letters or more pairs only loosely with its piece (see
    services.core.names.alignment, onsets_differ)."""
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
        sims = [indel(w, piece) for w, piece in zip(words, pieces, strict=True)]
        aligned = round(
            sum(sim * (len(w) + len(pc)) for sim, w, pc in zip(sims, words, pieces, strict=True)),
            9,
        )
        if (aligned, min(sims)) > best[:2]:
            best = (aligned, min(sims), list(zip(sims, pieces, strict=True)))
    return any(
        len(w) > SHORT_TOKEN and (sim < SUBSET_PAIR or (sim < 1.0 and onsets_differ(w, piece)))
        for w, (sim, piece) in zip(words, best[2], strict=True)
    )
