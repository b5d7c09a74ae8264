"""training_images: one record per uploader of the same bytes (the object stays shared)

Revision ID: ingestion_0002
Revises: ingestion_0001
Create Date: 2026-12-01
"""

from alembic import op

revision = "ingestion_0002"
down_revision = "ingestion_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("uq_training_images_image_hash", "training_images", type_="unique")
    op.create_unique_constraint("uq_training_images_image_hash_user_id", "training_images", ["image_hash", "user_id"])
    op.create_index("ix_training_images_image_hash", "training_images", ["image_hash"])


def downgrade() -> None:
    # Only possible while no two uploaders share bytes.
    op.drop_index("ix_training_images_image_hash", "training_images")
    op.drop_constraint("uq_training_images_image_hash_user_id", "training_images", type_="unique")
    op.create_unique_constraint("uq_training_images_image_hash", "training_images", ["image_hash"])
