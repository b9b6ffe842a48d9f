"""Issue 28: what DVC tracks is what ran. The active profile is resolved into params.resolved.yaml by
dvc.yaml's first stage (`ipad params resolve`) and every other stage lists its params from there.

The DVC tests run real `dvc` on the repository's own dvc.yaml and params.yaml in a temporary git
repository; nothing is trained: every stage's outputs and inputs are placeholders recorded with
`dvc commit`, and `dvc status` says which stages a change would rerun."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ipad_vad.config import load_params
from ipad_vad.errors import ConfigError
from ipad_vad.params_resolve import resolved_path, template_keys, write_resolved

from .conftest import ROOT, VENV_BIN, copy_project_skeleton, sh

METHODS = ["ipad_vad", "conv_ae", "infp", "local_patterns", "knn"]  # pipeline.methods of params.yaml
DEVICES = ["R01", "R02", "R03", "R04"]  # pipeline.devices


def _edit(path, change):
    p = yaml.safe_load(path.read_text())
    change(p)
    path.write_text(yaml.safe_dump(p, sort_keys=False))


def _status(repo, env) -> set[str]:
    return set(json.loads(sh("dvc status --json", repo, env).stdout))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The repository's dvc.yaml and params.yaml (profile paper: the issue's example) with every
    stage recorded in dvc.lock as if it had run: `dvc status` is clean."""
    repo = tmp_path_factory.mktemp("params-dvc") / "project"
    copy_project_skeleton(repo)
    (repo / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    _edit(repo / "params.yaml", lambda p: p.update(profile="paper"))
    env = dict(
        os.environ,
        PATH=f"{VENV_BIN}:{os.environ['PATH']}",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@t",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@t",
    )
    env.pop("IPAD_PROFILE", None)
    sh("git init -q && dvc init -q && dvc config core.analytics false", repo, env)
    sh("dvc repro params", repo, env)  # the real `ipad params resolve`
    _placeholders(repo)
    sh("dvc commit -f -q && git add -A && git commit -qm recorded", repo, env)
    assert _status(repo, env) == set()
    return {"path": repo, "env": env}


def _placeholders(repo):
    """A small file for every output and input of every stage that is not there (a folder for a
    path without a suffix), so that `dvc commit` can record the pipeline without running it."""
    code = (
        "from dvc.repo import Repo\n"
        "r = Repo('.')\n"
        "outs = [str(o.fs_path) for s in r.index.stages for o in s.outs]\n"
        "deps = [str(d.fs_path) for s in r.index.stages for d in s.deps if not hasattr(d, 'params')]\n"
        "print(__import__('json').dumps([outs, deps]))"
    )
    outs, deps = json.loads(
        subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True).stdout
    )
    for path in [*outs, *deps]:
        p = Path(path)
        if p.exists():
            continue
        if p.suffix:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"placeholder {p.name}\n")
        else:
            p.mkdir(parents=True, exist_ok=True)
            (p / "placeholder").write_text("placeholder\n")


def _restore(repo, env):
    sh("git checkout -q -- params.yaml && dvc repro -q params", repo, env)
    assert _status(repo, env) == set()


@pytest.mark.slow  # real dvc over ~75 stages: ~20 s each
def test_a_value_changed_inside_the_active_profile_reruns_exactly_the_stages_that_read_it(project):
    repo, env = project["path"], project["env"]
    _edit(repo / "params.yaml", lambda p: p["profiles"]["paper"]["adapt"].update(epochs=12))
    try:
        assert _status(repo, env) == {"params"}  # params.yaml changed: the resolve stage runs first
        sh("dvc repro -q params", repo, env)
        changed = _status(repo, env)
    finally:
        _restore(repo, env)
    # adapt.epochs: read by every adapt stage and by the report (its table names the epochs)
    assert changed == {f"adapt_evaluate@{m}-{d}" for m in METHODS for d in DEVICES} | {"report"}, changed


@pytest.mark.slow  # real dvc over ~75 stages: ~20 s each
def test_a_method_setting_inside_the_active_profile_reruns_only_that_methods_stages(project):
    repo, env = project["path"], project["env"]
    _edit(repo / "params.yaml", lambda p: p["profiles"]["paper"]["methods"]["infp"].update(cell=16))
    try:
        sh("dvc repro -q params", repo, env)
        changed = _status(repo, env)
    finally:
        _restore(repo, env)
    infp_stages = {"pretrain@infp", "evaluate_pretrain@infp"} | {f"adapt_evaluate@infp-{d}" for d in DEVICES}
    assert changed == infp_stages, changed


@pytest.mark.slow  # real dvc over ~75 stages: ~20 s each
def test_inactive_profiles_and_overridden_base_values_rerun_nothing(project):
    repo, env = project["path"], project["env"]

    def change(p):
        p["profiles"]["smoke"]["adapt"]["epochs"] = 2  # another profile
        p["adapt"]["epochs"] = 7  # a base value the active profile overrides

    _edit(repo / "params.yaml", change)
    try:
        sh("dvc repro -q params", repo, env)
        changed = _status(repo, env)
    finally:
        _restore(repo, env)
    assert changed == set(), changed


