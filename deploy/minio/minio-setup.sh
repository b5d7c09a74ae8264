#!/bin/sh
# One-off (compose service minio-setup): the bucket, and an application user that may use only
# that bucket, so the services never hold MinIO's root credentials. Safe to run again.
set -eu

mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "local/$SKINGUARD_S3_BUCKET"

policy=/tmp/skinguard-app-policy.json
cat >"$policy" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow",
     "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
     "Resource": ["arn:aws:s3:::$SKINGUARD_S3_BUCKET"]},
    {"Effect": "Allow",
     "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
     "Resource": ["arn:aws:s3:::$SKINGUARD_S3_BUCKET/*"]}
  ]
}
JSON
mc admin policy create local skinguard-app "$policy"
# Adding an existing user sets its secret again, so a rotated key takes effect here too.
mc admin user add local "$SKINGUARD_S3_ACCESS_KEY" "$SKINGUARD_S3_SECRET_KEY"
# Attaching twice is an error; an already attached policy is the state we want.
mc admin policy attach local skinguard-app --user "$SKINGUARD_S3_ACCESS_KEY" \
  || mc admin user info local "$SKINGUARD_S3_ACCESS_KEY" | grep -q skinguard-app
echo "bucket $SKINGUARD_S3_BUCKET ready for $SKINGUARD_S3_ACCESS_KEY"
