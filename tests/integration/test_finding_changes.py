"""Findings kept by their key through redeliveries and corrected re-sends, against a real
PostgreSQL: a changed one takes the new content and is reopened, a vanished one is
superseded, who sees a finding follows the route, and every such move is audited."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.core.findings import DesignatedRef, Finding, Kind, Severity
from services.core.patterns import Pattern, PatternFinding, TransferRef
from services.review.views import content_changes
from services.store import db
from services.store.dossier import history
from services.store.outcomes import Delivery
from services.store.patterns import _visibility
from services.store.screenings import record_screening
from tests.conftest import sql
from tests.records import end_user, record

pytestmark = pytest.mark.integration

LISTED = DesignatedRef("LYi.020", "ABDELHAFIZ ZLITNI", "Abdelhafiz Zlitni", 0.9312)
FINDINGS = "SELECT rule_id, id, severity, summary, status, superseded_reason FROM findings"
LOG = (
    "SELECT f.rule_id, a.action, a.actor_id, a.via, a.before, a.after, a.rationale "
    "FROM audit_log a JOIN findings f ON f.id = a.finding_id ORDER BY a.id"
)


def violation(**changes: Any) -> Finding:
    base = Finding(
        record_id="r-1",
        kind=Kind.VIOLATION,
        regime="LY",
        rule_id="LY.designated.listed_party",
        phase=None,
        severity=Severity.MEDIUM,
        summary="Listed.",
        citations=("S/RES/1970 (2011), para 9",),
        designated=LISTED,
    )
    return dataclasses.replace(base, **changes)


def indicator() -> Finding:
    return Finding(
        record_id="r-1",
        kind=Kind.INDICATOR,
        regime=None,
        rule_id="indicator.neighbour_route",
        phase=None,
        severity=Severity.LOW,
        summary="Via a neighbour.",
        citations=(),
    )


async def store(url: str, rec: dict[str, Any], findings: Sequence[Finding]) -> None:
    engine = db.async_engine(url)
    try:
        async with db.sessions(engine).begin() as session:
            await record_screening(
                session,
                rec,
                list(findings),
                Delivery("customs", datetime.now(UTC)),
                ruleset_version=1,
                list_version=None,
            )
    finally:
        await engine.dispose()


def rows(url: str) -> dict[str, tuple[Any, ...]]:
    return {r[0]: r[1:] for r in sql(url, FINDINGS)}


def transit(rec: dict[str, Any]) -> dict[str, Any]:
    """``rec`` shipped to Panama through the Dominican Republic, Haiti's neighbour."""
    return {
        **end_user(rec, country="PA"),
        "route": {"origin": "US", "destination": "PA", "transit": ["DO"]},
    }


async def test_a_changed_finding_takes_the_new_content_is_reopened_and_audited(
    database_url: str,
) -> None:
    rec = transit(record("r-1"))
    await store(database_url, rec, [violation(), indicator()])
    before = rows(database_url)
    sql(database_url, "UPDATE findings SET status = 'confirmed' RETURNING id")

    # Redelivered, or screened again with a score moved beyond what is shown: nothing moves.
    await store(database_url, rec, [violation(), indicator()])
    rescored = dataclasses.replace(LISTED, score=0.9349)
    await store(database_url, rec, [violation(designated=rescored), indicator()])
    assert sql(database_url, "SELECT count(*) FROM audit_log") == [(0,)]
    assert {r[3] for r in rows(database_url).values()} == {"confirmed"}

    # A corrected re-send whose violation now reads otherwise.
    corrected = {**rec, "items": [{**rec["items"][0], "quantity": 121}]}
    changed = violation(
        severity=Severity.HIGH,
        summary="Listed, 121 pistols.",
        designated=dataclasses.replace(LISTED, matched_name="A. Zlitni", score=0.88),
    )
    await store(database_url, corrected, [changed, indicator()])
    now = rows(database_url)
    violation_id = before["LY.designated.listed_party"][0]
    assert now["LY.designated.listed_party"][:4] == (
        violation_id,  # the same row: its history and comments stay
        "high",
        "Listed, 121 pistols.",
        "open",
    )
    assert now["indicator.neighbour_route"][3] == "confirmed"  # same content: kept
    designated = {
        "reference_number": "LYi.020",
        "name": "ABDELHAFIZ ZLITNI",
        "matched_name": "Abdelhafiz Zlitni",
        "score": 0.9312,
    }
    ((rule, action, actor, via, was, after, why),) = sql(database_url, LOG)
    assert (rule, action, actor, via) == (
        "LY.designated.listed_party",
        "finding.change",
        None,
        "matcher",
    )
    assert was == {
        "severity": "medium",
        "summary": "Listed.",
        "designated": designated,
        "status": "confirmed",
    }
    assert after == {
        "severity": "high",
        "summary": "Listed, 121 pistols.",
        "designated": {**designated, "matched_name": "A. Zlitni", "score": 0.88},
        "status": "open",
    }
    assert why == "a corrected re-send of the record changes it"

    # The finding's page shows it in its history, field by field.
    engine = db.async_engine(database_url)
    try:
        async with db.sessions(engine)() as session:
            (entry,) = await history(session, violation_id)
    finally:
        await engine.dispose()
    assert (entry.actor, entry.words) == (None, "changed it")
    assert content_changes(entry.before, entry.after) == [
        ("severity", "medium", "high"),
        ("summary", "Listed.", "Listed, 121 pistols."),
        (
            "list entry",
            "ABDELHAFIZ ZLITNI (matched “Abdelhafiz Zlitni”, score 0.93)",
            "ABDELHAFIZ ZLITNI (matched “A. Zlitni”, score 0.88)",
        ),
    ]


