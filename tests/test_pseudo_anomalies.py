"""Pseudo-anomalies (seed 002): each generator changes only its region and is deterministic per seed;
an AE trained with spatial PAs no longer reconstructs them (the effect the paper relies on); the
unified method's indicators normalised and aggregated by hand; the settings checked."""

import json

import numpy as np
import pytest
import torch

from ipad_vad.config import load_params
from ipad_vad.errors import ConfigError
from ipad_vad.methods import FitHooks, get_method, load_model_file
from ipad_vad.preprocess.optical_flow import clip_flow
from ipad_vad.pseudo.inpainters import get_inpainter
from ipad_vad.pseudo.masks import moving_pixels, pa_mask
from ipad_vad.pseudo.mixing import NORMAL, ORDER, SPATIAL, PseudoAnomalyMixer
from ipad_vad.pseudo.settings import PseudoMix, PseudoSettings
from ipad_vad.pseudo.spatial import spatial_pa
from ipad_vad.pseudo.temporal import flow_mixup, frame_order_pa, order_indices

SMOKE = load_params("params.yaml", "smoke")


def moving_square_clip(t=8, size=32, seed=0) -> np.ndarray:
    """A textured background with a bright square moving right one pixel per frame (T, H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(40, 90, (size, size, 3), dtype=np.uint8)
    frames = np.repeat(bg[None], t, 0)
    for i in range(t):
        frames[i, 10:18, 4 + i : 12 + i] = (230, 200, 40)
    return frames


@pytest.mark.parametrize("inpainter", ["opencv", "patch"])
@pytest.mark.parametrize("mask", ["random", "motion", "mixed"])
def test_a_spatial_pa_changes_only_its_mask_and_is_deterministic(inpainter, mask):
    s = PseudoSettings(inpainter=inpainter, mask=mask)
    frames, donor = moving_square_clip(), moving_square_clip(seed=1)
    a, ma = spatial_pa(frames, np.random.default_rng(3), s, get_inpainter(s), donor)
    b, mb = spatial_pa(frames, np.random.default_rng(3), s, get_inpainter(s), donor)
    assert np.array_equal(a, b) and np.array_equal(ma, mb)  # same seed, same PA
    assert a.shape == frames.shape and a.dtype == np.uint8 and ma.shape == frames.shape[:3]
    assert np.array_equal(a[~ma], frames[~ma])  # bit-exact outside the mask
    assert ma.any() and (a[ma] != frames[ma]).any()  # and something changed inside it
    c, mc = spatial_pa(frames, np.random.default_rng(4), s, get_inpainter(s), donor)
    assert not (np.array_equal(mc, ma) and np.array_equal(c, a))  # another seed, another PA


def test_the_motion_mask_follows_the_moving_part_frame_by_frame():
    s = PseudoSettings(mask="motion", motion_box=0.6)
    frames = moving_square_clip()
    mask = pa_mask(frames, np.random.default_rng(0), s)
    moving = moving_pixels(frames, s.motion_threshold)
    assert mask.any(axis=(1, 2)).all()
    import cv2

    for t in range(len(frames)):  # where frame t differs from the clip's median (the part, and where it is absent)
        near = cv2.dilate(moving[t].astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert not (mask[t] & ~near).any()
        ys = np.nonzero(mask[t])[0]
        assert ys.min() >= 9 and ys.max() <= 18  # the square's rows (and its 1-pixel outline), nothing else
    assert not np.array_equal(mask[0], mask[-1])  # it follows the part
    still = np.repeat(frames[:1], 8, 0)  # nothing moves: a random mask, the same region in every frame
    m = pa_mask(still, np.random.default_rng(0), s)
    assert m.any() and all(np.array_equal(m[0], f) for f in m)


def test_flow_mixup_changes_only_its_box_and_mixes_two_patches():
    s = PseudoSettings()
    rng = np.random.default_rng(0)
    flow = rng.normal(size=(7, 16, 16, 2)).astype(np.float32)
    a, box = flow_mixup(flow, np.random.default_rng(5), s)
    b, box2 = flow_mixup(flow, np.random.default_rng(5), s)
    assert np.array_equal(a, b) and np.array_equal(box, box2) and a.dtype == flow.dtype and a.shape == flow.shape
    assert np.array_equal(a[:, ~box], flow[:, ~box]) and not np.array_equal(a[:, box], flow[:, box])
    ys, xs = np.nonzero(box)
    h, w = np.ptp(ys) + 1, np.ptp(xs) + 1
    assert box.sum() == h * w  # a rectangle
    # p^ = lam p' + (1 - lam) p'_r for one lam and one place r, in every field
    p = flow[:, ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    mixed = a[:, ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    found = False
    for ry in range(16 - h + 1):
        for rx in range(16 - w + 1):
            r = flow[:, ry : ry + h, rx : rx + w]
            d = (p - r).ravel()
            if np.abs(d).max() == 0:
                continue
            lam = float(((mixed - r).ravel() @ d) / (d @ d))
            found |= bool(np.allclose(lam * p + (1 - lam) * r, mixed, atol=1e-5))
    assert found


def test_frame_order_pas_by_hand():
    assert order_indices(8, "skip", 2).tolist() == [0, 0, 0, 2, 4, 6, 7, 7]
    assert order_indices(8, "repeat", 2).tolist() == [2, 2, 3, 3, 4, 4, 5, 5]
    assert order_indices(8, "reverse", 2).tolist() == [7, 7, 6, 5, 4, 3, 2, 1]
    for kind in ("skip", "repeat", "reverse"):
        assert order_indices(16, kind, 3)[8] == 8  # the scored centre frame stays in place
    s = PseudoSettings(order=("skip",), max_stride=3)
    kinds = {frame_order_pa(16, np.random.default_rng(i), s)[1][-1] for i in range(20)}
    assert (
        kinds <= {15}
        and frame_order_pa(16, np.random.default_rng(1), s)[1].tolist()
        == frame_order_pa(16, np.random.default_rng(1), s)[1].tolist()
    )


def test_the_batch_mixer_keeps_unmasked_pixels_exact_and_draws_per_seed():
    s = PseudoSettings()
    mixer = PseudoAnomalyMixer(s, PseudoMix(spatial=0.5, order=0.3))
    clips = torch.stack(
        [torch.from_numpy(moving_square_clip(seed=i)).permute(3, 0, 1, 2).float() / 127.5 - 1 for i in range(16)]
    )
    a, kinds = mixer.frames(clips, np.random.default_rng(0))
    b, kinds_b = mixer.frames(clips, np.random.default_rng(0))
    assert torch.equal(a, b) and np.array_equal(kinds, kinds_b)
    assert set(kinds) == {NORMAL, SPATIAL, ORDER}
    for i in np.flatnonzero(kinds == NORMAL):
        assert torch.equal(a[i], clips[i])
    for i in np.flatnonzero(kinds == SPATIAL):  # only whole pixels changed, the others exact
        changed = (a[i] != clips[i]).any(0)
        assert changed.any() and torch.equal(a[i][:, ~changed], clips[i][:, ~changed])
    for i in np.flatnonzero(kinds == ORDER):  # every frame is a frame of the clip
        assert all(any(torch.equal(a[i][:, t], clips[i][:, u]) for u in range(8)) for t in range(8))


def test_clip_flow_sees_the_square_move_right():
    flow = clip_flow(moving_square_clip(size=32), "dis", (32, 32))
    assert flow.shape == (7, 32, 32, 2)
    assert flow[:, 10:18, 6:14, 0].mean() > 0.3 and abs(flow[:, 10:18, 6:14, 1].mean()) < 0.3


def _with(p: dict, method: str, **cfg) -> dict:
    p = json.loads(json.dumps(p))
    p["methods"][method] = {**(p["methods"].get(method) or {}), **cfg}
    return p


def test_settings_are_checked_with_the_key_named():
    with pytest.raises(ConfigError, match=r"pseudo_anomalies.mask_areas: unknown key"):
        PseudoSettings.from_params({"pseudo_anomalies": {"mask_areas": [0.1, 0.2]}})
    with pytest.raises(ConfigError, match=r"methods.conv_ae.pseudo_anomalies: spatial \+ order"):
        get_method("conv_ae", _with(SMOKE, "conv_ae", pseudo_anomalies={"spatial": 0.7, "order": 0.5}))
    with pytest.raises(ConfigError, match=r"does not read optical flow"):
        get_method("conv_ae", _with(SMOKE, "conv_ae", pseudo_anomalies={"temporal": 0.5}))
    with pytest.raises(ConfigError, match=r"knn is not trained by gradient"):
        get_method("knn", _with(SMOKE, "knn", pseudo_anomalies={"spatial": 0.5}))
    with pytest.raises(ConfigError, match=r"unknown inpainter 'lama'"):
        get_inpainter(PseudoSettings(inpainter="lama"))
    with pytest.raises(ConfigError, match=r"diffusion_checkpoint: .*local diffusers"):
        get_inpainter(PseudoSettings(inpainter="diffusion", diffusion_checkpoint="/nowhere"))


def _scene_clips(tmp_path, n_frames=None):
    """Training clips of a tiny generated scene (the smoke profile's S01)."""
    from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord
    from ipad_vad.data.frames import JpegFolderSource
    from ipad_vad.data.layout import scan_ipad
    from ipad_vad.data.synth.generator import SynthConfig, generate

    generate(tmp_path / "data", SynthConfig.from_params(SMOKE["synth"], scenes=["S01"], workers=1))
    entries = [e for e in scan_ipad(tmp_path / "data", ["S01"]) if e.split == "training"]
    return ClipDataset(
        [VideoRecord(JpegFolderSource(e.frames_dir)) for e in entries], clip_len=SMOKE["clip"]["length"], stride=1
    )


@pytest.mark.slow
@pytest.mark.parametrize("inpainter", ["opencv", "patch"])
def test_an_ae_trained_with_spatial_pas_reconstructs_their_region_worse(tmp_path, inpainter):
    """conAE with and without ``pseudo_anomalies.spatial`` on the same normal clips: fed held-out spatial
    PAs, the PA-trained AE puts back the normal content, so its output inside the mask is farther from
    the PA and closer to the normal clip (eq. 4)."""
    from ipad_vad.train.loop import TrainSettings

    ds = _scene_clips(tmp_path)
    settings = TrainSettings(epochs=60, batch_size=8, lr=2e-3, device="cpu", num_workers=0)  # ~4 s
    errors = {}
    x = torch.stack([ds[i]["clip"] for i in range(0, len(ds), max(1, len(ds) // 24))])
    s = PseudoSettings(mask="random", mask_area=(0.08, 0.15), inpainter=inpainter)
    pa, kinds = PseudoAnomalyMixer(s, PseudoMix(spatial=1.0)).frames(x, np.random.default_rng(123))
    mask = (pa != x).any(1, keepdim=True).expand_as(x)
    for p_s in (0.0, 0.5):
        p = _with(SMOKE, "conv_ae", pseudo_anomalies={"spatial": p_s})
        p["pseudo_anomalies"] = {"inpainter": inpainter}
        m = get_method("conv_ae", p)
        torch.manual_seed(0)
        model = m.fit(ds, tmp_path / f"ps{p_s}", settings, FitHooks(progress=False)).model.eval()
        with torch.no_grad():
            recon = model(pa)["recon"]
        errors[p_s] = {
            "to_pa": (recon - pa)[mask].pow(2).mean().item(),
            "to_normal": (recon - x)[mask].pow(2).mean().item(),
        }
    # measured: opencv 0.0072 -> 0.0119, patch 0.067 -> 0.222
    assert errors[0.5]["to_pa"] > 1.3 * errors[0.0]["to_pa"], errors
    assert errors[0.5]["to_normal"] < errors[0.0]["to_normal"], errors


def test_the_method_trains_scores_named_components_and_reloads_identically(tmp_path):
    from ipad_vad.train.loop import TrainSettings

    ds = _scene_clips(tmp_path)
    m = get_method("pseudo_anomaly", SMOKE)
    torch.manual_seed(0)
    res = m.fit(
        ds,
        tmp_path / "base",
        TrainSettings(epochs=2, batch_size=4, lr=1e-3, device="cpu", num_workers=0),
        FitHooks(progress=False),
    )
    assert {"mse", "flow_mse", "disc_bce", "loss"} <= set(res.history[-1])
    m.save(res.model, tmp_path / "model.pt")
    method, model = load_model_file(tmp_path / "model.pt")
    x = torch.stack([ds[i]["clip"] for i in range(6)])
    with torch.no_grad():
        a, b = m.score_batch(res.model.eval(), x), method.score_batch(model.eval(), x)
    assert a.names == ("recon_error", "flow_error", "semantic", "recon_local") and torch.equal(a.values, b.values)
    assert ((a["semantic"] > 0) & (a["semantic"] < 1)).all()
    base = get_method("pseudo_anomaly_baseline", SMOKE)
    assert not base.pseudo_mix.active and base.weights()["semantic"] == 0


def test_indicators_normalised_and_aggregated_by_hand():
    """Eq. 6 with eta = the weights: each indicator min-max normalised over the scene's test videos
    (the IPAD protocol) and averaged; for alerts each standardised on held-out normal footage."""
    import pandas as pd

    from ipad_vad.alerts.calibration import fit_calibration
    from ipad_vad.evaluate.metrics import add_scores

    m = get_method(
        "pseudo_anomaly",
        _with(SMOKE, "pseudo_anomaly", weights={"recon_error": 2, "flow_error": 1, "semantic": 1, "recon_local": 0}),
    )
    df = pd.DataFrame(
        {
            "video_index": [0, 0, 1, 1],
            "recon_error": [-30.0, -20.0, -25.0, -10.0],
            "flow_error": [1.0, 3.0, 2.0, 5.0],
            "semantic": [0.1, 0.2, 0.9, 0.5],
            "recon_local": [0.0, 0.0, 0.0, 1.0],
        }
    )
    s = add_scores(df, m, "scene")
    # by hand: recon (x + 30) / 20, flow (x - 1) / 4, semantic (x - 0.1) / 0.8, eta = (0.5, 0.25, 0.25, 0)
    expect = [
        0.5 * 0 + 0.25 * 0 + 0.25 * 0,
        0.5 * 0.5 + 0.25 * 0.5 + 0.25 * 0.125,
        0.5 * 0.25 + 0.25 * 0.25 + 0.25 * 1.0,
        0.5 * 1.0 + 0.25 * 1.0 + 0.25 * 0.5,
    ]
    assert np.allclose(s.score, expect)
    normal = {
        "recon_error": np.array([-30.0, -28.0, -26.0]),
        "flow_error": np.array([1.0, 2.0, 3.0]),
        "semantic": np.array([0.1, 0.1, 0.4]),
        "recon_local": np.zeros(3),
    }
    cal = fit_calibration("pseudo_anomaly", normal, m.weights(), 0.5)
    z = cal.score(
        {
            "recon_error": np.array([-24.0]),
            "flow_error": np.array([2.0]),
            "semantic": np.array([0.2]),
            "recon_local": np.array([0.0]),
        }
    )
    sd = [np.std([-30, -28, -26]), np.std([1, 2, 3]), np.std([0.1, 0.1, 0.4])]
    assert np.allclose(z, 0.5 * (-24 + 28) / sd[0] + 0.25 * 0 + 0.25 * (0.2 - 0.2) / sd[2])


def test_the_contact_sheet_draws_pas_of_a_generated_scene_and_names_a_missing_folder(tmp_path):
    import subprocess
    import sys

    from PIL import Image

    from ipad_vad.pseudo.contact_sheet import pseudo_sheet

    _scene_clips(tmp_path)
    png = pseudo_sheet(tmp_path / "data", tmp_path / "pseudo.png", SMOKE, ["S01"])
    w, h = Image.open(png).size
    assert w > 4 * h  # one scene: a row of six tiles
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "ipad_vad.cli",
            "data",
            "preview",
            "--pseudo",
            "--root",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "x.png"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and f"{tmp_path / 'nope'}: no such data folder" in r.stderr and "Traceback" not in r.stderr
