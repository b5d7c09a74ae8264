"""training_jobs and model_versions, adopted from the annotation service's history

They were created by annotation_0002 before the registry had its own history: on such a
database this revision only records that the registry owns them; on a new one it creates them.

Revision ID: registry_0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "registry_0001"
down_revision = None
branch_labels = None
depends_on = None

JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
MODEL_STATUSES = ("candidate", "promoted", "rejected", "archived")


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("training_jobs"):
        return  # created by annotation_0002
    _create()


def _create() -> None:
    op.create_table(
        "training_jobs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "dataset_id",
            sa.Uuid(),
            sa.ForeignKey("training_datasets.id", name="fk_training_jobs_dataset_id_training_datasets"),
            nullable=False,
        ),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("config", postgresql.JSONB(), nullable=False),
        sa.Column("state", postgresql.ENUM(*JOB_STATES, name="job_state"), nullable=False),
        sa.Column("progress", postgresql.JSONB(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_training_jobs"),
    )
    op.create_index("ix_training_jobs_dataset_id", "training_jobs", ["dataset_id"])
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", postgresql.ENUM(*MODEL_STATUSES, name="model_status"), nullable=False),
        sa.Column(
            "job_id",
            sa.Uuid(),
            sa.ForeignKey("training_jobs.id", name="fk_model_versions_job_id_training_jobs"),
            nullable=True,
        ),
        sa.Column(
            "dataset_id",
            sa.Uuid(),
            sa.ForeignKey("training_datasets.id", name="fk_model_versions_dataset_id_training_datasets"),
            nullable=False,
        ),
        sa.Column("artifact_url", sa.Text(), nullable=False),
        sa.Column("metrics", postgresql.JSONB(), nullable=False),
        sa.Column("gate", postgresql.JSONB(), nullable=False),
        sa.Column("test_auc", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.UniqueConstraint("model_name", "version", name="uq_model_versions_model_name"),
        sa.CheckConstraint("version > 0", name="ck_model_versions_positive_version"),
    )
    op.create_index("ix_model_versions_model_name", "model_versions", ["model_name"])
    # At most one promoted version per model, checked at commit (a promotion swaps two rows).
    op.execute(
        "ALTER TABLE model_versions ADD CONSTRAINT ex_model_versions_one_promoted "
        "EXCLUDE USING btree (model_name WITH =) WHERE (status = 'promoted') DEFERRABLE INITIALLY DEFERRED"
    )


def downgrade() -> None:
    op.drop_table("model_versions")
    op.drop_table("training_jobs")
    op.execute("DROP TYPE model_status")
    op.execute("DROP TYPE job_state")
