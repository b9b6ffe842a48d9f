"""Prefect flows composed from `tasks/`. `flows.steps` holds one flow per pipeline step (what
`ipad <step>` and so each DVC stage runs); `flows.pipeline` the whole pipeline with per-scene fan-out;
`flows.retrain` the retraining on new footage. Deployments: `prefect.yaml`.

Importing this package (every `ipad` command does, and every deployment's flow) turns Prefect's
telemetry off for this process and the ones it starts, unless the environment already says otherwise:
the machines are offline, and a temporary server's heartbeat (`dvc repro` without PREFECT_API_URL)
otherwise logs ``ERROR ... Failed to send telemetry`` in every step's output (issue 29)."""

import os

# PREFECT_SERVER_ANALYTICS_ENABLED: the server's heartbeat (temporary servers inherit this environment);
# DO_NOT_TRACK: the client's usage events (prefect/_internal/analytics).
PROCESS_ENV_DEFAULTS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}

for _key, _value in PROCESS_ENV_DEFAULTS.items():
    os.environ.setdefault(_key, _value)
