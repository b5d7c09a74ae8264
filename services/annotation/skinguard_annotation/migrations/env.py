import skinguard_annotation.tables  # noqa: F401  (registers the tables)
from skinguard_database.migrate import run_env

run_env(version_table="alembic_version_annotation")
