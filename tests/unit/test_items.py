"""The item vocabulary (rules/items.yaml) and its classifier."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from services.core import items, resources, rules
from services.core.context import Context
from services.core.findings import Finding, Severity
from services.core.items import Classification, ItemsError, parse_vocabulary
from services.core.screening import screen
from services.core.transfers import parse_transfer
from tests.records import end_user, record

CTX = Context(ruleset=rules.load_directory())


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
        ("930690", "ammunition.other"),  # undescribed munitions: see may_be_salw below
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
    # 9306 alone is read as cartridges; 9306.90 (bombs, grenades, missiles) as munitions.
    assert items.classify(None, "9306", None).category == "ammunition.small_arms"
    assert items.classify(None, "930690", None).category == "ammunition.other"


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
        ("ML4", "ammunition.other"),  # grenades or missiles: the description decides
        ("ML4.a", "ammunition.other"),
        ("ML4.b", "other_military"),
        ("ML5", "other_military"),
        ("ML6", "unroca.II"),
        ("ML8", "explosives"),
        ("ML10.c", "unroca.IV"),
        ("ML13", "armour_plate"),  # armour plate or body armour: the description decides
        ("ML13.a", "armour_plate"),
        ("ML13b", "armour_plate"),
        ("ML13.c", "non_lethal_protective"),
        ("ML13.d.2", "non_lethal_protective"),
        ("ML15", "night_vision"),
        ("ML17", "other_military"),
        ("ML18", "other_military"),
        ("ML22", "technical_assistance"),
    ],
)
def test_ml_entries(ml_code: str, category: str) -> None:
    assert items.classify(None, None, ml_code).category == category


def test_every_ml_entry_is_mapped() -> None:
    entries = {entry for entry, letter in items.vocabulary().ml if letter is None}
    assert entries == set(range(1, 23))


def test_an_unlisted_sub_entry_maps_like_its_entry() -> None:
    assert items.classify(None, None, "ML13.e").category == "armour_plate"
    assert items.classify(None, None, "ML4.c").category == "ammunition.other"


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
        ({"ml": {"ML4.A": {"category": "other_military"}}}, "sub-entry"),
        ({"words": {"grenades": "grenade"}}, "words/grenades: expected a list"),
        (
            {"hs": {"9306": {"category": "other_military", "described": {"x": "other_military"}}}},
            "described maps words lists",
        ),
        (
            {"hs": {"9306": {"category": "other_military", "may_be_salw": "grenades"}}},
            "may_be_salw needs a reason",
        ),
        (
            {
                "hs": {
                    "9306": {
                        "category": "other_military",
                        "may_be_salw": {"reason": "r", "confidence": "likely"},
                    }
                }
            },
            "may_be_salw needs a reason",
        ),
        (
            {
                "hs": {
                    "9303": {
                        "category": "small_arms.rifle_carbine",
                        "may_be_salw": {"reason": "rifles"},
                    }
                }
            },
            "says nothing",
        ),
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


# --- Codes that carry SALW and other goods alike ------------------------------------------


@pytest.mark.parametrize(
    ("hs_code", "ml_code", "description"),
    [
        (None, "ML4", "M67 fragmentation hand grenades"),
        (None, "ML4.a", "grenades à main offensives"),
        (None, "ML4", "granadas de fragmentación"),
        (None, "ML4", "RPG-7 rounds"),
        (None, "ML4", "60 mm mortar bombs"),
        ("930690", None, "hand grenades"),
        ("930690", None, "obus de mortier de 60 mm"),
    ],
)
def test_ml4_and_hs_9306_90_named_grenades_or_light_mortar_bombs_are_light_weapons_ammunition(
    hs_code: str | None, ml_code: str | None, description: str
) -> None:
    got = items.classify(None, hs_code, ml_code, None, description)
    assert got.category == "ammunition.light_weapons"
    assert got.may_be_salw is None


@pytest.mark.parametrize(
    ("hs_code", "ml_code"), [(None, "ML4"), (None, "ML4.a"), ("930690", None), ("93069000", None)]
)
def test_undescribed_munitions_are_munitions_that_may_be_grenades(
    hs_code: str | None, ml_code: str | None
) -> None:
    got = items.classify(None, hs_code, ml_code, None, "explosive ordnance, assorted")
    assert got.category == "ammunition.other"  # no exemption limited to SALW clears them
    assert got.may_be_salw is not None
    assert got.may_be_salw.confirmed
    assert "grenades" in got.may_be_salw.reason
    assert "the description does not say which" in got.may_be_salw.reason


def test_missiles_declared_ml4_are_not_taken_for_grenades() -> None:
    got = items.classify(None, None, "ML4", None, "short-range ballistic missiles")
    assert (got.category, got.may_be_salw is not None) == ("ammunition.other", True)
    assert items.classify(None, None, "ML4.b", None, "counter-IED jammers").may_be_salw is None


@pytest.mark.parametrize(
    ("description", "calibre", "category", "doubt"),
    [
        ("mortar bombs", None, "ammunition.light_weapons", False),  # no calibre: the safe side
        ("mortar bombs", "60mm", "ammunition.light_weapons", False),
        ("82 mm mortar bombs", None, "ammunition.other", True),  # A/52/298: under 100 mm
        ("mortar bombs", "81mm", "ammunition.other", True),
        ("120 mm mortar bombs", None, "ammunition.other", False),
    ],
)
def test_mortar_bombs_follow_the_mortars_calibre_lines(
    description: str, calibre: str | None, category: str, doubt: bool
) -> None:
    got = items.classify(None, None, "ML4", calibre, description)
    assert got.category == category
    assert (got.may_be_salw is not None) == doubt


@pytest.mark.parametrize(
    ("hs_code", "ml_code", "calibre", "description"),
    [
        ("930119", None, "82mm", "82 mm mortars"),
        ("930110", None, "81 mm", "mortars"),
        ("930110", None, None, "81 mm mortars M252"),  # the calibre read from the description
        (None, "ML2", "75mm", "mortars"),
    ],
)
def test_mortars_from_75_to_under_100_mm_stay_artillery_but_may_be_light_weapons(
    hs_code: str | None, ml_code: str | None, calibre: str | None, description: str
) -> None:
    got = items.classify(None, hs_code, ml_code, calibre, description)
    assert got.category == "unroca.III"  # the UN Register's 75 mm line is kept
    assert got.may_be_salw == items.MORTAR_DOUBT
    assert "A/52/298" in got.may_be_salw.reason
    assert not got.may_be_salw.confirmed  # the 100 mm wording is quoted, not checked


@pytest.mark.parametrize(
    ("category", "calibre", "description", "doubt"),
    [
        ("unroca.III", "82mm", "82 mm mortars", True),
        ("ammunition.other", None, "82 mm mortar bombs", True),
        ("unroca.III", "120mm", "120 mm mortars", False),
        ("unroca.III", "122mm", "122 mm howitzers", False),
        ("unroca.III", "82mm", "82 mm recoilless guns", False),  # only mortars: A/52/298
        ("light_weapons.mortar", "82mm", "82 mm mortars", False),  # declared a light weapon
    ],
)
def test_a_declared_category_keeps_its_word_but_mortars_under_100_mm_may_be_light(
    category: str, calibre: str, description: str, doubt: bool
) -> None:
    got = items.classify(category, None, None, calibre, description)
    assert got.category == category
    assert (got.may_be_salw is not None) == doubt


def test_mortars_of_100_mm_and_more_or_under_75_mm_raise_no_doubt() -> None:
    assert items.classify(None, "930110", None, "120mm", "mortars").may_be_salw is None
    light = items.classify(None, "930110", None, "60mm", "mortars")
    assert (light.category, light.may_be_salw) == ("light_weapons.mortar", None)


@pytest.mark.parametrize("hs_code", ["9305", "930510", "930520", "930591", "930599", "93051000"])
def test_parts_of_firearms_may_be_salw(hs_code: str) -> None:
    got = items.classify(None, hs_code, None)
    assert got.category == "parts_components"
    assert got.may_be_salw is not None
    assert "does not name their parts" in got.may_be_salw.reason


@pytest.mark.parametrize(
    ("hs_code", "ml_code", "doubt"),
    [
        (None, "ML1", True),  # ML1 and its specially designed components
        (None, "ML1.d", True),
        ("9302", None, True),
        ("930591", None, True),
        (None, "ML6", False),  # parts of vehicles
        (None, None, False),  # parts of what, nobody says
    ],
)
def test_parts_declared_under_a_code_for_small_arms_may_be_salw(
    hs_code: str | None, ml_code: str | None, doubt: bool
) -> None:
    got = items.classify("parts_components", hs_code, ml_code, None, "bolt carrier groups")
    assert got.category == "parts_components"
    assert (got.may_be_salw is not None) == doubt


def test_blank_firing_pistols_may_be_converted_into_small_arms() -> None:
    got = items.classify(None, "930390", None, None, "blank-firing alarm pistols")
    assert got.category == "other_military"
    assert got.may_be_salw is not None
    assert "blank" in got.may_be_salw.reason
    assert "Small Arms Survey" in got.may_be_salw.reason
    declared = items.classify("other_military", "93039000", None)
    assert declared.may_be_salw == got.may_be_salw


# --- Non-lethal by what the item is, explosives, night vision -----------------------------


@pytest.mark.parametrize(
    ("ml_code", "description", "category"),
    [
        ("ML13", "ballistic helmets, level IIIA", "non_lethal_protective"),
        ("ML13", "body armor vests with plates", "non_lethal_protective"),
        ("ML13", "gilets pare-balles", "non_lethal_protective"),
        ("ML13", "chalecos antibalas", "non_lethal_protective"),
        ("ML13", "armour plate kits for pick-up trucks", "armour_plate"),
        ("ML13", "armoured steel", "armour_plate"),
        ("ML13.a", "ballistic helmets", "armour_plate"),  # the sub-entry says armour plate
        ("ML13.c", "MICH helmets", "non_lethal_protective"),
    ],
)
def test_ml13_is_non_lethal_only_for_body_armour_and_helmets(
    ml_code: str, description: str, category: str
) -> None:
    got = items.classify(None, None, ml_code, None, description)
    assert got.category == category
    assert items.is_non_lethal(got.category) == (category == "non_lethal_protective")


@pytest.mark.parametrize(
    ("hs_code", "category"),
    [
        ("3601", "explosives"),
        ("360200", "explosives"),
        ("360340", "explosives"),  # detonating caps (HS 2022)
        ("3603000000", "explosives"),
        ("360490", "explosives"),
        ("650610", "non_lethal_protective"),
        ("852583", "night_vision"),
        ("854020", "night_vision"),
    ],
)
def test_explosives_helmets_and_night_vision_have_categories(hs_code: str, category: str) -> None:
    got = items.classify(None, hs_code, None)
    assert (got.category, got.may_be_salw) == (category, None)
    assert got.note is not None


def test_new_categories_are_neither_salw_nor_non_lethal() -> None:
    for category in ("armour_plate", "explosives", "night_vision"):
        assert not items.is_salw(category)
        assert not items.is_non_lethal(category)


def test_descriptions_are_read_only_where_a_code_spans_several_kinds() -> None:
    # Rifles stay rifles whatever the description says; a declared category is as declared.
    assert items.classify(None, "930330", None, None, "hand grenades").category == (
        "small_arms.rifle_carbine"
    )
    assert items.classify("ammunition.other", None, "ML4", None, "hand grenades").category == (
        "ammunition.other"
    )


def test_fold_drops_case_accents_and_punctuation() -> None:
    assert items.fold("Grenades À-MAIN, RPG-7!") == "grenades a main rpg 7"


# --- Screening: what a SALW-only phase makes of them ----------------------------------------

#: In force 2023-10-02 .. 2024-10-17: small arms, light weapons and ammunition only.
SALW_ONLY = "2024-03-12"
#: From 2024-10-18: arms of all types.
ALL_ARMS = "2024-11-20"


def haiti(on: str, *lines: dict[str, Any], **party: str) -> list[Finding]:
    rec = record(transfer_date=on, items=[{"quantity": 50, **line} for line in lines])
    return screen(parse_transfer(end_user(rec, **party) if party else rec), CTX)


def ht(findings: list[Finding]) -> list[tuple[str, str]]:
    """The Haiti embargo's findings (not the organised-crime indicator, tested on its own)."""
    return [
        (f.kind.value, f.rule_id)
        for f in findings
        if f.regime == "HT" and not f.rule_id.startswith("indicator.organised_crime")
    ]


