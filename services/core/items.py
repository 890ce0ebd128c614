"""The item vocabulary: which category an item is, and whether it is SALW.

The data lives in ``rules/items.yaml`` (categories, HS and EU Common Military
List mappings) so reviewers change it without touching code. This module parses
it once into plain dictionaries; :func:`classify` is then a handful of dict
look-ups, cheap enough to run for every item of every record.
"""

from __future__ import annotations

import re
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

Source = Literal["category", "hs", "ml", "default"]

_CLASSES = frozenset({"salw", "all_arms"})
_CATEGORY_KEYS = frozenset({"label", "class", "assistance", "non_lethal"})
_MAPPING_KEYS = frozenset({"category", "note"})
_HS_KEY = re.compile(r"\d{4,10}")
#: "ML1", "ML1.a", "ML1a", "ML8.c.1" (upper-cased, spaces removed); group 1 is the entry.
_ML_CODE = re.compile(r"ML(\d{1,2})(?:\.?[A-Z](?:\.?\d+)*)?")
_HS_SEPARATORS = str.maketrans("", "", ". -")
#: The UN Register counts mortars under 75 mm as light weapons and larger ones as artillery (III).
LIGHT_BELOW_MM = 75.0
#: Calibres as records write them: a cartridge ("7.62x39mm": the first number), a number
#: with its unit ("60mm", "81 mm", "15.5 cm", "6 in", '6"'), or a bare number of millimetres.
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_CARTRIDGE = re.compile(_NUMBER + r"\s*[x×]\s*\d+(?:[.,]\d+)?\s*mm", re.IGNORECASE)
_WITH_UNIT = re.compile(_NUMBER + r"\s*-?\s*(mm|cm|inch(?:es)?|in\b|\"|″)", re.IGNORECASE)
_BARE = re.compile(r"\s*" + _NUMBER + r"\s*")
_MM_PER = {"mm": 1.0, "cm": 10.0, "in": 25.4, "inch": 25.4, "inches": 25.4, '"': 25.4, "″": 25.4}


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    source: Source
    #: Why the category is uncertain or inferred; None when the record said so itself.
    note: str | None = None


class ItemsError(ValueError):
    """``items.yaml`` is not valid; the message names every bad entry."""


@dataclass(frozen=True, slots=True, eq=False)
class Vocabulary:
    labels: Mapping[str, str]
    salw: frozenset[str]
    non_lethal: frozenset[str]
    assistance: frozenset[str]
    #: HS prefix (digits only) -> (category, note).
    hs: Mapping[str, tuple[str, str | None]]
    #: The distinct prefix lengths in ``hs``, longest first.
    hs_lengths: tuple[int, ...]
    #: ML entry number (1..22) -> (category, note).
    ml: Mapping[int, tuple[str, str | None]]

    def classify(
        self,
        category: str | None,
        hs_code: str | None,
        ml_code: str | None,
        calibre: str | None = None,
    ) -> Classification:
        """Explicit category, else longest HS prefix, else ML entry, else the default.

        Never raises and never drops an item: anything unrecognised becomes
        :data:`DEFAULT_CATEGORY` with a note that says what was not recognised. A code
        read as a mortar (artillery headings, ML2) with a declared ``calibre`` of
        :data:`LIGHT_BELOW_MM` or more is large-calibre artillery (UN Register III).
        """
        unknown: list[str] = []
        if category:
            if category in self.labels:
                return Classification(category, "category")
            unknown.append(f"unknown category {category!r}")
        if hs_code:
            hit = self.match_hs(hs_code)
            if hit is not None:
                return _by_calibre(Classification(hit[0], "hs", _notes(unknown, hit[1])), calibre)
            unknown.append(f"unknown HS code {hs_code}")
        if ml_code:
            hit = self.match_ml(ml_code)
            if hit is not None:
                return _by_calibre(Classification(hit[0], "ml", _notes(unknown, hit[1])), calibre)
            unknown.append(f"unknown ML code {ml_code}")
        what = " and ".join(unknown) if unknown else "no category, HS code or ML code given;"
        return Classification(
            DEFAULT_CATEGORY, "default", f"{what} classified as {DEFAULT_CATEGORY}"
        )

    def match_hs(self, code: str) -> tuple[str, str | None] | None:
        digits = code.strip().translate(_HS_SEPARATORS)
        if not (digits.isascii() and digits.isdigit()):
            return None
        for length in self.hs_lengths:
            if length <= len(digits):
                hit = self.hs.get(digits[:length])
                if hit is not None:
                    return hit
        return None

    def match_ml(self, code: str) -> tuple[str, str | None] | None:
        m = _ML_CODE.fullmatch("".join(code.split()).upper())
        return self.ml.get(int(m.group(1))) if m else None


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


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _by_calibre(c: Classification, calibre: str | None) -> Classification:
    if c.category != "light_weapons.mortar" or (mm := calibre_mm(calibre)) is None:
        return c
    if mm < LIGHT_BELOW_MM:
        return Classification(c.category, c.source, f"{c.note}; calibre {mm:g} mm: a light weapon")
    return Classification(
        "unroca.III", c.source, f"{c.note}; calibre {mm:g} mm: large-calibre artillery"
    )


