import numpy as np
import pandas as pd
import pytest

from ipad_vad.config import load_params
from ipad_vad.evaluate.fusion import MAD_TO_SD, SCALE_FLOOR, normal_scale
from ipad_vad.evaluate.metrics import add_scores, scene_metrics
from ipad_vad.evaluate.protocols import frame_auc, official_auc, per_type_auc, scene_auc
from ipad_vad.methods import get_method
from ipad_vad.models.sliding_window import circular_distance, expected_step, period_error

# two test videos of 20 frames, 16-frame clips: centres 8..12 -> labels[8:len-7], 5 per video
LABELS = [np.array([0] * 10 + [1, 1] + [0] * 8), np.array([0] * 8 + [1] + [0] * 11)]
PSNR = [np.array([30, 29, 20, 22, 31.0]), np.array([29.5, 28, 30, 32, 27.0])]


def test_official_evaluate_auc_on_fixed_arrays():
    # by hand: normal-frame PSNRs {30,29,31,28,30,32,27}, anomalous {20,22,29.5};
    # pairs (normal > anomalous): 7 + 7 + 4 (30,31,30,32 beat 29.5) = 18 of 21
    assert official_auc(PSNR, LABELS, clip_len=16) == pytest.approx(18 / 21)
    centre = [lab[8:13] for lab in LABELS]
    # the project's path (anomaly score = -PSNR, scene-normalised) gives the same number
    assert scene_auc(centre, [-p for p in PSNR], "scene") == pytest.approx(18 / 21)


def test_video_norm_differs_from_scene_norm_on_an_all_normal_hard_video():
    labels = [np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0])]
    err = [np.array([1.0, 1.0, 5.0, 5.0]), np.array([3.0, 3.5, 4.0, 4.5])]  # video 2: normal but noisy
    assert scene_auc(labels, err, "scene") == pytest.approx(1.0)
    # per-video min-max stretches the all-normal video to [0, 1]: its 4.5 frame reaches 1.0 = the anomalies
    assert scene_auc(labels, err, "video") == pytest.approx(1 - 0.5 * 2 / 12)


def test_per_type_auc_and_single_class():
    labels = np.array([0, 0, 0, 1, 1, 1])
    types = np.array([0, 0, 0, 5, 5, 7])
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.25, 0.05])
    out = per_type_auc(labels, types, scores, {5: "pause", 7: "order"})
    assert out["pause"] == pytest.approx((3 + 2) / 6) and out["order"] == pytest.approx(0.0)
    assert np.isnan(frame_auc(np.zeros(3), np.ones(3)))


@pytest.mark.parametrize("anchor", ["centre", "window"])
def test_period_error_is_zero_for_a_normal_cycle_with_wrap_around(anchor):
    t_p = (190 + np.arange(60)) % 200  # crosses 199 -> 0
    assert np.allclose(period_error(t_p, 200, window=5, anchor=anchor), 0, atol=1e-9)
    t3 = (150 + 3 * np.arange(60)) % 200
    assert np.allclose(period_error(t3, 200, 9, step=expected_step(200, 1, 200 / 3), anchor=anchor), 0, atol=1e-9)
    assert circular_distance(199, 0, 200) == 1


def test_the_window_anchor_does_not_carry_one_slipped_clip_into_every_term():
    """Eq. 8 draws the reference through t_p^t, so a clip whose head slipped by 27 classes is off in
    four of its five terms; the reference fitted to the window (its offset: the circular mean of
    t_p^{t+i} - i) is off by a fifth of the slip, and the slipped term carries the rest."""
    t_p = np.arange(40.0)
    t_p[20] += 27
    centre = period_error(t_p, 200, 5, anchor="centre")
    window = period_error(t_p, 200, 5, anchor="window")
    assert centre[20] == pytest.approx(4 * 27 / 5)
    angle = 2 * np.pi * np.array([0, 0, 27, 0, 0]) / 200
    c = np.arctan2(np.sin(angle).mean(), np.cos(angle).mean()) * 200 / (2 * np.pi)  # about 27 / 5
    assert window[20] == pytest.approx((4 * c + (27 - c)) / 5)
    assert window.max() < centre.max() / 2
    assert centre[17] == window[17] == 0  # clips whose window misses the slip
    paused = np.concatenate([np.arange(20), np.full(10, 20), np.arange(21, 51)])
    assert period_error(paused, 200, 5, anchor="window")[22:28].min() > 1  # a stuck machine still stands out
    with pytest.raises(ValueError, match="anchor"):
        period_error(t_p, 200, 5, anchor="median")


