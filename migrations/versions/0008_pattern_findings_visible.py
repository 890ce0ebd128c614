"""pattern findings stored before they carried visible regimes get their regime's

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 21:20:00.000000

Pattern findings written between 0005 and the change that gave them ``visible_regimes``
have an empty array. Every pattern needs a transfer near an embargo, so each has a regime
and reviewers of it already see it; but assigning one to a reviewer was refused, since
assignment checks the visible regimes. Data only: nothing to undo on downgrade.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE findings SET visible_regimes = ARRAY[regime] "
        "WHERE pattern_group IS NOT NULL AND regime IS NOT NULL AND visible_regimes = '{}'"
    )


def downgrade() -> None:
    pass