def test_grenades_declared_ml4_violate_the_salw_only_phase() -> None:
    found = haiti(SALW_ONLY, {"ml_code": "ML4", "description": "fragmentation hand grenades"})
    assert ht(found) == [("violation", "HT.territory")]


def test_undescribed_ml4_goods_raise_an_indicator_with_the_reason() -> None:
    found = haiti(SALW_ONLY, {"ml_code": "ML4.a", "description": "munitions, assorted"})
    assert ht(found) == [("indicator", "HT.territory.may_be_salw")]
    (f,) = [f for f in found if f.regime == "HT"]
    assert f.severity is Severity.MEDIUM
    assert f.phase == "HT-2699-salw-territorial"
    assert "may fall under the territory-wide arms embargo on Haiti" in f.summary
    assert "ML4.a covers hand and rifle grenades" in f.summary
    assert "is not covered by any exemption" in f.summary
    assert f.citations[0] == "S/RES/2699 (2023), paras 14 (a), 14 (b)"
    assert f.evidence["may_be_salw"][0]["description"] == "munitions, assorted"
    assert f.evidence["items"][0]["category"] == "ammunition.other"


def test_under_the_all_arms_phase_the_same_goods_are_a_violation_without_doubt() -> None:
    found = haiti(ALL_ARMS, {"ml_code": "ML4", "description": "munitions, assorted"})
    assert ht(found) == [("violation", "HT.territory")]


