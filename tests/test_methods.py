"""The method interface: the registry, save -> load -> identical scores for every method, a memory
bank of any size, the adaptation guards, and promotion across methods with `ipad score` on the
champion of either kind."""

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch

from ipad_vad.config import load_params
from ipad_vad.errors import ConfigError
from ipad_vad.evaluate.scoring import score_batch
from ipad_vad.methods import get_method, load_model_file, method_names
from ipad_vad.methods.abilities import LoRAMixin, MemoryBankMixin, WindowScoringMixin
from ipad_vad.methods.base import ClipScores, FitHooks, Method
from ipad_vad.train.loop import TrainSettings

from .helpers import ArraySource

SMOKE = load_params("params.yaml", "smoke")
METHODS_DIR = Path(__file__).resolve().parents[1] / "src/ipad_vad/methods"


def test_the_registry_lists_every_method_file():
    """Every method file declares its method (named after the file); a variant is declared in its
    parent's file (issue 28), and the names read without importing (settings checks) are the registry's."""
    from ipad_vad.method_index import declared_methods
    from ipad_vad.methods import get_method_class
    from ipad_vad.settings.pipeline import method_files

    files = {
        p.stem
        for p in METHODS_DIR.glob("*.py")
        if not p.stem.startswith("_") and p.stem not in ("base", "abilities", "adaptation")
    }
    assert files <= set(method_names()) and method_files() == method_names()
    for name, d in declared_methods().items():
        cls = get_method_class(name)
        assert cls.__module__ == f"ipad_vad.methods.{d.file}" and cls.variant_of == d.variant_of
        assert d.file == (cls.variant_of or name)  # a variant lives in its parent's file
    assert declared_methods()["infp_baseline"].file == "infp"
    for name in method_names():
        m = get_method(name, SMOKE)
        assert isinstance(m, Method) and m.name == name and m.label and m.components
        assert m.adaptation in ("lora", "full", "refit")
        assert abs(sum(m.weights().values()) - 1) < 1e-9 and set(m.weights()) == {c.name for c in m.components}
    assert get_method("knn", SMOKE).adaptation == "refit" and get_method("ipad_vad", SMOKE).adaptation == "lora"
    with pytest.raises(ConfigError, match="unknown method 'nope'"):
        get_method("nope", SMOKE)


def test_every_method_and_variant_has_settings_without_a_params_file():
    """The schema's defaults alone build every method, variants included: a variant's override of a
    part of its parent's weights (pseudo_anomaly_baseline: `semantic: 0`) changes that weight, not all
    of them (`ipad method list` outside a project failed on it)."""
    for name in method_names():
        m = get_method(name, {})
        assert sum(m.weights().values()) == pytest.approx(1.0), name
    base = get_method("pseudo_anomaly_baseline", {}).weights()
    assert base["semantic"] == 0 and base["recon_error"] > 0 and base["flow_error"] > 0


def test_a_method_has_only_the_abilities_it_declares():
    """A small core; LoRA, window scoring and a memory bank are opt-in mixins (issue 28): a method
    without one has none of its members, and `register` refuses a method that needs a missing one."""
    from ipad_vad.methods import register
    from ipad_vad.methods.base import ScoreComponent

    conv, ipad, knn, fb = (get_method(n, SMOKE) for n in ("conv_ae", "ipad_vad", "knn", "feature_bank"))
    for member in (
        "lora_targets",
        "window_values",
        "context",
        "lookahead",
        "adapt_fraction",
        "heldout_model",
        "window_components",
        "n_classes",
    ):
        assert not hasattr(conv, member), member
    assert isinstance(ipad, (LoRAMixin, WindowScoringMixin)) and not isinstance(ipad, MemoryBankMixin)
    assert isinstance(knn, MemoryBankMixin) and not isinstance(knn, (LoRAMixin, WindowScoringMixin))
    assert isinstance(fb, MemoryBankMixin) and isinstance(fb, LoRAMixin)
    assert type(knn).bank_clips is type(fb).bank_clips and type(knn).score_batch is type(fb).score_batch

    class NoLora(Method):
        name, label, components, adaptations = "no_lora_probe", "probe", (ScoreComponent("x", "x"),), ("lora",)

    class NoWindow(Method):
        name, label, components = "no_window_probe", "probe", (ScoreComponent("x", "x", window=True),)

    class Orphan(Method):
        name, label, components, variant_of = "orphan_probe", "probe", (ScoreComponent("x", "x"),), "nope"

    with pytest.raises(TypeError, match="'lora' among its adaptations needs LoRAMixin"):
        register(NoLora)
    with pytest.raises(TypeError, match="window score components need WindowScoringMixin"):
        register(NoWindow)
    with pytest.raises(TypeError, match="variant of 'nope', which is not registered"):
        register(Orphan)
    assert not {"no_lora_probe", "no_window_probe", "orphan_probe"} & set(method_names())


