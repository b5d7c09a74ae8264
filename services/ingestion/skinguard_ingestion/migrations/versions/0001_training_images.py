"""training_images: validated, de-duplicated uploads

Revision ID: ingestion_0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "ingestion_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_images",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=False),
        sa.Column("image_hash", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("blur_score", sa.Float(), nullable=False),
        sa.Column("brightness_score", sa.Float(), nullable=False),
        sa.Column("contrast_score", sa.Float(), nullable=False),
        sa.Column("phash", sa.String(16), nullable=False),
        sa.Column("lesion_id", sa.String(64), nullable=True),
        sa.Column("patient_pseudonym", sa.String(40), nullable=True),
        sa.Column("source", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_training_images"),
        sa.UniqueConstraint("image_hash", name="uq_training_images_image_hash"),
        sa.CheckConstraint("format IN ('jpeg', 'png')", name="ck_training_images_format"),
        sa.CheckConstraint("width > 0 AND height > 0 AND byte_size > 0", name="ck_training_images_positive_size"),
    )
    for column in ("user_id", "created_at", "phash", "lesion_id", "patient_pseudonym", "source"):
        op.create_index(f"ix_training_images_{column}", "training_images", [column])


def downgrade() -> None:
    op.drop_table("training_images")
