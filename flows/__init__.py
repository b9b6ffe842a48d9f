"""Prefect flows composed from `tasks/`. `flows.steps` holds one flow per pipeline step (what
`ipad <step>` and so each DVC stage runs); `flows.pipeline` the whole pipeline with per-scene fan-out;
`flows.retrain` the retraining on new footage. Deployments: `prefect.yaml`."""
