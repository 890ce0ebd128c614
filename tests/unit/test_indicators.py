"""Diversion indicators: one case that fires and one that does not, each."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from services.core import rules
from services.core.context import Context
from services.core.findings import Finding, Kind, Severity, distinct
from services.core.goods import classify_items
from services.core.indicators import indicator_findings, touches_embargo
from services.core.screening import screen
from services.core.transfers import Transfer, parse_transfer
from tests.records import end_user, record

RULES = rules.load_directory(version=7)
CTX = Context(ruleset=RULES, list_version="list-2024-09-26")
EUC = {"end_user_certificate": "EUC-2024-001", "end_user_certificate_expiry": "2026-01-01"}
PISTOLS = [
    {"category": "small_arms.revolver_pistol", "description": "9mm pistols", "quantity": 120}
]
VEHICLES = [{"hs_code": "871000", "description": "armoured personnel carriers", "quantity": 4}]
HELMETS = [{"category": "non_lethal_protective", "description": "helmets", "quantity": 50}]


def diversion_indicators(
    transfer: Transfer, ctx: Context, *, party_listed: bool = False
) -> list[Finding]:
    """The indicators of ``transfer`` alone, each once, as ``screen`` reports them."""
    classified = classify_items(transfer)
    return distinct(indicator_findings(transfer, ctx, classified, party_listed=party_listed))


def indicators(rec: dict[str, Any], ctx: Context = CTX) -> list[Finding]:
    return diversion_indicators(parse_transfer(rec), ctx)


def named(rec: dict[str, Any], prefix: str) -> list[Finding]:
    return [f for f in indicators(rec) if f.rule_id.startswith(f"indicator.{prefix}")]


def to_dr(on: str, items: list[dict[str, Any]] = PISTOLS, **changes: Any) -> dict[str, Any]:
    """``items`` from the US to a company in the Dominican Republic, with a certificate."""
    fields = {
        "transfer_date": on,
        "route": {"origin": "US", "destination": "DO"},
        "items": items,
        "documents": EUC,
    }
    rec = record("dr-1", **(fields | changes))
    return end_user(rec, name="Distribuidora Santo Domingo SRL", country="DO")


def with_party(rec: dict[str, Any], **party: Any) -> dict[str, Any]:
    return {**rec, "parties": [*rec["parties"], party]}


# --- 0. Only where a transfer touches an embargo ---------------------------------------


def far_away(**changes: Any) -> dict[str, Any]:
    """Rifles from France to a Senegalese importer for the police, no end-user certificate:
    a consignee split and a missing certificate, between states no embargo concerns."""
    rec = record("far-1", transfer_date="2024-05-14", route={"origin": "FR", "destination": "SN"})
    rec = end_user(rec, name="Police Nationale du Sénégal", country="SN", type="government")
    rec = with_party(rec, role="consignee", name="Dakar Import Services SARL", country="SN")
    return {**rec, **changes}


GENERIC = ["indicator.consignee_not_end_user", "indicator.end_user_certificate_missing"]


def rule_ids(rec: dict[str, Any], **kwargs: Any) -> list[str]:
    return [f.rule_id for f in diversion_indicators(parse_transfer(rec), CTX, **kwargs)]


@pytest.mark.parametrize(
    "rec",
    [
        far_away(),
        end_user(far_away(), name="The Government"),  # vague, still far from any embargo
        end_user(far_away(), name="Gulf Freight Forwarding LLC", type="company"),
        # A supplier, carrier or financier seated next door does not take goods towards it.
        with_party(far_away(), role="manufacturer", name="Norinco", country="CN"),
        with_party(far_away(), role="carrier", name="Kenya Airways Cargo", country="KE"),
        with_party(far_away(), role="financier", name="Bank of Cairo", country="EG"),
        far_away(route={"origin": "TR", "destination": "SN"}),  # out of a neighbour
    ],
    ids=["split", "vague", "forwarder", "manufacturer", "carrier", "financier", "origin"],
)
def test_no_indicator_where_the_transfer_touches_no_embargo(rec: dict[str, Any]) -> None:
    assert rule_ids(rec) == []
    assert not touches_embargo(parse_transfer(rec), RULES)


@pytest.mark.parametrize(
    "rec",
    [
        far_away(route={"origin": "FR", "destination": "SN", "transit": ["EG"]}),
        far_away(route={"origin": "FR", "destination": "SN", "transit": ["LY"]}),
        with_party(far_away(), role="broker", name="Sahel Brokers SARL", country="TD"),
        with_party(far_away(), role="importer", name="Port Sudan Agency", country="SD"),
        # Any role in the embargoed territory itself, the exporter's too.
        with_party(far_away(), role="carrier", name="Air Haiti Cargo", country="HT"),
        far_away(route={"origin": "KP", "destination": "SN"}),
    ],
    ids=[
        "transit-neighbour",
        "transit-territory",
        "broker-next-door",
        "importer-in-territory",
        "carrier-in-territory",
        "origin-territory",
    ],
)
def test_generic_indicators_where_the_transfer_touches_an_embargo(rec: dict[str, Any]) -> None:
    assert touches_embargo(parse_transfer(rec), RULES)
    assert [r for r in rule_ids(rec) if not r.startswith("indicator.neighbour_route")] == GENERIC


def test_a_territory_is_embargoed_from_its_regimes_first_day() -> None:
    """Haiti from 2653 (2022-10-21), its targeted phase included: a party there brings
    the transfer near the embargo, the day before it does not."""
    rec = with_party(far_away(), role="broker", name="Port-au-Prince Brokers", country="HT")
    assert rule_ids({**rec, "transfer_date": "2022-10-20"}) == []
    assert rule_ids({**rec, "transfer_date": "2022-10-21"}) == GENERIC


def test_a_party_on_the_list_brings_the_indicators_back_anywhere() -> None:
    assert rule_ids(far_away(), party_listed=True) == GENERIC


@dataclass(frozen=True)
class FakeMatch:
    """A list entry as :class:`services.core.context.ListMatch` describes one."""

    reference_number: str = "HTi.001"
    name: str = "JIMMY CHERIZIER"
    matched_name: str = "JIMMY CHERIZIER"
    matched_on: str = "name"
    score: float = 0.80  # a near miss: above the floor, below the threshold
    list_type: str = "Haiti"
    listed_on: date | None = date(2022, 10, 21)
    features: tuple[tuple[str, str, str], ...] = ()


class OneName:
    """A designated index that knows one party name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def search(self, name: str, **_: Any) -> list[FakeMatch]:
        return [FakeMatch()] if name == self.name else []