@pytest.mark.slow  # real dvc over ~75 stages: ~20 s each
def test_new_footage_for_one_device_still_reruns_only_its_stages(project):
    repo, env = project["path"], project["env"]
    (repo / "data/manifests/R02.parquet").write_text("another placeholder\n")  # as validate writes it
    try:
        changed = _status(repo, env)
    finally:
        sh("dvc checkout -f -q data/manifests", repo, env)
    assert _status(repo, env) == set()
    # validate: its output changed here by hand; the device's stages, none of another device's
    assert changed == {"validate", "prepare_device@R02"} | {f"adapt_evaluate@{m}-R02" for m in METHODS}, changed


@pytest.mark.slow  # real dvc over ~75 stages: ~20 s each
def test_ipad_profile_cannot_make_dvc_lock_lie(project):
    """IPAD_PROFILE=smoke used to make the outputs smoke-sized while dvc.lock recorded the file's
    profile. Inside `dvc repro` it is refused before a stage does anything; dvc.lock is untouched."""
    repo, env = project["path"], project["env"]
    lock = (repo / "dvc.lock").read_text()
    smoke = dict(env, IPAD_PROFILE="smoke")
    _edit(repo / "params.yaml", lambda p: p["profiles"]["paper"]["adapt"].update(epochs=12))
    try:
        r = sh("dvc repro", repo, smoke, check=False)  # the resolve stage runs first
        assert r.returncode != 0 and "IPAD_PROFILE=smoke" in r.stdout + r.stderr, r.stdout + r.stderr
        assert (repo / "dvc.lock").read_text() == lock
    finally:
        _restore(repo, env)
    # the resolve stage up to date, a stage with new input runs the step itself: refused there too
    (repo / "data/manifests/R01.parquet").write_text("another placeholder\n")
    try:
        r = sh("dvc repro -s prepare_device@R01", repo, smoke, check=False)
        out = r.stdout + r.stderr
        assert r.returncode != 0 and "IPAD_PROFILE=smoke inside dvc repro (stage prepare_device@R01)" in out, out
        assert (repo / "dvc.lock").read_text() == lock
    finally:
        sh("dvc checkout -f -q", repo, env)
    assert _status(repo, env) == set()


# -- the library's side, without DVC ------------------------------------------------------------


@pytest.fixture
def params_dir(tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    (tmp_path / "dvc.yaml").write_text((ROOT / "dvc.yaml").read_text())
    (tmp_path / "stage_items.yaml").write_text((ROOT / "stage_items.yaml").read_text())  # dvc.yaml's vars
    monkeypatch.delenv("IPAD_PROFILE", raising=False)
    monkeypatch.delenv("DVC_STAGE", raising=False)
    return tmp_path


def test_the_resolved_file_is_what_every_command_reads(params_dir):
    out, profile = write_resolved(params_dir / "params.yaml")
    assert out == resolved_path(params_dir / "params.yaml") == params_dir / "params.resolved.yaml"
    assert profile == "demo" and yaml.safe_load(out.read_text()) == load_params(params_dir / "params.yaml")
    assert "profiles" not in yaml.safe_load(out.read_text())


def test_inside_a_dvc_stage_a_stale_resolved_file_or_another_profile_is_refused(params_dir, monkeypatch):
    params = params_dir / "params.yaml"
    write_resolved(params)
    monkeypatch.setenv("DVC_STAGE", "adapt_evaluate@knn-R01")
    assert load_params(params)["profile"] == "demo"  # in step with the file: fine
    monkeypatch.setenv("IPAD_PROFILE", "smoke")
    with pytest.raises(ConfigError, match=r"IPAD_PROFILE=smoke inside dvc repro \(stage adapt_evaluate@knn-R01\)"):
        load_params(params)
    monkeypatch.delenv("IPAD_PROFILE")
    with pytest.raises(ConfigError, match="--profile paper inside dvc repro"):
        load_params(params, "paper")
    _edit(params, lambda p: p["adapt"].update(epochs=4))  # edited, not resolved (dvc repro -s)
    with pytest.raises(ConfigError, match="params.resolved.yaml: not params.yaml resolved"):
        load_params(params)
    monkeypatch.delenv("DVC_STAGE")
    assert load_params(params)["adapt"]["epochs"] == 4  # outside DVC nothing is refused


def test_resolve_refuses_ipad_profile_and_profiles_that_change_dvc_yaml_templating(params_dir, monkeypatch):
    params = params_dir / "params.yaml"
    monkeypatch.setenv("IPAD_PROFILE", "paper")
    with pytest.raises(ConfigError, match="IPAD_PROFILE=paper is not what `ipad params resolve` records"):
        write_resolved(params)
    monkeypatch.delenv("IPAD_PROFILE")
    _edit(params, lambda p: p.update(profile="smoke"))  # smoke has its own scene lists
    with pytest.raises(ConfigError, match=r"profile 'smoke' sets pipeline\.\w+, which dvc.yaml reads from the base"):
        write_resolved(params)
    assert not resolved_path(params).exists()
    assert {"pipeline.devices", "pipeline.methods", "data.root"} <= set(template_keys(params_dir / "dvc.yaml"))


def test_params_show_prints_the_resolved_tree_of_a_profile(params_dir):
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}")
    env.pop("IPAD_PROFILE", None)
    out = sh("ipad params show --profile smoke", params_dir, env).stdout
    shown = yaml.safe_load(out)
    assert shown == load_params(params_dir / "params.yaml", "smoke")
    assert shown["profile"] == "smoke" and shown["pipeline"]["devices"] == ["R01"] and "profiles" not in shown
