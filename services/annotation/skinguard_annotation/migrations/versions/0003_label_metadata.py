"""dataset_images.label_metadata

Revision ID: annotation_0003
Revises: annotation_0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "annotation_0003"
down_revision = "annotation_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # What the consensus label's annotations said besides the label (diagnosis, age, sex), frozen
    # with the dataset version so evaluations can be sliced by them. Existing rows get {}.
    op.add_column(
        "dataset_images",
        sa.Column("label_metadata", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("dataset_images", "label_metadata")