def test_screen_looks_for_indicators_when_a_party_is_a_near_miss() -> None:
    ctx = dataclasses.replace(CTX, designated=OneName("Jimy Cherizier"))
    assert [f.rule_id for f in screen(parse_transfer(far_away()), ctx)] == []
    rec = with_party(far_away(), role="broker", name="Jimy Cherizier", country="US")
    assert [f.rule_id for f in screen(parse_transfer(rec), ctx)] == [
        "HT.designated.near_miss",
        *GENERIC,
    ]


# --- 1. Neighbour of an embargoed territory --------------------------------------------


@pytest.mark.parametrize(
    ("on", "phases"),
    [
        ("2023-10-01", []),  # targeted phase only: designated scope, not the territory
        ("2023-10-02", ["HT-2699-salw-territorial"]),
        ("2024-10-18", ["HT-2752-all-arms-territorial"]),
    ],
)
def test_pistols_to_the_dominican_republic_from_the_day_haiti_is_embargoed(
    on: str, phases: list[str]
) -> None:
    assert [f.phase for f in named(to_dr(on), "neighbour_route")] == phases


def test_armoured_vehicles_next_door_only_once_the_embargo_covers_all_arms() -> None:
    assert named(to_dr("2023-11-14", VEHICLES), "neighbour_route") == []
    (finding,) = named(to_dr("2024-11-20", VEHICLES), "neighbour_route")
    assert finding.phase == "HT-2752-all-arms-territorial"
    assert finding.evidence["items"][0]["category"] == "unroca.II"


def test_a_neighbour_finding_explains_itself() -> None:
    (finding,) = named(to_dr("2024-11-20"), "neighbour_route")
    assert finding.kind is Kind.INDICATOR
    assert finding.severity is Severity.MEDIUM
    assert (finding.regime, finding.rule_id) == ("HT", "indicator.neighbour_route.DO")
    assert finding.summary == (
        "Transfer dr-1 of 120 × revolvers and self-loading pistols on 2024-11-20 ends in DO, "
        "a neighbour of Haiti under a territory-wide embargo on arms of all types in force "
        "since 2024-10-18 (S/RES/2752 (2024), para 2); check for diversion into HT. "
        "Other risk factors on record: a receiver other than DO's government."
    )
    # The renewal of 2025 is not cited for a transfer of 2024 (see Phase.citations_on).
    assert finding.citations == ("S/RES/2752 (2024), para 2",)
    (later,) = named(to_dr("2025-11-20"), "neighbour_route")
    # 2794's renewing paragraph is not confirmed, so it is cited without one.
    assert later.citations == ("S/RES/2752 (2024), para 2", "S/RES/2794 (2025)")
    assert (finding.ruleset_version, finding.list_version) == (7, "list-2024-09-26")
    assert finding.evidence["via"] == ["destination"]


