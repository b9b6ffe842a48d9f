"""One typed settings tree (issue 28, 1): each section's schema holds its defaults (settings/), the
loaded params have every key, the readers and the typed views agree, unknown keys are refused."""

from dataclasses import asdict, fields
from pathlib import Path

import pytest
import yaml

from ipad_vad.config import deep_merge, load_params, load_settings
from ipad_vad.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path, change) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    change(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_the_shipped_params_read_as_written_and_only_gain_the_keys_they_leave_out():
    """What the pipeline reads from the shipped params.yaml is what it says (same values, same types,
    same order): the schema only adds the keys the file leaves out."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    profiles = raw.pop("profiles")
    for name in ("smoke", "demo", "paper"):
        p = load_params(ROOT / "params.yaml", name)
        written = {**deep_merge(raw, profiles[name] or {}), "profile": name}

        def same(got, want, where):
            assert list(got)[: len(want)] == list(want), where
            for k, v in want.items():
                if isinstance(v, dict):
                    same(got[k], v, f"{where}.{k}")
                else:
                    assert got[k] == v and type(got[k]) is type(v), f"{where}.{k}: {got[k]!r} != {v!r}"

        same(p, written, name)
        assert (p["alert"]["smooth"], p["alert"]["alerts_per_hour"], p["feedback"]["marks_file"]) == (
            1,
            0.5,
            "alert_marks.json",
        )


def test_a_key_left_out_reads_as_its_schema_default_in_the_dict_and_the_typed_tree(tmp_path):
    from ipad_vad.settings.evaluate import Evaluate
    from ipad_vad.settings.optical_flow import OpticalFlow

    def drop(r):
        del r["evaluate"]["period_weight"], r["optical_flow"]["size"], r["train"]["grad_clip"]

    path = _write(tmp_path, drop)
    p = load_params(path, "demo")
    assert p["evaluate"]["period_weight"] == Evaluate.model_fields["period_weight"].default == 0.8
    assert p["optical_flow"]["size"] == OpticalFlow.model_fields["size"].default == [32, 32]
    assert p["train"]["grad_clip"] == 0.0
    s = load_settings(path, "demo")
    assert (s.evaluate.period_weight, s.optical_flow.size, s.train.grad_clip) == (0.8, [32, 32], 0.0)
    assert s.pipeline.promote_min_auc == 70 and type(s.pipeline.promote_min_auc) is int  # as written
    assert load_settings(path, "demo") is s  # checked once per process
    path.write_text(path.read_text().replace("  window: 9\n", "  window: 7\n", 1))
    assert load_settings(path, "demo").evaluate.window == 7  # ... for each content of the file


@pytest.mark.parametrize("weight", [None, 0.3])
def test_evaluate_period_weight_is_read_alike_by_the_jobs_and_the_method(tmp_path, weight):
    """The jobs (EvaluateSettings) and IPAD-VAD's combined score read the same value: the file's, or
    with the key left out the schema's default (before: 0.5 written in two places), also for a method
    rebuilt from a saved model's params, which hold no evaluate section."""
    from ipad_vad.jobs.settings import EvaluateSettings
    from ipad_vad.methods import get_method, get_method_class
    from ipad_vad.settings.evaluate import Evaluate

    def change(r):
        if weight is None:
            del r["evaluate"]["period_weight"]
        else:
            r["evaluate"]["period_weight"] = weight

    p = load_params(_write(tmp_path, change), "smoke")
    want = Evaluate.model_fields["period_weight"].default if weight is None else weight
    method = get_method("ipad_vad", p)
    assert EvaluateSettings.from_params(p).period_weight == method.weights()["period_error"] == want
    assert method.context(None).window == EvaluateSettings.from_params(p).window
    saved = method.model_params()
    assert "evaluate" not in saved
    assert (
        get_method_class("ipad_vad")(saved).weights()["period_error"] == Evaluate.model_fields["period_weight"].default
    )


def test_the_runtime_settings_take_their_defaults_from_the_schema():
    from ipad_vad.data.synth.generator import SynthConfig
    from ipad_vad.settings.adapt import Adapt, Lora
    from ipad_vad.settings.synth import Synth
    from ipad_vad.settings.train import Loss, Train
    from ipad_vad.train.loop import TrainSettings
    from ipad_vad.train.lora import LoraSettings
    from ipad_vad.train.losses import LossWeights

    t = TrainSettings()
    assert {f.name: getattr(t, f.name) for f in fields(t) if f.name in Train.model_fields and f.name != "loss"} == {
        k: v for k, v in Train().model_dump().items() if k not in ("loss", "plateau")
    }
    assert {"min_drop": t.plateau_min_drop, "patience": t.plateau_patience} == Train().plateau.model_dump()
    assert t.fraction_mode == Adapt().fraction_mode
    assert asdict(LossWeights()) == Loss().model_dump() and asdict(LoraSettings()) == Lora().model_dump()
    synth = asdict(SynthConfig())
    for k, v in Synth().model_dump().items():
        if k != "scenes":
            assert synth[k] == (tuple(v) if isinstance(v, list) else v) or k in ("nuisance", "domain_shift", "shift"), k
    assert synth["domain_shift"]["cast"] == tuple(Synth().domain_shift.cast)
    shift = {k: tuple(v) if isinstance(v, list) else v for k, v in Synth().shift.model_dump().items()}
    assert synth["shift"] == shift  # the shift's defaults are the schema's too (data/synth/shift.ShiftConfig)


def test_an_unknown_train_key_is_a_one_line_error_naming_it():
    """The trainer's settings used to drop unknown keys silently (``epohcs: 50`` trained 5 epochs)."""
    from ipad_vad.train.loop import TrainSettings

    with pytest.raises(ConfigError, match=r"train\.epohcs: unknown key; known here: \[.*'epochs'") as e:
        TrainSettings.from_params({"epochs": 1, "epohcs": 50})
    assert "\n" not in str(e.value)
    assert TrainSettings.from_params({"epochs": 1}, lr=0.5).lr == 0.5


def test_storage_reads_its_typed_section():
    from ipad_vad.storage.s3_settings import S3Settings

    s = S3Settings.from_params({"bucket": "b"}, env={})
    assert (s.landing_prefix, s.archive_prefix, s.ledger_key, s.endpoint_url) == (
        "landing/",
        "archive/",
        "ipad/landing-ledger.json",
        None,
    )
    with pytest.raises(ConfigError, match=r"storage\.bukket: unknown key"):
        S3Settings.from_params({"bukket": "b"}, env={})
