import skinguard_gateway.feedback.tables
import skinguard_gateway.predictions.tables  # noqa: F401  (the imports register the tables)
from skinguard_database.migrate import run_env

run_env(version_table="alembic_version_gateway")
