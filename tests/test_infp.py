"""INFP (seed 001): its parts against hand computations, a tiny model that overfits, LoRA with its
norms saved, the encoder checkpoint and the Table 2 ablations as methods."""

import numpy as np
import pytest
import torch

from ipad_vad.config import load_params
from ipad_vad.errors import ConfigError, DataError
from ipad_vad.methods import get_method, load_model_file
from ipad_vad.models.infp import INFP, INFPConfig
from ipad_vad.models.infp.context_fusion import ContextFusion
from ipad_vad.models.infp.frequency_branch import FrequencyBranch, from_spectrum, spectrum
from ipad_vad.models.infp.temporal_shift import temporal_shift
from ipad_vad.models.infp.trajectory_filter import TrajectoryFilter
from ipad_vad.models.infp.wide_resnet import WideResNetEncoder, load_encoder_checkpoint
from ipad_vad.train.losses import gradient_loss, prediction_loss

SMOKE = load_params("params.yaml", "smoke")
TINY = INFPConfig(
    size=(16, 16),
    widths=(4, 8, 8, 8),
    blocks=(1, 1, 1, 1),
    merged=(4, 8, 8),
    decoder=(8, 4, 4),
    frequency_reduction=2,
    attention_reduction=2,
    filter_reduction=2,
)


@pytest.mark.parametrize("fusion,filt", [(True, True), (False, False), (True, False), (False, True)])
def test_shapes_at_small_sizes(fusion, filt):
    torch.manual_seed(0)
    net = INFP(INFPConfig(**{**TINY.__dict__, "size": (24, 32), "fusion": fusion, "filter": filt}))
    x = torch.rand(3, 3, 4, 24, 32) * 2 - 1
    s2, s4, s8 = net.encoder(x[:, :, 0])
    assert s2.shape == (3, 8, 12, 16) and s4.shape == (3, 8, 6, 8) and s8.shape == (3, 8, 3, 4)
    assert net(x)["pred"].shape == (3, 3, 24, 32)
    assert (net.frequency is not None) == fusion and (net.filter is not None) == filt
    with pytest.raises(ValueError, match="3 input frames, built for 4"):
        net(x[:, :, :3])
    with pytest.raises(ValueError, match="multiple of 8"):
        INFP(INFPConfig(size=(20, 32)))


def test_dilated_stages_keep_an_eighth_of_the_size():
    enc = WideResNetEncoder((4, 4, 4, 4, 4, 4), (1, 1, 1, 1, 1, 1))
    assert enc.stages[3][0].conv1.dilation == (2, 2) and enc.stages[4][0].conv1.dilation == (4, 4)
    assert enc(torch.rand(1, 3, 32, 32))[2].shape == (1, 4, 4, 4)


def test_the_fft_branch_splits_real_and_imaginary_parts_and_inverts_exactly():
    x = torch.tensor([[[[1.0, 2.0, 0.0, -1.0], [3.0, 0.5, 1.0, 2.0]]]])  # (1, 1, 2, 4)
    a, b = spectrum(x)
    # by hand: z[u, v] = sum_{h, w} x[h, w] exp(-2 pi j (u h / 2 + v w / 4)) / sqrt(8), v = 0 .. 2
    xs = x[0, 0].numpy()
    hand = np.zeros((2, 3), complex)
    for u in range(2):
        for v in range(3):
            hand[u, v] = sum(
                xs[h, w] * np.exp(-2j * np.pi * (u * h / 2 + v * w / 4)) for h in range(2) for w in range(4)
            )
    hand /= np.sqrt(8)
    assert np.allclose(a[0, 0].numpy(), hand.real, atol=1e-6) and np.allclose(b[0, 0].numpy(), hand.imag, atol=1e-6)
    assert hand[0, 0].real == pytest.approx(8.5 / np.sqrt(8)) and hand[0, 0].imag == 0  # the mean's bin
    assert torch.allclose(from_spectrum(a, b, (2, 4)), x, atol=1e-6)  # eq. 13 inverts eq. 8

    branch = FrequencyBranch(3, reduction=1)
    feats = torch.randn(2, 3, 4, 6)
    with torch.no_grad():  # eq. 11-12 with their CNNs' last layers zero: a = a_hat, b = b_hat
        for refiner in (branch.real, branch.imag):
            refiner.conv2.weight.zero_()
            refiner.conv2.bias.zero_()
    assert torch.allclose(branch.frequency_features(feats), feats, atol=1e-5)
    assert branch(feats).shape == feats.shape  # eq. 14: [gamma(x); f(t)] back to the input's channels


