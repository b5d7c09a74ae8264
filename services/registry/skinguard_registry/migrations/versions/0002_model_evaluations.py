"""model_evaluations: evaluations of a model version on a dataset version

Revision ID: registry_0002
Revises: registry_0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "registry_0002"
down_revision = "registry_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_evaluations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "dataset_id",
            sa.Uuid(),
            sa.ForeignKey("training_datasets.id", name="fk_model_evaluations_dataset_id_training_datasets"),
            nullable=False,
        ),
        sa.Column("split", sa.String(10), nullable=True),
        sa.Column("state", postgresql.ENUM(name="job_state", create_type=False), nullable=False),
        sa.Column("purpose", sa.String(16), server_default="request", nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("artifact_url", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_model_evaluations"),
        sa.CheckConstraint("split IN ('train', 'validation', 'test')", name="ck_model_evaluations_split"),
    )
    op.create_index("ix_model_evaluations_model", "model_evaluations", ["model_name", "version"])


def downgrade() -> None:
    op.drop_table("model_evaluations")
