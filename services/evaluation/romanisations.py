"""Listed Arabic names written another way, and how many of them screening still finds.

The Consolidated List mostly romanises Arabic names the English way ("ABD AL-QADIR",
"MUHAMMAD", "YUSUF"); records from the Maghreb and francophone Africa write them the
French way ("Abdelkader", "Mohamed", "Youssef"), and some records write them in Arabic
script, which a damaged list file may have lost. Three samples, each query with the
listed party it names:

* ``french``: every Latin name and Good alias of a party the 2024 list gives an
  Arabic-script name for, rewritten by the rules of French and Maghrebi romanisation
  (:data:`RULES`), each rule drawn at random;
* ``listed``: the list's own French-style aliases of such parties, each queried against
  an index without it (the party's other names must find it);
* ``script``: the list's own Arabic-script names, queried against an index without any
  original-script name (as the damaged 2025 file is).

:func:`sweep` screens every query with the index and with the brute-force scorer and
counts, for each, how often the named party is a match, a near miss or missed, where
the two disagree, and how often another party matches. Run the sweep with
``.venv/bin/python -m services.evaluation.romanisations [--per-name N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from services.core.names import DEFAULT_THRESHOLD, NEAR_MISS_FLOOR, NameIndex, NameMatch
from services.core.resources import data_path
from services.core.sanctions_list import AliasQuality, ListedParty
from services.core.un_xml import parse_list

LIST_2024 = "un-consolidated-2024-09-26.xml"
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3]")

# --- French and Maghrebi romanisation, one rule at a time ------------------------------

_SUN = ("th", "sh", "dh", "t", "d", "r", "z", "s", "n")


def _article(word: str) -> str:
    """The article before ``word`` the French way: "el", or assimilated ("er-Rahman")."""
    for sun in _SUN:
        if word.startswith(sun):
            return "e" + sun[0]
    return "el"


def _join_articles(words: list[str], rng: random.Random) -> list[str]:
    """Words joined to the article the French way: "Abdelkader", "Noureddine"."""
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        after = words[i + 1] if i + 1 < len(words) else ""
        if word in ("abd", "abdul", "abdel") and after.startswith("al-") and rng.random() < 0.8:
            rest = after[3:]
            out.append("abd" + _article(rest) + rest)
            i += 2
        elif word == "abdul" and after and rng.random() < 0.5:
            out.append("abd" + _article(after) + after)
            i += 2
        elif after in ("al-din", "ud-din", "uddin") and rng.random() < 0.8:
            out.append(word + "eddine")
            i += 2
        else:
            out.append(word)
            i += 1
    return out


def _free_articles(words: list[str], rng: random.Random) -> list[str]:
    """The article written apart the French way: "el Sahraoui", "es-Sahraoui"."""
    out = []
    for word in words:
        if word.startswith("al-") and len(word) > 3 and rng.random() < 0.7:
            rest = word[3:]
            word = (_article(rest) if rng.random() < 0.4 else "el") + rng.choice("- ") + rest
        out.append(word)
    return out


def _sub(pattern: str, repl: str, chance: float) -> Callable[[str, random.Random], str]:
    """A letter rule applied, where it matches, with probability ``chance`` per word."""
    compiled = re.compile(pattern)

    def apply(word: str, rng: random.Random) -> str:
        return compiled.sub(repl, word) if rng.random() < chance else word

    return apply


#: Letter rules of French and Maghrebi romanisation, in the order they apply; each with
#: the chance a word it fits is written so.
RULES: tuple[tuple[str, Callable[[str, random.Random], str]], ...] = (
    ("u as ou", _sub(r"(?<![aeiou])u(?![aeiou])", "ou", 0.7)),
    ("u as o", _sub(r"^u", "o", 0.5)),
    ("sh as ch", _sub(r"sh", "ch", 0.8)),
    ("j as dj", _sub(r"(?<![d])j", "dj", 0.7)),
    ("q as k", _sub(r"q", "k", 0.8)),
    ("q as g", _sub(r"q", "g", 0.3)),
    ("w as ou", _sub(r"^w(?=[aei])", "ou", 0.6)),
    ("ay as ei", _sub(r"ay(?![aeiou])", "ei", 0.6)),
    ("i as e in the last syllable", _sub(r"i(?=[bdfhklmnrst]$)", "e", 0.6)),
    ("a as e in the last syllable", _sub(r"(?<=[hm])a(?=d$)", "e", 0.6)),
    ("s doubled between vowels", _sub(r"(?<=[aeiou])s(?=[aeiou])", "ss", 0.5)),
    ("final e after n", _sub(r"(?<=[aeiu])n$", "ne", 0.5)),
    ("mm as m", _sub(r"mm", "m", 0.4)),
    ("dh as d", _sub(r"dh", "d", 0.3)),
)

#: Whole words the French way, where they are particles.
_PARTICLES = {"bin": "ben", "ibn": "ben", "abu": "abou", "walad": "ould", "bint": "bent"}


def french(name: str, rng: random.Random) -> str:
    """``name`` (an English romanisation) as a French or Maghrebi record might write it."""
    words = [w for w in re.split(r"[\s,]+", name.lower().replace("’", "'")) if w]
    words = [w.replace("'", "") for w in words]
    words = [_PARTICLES.get(w, w) if rng.random() < 0.8 else w for w in words]
    words = _free_articles(_join_articles(words, rng), rng)
    out = []
    for word in words:
        for _, rule in RULES:
            word = rule(word, rng)
        out.append(word)
    return " ".join(w[:1].upper() + w[1:] for w in out)


# --- samples -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    """A name to screen and the listed party it names."""

    text: str
    reference: str
    source: str  # the listed name it was made from


def arabic_parties(parties: Iterable[ListedParty]) -> list[ListedParty]:
    """The parties the list names in Arabic script (Arabic, Persian, Pashto, Urdu)."""
    return [p for p in parties if p.original_script and _ARABIC_LETTER.search(p.original_script)]


def _latin_names(party: ListedParty) -> list[str]:
    good = (AliasQuality.GOOD, AliasQuality.AKA)
    names = [party.name, *(a.name for a in party.aliases if a.quality in good)]
    return [n for n in dict.fromkeys(names) if n.isascii() or not _ARABIC_LETTER.search(n)]


def french_sample(parties: Sequence[ListedParty], per_name: int, rng: random.Random) -> list[Query]:
    """Up to ``per_name`` French renderings of every Latin name of ``parties``, each one
    different from the listed name."""
    out: dict[tuple[str, str], Query] = {}
    for party in parties:
        for name in _latin_names(party):
            for _ in range(per_name):
                text = french(name, rng)
                ref = party.reference_number
                if _plain(text) != _plain(name):
                    out.setdefault((text, ref), Query(text, ref, name))
    return list(out.values())


#: Spellings that only French romanisation uses: "ou", "dj", "ch" (not "kh"), "el" or an
#: article assimilated and joined, a final "-ane" or "-ine", "ould".
_FRENCH = re.compile(
    r"ou|dj|(?<![kstcz])ch|\bel\b|\babd[ae][lrsdtnz]|[^aeiou][ai]ne\b|\bould\b", re.I
)


def listed_sample(parties: Sequence[ListedParty]) -> list[tuple[Query, ListedParty]]:
    """The list's French-style Good aliases, each with its party without that alias."""
    out = []
    for party in parties:
        for alias in party.aliases:
            plain = _plain(party.name)
            if (
                alias.quality is AliasQuality.GOOD
                and _FRENCH.search(alias.name)
                and not _FRENCH.search(party.name)
                and _plain(alias.name) != plain
            ):
                rest = tuple(a for a in party.aliases if a is not alias)
                query = Query(alias.name, party.reference_number, party.name)
                out.append((query, replace(party, aliases=rest)))
    return out


