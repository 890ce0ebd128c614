"""The shipped rules table (rules/regimes/*.yaml) against the resolutions it cites."""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta
from itertools import pairwise

import pytest

from services.core import items, resources, rules
from services.core.rules import Direction, ItemScope, Phase, Procedure, Regime, Scope

TABLE = rules.load_directory()
REGIMES = sorted(TABLE.regimes.values(), key=lambda r: r.id)
PHASES = [(r, p) for r in REGIMES for p in r.phases]
PHASE_IDS = [p.id for _, p in PHASES]


def regime(rid: str) -> Regime:
    return TABLE.regimes[rid]


def phase_on(rid: str, on: str, scope: Scope | None = None) -> Phase:
    """The one phase in force (of ``scope``, when phases of several scopes run side by side)."""
    (found,) = [
        p
        for p in regime(rid).phases_on(date.fromisoformat(on))
        if scope is None or scope in p.scopes
    ]
    return found


def list_types_in(name: str) -> set[str]:
    text = resources.data_path(name).read_text(encoding="utf-8")
    return set(re.findall(r"<UN_LIST_TYPE>([^<]*)<", text))


def test_every_arms_embargo_regime_loads() -> None:
    assert set(TABLE.regimes) == {
        "HT", "SO", "SS", "CF", "CD", "LY", "SD", "YE", "QD", "TA", "KP", "IR", "LB", "IQ",
    }  # fmt: skip


def test_guinea_bissau_travel_ban_has_no_rules() -> None:
    assert "GB" not in TABLE.regimes
    assert "GB" not in TABLE.by_list_type
    assert not (resources.rules_dir() / "GB.yaml").exists()
    assert "GB" in list_types_in("un-consolidated-2024-09-26.xml")  # it is on the list, though


def test_haiti_phases_exactly() -> None:
    got = [
        (p.start, p.end, p.scopes, p.item_scope, p.direction, p.assistance)
        for p in regime("HT").phases
    ]
    # The targeted embargo of 2653 runs throughout; the territorial phases sit beside it.
    # 2699 covers small arms, light weapons and their ammunition only, not assistance.
    assert got == [
        (date(2022, 10, 21), None, {Scope.DESIGNATED}, ItemScope.ALL_ARMS, Direction.INTO, True),
        (date(2023, 10, 2), date(2024, 10, 17), {Scope.TERRITORY}, ItemScope.SALW,
         Direction.INTO, False),
        (date(2024, 10, 18), None, {Scope.TERRITORY}, ItemScope.ALL_ARMS, Direction.INTO, True),
    ]  # fmt: skip
    assert "DO" in regime("HT").neighbours


def test_phase_ids_are_unique() -> None:
    assert len(PHASE_IDS) == len(set(PHASE_IDS))


@pytest.mark.parametrize(("reg", "phase"), PHASES, ids=PHASE_IDS)
def test_every_phase_cites_resolutions_with_matching_links(reg: Regime, phase: Phase) -> None:
    citations = list(phase.citations) + [c for e in phase.exemptions for c in e.citations]
    assert phase.citations
    for c in citations:
        m = re.fullmatch(r"S/RES/(\d+) \((\d{4})\)", c.symbol)
        assert m, c.symbol
        assert c.url == f"https://undocs.org/S/RES/{m[1]}({m[2]})"


@pytest.mark.parametrize(("reg", "phase"), PHASES, ids=PHASE_IDS)
def test_exemptions_name_only_known_item_categories(reg: Regime, phase: Phase) -> None:
    known = set(items.vocabulary().labels)
    for ex in phase.exemptions:
        assert ex.item_categories <= known, ex.id


@pytest.mark.parametrize(("reg", "phase"), PHASES, ids=PHASE_IDS)
def test_scopes_are_coherent(reg: Regime, phase: Phase) -> None:
    # Each territorial scope yields its own finding: both at once would report twice.
    assert not {Scope.TERRITORY, Scope.NON_STATE_ACTORS} <= phase.scopes
    if phase.scopes & {Scope.TERRITORY, Scope.NON_STATE_ACTORS}:
        assert reg.territory is not None
    if Scope.DESIGNATED in phase.scopes:
        assert reg.list_type is not None


@pytest.mark.parametrize("reg", REGIMES, ids=lambda r: r.id)
def test_neighbours_only_where_a_territory_is_embargoed(reg: Regime) -> None:
    territorial = any(p.scopes - {Scope.DESIGNATED} for p in reg.phases)
    assert bool(reg.neighbours) == territorial
    assert reg.territory not in reg.neighbours


@pytest.mark.parametrize("reg", REGIMES, ids=lambda r: r.id)
def test_list_types_exist_in_the_consolidated_list(reg: Regime) -> None:
    if reg.id in {"IR", "LB"}:
        assert reg.list_type is None  # no Iran entries in the list files; Lebanon has no list
    else:
        assert reg.list_type in list_types_in("un-consolidated-2024-09-26.xml")


