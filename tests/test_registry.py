"""MLflow tracking and registry against a real temporary SQLite store."""

from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch

from ipad_vad.config import load_params
from ipad_vad.methods import get_method, load_model_file
from ipad_vad.methods.base import write_method_json
from ipad_vad.models.period_head import circular_mean_phase
from ipad_vad.registry import device_model_name, tracking
from ipad_vad.registry.promotion import list_models, promote
from ipad_vad.registry.pyfunc_model import log_scorer, pip_requirements
from ipad_vad.train.lora import LoraSettings, add_lora, load_adapter, save_adapter

PARAMS = load_params("params.yaml", "smoke")


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.delenv("IPAD_PIPELINE_ID", raising=False)
    return tmp_path


def _base_and_adapter(tmp_path):
    """A saved IPAD-VAD base and a LoRA-adapted folder (as methods/adaptation.py writes it)."""
    torch.manual_seed(0)
    method = get_method("ipad_vad", PARAMS)
    method.save(method.build(), tmp_path / "base.pt")
    pm = add_lora(load_model_file(tmp_path / "base.pt")[1], LoraSettings(rank=4, alpha=8), method.lora_targets)
    with torch.no_grad():
        for p in pm.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    save_adapter(pm, tmp_path / "adapted" / "adapter")
    write_method_json(tmp_path / "adapted", method, base=str(tmp_path / "base.pt"))
    return tmp_path / "base.pt", tmp_path / "adapted"


@pytest.mark.slow
def test_registry_pyfunc_scores_like_the_in_memory_model_and_promotion_rules(store):
    base, adapter = _base_and_adapter(store)
    clips = (torch.rand(3, 3, 8, 32, 32) * 2 - 1).numpy()
    name = device_model_name("R01")
    versions = []
    for _auc in (70.0, 65.0, 80.0, 80.5):  # the AUCs the versions are promoted with below
        with tracking.run("adapt R01", "adapt", "R01", params={"lora": {"rank": 4}}):
            v = log_scorer(name, clips, base, adapter, tags={"scene": "R01"})
        versions.append(v.version)
    d1 = promote(name, versions[0], 70.0)  # AUCs in percent (issue 29)
    assert d1.promoted and d1.previous_champion is None
    d2 = promote(name, versions[1], 65.0)  # worse: challenger, champion unchanged
    assert d2.alias == "challenger" and d2.previous_champion == versions[0]
    d3 = promote(name, versions[2], 80.0, margin=1.0)
    assert d3.promoted
    d4 = promote(name, versions[3], 80.5, margin=1.0)  # better, but not by the margin
    assert not d4.promoted
    client = mlflow.MlflowClient()
    assert client.get_model_version_by_alias(name, "champion").version == versions[2]
    assert len(client.search_model_versions(f"name='{name}'")) == 4  # nothing lost
    [row] = list_models()
    assert row["champion"] == versions[2] and row["champion_auc"] == pytest.approx(80.0)
    assert row["challenger"] == versions[3] and row["versions"] == 4
    # the registered champion rebuilds base + adapter and scores like the in-memory model
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    got = loaded.predict(clips)
    assert list(got.columns) == ["recon_error", "t_p"]  # the method's named components, then the phase
    assert client.get_model_version(name, versions[2]).tags["method"] == "ipad_vad"
    mem = load_adapter(load_model_file(base)[1], adapter / "adapter", merge=True).eval()
    with torch.no_grad():
        x = torch.from_numpy(clips)
        out = mem(x)
        mse = (out["recon"][:, :, 4] - x[:, :, 4]).pow(2).flatten(1).mean(1)
    assert np.allclose(got["recon_error"], -10 * np.log10(4 / mse.numpy()), atol=1e-4)  # -PSNR of the centre frame
    # t_p read as the params say (period.readout: circular_mean), equal on the circle to float noise
    n = out["period_logits"].shape[-1]
    d = np.abs(got["t_p"].to_numpy() - circular_mean_phase(out["period_logits"]).numpy())
    assert (np.minimum(d, n - d) < 1e-3).all()
    # logged from code, not pickled (issue 16, 9): no python_model.pkl, the code file and plain artifacts
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{versions[2]}"))
    files = {p.name for p in local.rglob("*") if p.is_file()}
    assert "python_model.pkl" not in files and not any(f.endswith((".pkl", ".cloudpickle")) for f in files)
    assert "scorer_code.py" in files and "model_code_path" in (local / "MLmodel").read_text()
    # its requirements declared, pinned (issue 30: MLflow's inference loaded the model in a second process)
    reqs = (local / "requirements.txt").read_text().split()
    assert reqs == pip_requirements() and "torch==" + torch.__version__.split("+")[0] in reqs


