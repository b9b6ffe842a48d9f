"""The deployment files, checked by parsing (Docker cannot run here): the compose stack, the
Kubernetes GPU job template, prefect.yaml's deployments and the Dockerfiles."""

import importlib
import inspect
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
COMPOSE = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
ENV_EXAMPLE = dict(line.split("=", 1) for line in (INFRA / ".env.example").read_text().splitlines()
                   if line.strip() and not line.startswith("#"))


def test_compose_has_the_stack_with_health_checks_ports_and_named_volumes():
    s = COMPOSE["services"]
    assert set(s) == {"postgres", "minio", "minio-init", "prefect-server", "mlflow", "worker-cpu", "worker-gpu"}
    for name in ("postgres", "minio", "prefect-server", "mlflow"):
        assert s[name]["healthcheck"]["test"], name
    ports = {name: [p.split(":")[-1] for p in svc.get("ports", [])] for name, svc in s.items()}
    assert ports["prefect-server"] == ["4200"] and ports["mlflow"] == ["5000"] and "9000" in ports["minio"]
    used = {v.split(":")[0] for svc in s.values() for v in svc.get("volumes", []) if not v.startswith(".")}
    assert used and used <= set(COMPOSE["volumes"])
    # workers wait for healthy servers and the bucket
    assert s["worker-gpu"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert s["worker-gpu"]["depends_on"]["mlflow"]["condition"] == "service_healthy"


def test_mlflow_uses_postgres_and_s3_artifacts_and_the_gpu_worker_requests_a_gpu():
    s = COMPOSE["services"]
    cmd = s["mlflow"]["command"]
    assert "--backend-store-uri postgresql://" in cmd and "--artifacts-destination s3://${IPAD_S3_BUCKET}/mlartifacts" in cmd
    assert s["mlflow"]["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert "prefect+asyncpg" not in s["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert s["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")
    [dev] = s["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert dev["driver"] == "nvidia" and "gpu" in dev["capabilities"]
    assert "--pool gpu" in s["worker-gpu"]["command"] and "--pool cpu" in s["worker-cpu"]["command"]
    assert "mc mb --ignore-existing" in " ".join(s["minio-init"]["command"])


def test_every_variable_the_stack_and_the_code_need_is_provided():
    text = (INFRA / "docker-compose.yml").read_text()
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)(?::-[^}]*)?\}", text))
    defaults = set(re.findall(r"\$\{([A-Z0-9_]+):-", text))
    assert referenced - defaults <= set(ENV_EXAMPLE), referenced - defaults - set(ENV_EXAMPLE)
    worker_env = COMPOSE["services"]["worker-gpu"]["environment"]
    # what the code reads from the environment on a worker
    code = "\n".join(p.read_text() for d in ("src", "tasks", "flows") for p in (ROOT / d).rglob("*.py"))
    code += (ROOT / "prefect.yaml").read_text() + (INFRA / "dvc-remote.sh").read_text()
    read = set(re.findall(r"\b(IPAD_[A-Z0-9_]+|MLFLOW_TRACKING_URI|PREFECT_API_URL|AWS_[A-Z_]+)\b", code))
    optional = {"IPAD_PIPELINE_ID", "IPAD_PREFECT_PORT", "IPAD_DVC_REMOTE", "IPAD_DVC_PREFIX", "IPAD_GPUS",
                "IPAD_POOL_TYPE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION",
                "IPAD_FAULT", "IPAD_FAULT_GROUP"}  # the crash tests' fault hook (data/fault_points.py): never on a worker
    missing = read - optional - set(worker_env)
    assert not missing, f"read by the code but not set for the workers: {missing}"
    assert worker_env["IPAD_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert worker_env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"


def test_kubernetes_gpu_template_requests_gpus_and_defines_every_placeholder():
    t = json.loads((INFRA / "prefect/gpu-k8s-job-template.json").read_text())
    [c] = t["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]["containers"]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "{{ gpu_count }}"
    used = set(re.findall(r"\{\{ *([a-z_]+) *\}\}", json.dumps(t["job_configuration"])))
    assert used <= set(t["variables"]["properties"]), used - set(t["variables"]["properties"])
    assert {"command", "env", "name", "namespace", "labels"} <= used  # what the Kubernetes worker fills in


def test_prefect_deployments_point_at_real_flows_with_matching_parameters():
    from prefect import Flow

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    pools = set(re.findall(r"work-pool create (\w+)", (INFRA / "prefect/setup.sh").read_text()))
    names = set()
    for d in spec["deployments"]:
        path, fn = d["entrypoint"].split(":")
        flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), fn)
        assert isinstance(flow, Flow), d["name"]
        params = set(inspect.signature(flow.fn).parameters)
        given = set(d.get("parameters") or {}) | {k for t in d.get("triggers", []) for k in t.get("parameters", {})}
        assert given <= params, (d["name"], given - params)
        assert d["work_pool"]["name"] in pools
        names.add(f"{flow.name}/{d['name']}")
    from flows.pipeline import FINETUNE_DEPLOYMENT

    assert FINETUNE_DEPLOYMENT in names


def test_dockerfiles_copy_files_that_exist():
    for f in (INFRA / "docker").glob("*.Dockerfile"):
        context = ROOT if f.name == "worker.Dockerfile" else INFRA
        for src in re.findall(r"^COPY (.+) \S+$", f.read_text(), re.M):
            for part in src.split():
                assert (context / part).exists(), (f.name, part)