@pytest.mark.parametrize("reg", REGIMES, ids=lambda r: r.id)
def test_phases_are_contiguous_except_for_irans_gap(reg: Regime) -> None:
    # Haiti's targeted phase runs beside its territorial ones: contiguity is per line of
    # phases, so it is left out there.
    line = [p for p in reg.phases if reg.id != "HT" or p.id != "HT-2653-targeted"]
    gaps = [
        (a.end, b.start)
        for a, b in pairwise(line)
        if a.end is None or a.end + timedelta(days=1) != b.start
    ]
    if reg.id == "IR":
        assert gaps == [(date(2020, 10, 17), date(2025, 9, 28))]
    else:
        assert gaps == []


@pytest.mark.parametrize("rid", ["LY", "KP"])
def test_libya_and_dprk_embargoes_run_both_ways(rid: str) -> None:
    assert {p.direction for p in regime(rid).phases} == {Direction.BOTH}


def test_iran_snapback_both_ways_unconfirmed_and_disputed() -> None:
    snapback = phase_on("IR", "2025-10-01")
    # In force from 27 September 2025, 8 p.m. EDT (UN Spokesperson): 00:00 UTC on the 28th.
    assert snapback.start == date(2025, 9, 28)
    assert regime("IR").phases_on(date(2025, 9, 27)) == ()
    assert snapback.direction is Direction.BOTH
    assert snapback.confidence == "disputed"
    assert snapback.disputed
    assert snapback.caveat is not None
    assert "DISPUTED" in snapback.caveat.upper()
    assert regime("IR").phases_on(date(2023, 1, 1)) == ()


@pytest.mark.parametrize("rid", ["IR", "IQ", "KP"])
def test_regimes_marked_unconfirmed_in_domain_md_are_unconfirmed(rid: str) -> None:
    # Iran's snapback is more than unconfirmed: its validity is disputed.
    assert {p.confidence for p in regime(rid).phases} - {"disputed"} == {"unconfirmed"}


def test_libya_government_exemptions_are_unconfirmed() -> None:
    with_government = [
        p for p in regime("LY").phases
        if any("government" in e.end_user_types for e in p.exemptions)
    ]  # fmt: skip
    assert with_government
    assert {p.confidence for p in with_government} == {"unconfirmed"}
    assert phase_on("LY", "2026-01-01").confidence == "unconfirmed"


def test_haiti_2752_prior_approval_wording_is_unconfirmed() -> None:
    assert phase_on("HT", "2024-11-01", Scope.TERRITORY).confidence == "unconfirmed"


def test_car_territorial_embargo_ends_the_day_before_2745() -> None:
    before, after = phase_on("CF", "2024-07-29"), phase_on("CF", "2024-07-30")
    assert Scope.TERRITORY in before.scopes
    assert after.scopes == {Scope.NON_STATE_ACTORS, Scope.DESIGNATED}
    assert after.citations[0].symbol == "S/RES/2745 (2024)"
    assert after.exemptions == ()
    assert phase_on("CF", "2013-12-05").citations[0].symbol == "S/RES/2127 (2013)"


def government_procedure(p: Phase) -> Procedure | None:
    return next((e.procedure for e in p.exemptions if "government" in e.end_user_types), None)


def test_somalia_federal_government_exempt_without_procedure_from_2714() -> None:
    before, after = phase_on("SO", "2023-11-30"), phase_on("SO", "2023-12-01")
    assert government_procedure(before) is Procedure.NOTIFICATION
    assert government_procedure(after) is Procedure.NONE
    assert after.scopes == {Scope.TERRITORY, Scope.DESIGNATED}
    private = [e for e in after.exemptions if "private_security" in e.end_user_types]
    assert [e.procedure for e in private] == [Procedure.NOTIFICATION]
    assert phase_on("SO", "1992-01-23").citations[0].symbol == "S/RES/733 (1992)"


def test_south_sudan_includes_the_government() -> None:
    p = phase_on("SS", "2025-06-01")
    assert p.scopes == {Scope.TERRITORY}
    # The one exemption for a government is a foreign State's forces evacuating its nationals
    # (2428 para 5 (d)): for that declared purpose only, and notified.
    (forces,) = [e for e in p.exemptions if "government" in e.end_user_types]
    assert forces.any_government
    assert forces.end_use_mentions
    assert forces.procedure is Procedure.NOTIFICATION
    assert p.otherwise is Procedure.APPROVAL


def test_drc_government_outside_the_embargo_since_2667() -> None:
    assert government_procedure(phase_on("CD", "2022-12-19")) is Procedure.NOTIFICATION
    assert phase_on("CD", "2022-12-20").scopes == {Scope.NON_STATE_ACTORS, Scope.DESIGNATED}


def test_sudan_government_movements_into_darfur_need_approval() -> None:
    assert government_procedure(phase_on("SD", "2025-01-01")) is Procedure.APPROVAL