def test_runs_carry_tags_and_share_a_pipeline_parent(store, monkeypatch):
    monkeypatch.setenv("IPAD_PIPELINE_ID", "p-42")
    (store / "manifest.parquet").write_bytes(b"fake manifest")
    with tracking.run("a", "pretrain", manifest=store / "manifest.parquet") as r1:
        tracking.log_history([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}])
    with tracking.run("b", "evaluate", scene="S01") as r2:
        mlflow.log_metric("auc", 0.7)
    client = mlflow.MlflowClient()
    a, b = client.get_run(r1.info.run_id), client.get_run(r2.info.run_id)
    assert a.data.tags["mlflow.parentRunId"] == b.data.tags["mlflow.parentRunId"]
    parent = client.get_run(a.data.tags["mlflow.parentRunId"])
    assert parent.data.tags["ipad.role"] == "pipeline"
    assert a.data.tags["data_version"] == tracking.data_version(store / "manifest.parquet")
    assert len(a.data.tags["git_commit"]) in (7, 40) or a.data.tags["git_commit"] == "unknown"
    hist = client.get_metric_history(r1.info.run_id, "loss")
    assert [(m.step, m.value) for m in hist] == [(1, 0.5), (2, 0.25)]


def test_the_pipeline_parent_run_ends_with_its_status_summary_and_settings(store, monkeypatch):
    monkeypatch.setenv("IPAD_PIPELINE_ID", "p-7")
    with tracking.run("a", "evaluate", scene="R01"):
        mlflow.log_metric(tracking.metric_name("R01", "auc_scene_norm", "score"), 0.6)
    client = mlflow.MlflowClient()
    [parent] = client.search_runs([tracking.configure()], "tags.`ipad.role` = 'pipeline'")
    assert parent.info.status == "RUNNING"  # what the UI showed forever before the pipeline ended it
    (store / "results.md").write_text("# results")
    rid = tracking.finish_pipeline(
        "p-7",
        "FAILED",
        {"knn": 0.87, "ipad_vad:recon_error": 0.51},
        {"profile": "smoke", "train": {"epochs": 3}},
        (store / "results.md", store / "absent.json"),
    )
    run = client.get_run(rid)
    assert rid == parent.info.run_id and run.info.status == "FAILED" and run.info.end_time >= run.info.start_time
    assert run.data.metrics == {
        "mean_auc_pct/knn": 87.0,
        "mean_auc_pct/ipad_vad:recon_error": 51.0,
    }  # percent (issue 29)
    assert run.data.params == {"profile": "smoke", "train.epochs": "3"}
    assert [a.path for a in client.list_artifacts(rid)] == ["results.md"]
    # ended again (a rerun of the finishing step) with other settings: the status follows, params stay
    tracking.finish_pipeline("p-7", "FINISHED", {"knn": 0.9}, {"profile": "demo"})
    run = client.get_run(rid)
    assert (
        run.info.status == "FINISHED"
        and run.data.params["profile"] == "smoke"
        and run.data.metrics["mean_auc_pct/knn"] == 90.0
    )
    with pytest.raises(ValueError, match="RUNNING"):
        tracking.finish_pipeline("p-7", "RUNNING")
    # a pipeline that failed before any tracked stage still gets its (failed) parent run
    other = client.get_run(tracking.finish_pipeline("p-8", "FAILED"))
    assert other.data.tags["ipad.pipeline_id"] == "p-8" and other.info.status == "FAILED"


