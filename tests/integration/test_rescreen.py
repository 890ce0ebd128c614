"""``ewatch rescreen`` against a real PostgreSQL: what another list or ruleset version
changes in stored history, the dry run that writes nothing, and applying it once."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.core.context import Context
from services.core.rules import Ruleset, load_directory
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.knowledge import context_for, read_annex, read_list
from services.store import db, rulesets, sanctions
from services.store.outcomes import Delivery
from services.store.rescreen import Scope, Tally, rescreen
from services.store.screenings import record_screening
from tests.conftest import sql
from tests.integration.stack import ROOT
from tests.records import end_user, record

pytestmark = pytest.mark.integration
CLEAN = ROOT / "data" / "un-consolidated-2024-09-26.xml"
DAMAGED = ROOT / "data" / "un-consolidated-2025-08-16-damaged.xml"
VEHICLES = [{"hs_code": "871000", "description": "armoured vehicles", "quantity": 2}]
#: Every transfer's findings, keyed by what identifies them to a reader.
FINDINGS = (
    "SELECT t.record_id, f.rule_id, f.phase, f.id, f.superseded_at IS NOT NULL, "
    "f.superseded_reason, f.list_version, f.ruleset_version "
    "FROM findings f JOIN screened_transfers t ON t.id = f.transfer_id ORDER BY f.id"
)


def records() -> list[dict[str, Any]]:
    """Transfers whose findings a list or a rules change moves, and some it does not."""
    return [
        # VIV ANSANM was listed on 2025-07-08: on the 2025 list, not on the 2024 one.
        end_user(record("viv", transfer_date="2025-08-01"), name="Viv Ansanm", type="armed_group"),
        end_user(
            record(
                "viv-fr", transfer_date="2025-08-01", route={"origin": "US", "destination": "FR"}
            ),
            name="Viv Ansanm",
            type="armed_group",
        ),
        # LYi.020, ABDELHAFIZ ZLITNI, is removed from the 2025 list.
        end_user(
            record("ly", transfer_date="2020-01-01", route={"origin": "FR", "destination": "LY"}),
            name="Abdelhafiz Zlitni",
            country="LY",
            type="individual",
        ),
        record("ht", transfer_date="2024-11-20"),
        record("ht-vehicles", transfer_date="2024-11-20", items=VEHICLES),
        # After HT-2752's lapse date, which the shipped table records no renewal of.
        record("ht-late", transfer_date="2026-11-01"),
    ]


@pytest.fixture(scope="module")
def contexts() -> dict[str, Context]:
    """The shipped rules as version 1 with each list (a list's name index takes seconds)."""
    rules = load_directory(version=1)
    annex = read_annex()
    return {
        "2024": context_for(rules, read_list(CLEAN), annex),
        "2025": context_for(rules, read_list(DAMAGED), annex),
    }


def renewed_rules(tmp_path: Path) -> Path:
    """The rules with HT-2752 renewed for a year but starting later, as a new version would."""
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "regimes", folder)
    haiti = yaml.safe_load((folder / "HT.yaml").read_text())
    for phase in haiti["phases"]:
        if phase["id"] == "HT-2699-salw-territorial":
            phase["end"] = "2024-11-30"
        if phase["id"] == "HT-2752-all-arms-territorial":
            phase["start"] = "2024-12-01"
            phase["lapses"]["last_day"] = "2027-10-17"
    (folder / "HT.yaml").write_text(yaml.safe_dump(haiti, allow_unicode=True))
    return folder


def with_rules(context: Context, ruleset: Ruleset) -> Context:
    return dataclasses.replace(context, ruleset=ruleset)


async def store(url: str, context: Context, recs: list[dict[str, Any]] | None = None) -> None:
    """Store transfers as the matcher does, screened with ``context``."""
    engine = db.async_engine(url)
    try:
        for rec in recs if recs is not None else records():
            async with db.sessions(engine).begin() as session:
                await record_screening(
                    session,
                    rec,
                    screen(parse_transfer(rec), context),
                    Delivery("customs", datetime.now(UTC)),
                    ruleset_version=context.ruleset.version,
                    list_version=context.list_version,
                )
    finally:
        await engine.dispose()


EVERYTHING = Scope()


def run(url: str, context: Context, scope: Scope = EVERYTHING, **options: Any) -> Tally:
    engine: Engine = db.sync_engine(url)
    try:
        return rescreen(engine, context, scope, **options)
    finally:
        engine.dispose()