def _notes(unknown: list[str], note: str | None) -> str | None:
    parts = [*unknown, note] if note else unknown
    return "; ".join(parts) or None


def parse_vocabulary(doc: Mapping[str, Any], source: str = "items.yaml") -> Vocabulary:
    """Build a :class:`Vocabulary` from the parsed YAML; raise :class:`ItemsError` if invalid."""
    problems: list[str] = []
    extra = set(doc) - {"categories", "hs", "ml"}
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

    hs: dict[str, tuple[str, str | None]] = {}
    for key, entry in (doc.get("hs") or {}).items():
        prefix = str(key).translate(_HS_SEPARATORS)
        if not _HS_KEY.fullmatch(prefix):
            problems.append(f"hs/{key}: an HS prefix has 4 to 10 digits")
        elif prefix in hs:
            problems.append(f"hs/{key}: listed twice")
        elif (hit := _mapping(f"hs/{key}", entry, labels, problems)) is not None:
            hs[prefix] = hit

    ml: dict[int, tuple[str, str | None]] = {}
    for key, entry in (doc.get("ml") or {}).items():
        m = re.fullmatch(r"ML(\d{1,2})", str(key))
        if m is None or not 1 <= int(m.group(1)) <= 22:
            problems.append(f"ml/{key}: expected ML1 ... ML22")
        elif (hit := _mapping(f"ml/{key}", entry, labels, problems)) is not None:
            ml[int(m.group(1))] = hit

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
    )


def _mapping(
    where: str, entry: Any, labels: Mapping[str, str], problems: list[str]
) -> tuple[str, str | None] | None:
    if not isinstance(entry, Mapping) or set(entry) - _MAPPING_KEYS:
        problems.append(f"{where}: expected a mapping with keys {sorted(_MAPPING_KEYS)}")
        return None
    category, note = entry.get("category"), entry.get("note")
    if category not in labels:
        problems.append(f"{where}: unknown category {category!r}")
        return None
    if note is not None and not isinstance(note, str):
        problems.append(f"{where}: note must be text")
        return None
    return str(category), note


def load_vocabulary(path: Path = ITEMS_PATH) -> Vocabulary:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    category: str | None, hs_code: str | None, ml_code: str | None, calibre: str | None = None
) -> Classification:
    """Classify one item with the shipped vocabulary (see :meth:`Vocabulary.classify`)."""
    return vocabulary().classify(category, hs_code, ml_code, calibre)


def is_salw(category: str) -> bool:
    return category in vocabulary().salw


def is_non_lethal(category: str) -> bool:
    return category in vocabulary().non_lethal


def is_assistance(category: str) -> bool:
    return category in vocabulary().assistance


def label(category: str) -> str:
    """Human-readable name of a category; the category itself if unknown."""
    return vocabulary().labels.get(category, category)
