"""`ewatch crsv import` against a real PostgreSQL: versions, refusals, what is screened with."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from services.core.screening import screen
from services.core.sexual_violence import RULE_ID
from services.core.transfers import parse_transfer
from services.knowledge import context_from_database, ensure_defaults, shipped_annex_path
from services.store import rulesets
from services.store.db import sync_engine
from tests.conftest import sql
from tests.integration.test_rules_and_list import ewatch
from tests.records import record

pytestmark = pytest.mark.integration
SHIPPED = shipped_annex_path()
#: A party no annex lists: a fixture for the import path, never shipped.
FIXTURE_PARTY = {
    "name": "Fixture Armed Group",
    "aliases": ["FAG Coalition"],
    "country": "CD",
    "kind": "armed_group",
    "source": "test fixture, not a listing",
}


def annex_file(tmp_path: Path, name: str, **changes: Any) -> Path:
    doc = copy.deepcopy(yaml.safe_load(SHIPPED.read_bytes())) | changes
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


def to_party(name: str, country: str) -> dict[str, Any]:
    rec = record(
        "crsv-int", transfer_date="2099-06-01", route={"origin": "UG", "destination": country}
    )
    rec["parties"][1] = {"role": "end_user", "name": name, "country": country}
    return rec


def screened_with(database_url: str, rec: dict[str, Any]) -> list[str]:
    engine = sync_engine(database_url)
    try:
        with Session(engine) as session:
            ctx = context_from_database(session)
    finally:
        engine.dispose()
    return [
        f.party.name for f in screen(parse_transfer(rec), ctx) if f.rule_id == RULE_ID and f.party
    ]


def test_importing_the_shipped_annex_stores_one_version_and_says_it_is_partial(
    database_url: str,
) -> None:
    assert ewatch(database_url, "rules", "load").returncode == 0
    first = ewatch(database_url, "crsv", "import", str(SHIPPED))
    assert first.returncode == 0, first.stderr
    assert "annex S/2025/389 (2025-08-14), partial (1 of the 63 parties it lists)" in first.stderr
    assert "complete: false" in first.stderr
    again = ewatch(database_url, "crsv", "import", str(SHIPPED))
    assert again.returncode == 0
    assert "already imported" in again.stderr
    assert sql(database_url, "SELECT symbol, complete, parties FROM crsv_annex_versions") == [
        ("S/2025/389", False, 1)
    ]
    assert screened_with(database_url, to_party("Hamas", "PS")) == ["Hamas"]


def test_a_newer_annex_is_screened_with_and_an_older_one_imported_later_is_not(
    database_url: str, tmp_path: Path
) -> None:
    assert ewatch(database_url, "rules", "load").returncode == 0
    assert ewatch(database_url, "crsv", "import", str(SHIPPED)).returncode == 0
    newer = annex_file(
        tmp_path, "newer.yaml", symbol="S/2099/1", date="2099-01-01", parties=[FIXTURE_PARTY]
    )
    imported = ewatch(database_url, "crsv", "import", str(newer))
    assert imported.returncode == 0, imported.stderr
    assert "screened with from the next matcher start" in imported.stderr
    assert screened_with(database_url, to_party("FAG Coalition", "CD")) == ["FAG Coalition"]
    assert screened_with(database_url, to_party("Hamas", "PS")) == []

    older = annex_file(tmp_path, "older.yaml", symbol="S/2024/292", date="2024-04-04")
    late = ewatch(database_url, "crsv", "import", str(older))
    assert late.returncode == 0, late.stderr
    assert "not screened with" in late.stderr
    assert screened_with(database_url, to_party("FAG Coalition", "CD")) == ["FAG Coalition"]
    listed = ewatch(database_url, "crsv", "versions")
    assert listed.returncode == 0
    assert "S/2099/1" in listed.stdout
    assert sql(database_url, "SELECT count(*) FROM crsv_annex_versions") == [(3,)]


def test_a_file_that_is_not_an_annex_is_refused_and_nothing_changes(
    database_url: str, tmp_path: Path
) -> None:
    unsourced = annex_file(tmp_path, "unsourced.yaml", parties=[FIXTURE_PARTY | {"source": ""}])
    refused = ewatch(database_url, "crsv", "import", str(unsourced))
    assert refused.returncode == 1
    assert "public source of its listing" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert sql(database_url, "SELECT count(*) FROM crsv_annex_versions") == [(0,)]


def test_an_empty_database_gets_the_shipped_annex_with_the_other_defaults(
    database_url: str,
) -> None:
    engine = sync_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            said = ensure_defaults(session)
        with Session(engine) as session:
            assert rulesets.active_version(session) is not None
    finally:
        engine.dispose()
    assert any("annex S/2025/389" in line for line in said)
    assert sql(database_url, "SELECT symbol FROM crsv_annex_versions") == [("S/2025/389",)]
