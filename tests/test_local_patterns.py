"""Seed 003 (issue 15): Legendre A, B, the SMM, regions, captions, the contrastive loss, save/load."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ipad_vad.config import load_params
from ipad_vad.data.synth.captions import captions_for, colour_word
from ipad_vad.data.synth.generator import SynthConfig
from ipad_vad.data.synth.render import VideoPlan, render_video
from ipad_vad.errors import DataError
from ipad_vad.methods import get_method, load_model_file
from ipad_vad.methods.base import FitHooks
from ipad_vad.models.local_patterns.itam import contrastive_loss
from ipad_vad.models.local_patterns.legendre import bilinear, legs, legt, legt_closed_form, motion_components
from ipad_vad.models.local_patterns.regions import mean_flow_magnitude, merge_overlapping, motion_regions
from ipad_vad.models.local_patterns.smm import StateMachine
from ipad_vad.train.loop import TrainSettings

from .helpers import ArraySource

SMOKE = load_params("params.yaml", "smoke")
R3 = math.sqrt(3)
R5 = math.sqrt(5)
R15 = math.sqrt(15)


def test_legendre_a_b_derived_equal_the_closed_form_and_hand_values():
    A, B = legt(2, 1.0)
    assert np.allclose(A, [[-1, R3], [-R3, -3]]) and np.allclose(B, [1, R3])
    A, B = legt(3, 2.0)  # theta = 2 halves every entry
    hand = np.array([[-1, R3, -R5], [-R3, -3, R15], [-R5, -R15, -5]]) / 2
    assert np.allclose(A, hand) and np.allclose(B, np.array([1, R3, R5]) / 2)
    for order in (2, 3, 6):
        a, b = legt_closed_form(order, 5.0)
        A, B = legt(order, 5.0)
        assert np.allclose(A, a) and np.allclose(B, b)
    A, B = legs(3)  # LegS for comparison: lower triangular, -(n+1) on the diagonal
    assert np.allclose(A, [[-1, 0, 0], [-R3, -2, 0], [-R5, -R15, -3]]) and np.allclose(B, [1, R3, R5])


def _run(smm: StateMachine, u: np.ndarray) -> torch.Tensor:
    """The LegT state after feeding the scalar signal u through the recurrence of eq. 3."""
    s = torch.as_tensor(u, dtype=torch.float32)[None, :, None]  # (1, T, M=1)
    return smm.states(s)[0, 0]  # (O,)


def test_the_state_reproduces_a_signal_in_the_span_of_the_bases_and_fails_outside_it():
    order, L = 4, 20
    smm = StateMachine(features=1, order=order, length=L, dt=1, channels=1)
    t = np.arange(3 * L, dtype=np.float64)
    window = np.arange(1, L + 1)
    g = torch.as_tensor(motion_components(order, L, window), dtype=torch.float32)  # (O, L)

    def rel_error(u):
        c = _run(smm, u)
        recon = (c[:, None] * g).sum(0).numpy()
        truth = u[-L:]
        return float(np.sqrt(((recon - truth) ** 2).mean()) / np.sqrt((truth**2).mean()))

    inside = 1 + 0.05 * t - 0.0004 * t**2  # a quadratic: in the span of O = 4 Legendre polynomials
    outside = np.cos(np.pi * t / 2.5)  # two full oscillations per 5 steps: far outside it
    assert rel_error(inside) < 0.05
    assert rel_error(outside) > 0.5


def test_eq5_unrolled_equals_the_recurrence():
    torch.manual_seed(0)
    smm = StateMachine(features=6, order=5, length=5, dt=1, channels=3)
    s = torch.randn(7, 5, 3)
    assert torch.allclose(smm.states(s), smm.unrolled(s), atol=1e-5)
    A, B = bilinear(*legt(5, 5.0))  # the discretisation: (I - A/2)^-1 (I + A/2)
    a = legt(5, 5.0)[0]
    assert np.allclose((np.eye(5) - a / 2) @ A, np.eye(5) + a / 2)
    assert np.allclose(smm.A.numpy(), A, atol=1e-6) and np.allclose(smm.B.numpy(), B, atol=1e-6)


def test_contrastive_loss_by_hand_on_a_2x2_batch():
    image = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, -1.0]]])  # 2 images, 2 queries
    text = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    same = torch.eye(2, dtype=torch.bool)
    # cosine, max over queries: image 0: text 0 -> 1, text 1 -> 0; image 1: text 0 -> 1/sqrt2, text 1 -> 1/sqrt2
    s = np.array([[1.0, 0.0], [1 / math.sqrt(2), 1 / math.sqrt(2)]]) / 0.5
    lse = lambda v: math.log(sum(math.exp(x) for x in v))  # noqa: E731
    rows = -(s[0, 0] - lse(s[0])) - (s[1, 1] - lse(s[1]))
    cols = -(s[0, 0] - lse(s[:, 0])) - (s[1, 1] - lse(s[:, 1]))
    expected = (rows + cols) / (2 * 1 * 2)
    got = contrastive_loss(image, [text], [same], temperature=0.5)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_overlapping_boxes_merge_with_their_neighbours_and_separate_ones_stay():
    boxes = merge_overlapping([((0.1, 0.1, 0.3, 0.3), 1.0), ((0.25, 0.25, 0.4, 0.4), 2.0), ((0.7, 0.7, 0.8, 0.8), 1.0)])
    assert sorted(boxes) == [((0.1, 0.1, 0.4, 0.4), 3.0), ((0.7, 0.7, 0.8, 0.8), 1.0)]


def test_regions_of_a_generated_scene_find_the_moving_part():
    cfg = SynthConfig(scenes=("S11",), size=(64, 64), fps=2, train_cycles=3)
    plan = VideoPlan("S11", "training", 1, 3, {}, "normal")
    video = render_video(plan, cfg.render, 0, nuisance=False)
    frames = np.stack(video.frames)
    boxes = motion_regions(mean_flow_magnitude(frames, "dis", (32, 32)), 0.2, 4, 0.25, 0.2)
    assert boxes
    # where the pixels change over the video (the moving part), by frame differences
    change = np.abs(np.diff(frames.astype(np.int16), axis=0)).sum((0, 3))
    ys, xs = np.nonzero(change > 0.3 * change.max())
    cy, cx = ys.mean() / 64, xs.mean() / 64
    x0, y0, x1, y1 = boxes[0]
    assert x0 <= cx <= x1 and y0 <= cy <= y1
    assert (x1 - x0) * (y1 - y0) < 0.6  # a region, not the frame


def test_captions_name_what_is_drawn_and_are_deterministic():
    cfg = SynthConfig(scenes=("S05",), size=(64, 64), fps=2, train_cycles=2)
    caps = captions_for("S05", 1, cfg)
    assert caps == captions_for("S05", 1, cfg) and len(caps) == len(
        render_video(VideoPlan("S05", "training", 1, 2, {}, "normal"), cfg.render, 0, nuisance=False).frames
    )
    first = caps[0]
    assert any(c.appearance == "red disc" for c in first)  # the gripper's workpiece (220, 80, 60) waiting
    assert all(c.action.startswith("pick-and-place gripper reach") for c in first)
    assert colour_word((30, 200, 60)) == "green" and colour_word((128, 128, 128)) == "grey"


def test_side_information_has_captions_for_generated_footage_and_none_for_other_footage(tmp_path):
    """A method asks the data layer (data/side_info.py), not the generator, for captions (issue 28)."""
    import json

    from ipad_vad.data.side_info import NO_SIDE_INFO, side_info

    assert side_info(tmp_path) is NO_SIDE_INFO  # a user's own footage: no generator summary
    assert NO_SIDE_INFO.region_captions("S05", "training", "01") is None
    settings = {"scenes": ["S05"], "size": [64, 64], "fps": 2, "train_cycles": 2}
    (tmp_path / "synth.json").write_text(json.dumps({"config": settings}))
    side = side_info(tmp_path)
    assert side.region_captions("S05", "training", "01") == captions_for("S05", 1, SynthConfig.from_params(settings))
    assert side.region_captions("S05", "testing", "01") is None  # only training videos are planned as normal
    assert side.region_captions("S07", "training", "01") is None  # a scene the generator did not make
    (tmp_path / "synth.json").write_text(json.dumps({"videos": []}))
    with pytest.raises(DataError, match="synth.json: not a generator summary"):
        side_info(tmp_path)


def _video(n=40, seed=0):
    from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord

    T, (H, W) = SMOKE["clip"]["length"], SMOKE["clip"]["size"]
    rng = np.random.default_rng(seed)
    frames = np.repeat(rng.integers(80, 100, (1, H, W, 3)), n, 0).astype(np.uint8)  # a still textured background
    for f in range(n):  # a square moving back and forth
        x = 4 + int(10 * (1 + math.sin(f / 3)))
        frames[f, 10:18, x : x + 8] = (200, 60, 40)
    return ClipDataset(
        [VideoRecord(ArraySource(frames), scene="X", split="training", video="01")], clip_len=T, stride=1
    )


def test_fit_adapt_save_load_identical_scores(tmp_path):
    torch.manual_seed(0)
    m = get_method("local_patterns", SMOKE)
    ds = _video()
    res = m.fit(ds, tmp_path, TrainSettings(), FitHooks(progress=False))
    assert res.info["cameras"] == 1 and res.info["regions"]["X"] >= 1
    boxes = res.model.boxes[0][res.model.valid[0]].tolist()
    assert all(b[1] < 18 / 32 and b[3] > 10 / 32 for b in boxes)  # every region meets the rows the square moves in
    assert any(b[1] <= 14 / 32 <= b[3] for b in boxes)
    m.save(res.model, tmp_path / "base.pt")
    adapted = m.fit(
        _video(seed=1),
        tmp_path,
        TrainSettings(fraction=0.5),
        FitHooks(progress=False),
        model=load_model_file(tmp_path / "base.pt")[1],
    ).model
    x = torch.stack([ds[i]["clip"] for i in range(4)])
    before = m.score_batch(adapted.eval(), x)
    m.save(adapted, tmp_path / "model.pt")
    method, loaded = load_model_file(tmp_path / "model.pt")
    after = method.score_batch(loaded.eval(), x)
    assert torch.equal(before.values, after.values) and torch.isfinite(before.values).all()


def test_a_missing_clip_checkpoint_names_the_file(tmp_path):
    p = {
        **SMOKE,
        "methods": {
            **SMOKE["methods"],
            "local_patterns": {**SMOKE["methods"]["local_patterns"], "clip_checkpoint": str(tmp_path / "clip.pt")},
        },
    }
    with pytest.raises(DataError, match="clip.pt"):
        get_method("local_patterns", p).build()


def test_shared_frames_finds_the_frames_overlapping_clips_share():
    from ipad_vad.models.shared_frames import shared_frames

    video = torch.rand(30, 3, 4, 4)
    for stride in (1, 2, 3):
        clips = torch.stack([video[s : s + 10] for s in range(0, 20, stride)])  # N, t, 3, 4, 4
        where, src = shared_frames(clips)
        assert len(src) == 10 + stride * (len(clips) - 1)
        assert torch.equal(clips[src[:, 0], src[:, 1]][where], clips)
    clips = torch.stack([video[s : s + 10] for s in (0, 1, 2, 15)])
    assert len(shared_frames(clips, keys=[0, 0, 1, 1])[1]) == 10 + 1 + 10 + 10  # another key, no overlap: its own


def test_a_batch_of_overlapping_clips_scores_as_each_clip_alone():
    torch.manual_seed(0)
    m = get_method("local_patterns", SMOKE)
    model = m.build().eval()
    with torch.no_grad():
        model.bank.normal_()
    ds = _video()
    x = torch.stack([ds[i]["clip"] for i in (0, 1, 2, 3, 9, 4)])  # a run of consecutive clips, one out of order
    with torch.no_grad():
        batch = m.score_batch(model, x).values
        alone = torch.cat([m.score_batch(model, x[i : i + 1]).values for i in range(len(x))])
    torch.testing.assert_close(batch, alone)


def test_a_paused_part_is_a_novel_tube_that_the_prediction_error_misses(tmp_path):
    """A region stopped where it always moves: every frame is a normal pose and a still region is the
    easiest to predict, so the SMM's error stays normal; its tube (the region's features over L frames)
    is near no normal tube, so ``tube_novelty`` rises above every normal clip's."""
    torch.manual_seed(0)
    m = get_method("local_patterns", SMOKE)
    ds = _video(n=60)
    model = m.fit(ds, tmp_path, TrainSettings(), FitHooks(progress=False)).model.eval()
    normal = torch.stack([ds[i]["clip"] for i in range(len(ds))])
    fast = int(np.argmax([abs(math.cos(int(ds[i]["center"]) / 3)) for i in range(len(ds))]))  # the square fastest
    clip = ds[fast]["clip"]  # 3, T, H, W
    paused = clip[:, [clip.shape[1] // 2]].expand_as(clip)[None]  # its centre frame held for the whole clip
    with torch.no_grad():
        n, p = m.score_batch(model, normal), m.score_batch(model, paused)
    column = {c: i for i, c in enumerate(n.names)}
    tube, pred = column["tube_novelty"], column["prediction_error"]
    assert p.values[0, tube] > n.values[:, tube].max()
    assert p.values[0, pred] < n.values[:, pred].max()  # the prediction error does not single it out


def test_a_model_saved_before_tubes_were_kept_loads_with_tube_novelty_zero():
    m = get_method("local_patterns", SMOKE)
    model = m.build().eval()
    old = {k: v for k, v in model.state_dict().items() if not k.startswith("tube_")}
    loaded = m.from_state(old).eval()
    assert loaded.tube_bank.shape[2] == 0
    x = torch.stack([_video()[i]["clip"] for i in range(2)])
    with torch.no_grad():
        new, before = m.score_batch(model, x), m.score_batch(loaded, x)
    tube = new.names.index("tube_novelty")
    assert (before.values[:, tube] == 0).all()
    others = [i for i in range(len(new.names)) if i != tube]
    torch.testing.assert_close(before.values[:, others], new.values[:, others])
