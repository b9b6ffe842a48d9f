#!/usr/bin/env bash
# Point DVC at the object store: data versions and pipeline outputs go to s3://$IPAD_S3_BUCKET/dvc.
# Run once in a checkout (writes .dvc/config, which is committed; credentials stay in the environment:
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, never in the config).
#
#   IPAD_S3_BUCKET=ipad-vad IPAD_S3_ENDPOINT_URL=http://minio:9000 bash infra/dvc-remote.sh
#
# IPAD_S3_ENDPOINT_URL empty = AWS S3 itself. Then `dvc push` / `dvc pull` (the retraining flow
# pushes after every committed data version and pulls before retraining on a fresh worker).
set -euo pipefail
bucket="${IPAD_S3_BUCKET:?set IPAD_S3_BUCKET}"
name="${IPAD_DVC_REMOTE:-storage}"
dvc remote add --force --default "$name" "s3://$bucket/${IPAD_DVC_PREFIX:-dvc}"
if [ -n "${IPAD_S3_ENDPOINT_URL:-}" ]; then
  dvc remote modify "$name" endpointurl "$IPAD_S3_ENDPOINT_URL"
fi
if [ -n "${AWS_DEFAULT_REGION:-}" ]; then
  dvc remote modify "$name" region "$AWS_DEFAULT_REGION"
fi
dvc remote list