def test_period_error_is_large_for_shuffled_or_paused_sequences():
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(200)[:60]
    assert period_error(shuffled, 200).mean() > 20
    paused = np.concatenate([np.arange(20), np.full(10, 20), np.arange(21, 51)])
    ep = period_error(paused, 200)
    assert ep[:15].max() == 0 and ep[22:28].min() > 1  # the stuck window stands out
    with pytest.raises(ValueError):
        period_error(paused, 200, window=4)


def test_train_adapt_evaluate_on_generated_footage(tmp_path):
    """The jobs end to end at smoke size on the frame folders: pretrain on S01, LoRA on R01, evaluate R01."""
    from ipad_vad.config import load_params
    from ipad_vad.data.manifest import build_manifest
    from ipad_vad.data.synth.generator import SynthConfig, generate
    from ipad_vad.jobs.adapt import adapt_to_device
    from ipad_vad.jobs.data import DataSource
    from ipad_vad.jobs.evaluate import evaluate
    from ipad_vad.jobs.pretrain import fit_method
    from ipad_vad.methods import FitHooks, get_method, load_model_file
    from ipad_vad.methods.adaptation import load_adapted

    params = load_params("params.yaml", "smoke")
    params["methods"]["ipad_vad"]["period"].update(fit_steps=5)  # the head fitted alone after each fit (issue 25)
    generate(tmp_path / "ipad", SynthConfig.from_params(params["synth"], scenes=["S01", "R01"], workers=1))
    m = build_manifest(tmp_path / "ipad")
    quiet = FitHooks(progress=False)
    res = fit_method(params, "ipad_vad", m, ["S01"], tmp_path / "base", DataSource.FRAMES, quiet)
    assert (tmp_path / "base/model.pt").is_file() and len(res["history"]) == params["train"]["epochs"]
    method, _ = load_model_file(tmp_path / "base/model.pt")
    assert method.name == "ipad_vad"
    meta = adapt_to_device(
        params,
        "ipad_vad",
        "R01",
        quiet,
        manifest=m,
        base_path=tmp_path / "base/model.pt",
        out_dir=tmp_path / "R01",
        source=DataSource.FRAMES,
    )
    assert meta["adaptation"] == "lora" and meta["trainable"]["share"] < 0.5 and meta["clips_used"] > 0
    assert res["period_head"]["steps"] == meta["period_head"]["steps"] == 5  # through LoRA's copy of the head
    assert meta["period_head"]["clips"] >= meta["clips_used"]  # a clip every frame of the same share
    _, tuned = load_adapted(tmp_path / "R01")
    scores, metrics, ctx = evaluate(
        params, get_method("ipad_vad", params), tuned, m, "R01", DataSource.FRAMES, progress=False
    )
    assert set(metrics) >= {"scene", "auc", "auc_per_type", "context", "weights"}
    assert set(metrics["auc"]["scene_norm"]) == {"score", "recon_error", "period_error"}
    assert all(0 <= v <= 1 for p in metrics["auc"].values() for v in p.values())
    assert set(metrics["auc_per_type"]) <= {"color", "shape", "shift", "tilt", "pause", "speed", "missing_part"}
    assert len(scores) == metrics["n_clips"]
    assert ctx.period_step == pytest.approx(200 / 10, rel=0.2)  # 5 s cycles at 2 fps = 10 frames


