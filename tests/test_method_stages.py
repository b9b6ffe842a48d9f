"""Issue 28, item 4: a variant is declared in its parent's file, and its DVC stages depend on that file
and on its parent's settings (`infp_baseline` reruns when methods/infp.py or methods.infp changes)."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ipad_vad.errors import ConfigError
from ipad_vad.method_index import STAGE_ITEMS, check_stage_items, write_stage_items

from .conftest import ROOT, VENV_BIN


def test_the_committed_stage_items_describe_params_yaml():
    check_stage_items(ROOT / "params.yaml")  # `python -m ipad_vad.method_index` after editing pipeline.methods


def test_stale_stage_items_are_a_one_line_error(tmp_path):
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(p))
    write_stage_items(tmp_path / "params.yaml")
    p["pipeline"]["methods"] = p["pipeline"]["methods"] + ["infp_baseline"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(p))
    with pytest.raises(ConfigError, match=f"{STAGE_ITEMS}: stale for params.yaml's pipeline.methods/devices"):
        check_stage_items(tmp_path / "params.yaml")


def test_a_variants_stages_depend_on_its_parents_file_and_settings(tmp_path):
    """dvc.yaml resolved by DVC itself, with infp_baseline among pipeline.methods."""
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["pipeline"]["methods"] = ["infp_baseline", "knn"]
    p["pipeline"]["devices"] = ["R01"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    write_stage_items(tmp_path / "params.yaml")
    subprocess.run([str(Path(VENV_BIN) / "dvc"), "init", "-q", "--no-scm"], cwd=tmp_path, check=True)
    code = (
        "import json\nfrom dvc.repo import Repo\nfrom dvc.dependency.param import ParamsDependency as P\n"
        "r = Repo('.')\n"
        "print(json.dumps({s.addressing: {'deps': [d.def_path for d in s.deps if not isinstance(d, P)],"
        " 'params': sorted(k for d in s.deps if isinstance(d, P) for k in d.params)}"
        " for s in r.index.stages}))\n"
    )
    out = subprocess.run([str(Path(VENV_BIN) / "python"), "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    import json

    stages = json.loads(out.stdout)
    for stage in (
        "pretrain@infp_baseline",
        "adapt_evaluate@infp_baseline-R01",
        "evaluate_pretrain@infp_baseline",
    ):
        assert "src/ipad_vad/methods/infp.py" in stages[stage]["deps"], stage
        assert {"methods.infp", "methods.infp_baseline"} <= set(stages[stage]["params"]), stage
    assert "src/ipad_vad/methods/knn.py" in stages["pretrain@knn"]["deps"]
    assert "methods.infp" not in stages["pretrain@knn"]["params"]  # a method depends on its own family only


def test_ipad_data_scenes_rewrites_the_stage_items_with_the_new_devices(tmp_path):
    """`ipad data scenes` (jobs/scene_roles.write_roles) changes pipeline.devices: the per-method
    stages must follow, or DVC would adapt and evaluate the old devices."""
    from ipad_vad.jobs.scene_roles import write_roles

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    write_stage_items(tmp_path / "params.yaml")
    roles = {"scenes": ["cam1", "cam2"], "pretrain_scenes": [], "devices": ["cam1", "cam2"], "pretrain_data": "devices"}
    write_roles(tmp_path / "params.yaml", tmp_path / "data", roles)
    check_stage_items(tmp_path / "params.yaml")
    items = yaml.safe_load((tmp_path / STAGE_ITEMS).read_text())["method_stages"]["method_devices"]
    assert "knn-cam2" in items and not any(k.endswith("-R01") for k in items)
