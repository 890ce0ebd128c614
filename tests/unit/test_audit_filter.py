"""The audit log's filter, as SQL: each field narrows by one condition, 'to' inclusive."""

from __future__ import annotations

from datetime import date

from sqlalchemy.dialects import postgresql

from services.store.audit import AuditFilter


def sql(f: AuditFilter) -> list[str]:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return [
        str(c.compile(dialect=dialect, compile_kwargs={"literal_binds": True})) for c in f.where()
    ]


def test_an_empty_filter_narrows_nothing() -> None:
    assert sql(AuditFilter()) == []


def test_each_field_is_one_condition_and_the_last_day_counts_whole() -> None:
    f = AuditFilter("finding.status", "hana", 7, date(2025, 1, 1), date(2025, 1, 31))
    action, actor, finding, since, until = sql(f)
    assert action == "audit_log.action = 'finding.status'"
    assert actor.startswith("audit_log.actor_id = (SELECT users.id")
    assert "users.name = 'hana'" in actor
    assert finding == "audit_log.finding_id = 7"
    assert since == "audit_log.at >= '2025-01-01'"
    assert until == "audit_log.at < '2025-02-01'"
