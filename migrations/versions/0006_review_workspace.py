"""the review workspace: users, sessions, tokens, comments, an append-only audit log; review
state, visibility and search columns on findings and transfers

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04 17:22:47.910131

The backfill computes the new derived columns of existing rows with the same pure
functions the matcher writes them with (services.core.visibility), a batch at a time.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
# The review workspace needs nothing of 0005; it follows whichever revision is last.
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2_000
#: As services.store.models.SEVERITY_RANK_SQL.
SEVERITY_RANK_SQL = "CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"

#: Refuses every change to the audit log but an INSERT, whoever asks: the application's
#: own role (which owns the table) included. Only dropping the trigger, which needs the
#: table's owner and is itself visible in the schema, gets round it.
APPEND_ONLY = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


def _status_enum() -> sa.Enum:
    return sa.Enum(
        "open",
        "under_review",
        "confirmed",
        "dismissed",
        "referred",
        name="review_status",
        native_enum=False,
        create_constraint=False,  # created below: add_column does not emit it
        length=32,
    )


def upgrade() -> None:
    # Trusted since PostgreSQL 13 (a database owner may create it) and offered by every
    # managed PostgreSQL; it makes a party-name substring search an index look-up.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "reviewer",
                "lead",
                "auditor",
                "admin",
                name="user_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("regimes", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_expires_at"), "sessions", ["expires_at"], unique=False)
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"], unique=False)
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_account_at", "login_attempts", ["account", "at"])
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "at"])

    op.add_column(
        "findings", sa.Column("status", _status_enum(), server_default="open", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_findings_review_status"),
        "findings",
        "status IN ('open', 'under_review', 'confirmed', 'dismissed', 'referred')",
    )
    # Stored, so that the queue sorts by severity through an index (this rewrites the table).
    op.add_column(
        "findings",
        sa.Column(
            "severity_rank",
            sa.SmallInteger(),
            sa.Computed(SEVERITY_RANK_SQL, persisted=True),
            nullable=False,
        ),
    )
    op.add_column("findings", sa.Column("assignee_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_findings_assignee_id_users"), "findings", "users", ["assignee_id"], ["id"]
    )
    op.add_column(
        "findings", sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "findings",
        sa.Column(
            "visible_regimes", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
    )
    op.add_column(
        "screened_transfers",
        sa.Column("party_names", sa.Text(), server_default="", nullable=False),
    )
    op.add_column(
        "screened_transfers",
        sa.Column("party_keys", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
    )
    op.add_column(
        "screened_transfers",
        sa.Column(
            "item_categories", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
    )
    _backfill(op.get_bind())
    # The review queue's (services/store/review.py); checked with EXPLAIN at 1,000,000
    # findings (docs/review.md).
    op.create_index(
        "ix_findings_visible_regimes",
        "findings",
        ["visible_regimes"],
        postgresql_using="gin",
        postgresql_where=sa.text("regime IS NULL"),
    )
    op.create_index("ix_findings_status_id", "findings", ["status", "id"])
    op.create_index("ix_findings_regime_status_id", "findings", ["regime", "status", "id"])
    op.create_index(
        "ix_findings_live_regime_status",
        "findings",
        ["regime", "status"],
        postgresql_include=["kind", "severity"],
        postgresql_where=sa.text("superseded_at IS NULL"),
    )
    op.create_index(
        "ix_findings_live_regime_less_status",
        "findings",
        ["status"],
        postgresql_include=["visible_regimes", "kind", "severity"],
        postgresql_where=sa.text("regime IS NULL AND superseded_at IS NULL"),
    )
    op.create_index("ix_findings_severity_rank_id", "findings", ["severity_rank", "id"])
    op.create_index(
        "ix_findings_assignee_status",
        "findings",
        ["assignee_id", "status"],
        postgresql_where=sa.text("assignee_id IS NOT NULL"),
    )
    op.create_index(
        "ix_screened_transfers_item_categories",
        "screened_transfers",
        ["item_categories"],
        postgresql_using="gin",
    )
    op.create_index(
        "ix_screened_transfers_party_keys",
        "screened_transfers",
        ["party_keys"],
        postgresql_using="gin",
    )
    op.create_index(
        "ix_screened_transfers_party_names",
        "screened_transfers",
        ["party_names"],
        postgresql_using="gin",
        postgresql_ops={"party_names": "gin_trgm_ops"},
    )

    op.create_table(
        "comments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("finding_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["findings.id"], name=op.f("fk_comments_finding_id_findings")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_comments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_index(op.f("ix_comments_finding_id"), "comments", ["finding_id"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("via", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("finding_id", sa.BigInteger(), nullable=True),
        sa.Column("subject_user_id", sa.BigInteger(), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["findings.id"], name=op.f("fk_audit_log_finding_id_findings")
        ),
        sa.ForeignKeyConstraint(
            ["subject_user_id"], ["users.id"], name=op.f("fk_audit_log_subject_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"], unique=False)
    op.create_index(op.f("ix_audit_log_actor_id"), "audit_log", ["actor_id"], unique=False)
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_finding_id", "audit_log", ["finding_id", "id"])
    op.create_index("ix_audit_log_subject_user_id", "audit_log", ["subject_user_id", "id"])
    op.execute(APPEND_ONLY)


def _backfill(conn: sa.Connection) -> None:
    """Search columns of every screened transfer and visible regimes of every finding,
    from the record, with the active ruleset's territories (the shipped rules if none)."""
    # Imported here: only an upgrade over existing rows needs the core.
    from services.core.rules import Ruleset, load_directory, regime_from_dict
    from services.core.visibility import (
        Territories,
        item_categories,
        party_keys,
        party_names,
        record_countries,
        visible_regimes,
    )

    documents = conn.scalar(sa.text("SELECT documents FROM ruleset_versions WHERE active"))
    ruleset = (
        Ruleset.of(0, (regime_from_dict(d) for d in documents.values()))
        if documents
        else load_directory()
    )
    territories = Territories.of(ruleset)
    last = 0
    while True:
        transfers = conn.execute(
            sa.text(
                "SELECT id, record FROM screened_transfers WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not transfers:
            return
        last = transfers[-1].id
        records: dict[int, dict[str, Any]] = {t.id: t.record for t in transfers}
        conn.execute(
            sa.text(
                "UPDATE screened_transfers SET party_names = :names, party_keys = :keys, "
                "item_categories = :categories WHERE id = :id"
            ),
            [
                {
                    "id": i,
                    "names": party_names(r),
                    "keys": list(party_keys(r)),
                    "categories": list(item_categories(r)),
                }
                for i, r in records.items()
            ],
        )
        findings = conn.execute(
            sa.text(
                "SELECT id, transfer_id, regime, designated->>'reference_number' AS reference "
                "FROM findings WHERE transfer_id = ANY(:ids)"
            ),
            {"ids": list(records)},
        ).all()
        regimes: dict[int, set[str | None]] = {}
        for f in findings:
            regimes.setdefault(f.transfer_id, set()).add(f.regime)
        if findings:
            conn.execute(
                sa.text("UPDATE findings SET visible_regimes = :visible WHERE id = :id"),
                [
                    {
                        "id": f.id,
                        "visible": list(
                            visible_regimes(
                                f.regime,
                                f.reference,
                                record_countries(records[f.transfer_id]),
                                regimes[f.transfer_id],
                                territories,
                            )
                        ),
                    }
                    for f in findings
                ],
            )


def downgrade() -> None:
    op.drop_table("audit_log")  # its triggers go with it
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("comments")
    op.drop_index("ix_screened_transfers_party_names", table_name="screened_transfers")
    op.drop_index("ix_screened_transfers_party_keys", table_name="screened_transfers")
    op.drop_index("ix_screened_transfers_item_categories", table_name="screened_transfers")
    op.drop_column("screened_transfers", "item_categories")
    op.drop_column("screened_transfers", "party_keys")
    op.drop_column("screened_transfers", "party_names")
    op.drop_constraint(op.f("fk_findings_assignee_id_users"), "findings", type_="foreignkey")
    op.drop_index("ix_findings_visible_regimes", table_name="findings")
    op.drop_index("ix_findings_status_id", table_name="findings")
    op.drop_index("ix_findings_severity_rank_id", table_name="findings")
    op.drop_index("ix_findings_live_regime_status", table_name="findings")
    op.drop_index("ix_findings_live_regime_less_status", table_name="findings")
    op.drop_index("ix_findings_regime_status_id", table_name="findings")
    op.drop_index("ix_findings_assignee_status", table_name="findings")
    op.drop_column("findings", "visible_regimes")
    op.drop_column("findings", "status_changed_at")
    op.drop_column("findings", "severity_rank")
    op.drop_column("findings", "assignee_id")
    op.drop_column("findings", "status")  # its check constraint goes with it
    op.drop_index(op.f("ix_login_attempts_address_at"), table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_account_at"), table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions")
    op.drop_index(op.f("ix_sessions_expires_at"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
    # pg_trgm stays: other objects may use it, and it costs nothing.