def test_a_standing_exemption_clears_goods_whatever_they_are() -> None:
    police = {"name": "Police Nationale d'Haïti", "type": "government"}
    found = haiti(SALW_ONLY, {"ml_code": "ML4", "description": "munitions"}, **police)
    assert ht(found) == []


def test_an_82_mm_mortar_raises_an_indicator_citing_the_1997_panel() -> None:
    mortar = {"hs_code": "930110", "calibre": "82mm", "description": "82 mm mortars"}
    found = haiti(SALW_ONLY, mortar)
    assert ht(found) == [("indicator", "HT.territory.may_be_salw")]
    (f,) = [f for f in found if f.regime == "HT"]
    assert "A/52/298" in f.summary
    assert "unconfirmed" in f.summary
    assert f.evidence["confidence"] == "unconfirmed"
    assert f.evidence["may_be_salw"][0]["confirmed"] is False
    assert ht(haiti(SALW_ONLY, {**mortar, "calibre": "120mm"})) == []
    assert ht(haiti(SALW_ONLY, {**mortar, "calibre": "60mm"})) == [("violation", "HT.territory")]


@pytest.mark.parametrize(
    "line",
    [
        {"hs_code": "930510", "description": "pistol slides and barrels"},
        {"hs_code": "930591", "description": "parts and accessories of military weapons"},
        {"category": "parts_components", "ml_code": "ML1", "description": "AR-15 receivers"},
        {"hs_code": "930390", "description": "blank-firing alarm pistols"},
    ],
)
def test_salw_parts_and_blank_firing_pistols_raise_an_indicator(line: dict[str, Any]) -> None:
    assert ht(haiti(SALW_ONLY, line)) == [("indicator", "HT.territory.may_be_salw")]