def test_transit_and_a_consignee_next_door_make_one_finding_per_neighbour() -> None:
    rec = record(
        "tr-1",
        transfer_date="2024-11-20",
        route={"origin": "US", "destination": "JM", "transit": ["DO", "DO"]},
        documents=EUC,
    )
    rec = end_user(rec, country="JM")
    rec = with_party(rec, role="consignee", name="Almacenes del Cibao", country="DO")
    (finding,) = named(rec, "neighbour_route")
    assert finding.evidence["via"] == ["transit"]
    assert finding.evidence["parties"] == [
        {"role": "consignee", "name": "Almacenes del Cibao", "country": "DO"}
    ]
    assert "on 2024-11-20 passes through DO and names consignee 'Almacenes del Cibao' in DO, a" in (
        finding.summary
    )


def test_neighbours_of_two_regimes_give_two_findings_in_a_fixed_order() -> None:
    rec = to_dr("2024-11-20", route={"origin": "US", "destination": "KE", "transit": ["DO"]})
    assert [(f.regime, f.rule_id) for f in named(rec, "neighbour_route")] == [
        ("HT", "indicator.neighbour_route.DO"),
        ("SO", "indicator.neighbour_route.KE"),
        ("SS", "indicator.neighbour_route.KE"),
    ]


def test_into_the_territory_itself_is_left_to_the_violation() -> None:
    rec = record(transfer_date="2024-11-20", route={"origin": "US", "destination": "HT"})
    rec["route"]["transit"] = ["DO"]
    assert named(rec, "neighbour_route") == []
    out_of = record(transfer_date="2024-11-20", route={"origin": "HT", "destination": "DO"})
    assert named(out_of, "neighbour_route") == []


def test_goods_into_a_territory_under_its_own_embargo_are_left_to_that_embargo() -> None:
    """South Sudan borders the DRC, CAR and Sudan: goods for UNMISS are South Sudan's
    embargo's to judge (2428), not three more findings next door. Before 2428, goods to
    South Sudan were a neighbour route like any other."""
    rec = record(
        "ss-1",
        transfer_date="2024-02-14",
        route={"origin": "KE", "destination": "SS"},
        documents=EUC,
    )
    rec = end_user(rec, name="UNMISS", country="SS", type="un_mission")
    assert named(rec, "neighbour_route") == []
    before = {**end_user(rec, type="government"), "transfer_date": "2017-04-04"}
    assert [f.regime for f in named(before, "neighbour_route")] == ["CD", "CF", "SD"]


def test_items_exempt_for_everyone_do_not_make_a_neighbour_route() -> None:
    # Libya exempts non-lethal protective equipment for anyone (2095 para 9); Haiti's 2752
    # sends it to the Committee (its exemptions page lists it among no standing exemption).
    to_egypt = to_dr("2024-11-20", HELMETS, route={"origin": "US", "destination": "EG"})
    assert named(end_user(to_egypt, country="EG"), "neighbour_route") == []


def test_a_new_ruleset_is_not_answered_from_the_old_ones_neighbours() -> None:
    haiti = dataclasses.replace(RULES.regimes["HT"], neighbours=frozenset())
    alone = Context(ruleset=rules.Ruleset.of(8, [haiti]))
    assert named(to_dr("2024-11-20"), "neighbour_route") != []
    assert [f for f in indicators(to_dr("2024-11-20"), alone) if "neighbour" in f.rule_id] == []
    assert named(to_dr("2024-11-20"), "neighbour_route") != []


# --- 2. Consignee is not the end user --------------------------------------------------


