"""annexes of the report on conflict-related sexual violence

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crsv_annex_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("parties", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crsv_annex_versions")),
        sa.UniqueConstraint("sha256", name=op.f("uq_crsv_annex_versions_sha256")),
        sa.UniqueConstraint("version", name=op.f("uq_crsv_annex_versions_version")),
    )
    op.create_index(
        op.f("ix_crsv_annex_versions_symbol"), "crsv_annex_versions", ["symbol"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_crsv_annex_versions_symbol"), table_name="crsv_annex_versions")
    op.drop_table("crsv_annex_versions")
