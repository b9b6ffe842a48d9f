# Sourced by scripts/demo.sh, scripts/serve.sh and scripts/ui_snapshot.sh: the local Prefect server
# and MLflow UI on loopback, with their stores in the project (.prefect/, mlflow.db).
#
# Prefect: started WITH its services. `--no-services` (what make demo used before) runs only the
# API and the UI, and the task-run recorder and event persister are services: task runs and events
# are then never recorded (the UI showed "0 Task runs" for every flow run). The scheduler service is
# left off where nothing is deployed (demo) and on where deployments live (serve).
# The UI asks the API at PREFECT_UI_API_URL, which defaults to port 4200 whatever --port says: it is
# set to the port the server really listens on.

# Telemetry off (these machines are offline: the server's heartbeat otherwise logs `ERROR ... Failed to
# send telemetry`), for the server and everything started after this file is sourced (workers, deploy,
# dvc repro's steps); flows/__init__.py sets the same defaults for any `ipad` process.
export PREFECT_SERVER_ANALYTICS_ENABLED="${PREFECT_SERVER_ANALYTICS_ENABLED:-false}"
export DO_NOT_TRACK="${DO_NOT_TRACK:-1}"

free_port() {  # the first free port from $1 upwards
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

wait_http() {  # URL PID LOG: until URL answers, or fail with the log when PID died
  for _ in $(seq 1 120); do
    curl -sf "$1" >/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3"; echo "failed to start (log: $3)"; return 1; }
    sleep 1
  done
  echo "$1 did not answer in 120 s (log: $3)"; return 1
}

start_prefect() {  # PORT [extra server options...]; sets PREFECT_API_URL and PREFECT_PID
  local port=$1; shift
  export PREFECT_HOME="${PREFECT_HOME:-$PWD/.prefect}"
  mkdir -p "$PREFECT_HOME"
  PREFECT_UI_API_URL="http://127.0.0.1:$port/api" \
    prefect server start --host 127.0.0.1 --port "$port" "$@" > "$PREFECT_HOME/server.log" 2>&1 &
  PREFECT_PID=$!
  export PREFECT_API_URL="http://127.0.0.1:$port/api"
  wait_http "$PREFECT_API_URL/health" "$PREFECT_PID" "$PREFECT_HOME/server.log"
}

start_mlflow() {  # PORT; sets MLFLOW_PID
  local port=$1 log="${PREFECT_HOME:-.prefect}/mlflow-ui.log"
  mlflow ui --backend-store-uri "${MLFLOW_TRACKING_URI:-sqlite:///$PWD/mlflow.db}" \
    --default-artifact-root "$PWD/mlartifacts" --host 127.0.0.1 --port "$port" > "$log" 2>&1 &
  MLFLOW_PID=$!
  wait_http "http://127.0.0.1:$port/health" "$MLFLOW_PID" "$log"
}
