"""``ewatch screen`` as a panel member runs it: files in, findings out, no services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from services.core.transfer_csv import csv_records
from services.core.validation import Decoded, validate_record

ROOT = Path(__file__).resolve().parents[2]
DAMAGED = ROOT / "data" / "un-consolidated-2025-08-16-damaged.xml"


def ewatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def violations(stdout: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        f = orjson.loads(line)
        if f["kind"] == "violation":
            out.setdefault(f["record_id"], []).append(f["phase"])
    return out


def test_the_haiti_timeline_csv_screens_as_the_resolutions_say() -> None:
    result = ewatch("screen", str(ROOT / "samples" / "haiti-timeline.csv"))
    assert result.returncode == 0, result.stderr
    assert violations(result.stdout) == {
        "ht-2023-11": ["HT-2699-salw-territorial"],
        "ht-av-2024-11": ["HT-2752-all-arms-territorial"],
    }
    assert "screened 6 record(s), rejected 0" in result.stderr


def test_csv_rows_with_one_record_id_become_one_record_with_several_items() -> None:
    with (ROOT / "samples" / "haiti-timeline.csv").open("rb") as lines:
        records = [r.obj for r in csv_records(lines) if isinstance(r, Decoded)]
    assert len(records) == 6
    hnp = next(r for r in records if r["record_id"] == "ht-hnp-2024-11")
    assert [i["category"] for i in hnp["items"]] == [
        "small_arms.revolver_pistol",
        "ammunition.small_arms",
    ]
    assert all(validate_record(r) == [] for r in records)


def test_findings_name_the_list_and_ruleset_they_were_made_with(tmp_path: Path) -> None:
    rec = {
        "record_id": "x1",
        "transfer_date": "2025-08-01",
        "route": {"origin": "US", "destination": "DO"},
        "parties": [{"role": "end_user", "name": "Viv Ansanm", "country": "HT"}],
        "items": [{"category": "small_arms.assault_rifle", "description": "AR", "quantity": 5}],
    }
    path = tmp_path / "one.json"
    path.write_bytes(orjson.dumps(rec))
    result = ewatch("screen", str(path), "--list", str(DAMAGED))
    findings = [orjson.loads(line) for line in result.stdout.splitlines()]
    designated = [f for f in findings if f["designated"]]
    assert designated, result.stdout
    assert designated[0]["designated"]["reference_number"] == "HTe.002"
    assert designated[0]["kind"] == "violation"
    assert designated[0]["list_version"].startswith("2025-08-16#")


#: What ``ewatch screen`` must not import: it needs no database and no broker, and these
#: took most of its start-up (SQLAlchemy alone about half a second).
SERVICE_MODULES = ("sqlalchemy", "psycopg", "asyncpg", "alembic", "faust", "aiokafka", "httpx")


def test_screen_imports_neither_the_database_nor_the_broker() -> None:
    program = (
        "import sys\n"
        "from services.cli.main import app\n"
        "try:\n"
        "    app(['screen', 'samples/demo-feed.ndjson'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "screened 6 record(s), rejected 1;" in result.stderr  # the rejection's reasons too
    imported = set(result.stderr.splitlines()[-1].split())
    assert {"services", "typer", "rapidfuzz"} <= imported  # the list is the real one
    assert imported.isdisjoint(SERVICE_MODULES), imported & set(SERVICE_MODULES)


def test_bad_input_and_bad_list_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    result = ewatch("screen", str(broken))
    assert result.returncode == 2
    assert "malformed JSON" in result.stderr
    not_a_list = tmp_path / "list.xml"
    not_a_list.write_text("<rss/>")
    result = ewatch("screen", str(ROOT / "samples" / "demo-feed.ndjson"), "--list", str(not_a_list))
    assert result.returncode == 2
    assert "CONSOLIDATED_LIST" in result.stderr


def test_sanctions_match_prints_json_candidates() -> None:
    shipped = str(ROOT / "data" / "un-consolidated-2024-09-26.xml")
    result = ewatch(
        "sanctions", "match", "CHERIZIER, Jimmy", "--country", "HT", "--json", "--list", shipped
    )
    assert result.returncode == 0, result.stderr
    best = orjson.loads(result.stdout.splitlines()[0])
    assert best["reference_number"] == "HTi.001"
    assert best["score"] >= 0.88
    assert {"reference_number", "name", "matched_name", "score"} <= best.keys()


def test_sanctions_match_refuses_a_bad_date_or_country() -> None:
    shipped = str(ROOT / "data" / "un-consolidated-2024-09-26.xml")
    bad_date = ewatch("sanctions", "match", "Jimmy Cherizier", "--date", "2024-13-01")
    assert bad_date.returncode == 2
    assert "not a date" in bad_date.stderr
    assert "Traceback" not in bad_date.stderr
    bad_country = ewatch("sanctions", "match", "Jimmy Cherizier", "--country", "Haitii")
    assert bad_country.returncode == 2
    assert "'Haitii' is neither" in bad_country.stderr
    by_name = ewatch(
        "sanctions", "match", "Jimmy Cherizier", "--country", "Haiti", "--list", shipped
    )
    assert by_name.returncode == 0, by_name.stderr
    assert "HT matches nationality Haiti" in by_name.stdout


def test_sanctions_match_takes_document_numbers_and_the_party_type() -> None:
    shipped = str(ROOT / "data" / "un-consolidated-2024-09-26.xml")
    alone = ewatch("sanctions", "match", "Choi Seong Il", "--json", "--list", shipped)
    assert orjson.loads(alone.stdout.splitlines()[0])["score"] < 0.88
    passport = ewatch(
        "sanctions", "match", "Choi Seong Il", "--id", "472 320 665", "--json", "--list", shipped
    )
    best = orjson.loads(passport.stdout.splitlines()[0])
    assert (best["reference_number"], best["score"] >= 0.88) == ("KPi.014", True)
    group = ewatch("sanctions", "match", "M23", "--type", "armed_group", "--list", shipped)
    assert group.returncode == 0, group.stderr
    assert "1.000 CDe.006" in group.stdout