def test_the_trajectory_filter_keeps_a_constant_input_constant():
    torch.manual_seed(0)
    filt = TrajectoryFilter(4, (8, 8), n_filters=3, reduction=2)
    x = torch.randn(2, 4, 1, 1).expand(2, 4, 8, 8).contiguous()  # one value per channel everywhere
    out = filt(x)
    assert out.shape == (2, 4, 8, 8)
    spec = torch.fft.fft2(out)  # only the DC bin carries energy: a constant input's spectrum shape
    spec[..., 0, 0] = 0
    assert spec.abs().max() < 1e-5 and out.abs().sum() > 0
    y = torch.randn(2, 4, 8, 8)
    assert filt.routing(y).sum(1).allclose(torch.ones(2, 8))  # eq. 19: a softmax over the filters


def test_tsm_shifts_exactly_the_configured_channel_share():
    x = torch.arange(1, 3 * 16 + 1, dtype=torch.float).reshape(1, 3, 16, 1, 1).repeat(2, 1, 1, 2, 2)
    out = temporal_shift(x, shift_div=8)  # fold = 2: channels 0-1 from the next frame, 2-3 from the previous
    assert torch.equal(out[:, :2, :2], x[:, 1:, :2]) and (out[:, 2, :2] == 0).all()
    assert torch.equal(out[:, 1:, 2:4], x[:, :-1, 2:4]) and (out[:, 0, 2:4] == 0).all()
    assert torch.equal(out[:, :, 4:], x[:, :, 4:])
    changed = (out != x).any(-1).any(-1).any(0).any(0)
    assert changed.sum() == 4  # 2 * 16 // 8 channels
    one_way = temporal_shift(x, shift_div=4, bidirectional=False)
    assert (one_way != x).any(-1).any(-1).any(0).any(0).sum() == 4 and torch.equal(one_way[:, :, 4:], x[:, :, 4:])


def test_context_fusion_combines_the_four_corners_and_leaves_the_centre_out():
    fuse = ContextFusion(1, region=5, sub=1)
    with torch.no_grad():
        for conv in fuse.corners.values():
            conv.weight.fill_(1.0)
            conv.bias.zero_()
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 1.0  # an impulse in the middle
    m_con = fuse.context(x)
    m = m_con[0, 0]
    assert m[4, 4] == 0  # the centre itself is ignored
    assert set(map(tuple, m.nonzero().tolist())) == {(2, 2), (2, 6), (6, 2), (6, 6)}  # corners of a 5 x 5 region
    out = fuse(x)
    assert out.shape == x.shape and torch.allclose(out, m_con * fuse.gate.weights(m_con)[:, :, None, None])  # eq. 17
    with pytest.raises(ValueError, match="leave the centre out"):
        ContextFusion(1, region=5, sub=3)


def test_gradient_loss_against_a_hand_count():
    p = torch.tensor([[0.0, 1.0], [2.0, 4.0]])
    q = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    # |dy| of p: |2-0|, |4-1| = 2, 3 ; of q: 0, 0 -> mean 2.5 ; |dx| of p: |1-0|, |4-2| = 1, 2 -> mean 1.5
    assert gradient_loss(q, p).item() == pytest.approx(4.0)
    assert gradient_loss(p, p).item() == 0
    assert gradient_loss(p + 3.0, p).item() == 0  # a brightness offset is no gradient error
    total, parts = prediction_loss(q, p, 0.25)
    assert parts["mse"].item() == pytest.approx((0 + 1 + 4 + 16) / 4)
    assert total.item() == pytest.approx(0.25 * 21 / 4 + 0.75 * 4.0)


def test_a_tiny_infp_overfits_a_clip():
    torch.manual_seed(0)
    net = INFP(TINY)
    t = torch.linspace(0, 1, 16)
    frames = torch.stack([torch.sin(6 * t[None, :] + k + 0 * t[:, None]).expand(16, 16) for k in range(5)])
    x = frames[None, None].expand(1, 3, 5, 16, 16).contiguous() * 0.8  # a pattern moving right
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        loss, _ = prediction_loss(net(x[:, :, :4])["pred"], x[:, :, 4], 0.5)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.05 * first


def _method(name="infp", **over):
    p = {**SMOKE, "methods": {**SMOKE["methods"], "infp": {**SMOKE["methods"]["infp"], **over}}}
    return get_method(name, p)


