"""What the rules table cites, checked against the committees' pages (issue 12)."""

from __future__ import annotations

from datetime import date

from services.core import rules
from services.core.rules import Citation, Phase, Procedure, Scope

TABLE = rules.load_directory()


def phase(rid: str, pid: str) -> Phase:
    return next(p for p in TABLE.regimes[rid].phases if p.id == pid)


def exemption(p: Phase, eid: str) -> rules.Exemption:
    return next(e for e in p.exemptions if e.id == eid)


def test_haitis_salw_phase_cites_2699_para_14_not_2700() -> None:
    """The Haiti Committee: the measure is "set out in paragraphs 14 (a) and (b) of resolution
    2699 (2023)"; 14 (a) standing, 14 (b) for the Committee's consideration."""
    salw = phase("HT", "HT-2699-salw-territorial")
    assert salw.citation_texts == ("S/RES/2699 (2023), paras 14 (a), 14 (b)", "S/RES/2700 (2023)")
    for ex in salw.exemptions:
        assert [str(c) for c in ex.citations] == ["S/RES/2699 (2023), para 14 (a)"]
        assert ex.procedure is Procedure.NONE
    assert salw.otherwise is Procedure.APPROVAL
    assert "read from 2700" not in (salw.caveat or "")


def test_haitis_2752_exemptions_cite_para_2_not_para_3() -> None:
    """The Committee's exemptions page: standing "pursuant to paragraphs 2(a) and 6"; two types
    only (for its consideration; standing)."""
    all_arms = phase("HT", "HT-2752-all-arms-territorial")
    standing = [e for e in all_arms.exemptions if e.procedure is Procedure.NONE]
    assert {e.id for e in standing} == {"un-binuh-authorised-missions", "government-security-units"}
    for ex in standing:
        assert str(ex.citations[0]) == "S/RES/2752 (2024), paras 2 (a), 6"
    non_lethal = exemption(all_arms, "non-lethal-protective")
    assert non_lethal.procedure is Procedure.APPROVAL
    assert [str(c) for c in non_lethal.citations] == ["S/RES/2752 (2024), para 2 (b) [unconfirmed]"]
    cited = {p for ex in all_arms.exemptions for c in ex.citations for p in c.paragraphs}
    assert "3" not in cited


def test_haitis_targeted_phase_cites_each_renewal_from_its_adoption_date() -> None:
    targeted = phase("HT", "HT-2653-targeted")
    assert targeted.citations_on(date(2023, 10, 18)) == ("S/RES/2653 (2022), paras 11, 12",)
    assert targeted.citations_on(date(2023, 10, 19)) == (
        "S/RES/2653 (2022), paras 11, 12",
        "S/RES/2700 (2023)",
    )
    assert targeted.citations_on(date(2025, 10, 17))[-2:] == (
        "S/RES/2752 (2024)",
        "S/RES/2794 (2025)",
    )
    assert "S/RES/2794 (2025)" not in targeted.citations_on(date(2025, 10, 16))


def test_an_adoption_date_decides_over_the_year_in_the_symbol() -> None:
    adopted = Citation("S/RES/2700 (2023)", adopted=date(2023, 10, 19))
    assert not adopted.adopted_by(date(2023, 10, 18))
    assert adopted.adopted_by(date(2023, 10, 19))
    assert Citation("S/RES/2700 (2023)").adopted_by(date(2023, 1, 1))  # the year alone


def test_drc_exemptions_cite_2293_para_3() -> None:
    """The 1533 Committee: "Current exemptions ... are guided by paragraph 3 of resolution 2293
    (2016)"; none of them needs a notification. Its earlier page numbers the non-lethal
    equipment "intended solely for humanitarian or protective use" 3 (c)."""
    current = phase("CD", "CD-2667-non-governmental")
    for eid, paragraph in (("monusco", "3"), ("non-lethal-protective", "3 (c)")):
        ex = exemption(current, eid)
        assert str(ex.citations[0]) == f"S/RES/2293 (2016), para {paragraph}"
        assert ex.procedure is Procedure.NONE
    purpose = exemption(current, "non-lethal-protective").purpose
    assert purpose is not None
    assert purpose.condition == "intended solely for humanitarian or protective use"


def test_drc_2641_kept_notification_for_annex_a_items_only() -> None:
    p = phase("CD", "CD-2641-annex-a-notified")
    assert (p.start, p.end) == (date(2022, 6, 30), date(2022, 12, 19))
    annex_a = exemption(p, "government-annex-a-notified")
    assert annex_a.procedure is Procedure.NOTIFICATION
    assert "small_arms.assault_rifle" in annex_a.item_categories
    assert "unroca.II" not in annex_a.item_categories
    assert exemption(p, "government-other").procedure is Procedure.NONE
    assert exemption(p, "non-lethal-protective").procedure is Procedure.NONE


def test_dprk_2270_citation_says_its_paragraph_is_unconfirmed() -> None:
    p = phase("KP", "KP-2270-all-arms-incl-salw")
    assert p.citation_texts[0] == "S/RES/2270 (2016) [unconfirmed]"


def test_somalia_cites_the_2713_measure_paragraphs() -> None:
    """The 2713 Committee: the embargo is "set out in paragraphs 33-41 of resolution 2713"."""
    p = phase("SO", "SO-2714-al-shabaab")
    assert p.citation_texts[0] == "S/RES/2713 (2023), paras 33–41"
    psc = exemption(p, "licensed-private-security-annex-a")
    assert str(psc.citations[0]) == "S/RES/2713 (2023), para 36"
    assert "Annex A" in psc.description
    assert Scope.DESIGNATED in p.scopes


def test_south_sudan_codes_the_notification_and_standing_exemptions_of_para_5() -> None:
    p = phase("SS", "SS-2683-peace-agreement-standing")
    procedures = {e.id: e.procedure for e in p.exemptions}
    assert procedures == {
        "un-personnel": Procedure.NONE,
        "protective-clothing-personal-use": Procedure.NONE,
        "non-lethal-peace-agreement": Procedure.NONE,
        "non-lethal-protective": Procedure.NOTIFICATION,
        "state-forces-protecting-nationals": Procedure.NOTIFICATION,
    }
    assert "S/RES/2683 (2023), para 2" in p.citation_texts
    earlier = phase("SS", "SS-2633-peace-agreement-notified")
    assert exemption(earlier, "non-lethal-peace-agreement").procedure is Procedure.NOTIFICATION


def test_libyas_2769_exceptions_are_coded_and_start_on_its_adoption() -> None:
    p = phase("LY", "LY-2769-reunification-and-carriers")
    assert p.start == date(2025, 1, 16)
    assert phase("LY", "LY-2174-government-approval").end == date(2025, 1, 15)
    training = exemption(p, "reunification-training")
    assert training.item_categories == {"technical_assistance"}
    assert training.end_use_mentions
    carrier = exemption(p, "military-carrier-temporary")
    assert carrier.carrier_types == {"government"}
    assert {"unroca.IV", "unroca.VI"} <= carrier.item_categories
    for ex in (training, carrier):
        assert ex.procedure is Procedure.NONE
        assert [str(c) for c in ex.citations] == ["S/RES/2769 (2025) [unconfirmed]"]