def test_yemen_arms_measures_start_with_2216_not_2140() -> None:
    assert regime("YE").phases[0].start == date(2015, 4, 14)
    assert regime("YE").territory is None


@pytest.mark.parametrize("rid", ["QD", "TA", "YE"])
def test_purely_targeted_regimes_have_no_territory(rid: str) -> None:
    reg = regime(rid)
    assert reg.territory is None
    assert {s for p in reg.phases for s in p.scopes} == {Scope.DESIGNATED}


def test_dprk_small_arms_outside_1718_but_inside_2270() -> None:
    def exempt(on: str, category: str) -> bool:
        return any(category in e.item_categories for e in phase_on("KP", on).exemptions)

    assert exempt("2008-01-01", "small_arms.assault_rifle")
    assert not exempt("2008-01-01", "unroca.I")
    assert not exempt("2008-01-01", "light_weapons.portable_missile_launcher")  # MANPADS
    assert not exempt("2017-01-01", "small_arms.assault_rifle")


def test_lebanon_exempts_government_and_unifil() -> None:
    p = phase_on("LB", "2024-01-01")
    assert regime("LB").list_type is None
    assert {t for e in p.exemptions for t in e.end_user_types} == {"government", "un_mission"}
    assert p.citations[0].paragraphs == ("15",)


def test_an_unknown_hs_code_is_screened_as_other_military_with_a_note() -> None:
    c = items.classify(None, "1234", None)
    assert (c.category, c.note) == (
        "other_military",
        "unknown HS code 1234 classified as other_military",
    )
    # ... and other_military is inside every all-arms phase, e.g. Haiti since 2752.
    assert phase_on("HT", "2024-11-01", Scope.TERRITORY).item_scope is ItemScope.ALL_ARMS


def test_overlapping_phases_are_rejected() -> None:
    docs = rules.read_documents(resources.rules_dir())
    bad = copy.deepcopy(docs["HT.yaml"])
    bad["phases"][1]["end"] = "2024-10-18"  # one day into the all-arms phase
    with pytest.raises(rules.RulesError, match=r"overlaps .*\(territory\)"):
        rules.validate_documents({"HT.yaml": bad})
    # Phases of different scopes may run side by side.
    rules.validate_documents({"HT.yaml": docs["HT.yaml"]})


def test_unknown_keys_are_rejected() -> None:
    docs = rules.read_documents(resources.rules_dir())
    bad = copy.deepcopy(docs["SO.yaml"])
    bad["phases"][0]["exemption"] = []
    with pytest.raises(rules.RulesError, match="Additional properties"):
        rules.validate_documents({"SO.yaml": bad})


def test_an_exemption_must_name_a_declared_purpose() -> None:
    docs = rules.read_documents(resources.rules_dir())
    undeclared = copy.deepcopy(docs["CD.yaml"])
    undeclared["purposes"] = {
        "humanitarian-protective": undeclared["purposes"]["humanitarian-protective"]
    }
    undeclared["phases"][-1]["exemptions"][-1]["purpose"] = "humanitarian"
    with pytest.raises(rules.RulesError, match="names purpose 'humanitarian'"):
        rules.validate_documents({"CD.yaml": undeclared})
    unused = copy.deepcopy(docs["CD.yaml"])
    unused["purposes"]["demining"] = {"condition": "for demining", "mentions": ["demin"]}
    rules.validate_documents({"CD.yaml": unused})  # left from a removed exemption: harmless
    no_words = copy.deepcopy(docs["CD.yaml"])
    no_words["purposes"]["humanitarian-protective"]["mentions"] = []
    with pytest.raises(rules.RulesError, match="mentions"):
        rules.validate_documents({"CD.yaml": no_words})


# Exemptions whose resolution text makes them depend on the goods being "intended solely for
# humanitarian or protective use" (Sudan: "humanitarian, human rights monitoring or protective
# use"); each must depend on that purpose.
PURPOSE_BOUND = {
    ("CD", "non-lethal-protective"),
    ("CF", "non-lethal-protective"),
    ("HT", "non-lethal-protective"),
    ("LY", "non-lethal-humanitarian-protective"),
    ("SD", "non-lethal-protective"),
    ("SS", "non-lethal-protective"),
}


@pytest.mark.parametrize(("reg", "phase"), PHASES, ids=PHASE_IDS)
def test_humanitarian_or_protective_exemptions_depend_on_the_purpose(
    reg: Regime, phase: Phase
) -> None:
    for ex in phase.exemptions:
        if (reg.id, ex.id) in PURPOSE_BOUND:
            assert ex.purpose is not None, (phase.id, ex.id)
            assert "humanitarian" in ex.purpose.condition
            assert "protective use" in ex.purpose.condition
            assert {"humanita", "protec"} <= set(ex.purpose.mentions)
        elif "humanitarian or protective" in ex.description:
            pytest.fail(f"{phase.id}: {ex.id} reads like a purpose-bound exemption")
