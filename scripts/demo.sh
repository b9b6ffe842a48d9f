#!/usr/bin/env bash
# `make demo`: the whole pipeline (dvc repro) with the demo profile on this machine.
# Starts a local Prefect server on loopback for the run (unless PREFECT_API_URL points at one), so
# every step's flow run is recorded and visible in the UI; MLflow uses ./mlflow.db.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
if [ ! -d .dvc ]; then dvc init -q $(test -d .git || echo --no-scm); dvc config core.analytics false; fi
export PREFECT_HOME="$PWD/.prefect"
mkdir -p "$PREFECT_HOME"
if [ -z "${PREFECT_API_URL:-}" ]; then
  port="${IPAD_PREFECT_PORT:-4200}"
  prefect server start --host 127.0.0.1 --port "$port" --no-services > "$PREFECT_HOME/server.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  export PREFECT_API_URL="http://127.0.0.1:$port/api"
  for _ in $(seq 1 90); do
    curl -sf "$PREFECT_API_URL/health" >/dev/null && break
    kill -0 $server 2>/dev/null || { cat "$PREFECT_HOME/server.log"; echo "prefect server failed to start"; exit 1; }
    sleep 1
  done
  echo "Prefect server: http://127.0.0.1:$port (log: $PREFECT_HOME/server.log)"
fi
export IPAD_PIPELINE_ID="${IPAD_PIPELINE_ID:-demo-$(date +%Y%m%d-%H%M%S)}"
start=$(date +%s)
dvc repro
elapsed=$(( $(date +%s) - start ))
echo
cat reports/results.md
ipad models list
echo
echo "Scoring two test recordings of R02 with its champion (ipad score): 01 is all normal, 04 has anomalies"
ipad score --device R02 data/synth/R02/testing/frames/01 data/synth/R02/testing/frames/04 --out scores \
  || echo "(ipad score refused R02: see the message above; the report's 'Usable detector per device' table says why)"
cat <<MSG
dvc repro took ${elapsed} s (profile: $(python -c "import yaml;print(yaml.safe_load(open('params.yaml'))['profile'])")).
Results:   reports/results.md, metrics/summary.json (dvc metrics show), plots/<scene>/ (dvc plots show)
Scores:    scores/<video>.{scores.csv,alerts.json,png}  (ipad score --device R02 VIDEO... ; --follow for a live feed)
MLflow:    mlflow ui --backend-store-uri sqlite:///mlflow.db   (runs of pipeline $IPAD_PIPELINE_ID; registry: ipad-vad-*)
Prefect:   PREFECT_HOME=.prefect prefect server start          (the flow runs of this demo)
MSG
