#!/bin/sh
# One-off, after the migrations (compose service database-roles; the Kubernetes migrations job):
# one login role per service, with the password from its *_DATABASE_PASSWORD variable, and the
# grants of deploy/privileges/grants.sql (generated from skinguard_contracts.privileges). The
# migrations' owner role keeps everything else. Safe to run again (passwords are set again).
set -eu
# The owner's URL, as the migrations get it (SQLAlchemy's +asyncpg dialect removed for psql).
owner="postgresql://${SKINGUARD_DATABASE_URL#postgresql+asyncpg://}"
sql() { psql -v ON_ERROR_STOP=1 -q "$owner" "$@"; }

login_role() {  # role password (URL-safe, as .env.example makes them)
  sql -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$1') THEN CREATE ROLE $1 LOGIN; END IF; END \$\$"
  sql -c "ALTER ROLE $1 LOGIN PASSWORD '$2'"
}

login_role skinguard_ingestion "$INGESTION_DATABASE_PASSWORD"
login_role skinguard_annotation "$ANNOTATION_DATABASE_PASSWORD"
login_role skinguard_worker "$WORKER_DATABASE_PASSWORD"
login_role skinguard_gateway "$GATEWAY_DATABASE_PASSWORD"
sql -f "${PRIVILEGES_DIR:-/privileges}/grants.sql"
echo "database roles ready"
