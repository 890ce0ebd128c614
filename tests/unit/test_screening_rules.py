"""Screening outcomes beyond the Haiti timeline: assistance, HS codes, Committee references,
listed parties of regimes without a targeted arms embargo, disputed measures."""

from __future__ import annotations

from typing import Any

import pytest

from services.core.findings import Finding, Kind
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.knowledge import context_from_files
from tests.records import end_user, record

CTX = context_from_files(None, None)  # the shipped rules and list


def findings(rec: dict[str, Any]) -> list[Finding]:
    return screen(parse_transfer(rec), CTX)


def rules_of(rec: dict[str, Any], kind: Kind) -> list[str]:
    return [f.rule_id for f in findings(rec) if f.kind is kind]


def test_technical_assistance_is_outside_haitis_salw_phase_but_inside_2752() -> None:
    training = [{"category": "technical_assistance", "description": "training", "quantity": 1}]
    assert rules_of(record(transfer_date="2023-11-15", items=training), Kind.VIOLATION) == []
    assert rules_of(record(transfer_date="2024-11-20", items=training), Kind.VIOLATION) == [
        "HT.territory"
    ]


def test_grenades_declared_by_hs_code_only_fall_under_haitis_salw_phase() -> None:
    grenades = [{"hs_code": "930690", "description": "hand grenades", "quantity": 50}]
    assert rules_of(record(transfer_date="2023-11-15", items=grenades), Kind.VIOLATION) == [
        "HT.territory"
    ]


def houthi_supply(**documents: str) -> dict[str, Any]:
    rec = record(
        transfer_date="2024-03-01",
        route={"origin": "IR", "destination": "YE"},
        documents=documents,
    )
    return end_user(rec, name="Ansar Allah", country="YE", type="armed_group")


def test_a_designated_receiver_with_a_committee_reference_is_for_review_not_a_violation() -> None:
    (without,) = [f for f in findings(houthi_supply()) if f.rule_id == "YE.designated.receiving"]
    assert without.kind is Kind.VIOLATION
    assert "no prior approval by the Committee is referenced" in without.summary
    (cited,) = [
        f
        for f in findings(houthi_supply(committee_reference="2140/EX/2024/1"))
        if f.rule_id == "YE.designated.referenced"
    ]
    assert cited.kind is Kind.INDICATOR
    assert "verify Committee reference '2140/EX/2024/1'" in cited.summary
    assert cited.evidence["committee_reference"] == "2140/EX/2024/1"


def test_a_listed_party_of_a_regime_without_a_targeted_arms_embargo_is_an_indicator() -> None:
    rec = record(transfer_date="2024-05-01", route={"origin": "UG", "destination": "KE"})
    rec["parties"].append(
        {"role": "broker", "name": "Gabriel Jok Riak Makol", "country": "SS", "type": "individual"}
    )
    (listed,) = [f for f in findings(rec) if f.designated is not None]
    assert (listed.kind, listed.rule_id) == (Kind.INDICATOR, "SS.designated.listed_party")
    assert listed.designated.reference_number == "SSi.001"
    assert listed.summary.startswith("Broker 'Gabriel Jok Riak Makol' matches SSi.001")
    # South Sudan's embargo then in force is territory-wide: the finding says so and cites it.
    assert "the arms embargo in force on 2024-05-01 (S/RES/2428 (2018)" in listed.summary
    assert "covers arms into SS, not the designated persons wherever they are" in listed.summary
    assert listed.phase is None  # cited, not its phase: the finding's key is unchanged
    assert listed.citations[0].startswith("S/RES/2428 (2018)")


def test_a_listed_party_is_not_told_there_is_no_embargo_beside_a_territorial_violation() -> None:
    """Thomas Lubanga receiving pistols in the DRC in 2015: the embargo then (1807) covers the
    territory, and the designated-party finding must not say no embargo was in force."""
    rec = end_user(
        record(transfer_date="2015-05-01", route={"origin": "UG", "destination": "CD"}),
        name="Thomas Lubanga",
        country="CD",
        type="individual",
    )
    by_rule = {f.rule_id: f for f in findings(rec)}
    assert by_rule["CD.territory"].kind is Kind.VIOLATION
    listed = by_rule["CD.designated.listed_party"]
    assert "no arms embargo" not in listed.summary
    assert "(S/RES/1807 (2008), paras 1, 5) covers arms into CD" in listed.summary
    assert listed.citations == by_rule["CD.territory"].citations


