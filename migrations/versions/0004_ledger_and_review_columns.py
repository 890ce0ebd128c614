"""the ledger of accepted records; rejection kinds and replays; why a finding was superseded

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accepted_records",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("integrator", sa.String(length=200), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "published_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("times_published", sa.Integer(), server_default="1", nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accepted_records")),
        sa.UniqueConstraint("integrator", "record_id", name=op.f("uq_accepted_records_integrator")),
    )
    op.create_index(
        "ix_accepted_records_pending",
        "accepted_records",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("settled_at IS NULL"),
    )
    op.add_column(
        "rejected_records",
        sa.Column("reason_kind", sa.String(length=32), server_default="schema", nullable=False),
    )
    op.add_column(
        "rejected_records", sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "rejected_records",
        sa.Column("times_replayed", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index(
        op.f("ix_rejected_records_reason_kind"),
        "rejected_records",
        ["reason_kind"],
        unique=False,
    )
    op.add_column("findings", sa.Column("superseded_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("findings", "superseded_reason")
    op.drop_index(op.f("ix_rejected_records_reason_kind"), table_name="rejected_records")
    op.drop_column("rejected_records", "times_replayed")
    op.drop_column("rejected_records", "replayed_at")
    op.drop_column("rejected_records", "reason_kind")
    op.drop_index(
        "ix_accepted_records_pending",
        table_name="accepted_records",
        postgresql_where=sa.text("settled_at IS NULL"),
    )
    op.drop_table("accepted_records")