def _clips(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, SMOKE["clip"]["length"], *SMOKE["clip"]["size"], generator=g) * 2 - 1


def _dataset(n, seed):
    """n random clips (stride 1) of one video."""
    from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord

    T, (H, W) = SMOKE["clip"]["length"], SMOKE["clip"]["size"]
    frames = np.random.default_rng(seed).integers(0, 256, (n + T - 1, H, W, 3), dtype=np.uint8)
    return ClipDataset([VideoRecord(ArraySource(frames))], clip_len=T, stride=1)


def _stack(ds, k=None):
    return torch.stack([ds[i]["clip"] for i in range(k or len(ds))])


@pytest.mark.parametrize("name", sorted(method_names()))
def test_every_method_round_trips_save_load_with_identical_scores(name, tmp_path):
    torch.manual_seed(0)
    m = get_method(name, SMOKE)
    if isinstance(m, MemoryBankMixin):  # a memory bank: fitted, not initialised
        model = m.fit(_dataset(12, 1), tmp_path, TrainSettings(), FitHooks(progress=False)).model
    else:
        model = m.build()
    model.eval()
    x = _clips()
    before = score_batch(m, model, x)
    assert (
        isinstance(before, ClipScores)
        and before.names == m.clip_components
        and before.values.shape == (4, len(before.names))
    )
    assert (before.phase is not None) == isinstance(m, WindowScoringMixin)
    m.save(model, tmp_path / "model.pt")
    loaded_method, loaded = load_model_file(tmp_path / "model.pt")  # no params needed: the file describes itself
    assert loaded_method.name == name
    after = score_batch(loaded_method, loaded.eval(), x)
    assert torch.equal(before.values, after.values)
    if before.phase is not None:
        assert torch.equal(before.phase, after.phase)


def test_saving_the_same_model_twice_writes_the_same_bytes(tmp_path):
    """A rerun that refits the same weights must be recognisable as unchanged by the registry's content
    key (registry/idempotency.py): torch would otherwise name the archive after the random temporary file."""
    from ipad_vad.registry.idempotency import content_key

    m = get_method("conv_ae", SMOKE)
    torch.manual_seed(0)
    model = m.build()
    m.save(model, tmp_path / "a" / "model.pt")
    m.save(model, tmp_path / "b" / "model.pt")
    assert (tmp_path / "a/model.pt").read_bytes() == (tmp_path / "b/model.pt").read_bytes()
    assert content_key(tmp_path / "a") == content_key(tmp_path / "b")


def test_a_memory_bank_of_another_size_loads_and_scores(tmp_path):
    knn = get_method("knn", SMOKE)
    sizes = []
    for n in (5, 23):
        bank = _dataset(n, n)
        model = knn.fit(bank, tmp_path, TrainSettings(), FitHooks(progress=False)).model
        knn.save(model, tmp_path / f"bank{n}.pt")
        _, back = load_model_file(tmp_path / f"bank{n}.pt")
        sizes.append(back.bank.shape[0])
        # a clip of the bank is at distance 0 from it; another clip is not
        d = score_batch(knn, back, _stack(bank, 2))["distance"]
        assert torch.allclose(d, torch.zeros(2), atol=1e-5)
        assert (score_batch(knn, back, _clips(2, 99))["distance"] > 0.1).all()
    assert sizes == [5, 23]


def test_knn_descriptor_ignores_a_global_brightness_change_but_sees_a_colour_change(tmp_path):
    knn = get_method("knn", SMOKE)
    data = _dataset(8, 3)
    normal = _stack(data)
    model = knn.fit(data, tmp_path, TrainSettings(), FitHooks(progress=False)).model
    brighter = normal[:2] * 0.8 + 0.15  # gain and offset: lighting drift
    recoloured = normal[:2].clone()
    recoloured[:, 0] = recoloured[:, 0] * 0.2  # the red channel nearly gone: a colour anomaly
    d_light, d_colour = (score_batch(knn, model, v)["distance"] for v in (brighter, recoloured))
    assert (d_light < 1e-4).all() and (d_colour > 0.1).all()


