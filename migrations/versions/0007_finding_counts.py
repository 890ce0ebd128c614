"""the review queue's counts by status, kept by triggers; indexes for its transfer filters

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 21:00:00.000000

``finding_counts`` holds how many findings there are per (regime, visible regimes, status,
kind, severity, assignee, superseded): every statement that inserts, updates or deletes
findings appends its net change per key (statement triggers with transition tables), so
writers never wait on one another; ``services.store.review.compact_counts`` folds the
changes into one row per key. The queue's counts read this small table instead of
counting up to a million findings (docs/benchmarks.md, "The review workspace").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "regime, visible_regimes, status, kind, severity, assignee_id"
SUPERSEDED = "superseded_at IS NOT NULL"

TRIGGERS = f"""
CREATE FUNCTION finding_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO finding_counts ({KEY}, superseded, n)
    SELECT {KEY}, {SUPERSEDED}, count(*) FROM new_rows GROUP BY {KEY}, {SUPERSEDED};
    RETURN NULL;
END
$$;
CREATE FUNCTION finding_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO finding_counts ({KEY}, superseded, n)
    SELECT {KEY}, {SUPERSEDED}, -count(*) FROM old_rows GROUP BY {KEY}, {SUPERSEDED};
    RETURN NULL;
END
$$;
CREATE FUNCTION finding_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO finding_counts ({KEY}, superseded, n)
    SELECT {KEY}, superseded, sum(n) FROM (
        SELECT {KEY}, {SUPERSEDED} AS superseded, 1 AS n FROM new_rows
        UNION ALL
        SELECT {KEY}, {SUPERSEDED}, -1 FROM old_rows
    ) changed
    GROUP BY {KEY}, superseded HAVING sum(n) <> 0;
    RETURN NULL;
END
$$;
CREATE FUNCTION finding_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM finding_counts;
    RETURN NULL;
END
$$;
CREATE TRIGGER findings_counted_insert AFTER INSERT ON findings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION finding_counts_inserted();
CREATE TRIGGER findings_counted_delete AFTER DELETE ON findings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION finding_counts_deleted();
CREATE TRIGGER findings_counted_update AFTER UPDATE ON findings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION finding_counts_updated();
CREATE TRIGGER findings_counted_truncate AFTER TRUNCATE ON findings
    FOR EACH STATEMENT EXECUTE FUNCTION finding_counts_truncated();
"""


def upgrade() -> None:
    op.create_table(
        "finding_counts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("regime", sa.String(length=8), nullable=True),
        sa.Column("visible_regimes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_counts")),
    )
    # Written before the triggers, in the same transaction: no finding is counted twice.
    op.execute(
        f"INSERT INTO finding_counts ({KEY}, superseded, n) "
        f"SELECT {KEY}, {SUPERSEDED}, count(*) FROM findings GROUP BY {KEY}, {SUPERSEDED}"
    )
    op.execute(TRIGGERS)


def downgrade() -> None:
    for event in ("insert", "delete", "update", "truncate"):
        op.execute(f"DROP TRIGGER findings_counted_{event} ON findings")
    for done in ("inserted", "deleted", "updated", "truncated"):
        op.execute(f"DROP FUNCTION finding_counts_{done}()")
    op.drop_table("finding_counts")
