"""importer role: bulk imports upload and label under one identity

Revision ID: common_0002
Revises: common_0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "common_0002"
down_revision = "common_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TYPE api_role ADD VALUE IF NOT EXISTS 'importer'")


def downgrade() -> None:
    pass  # PostgreSQL cannot drop an enum value; an unused value is harmless