def test_lora_and_pretrained_weights_refuse_models_that_are_not_video_swin(tmp_path):
    from ipad_vad.models.pretrained import load_pretrained
    from ipad_vad.train.lora import SWIN_QV, LoraSettings, add_lora

    conv = get_method("conv_ae", SMOKE).build()  # has an `encoder` attribute, but no attention
    with pytest.raises(ConfigError, match="LoRA needs a Video Swin model.*ConvAE"):
        add_lora(conv, LoraSettings(), SWIN_QV, "conv_ae base")
    with pytest.raises(ConfigError, match="conv_ae.adaptation: 'lora' is not possible"):
        get_method("conv_ae", {**SMOKE, "methods": {**SMOKE["methods"], "conv_ae": {"adaptation": "lora"}}})
    torch.save({"state_dict": {}}, tmp_path / "swin.pth")
    with pytest.raises(ConfigError, match="loads only into a Video Swin encoder, not into Sequential"):
        load_pretrained(conv.encoder, tmp_path / "swin.pth")


@pytest.fixture(scope="module")
def device_project(tmp_path_factory):
    """A smoke dataset (S01 pretrain, R01 device), prepared, with IPAD-VAD and the reference detector
    pretrained, adapted and evaluated by the jobs, in its own working directory and MLflow store."""
    from ipad_vad.data.manifest import build_manifest
    from ipad_vad.data.synth.generator import SynthConfig, generate
    from ipad_vad.io_utils import write_dataframe
    from ipad_vad.jobs.adapt import adapt_to_device
    from ipad_vad.jobs.evaluate import evaluate_scene
    from ipad_vad.jobs.layout import prepared
    from ipad_vad.jobs.pretrain import pretrain
    from ipad_vad.preprocess.cache import cache_scene
    from ipad_vad.preprocess.period import period_scene

    root = tmp_path_factory.mktemp("methods")
    old = os.getcwd()
    os.chdir(root)
    p = json.loads(json.dumps(SMOKE))
    p["pipeline"].update(
        scenes=["S01", "R01"],
        pretrain_scenes=["S01"],
        devices=["R01"],
        methods=["ipad_vad", "knn"],
        promote_methods=["ipad_vad", "knn"],
    )
    generate(root / "data", SynthConfig.from_params(p["synth"], scenes=["S01", "R01"], workers=1))
    manifest = build_manifest(root / "data")
    write_dataframe(p["data"]["manifest"], manifest)
    for s in ("S01", "R01"):
        cache_scene(manifest, s, tuple(p["clip"]["size"]), prepared(p, s, "cache"))
        period_scene(manifest, s, prepared(p, s, "cache"), prepared(p, s, "periods"))
    quiet = FitHooks(progress=False)
    for m in ("ipad_vad", "knn"):
        pretrain(p, m, quiet)
        adapt_to_device(p, m, "R01", quiet)
        evaluate_scene(p, m, "R01", progress=False)
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}")
    env.pop("IPAD_PIPELINE_ID", None)
    yield {"root": root, "params": p, "env": env}
    os.chdir(old)


def _set_auc(p, method, auc):
    from ipad_vad.jobs.layout import eval_dir

    f = eval_dir(p, "R01", method) / "metrics.json"
    m = json.loads(f.read_text())
    m["auc"]["scene_norm"]["score"] = auc
    # both alert a labelled span, so that AUC decides (a silent method goes last: test_promotion_alerts.py)
    m["alerts"]["spans_alerted"] = max(1, m["alerts"]["spans_alerted"])
    f.write_text(json.dumps(m))