def test_designated_summaries_start_with_a_capital() -> None:
    rec = end_user(record(), name="Jimmy Cherizier", country="HT", type="individual")
    (match,) = [f for f in findings(rec) if f.rule_id == "HT.designated.receiving"]
    assert match.summary.startswith("End user 'Jimmy Cherizier' matches designated HTi.001")
    assert match.phase == "HT-2653-targeted"
    assert "S/RES/2653 (2022), paras 11, 12" in match.citations[0]


def test_a_violation_under_irans_snapback_says_the_measure_is_disputed() -> None:
    rec = record(transfer_date="2025-10-01", route={"origin": "RU", "destination": "IR"})
    rec = end_user(rec, country="IR")
    rifles = [{"category": "small_arms.assault_rifle", "description": "rifles", "quantity": 10}]
    (violation,) = [f for f in findings({**rec, "items": rifles}) if f.kind is Kind.VIOLATION]
    assert violation.phase == "IR-snapback-2025"
    assert "the measure is legally disputed" in violation.summary


def violations(rec: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [
        (f.rule_id, f.party.name if f.party else None)
        for f in findings(rec)
        if f.kind is Kind.VIOLATION
    ]


@pytest.mark.parametrize(
    ("on", "destination", "user", "country"),
    [
        ("2024-11-20", "HT", "Embassy of Ruritania", "US"),  # Haiti: units under its command
        ("2023-11-15", "HT", "Garde Nationale Dominicaine", "DO"),
        ("2024-05-01", "SO", "Ethiopian National Defense Force", "ET"),  # the FGS only
        ("2022-05-01", "LB", "IRGC Quds Force", "IR"),  # the Lebanese government or UNIFIL
    ],
)
def test_a_foreign_government_is_not_the_government_an_exemption_names(
    on: str, destination: str, user: str, country: str
) -> None:
    rec = end_user(
        record(transfer_date=on, route={"origin": "IR", "destination": destination}),
        name=user,
        country=country,
        type="government",
    )
    assert [rule for rule, _ in violations(rec)] == [f"{destination}.territory"]
    own = end_user(rec, name="Ministry of Defence", country=destination)
    unnamed = end_user(rec, name="Ministry of Defence", country=None)
    assert f"{destination}.territory" not in [rule for rule, _ in violations(own)]
    assert violations(unnamed) == violations(
        own
    )  # a government naming no country: the destination's


def test_out_of_libya_an_exemption_for_its_government_is_no_exemption_for_the_buyer() -> None:
    rec = end_user(
        record(transfer_date="2012-05-01", route={"origin": "LY", "destination": "EG"}),
        name="Egyptian Army",
        country="EG",
        type="government",
    )
    (violation,) = [f for f in findings(rec) if f.kind is Kind.VIOLATION]
    assert violation.rule_id == "LY.territory"
    assert "out of LY" in violation.summary
    assert "is not covered by any exemption" in violation.summary


def test_every_end_user_is_screened_whatever_their_order() -> None:
    police = {
        "role": "end_user",
        "name": "Police Nationale d'Haïti",
        "country": "HT",
        "type": "government",
    }
    company = {
        "role": "end_user",
        "name": "Caribbean Import Services SA",
        "country": "HT",
        "type": "company",
    }
    exporter = record()["parties"][0]
    first = record(parties=[exporter, police, company])
    second = record(parties=[exporter, company, police])
    expected = [("HT.territory", "Caribbean Import Services SA")]
    assert violations(first) == violations(second) == expected
    only_police = record(parties=[exporter, police])
    assert violations(only_police) == []


def test_light_mortars_declared_by_hs_code_fall_under_haitis_salw_phase() -> None:
    mortars = [
        {
            "hs_code": "930119",
            "description": "60 mm commando mortars",
            "calibre": "60mm",
            "quantity": 6,
        }
    ]
    assert rules_of(record(transfer_date="2023-11-14", items=mortars), Kind.VIOLATION) == [
        "HT.territory"
    ]
    howitzers = [{**mortars[0], "description": "howitzers", "calibre": "155mm"}]
    assert rules_of(record(transfer_date="2023-11-14", items=howitzers), Kind.VIOLATION) == []


def test_approval_under_2231_is_the_security_councils_not_a_committees() -> None:
    rec = end_user(
        record(transfer_date="2018-03-01", route={"origin": "RU", "destination": "IR"}),
        name="Pars Trading Co",
        country="IR",
    )
    (violation,) = [f for f in findings(rec) if f.kind is Kind.VIOLATION]
    assert violation.summary.endswith("no prior approval by the Security Council is referenced.")
    haiti = findings(record())
    assert any("no prior approval by the Committee is referenced" in f.summary for f in haiti)


def test_a_finding_cites_no_resolution_adopted_after_its_transfer() -> None:
    rec = end_user(
        record(transfer_date="2015-03-01", route={"origin": "EG", "destination": "LY"}),
        country="LY",
    )
    (violation,) = [f for f in findings(rec) if f.kind is Kind.VIOLATION]
    years = [int(c.split("(")[1][:4]) for c in violation.citations]
    assert years, violation.citations
    assert max(years) <= 2015, violation.citations


def test_iraqs_occupying_authority_is_exempt_whatever_state_it_names() -> None:
    """IQ-1483 exempts the Authority, the occupying powers: any_government in its rules."""
    rec = end_user(
        record(transfer_date="2003-09-01", route={"origin": "US", "destination": "IQ"}),
        name="Coalition Provisional Authority",
        country="US",
        type="government",
    )
    assert violations(rec) == []


def test_a_government_naming_no_country_on_an_export_is_the_buyers() -> None:
    rec = end_user(
        record(transfer_date="2012-05-01", route={"origin": "LY", "destination": "EG"}),
        name="Ministry of Defence",
        country=None,
        type="government",
    )
    assert [rule for rule, _ in violations(rec)] == ["LY.territory"]


def test_an_exemptions_later_resolutions_are_not_cited_either() -> None:
    """Sudan's government movements into Darfur: 1591 (2005), later also 1945 (2010)."""
    rec = end_user(
        record(transfer_date="2008-06-01", route={"origin": "CN", "destination": "SD"}),
        name="Sudanese Armed Forces",
        country="SD",
        type="government",
    )
    (finding,) = [f for f in findings(rec) if f.rule_id.startswith("SD.territory")]
    assert "S/RES/1591 (2005), para 7" in finding.citations
    assert not any("(2010)" in c or "(2012)" in c for c in finding.citations), finding.citations


def vessel_into_libya(carrier_type: str | None, end_use: str | None) -> dict[str, Any]:
    rec = record(
        transfer_date="2025-03-04",
        route={"origin": "IT", "destination": "LY"},
        items=[{"ml_code": "ML9", "description": "amphibious transport dock", "quantity": 1}],
    )
    rec = end_user(rec, name="Libyan Red Crescent", country="LY", type="company")
    if carrier_type:
        rec["parties"].append(
            {"role": "carrier", "name": "Marina Militare", "country": "IT", "type": carrier_type}
        )
    if end_use:
        rec["declared_end_use"] = end_use
    return rec


@pytest.mark.parametrize(
    ("carrier_type", "end_use", "exempt"),
    [
        ("government", "temporarily in Libyan waters to deliver humanitarian aid", True),
        ("government", "Temporary port call; aid delivery", True),
        ("company", "temporarily in Libyan waters to deliver humanitarian aid", False),
        (None, "temporarily in Libyan waters to deliver humanitarian aid", False),
        ("government", "coastal patrol", False),
        ("government", None, False),
    ],
)
def test_libyas_military_carrier_exception_needs_a_state_carrier_and_a_temporary_stay(
    carrier_type: str | None, end_use: str | None, exempt: bool
) -> None:
    """2769: not "applied to military aircraft or naval vessels temporarily introduced into
    Libya's territory solely to deliver items ... otherwise exempted or not covered"."""
    found = violations(vessel_into_libya(carrier_type, end_use))
    assert found == ([] if exempt else [("LY.territory", "Libyan Red Crescent")])


def test_a_claimed_exemption_counts_as_a_declared_purpose() -> None:
    training = [{"category": "technical_assistance", "description": "staff course", "quantity": 1}]
    rec = end_user(
        record(transfer_date="2025-06-10", route={"origin": "IT", "destination": "LY"}),
        name="Eastern Region Joint Military Command",
        country="LY",
        type="armed_group",
    )
    rec = {**rec, "items": training}
    assert violations(rec) == [("LY.territory", "Eastern Region Joint Military Command")]
    claimed = {**rec, "documents": {"exemption_claimed": "2769: training for REUNIFICATION"}}
    assert violations(claimed) == []


def body_armour(destination: str, end_use: str | None, **party: Any) -> dict[str, Any]:
    armour = [{"category": "non_lethal_protective", "description": "body armour", "quantity": 40}]
    rec = record(
        transfer_date="2025-03-10",
        route={"origin": "ZA", "destination": destination},
        items=armour,
        documents={"export_licence": "EL-1", "end_user_certificate": "EUC-1"},
    )
    rec = end_user(
        rec, **{"name": "Relief Partners", "country": destination, "type": "company"} | party
    )
    if end_use is not None:
        rec["declared_end_use"] = end_use
    return rec


def embargo_findings(rec: dict[str, Any]) -> list[Finding]:
    return [f for f in findings(rec) if not f.rule_id.startswith("indicator.")]


@pytest.mark.parametrize(
    "end_use",
    [
        "Protective use by humanitarian staff",
        "PROTECCIÓN del personal humanitario",
        "usage humanitaire",
        "Humanitarian demining teams",
        "déminage humanitaire",
    ],
)
def test_a_stated_humanitarian_or_protective_purpose_keeps_the_standing_exemption(
    end_use: str,
) -> None:
    """2293 (2016) para 3 (c): "non-lethal military equipment intended solely for
    humanitarian or protective use" — the record's words, case and accents aside."""
    assert embargo_findings(body_armour("CD", end_use)) == []


@pytest.mark.parametrize("end_use", [None, "site security for a copper mine", ""])
def test_no_stated_purpose_makes_the_standing_exemption_an_indicator_not_a_violation(
    end_use: str | None,
) -> None:
    (found,) = embargo_findings(body_armour("CD", end_use))
    assert (found.kind, found.severity.value) == (Kind.INDICATOR, "medium")
    assert found.rule_id == "CD.non_state_actors.non-lethal-protective.purpose_unstated"
    assert (
        "; the goods are exempt (S/RES/2293 (2016), para 3 (c)) only if intended solely for "
        "humanitarian or protective use, and the record states no such purpose"
    ) in found.summary
    assert "S/RES/2293 (2016), para 3 (c)" in found.citations
    assert found.evidence["purpose"]["condition"] == (
        "intended solely for humanitarian or protective use"
    )
    assert found.evidence["purpose"]["declared_end_use"] == end_use


def test_an_unconfirmed_purpose_says_so() -> None:
    (found,) = embargo_findings(body_armour("SD", None))
    assert found.kind is Kind.INDICATOR
    assert "human rights monitoring or protective use" in found.summary
    assert "wording unconfirmed" in found.summary
    assert found.evidence["purpose"]["confidence"] == "unconfirmed"


def test_a_full_standing_exemption_after_an_unstated_purpose_still_exempts() -> None:
    """The DRC's Government in 2022 (2641): its supplies outside annex A needed nothing,
    whatever the body armour was for."""
    rec = body_armour("CD", None, name="Forces Armées de la RDC", type="government")
    rec["transfer_date"] = "2022-09-12"
    assert embargo_findings(rec) == []


def test_a_procedure_is_still_missing_when_the_purpose_is_unstated() -> None:
    """South Sudan, 2428 para 5 (b): notified in advance. With neither a purpose nor a
    notification (nor an approval) the supply lacks what either reading requires."""
    (without,) = embargo_findings(body_armour("SS", None))
    assert (without.kind, without.severity.value) == (Kind.VIOLATION, "high")
    assert without.rule_id == "SS.territory.non-lethal-protective.purpose_unstated"
    assert "and with advance notification to the Committee" in without.summary
    assert "no advance notification to the Committee is referenced" in without.summary
    assert "the record states no such purpose" in without.summary
    stated = body_armour("SS", "protective use by humanitarian staff")
    (notified,) = embargo_findings(stated)
    assert notified.rule_id == "SS.territory.non-lethal-protective"
    assert notified.kind is Kind.VIOLATION
    assert "purpose" not in notified.evidence
    referenced = {**stated, "documents": {"committee_reference": "2206/NOT/2025/1"}}
    assert [f.kind for f in embargo_findings(referenced)] == [Kind.INDICATOR]


def test_libyas_standing_humanitarian_exemption_depends_on_the_purpose() -> None:
    """2095 (2013) para 9 (SC/10939): no approval for non-lethal equipment for humanitarian
    or protective use; the Libyan government's own exemption (para 10) needs no such words."""
    assert embargo_findings(body_armour("LY", "for the protection of aid workers")) == []
    (found,) = embargo_findings(body_armour("LY", None))
    assert found.rule_id == "LY.territory.non-lethal-humanitarian-protective.purpose_unstated"
    government = body_armour("LY", None, name="Ministry of Interior", type="government")
    assert embargo_findings(government) == []