def test_lineage_finds_the_run_that_produced_the_registered_files(store):
    from ipad_vad.registry.lineage import lineage_tags, mark_produced, producing_run

    base, adapted = store / "base.pt", store / "adapted"
    adapted.mkdir()
    base.write_bytes(b"base v1")
    (adapted / "adapter.bin").write_bytes(b"adapter of R01")
    with tracking.run("pretrain m", "pretrain"):
        mark_produced(base)
    with tracking.run("finetune m R01", "finetune", "R01") as first:  # the step's name before issue 28
        mark_produced(adapted)
    (adapted / "adapter.bin").write_bytes(b"adapter of R01, retrained")
    with tracking.run("adapt m R01", "adapt", "R01") as second:
        mark_produced(adapted)
    assert producing_run("adapt", adapted) == second.info.run_id
    (adapted / "adapter.bin").write_bytes(b"adapter of R01")  # the first run's bytes again (DVC checked them out)
    assert producing_run("adapt", adapted) == first.info.run_id  # a run tagged finetune still counts
    assert producing_run("pretrain", adapted) is None  # stage and bytes must both match
    tags = lineage_tags(base, adapted)
    assert tags["adapt_run_id"] == first.info.run_id and set(tags) == {"pretrain_run_id", "adapt_run_id"}
    (adapted / "adapter.bin").write_bytes(b"made by hand, outside a tracked run")
    assert lineage_tags(base, adapted).keys() == {"pretrain_run_id"}  # absent, not guessed


@pytest.mark.slow
def test_a_model_below_the_minimum_auc_is_never_champion_and_the_device_is_refused(store):
    from ipad_vad.errors import ConfigError
    from ipad_vad.inference.champion import load_scorer

    base, adapter = _base_and_adapter(store)
    clips = (torch.rand(1, 3, 8, 32, 32) * 2 - 1).numpy()
    name = device_model_name("R03")
    versions = []
    for _ in range(3):
        with tracking.run("adapt R03", "adapt", "R03"):
            versions.append(log_scorer(name, clips, base, adapter, tags={"scene": "R03"}).version)
    d = promote(name, versions[0], 22.0, min_auc=70)  # worse than a coin: no champion, even as the first
    assert d.alias == "challenger" and not d.usable and d.previous_champion is None
    client = mlflow.MlflowClient()
    assert client.get_model_version(name, versions[0]).tags["usable"] == "false"
    [row] = list_models(min_auc=70)
    assert row["champion"] is None and row["usable"] is False
    with pytest.raises(
        ConfigError,
        match=rf"'R03' has no usable detector: .*v{versions[0]} .*AUC 22.0 on.*"
        rf"promote_min_auc = 70 %.*--model-uri models:/{name}/{versions[0]}",
    ):
        load_scorer("R03", min_auc=70)
    d = promote(name, versions[1], 75.0, min_auc=70)  # usable: champion
    assert d.promoted and d.usable
    d = promote(name, versions[2], 69.0, min_auc=70, margin=-100.0)  # a negative margin cannot lift it over the minimum
    assert d.alias == "challenger"
    [row] = list_models(min_auc=70)
    assert row["champion"] == versions[1] and row["usable"] is True
    [row] = list_models(min_auc=80)  # a stricter minimum: the same champion is no longer usable
    assert row["usable"] is False
    with pytest.raises(ConfigError, match=rf"has no usable detector: .*v{versions[1]} .*AUC 75.0 on"):
        load_scorer("R03", min_auc=80)
