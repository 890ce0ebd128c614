"""Organised-crime nexus: the facts file and the indicator it drives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core import rules
from services.core.context import Context
from services.core.crime_nexus import DATA_PATH, NexusError, calibre_key, nexus_table
from services.core.findings import Finding, Kind, Severity
from services.core.goods import classify_items
from services.core.organised_crime import RULE_ID, organised_crime_findings
from services.core.screening import screen
from services.core.transfers import PartyType, parse_transfer
from tests.records import record

RULES = rules.load_directory(version=7)
CTX = Context(ruleset=RULES)
HAITI = nexus_table()["HT"]
DOCS = {"export_licence": "EL-1", "end_user_certificate": "EUC-1"}
RIFLES = [
    {
        "category": "small_arms.assault_rifle",
        "description": "rifles",
        "calibre": "7.62x39mm",
        "quantity": 12,
    }
]
#: Origin, calibre and quantity that match nothing the facts document.
PLAIN = {"origin": "BR", "calibre": ".45 ACP", "quantity": 500}


def to_haiti(
    on: str = "2023-06-15",
    items: list[dict[str, Any]] = RIFLES,
    route: dict[str, Any] | None = None,
    party_type: str = "individual",
    country: str | None = "HT",
) -> dict[str, Any]:
    rec = record(
        "oc-1",
        transfer_date=on,
        route=route or {"origin": "US", "destination": "HT", "port_of_loading": "Miami"},
        items=items,
        documents=DOCS,
    )
    rec["parties"][1] = {"role": "end_user", "name": "Jean Merisier", "type": party_type} | (
        {"country": country} if country else {}
    )
    return rec


def crime(rec: dict[str, Any]) -> list[Finding]:
    transfer = parse_transfer(rec)
    return organised_crime_findings(transfer, CTX, classify_items(transfer))


def factors(rec: dict[str, Any]) -> list[tuple[str, str]]:
    (finding,) = crime(rec)
    return [(f["factor"], f["confidence"]) for f in finding.evidence["factors"]]


def plain(**changes: Any) -> dict[str, Any]:
    """Rifles from Brazil in a calibre and quantity the facts do not document, with changes."""
    item = {
        "category": "small_arms.assault_rifle",
        "description": "rifles",
        "calibre": PLAIN["calibre"],
        "quantity": PLAIN["quantity"],
    }
    route = {"origin": PLAIN["origin"], "destination": "HT"}
    return to_haiti(items=[item | changes.pop("item", {})], route=route | changes.pop("route", {}))


# --- the facts file -------------------------------------------------------------------


def test_every_fact_of_the_file_has_a_source_and_a_confidence() -> None:
    facts = [
        HAITI.recipients,
        HAITI.quantities.fact,
        HAITI.concealment,
        *(c.fact for c in HAITI.calibres.values()),
        *(r.fact for r in HAITI.routes),
    ]
    for fact in facts:
        assert fact.source.strip()
        assert fact.confidence in {"confirmed", "unconfirmed"}
        assert fact.confirmed or fact.reason


def test_haiti_names_the_resolution_and_the_monitors_reports() -> None:
    assert HAITI.since.isoformat() == "2022-10-21"
    assert HAITI.citations[0] == "S/RES/2653 (2022)"
    assert {"S/2023/674", "S/2025/597"} <= set(HAITI.citations)
    assert "criminal networks" in HAITI.council
    assert HAITI.recipient_types == {
        PartyType.INDIVIDUAL,
        PartyType.COMPANY,
        PartyType.PRIVATE_SECURITY,
    }


def test_an_unconfirmed_fact_without_its_reason_or_a_fact_without_source_is_refused(
    tmp_path: Path,
) -> None:
    doc = yaml.safe_load(DATA_PATH.read_bytes())
    quantities = doc["territories"]["HT"]["quantities"]
    del quantities["reason"]
    (tmp_path / "no-reason.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(NexusError, match="HT quantities: an unconfirmed fact needs the reason"):
        nexus_table(tmp_path / "no-reason.yaml")
    quantities |= {"reason": "r", "source": " "}
    (tmp_path / "no-source.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(NexusError, match="a fact needs its source"):
        nexus_table(tmp_path / "no-source.yaml")


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("7.62x39mm", "7.62x39"),
        ("7,62 × 39 mm", "7.62x39"),
        ("7.62X39", "7.62x39"),
        (".50 BMG", ".50"),
        ("12.7 x 99 mm", "12.7x99"),
        ("9mm Luger", "9"),
        ("5.56x45mm NATO", "5.56x45"),
    ],
)
def test_calibres_compare_as_their_dimensions(written: str, key: str) -> None:
    assert calibre_key(written) == key


# --- when the indicator fires -----------------------------------------------------------


def test_rifles_from_florida_to_a_private_buyer_in_haiti_are_an_indicator() -> None:
    (finding,) = crime(to_haiti())
    assert finding.kind is Kind.INDICATOR
    assert finding.rule_id == RULE_ID
    assert finding.regime == "HT"
    assert finding.severity is Severity.MEDIUM
    assert finding.citations[0] == "S/RES/2653 (2022)"
    assert "criminal networks" in finding.summary
    assert factors(to_haiti()) == [
        ("calibre", "confirmed"),
        ("quantity", "unconfirmed"),
        ("route", "confirmed"),
    ]
    for factor in finding.evidence["factors"]:
        assert factor["source"]


def test_a_documented_calibre_alone_is_enough() -> None:
    assert factors(plain(item={"calibre": "7.62x39mm"})) == [("calibre", "confirmed")]


def test_a_quantity_alone_is_low_and_says_it_is_unconfirmed() -> None:
    (finding,) = crime(plain(item={"quantity": 10}))
    assert finding.severity is Severity.LOW
    assert "(unconfirmed: no UN source gives a typical consignment size" in finding.summary


def test_an_unconfirmed_calibre_says_so() -> None:
    (finding,) = crime(plain(item={"calibre": "9mm"}))
    assert finding.severity is Severity.LOW
    assert "9x19mm" in finding.summary
    assert "unconfirmed: only press reporting names 9 mm" in finding.summary


@pytest.mark.parametrize(
    "route",
    [
        {"origin": "DO"},
        {"transit": ["DO"]},
        {"port_of_loading": "Fort Lauderdale"},
        {"port_of_loading": "PORT EVERGLADES"},
        {"origin": "US", "port_of_discharge": "Port-de-Paix"},
        {"origin": "US", "port_of_discharge": "Cap-Haïtien"},
    ],
)
def test_each_documented_route_is_a_factor(route: dict[str, Any]) -> None:
    assert factors(plain(route=route)) == [("route", "confirmed")]


@pytest.mark.parametrize(
    "route",
    [
        {"origin": "US"},
        {"origin": "US", "port_of_discharge": "Port-au-Prince"},
        {"transit": ["JM"]},
    ],
)
def test_a_route_the_facts_do_not_document_is_no_factor(route: dict[str, Any]) -> None:
    assert crime(plain(route=route)) == []


@pytest.mark.parametrize(
    "item",
    [
        {"hs_code": "6309.00", "description": "used clothing"},
        {"hs_code": "0303", "description": "frozen fish"},
        {"description": "box of clothes and food"},
    ],
)
def test_arms_declared_or_described_as_other_goods_are_a_factor(item: dict[str, Any]) -> None:
    assert factors(plain(item=item)) == [("concealment", "confirmed")]


def test_arms_declared_under_chapter_93_are_not_concealed() -> None:
    assert crime(plain(item={"hs_code": "9301.90"})) == []


# --- when it does not --------------------------------------------------------------------


def test_nothing_before_the_council_named_criminal_networks() -> None:
    assert crime(to_haiti(on="2022-10-20")) == []
    assert crime(to_haiti(on="2022-10-21")) != []


@pytest.mark.parametrize("party_type", ["government", "un_mission", "armed_group"])
def test_recipients_that_are_not_private_raise_nothing(party_type: str) -> None:
    assert crime(to_haiti(party_type=party_type)) == []


def test_goods_that_are_not_small_arms_raise_nothing() -> None:
    vehicles = [{"hs_code": "871000", "description": "armoured vehicles", "quantity": 2}]
    assert crime(to_haiti(items=vehicles)) == []


def test_a_private_recipient_outside_haiti_raises_nothing() -> None:
    route = {"origin": "US", "destination": "DO", "port_of_loading": "Miami"}
    assert crime(to_haiti(route=route, country="DO")) == []


def test_a_recipient_without_a_country_is_read_as_where_the_goods_go() -> None:
    assert len(crime(to_haiti(country=None))) == 1


def test_screen_adds_the_indicator_to_a_territorial_violation() -> None:
    rules_found = {f.rule_id for f in screen(parse_transfer(to_haiti(on="2024-11-20")), CTX)}
    assert RULE_ID in rules_found
    assert any(r.startswith("HT.territory") for r in rules_found)