def tables(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every column of every transfer and finding row."""
    return (
        sql(url, "SELECT * FROM screened_transfers ORDER BY id"),
        sql(url, "SELECT * FROM findings ORDER BY id"),
    )


def changed(tally: Tally) -> dict[str, tuple[list[str], list[str], list[str]]]:
    """record_id → (new, in force again, superseded) rule ids."""
    return {
        t.record_id: (
            [f.rule_id for f in t.change.new],
            [b.rule_id for b in t.change.restored],
            [b.rule_id for b in t.change.superseded],
        )
        for t in tally.changes
    }


async def test_a_new_list_version_dry_run_reports_additions_and_removals_and_writes_nothing(
    database_url: str, contexts: dict[str, Context]
) -> None:
    await store(database_url, contexts["2024"])
    before = tables(database_url)
    tally = run(database_url, contexts["2025"], apply=False, batch_size=4)
    assert tables(database_url) == before
    assert changed(tally) == {
        "viv": (["HT.designated.receiving"], [], []),
        "viv-fr": (["HT.designated.receiving"], [], []),
        "ly": ([], [], ["LY.designated.listed_party"]),
    }
    assert dict(tally.findings["new"]) == {"HT": 2}
    assert dict(tally.findings["superseded"]) == {"LY": 1}
    assert (tally.screened, tally.in_scope, tally.changed, tally.unchanged) == (6, 6, 3, 3)
    assert tally.other_versions == 6  # every transfer was screened with the 2024 list
    assert (tally.updated, tally.failed) == (0, 0)


async def test_a_new_ruleset_version_dry_run_reports_what_a_renewal_changes(
    database_url: str, contexts: dict[str, Context], tmp_path: Path
) -> None:
    await store(database_url, contexts["2025"])
    before = tables(database_url)
    renewed = with_rules(contexts["2025"], load_directory(renewed_rules(tmp_path), version=2))
    tally = run(database_url, renewed, apply=False)
    assert tables(database_url) == before
    assert changed(tally) == {
        # The renewal: a transfer after the old lapse date is a violation again.
        "ht-late": (["HT.territory", "indicator.end_user_certificate_missing"], [], []),
        # A later start: armoured vehicles on 2024-11-20 fall under no phase any more, and
        # pistols that day under the small-arms phase extended to cover it.
        "ht": (["HT.territory"], [], ["HT.territory"]),
        "ht-vehicles": ([], [], ["HT.territory"]),
        # The same finding, but its summary now says the embargo is in force since the
        # later start: changed in content (a decision on it would be reopened).
        "viv": ([], [], []),
    }
    by_record = {t.record_id: t.change for t in tally.changes}
    assert by_record["ht-late"].new[0].phase == "HT-2752-all-arms-territorial"
    assert by_record["ht"].new[0].phase == "HT-2699-salw-territorial"
    assert by_record["ht"].superseded[0].phase == "HT-2752-all-arms-territorial"
    (amended,) = by_record["viv"].amended
    assert amended.rule_id == "HT.territory"
    assert "in force since 2024-12-01" in amended.summary
    assert dict(tally.findings["amended"]) == {"HT": 1}
    assert tally.unchanged == 2


async def test_apply_keeps_standing_findings_supersedes_vanished_ones_and_runs_once(
    database_url: str, contexts: dict[str, Context]
) -> None:
    await store(database_url, contexts["2024"])
    ids = {(r[0], r[1]): r[3] for r in sql(database_url, FINDINGS)}
    tally = run(database_url, contexts["2025"], apply=True, batch_size=2)
    assert (tally.changed, tally.updated) == (3, 6)  # every transfer restamped
    after = {(r[0], r[1]): r for r in sql(database_url, FINDINGS)}
    # Standing findings keep their rows, so whatever a reviewer attached survives.
    for key, finding_id in ids.items():
        assert after[key][3] == finding_id
    lost = after[("ly", "LY.designated.listed_party")]
    assert lost[4] is True
    assert lost[5] == "re-screened with ruleset 1 / list 2025-08-16#00d7425cc44f: no longer yielded"
    assert lost[6] == "2024-09-26#c6ca69960536"  # a finding keeps the versions it was made with
    new = after[("viv", "HT.designated.receiving")]
    assert (new[4], new[6]) == (False, "2025-08-16#00d7425cc44f")
    assert sum(1 for r in after.values() if r[4]) == 1
    stamps = "SELECT DISTINCT list_version, ruleset_version FROM screened_transfers"
    assert sql(database_url, stamps) == [("2025-08-16#00d7425cc44f", 1)]

    before = tables(database_url)
    again = run(database_url, contexts["2025"], apply=True, batch_size=2)
    assert tables(database_url) == before
    assert (again.changed, again.updated, again.other_versions) == (0, 0, 0)
    assert again.unchanged == 6

    # Back to the 2024 list: the superseded finding is in force again, on the same row.
    back = run(database_url, contexts["2024"], apply=True)
    assert changed(back) == {
        "viv": ([], [], ["HT.designated.receiving"]),
        "viv-fr": ([], [], ["HT.designated.receiving"]),
        "ly": ([], ["LY.designated.listed_party"], []),
    }
    rows = {(r[0], r[1]): r for r in sql(database_url, FINDINGS)}
    restored = rows[("ly", "LY.designated.listed_party")]
    assert (restored[3], restored[4], restored[5]) == (lost[3], False, None)
    assert rows[("viv", "HT.designated.receiving")][5] == (
        "re-screened with ruleset 1 / list 2024-09-26#c6ca69960536: no longer yielded"
    )


async def test_apply_reopens_a_decided_finding_whose_content_changed_and_audits_each_move(
    database_url: str, contexts: dict[str, Context], tmp_path: Path
) -> None:
    await store(database_url, contexts["2025"])
    decided = (
        "UPDATE findings f SET status = 'confirmed' FROM screened_transfers t "
        "WHERE t.id = f.transfer_id AND f.rule_id = 'HT.territory' "
        "AND t.record_id IN ('viv', 'ht') RETURNING f.id"
    )
    (viv_id,), (ht_id,) = sorted(sql(database_url, decided), key=lambda r: int(str(r[0])))
    renewed = with_rules(contexts["2025"], load_directory(renewed_rules(tmp_path), version=2))
    tally = run(database_url, renewed, apply=True, via="ewatch rescreen (OS user test)")
    assert tally.count("amended") == 1
    viv = sql(
        database_url,
        f"SELECT status, summary, ruleset_version FROM findings WHERE id = {viv_id}",
    )
    assert viv[0][0] == "open"
    assert "in force since 2024-12-01" in str(viv[0][1])
    assert viv[0][2] == 2  # its content is now the one ruleset 2 gives
    log = sql(
        database_url,
        "SELECT finding_id, action, actor_id, via, before, after, rationale FROM audit_log "
        "ORDER BY id",
    )
    by_finding = {(r[0], r[1]): r[2:] for r in log}
    actor, via, before, after, why = by_finding[(viv_id, "finding.change")]
    assert (actor, via) == (None, "ewatch rescreen (OS user test)")
    assert (before["status"], after["status"]) == ("confirmed", "open")
    assert set(before) == {"summary", "status"}
    assert why == "re-screened with ruleset 2 / list 2025-08-16#00d7425cc44f: its content changed"
    # ht's violation is superseded (the new phase starts later): audited, its decision kept.
    _, _, before, after, why = by_finding[(ht_id, "finding.supersede")]
    assert (before, after) == ({"superseded": False}, {"superseded": True})
    assert why == "re-screened with ruleset 2 / list 2025-08-16#00d7425cc44f: no longer yielded"
    assert sql(database_url, f"SELECT status FROM findings WHERE id = {ht_id}") == [("confirmed",)]
    assert {r[1] for r in log} == {"finding.change", "finding.supersede"}
    # Applying again changes nothing and logs nothing.
    run(database_url, renewed, apply=True)
    assert len(sql(database_url, "SELECT id FROM audit_log")) == len(log)


async def test_a_corrected_re_send_follows_the_same_rule_as_a_re_screen(
    database_url: str, contexts: dict[str, Context]
) -> None:
    await store(database_url, contexts["2024"])
    run(database_url, contexts["2025"], apply=True)
    ly = next(r for r in records() if r["record_id"] == "ly")
    ly["items"][0]["quantity"] = 121
    # The matcher screens a corrected re-send with the 2024 list: the finding the re-screen
    # superseded is yielded again, so it is in force again and carries no reason.
    await store(database_url, contexts["2024"], [ly])
    rows = {(r[0], r[1]): r for r in sql(database_url, FINDINGS)}
    assert rows[("ly", "LY.designated.listed_party")][4:6] == (False, None)


async def test_since_and_regime_limit_what_is_reported_and_applied(
    database_url: str, contexts: dict[str, Context]
) -> None:
    await store(database_url, contexts["2024"])
    recent = run(database_url, contexts["2025"], Scope(since=date(2024, 1, 1)), apply=False)
    assert recent.screened == 5  # ly, dated 2020, is not read
    assert set(changed(recent)) == {"viv", "viv-fr"}

    libya = run(database_url, contexts["2025"], Scope(regime="LY", territory="LY"), apply=False)
    assert (libya.screened, libya.in_scope) == (6, 1)
    assert changed(libya) == {"ly": ([], [], ["LY.designated.listed_party"])}

    # Haiti: transfers into Haiti, and viv-fr (to France) for the HT finding it would gain.
    haiti = run(database_url, contexts["2025"], Scope(regime="HT", territory="HT"), apply=True)
    assert haiti.in_scope == 5
    assert set(changed(haiti)) == {"viv", "viv-fr"}
    stamps = dict(sql(database_url, "SELECT record_id, list_version FROM screened_transfers"))
    assert stamps["ly"] == "2024-09-26#c6ca69960536"  # out of scope: left as it was
    assert stamps["viv-fr"] == "2025-08-16#00d7425cc44f"
    assert sql(database_url, "SELECT count(*) FROM findings WHERE superseded_at IS NOT NULL") == [
        (0,)
    ]

    # viv-fr goes to France: with the 2024 list only its HT finding in force keeps it in scope.
    undo = run(database_url, contexts["2024"], Scope(regime="HT", territory="HT"), apply=False)
    assert "viv-fr" in changed(undo)
    assert "ly" not in changed(undo)


async def test_a_record_that_cannot_be_screened_is_reported_and_left_as_it_was(
    database_url: str, contexts: dict[str, Context]
) -> None:
    await store(database_url, contexts["2024"])
    # A record stored before a schema change the parser no longer reads.
    sql(
        database_url,
        "UPDATE screened_transfers SET record = record - 'parties' WHERE record_id = 'viv' "
        "RETURNING id",
    )
    tally = run(database_url, contexts["2025"], apply=True)
    assert tally.failed == 1
    assert [(f.integrator, f.record_id) for f in tally.failures] == [("customs", "viv")]
    assert "parties" in tally.failures[0].error
    assert set(changed(tally)) == {"viv-fr", "ly"}
    assert sql(
        database_url, "SELECT list_version FROM screened_transfers WHERE record_id = 'viv'"
    ) == [("2024-09-26#c6ca69960536",)]


def ewatch(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EWATCH_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_ewatch_rescreen_says_what_a_new_designation_changes_then_applies_it(
    database_url: str, contexts: dict[str, Context], tmp_path: Path
) -> None:
    engine = db.sync_engine(database_url)
    with Session(engine) as session, session.begin():
        rulesets.load(session, ROOT / "rules" / "regimes", activate=True)
        ruleset = rulesets.ruleset(session)
        for path in (CLEAN, DAMAGED):
            sanctions.import_list(session, path.read_bytes(), str(path), ruleset)
    engine.dispose()
    await store(database_url, contexts["2024"])

    dry = ewatch(database_url, "rescreen")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(
        "Dry run, nothing written. 2 new findings (HT 2); 1 would be superseded (LY 1); "
        "3 transfers would change, 3 unchanged"
    ), dry.stdout
    viv = "customs/viv (2025-08-01):\n  + violation HT HT.designated.receiving HT-2653-targeted"
    assert viv + " (high)\n" in dry.stdout
    assert "list 2025-08-16#00d7425cc44f" in dry.stderr
    assert "re-screened 6 transfers in" in dry.stderr

    before = tables(database_url)
    as_json = ewatch(database_url, "rescreen", "--json", "--regime", "ht", "--since", "2025-01-01")
    assert as_json.returncode == 0, as_json.stderr
    assert tables(database_url) == before
    doc = orjson.loads(as_json.stdout)
    assert doc["applied"] is False
    assert doc["scope"] == {"since": "2025-01-01", "regime": "HT", "territory": "HT"}
    assert doc["findings"]["new"] == {"total": 2, "by_regime": {"HT": 2}}
    assert doc["transfers"]["screened"] == 3  # viv, viv-fr, ht-late
    assert [c["record_id"] for c in doc["changes"]] == ["viv", "viv-fr"]
    assert doc["changes"][0]["new"][0]["rule_id"] == "HT.designated.receiving"

    applied = ewatch(database_url, "rescreen", "--apply", "--list", "2025-08-16")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith(
        "Applied. 2 new findings added (HT 2); 1 superseded (LY 1); 3 transfers changed"
    )
    assert "warning" not in applied.stderr
    again = ewatch(database_url, "rescreen", "--apply", "--json")
    assert orjson.loads(again.stdout)["summary"] == (
        "0 new findings; 0 superseded; 0 transfers changed, 6 unchanged"
    )

    # A ruleset that is not the active one: applied, with a warning that the matcher differs.
    assert ewatch(database_url, "rules", "load", str(renewed_rules(tmp_path))).returncode == 0
    renewal = ewatch(database_url, "rescreen", "--ruleset", "2", "--apply", "--json")
    assert renewal.returncode == 0, renewal.stderr
    assert "the matcher screens with ruleset 1" in renewal.stderr
    assert orjson.loads(renewal.stdout)["ruleset_version"] == 2

    for args, message in (
        (("--list", "1999"), "there is no list version '1999'"),
        (("--ruleset", "9"), "there is no ruleset version 9"),
        (("--since", "June"), "--since 'June' is not a date"),
    ):
        refused = ewatch(database_url, "rescreen", *args)
        assert refused.returncode == 1
        assert message in refused.stderr
