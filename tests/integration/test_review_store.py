"""The review workspace's tables against a real PostgreSQL: users and tokens managed and
audited, the audit log append-only whoever asks, visibility and search columns written
with every finding and backfilled by the migration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.core.findings import Finding, Kind, Severity
from services.core.review import Role, parse_filter
from services.store import db, migrate, users
from services.store import review as review_store
from services.store.audit import Actor
from services.store.models import User
from services.store.outcomes import Delivery
from services.store.screenings import record_screening
from tests.conftest import _plain, sql
from tests.records import record

pytestmark = pytest.mark.integration

CLI = Actor(None, "cli (test)")
REGIMES = frozenset({"HT", "LY", "QD"})
PASSWORD = "correct horse battery"


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = db.sync_engine(database_url)
    with Session(engine) as s, s.begin():
        yield s
    engine.dispose()


def test_user_management_is_audited_act_by_act(database_url: str) -> None:
    engine = db.sync_engine(database_url)
    with Session(engine) as s, s.begin():
        alice = users.add_user(
            s, "alice", Role.REVIEWER, ["ht"], PASSWORD, CLI, known_regimes=REGIMES
        )
        token_id, token = users.issue_token(s, "alice", "nightly export", CLI)
        users.reset_password(s, "alice", PASSWORD + "!", CLI)
        users.revoke_token(s, token_id, CLI)
        users.disable_user(s, "alice", CLI)
    engine.dispose()
    assert alice.regimes == ("HT",)
    assert token.startswith("ewt_")
    rows = sql(
        database_url,
        "SELECT action, via, subject_user_id, after FROM audit_log ORDER BY id",
    )
    assert [r[0] for r in rows] == [
        "user.add",
        "user.token",
        "user.reset_password",
        "user.revoke_token",
        "user.disable",
    ]
    assert all(r[1] == "cli (test)" and r[2] == alice.id for r in rows)
    assert rows[0][3] == {"name": "alice", "role": "reviewer", "regimes": ["HT"]}
    # Only the token's digest is kept, never the token.
    kept = sql(database_url, "SELECT token_sha256 FROM api_tokens")
    assert kept == [(users.token_digest(token),)]
    assert token not in json.dumps(sql(database_url, "SELECT * FROM audit_log"), default=str)


@pytest.mark.parametrize(
    ("name", "role", "regimes", "password", "reason"),
    [
        ("Alice", Role.REVIEWER, ["HT"], PASSWORD, "lower-case"),
        ("bob", Role.REVIEWER, [], PASSWORD, "at least one --regime"),
        ("bob", Role.LEAD, ["XX"], PASSWORD, "no such regime: XX"),
        ("bob", Role.REVIEWER, ["HT"], "short", "at least 12 characters"),
    ],
)
def test_a_user_is_refused_with_the_reason(
    session: Session, name: str, role: Role, regimes: list[str], password: str, reason: str
) -> None:
    with pytest.raises(users.UserError, match=reason):
        users.add_user(session, name, role, regimes, password, CLI, known_regimes=REGIMES)


def test_a_password_is_kept_as_an_argon2id_hash(session: Session) -> None:
    users.add_user(session, "carol", Role.AUDITOR, ["LY"], PASSWORD, CLI, known_regimes=REGIMES)
    session.flush()
    (stored,) = session.execute(select(User.password_hash).where(User.name == "carol")).one()
    assert stored.startswith("$argon2id$")
    assert users.verify_password(stored, PASSWORD)
    assert not users.verify_password(stored, PASSWORD.upper())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET rationale = 'rewritten'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
def test_the_audit_log_refuses_any_change_even_to_the_application_s_role(
    database_url: str, statement: str
) -> None:
    engine = db.sync_engine(database_url)
    with Session(engine) as s, s.begin():
        users.add_user(s, "dave", Role.LEAD, ["HT"], PASSWORD, CLI, known_regimes=REGIMES)
    engine.dispose()
    # The same role and connection settings the application uses.
    with psycopg.connect(_plain(database_url)) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)
        conn.rollback()
    assert sql(database_url, "SELECT count(*), min(rationale) FROM audit_log") == [(1, None)]


def finding(regime: str | None, rule: str) -> Finding:
    return Finding(
        record_id="r-0",
        kind=Kind.INDICATOR if regime is None else Kind.VIOLATION,
        regime=regime,
        rule_id=rule,
        phase=None,
        severity=Severity.HIGH,
        summary="s.",
        citations=(),
    )


async def test_findings_are_stored_with_who_sees_them_and_transfers_with_search_columns(
    database_url: str,
) -> None:
    rec = record(route={"origin": "US", "destination": "PA", "transit": ["DO"]})
    rec["parties"][1].update(name="Sécurité Plus S.A.", country="PA")
    engine = db.async_engine(database_url)
    async with db.sessions(engine).begin() as s:
        await record_screening(
            s,
            rec,
            [finding(None, "indicator.neighbour_route"), finding("LY", "LY.territory")],
            Delivery("it", datetime.now(UTC)),
            ruleset_version=1,
            list_version=None,
        )
    await engine.dispose()
    assert sql(database_url, "SELECT rule_id, visible_regimes FROM findings ORDER BY id") == [
        ("indicator.neighbour_route", ["HT", "LY"]),  # DO is Haiti's neighbour; LY is on it
        ("LY.territory", ["LY"]),
    ]
    assert sql(
        database_url, "SELECT party_names, party_keys, item_categories FROM screened_transfers"
    ) == [
        (
            "gulf coast sporting arms llc | securite plus s a",
            ["gulf coast sporting arms", "securite plus"],
            ["small_arms", "small_arms.revolver_pistol"],
        )
    ]


def test_the_migration_backfills_existing_transfers_and_findings(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url, "0004")
    rec = record(route={"origin": "US", "destination": "HT", "transit": ["DO"]})
    with psycopg.connect(_plain(url)) as conn:
        (transfer_id,) = conn.execute(
            "INSERT INTO screened_transfers (integrator, record_id, record, record_sha256, "
            "transfer_date, origin, destination, received_at, ruleset_version) "
            "VALUES ('it', 'r-0', %s, 'x', '2024-11-20', 'US', 'HT', now(), 1) RETURNING id",
            (json.dumps(rec),),
        ).fetchone()  # type: ignore[misc]
        for regime, rule, designated in [
            ("HT", "HT.territory", None),
            (None, "indicator.end_user_certificate_missing", None),
            (None, "indicator.listed_carrier", '{"reference_number": "QDe.004"}'),
        ]:
            conn.execute(
                "INSERT INTO findings (transfer_id, finding_key, record_id, kind, regime, "
                "rule_id, severity, summary, citations, designated, evidence, ruleset_version) "
                "VALUES (%s, %s, 'r-0', 'indicator', %s, %s, 'low', 's.', '[]', %s, '{}', 1)",
                (transfer_id, rule, regime, rule, designated),
            )
    migrate.upgrade(url)
    assert sql(url, "SELECT rule_id, visible_regimes, status FROM findings ORDER BY id") == [
        ("HT.territory", ["HT"], "open"),
        ("indicator.end_user_certificate_missing", ["HT"], "open"),
        ("indicator.listed_carrier", ["HT", "QD"], "open"),
    ]
    assert sql(url, "SELECT party_names, item_categories FROM screened_transfers") == [
        (
            "gulf coast sporting arms llc | caribbean import services sa",
            ["small_arms", "small_arms.revolver_pistol"],
        )
    ]
    migrate.check(url)


def test_pattern_findings_without_visible_regimes_get_their_regime(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    migrate.upgrade(url, "0007")
    with psycopg.connect(_plain(url)) as conn:
        (transfer_id,) = conn.execute(
            "INSERT INTO screened_transfers (integrator, record_id, record, record_sha256, "
            "transfer_date, origin, destination, received_at, ruleset_version) "
            "VALUES ('it', 'r-0', %s, 'x', '2024-11-20', 'US', 'HT', now(), 1) RETURNING id",
            (json.dumps(record()),),
        ).fetchone()  # type: ignore[misc]
        for key, group in [("split", "split:HT:x"), ("plain", None)]:
            conn.execute(
                "INSERT INTO findings (transfer_id, finding_key, record_id, kind, regime, "
                "rule_id, severity, summary, citations, evidence, ruleset_version, "
                "pattern_group, visible_regimes) VALUES (%s, %s, 'r-0', 'indicator', 'HT', "
                "%s, 'medium', 's.', '[]', '{}', 1, %s, '{}')",
                (transfer_id, key, key, group),
            )
    migrate.upgrade(url)
    assert sql(url, "SELECT finding_key, visible_regimes FROM findings ORDER BY id") == [
        ("split", ["HT"]),
        ("plain", []),  # not a pattern finding: left as the matcher wrote it
    ]
    migrate.check(url)


#: What the queue's counts read, and the same numbers counted from the findings.
_COUNTED = (
    "SELECT regime, visible_regimes, status, kind, severity, assignee_id, superseded, sum(n) "
    "FROM finding_counts GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5"
)
_COUNTING = (
    "SELECT regime, visible_regimes, status, kind, severity, assignee_id, "
    "superseded_at IS NOT NULL, count(*)::numeric FROM findings "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5"
)


def _run(url: str, statement: str) -> None:
    with psycopg.connect(_plain(url)) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


async def test_finding_counts_follow_every_insert_update_delete_and_fold(
    database_url: str,
) -> None:
    engine = db.async_engine(database_url)
    async with db.sessions(engine).begin() as s:
        for i, regime in enumerate(("HT", "LY", None)):
            rec = record(record_id=f"count-{i}", route={"origin": "US", "destination": "DO"})
            await record_screening(
                s,
                rec,
                [finding(regime, f"{regime}.territory"), finding(None, "indicator.x")],
                Delivery("it", datetime.now(UTC)),
                ruleset_version=1,
                list_version=None,
            )
    assert sql(database_url, _COUNTED) == sql(database_url, _COUNTING)
    _run(database_url, "UPDATE findings SET status = 'dismissed' WHERE regime = 'HT'")
    _run(database_url, "UPDATE findings SET superseded_at = now() WHERE regime = 'LY'")
    _run(database_url, "UPDATE findings SET summary = 'reworded'")  # no count changes
    _run(database_url, "DELETE FROM findings WHERE regime IS NULL AND rule_id = 'None.territory'")
    assert sql(database_url, _COUNTED) == sql(database_url, _COUNTING)
    async with db.sessions(engine).begin() as s:
        await review_store.compact_counts(s)
    await engine.dispose()
    assert sql(database_url, _COUNTED) == sql(database_url, _COUNTING)
    # Folded: one row per key, none at zero.
    assert sql(database_url, "SELECT count(*) FROM finding_counts WHERE n <> 0") == sql(
        database_url, "SELECT count(*) FROM finding_counts"
    )
    assert len(sql(database_url, "SELECT * FROM finding_counts")) == len(
        sql(database_url, _COUNTING)
    )


async def test_a_broad_filter_on_transfers_is_counted_up_to_the_cap(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.async_engine(database_url)
    async with db.sessions(engine).begin() as s:
        for i in range(3):
            rec = record(record_id=f"cap-{i}", transfer_date="2024-11-20")
            await record_screening(
                s,
                rec,
                [finding("HT", "HT.territory")],
                Delivery("it", datetime.now(UTC)),
                ruleset_version=1,
                list_version=None,
            )
    scope = review_store.Scope(("HT",))
    dates = parse_filter({"from": ["2024-11-01"], "to": ["2024-11-30"]})
    # Past the few-transfers shortcut, and a cap below what matches: not counted.
    monkeypatch.setattr(review_store, "FEW_TRANSFERS", 1)
    monkeypatch.setattr(review_store, "COUNT_CAP", 2)
    async with db.sessions(engine)() as s:
        capped = await review_store.status_counts(s, scope, dates)
        exact = await review_store.status_counts(s, scope, dates, exact=True)
    monkeypatch.setattr(review_store, "COUNT_CAP", 3)
    async with db.sessions(engine)() as s:
        within = await review_store.status_counts(s, scope, dates)
    await engine.dispose()
    assert capped.total() is None
    assert capped.to_dict() == {
        "counts": None,
        "total": None,
        "not_counted": "more than 2 findings match",
    }
    assert exact.total() == 3
    assert within.to_dict()["total"] == 3
    assert within.to_dict()["not_counted"] is None


async def test_a_count_past_its_budget_is_cancelled_and_the_session_goes_on(
    database_url: str,
) -> None:
    engine = db.async_engine(database_url)
    async with db.sessions(engine)() as s:
        before = await s.scalar(text("SELECT current_setting('statement_timeout')"))
        slow = await review_store.within_budget(s, text("SELECT pg_sleep(0.5)"), 20)
        quick = await review_store.within_budget(s, text("SELECT 1"), 1000)
        after = await s.scalar(text("SELECT current_setting('statement_timeout')"))
        await s.execute(text("SELECT pg_sleep(0.05)"))  # no budget left behind
    await engine.dispose()
    assert slow is None
    assert quick is not None
    assert [tuple(r) for r in quick] == [(1,)]
    assert after == before