def test_a_consignee_other_than_the_end_user() -> None:
    rec = with_party(record(), role="consignee", name="Port-au-Prince Traders", country="HT")
    (finding,) = named(rec, "consignee_not_end_user")
    assert finding.severity is Severity.LOW
    assert finding.party is not None
    assert (finding.party.role, finding.party.name) == ("consignee", "Port-au-Prince Traders")
    assert finding.citations == ()
    assert finding.summary == (
        "Transfer r-0 is consigned to 'Port-au-Prince Traders' (HT) but declares end user "
        "'Caribbean Import Services SA' (HT); goods delivered to one party for another can "
        "be diverted on the way."
    )


@pytest.mark.parametrize(
    ("consignee", "user"),
    [
        ("CARIBBEAN IMPORT SERVICES S.A.", "Caribbean Import Services SA"),
        ("Société Générale d'Importation", "Societe Generale D’Importation"),
        ("Acme Arms Ltd", "ACME ARMS LIMITED"),
    ],
)
def test_the_same_name_spelled_differently_is_the_same_party(consignee: str, user: str) -> None:
    rec = with_party(end_user(record(), name=user), role="consignee", name=consignee)
    assert named(rec, "consignee_not_end_user") == []


def test_no_consignee_no_comparison() -> None:
    assert named(record(), "consignee_not_end_user") == []


def test_a_notify_party_other_than_the_end_user() -> None:
    """The consignee "or notified party" different from the end user."""
    rec = with_party(record(), role="notify_party", name="Port-au-Prince Traders", country="HT")
    (finding,) = named(rec, "consignee_not_end_user")
    assert finding.party is not None
    assert (finding.party.role, finding.party.name) == ("notify_party", "Port-au-Prince Traders")
    assert finding.summary.startswith(
        "Transfer r-0 names as the party to notify on arrival 'Port-au-Prince Traders' (HT) "
        "but declares end user 'Caribbean Import Services SA' (HT)"
    )
    assert finding.evidence["notify_party"]["name"] == "Port-au-Prince Traders"
    same = with_party(record(), role="notify_party", name="CARIBBEAN IMPORT SERVICES S.A.")
    assert named(same, "consignee_not_end_user") == []


@pytest.mark.parametrize("notify", ["SAME AS CONSIGNEE", "Same as consignee.", "Paris Guns S.A."])
def test_a_notify_party_that_is_the_consignee_again_adds_nothing(notify: str) -> None:
    rec = with_party(
        with_party(record(), role="consignee", name="Paris Guns SA", country="HT"),
        role="notify_party",
        name=notify,
    )
    (finding,) = named(rec, "consignee_not_end_user")  # the consignee's, once
    assert finding.party is not None
    assert finding.party.role == "consignee"
    assert "consignee" in finding.evidence


# --- 3. Freight forwarder as final destination ------------------------------------------


def test_an_end_user_that_is_the_records_freight_forwarder() -> None:
    rec = end_user(record(), name="RAPID EXPRESS S.R.L.")
    rec = with_party(rec, role="freight_forwarder", name="Rapid Express SRL", country="US")
    (finding,) = named(rec, "forwarder_as_end_user")
    assert finding.severity is Severity.MEDIUM
    assert finding.evidence["same_as"]["name"] == "Rapid Express SRL"
    assert "is also named as the freight forwarder" in finding.summary


def test_a_consignee_with_a_forwarding_name_stands_for_a_missing_end_user() -> None:
    rec = record()
    rec["parties"][1] = {"role": "consignee", "name": "Transitaire du Nord", "country": "HT"}
    (finding,) = named(rec, "forwarder_as_end_user")
    assert finding.party is not None
    assert finding.party.role == "consignee"
    assert finding.evidence["words"] == ["transitaire"]


def test_an_army_logistics_command_is_not_a_forwarder() -> None:
    army = end_user(record(), name="Forces Armées d'Haïti Logistics Command", type="government")
    assert named(army, "forwarder_as_end_user") == []
    company = end_user(record(), name="Haiti Logistics Command SA", type="company")
    assert len(named(company, "forwarder_as_end_user")) == 1


@pytest.mark.parametrize("name", ["Caribbean Import Services SA", "Cargill Foods", "Shipwright"])
def test_names_that_only_look_like_forwarding_words_are_not_forwarders(name: str) -> None:
    rec = with_party(end_user(record(), name=name), role="carrier", name="Seaboard Marine")
    assert named(rec, "forwarder_as_end_user") == []