def test_the_method_predicts_the_centre_frame_from_the_frames_before_it():
    m = _method(normalise="none")
    clip = torch.arange(8, dtype=torch.float)[None, None, :, None, None].expand(2, 3, 8, 4, 4)
    inputs, target = m.split(clip)
    assert inputs[0, 0, :, 0, 0].tolist() == [0, 1, 2, 3] and target[0, 0, 0, 0].item() == 4
    with pytest.raises(ConfigError, match="clips of 10 frames or more"):
        _method(n_input=5)
    with pytest.raises(ConfigError, match="unknown settings \\['widht'\\]"):
        _method(widht=3)
    with pytest.raises(ConfigError, match="weights"):
        _method(weights={"pred_error": 0, "pred_local": 0}).weights()
    assert _method(weights={"pred_error": 3, "pred_local": 1}).weights() == {"pred_error": 0.75, "pred_local": 0.25}


def test_table2_ablations_are_methods_that_rebuild_from_their_file(tmp_path):
    for name, fusion, filt in [
        ("infp", True, True),
        ("infp_baseline", False, False),
        ("infp_fusion", True, False),
        ("infp_filter", False, True),
    ]:
        m = _method(name)
        net = m.build()
        assert (net.frequency is not None, net.filter is not None) == (fusion, filt)
        m.save(net, tmp_path / f"{name}.pt")
        m2, net2 = load_model_file(tmp_path / f"{name}.pt")
        assert m2.name == name and (net2.frequency is not None, net2.filter is not None) == (fusion, filt)


