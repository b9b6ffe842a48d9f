#!/usr/bin/env bash
# Work pools and concurrency for the deployments in prefect.yaml (PREFECT_API_URL must point at the
# server). Local: process pools. Docker / Kubernetes variants: infra/README.md.
set -euo pipefail
GPUS="${IPAD_GPUS:-1}"
prefect work-pool create cpu --type process --overwrite
prefect work-pool create gpu --type process --overwrite
# one flow run per GPU worker at a time, and the gpu-tagged tasks (train, finetune, evaluate)
# limited to the number of GPUs
prefect work-pool set-concurrency-limit gpu "$GPUS"
prefect concurrency-limit create gpu "$GPUS" || prefect concurrency-limit inspect gpu
echo "start workers: prefect worker start --pool cpu   and (on each GPU machine)   prefect worker start --pool gpu"