# --- 4. Vague end user ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "country"),
    [
        ("The Government", "HT"),
        ("GOVERNMENT", None),
        ("n/a", "HT"),
        ("Police", "HT"),
        ("Armed Forces", "HT"),
        ("End-User", "HT"),
        ("Ministry of Defence", None),
    ],
)
def test_an_end_user_that_names_no_one(name: str, country: str | None) -> None:
    (finding,) = named(end_user(record(), name=name, country=country), "vague_end_user")
    assert finding.severity is Severity.MEDIUM
    assert finding.party is not None
    assert finding.party.name == name


@pytest.mark.parametrize(
    ("name", "country"),
    [
        ("Caribbean Import Services SA", "HT"),
        ("Police Nationale d'Haïti", "HT"),
        ("Ministry of Defence", "KE"),
        ("Government of Haiti", None),
    ],
)
def test_an_end_user_that_names_someone(name: str, country: str | None) -> None:
    assert named(end_user(record(), name=name, country=country), "vague_end_user") == []


def test_no_end_user_and_no_consignee_at_all() -> None:
    rec = record()
    rec["parties"][1] = {"role": "importer", "name": "Importadora Central", "country": "HT"}
    (finding,) = named(rec, "vague_end_user")
    assert finding.party is None
    assert "names neither an end user nor a consignee" in finding.summary


# --- 5. End-user certificate ------------------------------------------------------------


def test_a_military_transfer_without_an_end_user_certificate() -> None:
    (finding,) = named(record(), "end_user_certificate")
    assert finding.rule_id == "indicator.end_user_certificate_missing"
    assert finding.severity is Severity.LOW


def test_a_valid_certificate_on_the_day_it_expires() -> None:
    docs = {"end_user_certificate": "EUC-7", "end_user_certificate_expiry": "2024-11-20"}
    assert named(record(documents=docs), "end_user_certificate") == []


def test_a_certificate_that_expired_the_day_before() -> None:
    docs = {"end_user_certificate": "EUC-7", "end_user_certificate_expiry": "2024-11-19"}
    (finding,) = named(record(documents=docs), "end_user_certificate")
    assert finding.rule_id == "indicator.end_user_certificate_expired"
    assert finding.severity is Severity.MEDIUM
    assert finding.evidence["days_expired"] == 1
    assert finding.summary == (
        "The end-user certificate 'EUC-7' of transfer r-0 expired on 2024-11-19, "
        "before the transfer date 2024-11-20."
    )


def test_non_lethal_protective_equipment_needs_no_certificate_unless_mixed() -> None:
    assert named(record(items=HELMETS), "end_user_certificate") == []
    assert len(named(record(items=HELMETS + PISTOLS), "end_user_certificate")) == 1


# --- All of them ------------------------------------------------------------------------


def messy() -> dict[str, Any]:
    rec = to_dr("2024-11-20", route={"origin": "US", "destination": "DO", "transit": ["KE"]})
    rec["documents"] = {"end_user_certificate": "E-1", "end_user_certificate_expiry": "2024-01-01"}
    rec = end_user(rec, name="The Government", country=None)
    rec = with_party(rec, role="end_user", name="The Government")  # the same party twice
    return with_party(rec, role="consignee", name="DR Cargo Logistics", country="DO")


def test_the_same_record_gives_the_same_findings_in_the_same_order_once_each() -> None:
    first = [f.to_dict() for f in indicators(messy())]
    assert first == [f.to_dict() for f in indicators(messy())]
    assert [f["rule_id"] for f in first] == [
        "indicator.neighbour_route.DO",
        "indicator.neighbour_route.KE",
        "indicator.neighbour_route.KE",
        "indicator.consignee_not_end_user",
        "indicator.vague_end_user",
        "indicator.end_user_certificate_expired",
    ]
    keys = [f.key for f in indicators(messy())]
    assert len(keys) == len(set(keys))


def test_evidence_is_plain_json() -> None:
    for finding in indicators(messy()):
        json.dumps(finding.to_dict(), allow_nan=False)


def test_screen_reports_indicators_next_to_violations() -> None:
    kinds = {(f.kind, f.rule_id) for f in screen(parse_transfer(record()), CTX)}
    assert (Kind.VIOLATION, "HT.territory") in kinds
    assert (Kind.INDICATOR, "indicator.end_user_certificate_missing") in kinds
    assert [f.rule_id for f in screen(parse_transfer(to_dr("2024-11-20")), CTX)] == [
        "indicator.neighbour_route.DO"
    ]


