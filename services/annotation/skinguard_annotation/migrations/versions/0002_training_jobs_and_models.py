"""training_jobs and the model registry (model_versions): moved to skinguard_registry

Revision ID: annotation_0002
Revises: annotation_0001
Create Date: 2026-11-25
"""

revision = "annotation_0002"
down_revision = "annotation_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The registry's tables now belong to skinguard_registry's own history (registry_0001, which
    # adopts them where this revision already created them). Kept so existing databases keep
    # their history; a new database gets the tables from the registry.
    pass


def downgrade() -> None:
    pass