def test_one_indicator_per_receiving_party_lists_every_doubtful_line() -> None:
    found = haiti(
        SALW_ONLY,
        {"hs_code": "930510", "description": "pistol slides"},
        {"hs_code": "930390", "description": "blank-firing pistols"},
        {"category": "small_arms.rifle_carbine", "description": "rifles"},
    )
    assert ht(found) == [("violation", "HT.territory"), ("indicator", "HT.territory.may_be_salw")]
    (doubt,) = [f for f in found if f.rule_id == "HT.territory.may_be_salw"]
    assert len(doubt.evidence["may_be_salw"]) == 2


def test_vehicle_armour_is_not_non_lethal_protective_equipment() -> None:
    armour = {"ml_code": "ML13", "description": "armour plate kits for pick-up trucks"}
    assert ht(haiti(ALL_ARMS, armour)) == [("violation", "HT.territory")]
    helmets = {"ml_code": "ML13", "description": "ballistic helmets for humanitarian staff"}
    # Helmets are non-lethal protective equipment: under 2752 they need the Committee, and
    # only if for humanitarian or protective use, which an item description does not declare.
    assert ht(haiti(ALL_ARMS, helmets)) == [
        ("violation", "HT.territory.non-lethal-protective.purpose_unstated")
    ]


def test_drc_exempts_body_armour_and_helmets_but_not_armour_plate() -> None:
    # 1533 Committee exemptions page (paragraph 3 of S/RES/2293 (2016)): non-lethal equipment
    # for humanitarian or protective use needs no notification; other supplies to
    # non-governmental entities need prior approval.
    # The exemption is for goods "intended solely" for that use: the record must declare it.
    def cd(
        line: dict[str, Any], end_use: str = "protective equipment for aid workers"
    ) -> list[str]:
        rec = end_user(
            record(
                transfer_date="2024-06-05",
                route={"origin": "KE", "destination": "CD"},
                items=[{"quantity": 10, **line}],
                declared_end_use=end_use,
            ),
            name="Kivu Humanitarian Relief ASBL",
            country="CD",
        )
        return [f.rule_id for f in screen(parse_transfer(rec), CTX) if f.regime == "CD"]

    helmets = {"ml_code": "ML13", "description": "helmets and body armour for aid workers"}
    assert cd(helmets) == []
    assert cd(helmets, end_use="site security") == [
        "CD.non_state_actors.non-lethal-protective.purpose_unstated"
    ]
    assert cd({"ml_code": "ML13.a", "description": "armour plate for Land Cruiser doors"}) == [
        "CD.non_state_actors"
    ]


def test_undescribed_munitions_are_not_cleared_by_an_exemption_for_salw() -> None:
    # DPRK 2006-09: 1718 left small arms and their ammunition out; missiles were in.
    rec = end_user(
        record(
            transfer_date="2008-05-01",
            route={"origin": "CN", "destination": "KP"},
            items=[{"ml_code": "ML4", "description": "munitions", "quantity": 10}],
        ),
        name="Sinuiju Hardware Trading Co",
        country="KP",
    )
    kinds = [
        (f.kind.value, f.rule_id) for f in screen(parse_transfer(rec), CTX) if f.regime == "KP"
    ]
    assert ("violation", "KP.territory") in kinds
    grenades = end_user(
        record(
            transfer_date="2008-05-01",
            route={"origin": "CN", "destination": "KP"},
            items=[{"ml_code": "ML4", "description": "hand grenades", "quantity": 10}],
        ),
        name="Sinuiju Hardware Trading Co",
        country="KP",
    )
    assert [f for f in screen(parse_transfer(grenades), CTX) if f.rule_id == "KP.territory"] == []