def test_a_neighbours_own_government_as_receiver_is_a_low_indicator() -> None:
    army = end_user(to_dr("2024-11-20"), name="Ejército de República Dominicana", type="government")
    (finding,) = named(army, "neighbour_route")
    assert finding.severity == "low"
    assert finding.evidence["risk_factors"] == []
    assert finding.summary.endswith(
        "Nothing else on record points to diversion: the goods go to DO's government."
    )
    (finding,) = named(to_dr("2024-11-20"), "neighbour_route")  # a company there
    assert finding.severity == "medium"
    assert finding.evidence["risk_factors"] == ["a receiver other than DO's government"]


def dr_army(**changes: Any) -> dict[str, Any]:
    """Pistols to the Dominican army: a neighbour route with no other risk factor."""
    rec = to_dr("2024-11-20", **changes)
    return end_user(rec, name="Ejército de República Dominicana", type="government")


@pytest.mark.parametrize(
    ("rec", "risk"),
    [
        (dr_army(route={"origin": "US", "destination": "DO", "transit": ["PR"]}), "transit"),
        (with_party(dr_army(), role="broker", name="Ana Ruiz", country="PA"), "broker"),
        (
            with_party(dr_army(), role="freight_forwarder", name="Carga Rapida SA", country="PA"),
            "freight forwarder",
        ),
        (with_party(dr_army(), role="consignee", name="Almacenes del Cibao"), "consignee"),
        (end_user(dr_army(), type="unknown"), "receiver other than DO's government"),
        (end_user(dr_army(), country="HT"), "receiver other than DO's government"),
    ],
    ids=["transit", "broker", "forwarder", "consignee", "not-government", "elsewhere"],
)
def test_one_other_risk_factor_makes_a_neighbour_route_medium(
    rec: dict[str, Any], risk: str
) -> None:
    """A transit, a broker or forwarder, a consignee other than the end user, an end user
    not known to be the neighbour's government: any one of them."""
    (finding,) = named(rec, "neighbour_route")
    assert finding.severity is Severity.MEDIUM
    assert any(risk in words for words in finding.evidence["risk_factors"])
    assert "Other risk factors on record: " in finding.summary


def test_a_un_mission_next_door_is_an_official_receiver() -> None:
    rec = end_user(dr_army(), name="MINUSTAH Logistics Base", type="un_mission")
    assert [f.severity for f in named(rec, "neighbour_route")] == [Severity.LOW]


def test_goods_outside_the_neighbours_embargo_make_no_route_even_with_risk_factors() -> None:
    """Vehicles under Haiti's SALW-only phase: a broker does not make them embargoed."""
    rec = with_party(to_dr("2023-11-14", VEHICLES), role="broker", name="Ana Ruiz")
    assert named(rec, "neighbour_route") == []


def test_a_neighbour_of_a_territory_under_a_non_state_actor_embargo() -> None:
    """DRC since 2667 (2022-12-20) embargoes its non-state actors only: arms next door are
    still where diversion to them starts, as they were under 1807."""
    rec = end_user(
        record(
            "rw-1",
            transfer_date="2024-05-01",
            route={"origin": "BE", "destination": "RW"},
            documents=EUC,
        ),
        name="Kigali Arms Ltd",
        country="RW",
    )
    (finding,) = named(rec, "neighbour_route")
    assert (finding.regime, finding.rule_id) == ("CD", "indicator.neighbour_route.RW")
    assert "where an embargo on arms of all types for non-state actors has been in force" in (
        finding.summary
    )
    assert "check for diversion to armed groups in CD. Other risk factors" in finding.summary


def test_a_neighbours_forces_beside_a_company_are_no_reason_to_lower_the_severity() -> None:
    """Low only when every receiving party is that state's government, whatever the order."""
    forces = {
        "role": "end_user",
        "name": "Uganda People's Defence Force",
        "country": "UG",
        "type": "government",
    }
    company = {"role": "end_user", "name": "Kampala Guns Ltd", "country": "UG", "type": "company"}
    base = record(
        "ug-1",
        transfer_date="2024-01-10",
        route={"origin": "BE", "destination": "UG"},
        documents=EUC,
    )
    exporter = base["parties"][0]
    for parties in ([exporter, forces, company], [exporter, company, forces]):
        found = named({**base, "parties": parties}, "neighbour_route")
        assert found
        assert {f.severity for f in found} == {Severity.MEDIUM}
    only_forces = named({**base, "parties": [exporter, forces]}, "neighbour_route")
    assert {f.severity for f in only_forces} == {Severity.LOW}
