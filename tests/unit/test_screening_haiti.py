"""The Haiti timeline (resolutions 2653, 2699, 2700, 2752, 2793, 2794), exactly."""

from __future__ import annotations

from typing import Any

import pytest

from services.core import rules
from services.core.context import Context
from services.core.findings import Kind
from services.core.screening import screen
from services.core.transfers import parse_transfer
from tests.records import end_user, record

CTX = Context(ruleset=rules.load_directory())


def violations(rec: dict[str, Any], regime: str = "HT") -> list[str]:
    return [
        f.phase or ""
        for f in screen(parse_transfer(rec), CTX)
        if f.kind is Kind.VIOLATION and f.regime == regime
    ]


def armoured_vehicles(record_id: str, on: str) -> dict[str, Any]:
    return record(
        record_id,
        transfer_date=on,
        items=[{"hs_code": "871000", "description": "armoured personnel carriers", "quantity": 4}],
    )


def test_pistols_to_a_private_buyer_in_june_2023_are_outside_the_embargo() -> None:
    assert violations(record(transfer_date="2023-06-15")) == []


def test_pistols_to_a_private_buyer_in_november_2023_violate_the_salw_embargo() -> None:
    assert violations(record(transfer_date="2023-11-14")) == ["HT-2699-salw-territorial"]


def test_armoured_vehicles_in_november_2023_are_outside_it() -> None:
    assert violations(armoured_vehicles("av-1", "2023-11-14")) == []


def test_armoured_vehicles_in_november_2024_are_inside_it() -> None:
    assert violations(armoured_vehicles("av-2", "2024-11-20")) == ["HT-2752-all-arms-territorial"]


@pytest.mark.parametrize("on", ["2023-11-14", "2024-11-20"])
@pytest.mark.parametrize("party_type", ["government", "un_mission"])
def test_haitian_police_and_un_authorised_missions_are_exempt(on: str, party_type: str) -> None:
    rec = end_user(record(transfer_date=on), name="Police Nationale d'Haïti", type=party_type)
    assert violations(rec) == []


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("2023-10-01", []),
        ("2023-10-02", ["HT-2699-salw-territorial"]),
        ("2024-10-17", ["HT-2699-salw-territorial"]),
        ("2024-10-18", ["HT-2752-all-arms-territorial"]),
    ],
)
def test_the_day_before_and_the_day_of_each_change(on: str, expected: list[str]) -> None:
    assert violations(record(transfer_date=on)) == expected


def test_rules_are_evaluated_at_the_transfer_date_not_today() -> None:
    assert violations(armoured_vehicles("av-3", "2024-10-17")) == []


def test_a_violation_explains_itself_with_citations() -> None:
    (finding,) = [f for f in screen(parse_transfer(record("r-9")), CTX) if f.kind is Kind.VIOLATION]
    assert finding.summary.startswith(
        "Transfer r-9 of 120 × revolvers and self-loading pistols into HT"
    )
    assert "Caribbean Import Services SA" in finding.summary
    assert finding.citations[0] == "S/RES/2752 (2024), para 2"
    assert finding.evidence["end_user"]["type"] == "company"
    assert finding.to_dict()["kind"] == "violation"


def test_a_committee_reference_turns_the_violation_into_a_verify_indicator() -> None:
    rec = record(documents={"committee_reference": "HT-COM-2024-17"})
    (finding,) = [f for f in screen(parse_transfer(rec), CTX) if f.regime == "HT"]
    assert finding.kind is Kind.INDICATOR
    assert "verify Committee reference 'HT-COM-2024-17'" in finding.summary


def test_non_lethal_protective_equipment_goes_to_the_committee_under_2752() -> None:
    """The Haiti Committee's exemptions page lists as standing only 2752 paras 2 (a) and 6 (the
    UN, authorised missions, the Government's security units) and has no notification type:
    non-lethal equipment for a company needs the Committee's consideration."""
    helmets = [{"category": "non_lethal_protective", "description": "helmets", "quantity": 50}]
    assert violations(record(items=helmets)) == ["HT-2752-all-arms-territorial"]
    referenced = record(items=helmets, documents={"committee_reference": "2653/EX/2024/3"})
    assert violations(referenced) == []
    police = end_user(record(items=helmets), name="Police Nationale d'Haïti", type="government")
    assert violations(police) == []


def test_exports_from_haiti_are_not_covered() -> None:
    rec = record(route={"origin": "HT", "destination": "US"})
    assert violations(rec) == []


def test_screening_twice_gives_identical_keys() -> None:
    a = [f.key for f in screen(parse_transfer(record()), CTX)]
    b = [f.key for f in screen(parse_transfer(record()), CTX)]
    assert a == b
    assert len([f for f in screen(parse_transfer(record()), CTX) if f.kind is Kind.VIOLATION]) == 1
