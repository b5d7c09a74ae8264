"""prediction_log and prediction_feedback: what the gateway answered, and what it really was

Revision ID: gateway_0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_log",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("predicted_class", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("probability_benign", sa.Float(), nullable=False),
        sa.Column("probability_malignant", sa.Float(), nullable=False),
        sa.Column("risk_level", sa.String(16), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_prediction_log"),
        sa.CheckConstraint("predicted_class IN ('benign', 'malignant')", name="ck_prediction_log_predicted_class"),
    )
    op.create_index("ix_prediction_log_created_at", "prediction_log", ["created_at"])
    op.create_index("ix_prediction_log_model_version", "prediction_log", ["model_name", "model_version"])
    op.create_table(
        "prediction_feedback",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("actual_label", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_prediction_feedback"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["prediction_log.request_id"],
            name="fk_prediction_feedback_request_id_prediction_log",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("actual_label IN ('benign', 'malignant')", name="ck_prediction_feedback_actual_label"),
        sa.CheckConstraint("char_length(comment) <= 1000", name="ck_prediction_feedback_comment_length"),
    )


def downgrade() -> None:
    op.drop_table("prediction_feedback")
    op.drop_table("prediction_log")
