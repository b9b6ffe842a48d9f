#!/usr/bin/env bash
# `make ui-snapshot`: screenshots of what `make demo` left in the Prefect and MLflow UIs, taken with
# headless Chromium (Debian's package, installed here when missing), into docs/img/ui/ (or $1):
#   prefect_runs.png      Prefect's runs of the latest pipeline run (named by step and subject)
#   prefect_flow_run.png  one flow run (a device's evaluation): its task runs and the project's log lines
#   mlflow_runs.png       MLflow's runs of experiment ipad-vad (the pipeline's parent run and its children)
#   mlflow_model.png      one device's registered model: description, versions, aliases, tags
# (not the registry's list: MLflow 3.17 covers it with an announcement on a browser's first visit)
# Both UIs start on free ports on loopback and stop at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
out="${1:-docs/img/ui}"
mkdir -p "$out"
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq chromium >/dev/null
  else echo "needs Debian's chromium: sudo apt-get install chromium"; exit 1; fi
fi
source scripts/ui_common.sh
export PREFECT_HOME="$PWD/.prefect"
unset PREFECT_API_URL
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$profile"' EXIT
profile="$(mktemp -d)"
start_prefect "$(free_port 4200)" --no-scheduler
pids+=("$PREFECT_PID")
mport="$(free_port 5000)"
start_mlflow "$mport"
pids+=("$MLFLOW_PID")
ui="${PREFECT_API_URL%/api}"
mlflow_ui="http://127.0.0.1:$mport"

shot() {  # NAME URL [HEIGHT]: a page after its scripts ran (the UIs are single-page apps)
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
    --window-size="1600,${3:-1000}" --virtual-time-budget=25000 --screenshot="$out/$1.png" "$2" >/dev/null 2>&1
  echo "$out/$1.png  <- $2"
}

IFS="|" read -r flow_run exp model < <(python - "$PREFECT_API_URL" <<'PY'
import json, sys, urllib.request

import mlflow

def post(path, body):
    req = urllib.request.Request(sys.argv[1] + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    return json.loads(urllib.request.urlopen(req, timeout=30).read())

runs = post("/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 200,
                                  "flow_runs": {"name": {"like_": "evaluate"}}})
devices = [r for r in runs if r["name"].split()[-1].startswith("R")] or runs or [{"id": ""}]  # a device's
from ipad_vad.registry.tracking import configure
exp = configure()
models = [m.name for m in mlflow.MlflowClient().search_registered_models() if not m.name.startswith("ipad-vad-base-")]
print("|".join([devices[0]["id"], exp, (sorted(models) or [""])[0]]))
PY
)
shot prefect_runs "$ui/runs"
if [ -n "$flow_run" ]; then shot prefect_flow_run "$ui/runs/flow-run/$flow_run" 1300
else echo "no evaluation flow run on the server: run make demo first"; fi
shot mlflow_runs "$mlflow_ui/#/experiments/$exp/runs"
[ -z "$model" ] || shot mlflow_model "$mlflow_ui/#/models/$model"
