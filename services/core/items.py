"""The item vocabulary: which category an item is, and whether it is SALW.

The data lives in ``rules/items.yaml`` (categories, HS and EU Common Military
List mappings, description words) so reviewers change it without touching code.
This module parses it once into plain dictionaries and compiled patterns;
:func:`classify` is then a handful of look-ups, cheap enough to run for every item
of every record (and the caller caches it per item line).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from services.core import resources

ITEMS_PATH = resources.ROOT / "rules" / "items.yaml"

#: Where an item nothing else identifies ends up: never dropped, always screened.
DEFAULT_CATEGORY = "other_military"
#: Parts of goods that a code reads as SALW may be SALW themselves.
PARTS_CATEGORY = "parts_components"
MORTAR_CATEGORY = "light_weapons.mortar"
ARTILLERY_CATEGORY = "unroca.III"
#: Mortar bombs too large for a light weapon are munitions, not light-weapons ammunition.
HEAVY_AMMUNITION_CATEGORY = "ammunition.other"
#: The ``words`` list that names mortars in a description.
MORTAR_WORDS = "mortar"
_HEAVY_MORTAR_CATEGORIES = frozenset({ARTILLERY_CATEGORY, HEAVY_AMMUNITION_CATEGORY})

Source = Literal["category", "hs", "ml", "default"]

_CLASSES = frozenset({"salw", "all_arms"})
_CONFIDENCES = frozenset({"confirmed", "unconfirmed"})
_CATEGORY_KEYS = frozenset({"label", "class", "assistance", "non_lethal"})
_MAPPING_KEYS = frozenset({"category", "note", "described", "may_be_salw"})
_DOUBT_KEYS = frozenset({"reason", "confidence"})
_HS_KEY = re.compile(r"\d{4,10}")
#: "ML1", "ML1.a", "ML1a", "ML8.c.1" (upper-cased, spaces removed): the entry, its letter.
_ML_CODE = re.compile(r"ML(\d{1,2})(?:\.?([A-Z])(?:\.?\d+)*)?")
_ML_KEY = re.compile(r"ML(\d{1,2})(?:\.([a-z]))?")
_HS_SEPARATORS = str.maketrans("", "", ". -")
#: The UN Register counts mortars under 75 mm as light weapons and larger ones as artillery (III).
LIGHT_BELOW_MM = 75.0
#: The 1997 UN Panel of Governmental Experts counts mortars under 100 mm as light weapons.
PANEL_LIGHT_BELOW_MM = 100.0
#: Calibres as records write them: a cartridge ("7.62x39mm": the first number), a number
#: with its unit ("60mm", "81 mm", "15.5 cm", "6 in", '6"'), or a bare number of millimetres.
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_CARTRIDGE = re.compile(_NUMBER + r"\s*[x×]\s*\d+(?:[.,]\d+)?\s*mm", re.IGNORECASE)
_WITH_UNIT = re.compile(_NUMBER + r"\s*-?\s*(mm|cm|inch(?:es)?|in\b|\"|″)", re.IGNORECASE)
_BARE = re.compile(r"\s*" + _NUMBER + r"\s*")
_MM_PER = {"mm": 1.0, "cm": 10.0, "in": 25.4, "inch": 25.4, "inches": 25.4, '"': 25.4, "″": 25.4}
#: A calibre in a description ("82 mm mortar bombs"): millimetres only, as "6 in total" is not.
_DESCRIBED_MM = re.compile(_NUMBER + r"\s*-?\s*mm\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class SalwDoubt:
    """Why goods outside the SALW categories may still be small arms, light weapons or
    their ammunition: what a SALW-only embargo raises an indicator for."""

    reason: str
    #: False where the reason rests on a source nobody has checked; findings say so.
    confirmed: bool = True


#: The 1997 Panel's line for mortars, beside the UN Register's 75 mm. The paragraph is
#: A/52/298, annex, para 26; its 100 mm wording is read from those who quote it.
MORTAR_DOUBT = SalwDoubt(
    "mortars of calibres of less than 100 mm are light weapons in the 1997 UN Panel of "
    "Governmental Experts' definition (A/52/298, annex, para 26), though the UN Register "
    "counts mortars from 75 mm as large-calibre artillery (unconfirmed: the 100 mm line is "
    "as the Small Arms Survey 2001 and the UK Export Control Order 2008 quote it, not checked "
    "against the UN document)",
    confirmed=False,
)


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    source: Source
    #: Why the category is uncertain or inferred; None when the record said so itself.
    note: str | None = None
    #: Why the goods may be SALW though ``category`` is not; None when nothing suggests it.
    may_be_salw: SalwDoubt | None = None


@dataclass(frozen=True, slots=True)
class CodeMapping:
    """What one HS prefix or ML entry maps to."""

    category: str
    note: str | None = None
    #: (words list, category) pairs, tried in order: a description the words match settles it.
    described: tuple[tuple[str, str], ...] = ()
    #: Why goods under this code that nothing settles may still be SALW.
    may_be_salw: SalwDoubt | None = None


class ItemsError(ValueError):
    """``items.yaml`` is not valid; the message names every bad entry."""


@dataclass(frozen=True, slots=True, eq=False)
class Vocabulary:
    labels: Mapping[str, str]
    salw: frozenset[str]
    non_lethal: frozenset[str]
    assistance: frozenset[str]
    #: HS prefix (digits only) -> its mapping.
    hs: Mapping[str, CodeMapping]
    #: The distinct prefix lengths in ``hs``, longest first.
    hs_lengths: tuple[int, ...]
    #: (ML entry number 1..22, sub-entry letter or None) -> its mapping.
    ml: Mapping[tuple[int, str | None], CodeMapping]
    #: Words list name -> the pattern that finds any of them in a folded description.
    words: Mapping[str, re.Pattern[str]]

    def classify(
        self,
        category: str | None,
        hs_code: str | None,
        ml_code: str | None,
        calibre: str | None = None,
        description: str | None = None,
    ) -> Classification:
        """Explicit category, else longest HS prefix, else ML entry, else the default.

        Never raises and never drops an item: anything unrecognised becomes
        :data:`DEFAULT_CATEGORY` with a note that says what was not recognised. A code that
        spans several kinds takes the category its ``description`` names, if it names one.
        A mortar (artillery headings, ML2, mortar bombs) with a calibre of
        :data:`LIGHT_BELOW_MM` or more is large-calibre artillery or its ammunition, with a
        :class:`SalwDoubt` below :data:`PANEL_LIGHT_BELOW_MM`. An explicit category is taken
        as declared; the codes beside it only add why it may be SALW.
        """
        unknown: list[str] = []
        if category:
            if category in self.labels:
                doubt = self._declared_doubt(category, hs_code, ml_code, calibre, description)
                return Classification(category, "category", None, doubt)
            unknown.append(f"unknown category {category!r}")
        if hs_code:
            if (hit := self.match_hs(hs_code)) is not None:
                return self._mapped(hit, "hs", unknown, calibre, description)
            unknown.append(f"unknown HS code {hs_code}")
        if ml_code:
            if (hit := self.match_ml(ml_code)) is not None:
                return self._mapped(hit, "ml", unknown, calibre, description)
            unknown.append(f"unknown ML code {ml_code}")
        what = " and ".join(unknown) if unknown else "no category, HS code or ML code given;"
        return Classification(
            DEFAULT_CATEGORY, "default", f"{what} classified as {DEFAULT_CATEGORY}"
        )

    def match_hs(self, code: str) -> CodeMapping | None:
        digits = code.strip().translate(_HS_SEPARATORS)
        if not (digits.isascii() and digits.isdigit()):
            return None
        for length in self.hs_lengths:
            if length <= len(digits):
                hit = self.hs.get(digits[:length])
                if hit is not None:
                    return hit
        return None

    def match_ml(self, code: str) -> CodeMapping | None:
        m = _ML_CODE.fullmatch("".join(code.split()).upper())
        if m is None:
            return None
        entry, letter = int(m.group(1)), m.group(2)
        hit = self.ml.get((entry, letter.lower())) if letter else None
        return hit or self.ml.get((entry, None))

    def names(self, words: str, description: str | None) -> bool:
        """Whether ``description`` names what the ``words`` list stands for."""
        pattern = self.words.get(words)
        return bool(description and pattern and pattern.search(fold(description)))

    def _mapped(
        self,
        hit: CodeMapping,
        source: Source,
        unknown: list[str],
        calibre: str | None,
        description: str | None,
    ) -> Classification:
        category, doubt, mortar = hit.category, hit.may_be_salw, hit.category == MORTAR_CATEGORY
        note = hit.note
        for words, described in hit.described:
            if self.names(words, description):
                category, doubt, mortar = described, None, words == MORTAR_WORDS
                note = f"{note}; the description names {words.replace('_', ' ')}"
                break
        c = Classification(category, source, _notes(unknown, note), doubt)
        return _by_calibre(c, calibre, description) if mortar else c

    def _declared_doubt(
        self,
        category: str,
        hs_code: str | None,
        ml_code: str | None,
        calibre: str | None,
        description: str | None,
    ) -> SalwDoubt | None:
        """Why a declared category that is not SALW may still be: its code says so for this
        very category, it is parts of what its code reads as SALW, or it is artillery that
        the description calls a mortar (or mortar bombs) of the Panel's light calibres."""
        if category in self.salw:
            return None
        hits = (
            self.match_hs(hs_code) if hs_code else None,
            self.match_ml(ml_code) if ml_code else None,
        )
        for hit in hits:
            if hit is None:
                continue
            if hit.category == category and hit.may_be_salw is not None:
                return hit.may_be_salw
            if category == PARTS_CATEGORY and hit.category in self.salw:
                return _parts_doubt(self.labels[hit.category])
        if category in _HEAVY_MORTAR_CATEGORIES and self.names(MORTAR_WORDS, description):
            mm = _calibre_of(calibre, description)
            if mm is not None and LIGHT_BELOW_MM <= mm < PANEL_LIGHT_BELOW_MM:
                return MORTAR_DOUBT
        return None


