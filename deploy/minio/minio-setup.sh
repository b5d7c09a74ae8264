#!/bin/sh
# One-off (compose service minio-setup): the bucket, and one user per service limited to its
# prefixes and actions (deploy/privileges/<user>.policy.json, generated from
# skinguard_contracts.privileges), so no service holds MinIO's root credentials and the gateway
# can only read models/. Safe to run again.
set -eu

mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "local/$SKINGUARD_S3_BUCKET"

service_user() {  # user secret
  policy="/tmp/$1.policy.json"
  # The policy names the bucket as ${SKINGUARD_S3_BUCKET}: expand it with the shell.
  eval "cat <<JSON
$(cat "${PRIVILEGES_DIR:-/privileges}/$1.policy.json")
JSON" >"$policy"
  mc admin policy create local "$1" "$policy"
  # Adding an existing user sets its secret again, so a rotated key takes effect here too.
  mc admin user add local "$1" "$2"
  # Attaching twice is an error; an already attached policy is the state we want.
  mc admin policy attach local "$1" --user "$1" || mc admin user info local "$1" | grep -q "$1"
}

service_user skinguard-ingestion "$INGESTION_S3_SECRET_KEY"
service_user skinguard-annotation "$ANNOTATION_S3_SECRET_KEY"
service_user skinguard-worker "$WORKER_S3_SECRET_KEY"
service_user skinguard-gateway "$GATEWAY_S3_SECRET_KEY"
service_user skinguard-model-sync "$MODEL_SYNC_S3_SECRET_KEY"
echo "bucket $SKINGUARD_S3_BUCKET ready, one user per service"
