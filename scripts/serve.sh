#!/usr/bin/env bash
# `make serve`: the ways in after `make demo`, on loopback, until Ctrl-C:
#  * the Prefect server (its flow and task runs in .prefect/) with the UI on IPAD_PREFECT_PORT (4200);
#  * the deployments of prefect.yaml registered to it (process work pools `cpu` and `gpu`) and one
#    worker per pool running in this checkout, so that a run started from the UI's Run button (the
#    whole pipeline, one device's adapt step, one scene's preprocessing, the validation gate)
#    executes here and shows its tasks. The schedules (nightly retraining, the S3 landing poll) are
#    paused: they need a landing folder or bucket; resume them in the UI or with
#    `prefect deployment schedule resume`;
#  * the MLflow UI on IPAD_MLFLOW_PORT (5000): runs, the pipeline's parent runs, the registry.
# A port that is taken moves to the next free one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
source scripts/ui_common.sh
export PREFECT_HOME="$PWD/.prefect"  # the project's server database (make demo's runs)
unset PREFECT_API_URL
pids=()
stop() {  # the workers and the MLflow UI first (a worker shuts down cleanly only while its server answers),
  # then the server; whatever is still there after 15 s is killed
  trap - EXIT INT TERM
  kill "${pids[@]:1}" 2>/dev/null || true
  for _ in $(seq 15); do kill -0 "${pids[@]:1}" 2>/dev/null || break; sleep 1; done
  kill "${pids[0]}" 2>/dev/null || true
  sleep 1
  kill -9 "${pids[@]}" 2>/dev/null || true
}
trap stop EXIT INT TERM

pport="$(free_port "${IPAD_PREFECT_PORT:-4200}")"
start_prefect "$pport"
pids+=("$PREFECT_PID")
mport="$(free_port "${IPAD_MLFLOW_PORT:-5000}")"
start_mlflow "$mport"
pids+=("$MLFLOW_PID")

export IPAD_REPO_DIR="$PWD"  # prefect.yaml's pull step: the workers run the flows in this checkout
IPAD_POOL_TYPE=process bash infra/prefect/setup.sh > "$PREFECT_HOME/pools.log" 2>&1 \
  || { cat "$PREFECT_HOME/pools.log"; exit 1; }
prefect --no-prompt deploy --all > "$PREFECT_HOME/deploy.log" 2>&1 || { cat "$PREFECT_HOME/deploy.log"; exit 1; }
prefect deployment schedule pause --all > /dev/null
for pool in cpu gpu; do
  prefect worker start --pool "$pool" --type process --limit 1 > "$PREFECT_HOME/worker-$pool.log" 2>&1 &
  pids+=($!)
done

cat <<MSG
Prefect UI: http://127.0.0.1:$pport   (flow runs, task runs; filter one pipeline run by its tag pipeline:<id>)
            Deployments -> ipad-pipeline / ipad-validate / ipad-adapt-device / ipad-prepare -> Run:
            executed by the workers here (logs: $PREFECT_HOME/worker-{cpu,gpu}.log)
MLflow UI:  http://127.0.0.1:$mport   (experiment ipad-vad; Models: ipad-vad-<device>, ipad-vad-base-<method>)
Schedules are paused (they need a landing folder or bucket). Ctrl-C stops everything.
MSG
wait "$PREFECT_PID"
