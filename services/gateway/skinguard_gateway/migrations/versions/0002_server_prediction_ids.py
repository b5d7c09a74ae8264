"""prediction ids made by the server: request_id -> prediction_id

The log was keyed by the client's X-Request-ID, so anyone could attach feedback to any
prediction. Predictions are now keyed by an id the server makes; feedback needs the token
returned with it (feedback.tokens). Logged rows keep their ids; nobody holds tokens for them.

Revision ID: gateway_0002
Revises: gateway_0001
Create Date: 2026-12-01
"""

from alembic import op

revision = "gateway_0002"
down_revision = "gateway_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("prediction_log", "request_id", new_column_name="prediction_id")
    op.alter_column("prediction_feedback", "request_id", new_column_name="prediction_id")


def downgrade() -> None:
    op.alter_column("prediction_feedback", "prediction_id", new_column_name="request_id")
    op.alter_column("prediction_log", "prediction_id", new_column_name="request_id")
