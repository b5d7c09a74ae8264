"""label_adjudications: an admin's decision on a disputed image, with history

Revision ID: annotation_0004
Revises: annotation_0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "annotation_0004"
down_revision = "annotation_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_adjudications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("image_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(20), nullable=False),
        sa.Column("adjudicator_id", sa.Uuid(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_label_adjudications"),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["training_images.id"],
            ondelete="CASCADE",
            name="fk_label_adjudications_image_id_training_images",
        ),
    )
    # At most one current decision per image.
    op.create_index(
        "uq_label_adjudications_current",
        "label_adjudications",
        ["image_id"],
        unique=True,
        postgresql_where=sa.text("superseded_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("label_adjudications")
