"""The feature bank (issue 25, item 3): learned features matched by the reference detector's machinery.
Smoke sizes: a generated machine of 32 x 32 frames (a textured background, a part moving through a
cycle), a few hundred training steps."""

import copy

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score as roc_auc

from ipad_vad.config import load_params
from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord
from ipad_vad.evaluate.scoring import score_batch
from ipad_vad.methods import FitHooks, get_method, load_model_file
from ipad_vad.methods.adaptation import adapt, load_adapted
from ipad_vad.train.loop import TrainSettings

from .helpers import ArraySource

SMOKE = load_params("params.yaml", "smoke")
QUIET = FitHooks(progress=False)
T, H, W = SMOKE["clip"]["length"], *SMOKE["clip"]["size"]
CYCLE = 12
SPOT = 0.45  # the light spot: +45 % at its centre


def _params(**fb) -> dict:
    p = copy.deepcopy(SMOKE)
    p["methods"]["feature_bank"] = {**p["methods"]["feature_bank"], **fb}
    return p


def machine(n: int, offset: int = 0, seed: int = 0) -> np.ndarray:
    """(n, H, W, 3) uint8: a fixed texture, a bright part moving left-right over a cycle of CYCLE frames,
    a little sensor noise."""
    bg = np.random.default_rng(7).integers(60, 140, (H // 4, W // 4, 3)).astype(np.float32)
    bg = np.kron(bg, np.ones((4, 4, 1), np.float32))
    rng = np.random.default_rng(seed)
    out = np.empty((n, H, W, 3), np.float32)
    for i in range(n):
        t = ((i + offset) % CYCLE) / CYCLE
        x = int(round(4 + (W - 14) * (0.5 - 0.5 * np.cos(2 * np.pi * t))))
        f = bg.copy()
        f[12:20, x : x + 6] = (200, 200, 190)
        out[i] = f + rng.normal(0, 2, f.shape)
    return out.clip(0, 255).astype(np.uint8)


def lit(frames: np.ndarray, seed: int) -> np.ndarray:
    """A lighting change no normal recording had: brighter overall, warmer, and a light spot on one side."""
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W] / max(H, W)
    cy, cx = g.uniform(0.2, 0.8, 2)
    spot = 1 + SPOT * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.08)
    f = frames.astype(np.float32) * 1.25 * spot[None, :, :, None] * np.array([1.1, 1.0, 0.85])
    return f.clip(0, 255).astype(np.uint8)


def with_square(frames: np.ndarray, seed: int) -> np.ndarray:
    """A small coloured square (3 x 3 pixels, under 1 % of the frame) pasted into every frame."""
    g = np.random.default_rng(seed)
    y, x = g.integers(2, H - 6), g.integers(2, W - 6)
    f = frames.copy()
    f[:, y : y + 3, x : x + 3] = (40, 90, 210)
    return f


def dataset(videos: list[np.ndarray]) -> ClipDataset:
    return ClipDataset([VideoRecord(ArraySource(v)) for v in videos], clip_len=T, stride=1)


def clips(frames: np.ndarray) -> torch.Tensor:
    ds = dataset([frames])
    return torch.stack([ds[i]["clip"] for i in range(len(ds))])


def auc_of(method, model, normal: torch.Tensor, abnormal: torch.Tensor) -> float:
    s = [score_batch(method, model, x)["distance"].numpy() for x in (normal, abnormal)]
    return roc_auc(np.r_[np.zeros(len(s[0])), np.ones(len(s[1]))], np.r_[s[0], s[1]])


@pytest.fixture(scope="module")
def lighting_case(tmp_path_factory):
    """Normal footage of two recordings; test clips under a lighting change no recording had, half of them
    with a small coloured square; knn, the feature bank (200 steps) and its random-encoder ablation fitted."""
    tmp = tmp_path_factory.mktemp("fb")
    train = dataset([machine(60, 0, 1), machine(60, 5, 2)])
    normal = torch.cat([clips(lit(machine(T + 3, o, 20 + o), o)) for o in range(6)])
    abnormal = torch.cat([clips(with_square(lit(machine(T + 3, o, 20 + o), o), o)) for o in range(6)])
    fb = dict(frames=9, cell=2, batch_frames=16, cells=256)  # cells of 4 pixels, as knn's at this size
    aucs = {}
    for name, p in (("knn", SMOKE), ("feature_bank", _params(steps=200, **fb)), ("feature_bank_random", _params(**fb))):
        m = get_method(name, p)
        torch.manual_seed(0)
        model = m.fit(train, tmp, TrainSettings(), QUIET).model
        aucs[name] = auc_of(m, model, normal, abnormal)
    return aucs


