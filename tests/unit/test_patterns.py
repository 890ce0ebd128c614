"""Diversion patterns across transfers: what holds, in words, whatever the arrival order."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.core import rules
from services.core.findings import Kind, Severity
from services.core.patterns import (
    Approach,
    Family,
    Filed,
    Goods,
    PartyFacts,
    Pattern,
    PatternFinding,
    PatternRules,
    TransferFacts,
    TransferRef,
    certificate_key,
    checks,
    detect,
    facts_of,
    party_key,
    reconcile,
)
from services.core.transfers import parse_transfer
from services.settings import Settings
from tests.records import end_user, record

RULES = rules.load_directory(version=3)
DEFAULTS = PatternRules()
HT = Approach("HT", "Haiti", "HT", "destination", "HT", "HT-2752", ("S/RES/2752 (2024), para 2",))
DO = Approach("HT", "Haiti", "HT", "destination", "DO", "HT-2752", ("S/RES/2752 (2024), para 2",))
BUYER = PartyFacts("HT:caribbeanimportservices", "end_user", "Caribbean Import Services SA", "HT")
EXPORTER = PartyFacts("US:gulfcoast", "exporter", "Gulf Coast LLC", "US")
DAY0 = date(2024, 11, 1)


def facts(
    record_id: str,
    day: int,
    weapons: float = 0,
    ammunition: float = 0,
    *,
    near: bool = True,
    receiver: PartyFacts = BUYER,
    exporter: PartyFacts = EXPORTER,
    certificate: str | None = None,
    integrator: str = "customs",
) -> TransferFacts:
    goods = [(Goods.AMMUNITION, ammunition)] if ammunition else []
    goods += [(Goods.WEAPONS, weapons)] if weapons else []
    return TransferFacts(
        ref=TransferRef(integrator, record_id),
        transfer_date=DAY0 + timedelta(days=day),
        ruleset_version=3,
        destination="HT" if near else "FR",
        approaches=(HT,) if near else (),
        receivers=(receiver,),
        exporters=(exporter,),
        end_users=(receiver,),
        certificate=certificate,
        certificate_as_written=certificate,
        goods=tuple(goods),
    )


def found(
    pattern: Pattern, related: Sequence[TransferFacts], pr: PatternRules = DEFAULTS
) -> list[PatternFinding]:
    key = BUYER.key if pattern is not Pattern.REUSED_CERTIFICATE else related[0].certificate
    assert key is not None
    return detect(pattern, key, related, pr)


def ids(pf: PatternFinding) -> list[str]:
    return [m.record_id for m in pf.members]


# --- What one transfer contributes ---------------------------------------------------


def test_a_party_is_followed_by_its_country_and_its_name_without_legal_forms() -> None:
    assert party_key("Caribbean Import Services S.A.", "HT") == "HT:caribbeanimportservices"
    assert party_key("CARIBBEAN IMPORT SERVICES SA", "HT") == "HT:caribbeanimportservices"
    assert party_key("Caribbean Import Services", None) == "-:caribbeanimportservices"
    assert party_key("Ministry of Defence", "HT") != party_key("Ministry of Defence", "DO")


@pytest.mark.parametrize("name", ["The Government", "unknown", "N/A", "Ltd"])
def test_names_that_name_no_one_are_not_followed(name: str) -> None:
    assert party_key(name, "HT") is None


def test_certificate_numbers_compare_by_their_letters_and_digits() -> None:
    assert certificate_key("EUC/HT-2024 017") == certificate_key("euc ht 2024-017")
    assert certificate_key("EUC/HT-2024 017") == "EUCHT2024017"
    for not_a_number in ("N/A", "12", "pending", ""):
        assert certificate_key(not_a_number) is None


def pistols(q: float) -> list[dict[str, Any]]:
    return [{"category": "small_arms.revolver_pistol", "description": "pistols", "quantity": q}]


def test_facts_add_up_weapons_and_ammunition_apart_and_ignore_other_goods() -> None:
    items = [
        *pistols(10),
        {"hs_code": "930320", "description": "shotguns", "quantity": 5},
        {"category": "ammunition.small_arms", "description": "9mm", "quantity": 900},
        {"category": "night_vision", "description": "goggles", "quantity": 40},
    ]
    f = facts_of(parse_transfer(record(items=items)), "customs", RULES)
    assert f.quantity(Goods.WEAPONS) == 15
    assert f.quantity(Goods.AMMUNITION) == 900
    assert f.goods == ((Goods.AMMUNITION, 900.0), (Goods.WEAPONS, 15.0))


def test_a_transfer_into_haiti_comes_near_its_embargo_under_the_territorial_phase() -> None:
    f = facts_of(parse_transfer(record()), "customs", RULES)
    assert [(a.regime, a.via, a.country) for a in f.approaches] == [("HT", "destination", "HT")]
    assert f.approaches[0].phase == "HT-2752-all-arms-territorial"
    assert f.approaches[0].citations[0] == "S/RES/2752 (2024), para 2"
    assert f.lookup_keys() == {(Family.RECEIVER, "HT:caribbeanimportservices")}


def test_next_door_or_in_transit_comes_near_but_out_of_the_territory_does_not() -> None:
    to_do = record(route={"origin": "US", "destination": "DO"})
    via_do = record(route={"origin": "US", "destination": "JM", "transit": ["DO"]})
    from_ht = record(route={"origin": "HT", "destination": "DO"})
    far = record(route={"origin": "US", "destination": "FR"})

    def near(rec: dict[str, Any]) -> list[tuple[str, str, str]]:
        approaches = facts_of(parse_transfer(rec), "c", RULES).approaches
        return [(a.regime, a.via, a.country) for a in approaches]

    assert near(to_do) == [("HT", "destination", "DO")]
    assert near(via_do) == [("HT", "transit", "DO")]
    assert near(from_ht) == []
    assert near(far) == []


def test_before_any_embargo_nothing_is_near() -> None:
    f = facts_of(parse_transfer(record(transfer_date="2021-06-01")), "c", RULES)
    assert f.approaches == ()


def test_a_certificate_and_receivers_are_keys_only_when_there_is_something_to_follow() -> None:
    docs = {"end_user_certificate": "EUC-2024-017"}
    helmets = [{"category": "non_lethal_protective", "description": "helmets", "quantity": 9}]
    f = facts_of(parse_transfer(record(items=helmets, documents=docs)), "c", RULES)
    assert f.lookup_keys() == {(Family.CERTIFICATE, "EUC2024017")}
    vague = end_user(record(), name="the government")
    assert facts_of(parse_transfer(vague), "c", RULES).lookup_keys() == set()


def test_facts_read_back_as_written() -> None:
    rec = record(documents={"end_user_certificate": "EUC-2024-017"})
    rec["parties"].append({"role": "consignee", "name": "Port Agent SA", "country": "HT"})
    f = facts_of(parse_transfer(rec), "customs", RULES)
    assert TransferFacts.from_dict(f.to_dict()) == f
    assert [p.role for p in f.receivers] == ["end_user", "consignee"]


# --- Split shipments ---------------------------------------------------------------------


def test_small_shipments_that_together_pass_the_threshold_are_a_split_shipment() -> None:
    related = [facts("r-2", 9, 12), facts("r-1", 0, 10), facts("r-3", 19, 8)]
    (pf,) = found(Pattern.SPLIT_SHIPMENT, related)
    assert ids(pf) == ["r-1", "r-2", "r-3"]
    assert pf.holder == TransferRef("customs", "r-3")
    assert pf.anchor == DAY0
    f = pf.finding
    assert (f.kind, f.severity, f.rule_id, f.regime) == (
        Kind.INDICATOR,
        Severity.MEDIUM,
        "indicator.split_shipment",
        "HT",
    )
    assert f.record_id == "r-3"
    assert f.citations == ("S/RES/2752 (2024), para 2",)
    assert f.summary.startswith(
        "Transfers r-1, r-2 and r-3 to end user 'Caribbean Import Services SA' (HT), between "
        "2024-11-01 and 2024-11-20 (within 30 days), each carry fewer than 25 small arms and "
        "light weapons (10, 12 and 8) but 30 together, bound for HT, where the Haiti arms "
        "embargo applies (S/RES/2752 (2024), para 2)"
    )
    assert [m["record_id"] for m in f.evidence["transfers"]] == ["r-1", "r-2", "r-3"]
    assert f.evidence["total"] == 30
    assert f.evidence["threshold"] == 25


def test_no_split_without_several_small_shipments_passing_the_threshold_together() -> None:
    assert found(Pattern.SPLIT_SHIPMENT, [facts("a", 0, 10), facts("b", 5, 14)]) == []
    # One shipment at the threshold is not small: it is what it is, not a split.
    assert found(Pattern.SPLIT_SHIPMENT, [facts("a", 0, 25), facts("b", 5, 24)]) == []
    # Spread over more than the window.
    assert found(Pattern.SPLIT_SHIPMENT, [facts("a", 0, 13), facts("b", 30, 13)]) == []
    # Nowhere near an embargo.
    far = [facts("a", 0, 13, near=False), facts("b", 5, 13, near=False)]
    assert found(Pattern.SPLIT_SHIPMENT, far) == []


def test_the_window_is_inclusive_of_its_last_day() -> None:
    (pf,) = found(Pattern.SPLIT_SHIPMENT, [facts("a", 0, 13), facts("b", 29, 13)])
    assert ids(pf) == ["a", "b"]


def test_ammunition_is_counted_in_rounds_against_its_own_threshold() -> None:
    related = [facts("a", 0, ammunition=999), facts("b", 3, ammunition=999, weapons=30)]
    (pf,) = found(Pattern.SPLIT_SHIPMENT, related)
    assert pf.finding.evidence["goods"] == "ammunition"
    assert "fewer than 1000 rounds" in pf.finding.summary


def test_only_the_largest_window_counts_and_windows_sliding_on_are_reported_each() -> None:
    related = [facts(f"r-{d}", d, 9) for d in (0, 10, 20, 35)]
    splits = found(Pattern.SPLIT_SHIPMENT, related)
    assert [ids(pf) for pf in splits] == [["r-0", "r-10", "r-20"], ["r-10", "r-20", "r-35"]]


def test_a_large_shipment_among_small_ones_is_not_part_of_the_split() -> None:
    related = [facts("a", 0, 13), facts("big", 2, 200), facts("b", 4, 13)]
    (pf,) = found(Pattern.SPLIT_SHIPMENT, related)
    assert ids(pf) == ["a", "b"]


def test_the_summary_says_which_integrator_sent_which_when_several_did() -> None:
    related = [facts("r-1", 0, 13, integrator="customs-ht"), facts("r-1", 2, 13)]
    (pf,) = found(Pattern.SPLIT_SHIPMENT, related)
    assert "Transfers r-1 (customs-ht) and r-1 (customs) to" in pf.finding.summary


# --- Surges --------------------------------------------------------------------------------


def history(n: int = 4, each: float = 10) -> list[TransferFacts]:
    """``n`` transfers of ``each`` weapons, one every 60 days before day 0."""
    return [facts(f"h-{i}", -60 * (i + 1), each) for i in range(n)]


def test_a_month_far_above_the_year_before_is_a_surge() -> None:
    burst = [facts("s-1", 0, 30), facts("s-2", 10, 40)]
    (pf,) = found(Pattern.SURGE, [*history(), *burst])
    assert ids(pf) == ["s-1", "s-2"]
    assert pf.anchor == DAY0 + timedelta(days=10)
    f = pf.finding
    assert (f.severity, f.rule_id) == (Severity.LOW, "indicator.surge")
    # 4 x 10 in 365 days: 3.3 per 30 days; 70 is 21.3 times that.
    assert f.evidence["history_transfers"] == 4
    assert f.evidence["ratio"] == pytest.approx(70 / (40 * 30 / 365), abs=1e-3)
    assert (
        "received 70 small arms and light weapons in the 30 days to 2024-11-11 (s-1 and s-2)"
        in (f.summary)
    )
    assert "21.3 times its mean of 3.3 per 30 days over the 365 days before" in f.summary


def test_no_surge_without_history_enough_rise_or_enough_goods_or_an_embargo() -> None:
    burst = [facts("s-1", 0, 30), facts("s-2", 10, 40)]
    assert found(Pattern.SURGE, [*history(2), *burst]) == []  # too little history
    assert found(Pattern.SURGE, [*history(each=200), *burst]) == []  # not far above it
    assert found(Pattern.SURGE, [*history(each=1), facts("s", 0, 20)]) == []  # 20 < 25
    far = [dataclasses.replace(f, approaches=()) for f in burst]
    assert found(Pattern.SURGE, [*history(), *far]) == []


def test_a_surge_grown_by_a_later_transfer_is_reported_once_as_the_larger_set() -> None:
    burst = [facts("s-1", 0, 30), facts("s-2", 10, 40), facts("s-3", 20, 5)]
    (pf,) = found(Pattern.SURGE, [*history(), *burst])
    assert ids(pf) == ["s-1", "s-2", "s-3"]


# --- Reused end-user certificates ------------------------------------------------------


def test_one_certificate_on_transfers_from_two_exporters_is_reused() -> None:
    other = PartyFacts("FR:armesdeparis", "exporter", "Armes de Paris SARL", "FR")
    related = [
        facts("a", 0, 5, certificate="EUC2024017"),
        facts("b", 200, 5, certificate="EUC2024017", exporter=other, near=False),
    ]
    (pf,) = found(Pattern.REUSED_CERTIFICATE, related)
    assert ids(pf) == ["a", "b"]
    f = pf.finding
    assert (f.severity, f.rule_id, f.regime, f.party) == (
        Severity.MEDIUM,
        "indicator.reused_end_user_certificate",
        "HT",
        None,
    )
    assert f.summary.startswith(
        "End-user certificate 'EUC2024017' is given for 2 transfers, a and b, from 2 exporters "
        "('Gulf Coast LLC'; 'Armes de Paris SARL'); a is bound for HT"
    )


def test_one_certificate_to_two_end_users_is_reused() -> None:
    other = PartyFacts("HT:boutiquepetionville", "end_user", "Boutique Pétion-Ville", "HT")
    related = [
        facts("a", 0, 5, certificate="EUC2024017"),
        facts("b", 3, 5, certificate="EUC2024017", receiver=other),
    ]
    (pf,) = found(Pattern.REUSED_CERTIFICATE, related)
    assert "to 2 end users ('Caribbean Import Services SA'; 'Boutique Pétion-Ville')" in (
        pf.finding.summary
    )


def test_one_certificate_for_several_deliveries_of_one_deal_or_far_from_any_embargo_is_not() -> (
    None
):
    same = [facts(r, d, 5, certificate="EUC2024017") for r, d in (("a", 0), ("b", 30))]
    assert found(Pattern.REUSED_CERTIFICATE, same) == []
    other = PartyFacts("FR:armesdeparis", "exporter", "Armes de Paris SARL", "FR")
    far = [
        facts("a", 0, 5, certificate="EUC2024017", near=False),
        facts("b", 3, 5, certificate="EUC2024017", exporter=other, near=False),
    ]
    assert found(Pattern.REUSED_CERTIFICATE, far) == []


# --- Reconciling what is stored -----------------------------------------------------------


def test_a_grown_set_supersedes_the_smaller_one_and_says_so() -> None:
    small = found(Pattern.SPLIT_SHIPMENT, [facts("a", 0, 13), facts("b", 4, 13)])
    grown = found(Pattern.SPLIT_SHIPMENT, [facts("a", 0, 13), facts("b", 4, 13), facts("c", 9, 1)])
    filed = [Filed(small[0].key, True, small[0].members)]
    plan = reconcile(filed, grown)
    assert plan.insert == tuple(grown)
    assert plan.restore == ()
    ((key, why),) = plan.supersede
    assert key == small[0].key
    assert why.startswith(f"the set grew to 3 transfers; finding {grown[0].key} on transfer c")


def test_the_same_set_found_again_changes_nothing_and_a_returning_one_is_restored() -> None:
    (pf,) = found(Pattern.SPLIT_SHIPMENT, [facts("a", 0, 13), facts("b", 4, 13)])
    assert reconcile([Filed(pf.key, True, pf.members)], [pf]) == reconcile([], [])
    plan = reconcile([Filed(pf.key, False, pf.members)], [pf])
    assert (plan.insert, plan.restore, plan.supersede) == ((), (pf.key,), ())


def test_a_set_that_no_longer_holds_is_superseded_with_its_reason() -> None:
    (pf,) = found(Pattern.SPLIT_SHIPMENT, [facts("a", 0, 13), facts("b", 4, 13)])
    ((_, why),) = reconcile([Filed(pf.key, True, pf.members)], []).supersede
    assert why == "the related transfers, as now recorded, no longer show this pattern"
    restated = found(Pattern.SPLIT_SHIPMENT, [facts("a", 0, 13), facts("b", 4, 14)])
    ((_, why),) = reconcile([Filed(pf.key, True, pf.members)], restated).supersede
    assert why.startswith("restated with the transfers as now recorded")


# --- Tuning ---------------------------------------------------------------------------------


def test_rules_come_from_settings_and_refuse_values_that_make_no_sense() -> None:
    assert PatternRules.from_settings(Settings()) == DEFAULTS  # one home for each default
    pr = PatternRules.from_settings(Settings(pattern_split_window_days=14))
    assert pr == dataclasses.replace(DEFAULTS, split_window_days=14)
    with pytest.raises(ValueError, match="pattern_surge_factor"):
        Settings(pattern_surge_factor=1)
    with pytest.raises(ValueError, match="surge_factor"):
        PatternRules(surge_factor=1)
    with pytest.raises(ValueError, match="split_window_days"):
        PatternRules(split_window_days=0)


# --- Order independence ----------------------------------------------------------------------

SMALL = PatternRules(
    split_window_days=10,
    weapons_threshold=10,
    ammunition_threshold=100,
    surge_window_days=7,
    surge_history_days=30,
    surge_factor=2,
    surge_min_history=2,
)
RECEIVERS = [
    BUYER,
    PartyFacts("DO:distribuidora", "consignee", "Distribuidora SRL", "DO"),
    PartyFacts("HT:agent", "consignee", "Agent", "HT"),
]
EXPORTERS = [EXPORTER, PartyFacts("FR:armes", "exporter", "Armes", "FR")]


@dataclass
class Ledger:
    """What the store keeps, in dictionaries, updated the way ``record_patterns`` does:
    facts first, then each check over its span alone."""

    rules: PatternRules
    facts: dict[TransferRef, TransferFacts] = field(default_factory=dict)
    filed: dict[str, tuple[PatternFinding, bool]] = field(default_factory=dict)

    def store(self, batch: Sequence[TransferFacts]) -> int:
        changes = [(self.facts.get(f.ref), f) for f in batch]
        changes = [(old, new) for old, new in changes if old != new]
        self.facts.update((new.ref, new) for _, new in changes)
        inserted = 0
        for check in checks(changes, self.rules):
            related = [
                f
                for f in self.facts.values()
                if (check.family, check.key) in f.lookup_keys()
                and check.span.loads(f.transfer_date)
            ]
            desired = detect(check.pattern, check.key, related, self.rules, check.span)
            filed = [
                Filed(key, in_force, pf.members)
                for key, (pf, in_force) in self.filed.items()
                if pf.group == check.group and check.span.covers(pf.anchor)
            ]
            plan = reconcile(filed, desired)
            for pf in plan.insert:
                self.filed[pf.key] = (pf, True)
            for key in plan.restore:
                self.filed[key] = (self.filed[key][0], True)
            for key, _ in plan.supersede:
                self.filed[key] = (self.filed[key][0], False)
            inserted += len(plan.insert)
        return inserted

    def in_force(self) -> set[str]:
        return {key for key, (_, in_force) in self.filed.items() if in_force}


def everything_at_once(final: Sequence[TransferFacts], pr: PatternRules) -> set[str]:
    keys = {fk for f in final for fk in f.lookup_keys()}
    return {
        pf.key
        for family, key in keys
        for pattern in (
            (Pattern.SPLIT_SHIPMENT, Pattern.SURGE)
            if family is Family.RECEIVER
            else (Pattern.REUSED_CERTIFICATE,)
        )
        for pf in detect(pattern, key, [f for f in final if (family, key) in f.lookup_keys()], pr)
    }


@st.composite
def a_transfer(draw: st.DrawFn, n: int) -> TransferFacts:
    goods = []
    if draw(st.booleans()):
        goods.append((Goods.AMMUNITION, float(draw(st.integers(1, 150)))))
    if draw(st.integers(0, 3)):
        goods.append((Goods.WEAPONS, float(draw(st.integers(1, 14)))))
    receivers = draw(st.lists(st.sampled_from(RECEIVERS), min_size=1, max_size=2, unique=True))
    certificate = draw(st.sampled_from([None, "EUC0001", "EUC0002"]))
    return TransferFacts(
        ref=TransferRef(draw(st.sampled_from(["a", "b"])), f"r-{n}"),
        transfer_date=DAY0 + timedelta(days=draw(st.integers(0, 90))),
        ruleset_version=3,
        destination="HT",
        approaches=draw(st.sampled_from([(), (HT,), (DO,)])),
        receivers=tuple(receivers),
        exporters=(draw(st.sampled_from(EXPORTERS)),),
        end_users=(receivers[-1],),
        certificate=certificate,
        certificate_as_written=certificate,
        goods=tuple(goods),
    )


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[TransferFacts], list[list[TransferFacts]]]:
    """The final transfers, and batches in which they arrive (with earlier versions of some,
    corrected later): any order, any batching, one version of a transfer per batch (the
    store is handed transfer ids)."""
    n = draw(st.integers(2, 28))
    final = [draw(a_transfer(i)) for i in range(n)]
    versions = [(f, True) for f in final]
    for f in final:
        if draw(st.integers(0, 4)) == 0:
            versions.append((dataclasses.replace(draw(a_transfer(0)), ref=f.ref), False))
    timeline = list(draw(st.permutations(versions)))
    # A draft arrives before its correction: swap the two where it does not.
    for ref in {f.ref for f, is_final in versions if not is_final}:
        draft, last = (
            next(i for i, (f, fin) in enumerate(timeline) if f.ref == ref and fin is x)
            for x in (False, True)
        )
        if draft > last:
            timeline[draft], timeline[last] = timeline[last], timeline[draft]
    cuts = draw(st.lists(st.integers(1, len(timeline) - 1), max_size=6, unique=True))
    batches: list[list[TransferFacts]] = [[]]
    for i, (f, _) in enumerate(timeline):
        if i in cuts or any(g.ref == f.ref for g in batches[-1]):
            batches.append([])
        batches[-1].append(f)
    return final, batches


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrivals())
def test_any_arrival_order_and_batching_leaves_the_findings_of_all_transfers_at_once(
    case: tuple[list[TransferFacts], list[list[TransferFacts]]],
) -> None:
    final, batches = case
    ledger = Ledger(SMALL)
    for batch in batches:
        ledger.store(batch)
    assert ledger.in_force() == everything_at_once(final, SMALL)
    # The same transfers again, in any batching, add nothing.
    assert ledger.store(final) == 0
    assert ledger.in_force() == everything_at_once(final, SMALL)


def test_the_order_independence_check_sees_patterns_at_all() -> None:
    """The property above would pass vacuously if the generated sets never held a
    pattern: with these transfers, each of the three holds."""
    other = PartyFacts("FR:armes", "exporter", "Armes", "FR")
    final = [
        facts("h-1", -20, 3, certificate="EUC0001"),
        facts("h-2", -12, 3),
        facts("a", 0, 6),
        facts("b", 3, 6, certificate="EUC0001", exporter=other),
    ]
    ledger = Ledger(SMALL)
    for f in reversed(final):
        ledger.store([f])
    patterns = {ledger.filed[k][0].pattern for k in ledger.in_force()}
    assert patterns == set(Pattern)
    assert ledger.in_force() == everything_at_once(final, SMALL)