def _parts_doubt(label: str) -> SalwDoubt:
    return SalwDoubt(
        f"they are declared as parts under a code for {label.lower()}; an embargo on small "
        "arms, light weapons and ammunition does not name their parts, but essential parts "
        "(barrels, frames, receivers, bolts) make up a weapon"
    )


def fold(text: str) -> str:
    """Lower case, no accents, words of letters and digits separated by one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join(_WORD.findall("".join(c for c in decomposed if not unicodedata.combining(c))))


def calibre_mm(calibre: str | None) -> float | None:
    """The calibre in millimetres, if ``calibre`` gives one ("60mm", "7.62x39mm", "6 in")."""
    if not calibre:
        return None
    if m := _CARTRIDGE.search(calibre):
        return _number(m.group(1))
    if m := _WITH_UNIT.search(calibre):
        return round(_number(m.group(1)) * _MM_PER[m.group(2).lower()], 1)
    if m := _BARE.fullmatch(calibre):
        return _number(m.group(1))
    return None


def _calibre_of(calibre: str | None, description: str | None) -> float | None:
    """The declared calibre, else a calibre in millimetres the description gives."""
    if calibre:
        return calibre_mm(calibre)
    m = _DESCRIBED_MM.search(description) if description else None
    return _number(m.group(1)) if m else None


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _by_calibre(c: Classification, calibre: str | None, description: str | None) -> Classification:
    """A mortar or mortar bomb by its calibre: light below 75 mm, artillery from there, and
    from 75 to under 100 mm artillery that may be a light weapon (:data:`MORTAR_DOUBT`)."""
    if (mm := _calibre_of(calibre, description)) is None:
        return c
    weapon = c.category == MORTAR_CATEGORY
    if mm < LIGHT_BELOW_MM:
        what = "a light weapon" if weapon else "ammunition for a light weapon"
        return Classification(c.category, c.source, f"{c.note}; calibre {mm:g} mm: {what}")
    heavy = ARTILLERY_CATEGORY if weapon else HEAVY_AMMUNITION_CATEGORY
    what = "large-calibre artillery" if weapon else "ammunition for large-calibre artillery"
    doubt = MORTAR_DOUBT if mm < PANEL_LIGHT_BELOW_MM else None
    return Classification(heavy, c.source, f"{c.note}; calibre {mm:g} mm: {what}", doubt)


def _notes(unknown: list[str], note: str | None) -> str | None:
    parts = [*unknown, note] if note else unknown
    return "; ".join(parts) or None


def parse_vocabulary(doc: Mapping[str, Any], source: str = "items.yaml") -> Vocabulary:
    """Build a :class:`Vocabulary` from the parsed YAML; raise :class:`ItemsError` if invalid."""
    problems: list[str] = []
    extra = set(doc) - {"categories", "hs", "ml", "words"}
    if extra:
        problems.append(f"unknown top-level keys {sorted(extra)}")
    labels: dict[str, str] = {}
    salw, non_lethal, assistance = set(), set(), set()
    for name, entry in (doc.get("categories") or {}).items():
        if not isinstance(entry, Mapping) or set(entry) - _CATEGORY_KEYS:
            problems.append(
                f"categories/{name}: expected a mapping with keys {sorted(_CATEGORY_KEYS)}"
            )
            continue
        if not isinstance(entry.get("label"), str) or entry.get("class") not in _CLASSES:
            problems.append(f"categories/{name}: needs a label and a class in {sorted(_CLASSES)}")
            continue
        labels[name] = entry["label"]
        if entry["class"] == "salw":
            salw.add(name)
        if entry.get("non_lethal"):
            non_lethal.add(name)
        if entry.get("assistance"):
            assistance.add(name)
    if DEFAULT_CATEGORY not in labels:
        problems.append(f"categories: the default category {DEFAULT_CATEGORY} is missing")

    words = _words(doc.get("words") or {}, problems)
    known = _Known(labels, frozenset(salw), frozenset(words))

    hs: dict[str, CodeMapping] = {}
    for key, entry in (doc.get("hs") or {}).items():
        prefix = str(key).translate(_HS_SEPARATORS)
        if not _HS_KEY.fullmatch(prefix):
            problems.append(f"hs/{key}: an HS prefix has 4 to 10 digits")
        elif prefix in hs:
            problems.append(f"hs/{key}: listed twice")
        elif (hit := _mapping(f"hs/{key}", entry, known, problems)) is not None:
            hs[prefix] = hit

    ml: dict[tuple[int, str | None], CodeMapping] = {}
    for key, entry in (doc.get("ml") or {}).items():
        m = _ML_KEY.fullmatch(str(key))
        if m is None or not 1 <= int(m.group(1)) <= 22:
            problems.append(f"ml/{key}: expected ML1 ... ML22, or a sub-entry such as ML4.a")
        elif (hit := _mapping(f"ml/{key}", entry, known, problems)) is not None:
            ml[(int(m.group(1)), m.group(2))] = hit

    if problems:
        raise ItemsError(f"{source}: invalid item vocabulary:\n  " + "\n  ".join(problems))
    return Vocabulary(
        labels=labels,
        salw=frozenset(salw),
        non_lethal=frozenset(non_lethal),
        assistance=frozenset(assistance),
        hs=hs,
        hs_lengths=tuple(sorted({len(p) for p in hs}, reverse=True)),
        ml=ml,
        words=words,
    )


@dataclass(frozen=True, slots=True)
class _Known:
    """What a mapping may refer to."""

    labels: Mapping[str, str]
    salw: frozenset[str]
    words: frozenset[str]


def _words(raw: Any, problems: list[str]) -> dict[str, re.Pattern[str]]:
    if not isinstance(raw, Mapping):
        problems.append("words: expected a mapping of list names to lists of words")
        return {}
    patterns = {}
    for name, listed in raw.items():
        folded = [fold(w) for w in listed] if isinstance(listed, list) else []
        if not folded or not all(isinstance(w, str) for w in listed) or not all(folded):
            problems.append(f"words/{name}: expected a list of words")
            continue
        patterns[str(name)] = re.compile(r"\b(?:" + "|".join(map(re.escape, folded)) + ")")
    return patterns


def _mapping(where: str, entry: Any, known: _Known, problems: list[str]) -> CodeMapping | None:
    if not isinstance(entry, Mapping) or set(entry) - _MAPPING_KEYS:
        problems.append(f"{where}: expected a mapping with keys {sorted(_MAPPING_KEYS)}")
        return None
    category, note = entry.get("category"), entry.get("note")
    if category not in known.labels:
        problems.append(f"{where}: unknown category {category!r}")
        return None
    if note is not None and not isinstance(note, str):
        problems.append(f"{where}: note must be text")
        return None
    described = entry.get("described") or {}
    if not isinstance(described, Mapping) or any(
        w not in known.words or c not in known.labels for w, c in described.items()
    ):
        problems.append(f"{where}: described maps words lists to categories, both known")
        return None
    doubt = _doubt(where, entry.get("may_be_salw"), problems)
    if doubt is not None and category in known.salw:
        problems.append(f"{where}: may_be_salw on a SALW category says nothing")
        return None
    return CodeMapping(str(category), note, tuple(described.items()), doubt)


def _doubt(where: str, raw: Any, problems: list[str]) -> SalwDoubt | None:
    if raw is None:
        return None
    if (
        not isinstance(raw, Mapping)
        or set(raw) - _DOUBT_KEYS
        or not isinstance(raw.get("reason"), str)
        or raw.get("confidence", "confirmed") not in _CONFIDENCES
    ):
        problems.append(
            f"{where}: may_be_salw needs a reason and may give a confidence in "
            f"{sorted(_CONFIDENCES)}"
        )
        return None
    return SalwDoubt(" ".join(raw["reason"].split()), raw.get("confidence") != "unconfirmed")


def load_vocabulary(path: Path = ITEMS_PATH) -> Vocabulary:
    try:
        doc = resources.read_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ItemsError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise ItemsError(f"{path.name}: expected a mapping at the top level")
    return parse_vocabulary(doc, path.name)


@cache
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, read once per process."""
    return load_vocabulary()


def classify(
    category: str | None,
    hs_code: str | None,
    ml_code: str | None,
    calibre: str | None = None,
    description: str | None = None,
) -> Classification:
    """Classify one item with the shipped vocabulary (see :meth:`Vocabulary.classify`)."""
    return vocabulary().classify(category, hs_code, ml_code, calibre, description)


def is_salw(category: str) -> bool:
    return category in vocabulary().salw


def is_non_lethal(category: str) -> bool:
    return category in vocabulary().non_lethal


def is_assistance(category: str) -> bool:
    return category in vocabulary().assistance


def label(category: str) -> str:
    """Human-readable name of a category; the category itself if unknown."""
    return vocabulary().labels.get(category, category)
