"""Lapse dates: a time-limited measure ends unless the table records its renewal."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from services.core import resources, rules
from services.core.context import Context
from services.core.findings import Kind
from services.core.rules_diff import describe
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.knowledge import context_from_files
from tests.records import end_user, record

DOCS = rules.read_documents(resources.rules_dir())
TABLE = rules.ruleset_from_documents(DOCS)
CTX = context_from_files(None, None)


def phase(rid: str, pid: str) -> rules.Phase:
    return next(p for p in TABLE.regimes[rid].phases if p.id == pid)


def with_lapse(last_day: str, **changes: Any) -> dict[str, dict[str, Any]]:
    """The shipped documents with South Sudan's open phase lapsing on ``last_day``."""
    docs = copy.deepcopy(DOCS)
    open_phase = docs["SS.yaml"]["phases"][-1]
    open_phase["lapses"] = {**open_phase["lapses"], "last_day": last_day, **changes}
    return docs


@pytest.mark.parametrize(
    ("rid", "pid", "last_day"),
    [
        ("SS", "SS-2683-peace-agreement-standing", date(2026, 5, 31)),  # 2781: "until 31 May 2026"
        ("CD", "CD-2667-non-governmental", date(2026, 7, 1)),  # 2783 (SC/16109)
        ("CF", "CF-2745-armed-groups", date(2026, 7, 31)),  # 2789 (SC/16131)
        ("SD", "SD-1591-all-parties-darfur", date(2026, 9, 12)),  # 2791 (RTP/Lusa)
        ("HT", "HT-2752-all-arms-territorial", date(2026, 10, 17)),  # 2794, "for one year"
        ("HT", "HT-2653-targeted", date(2026, 10, 17)),
    ],
)
def test_time_limited_phases_carry_their_lapse_date(rid: str, pid: str, last_day: date) -> None:
    lapse = phase(rid, pid).lapses
    assert lapse is not None
    assert lapse.last_day == last_day
    assert lapse.set_by.url is not None


def test_open_ended_regimes_have_no_lapse_date() -> None:
    for rid in ("SO", "YE", "LY", "KP", "IR", "QD", "TA", "LB", "IQ"):
        assert all(p.lapses is None for p in TABLE.regimes[rid].phases), rid


def test_the_haiti_lapse_date_is_marked_as_inferred() -> None:
    lapse = phase("HT", "HT-2752-all-arms-territorial").lapses
    assert lapse is not None
    assert lapse.confidence == "unconfirmed"
    assert "date unconfirmed" in lapse.words()


def pistols_to_south_sudan(on: str) -> dict[str, Any]:
    rec = record(transfer_date=on, route={"origin": "UG", "destination": "SS"})
    return end_user(rec, name="Juba Security Supplies Ltd", country="SS")


def violations(rec: dict[str, Any], ctx: Context = CTX) -> list[str]:
    return [f.phase or "" for f in screen(parse_transfer(rec), ctx) if f.kind is Kind.VIOLATION]


def test_no_finding_under_a_phase_after_its_lapse_date() -> None:
    assert violations(pistols_to_south_sudan("2026-05-31")) == ["SS-2683-peace-agreement-standing"]
    assert violations(pistols_to_south_sudan("2026-06-01")) == []


def test_a_renewed_lapse_date_in_the_table_keeps_the_phase_in_force() -> None:
    renewed = rules.ruleset_from_documents(with_lapse("2027-05-31"))
    ctx = Context(ruleset=renewed)
    assert violations(pistols_to_south_sudan("2026-06-01"), ctx) == [
        "SS-2683-peace-agreement-standing"
    ]


def test_warnings_name_every_phase_past_its_lapse_date_on_the_given_day() -> None:
    assert rules.lapse_warnings(TABLE, date(2026, 5, 31)) == []
    (ss,) = rules.lapse_warnings(TABLE, date(2026, 6, 1))
    assert ss.startswith("SS phase SS-2683-peace-agreement-standing lapsed after 2026-05-31")
    assert "(set by S/RES/2781 (2025))" in ss
    assert "records no renewal" in ss
    later = rules.lapse_warnings(TABLE, date(2026, 12, 3))
    assert [w.split(" lapsed")[0] for w in later] == [
        "CD phase CD-2667-non-governmental",
        "CF phase CF-2745-armed-groups",
        "HT phase HT-2653-targeted",
        "HT phase HT-2752-all-arms-territorial",
        "SD phase SD-1591-all-parties-darfur",
        "SS phase SS-2683-peace-agreement-standing",
    ]


def test_a_recorded_renewal_or_end_silences_the_warning() -> None:
    renewed = rules.ruleset_from_documents(with_lapse("2027-05-31"))
    assert not [w for w in rules.lapse_warnings(renewed, date(2026, 6, 1)) if "SS " in w]
    ended = with_lapse("2026-05-31")
    ended["SS.yaml"]["phases"][-1]["end"] = "2026-05-31"
    table = rules.ruleset_from_documents(ended)
    assert not [w for w in rules.lapse_warnings(table, date(2026, 6, 1)) if "SS " in w]


def test_a_lapse_needs_its_date_and_the_resolution_that_set_it() -> None:
    bad = copy.deepcopy(DOCS)
    del bad["SS.yaml"]["phases"][-1]["lapses"]["set_by"]
    with pytest.raises(rules.RulesError, match="'set_by' is a required property"):
        rules.validate_documents({"SS.yaml": bad["SS.yaml"]})


def test_the_diff_describes_a_changed_lapse_date() -> None:
    changes = describe(DOCS, with_lapse("2027-05-31"))
    assert changes == [
        "SS phase SS-2683-peace-agreement-standing: lapse date (unless renewed) changed from "
        "2026-05-31 (set by S/RES/2781 (2025)) to 2027-05-31 (set by S/RES/2781 (2025))"
    ]
    inferred = describe(DOCS, with_lapse("2026-05-31", confidence="unconfirmed"))
    assert inferred[0].endswith("to 2026-05-31 (set by S/RES/2781 (2025), date unconfirmed)")


def test_a_listed_party_after_a_lapse_is_told_the_embargo_lapsed() -> None:
    rec = end_user(record(transfer_date="2026-11-20"), name="Jimmy Cherizier", type="individual")
    (listed,) = [f for f in screen(parse_transfer(rec), CTX) if f.designated is not None]
    assert (listed.kind, listed.rule_id) == (Kind.INDICATOR, "HT.designated.listed_party")
    assert "lapsed after 2026-10-17 (set by S/RES/2794 (2025); date unconfirmed)" in listed.summary
    assert "records no renewal" in listed.summary


def test_dates_that_contradict_the_table_are_rejected() -> None:
    bad = copy.deepcopy(DOCS["SS.yaml"])
    bad["phases"][-1]["citations"][-1]["adopted"] = "2024-05-30"  # S/RES/2781 (2025)
    bad["phases"][-1]["lapses"]["last_day"] = "2020-01-01"
    with pytest.raises(rules.RulesError) as raised:
        rules.validate_documents({"SS.yaml": bad})
    assert "S/RES/2781 (2025) adopted 2024-05-30" in str(raised.value)
    assert "phase SS-2683-peace-agreement-standing lapses before it starts" in str(raised.value)