def test_a_stale_prepared_cache_is_an_error_not_silently_used(tmp_path):
    from ipad_vad.config import load_params
    from ipad_vad.data.manifest import build_manifest
    from ipad_vad.data.synth.generator import SynthConfig, generate
    from ipad_vad.errors import DataError
    from ipad_vad.jobs.data import DataSource, clip_dataset
    from ipad_vad.preprocess.cache import cache_scene

    params = load_params("params.yaml", "smoke")
    params["pipeline"]["prepared_root"] = str(tmp_path / "prepared")
    generate(tmp_path / "a", SynthConfig.from_params(params["synth"], scenes=["R01"], workers=1))
    generate(tmp_path / "b", SynthConfig.from_params(params["synth"], scenes=["R01"], seed=5, workers=1))
    from ipad_vad.preprocess.period import period_scene

    root = tmp_path / "prepared/devices"
    cache_scene(build_manifest(tmp_path / "a"), "R01", (32, 32), root / "cache")
    period_scene(
        build_manifest(tmp_path / "a"),
        "R01",
        root / "cache",
        root / "periods",
        root / "flow",
        "appearance",
        8,
        400,
        True,
    )
    prepared = DataSource.PREPARED
    assert len(clip_dataset(params, build_manifest(tmp_path / "a"), "testing", ["R01"], prepared)) > 0
    with pytest.raises(DataError, match="does not match the manifest"):
        clip_dataset(params, build_manifest(tmp_path / "b"), "testing", ["R01"], prepared)
    with pytest.raises(
        DataError, match="no prepared data for scene S01"
    ):  # asked for prepared data: never a silent fallback
        clip_dataset(
            {**params, "pipeline": {**params["pipeline"], "pretrain_scenes": ["S01"]}},
            build_manifest(tmp_path / "a").assign(scene="S01"),
            "testing",
            ["S01"],
            prepared,
        )


def test_normal_scale_is_the_median_and_mad_of_normal_footage():
    # by hand: median 3, |x - 3| = (2, 1, 0, 1, 97) -> MAD 1; the spike moves neither (a std would be 39)
    s = normal_scale({"a": np.array([1.0, 2, 3, 4, 100, np.nan]), "b": np.full(4, 2.0)}, ("a", "b"))
    assert s.centre == {"a": 3.0, "b": 2.0} and s.n_clips == 5
    assert s.scale["a"] == pytest.approx(MAD_TO_SD) and s.scale["b"] == SCALE_FLOOR  # constant: floored
    assert np.allclose(s.standardise("a", [3.0, 3 + MAD_TO_SD]), [0.0, 1.0])


def test_fusion_on_the_normal_scale_weighs_the_component_that_is_quiet_on_normal_footage():
    """Component b moves only on the anomaly but has one normal spike in the test scene, which squeezes
    its min-max range; a is noise on every frame. Min-max fusion lets a's noise drown b; on the scale of
    normal footage b's anomaly stands many MADs out. Each component's own AUC is the same either way."""
    rng = np.random.default_rng(0)
    method = get_method("ipad_vad", load_params("params.yaml", "smoke"))  # recon 0.5, period error 0.5
    n = 400
    label = np.zeros(n, int)
    label[100:140] = 1
    a = rng.normal(0, 1, n)
    b = rng.normal(0, 0.1, n) + 1.0 * label
    b[300] = 20.0  # a normal spike (a head that slipped once)
    df = pd.DataFrame(
        {"video_index": np.repeat([0, 1], n // 2), "label": label, "type": label, "recon_error": a, "period_error": b}
    )
    normal = {"recon_error": rng.normal(0, 1, 500), "period_error": rng.normal(0, 0.1, 500)}
    scale = normal_scale(normal, method.active_components())
    plain, fused = scene_metrics(df, method, {}), scene_metrics(df, method, {}, scale)
    assert fused["auc"]["scene_norm"]["score"] > 0.95 > plain["auc"]["scene_norm"]["score"] + 0.1
    for c in ("recon_error", "period_error"):
        assert fused["auc"]["scene_norm"][c] == plain["auc"]["scene_norm"][c]
    # the combined score is min-max normalised over the scene as before: it spans [0, 1]
    s = add_scores(df, method, "scene", scale).score
    assert s.min() == 0 and s.max() == pytest.approx(1.0)