def test_the_trained_feature_bank_catches_a_small_square_under_a_lighting_change(lighting_case):
    """The square covers under 1 % of the frame; the whole frame is lit differently from every normal
    recording. Measured: 0.82 (knn 0.96, the random encoder 0.59; 0.83 and 0.68 with the 16 x 16 map)."""
    assert lighting_case["feature_bank"] >= 0.75
    assert lighting_case["feature_bank"] >= lighting_case["feature_bank_random"] + 0.1  # the training matters


@pytest.mark.xfail(
    strict=True,
    reason="issue 25 item 3 not met yet: at 200 steps the learned features catch the "
    "square less well than the pixels (0.82 vs 0.96 AUC)",
)
def test_the_feature_bank_catches_it_at_least_as_well_as_its_pixel_counterpart(lighting_case):
    assert lighting_case["feature_bank"] >= lighting_case["knn"]


def _fit_and_adapt(tmp_path, adapt_steps=20, adaptation="lora", **fb):
    p = _params(steps=30, adapt_steps=adapt_steps, frames=3, batch_frames=8, cells=64, adaptation=adaptation, **fb)
    m = get_method("feature_bank", p)
    torch.manual_seed(0)
    base = m.fit(dataset([machine(40, 0, 1)]), tmp_path / "base", TrainSettings(), QUIET).model
    m.save(base, tmp_path / "base" / "model.pt")
    device = dataset([machine(30, 3, 5), machine(26, 7, 6)])  # another bank size than the base's
    from ipad_vad.jobs.settings import AdaptSettings

    f = AdaptSettings.from_params(p)
    info = adapt(
        m, tmp_path / "base" / "model.pt", device, tmp_path / "dev", f.train_settings(p), QUIET, f.lora_settings()
    )
    return m, base, info


def test_save_load_and_the_lora_adapter_reload_to_identical_scores(tmp_path):
    m, base, info = _fit_and_adapt(tmp_path)
    x = clips(lit(machine(T + 4, 2, 9), 1))
    _, loaded = load_model_file(tmp_path / "base" / "model.pt")
    assert torch.equal(score_batch(m, base.eval(), x).values, score_batch(m, loaded.eval(), x).values)
    assert info["bank_size"] == (30 - T + 1) + (26 - T + 1) != len(base.matcher.bank)  # the device's own bank
    _, a = load_adapted(tmp_path / "dev")
    _, b = load_adapted(tmp_path / "dev")
    assert len(a.matcher.bank) == info["bank_size"]
    assert torch.equal(score_batch(m, a.eval(), x).values, score_batch(m, b.eval(), x).values)
    assert not torch.equal(score_batch(m, a, x).values, score_batch(m, loaded, x).values)


def test_lora_adapts_only_the_named_modules(tmp_path):
    m, base, info = _fit_and_adapt(tmp_path)
    assert 0 < info["trainable"]["share"] < 0.5
    _, adapted = load_adapted(tmp_path / "dev")
    before, after = base.state_dict(), adapted.state_dict()
    assert set(before) == set(after)
    changed = {k for k in before if k.startswith(("encoder", "decoder")) and not torch.equal(before[k], after[k])}
    targets = {
        k
        for k in before
        if k.startswith("encoder.") and k.endswith(".weight") and any(t in k for t in ("convs.conv", "proj"))
    }
    assert changed and changed <= targets  # only the targeted convolutions' weights; biases and decoder untouched


def test_the_default_full_fine_tuning_moves_every_encoder_weight_and_reloads_to_identical_scores(tmp_path):
    """``adaptation: full`` (the default, params.yaml): every encoder weight, biases too, is trained on the
    device; the saved device model reloads to the same scores."""
    assert get_method("feature_bank", SMOKE).adaptation == "full"
    m, base, _ = _fit_and_adapt(tmp_path, adaptation="full")
    _, a = load_adapted(tmp_path / "dev")
    _, b = load_adapted(tmp_path / "dev")
    before, after = base.state_dict(), a.state_dict()
    encoder = [k for k in before if k.startswith("encoder.")]
    assert encoder and all(not torch.equal(before[k], after[k]) for k in encoder)
    x = clips(lit(machine(T + 4, 2, 9), 1))
    assert torch.equal(score_batch(m, a.eval(), x).values, score_batch(m, b.eval(), x).values)