def script_sample(parties: Sequence[ListedParty]) -> list[Query]:
    """Every Arabic-script name the list gives, for its party."""
    return [Query(p.original_script or "", p.reference_number, p.name) for p in parties]


def _plain(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


# --- the sweep ---------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """How one sample fared, by the index and by brute force."""

    queries: int = 0
    match: dict[str, int] = field(default_factory=lambda: {"index": 0, "brute": 0})
    near: dict[str, int] = field(default_factory=lambda: {"index": 0, "brute": 0})
    others: dict[str, int] = field(default_factory=lambda: {"index": 0, "brute": 0})
    #: Queries whose matches (parties and scores at or above the threshold) differ.
    disagree: list[str] = field(default_factory=list)
    #: Queries whose best result differs by 0.01 or more (near misses included).
    apart: list[str] = field(default_factory=list)
    #: By brute force: not even a near miss; with the listed name and brute force's best.
    missed: list[str] = field(default_factory=list)
    #: By brute force: another party matches, with its reference and score.
    confused: list[str] = field(default_factory=list)

    def count(self, query: Query, fast: list[NameMatch], slow: list[NameMatch]) -> None:
        self.queries += 1
        for how, found in (("index", fast), ("brute", slow)):
            own = max(
                (c.score for c in found if c.reference_number == query.reference), default=0.0
            )
            self.match[how] += own >= DEFAULT_THRESHOLD
            self.near[how] += NEAR_MISS_FLOOR <= own < DEFAULT_THRESHOLD
            self.others[how] += any(
                c.score >= DEFAULT_THRESHOLD and c.reference_number != query.reference
                for c in found
            )
        if _matches(fast) != _matches(slow):
            self.disagree.append(query.text)
        best_fast = fast[0].score if fast else 0.0
        best_slow = slow[0].score if slow else 0.0
        if abs(best_fast - best_slow) >= 0.01:
            self.apart.append(query.text)
        named = f"{query.text} ({query.reference} {query.source}"
        wrong = [
            c
            for c in slow
            if c.score >= DEFAULT_THRESHOLD and c.reference_number != query.reference
        ]
        if wrong:
            other = wrong[0]
            self.confused.append(
                f"{named}; matches {other.reference_number} {other.name} {other.score:.3f})"
            )
        if all(c.reference_number != query.reference for c in slow):
            best = f"{slow[0].reference_number} {slow[0].score:.3f}" if slow else "nothing"
            self.missed.append(f"{named}; found {best})")


def _matches(found: list[NameMatch]) -> list[tuple[str, float]]:
    return [(c.reference_number, c.score) for c in found if c.score >= DEFAULT_THRESHOLD]


def screen_all(index: NameIndex, queries: Iterable[Query], tally: Tally, limit: int = 5) -> Tally:
    for query in queries:
        fast = index.search(query.text, limit=limit)
        slow = index.brute_force_search(query.text, limit=limit)
        tally.count(query, fast, slow)
    return tally


SAMPLES = ("french", "listed", "script")


def sweep(
    parties: Sequence[ListedParty], per_name: int, seed: int, samples: Sequence[str] = SAMPLES
) -> dict[str, Tally]:
    """The samples of the module docstring, screened against ``parties``."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    arabic = arabic_parties(parties)
    out = {}
    if "french" in samples:
        index = NameIndex.build(parties)
        out["french"] = screen_all(index, french_sample(arabic, per_name, rng), Tally())
    if "listed" in samples:
        listed = Tally()
        for query, without in listed_sample(arabic):
            others = [without if p.reference_number == query.reference else p for p in parties]
            screen_all(NameIndex.build(others), [query], listed)
        out["listed"] = listed
    if "script" in samples:
        scriptless = NameIndex.build([replace(p, original_script=None) for p in parties])
        out["script"] = screen_all(scriptless, script_sample(arabic), Tally())
    return out


def format_sweep(tallies: dict[str, Tally]) -> str:
    lines = [
        "| sample | queries | match (index / brute) | near miss | another party matches"
        " | matches differ | best result ≥ 0.01 apart |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, t in tallies.items():
        lines.append(
            f"| {name} | {t.queries} | {t.match['index']} / {t.match['brute']} "
            f"| {t.near['index']} / {t.near['brute']} | {t.others['index']} / {t.others['brute']} "
            f"| {len(t.disagree)} | {len(t.apart)} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-name", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2653)
    parser.add_argument("--show", type=int, default=0, help="print this many misses per sample")
    parser.add_argument("--samples", nargs="*", default=SAMPLES, choices=SAMPLES)
    args = parser.parse_args(argv)
    parties = parse_list(data_path(LIST_2024).read_bytes())[0].parties
    tallies = sweep(parties, args.per_name, args.seed, args.samples)
    print(format_sweep(tallies))
    for name, t in tallies.items():
        for label, queries in (
            ("differ", t.disagree),
            ("missed", t.missed),
            ("confused", t.confused),
        ):
            for text in queries[: args.show]:
                print(f"{name} {label}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