async def test_a_vanished_finding_is_superseded_who_sees_follows_the_route_all_audited(
    database_url: str,
) -> None:
    rec = transit(record("r-1"))
    await store(database_url, rec, [violation(), indicator()])
    seen = "SELECT rule_id, visible_regimes FROM findings ORDER BY id"
    assert sql(database_url, seen) == [
        ("LY.designated.listed_party", ["LY"]),
        ("indicator.neighbour_route", ["HT", "LY"]),  # DO neighbours Haiti; LY is on it
    ]

    # Corrected: straight to France, and the listed party is no longer named.
    direct = {**end_user(rec, country="FR"), "route": {"origin": "US", "destination": "FR"}}
    await store(database_url, direct, [indicator()])
    assert sql(database_url, seen)[1] == ("indicator.neighbour_route", [])
    assert rows(database_url)["LY.designated.listed_party"][4] == (
        "a corrected re-send of the record no longer yields it"
    )

    # Corrected back: the violation is in force again, and Haiti and Libya see the indicator.
    await store(database_url, rec, [violation(), indicator()])
    assert sql(database_url, seen)[1] == ("indicator.neighbour_route", ["HT", "LY"])
    assert rows(database_url)["LY.designated.listed_party"][4] is None

    log = sql(database_url, LOG)
    assert [(r[0], r[1], r[2], r[3]) for r in log] == [
        ("indicator.neighbour_route", "finding.change", None, "matcher"),
        ("LY.designated.listed_party", "finding.supersede", None, "matcher"),
        ("indicator.neighbour_route", "finding.change", None, "matcher"),
        ("LY.designated.listed_party", "finding.restore", None, "matcher"),
    ]
    assert log[0][4:] == (
        {"visible_regimes": ["HT", "LY"], "status": "open"},
        {"visible_regimes": [], "status": "open"},
        "a corrected re-send of the record changes it",
    )
    assert log[1][4:] == (
        {"superseded": False},
        {"superseded": True},
        "a corrected re-send of the record no longer yields it",
    )
    assert log[3][6] == "a corrected re-send of the record yields it again"
    assert content_changes(log[0][4], log[0][5]) == [("seen by", "HT, LY", "admins only")]
    # A finding decided on is reopened only for a change of content, not of who sees it.
    assert {r[3] for r in rows(database_url).values()} == {"open"}


async def test_a_regime_less_pattern_finding_is_seen_by_the_places_of_all_its_transfers(
    database_url: str,
) -> None:
    to_haiti = record("r-1")
    to_france = {
        **end_user(record("r-2"), country="FR"),
        "route": {"origin": "US", "destination": "FR"},
    }
    await store(database_url, to_haiti, [])
    await store(database_url, to_france, [])
    transfers = sql(database_url, "SELECT record_id, id FROM screened_transfers")
    refs = {TransferRef("customs", str(r)): int(str(i)) for r, i in transfers}
    pattern = PatternFinding(
        pattern=Pattern.SPLIT_SHIPMENT,
        group="g",
        key="k",
        anchor=date(2024, 11, 20),
        holder=TransferRef("customs", "r-2"),
        members=tuple(refs),
        finding=dataclasses.replace(indicator(), record_id="r-2", ruleset_version=1),
    )
    engine = db.async_engine(database_url)
    try:
        async with db.sessions(engine)() as session:
            (visible,) = await _visibility(session, [pattern], refs)
            only_france = dataclasses.replace(pattern, members=(pattern.holder,))
            (alone,) = await _visibility(session, [only_france], refs)
    finally:
        await engine.dispose()
    assert visible == ("HT",)  # r-1 goes to Haiti, though the holder, r-2, does not
    assert alone == ()
