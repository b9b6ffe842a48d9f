#!/usr/bin/env bash
# Work pools and concurrency for the deployments in prefect.yaml (PREFECT_API_URL must point at the
# server). IPAD_POOL_TYPE=process (default: workers started by hand or by docker compose) or
# kubernetes (the gpu pool runs each flow run as a Job requesting nvidia.com/gpu, from
# infra/prefect/gpu-k8s-job-template.json; needs `pip install prefect-kubernetes` on the worker).
set -euo pipefail
cd "$(dirname "$0")"
GPUS="${IPAD_GPUS:-1}"
TYPE="${IPAD_POOL_TYPE:-process}"
prefect work-pool create cpu --type process --overwrite
if [ "$TYPE" = kubernetes ]; then
  prefect work-pool create gpu --type kubernetes --base-job-template gpu-k8s-job-template.json --overwrite
else
  prefect work-pool create gpu --type process --overwrite
fi
# at most one flow run per GPU across the pool, and the gpu-tagged tasks (train, adapt, evaluate)
# limited to the number of GPUs
prefect work-pool set-concurrency-limit gpu "$GPUS"
prefect concurrency-limit create gpu "$GPUS" || prefect concurrency-limit inspect gpu
echo "pools ready ($TYPE). Workers: prefect worker start --pool cpu   and per GPU   prefect worker start --pool gpu --limit 1"