def test_without_adaptation_steps_the_encoder_is_the_base_and_only_the_bank_changes(tmp_path):
    m, base, _ = _fit_and_adapt(tmp_path, adapt_steps=0)
    _, adapted = load_adapted(tmp_path / "dev")
    for k, v in base.state_dict().items():
        if not k.startswith("matcher."):
            assert torch.equal(v, adapted.state_dict()[k]), k


def test_leaving_one_recording_out_keeps_the_encoder_and_drops_only_that_recordings_bank(tmp_path):
    m = get_method("feature_bank", _params(frames=3))
    model = m.fit(dataset([machine(20, 0, 1), machine(24, 4, 2)]), tmp_path, TrainSettings(), QUIET).model
    held = m.heldout_model(model, 1)
    assert held.encoder is model.encoder
    assert len(held.matcher.bank) == 20 - T + 1 and (held.matcher.bank_recording == 0).all()
    assert len(model.matcher.bank) == (20 - T + 1) + (24 - T + 1)


def test_the_adapter_trains_on_the_first_share_of_each_recording_and_the_bank_keeps_all(tmp_path):
    """Table 3's LoRA on 1/5 (``adapt_share``): the adaptation steps draw frames from the first share of
    each of the device's recordings (30 and 26 frames: 8 + 7 of them at 1/4); the bank holds every clip."""
    _, _, whole = _fit_and_adapt(tmp_path / "all")
    _, _, share = _fit_and_adapt(tmp_path / "quarter", adapt_share=0.25)
    assert whole["train_frames"] == 30 + 26 and share["train_frames"] == 8 + 7
    assert share["bank_size"] == whole["bank_size"] == (30 - T + 1) + (26 - T + 1)
    a, b = (load_adapted(tmp_path / n / "dev")[1].encoder.state_dict() for n in ("all", "quarter"))
    assert any(not torch.equal(a[k], b[k]) for k in a)  # other frames, another adapter


def test_a_bank_over_several_scenes_is_pooled_and_a_devices_bank_per_recording(tmp_path):
    """As the reference detector's: a base's bank over the pretraining scenes is matched as a whole; a
    device's bank (one scene) takes its candidates from each recording (``retrieve_from``)."""
    m = get_method("feature_bank", _params(frames=3, retrieve_from="each_recording"))

    def footage(*scenes):
        videos = [VideoRecord(ArraySource(machine(20, 4 * i, i + 1)), scene=s) for i, s in enumerate(scenes)]
        return ClipDataset(videos, clip_len=T, stride=1)

    two, one = footage("S01", "S02"), footage("R01", "R01")
    base, device = (m.fit(d, tmp_path, TrainSettings(), QUIET).model.matcher for d in (two, one))
    assert base.pooled and not base.per_recording
    assert device.per_recording and (device.bank_frame >= T // 2).all()


def test_the_heat_map_points_at_the_cell_where_a_part_appeared(tmp_path):
    """``localise`` (an alert's region, issue 26): a dark block pasted at the bottom-left of every frame
    of a clip; the feature residual is largest in the cell that holds it, and the nearest normal clip
    named is one of the bank's (its recording and centre frame known)."""
    m = get_method("feature_bank", _params(steps=30, frames=3, batch_frames=8, cells=64))
    torch.manual_seed(0)
    model = m.fit(dataset([machine(40, 0, 1), machine(40, 5, 2)]), tmp_path, TrainSettings(), QUIET).model
    frames = machine(T + 2, 3, 9)
    frames[:, H - 8 :, :8] = (10, 10, 10)
    loc = m.localise(model, clips(frames))
    n, h, w = loc.heat.shape
    assert n == 3 and (h, w) == (H // 8, W // 8)  # cells of 4 feature cells of 2 pixels
    worst = loc.heat.flatten(1).argmax(1)
    assert (worst == (h - 1) * w).all(), worst  # the bottom-left cell, in every clip
    assert set(loc.recording.tolist()) <= {0, 1} and (loc.frame >= 0).all()
