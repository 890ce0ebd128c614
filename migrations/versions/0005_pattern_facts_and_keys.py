"""diversion patterns across transfers: each transfer's facts and look-up keys; findings on
sets of transfers filed by pattern group and anchor day

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:08:33.148325
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pattern_keys",
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("family", sa.String(length=16), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("transfer_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["screened_transfers.id"],
            name=op.f("fk_pattern_keys_transfer_id_screened_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("transfer_id", "family", "key", name=op.f("pk_pattern_keys")),
    )
    op.create_index(
        "ix_pattern_keys_lookup",
        "pattern_keys",
        ["family", "key", "transfer_date"],
        unique=False,
    )
    op.create_table(
        "pattern_transfers",
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["screened_transfers.id"],
            name=op.f("fk_pattern_transfers_transfer_id_screened_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_pattern_transfers")),
    )
    # Nullable columns without a default: no rewrite of findings. The partial index holds
    # pattern findings only, so it starts empty.
    op.add_column("findings", sa.Column("pattern_group", sa.String(length=64), nullable=True))
    op.add_column("findings", sa.Column("pattern_anchor", sa.Date(), nullable=True))
    op.create_index(
        "ix_findings_pattern_group",
        "findings",
        ["pattern_group", "pattern_anchor"],
        unique=False,
        postgresql_where=sa.text("pattern_group IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_findings_pattern_group",
        table_name="findings",
        postgresql_where=sa.text("pattern_group IS NOT NULL"),
    )
    op.drop_column("findings", "pattern_anchor")
    op.drop_column("findings", "pattern_group")
    op.drop_table("pattern_transfers")
    op.drop_index("ix_pattern_keys_lookup", table_name="pattern_keys")
    op.drop_table("pattern_keys")
