"""Which regimes see a finding, and a transfer's search columns (services/core/visibility.py)."""

from __future__ import annotations

from services.core.findings import DesignatedRef, Finding, Kind, Severity
from services.core.rules import load_directory
from services.core.visibility import (
    Territories,
    findings_visibility,
    item_categories,
    party_keys,
    party_names,
    record_countries,
    visible_regimes,
)
from tests.records import record

TERRITORIES = Territories.of(load_directory())


def finding(regime: str | None, designated: str | None = None) -> Finding:
    return Finding(
        record_id="r-0",
        kind=Kind.INDICATOR,
        regime=regime,
        rule_id="indicator.x",
        phase=None,
        severity=Severity.LOW,
        summary="s.",
        citations=(),
        designated=DesignatedRef(designated, "N", "N", 1.0) if designated else None,
    )


def test_a_regime_finding_is_its_regime_s_alone() -> None:
    assert visible_regimes("HT", None, {"LY", "HT"}, {"LY"}, TERRITORIES) == ("HT",)


def test_a_regime_less_finding_goes_to_the_territories_and_neighbours_it_touches() -> None:
    # DO is Haiti's neighbour; EG is Libya's and Sudan's.
    assert visible_regimes(None, None, {"US", "DO"}, (), TERRITORIES) == ("HT",)
    assert "LY" in visible_regimes(None, None, {"EG"}, (), TERRITORIES)
    assert visible_regimes(None, None, {"US", "FR"}, (), TERRITORIES) == ()


def test_a_regime_less_finding_follows_the_other_findings_and_a_listed_party() -> None:
    assert visible_regimes(None, None, {"US"}, {"QD", None}, TERRITORIES) == ("QD",)
    assert visible_regimes(None, "TAi.012", {"US"}, (), TERRITORIES) == ("TA",)
    assert visible_regimes(None, "ZZi.001", {"US"}, (), TERRITORIES) == ()


def test_countries_come_from_the_route_and_the_parties() -> None:
    rec = record(route={"origin": "US", "destination": "PA", "transit": ["DO"]})
    assert record_countries(rec) == {"US", "PA", "DO", "HT"}
    out = findings_visibility(rec, [finding(None), finding("HT")], TERRITORIES)
    assert out == [("HT",), ("HT",)]


def test_search_columns_fold_names_and_keep_parent_categories() -> None:
    rec = record()
    rec["parties"][1]["name"] = "Sécurité Plus S.A."
    assert party_names(rec) == "gulf coast sporting arms llc | securite plus s a"
    assert "securite plus" in party_keys(rec)
    assert item_categories(rec) == ("small_arms", "small_arms.revolver_pistol")
