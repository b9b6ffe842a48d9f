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
ENV_EXAMPLE = dict(
    line.split("=", 1)
    for line in (INFRA / ".env.example").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


def test_compose_has_the_stack_with_health_checks_ports_and_named_volumes():
    s = COMPOSE["services"]
    assert set(s) == {
        "postgres",
        "minio",
        "minio-init",
        "prefect-server",
        "mlflow",
        "worker-cpu",
        "worker-gpu",
        "serve",
    }
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
    assert (
        "--backend-store-uri postgresql://" in cmd
        and "--artifacts-destination s3://${IPAD_S3_BUCKET}/mlartifacts" in cmd
    )
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
    optional = {
        "IPAD_PIPELINE_ID",
        "IPAD_PREFECT_PORT",
        "IPAD_DVC_REMOTE",
        "IPAD_DVC_PREFIX",
        "IPAD_GPUS",
        "IPAD_POOL_TYPE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_REGION",
        "IPAD_FAULT",
        "IPAD_FAULT_GROUP",
    }  # the crash tests' fault hook (data/fault_points.py): never on a worker
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
    from flows.pipeline import ADAPT_DEPLOYMENT

    assert ADAPT_DEPLOYMENT in names


def test_dockerfiles_copy_files_that_exist():
    for f in (INFRA / "docker").glob("*.Dockerfile"):
        context = ROOT if f.name == "worker.Dockerfile" else INFRA
        for src in re.findall(r"^COPY (.+) \S+$", f.read_text(), re.M):
            for part in src.split():
                assert (context / part).exists(), (f.name, part)


def _serve_config_problem(text: str, where: str):
    """check_config of `ipad serve` on a camera config (its sources not opened: they are the cluster's)."""
    from ipad_vad.serve.config import check_config

    return check_config(yaml.safe_load(text), where, check_sources=False)


def test_compose_serve_service_listens_on_all_addresses_with_a_healthcheck_gpu_and_a_valid_config():
    svc = COMPOSE["services"]["serve"]
    cmd = " ".join(svc["entrypoint"]) + " " + svc["command"]
    assert cmd.split()[:3] == ["ipad", "serve", "/config/cameras.yaml"] and "--host 0.0.0.0" in cmd
    port = re.search(r"--port (\d+)", cmd).group(1)
    assert [p.split(":")[-1] for p in svc["ports"]] == [port]
    assert f"localhost:{port}/healthz" in " ".join(svc["healthcheck"]["test"])
    [dev] = svc["deploy"]["resources"]["reservations"]["devices"]
    assert dev["driver"] == "nvidia" and "gpu" in dev["capabilities"]
    assert svc["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert svc["depends_on"]["mlflow"]["condition"] == "service_healthy"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
    config = (INFRA / mounts["/config/cameras.yaml"]).resolve()
    assert config.is_file()
    cfg, settings = _serve_config_problem(config.read_text(), str(config))
    assert cfg.cameras and settings.out.startswith("/data") and "/data" in mounts  # outputs on a volume
    assert (
        all(c.source.startswith("/cameras/") for c in cfg.cameras if not c.source.startswith("rtsp"))
        and "/cameras" in mounts
    )
    # the image has the params.yaml that `ipad serve` reads in its working_dir
    assert re.search(r"^COPY params.yaml \./$", (INFRA / "docker/worker.Dockerfile").read_text(), re.M)
    assert svc["working_dir"] == "/opt/ipad"


def test_kubernetes_serve_deployment_probes_gpu_metrics_port_and_camera_configmap():
    docs = {d["kind"]: d for d in yaml.safe_load_all((INFRA / "k8s/serve.yaml").read_text())}
    assert set(docs) == {"ConfigMap", "Deployment", "Service"}
    dep = docs["Deployment"]
    pod = dep["spec"]["template"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    [c] = pod["spec"]["containers"]
    assert c["command"][:3] == ["ipad", "serve", "/config/cameras.yaml"] and "0.0.0.0" in c["command"]
    port = int(c["command"][c["command"].index("--port") + 1])
    [cport] = c["ports"]
    assert cport["containerPort"] == port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] == "/healthz" and get["port"] in (port, cport["name"]), probe
    assert c["resources"]["requests"]["nvidia.com/gpu"] == 1 and c["resources"]["limits"]["nvidia.com/gpu"] == 1
    ann = pod["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true" and int(ann["prometheus.io/port"]) == port
    assert ann["prometheus.io/path"] == "/metrics"
    # the ConfigMap is mounted where the command reads it, and is a valid serve config
    mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/config")
    vol = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
    cm = docs["ConfigMap"]
    assert vol["configMap"]["name"] == cm["metadata"]["name"] and "cameras.yaml" in cm["data"]
    cfg, settings = _serve_config_problem(cm["data"]["cameras.yaml"], "ConfigMap ipad-serve-cameras")
    assert len(cfg.cameras) >= 2 and any(m["mountPath"] in settings.out for m in c["volumeMounts"])
    # the Service selects the pod and exposes the metrics port
    svc = docs["Service"]
    assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert [p["targetPort"] for p in svc["spec"]["ports"]] in ([port], [cport["name"]])
