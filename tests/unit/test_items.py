"""The item vocabulary (rules/items.yaml) and its classifier."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from services.core import items, resources
from services.core.items import Classification, ItemsError, parse_vocabulary


def schema_categories() -> set[str]:
    schema = orjson.loads(resources.schema_bytes("transfer.v1.json"))
    return set(schema["properties"]["items"]["items"]["properties"]["category"]["enum"])


def test_the_vocabulary_has_exactly_the_transfer_schema_categories() -> None:
    assert set(items.vocabulary().labels) == schema_categories()


def test_salw_is_small_arms_light_weapons_and_their_ammunition_only() -> None:
    salw = {c for c in schema_categories() if items.is_salw(c)}
    assert salw == {
        c for c in schema_categories() if c.startswith(("small_arms.", "light_weapons."))
    } | {"ammunition.small_arms", "ammunition.light_weapons"}


def test_flags_for_assistance_and_non_lethal_items() -> None:
    assert items.is_assistance("technical_assistance")
    assert not items.is_assistance("small_arms.assault_rifle")
    assert items.is_non_lethal("non_lethal_protective")
    assert not items.is_non_lethal("unroca.II")
    assert not items.is_salw("non_lethal_protective")
    assert not items.is_salw("no.such.category")


def test_an_explicit_category_wins_over_codes() -> None:
    assert items.classify("unroca.I", "9302", "ML13") == Classification("unroca.I", "category")


@pytest.mark.parametrize(
    ("hs_code", "category"),
    [
        ("9302", "small_arms.revolver_pistol"),
        ("930200", "small_arms.revolver_pistol"),
        ("9302000010", "small_arms.revolver_pistol"),
        ("930111", "unroca.III"),
        ("930110", "light_weapons.mortar"),  # no calibre: the safe side
        ("930120", "light_weapons.portable_missile_launcher"),
        ("9301900000", "small_arms.assault_rifle"),
        ("930330", "small_arms.rifle_carbine"),
        ("930390", "other_military"),
        ("930591", "parts_components"),
        ("93063010", "ammunition.small_arms"),
        ("930621", "ammunition.small_arms"),
        ("930690", "ammunition.light_weapons"),
        ("9307", "other_military"),
        ("871000", "unroca.II"),
        ("89061000", "unroca.VI"),
        ("9301.20", "light_weapons.portable_missile_launcher"),
    ],
)
def test_hs_codes_match_their_longest_listed_prefix(hs_code: str, category: str) -> None:
    got = items.classify(None, hs_code, None)
    assert (got.category, got.source) == (category, "hs")


def test_a_six_digit_split_beats_its_four_digit_heading() -> None:
    # 9306 alone is read as cartridges; 9306.90 (bombs, grenades) as light-weapons ammunition.
    assert items.classify(None, "9306", None).category == "ammunition.small_arms"
    assert items.classify(None, "930690", None).category == "ammunition.light_weapons"


def test_ambiguous_hs_codes_carry_a_note() -> None:
    launcher = items.classify(None, "930120", None)
    assert launcher.note is not None
    assert "grenade launchers" in launcher.note


@pytest.mark.parametrize("ml_code", ["ML1", "ml1", "ML1.a", "ML1a", " ML1 ", "ML 1.a"])
def test_ml_codes_tolerate_case_and_sub_items(ml_code: str) -> None:
    got = items.classify(None, None, ml_code)
    assert (got.category, got.source) == ("small_arms.rifle_carbine", "ml")


@pytest.mark.parametrize(
    ("ml_code", "category"),
    [
        ("ML2", "light_weapons.mortar"),
        ("ML3", "ammunition.small_arms"),
        ("ML4", "unroca.VII"),
        ("ML5", "other_military"),
        ("ML6", "unroca.II"),
        ("ML10.c", "unroca.IV"),
        ("ML13", "non_lethal_protective"),
        ("ML17", "other_military"),
        ("ML18", "other_military"),
        ("ML22", "technical_assistance"),
    ],
)
def test_ml_entries(ml_code: str, category: str) -> None:
    assert items.classify(None, None, ml_code).category == category


def test_every_ml_entry_is_mapped() -> None:
    assert set(items.vocabulary().ml) == set(range(1, 23))


def test_an_unknown_hs_code_is_other_military_with_a_note_never_dropped() -> None:
    assert items.classify(None, "1234", None) == Classification(
        "other_military", "default", "unknown HS code 1234 classified as other_military"
    )


def test_an_unknown_hs_code_falls_back_to_the_ml_code_and_says_so() -> None:
    got = items.classify(None, "8703", "ML1")
    assert (got.category, got.source) == ("small_arms.rifle_carbine", "ml")
    assert got.note is not None
    assert got.note.startswith("unknown HS code 8703; ")


@pytest.mark.parametrize(
    ("args", "note"),
    [
        ((None, None, "ML23"), "unknown ML code ML23 classified as other_military"),
        ((None, "93O1", None), "unknown HS code 93O1 classified as other_military"),
        (("rifle", None, None), "unknown category 'rifle' classified as other_military"),
        (
            (None, "12", "XX"),
            "unknown HS code 12 and unknown ML code XX classified as other_military",
        ),
        ((None, None, None), "no category, HS code or ML code given; classified as other_military"),
    ],
)
def test_anything_unrecognised_is_other_military(
    args: tuple[str | None, str | None, str | None], note: str
) -> None:
    assert items.classify(*args) == Classification("other_military", "default", note)


def test_labels() -> None:
    assert items.label("unroca.II") == "UN Register II: armoured combat vehicles"
    assert items.label("no.such.category") == "no.such.category"


def minimal(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "categories": {
            "other_military": {"label": "Other", "class": "all_arms"},
            "small_arms.rifle_carbine": {"label": "Rifles", "class": "salw"},
        },
        "hs": {"9303": {"category": "small_arms.rifle_carbine"}},
        "ml": {"ML1": {"category": "small_arms.rifle_carbine"}},
    }
    doc.update(overrides)
    return doc


def test_a_minimal_vocabulary_parses() -> None:
    vocab = parse_vocabulary(minimal())
    assert vocab.classify(None, "930330", None).category == "small_arms.rifle_carbine"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hs": {"9303": {"category": "small_arms.shotgun"}}}, "unknown category"),
        ({"hs": {"93": {"category": "other_military"}}}, "4 to 10 digits"),
        (
            {
                "hs": {
                    "9303": {"category": "other_military"},
                    "93.03": {"category": "other_military"},
                }
            },
            "listed twice",
        ),
        ({"ml": {"ML23": {"category": "other_military"}}}, "ML1 ... ML22"),
        ({"categories": {"x": {"label": "X", "class": "heavy"}}}, "class"),
        ({"extra": {}}, "unknown top-level keys"),
    ],
)
def test_a_bad_vocabulary_is_rejected_with_the_entry_named(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ItemsError, match=message):
        parse_vocabulary(minimal(**overrides))


@pytest.mark.parametrize(
    ("hs_code", "ml_code", "calibre", "category"),
    [
        ("930119", None, "60mm", "light_weapons.mortar"),  # light weapons: mortars under 75 mm
        ("930119", None, None, "light_weapons.mortar"),  # no calibre: the safe side
        ("930110", None, "120 mm", "unroca.III"),
        ("930119", None, "155-mm", "unroca.III"),
        (None, "ML2", "105mm", "unroca.III"),
        (None, "ML2", "14.5x114mm", "light_weapons.mortar"),
        ("930111", None, "60mm", "unroca.III"),  # self-propelled artillery is never a mortar
    ],
)
def test_artillery_codes_are_light_weapons_below_75_mm(
    hs_code: str | None, ml_code: str | None, calibre: str | None, category: str
) -> None:
    got = items.classify(None, hs_code, ml_code, calibre)
    assert got.category == category
    assert got.note is not None
    if calibre is not None and hs_code != "930111":
        assert f"calibre {items.calibre_mm(calibre):g} mm" in got.note


@pytest.mark.parametrize(
    ("calibre", "mm"),
    [
        ("60mm", 60.0),
        ("155-mm", 155.0),
        ("7.62x39mm", 7.62),  # a cartridge: the first number is the calibre
        ("155", 155.0),  # a bare number is millimetres
        ("15.5 cm", 155.0),
        ("6 in", 152.4),
        ('6"', 152.4),
        ("12 gauge", None),
        (".50 cal", None),
    ],
)
def test_calibres_as_records_write_them(calibre: str, mm: float | None) -> None:
    assert items.calibre_mm(calibre) == mm


def test_an_explicit_category_is_taken_as_declared_whatever_the_calibre() -> None:
    assert items.classify("unroca.III", None, None, "60mm").category == "unroca.III"
