"""image_annotations with history; training_datasets with frozen membership

Needs the ingestion schema (training_images) first: labels and dataset members reference
images with ON DELETE CASCADE, so erasing an image removes them in the same transaction.

Revision ID: annotation_0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "annotation_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_annotations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("image_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(20), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("annotator_id", sa.Uuid(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_image_annotations"),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["training_images.id"],
            ondelete="CASCADE",
            name="fk_image_annotations_image_id_training_images",
        ),
        sa.CheckConstraint("label IN ('benign', 'malignant')", name="ck_image_annotations_label"),
        sa.CheckConstraint("confidence BETWEEN 0 AND 1", name="ck_image_annotations_confidence"),
    )
    op.create_index("ix_image_annotations_image_id", "image_annotations", ["image_id"])
    op.create_index("ix_image_annotations_annotator_id", "image_annotations", ["annotator_id"])
    # One current label per annotator and image; older ones stay as history.
    op.create_index(
        "uq_image_annotations_current",
        "image_annotations",
        ["image_id", "annotator_id"],
        unique=True,
        postgresql_where=sa.text("superseded_at IS NULL"),
    )

    op.create_table(
        "training_datasets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("image_count", sa.Integer(), nullable=False),
        sa.Column("train_split", sa.Float(), nullable=False),
        sa.Column("val_split", sa.Float(), nullable=False),
        sa.Column("test_split", sa.Float(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("filters", postgresql.JSONB(), nullable=False),
        sa.Column("leakage_report", postgresql.JSONB(), nullable=False),
        sa.Column("manifest_url", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_training_datasets"),
        sa.UniqueConstraint("name", "version", name="uq_training_datasets_name"),
        sa.CheckConstraint(
            "train_split > 0 AND val_split >= 0 AND test_split >= 0 "
            "AND abs(train_split + val_split + test_split - 1) < 1e-6",
            name="ck_training_datasets_splits",
        ),
    )
    op.create_table(
        "dataset_images",
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("image_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(20), nullable=False),
        sa.Column("split", sa.String(10), nullable=False),
        sa.Column("group_key", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "image_id", name="pk_dataset_images"),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["training_datasets.id"],
            ondelete="CASCADE",
            name="fk_dataset_images_dataset_id_training_datasets",
        ),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["training_images.id"],
            ondelete="CASCADE",
            name="fk_dataset_images_image_id_training_images",
        ),
        sa.CheckConstraint("label IN ('benign', 'malignant')", name="ck_dataset_images_label"),
        sa.CheckConstraint("split IN ('train', 'validation', 'test')", name="ck_dataset_images_split"),
    )
    op.create_index("ix_dataset_images_image_id", "dataset_images", ["image_id"])
    # A frozen version never changes: refuse updates of its membership at the database.
    op.execute(
        "CREATE FUNCTION refuse_dataset_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'dataset versions are immutable'; END $$"
    )
    op.execute(
        "CREATE TRIGGER dataset_images_immutable BEFORE UPDATE ON dataset_images "
        "FOR EACH ROW EXECUTE FUNCTION refuse_dataset_change()"
    )
    op.execute(
        "CREATE TRIGGER training_datasets_immutable BEFORE UPDATE ON training_datasets "
        "FOR EACH ROW EXECUTE FUNCTION refuse_dataset_change()"
    )


def downgrade() -> None:
    op.drop_table("dataset_images")
    op.drop_table("training_datasets")
    op.execute("DROP FUNCTION refuse_dataset_change()")
    op.drop_table("image_annotations")
