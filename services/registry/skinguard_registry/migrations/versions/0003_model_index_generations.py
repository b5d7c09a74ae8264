"""model_index_generations: the generation of each model's versions.json

Revision ID: registry_0003
Revises: registry_0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0003"
down_revision = "registry_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_index_generations",
        sa.Column("model_name", sa.String(64), primary_key=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_index_generations")
