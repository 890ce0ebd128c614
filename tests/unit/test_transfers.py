"""``parse_transfer``: every field of a record lands in the Transfer, and what it shares
between records (items, routes) is shared only when equal."""

from __future__ import annotations

from datetime import date

from services.core import transfers
from services.core.transfers import (
    Documents,
    Item,
    Party,
    PartyRole,
    PartyType,
    Route,
    Transfer,
    TransferStatus,
    parse_transfer,
)
from services.core.validation import validate_record
from tests.records import record

FULL = record(
    "full-1",
    status="delivered",
    declared_end_use="police",
    route={
        "origin": "US",
        "destination": "HT",
        "transit": ["DO", "JM"],
        "port_of_loading": "Miami",
        "port_of_discharge": "Port-au-Prince",
        "vessel_imo": "IMO 1234567",
        "aircraft_registration": "N123",
    },
    parties=[
        {"role": "exporter", "name": "Gulf Arms LLC", "country": "US", "type": "company"},
        {
            "role": "end_user",
            "name": "Jean Baptiste",
            "type": "individual",
            "identifiers": [{"type": "passport", "value": "HT123"}],
            "date_of_birth": "1980-02",
        },
        {"role": "broker", "name": "Unknown Broker"},
    ],
    items=[
        {
            "category": "ammunition.small_arms",
            "description": "9mm rounds",
            "quantity": 5000,
            "hs_code": "930630",
            "ml_code": "ML3",
            "calibre": "9mm",
            "value": 1250,
            "currency": "USD",
            "serial_numbers": ["A1", "A2"],
        },
        {"hs_code": "930190", "description": "rifles", "quantity": 2.5},
    ],
    documents={
        "export_licence": "EL-1",
        "end_user_certificate": "EUC-1",
        "end_user_certificate_expiry": "2025-01-31",
        "committee_reference": "2653/2024/1",
        "exemption_claimed": "para 11(a)",
    },
)


def test_every_field_of_a_record_lands_in_the_transfer() -> None:
    assert validate_record(FULL) == []
    assert parse_transfer(FULL) == Transfer(
        record_id="full-1",
        transfer_date=date(2024, 11, 20),
        status=TransferStatus.DELIVERED,
        declared_end_use="police",
        route=Route(
            origin="US",
            destination="HT",
            transit=("DO", "JM"),
            port_of_loading="Miami",
            port_of_discharge="Port-au-Prince",
            vessel_imo="IMO 1234567",
            aircraft_registration="N123",
        ),
        parties=(
            Party(PartyRole.EXPORTER, "Gulf Arms LLC", "US", PartyType.COMPANY),
            Party(
                PartyRole.END_USER,
                "Jean Baptiste",
                None,
                PartyType.INDIVIDUAL,
                identifiers=(("passport", "HT123"),),
                date_of_birth="1980-02",
            ),
            Party(PartyRole.BROKER, "Unknown Broker"),
        ),
        items=(
            Item(
                category="ammunition.small_arms",
                description="9mm rounds",
                quantity=5000.0,
                hs_code="930630",
                ml_code="ML3",
                calibre="9mm",
                value=1250.0,
                currency="USD",
            ),
            Item(category=None, description="rifles", quantity=2.5, hs_code="930190"),
        ),
        documents=Documents(
            export_licence="EL-1",
            end_user_certificate="EUC-1",
            end_user_certificate_expiry=date(2025, 1, 31),
            committee_reference="2653/2024/1",
            exemption_claimed="para 11(a)",
        ),
    )


def test_a_bare_record_takes_the_defaults() -> None:
    transfer = parse_transfer(record("bare", status=None))
    assert transfer.status is None
    assert transfer.documents == Documents()
    assert transfer.route == Route("US", "HT")
    assert transfer.declared_end_use is None


def test_items_and_routes_are_shared_between_records_only_when_equal() -> None:
    first, second = parse_transfer(record("a")), parse_transfer(record("b"))
    assert first.items[0] is second.items[0]
    assert first.route is second.route
    more = record("c", items=[{**record()["items"][0], "quantity": 121}])
    assert parse_transfer(more).items[0].quantity == 121.0
    elsewhere = parse_transfer(record("d", route={"origin": "US", "destination": "DO"}))
    assert elsewhere.route.destination == "DO"
    # A list inside (here a transit) is not a key: built every time, and still right.
    via = {"origin": "US", "destination": "HT", "transit": ["DO"]}
    assert parse_transfer(record("e", route=via)).route.transit == ("DO",)


def test_what_is_shared_stays_bounded() -> None:
    for n in range(transfers._SHARED_MAX + 10):
        item = {"category": "parts_components", "description": f"part {n}", "quantity": 1}
        assert parse_transfer(record(f"r{n}", items=[item])).items[0].description == f"part {n}"
    assert 0 < len(transfers._items) <= transfers._SHARED_MAX
