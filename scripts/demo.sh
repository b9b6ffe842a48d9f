#!/usr/bin/env bash
# `make demo`: the whole pipeline (dvc repro) with the demo profile on this machine.
# Starts a local Prefect server on loopback for the run (unless PREFECT_API_URL points at one), so
# every step's flow run is recorded and visible in the UI; MLflow uses ./mlflow.db.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
if [ ! -d .dvc ]; then dvc init -q $(test -d .git || echo --no-scm); dvc config core.analytics false; fi
source scripts/ui_common.sh
export PREFECT_HOME="$PWD/.prefect"
if [ -z "${PREFECT_API_URL:-}" ]; then
  port="$(free_port "${IPAD_PREFECT_PORT:-4200}")"
  start_prefect "$port" --no-scheduler  # with the services that record task runs and events (ui_common.sh)
  trap 'kill $PREFECT_PID 2>/dev/null || true' EXIT
  echo "Prefect server: http://127.0.0.1:$port (log: $PREFECT_HOME/server.log)"
fi
export IPAD_PIPELINE_ID="${IPAD_PIPELINE_ID:-demo-$(date +%Y%m%d-%H%M%S)}"
start=$(date +%s)
python scripts/prune_dvc_lock.py  # entries of renamed stages: every stage would re-parse them (treeverse/dvc#5293)
# The MLflow parent run of this pipeline run ends with its outcome (FAILED when a stage fails).
# IPAD_REPRO_ARGS: options for dvc repro (--force: every stage again; --no-run-cache: run, never restore)
dvc repro ${IPAD_REPRO_ARGS:-} || { ipad runs finish --failed || true; exit 1; }
elapsed=$(( $(date +%s) - start ))
ipad runs finish
echo
cat reports/results.md
# the docs' demo tables are this run's report, never copied by hand
python benchmarks/_common.py docs/demo-results.md demo_results reports/results.md
ipad registry list
echo
echo "Scoring two test recordings of R02 with its champion (ipad score): 01 is all normal, 03 has anomalies"
ipad score --device R02 data/synth/R02/testing/frames/01 data/synth/R02/testing/frames/03 --out scores \
  || echo "(ipad score refused R02: see the message above; the report's 'Usable detector per device' table says why)"
cat <<MSG
dvc repro took ${elapsed} s (profile: $(python -c "import yaml;print(yaml.safe_load(open('params.yaml'))['profile'])")).
Results:   reports/results.md, metrics/summary.json (dvc metrics show), plots/<scene>/ (dvc plots show)
Scores:    scores/<video>.{scores.csv,alerts.json,png}  (ipad score --device R02 VIDEO... ; --follow for a live feed)
Browse:    make serve   Prefect UI (this demo's flow and task runs, tag pipeline:$IPAD_PIPELINE_ID; the
                        deployments, with a worker that runs what the UI's Run button starts) and
                        MLflow UI (runs of pipeline-$IPAD_PIPELINE_ID; registry: ipad-vad-*).
                        Other ports: IPAD_PREFECT_PORT=4310 IPAD_MLFLOW_PORT=5010 make serve
By hand, on any port P:
  PREFECT_HOME=.prefect PREFECT_UI_API_URL=http://127.0.0.1:P/api prefect server start --port P
  mlflow ui --backend-store-uri sqlite:///mlflow.db --port 5000
MSG