def test_lora_adapts_the_convolutions_and_saves_the_norms(tmp_path):
    from ipad_vad.train.lora import LoraSettings, add_lora, load_adapter, save_adapter

    m = _method()
    torch.manual_seed(0)
    base = m.build()
    m.save(base, tmp_path / "base.pt")
    lora = LoraSettings(rank=2, alpha=4)
    peft_model = add_lora(base, lora, m.lora_targets, "infp", m.lora_modules_to_save(lora))
    names = [n for n, _ in peft_model.named_modules() if n.endswith("lora_A")]
    assert any(".encoder.stem_conv" in n for n in names) and any(".frequency.real.conv1" in n for n in names)
    assert any(".fusion.corners.tl" in n for n in names) and not any(".head." in n for n in names)
    x = torch.rand(4, 3, 8, 32, 32) * 2 - 1
    opt = torch.optim.Adam([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    peft_model.train()
    for _ in range(3):  # moves the BatchNorms' running statistics too
        loss, _ = m.training_loss(peft_model, {"clip": x}, None)
        opt.zero_grad()
        loss.backward()
        opt.step()
    peft_model.eval()
    with torch.no_grad():
        trained = m.score_batch(peft_model, x).values
    save_adapter(peft_model, tmp_path / "adapter")
    loaded = load_adapter(load_model_file(tmp_path / "base.pt")[1], tmp_path / "adapter", merge=True).eval()
    with torch.no_grad():
        assert torch.allclose(m.score_batch(loaded, x).values, trained, atol=1e-4)
    size = sum(p.stat().st_size for p in (tmp_path / "adapter").iterdir())
    assert size < 0.5 * (tmp_path / "base.pt").stat().st_size  # the adapter, not a copy of the model


def test_encoder_checkpoint_loads_by_path_and_refuses_another_encoder(tmp_path):
    m = _method()
    src = m.build().encoder
    torch.save({"state_dict": {f"module.{k}": v for k, v in src.state_dict().items()}}, tmp_path / "enc.pt")
    dst = m.build().encoder
    assert load_encoder_checkpoint(dst, tmp_path / "enc.pt")["loaded"] == len(src.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(src.state_dict().values(), dst.state_dict().values()))
    other = WideResNetEncoder((8, 8, 8, 8), (1, 1, 1, 1))
    with pytest.raises(ConfigError, match="enc.pt: not a checkpoint of this encoder"):
        load_encoder_checkpoint(other, tmp_path / "enc.pt")
    with pytest.raises(DataError, match="missing.pt.*not found"):
        load_encoder_checkpoint(dst, tmp_path / "missing.pt")


def test_frame_normalisation_makes_the_score_blind_to_a_flicker_of_the_predicted_frame():
    torch.manual_seed(0)
    clip = torch.rand(2, 3, 8, 32, 32) * 1.2 - 0.6
    flicker = clip.clone()
    flicker[:, :, 4] = flicker[:, :, 4] * 1.3 + 0.1  # the centre frame, the one predicted, brighter
    for normalise, same in (("frame", True), ("none", False)):
        m = _method(normalise=normalise)
        net = m.build().eval()
        with torch.no_grad():
            a, b = m.score_batch(net, clip)["pred_error"], m.score_batch(net, flicker)["pred_error"]
        assert torch.allclose(a, b, atol=1e-4) == same
    with pytest.raises(ConfigError, match=r"methods.infp.normalise = 'video': Input should be 'none' or 'frame'"):
        _method(normalise="video")


def test_fit_adapt_by_lora_and_load_through_the_shared_jobs(tmp_path):
    """The method's own loss in the shared trainer, then the shared LoRA adaptation: the adapted folder
    holds only the adapter, and the model loaded from it scores as the trained one did."""
    from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord
    from ipad_vad.methods import FitHooks
    from ipad_vad.methods.adaptation import adapt, load_adapted
    from ipad_vad.train.loop import TrainSettings
    from ipad_vad.train.lora import LoraSettings

    from .helpers import ArraySource

    T, (H, W) = SMOKE["clip"]["length"], SMOKE["clip"]["size"]
    rng = np.random.default_rng(0)
    ds = ClipDataset(
        [VideoRecord(ArraySource(rng.integers(0, 256, (20 + T, H, W, 3), dtype=np.uint8)))], clip_len=T, stride=1
    )
    m = _method()
    torch.manual_seed(0)
    settings = TrainSettings(epochs=2, batch_size=4, lr=1e-3, device="cpu", num_workers=0)
    res = m.fit(ds, tmp_path / "base", settings, FitHooks(progress=False))
    assert [set(h) >= {"mse", "gradient", "loss"} for h in res.history] == [True, True]
    assert res.history[1]["loss"] < res.history[0]["loss"]
    m.save(res.model, tmp_path / "base" / "model.pt")
    info = adapt(
        m,
        tmp_path / "base" / "model.pt",
        ds,
        tmp_path / "R01",
        settings,
        FitHooks(progress=False),
        LoraSettings(rank=2, alpha=4),
    )
    assert info["trainable"]["share"] < 0.5 and (tmp_path / "R01" / "adapter" / "adapter_config.json").is_file()
    assert not (tmp_path / "R01" / "model.pt").exists()
    method, model = load_adapted(tmp_path / "R01")
    x = torch.stack([ds[i]["clip"] for i in range(4)])
    with torch.no_grad():
        s = method.score_batch(model.eval(), x)
    assert method.name == "infp" and s.values.shape == (4, 2) and torch.isfinite(s.values).all()


def test_fitting_from_scratch_starts_from_the_local_encoder_checkpoint(tmp_path):
    from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord
    from ipad_vad.methods import FitHooks
    from ipad_vad.train.loop import TrainSettings

    from .helpers import ArraySource

    src = _method().build().encoder
    torch.save(src.state_dict(), tmp_path / "enc.pt")
    T, (H, W) = SMOKE["clip"]["length"], SMOKE["clip"]["size"]
    ds = ClipDataset([VideoRecord(ArraySource(np.zeros((T + 1, H, W, 3), np.uint8)))], clip_len=T, stride=1)
    res = _method(encoder_checkpoint=str(tmp_path / "enc.pt")).fit(
        ds, tmp_path / "fit", TrainSettings(epochs=0, device="cpu", num_workers=0), FitHooks(progress=False)
    )
    assert res.info["encoder_checkpoint"] == {"path": str(tmp_path / "enc.pt"), "loaded": len(src.state_dict())}
    assert all(torch.equal(a, b) for a, b in zip(src.state_dict().values(), res.model.encoder.state_dict().values()))


def test_a_batch_of_overlapping_clips_predicts_as_each_clip_alone():
    torch.manual_seed(0)
    net = INFP(TINY).eval()
    video = torch.rand(3, 12, 16, 16) * 2 - 1
    x = torch.stack([video[:, s : s + 4] for s in (0, 1, 2, 3, 7, 4)])  # a run of consecutive clips, one apart
    with torch.no_grad():
        batch = net(x)["pred"]
        alone = torch.cat([net(x[i : i + 1])["pred"] for i in range(len(x))])
    torch.testing.assert_close(batch, alone)
