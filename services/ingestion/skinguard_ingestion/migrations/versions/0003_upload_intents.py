"""upload_intents: an object about to be written, until its row commits

Revision ID: ingestion_0003
Revises: ingestion_0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "ingestion_0003"
down_revision = "ingestion_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_intents",
        sa.Column("image_hash", sa.Text(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("upload_intents")
