"""One flow per pipeline step, each in its own module so that `ipad <step>` imports only what that
step needs (a preprocessing step never loads torch or MLflow). Each runs ephemerally (a temporary
local server) when no PREFECT_API_URL is set, and shows in the Prefect UI when it is.

    flows.data:      validate_flow
    flows.prepare:   prepare_flow(scene | role='pretrain')
    flows.train:     pretrain_flow(method), adapt_flow(device, method)
    flows.evaluate:  evaluate_flow(scene, method), report_flow
    flows.promote:   promote_flow(device)

Flow runs are named by step and subject (``evaluate knn R02``) and tagged with the pipeline id
(``flows/naming.py``).
"""

STEP_MODULES = {
    "validate_flow": "flows.data",
    "prepare_flow": "flows.prepare",
    "pretrain_flow": "flows.train",
    "adapt_flow": "flows.train",
    "evaluate_flow": "flows.evaluate",
    "report_flow": "flows.evaluate",
    "promote_flow": "flows.promote",
}


def get(name: str):
    import importlib

    return getattr(importlib.import_module(STEP_MODULES[name]), name)