def _score(project, tmp_path):
    frames = project["root"] / "data/R01/testing/frames/02"
    r = subprocess.run(
        [str(Path(sys.executable).parent / "ipad"), "score", "--device", "R01", str(frames), "--out", str(tmp_path)],
        cwd=project["root"],
        env=project["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return json.loads((tmp_path / "02.alerts.json").read_text()), r.stdout


@pytest.mark.slow
def test_promotion_picks_the_better_method_records_it_and_ipad_score_uses_either(device_project, tmp_path, monkeypatch):
    from ipad_vad.jobs.promote import promote_device
    from ipad_vad.registry import tracking

    p = device_project["params"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", device_project["env"]["MLFLOW_TRACKING_URI"])
    monkeypatch.delenv("IPAD_PIPELINE_ID", raising=False)
    # acceptance AUCs set by hand, so that each method wins once
    _set_auc(p, "ipad_vad", 0.60)
    _set_auc(p, "knn", 0.90)
    with tracking.run("promote R01", "promote", "R01"):
        first = promote_device(p, "R01")
    assert (
        first["method"] == "knn"
        and first["alias"] == "champion"
        and first["candidates"] == {"ipad_vad": 60.0, "knn": 90.0}
    )
    client = mlflow.MlflowClient()
    assert client.get_model_version("ipad-vad-R01", first["version"]).tags["method"] == "knn"
    summary, out = _score(device_project, tmp_path / "knn")
    assert summary["method"] == "knn" and summary["scored_frames"] > 0 and "Reference (kNN)" in out
    _set_auc(p, "ipad_vad", 0.95)
    with tracking.run("promote R01", "promote", "R01"):
        second = promote_device(p, "R01")
    assert (
        second["method"] == "ipad_vad"
        and second["alias"] == "champion"
        and second["previous_auc"] == pytest.approx(90.0)
    )
    assert client.get_model_version("ipad-vad-R01", second["version"]).tags["method"] == "ipad_vad"
    summary, out = _score(device_project, tmp_path / "ipad")
    assert summary["method"] == "ipad_vad" and "IPAD-VAD" in out
    import pandas as pd

    table = pd.read_csv(tmp_path / "ipad" / "02.scores.csv")
    assert {"recon_error", "period_error", "t_p", "score"} <= set(table.columns)
    _set_auc(p, "ipad_vad", 0.50)  # both worse than the champion: the best of them is only a challenger
    _set_auc(p, "knn", 0.70)
    with tracking.run("promote R01", "promote", "R01"):
        third = promote_device(p, "R01")
    assert third["method"] == "knn" and third["alias"] == "challenger"
    assert str(client.get_model_version_by_alias("ipad-vad-R01", "champion").version) == str(second["version"])


def test_a_retried_promotion_registers_nothing_new_and_keeps_the_champion(device_project, monkeypatch):
    """Issue 16: a retry after the registration succeeded (or a rerun on unchanged models) registered
    the same model again; register + alias is now keyed by the registered files."""
    from ipad_vad.jobs.promote import promote_device
    from ipad_vad.registry import tracking
    from ipad_vad.registry.idempotency import CONTENT_TAG

    p = device_project["params"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", device_project["env"]["MLFLOW_TRACKING_URI"])
    monkeypatch.delenv("IPAD_PIPELINE_ID", raising=False)
    client = mlflow.MlflowClient()
    _set_auc(p, "ipad_vad", 0.95)
    _set_auc(p, "knn", 0.70)
    with tracking.run("promote R01", "promote", "R01"):
        first = promote_device(p, "R01")
    n_versions = len(client.search_model_versions("name='ipad-vad-R01'"))
    for _ in range(2):  # the task retried, then the stage rerun
        with tracking.run("promote R01", "promote", "R01"):
            again = promote_device(p, "R01")
        assert again["version"] == first["version"] and again["alias"] == "champion", again
    assert len(client.search_model_versions("name='ipad-vad-R01'")) == n_versions
    champion = client.get_model_version_by_alias("ipad-vad-R01", "champion")
    assert str(champion.version) == str(first["version"]) and CONTENT_TAG in champion.tags
    assert champion.aliases == ["champion"]  # not also challenger


def test_the_reference_bank_is_dense_within_the_adaptation_share_and_never_sees_calibration_footage(tmp_path):
    from ipad_vad.data.sampling import contiguous_share_ends

    knn = get_method("knn", SMOKE)
    T = SMOKE["clip"]["length"]
    train = _dataset(60, 5)  # one video of 60 + T - 1 frames
    sparse = type(train)(train.videos, clip_len=T, stride=4)  # clips as the trainer sees them
    end = contiguous_share_ends(sparse, 0.2)[0]  # calibration footage starts at this frame
    model = knn.fit(sparse, tmp_path, TrainSettings(fraction=0.2), FitHooks(progress=False)).model
    assert len(model.bank) == end - T + 1  # every clip (stride 1) inside the share
    inside = score_batch(knn, model, _stack(train, end - T + 1))["distance"]
    assert torch.allclose(inside, torch.zeros_like(inside), atol=1e-5)
    first_held_out = train[end]["clip"][None]  # starts where calibration footage starts: not in the bank
    assert score_batch(knn, model, first_held_out)["distance"].item() > 0.1


def test_typed_settings_reject_unknown_keys():
    from ipad_vad.jobs.settings import EvaluateSettings, PipelineSettings

    with pytest.raises(
        ConfigError,
        match=r"evaluate\.windw: unknown key; known here: \['batch_size', 'fusion', 'period_anchor', 'period_weight', 'window'\]",
    ):
        EvaluateSettings.from_params({"evaluate": {"windw": 3}})
    with pytest.raises(ConfigError, match=r"evaluate\.window: the sliding window is centred .* must be odd, got 4"):
        EvaluateSettings.from_params({"evaluate": {"window": 4}})
    bad = {**SMOKE["pipeline"], "promote_methods": ["knn", "v_swin_ae"]}
    with pytest.raises(ConfigError, match=r"promote_methods \['v_swin_ae'\] are not in pipeline.methods"):
        PipelineSettings.from_params({"pipeline": bad})
    with pytest.raises(ConfigError, match="pipeline.methods: unknown method 'nope'"):
        PipelineSettings.from_params({"pipeline": {**SMOKE["pipeline"], "methods": ["nope"]}})
    # issue 29: an AUC in percent, as everywhere it is shown; a fraction (the old unit) is named, not taken as 0.7 %
    assert (
        PipelineSettings.from_params({"pipeline": {**SMOKE["pipeline"], "promote_min_auc": 70}}).promote_min_auc == 70
    )
    with pytest.raises(ConfigError, match=r"pipeline.promote_min_auc: an AUC in percent, got 0.7 \(write 70 for"):
        PipelineSettings.from_params({"pipeline": {**SMOKE["pipeline"], "promote_min_auc": 0.7}})
    with pytest.raises(ConfigError, match=r"pipeline.promote_min_auc: an AUC in percent lies in \[0, 100\], got 700"):
        PipelineSettings.from_params({"pipeline": {**SMOKE["pipeline"], "promote_min_auc": 700}})


def test_the_reference_detector_rejects_cells_that_do_not_divide_its_descriptor():
    cfg = {**SMOKE["methods"]["knn"], "size": [32, 32], "cell": 5}
    with pytest.raises(ValueError, match="cell=5 must divide the frame size 32x32"):
        get_method("knn", {**SMOKE, "methods": {**SMOKE["methods"], "knn": cfg}}).build()


def test_the_reference_detector_forgets_one_recording_and_only_that_one(tmp_path):
    from ipad_vad.data.clip_dataset import ClipDataset

    knn = get_method("knn", SMOKE)
    a, b = _dataset(8, 1), _dataset(8, 2)
    both = ClipDataset(a.videos + b.videos, clip_len=a.clip_len, stride=1)
    model = knn.fit(both, tmp_path, TrainSettings(), FitHooks(progress=False)).model
    assert model.bank_recording.tolist() == [0] * 8 + [1] * 8
    clips_a = _stack(a)
    assert torch.allclose(score_batch(knn, model, clips_a)["distance"], torch.zeros(8), atol=1e-5)  # in the bank
    without_a = knn.heldout_model(model, 0)
    assert len(without_a.bank) == 8 and without_a.bank_recording.tolist() == [1] * 8 and len(model.bank) == 16
    assert (score_batch(knn, without_a, clips_a)["distance"] > 0.1).all()  # recording 0 is new to it
    without_b = knn.heldout_model(model, 1)
    assert torch.allclose(score_batch(knn, without_b, clips_a)["distance"], torch.zeros(8), atol=1e-5)
    # a bank of unknown provenance (saved before it was kept) cannot leave a recording out
    state = {k: v for k, v in model.state_dict().items() if k != "bank_recording"}
    old = knn.from_state(state)
    assert (old.bank_recording == -1).all() and knn.heldout_model(old, 0) is None
    assert knn.adapt_fraction(0.2, 1) == 0.2  # one recording: nothing to leave out, the share as every method
    assert knn.adapt_fraction(0.2, 2) == (1.0 if SMOKE["methods"]["knn"]["bank_footage"] == "all" else 0.2)


def _knn_device(tmp_path, p: dict) -> tuple:
    """The reference detector fitted on generated R01 and adapted to it by the pipeline's jobs; the
    arguments of ``jobs/calibrate.calibrate`` for it."""
    from ipad_vad.data.manifest import build_manifest
    from ipad_vad.data.synth.generator import SynthConfig, generate
    from ipad_vad.jobs.adapt import adapt_to_device
    from ipad_vad.jobs.data import DataSource
    from ipad_vad.jobs.layout import base_dir, prepared
    from ipad_vad.jobs.pretrain import fit_method
    from ipad_vad.jobs.settings import AdaptSettings, AlertSettings
    from ipad_vad.methods.abilities import score_context
    from ipad_vad.methods.adaptation import load_adapted
    from ipad_vad.preprocess.cache import cache_scene
    from ipad_vad.preprocess.period import period_scene

    generate(tmp_path / "data", SynthConfig.from_params(p["synth"], scenes=["R01"], workers=1))
    manifest = build_manifest(tmp_path / "data")
    cache_scene(manifest, "R01", tuple(p["clip"]["size"]), prepared(p, "R01", "cache"))
    period_scene(manifest, "R01", prepared(p, "R01", "cache"), prepared(p, "R01", "periods"))
    fit_method(p, "knn", manifest, ["R01"], base_dir(p, "knn"), DataSource.PREPARED, FitHooks(progress=False))
    info = adapt_to_device(
        p,
        "knn",
        "R01",
        FitHooks(progress=False),
        manifest=manifest,
        base_path=base_dir(p, "knn") / "model.pt",
        out_dir=tmp_path / "knn",
        source=DataSource.PREPARED,
    )
    method, model = load_adapted(tmp_path / "knn")
    args = (
        p,
        method,
        model,
        manifest,
        "R01",
        score_context(method, None),
        DataSource.PREPARED,
        AdaptSettings.from_params(p),
        AlertSettings.from_params(p),
    )
    return info, args


def test_a_bank_of_all_footage_is_calibrated_leaving_one_recording_out(tmp_path, monkeypatch):
    """With ``bank_footage: all`` the device bank holds every training recording; its threshold comes
    from each recording scored against the others. Calibrated on the footage the bank holds instead,
    every clip finds itself and the threshold collapses."""
    from ipad_vad.data.clip_dataset import ClipDataset
    from ipad_vad.evaluate.scoring import score_clips
    from ipad_vad.jobs.calibrate import calibrate
    from ipad_vad.jobs.data import DataSource, clip_dataset

    monkeypatch.chdir(tmp_path)
    p = json.loads(json.dumps(SMOKE))
    p["synth"]["train_videos"] = n_recordings = 3
    p["synth"]["calibration_minutes"] = 0  # no calibration footage: the held-out threshold is the one shipped
    p["methods"]["knn"]["bank_footage"] = "all"
    info, args = _knn_device(tmp_path, p)
    assert info["fraction"] == 1.0
    method, model, manifest = args[1], args[2], args[3]
    assert set(model.bank_recording.tolist()) == set(range(n_recordings))
    left_out = calibrate(*args)
    assert "leave one recording out" in left_out.source and f"all {n_recordings} training recordings" in left_out.source
    method.heldout_model = lambda model, recording: None  # a method that cannot forget: its own footage
    seen = calibrate(*args)
    assert "optimistic" in seen.source
    # a new all-normal recording (test video 01) against each threshold
    test = clip_dataset(p, manifest, "testing", ["R01"], DataSource.PREPARED, stride=1)
    new = score_clips(method, model, ClipDataset(test.videos[:1], clip_len=test.clip_len, stride=1))
    assert (new.label == 0).all()
    above = {k: float((c.score(new) > c.threshold).mean()) for k, c in (("left_out", left_out), ("seen", seen))}
    # measured 0.46 and 0.0 (0.77 and 0.0 with the whole bank's candidates, the default until 2026-12-03)
    assert above["seen"] > 0.3 and above["left_out"] < 0.2, above


def test_calibration_footage_sets_the_threshold_on_its_tail(tmp_path, monkeypatch):
    """A device with recordings in its ``calibration`` split (issue 26, 3): its threshold is set on
    them, scored by the model that never saw them — the lowest at which the alert logic raises at most
    ``alert.alerts_per_hour`` alerts per nominal hour of them — never below the held-out one, which
    the calibration keeps (``heldout_calibration``) and which is what the device gets without them.
    Calibration footage whose frame rate is unknown is refused, naming it."""
    from ipad_vad.alerts.alert_tracker import find_alerts
    from ipad_vad.alerts.calibration import heldout_calibration
    from ipad_vad.errors import DataError
    from ipad_vad.evaluate.scoring import score_clips
    from ipad_vad.jobs.calibrate import calibrate, frames_in_order
    from ipad_vad.jobs.data import DataSource, clip_dataset

    monkeypatch.chdir(tmp_path)
    p = json.loads(json.dumps(SMOKE))
    p["synth"]["train_videos"] = 2
    p["synth"]["calibration_minutes"] = 6
    p["methods"]["knn"]["bank_footage"] = "all"
    p["alert"]["false_alarm_rate"] = 0.3  # a held-out threshold the calibration footage's evidence rises above
    _, args = _knn_device(tmp_path, p)
    method, model, manifest = args[1], args[2], args[3]
    rows = manifest[manifest.split == "calibration"]
    assert len(rows) == 1 and int(rows.n_frames.iloc[0]) == 6 * 60 * p["synth"]["fps"]
    cal = calibrate(*args)
    without = calibrate(*args[:3], manifest[manifest.split != "calibration"], *args[4:])
    assert "1 calibration recording(s) of R01, 0.10 nominal h" in cal.source
    assert heldout_calibration(cal).to_dict() == without.to_dict()
    assert cal.threshold > without.threshold and cal.release == cal.threshold - args[-1].release_margin
    # the threshold holds on the footage it was set on: at most 0.5 alerts/h x 0.1 h -> none
    ds = clip_dataset(p, manifest, "calibration", ["R01"], DataSource.PREPARED, stride=1)
    df = score_clips(method, model, ds)
    s = cal.score(frames_in_order(df, [len(v.source) for v in ds.videos], cal.components, 9))
    idx = np.flatnonzero(~np.isnan(s))
    assert find_alerts(idx, s[idx], cal.threshold, cal.min_frames, cal.merge_gap, cal.release) == []
    assert cal.extra["shift_calibration"]["alerts_on_footage"] == 0
    # ... and the lowest such threshold: a hair lower, the footage's highest evidence alerts
    lower = cal.threshold - 1e-6
    assert find_alerts(idx, s[idx], lower, cal.min_frames, cal.merge_gap, lower - args[-1].release_margin)
    bad = manifest.copy()
    bad.loc[bad.split == "calibration", "fps"] = float("nan")
    with pytest.raises(DataError, match="calibration footage without a frame rate") as err:
        calibrate(*args[:3], bad, *args[4:])
    assert str(rows.frames_dir.iloc[0]) in str(err.value)


def test_a_method_adapted_on_all_footage_is_calibrated_on_the_calibration_recordings(tmp_path, monkeypatch):
    """``adapt_footage: all``: on a device with calibration recordings the adaptation reads all of its
    training footage, and the components' map as well as the threshold come from the calibration
    recordings, which no model trained on (their mean, by hand), even for a bank that could leave one
    training recording out; without them the ``adapt.fraction`` share is read, the rest of the training
    footage calibrating, as for every method."""
    from ipad_vad.evaluate.scoring import score_clips
    from ipad_vad.jobs.calibrate import calibrate
    from ipad_vad.jobs.data import DataSource, clip_dataset
    from ipad_vad.methods.abilities import adapt_fraction

    monkeypatch.chdir(tmp_path)
    p = json.loads(json.dumps(SMOKE))
    p["synth"]["train_videos"] = 2
    p["synth"]["calibration_minutes"] = 2
    p["methods"]["knn"]["bank_footage"] = "adapt"
    p["methods"]["knn"]["adapt_footage"] = "all"
    info, args = _knn_device(tmp_path, p)
    method, model, manifest = args[1], args[2], args[3]
    assert info["fraction"] == 1.0
    assert adapt_fraction(method, 0.2, 2, n_calibration=0) == 0.2  # nothing to calibrate on: the share
    cal = calibrate(*args)  # a bank that could leave a recording out: the calibration recordings still win
    shift = cal.extra["shift_calibration"]  # the threshold set on the same recordings' tail ...
    assert "1 calibration recording(s) of R01 (adapted on all of its training footage)" in shift["base_source"]
    ds = clip_dataset(p, manifest, "calibration", ["R01"], DataSource.PREPARED, stride=1)
    by_hand = score_clips(method, model, ds)  # ... and the map of the components on them too
    assert shift["base_n_frames"] == len(by_hand) and cal.means[0] == pytest.approx(by_hand.distance.mean(), rel=1e-6)


def test_held_out_calibration_leaves_out_the_recordings_of_marked_false_alarms(tmp_path, monkeypatch):
    """Operator feedback (issue 26, 5): a training recording made from a marked false alarm (manifest
    origin ``false_alarm``) is not scored by the leave-one-recording-out calibration — chosen for scoring
    high, it would draw the threshold up — while the others are, each exactly as before; off with
    ``alert.heldout_skips_marked: false``, and never when it would leave no recording."""
    from ipad_vad.data.clip_dataset import ClipDataset
    from ipad_vad.evaluate.scoring import ClipScorer
    from ipad_vad.jobs.calibrate import calibrate, leave_one_recording_out, marked_false_alarms
    from ipad_vad.jobs.data import DataSource

    monkeypatch.chdir(tmp_path)
    p = json.loads(json.dumps(SMOKE))
    p["synth"]["train_videos"] = 3
    p["synth"]["calibration_minutes"] = 0  # the held-out threshold is the one shipped
    p["methods"]["knn"]["bank_footage"] = "all"
    _, args = _knn_device(tmp_path, p)
    method, model, manifest, alert = args[1], args[2], args[3], args[-1]
    train = (manifest.split == "training") & (manifest.scene == "R01")
    assert sorted(manifest.video[train]) == ["01", "02", "03"] and set(manifest.origin) == {""}
    marked = manifest.copy()
    marked.loc[train & (marked.video == "02"), "origin"] = "false_alarm"
    assert marked_false_alarms(marked, "R01") == {"02"} and marked_false_alarms(manifest, "R01") == set()
    everything = marked.copy()
    everything.loc[train, "origin"] = "false_alarm"
    assert marked_false_alarms(everything, "R01") == set()  # all of it marked: nothing left out
    assert marked_false_alarms(manifest.drop(columns="origin"), "R01") == set()  # a manifest before the column

    cal = calibrate(*args)
    skipped = calibrate(*args[:3], marked, *args[4:])
    assert "all 3 training recordings" in cal.source and "left out" not in cal.source
    assert (
        "2 training recordings" in skipped.source and "1 recording(s) of marked false alarms left out" in skipped.source
    )
    score = ClipScorer(method, 8, "cpu", False)
    full, _, _ = leave_one_recording_out(p, score, model, manifest, "R01", DataSource.PREPARED)
    kept, ds, _ = leave_one_recording_out(p, score, model, manifest, "R01", DataSource.PREPARED, skip=frozenset({"02"}))
    n02 = len(ClipDataset([ds.videos[1]], clip_len=ds.clip_len, stride=1))
    assert n02 > 0 and set(kept.video_index) == {0, 2} and len(kept) == len(full) - n02
    for vi in (0, 2):  # the others scored as before: the marked recording stays in their models
        a, b = full[full.video_index == vi], kept[kept.video_index == vi]
        np.testing.assert_array_equal(
            a.drop(columns="video_index").to_numpy(), b.drop(columns="video_index").to_numpy()
        )
    assert skipped.n_frames == cal.n_frames - n02 and skipped.means != cal.means
    off = alert.model_copy(update={"heldout_skips_marked": False})
    assert calibrate(*args[:3], marked, *args[4:-1], off).to_dict() == cal.to_dict()

    # the bank knows which of its clips the operator marked (``tolerate_marked``): those of recording 02
    from ipad_vad.jobs.adapt import adapt_to_device
    from ipad_vad.jobs.layout import base_dir
    from ipad_vad.methods.adaptation import load_adapted

    kw = {"manifest": marked, "base_path": base_dir(p, "knn") / "model.pt", "source": DataSource.PREPARED}
    adapt_to_device(p, "knn", "R01", FitHooks(progress=False), out_dir=tmp_path / "marked", **kw)
    bank = load_adapted(tmp_path / "marked")[1]
    assert bank.bank_marked.any() and torch.equal(bank.bank_marked, bank.bank_recording == 1)
    assert not model.bank_marked.any()
    # only the clips centred on the alert's own frames when the export recorded them (the context
    # around them is footage as any)
    marked.loc[train & (marked.video == "02"), "origin_frames"] = "20-40"
    adapt_to_device(
        p, "knn", "R01", FitHooks(progress=False), out_dir=tmp_path / "frames", **{**kw, "manifest": marked}
    )
    bank = load_adapted(tmp_path / "frames")[1]
    judged = (bank.bank_recording == 1) & (bank.bank_frame >= 20) & (bank.bank_frame <= 40)
    assert 0 < int(judged.sum()) < int((bank.bank_recording == 1).sum()) and torch.equal(bank.bank_marked, judged)
    # or those that hold one of its frames, or the whole recording, by methods.knn.tolerate_frames
    T, first = int(p["clip"]["length"]), bank.bank_frame - int(p["clip"]["length"]) // 2
    holding = (bank.bank_recording == 1) & (first <= 40) & (first + T - 1 >= 20)
    for scope, want in (("alert_clips", holding), ("recording", bank.bank_recording == 1)):
        q = json.loads(json.dumps(p))
        q["methods"]["knn"]["tolerate_frames"] = scope
        out = tmp_path / scope
        adapt_to_device(q, "knn", "R01", FitHooks(progress=False), out_dir=out, **{**kw, "manifest": marked})
        assert torch.equal(load_adapted(out)[1].bank_marked, want)
    assert int(judged.sum()) < int(holding.sum()) < int((bank.bank_recording == 1).sum())


def test_frames_in_order_places_clip_values_at_their_centres_with_a_gap_between_recordings():
    import pandas as pd

    from ipad_vad.jobs.calibrate import frames_in_order

    df = pd.DataFrame({"video_index": [0, 0, 1], "center": [1, 2, 0], "d": [5.0, 6.0, 7.0]})
    out = frames_in_order(df, [4, 2], ("d",), gap=3)["d"]
    assert out.shape == (4 + 3 + 2 + 3,)
    np.testing.assert_array_equal(np.flatnonzero(~np.isnan(out)), [1, 2, 7])
    np.testing.assert_array_equal(out[[1, 2, 7]], [5.0, 6.0, 7.0])
