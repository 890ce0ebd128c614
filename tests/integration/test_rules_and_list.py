"""Issue 3 against a real PostgreSQL: rules versions, list imports, refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import yaml
from sqlalchemy.orm import Session

from services.core.findings import Kind
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.knowledge import context_for
from services.store import rulesets
from services.store.db import sync_engine
from tests.conftest import sql
from tests.integration.stack import ROOT
from tests.records import end_user, record

pytestmark = pytest.mark.integration
CLEAN = ROOT / "data" / "un-consolidated-2024-09-26.xml"
DAMAGED = ROOT / "data" / "un-consolidated-2025-08-16-damaged.xml"


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


def test_shipped_rules_loaded_into_an_empty_database_give_domain_outcomes(
    database_url: str,
) -> None:
    result = ewatch(database_url, "rules", "load")
    assert result.returncode == 0, result.stderr
    assert "version 1, active" in result.stderr
    engine = sync_engine(database_url)
    with Session(engine) as session:
        ctx = context_for(rulesets.ruleset(session), None)
    engine.dispose()
    assert ctx.ruleset.version == 1

    def violations(rec: dict[str, object]) -> list[str]:
        return [
            f.phase or ""
            for f in screen(parse_transfer(rec), ctx)
            if f.kind is Kind.VIOLATION and f.regime == "HT"
        ]

    vehicles = [{"hs_code": "871000", "description": "armoured vehicles", "quantity": 2}]
    assert violations(record(transfer_date="2023-06-15")) == []
    assert violations(record(transfer_date="2023-11-14")) == ["HT-2699-salw-territorial"]
    assert violations(record(transfer_date="2023-11-14", items=vehicles)) == []
    assert violations(record(transfer_date="2024-11-20", items=vehicles)) == [
        "HT-2752-all-arms-territorial"
    ]
    for party_type in ("government", "un_mission"):
        for on in ("2023-11-14", "2024-11-20"):
            assert violations(end_user(record(transfer_date=on), type=party_type)) == []


def test_rule_versions_are_immutable_numbered_and_diffable(
    database_url: str, tmp_path: Path
) -> None:
    assert ewatch(database_url, "rules", "load").returncode == 0
    again = ewatch(database_url, "rules", "load")
    assert "identical to existing version 1" in again.stderr

    edited = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "regimes", edited)
    haiti = yaml.safe_load((edited / "HT.yaml").read_text())
    haiti["phases"][1]["end"] = "2024-10-20"
    haiti["phases"][2]["start"] = "2024-10-21"
    haiti["phases"][2]["exemptions"] = haiti["phases"][2]["exemptions"][:2]
    (edited / "HT.yaml").write_text(yaml.safe_dump(haiti, allow_unicode=True))
    loaded = ewatch(database_url, "rules", "load", str(edited))
    assert "version 2, not active" in loaded.stderr, loaded.stderr

    diff = ewatch(database_url, "rules", "diff", "1", "2").stdout
    assert (
        "HT phase HT-2699-salw-territorial: end date changed from 2024-10-17 to 2024-10-20" in diff
    )
    assert (
        "HT phase HT-2752-all-arms-territorial: start date changed from 2024-10-18 to 2024-10-21"
        in diff
    )
    assert "exemption non-lethal-protective removed" in diff

    assert ewatch(database_url, "rules", "activate", "2").returncode == 0
    assert sql(database_url, "SELECT version FROM ruleset_versions WHERE active") == [(2,)]
    assert ewatch(database_url, "rules", "activate", "9").returncode == 1
    shown = ewatch(database_url, "rules", "show", "HT", "--version", "1").stdout
    assert "end: '2024-10-17'" in shown
    listed = ewatch(database_url, "rules", "list").stdout
    assert "HT" in listed

    broken = tmp_path / "broken"
    shutil.copytree(edited, broken)
    (broken / "HT.yaml").write_text("id: HT\nname: Haiti\nphases: []\n")
    refused = ewatch(database_url, "rules", "load", str(broken))
    assert refused.returncode == 1
    assert "HT.yaml: phases: [] should be non-empty" in refused.stderr
    assert sql(database_url, "SELECT count(*) FROM ruleset_versions") == [(2,)]


def test_rules_list_and_load_warn_of_lapse_dates_the_table_records_no_renewal_of(
    database_url: str,
) -> None:
    loaded = ewatch(database_url, "rules", "load", "--today", "2026-06-01")
    assert loaded.returncode == 0, loaded.stderr
    lapsed = "SS phase SS-2683-peace-agreement-standing lapsed after 2026-05-31"
    assert lapsed in loaded.stderr
    early = ewatch(database_url, "rules", "list", "--today", "2026-05-31")
    assert early.returncode == 0, early.stderr
    assert "warning" not in early.stderr
    late = ewatch(database_url, "rules", "list", "--today", "2026-12-03")
    assert "ruleset version 1: " + lapsed in " ".join(late.stderr.split())
    assert "HT phase HT-2752-all-arms-territorial lapsed after 2026-10-17" in " ".join(
        late.stderr.split()
    )
    assert ewatch(database_url, "rules", "list", "--today", "June").returncode == 1


def test_importing_2024_then_2025_reports_the_haiti_additions(database_url: str) -> None:
    first = ewatch(database_url, "sanctions", "import", str(CLEAN))
    assert first.returncode == 0, first.stderr
    assert "875 records (682 individuals, 193 entities)" in first.stderr
    second = ewatch(database_url, "sanctions", "import", str(DAMAGED))
    assert second.returncode == 0, second.stderr
    assert "879 records" in second.stderr
    assert "repaired" in second.stderr
    added = next(line for line in second.stdout.splitlines() if line.startswith("added:"))
    for ref in ("HTi.006", "HTi.007", "HTe.001", "HTe.002"):
        assert ref in added
    versions = sql(
        database_url,
        "SELECT version, individuals + entities, changes->>'summary' "
        "FROM sanctions_list_versions ORDER BY id",
    )
    assert [v[1] for v in versions] == [875, 879]
    assert versions[1][2].startswith("7 added")  # type: ignore[union-attr]
    viv = sql(
        database_url,
        "SELECT name, listed_on::text, aliases, regime FROM listed_parties "
        "WHERE reference_number = 'HTe.002'",
    )
    assert (viv[0][0], viv[0][1], viv[0][3]) == ("VIV ANSANM", "2025-07-08", "HT")
    assert any(a["name"] == "G9 FAMILY AND ALLIES" for a in viv[0][2])  # type: ignore[union-attr]
    again = ewatch(database_url, "sanctions", "import", str(CLEAN))
    assert "already imported" in again.stderr
    # A quick check matches against the list the matcher screens with: the newest import.
    check = ewatch(database_url, "sanctions", "match", "Viv Ansanm", "--json")
    assert check.returncode == 0, check.stderr
    assert orjson.loads(check.stdout.splitlines()[0])["reference_number"] == "HTe.002"
    assert "list 2025-08-16" in check.stderr


def test_match_without_an_imported_list_says_it_uses_the_shipped_one(database_url: str) -> None:
    check = ewatch(database_url, "sanctions", "match", "Jimmy Cherizier", "--json")
    assert check.returncode == 0, check.stderr
    assert "no list imported yet" in check.stderr
    assert "list 2024-09-26" in check.stderr
    assert orjson.loads(check.stdout.splitlines()[0])["reference_number"] == "HTi.001"


def test_match_against_a_database_never_upgraded_says_so(empty_database_url: str) -> None:
    check = ewatch(empty_database_url, "sanctions", "match", "Jimmy Cherizier", "--json")
    assert check.returncode == 0, check.stderr
    assert "no Embargo Watch tables (ewatch db upgrade)" in check.stderr
    assert "not reachable" not in check.stderr
    assert orjson.loads(check.stdout.splitlines()[0])["reference_number"] == "HTi.001"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (CLEAN.read_bytes()[: len(CLEAN.read_bytes()) // 2], "truncated"),
        (b"", "empty"),
        (
            b"<?xml version='1.0'?><rss><channel><title>news</title></channel></rss>",
            "CONSOLIDATED_LIST",
        ),
    ],
    ids=["truncated", "empty", "unrelated"],
)
def test_files_that_are_not_a_un_list_are_refused_and_nothing_changes(
    database_url: str, tmp_path: Path, content: bytes, message: str
) -> None:
    assert ewatch(database_url, "sanctions", "import", str(CLEAN)).returncode == 0
    before = sql(database_url, "SELECT count(*) FROM listed_parties")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(content)
    result = ewatch(database_url, "sanctions", "import", str(bad))
    assert result.returncode == 1
    assert message in result.stderr
    assert "nothing was imported" in result.stderr
    assert sql(database_url, "SELECT count(*) FROM sanctions_list_versions") == [(1,)]
    assert sql(database_url, "SELECT count(*) FROM listed_parties") == before


def test_sync_fetches_the_published_list_over_http(database_url: str) -> None:
    import http.server
    import threading

    body = CLEAN.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/consolidated.xml":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        synced = ewatch(database_url, "sanctions", "sync", "--url", f"{base}/consolidated.xml")
        assert synced.returncode == 0, synced.stderr
        assert "875 added" in synced.stderr
        missing = ewatch(database_url, "sanctions", "sync", "--url", f"{base}/nope.xml")
        assert missing.returncode == 1
        assert "could not fetch" in missing.stderr
        assert "ewatch sanctions import" in missing.stderr
    finally:
        server.shutdown()
