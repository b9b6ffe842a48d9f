"""params.yaml's typed schema (issue 16, 4): unknown keys, wrong types and out-of-range values are
errors naming the key, the value and what is allowed, before any work; a missing params file too."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ipad_vad.config import load_params
from ipad_vad.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path, change) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    change(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_project_params_and_every_profile_pass():
    for profile in ("smoke", "demo", "paper"):
        assert load_params(ROOT / "params.yaml", profile)["profile"] == profile


@pytest.mark.parametrize(
    "change,message",
    [
        (
            lambda r: r["clip"].update(lenght=16),
            r"clip\.lenght: unknown key; known here: \['length', 'size', 'stride', 'train_stride'\]",
        ),
        (lambda r: r["clip"].update(length="sixteen"), r"clip\.length = 'sixteen': Input should be a valid integer"),
        (lambda r: r["alert"].update(false_alarm_rate=2), r"alert\.false_alarm_rate = 2: Input should be less than 1"),
        (
            lambda r: r["optical_flow"].update(method="farneback"),
            r"optical_flow\.method = 'farneback': Input should be 'dis' or 'tvl1'",
        ),
        (lambda r: r["adapt"]["lora"].update(rank=0), r"adapt\.lora\.rank = 0: Input should be greater than 0"),
        (
            lambda r: r.update(finetune=r.pop("adapt")),
            r"params\.yaml: finetune: renamed to adapt \(issue 28\)$",
        ),  # the old key
        (
            lambda r: r["profiles"]["paper"].update(finetune={"epochs": 10}),
            r"params\.yaml \(profile paper\): finetune: renamed to adapt \(issue 28\)$",
        ),
        (lambda r: r["methods"].update(infq={}), r"methods: unknown methods \['infq'\]; known: \[.*'infp'"),
        (lambda r: r.update(trian={"epochs": 3}), r"trian: unknown key; known here: \[.*'train'"),
        (
            lambda r: r["pseudo_anomalies"].update(inpainter=3),
            r"pseudo_anomalies\.inpainter = 3: Input should be a valid string",
        ),
        (
            lambda r: r["profiles"]["paper"]["clip"].update(size=[256]),
            r"params\.yaml \(profile paper\): clip\.size = \[256\]: "
            r"List should have at least 2 items",
        ),
    ],
)
def test_bad_settings_are_named_with_their_value_and_what_is_allowed(tmp_path, change, message):
    path = _write(tmp_path, change)
    with pytest.raises(ConfigError, match=message):
        load_params(path, "demo")  # an error in any profile, not only the active one


def test_a_params_file_named_on_the_command_line_must_exist(tmp_path):
    env = dict(os.environ, COLUMNS="200")
    r = subprocess.run(
        [sys.executable, "-m", "ipad_vad.cli", "data", "info", "--params", str(tmp_path / "nope.yaml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 2 and f"{tmp_path / 'nope.yaml'}: params file not found" in r.stderr
    bad = _write(tmp_path, lambda r: r["clip"].update(length="sixteen"))
    r = subprocess.run(
        [sys.executable, "-m", "ipad_vad.cli", "data", "info", "--params", str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 2 and "clip.length = 'sixteen'" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "method,change,message",
    [
        ("knn", {"frmes": 3}, r"methods\.knn\.frmes: unknown key; known here: \[.*'frames'"),
        ("ipad_vad", {"memory": {"sise": 3}}, r"methods\.ipad_vad\.memory\.sise: unknown key; known here: \[.*'size'"),
        (
            "ipad_vad",
            {"memory": {"softmax_over": "slots"}},
            r"methods\.ipad_vad\.memory\.softmax_over = 'slots': "
            r"Input should be 'memory' or 'tokens'",
        ),
        ("infp", {"alpha": 2}, r"methods\.infp\.alpha = 2: Input should be less than or equal to 1"),
        ("conv_ae", {"channels": [32, -1]}, r"methods\.conv_ae\.channels\.1 = -1: Input should be greater than 0"),
        (
            "conv_ae",
            {"pseudo_anomalies": {"spatial": 0.7, "order": 0.6}},
            r"methods\.conv_ae\.pseudo_anomalies: spatial "
            r"\+ order .* must not exceed 1",
        ),
        ("pseudo_anomaly", {"weights": {"recon_error": -1}}, r"methods\.pseudo_anomaly\.weights\.recon_error = -1"),
    ],
)
def test_each_method_checks_its_section_by_its_own_schema_when_a_pipeline_run_starts(method, change, message):
    """Inside ``methods.<name>`` the method's typed Settings decide; a pipeline run checks every method
    of pipeline.methods before any work (PipelineSettings)."""
    from ipad_vad.jobs.settings import PipelineSettings

    p = load_params(ROOT / "params.yaml", "demo")
    p["methods"][method] = {**(p["methods"][method] or {}), **change}
    p["pipeline"]["methods"] = sorted(set(p["pipeline"]["methods"]) | {method})
    with pytest.raises(ConfigError, match=message):
        PipelineSettings.from_params(p)
