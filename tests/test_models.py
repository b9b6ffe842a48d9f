import os
import tempfile

import numpy as np
import pytest
import torch

from ipad_vad.config import load_params
from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord
from ipad_vad.models import count_parameters
from ipad_vad.models.pretrained import load_pretrained
from ipad_vad.models.video_swin import VideoSwinEncoder
from ipad_vad.train.loop import Trainer, TrainSettings, make_scheduler, plateaued
from ipad_vad.train.lora import LoraSettings, add_lora, load_adapter, save_adapter, trainable_summary

from .helpers import build_model

SMOKE = load_params("params.yaml", "smoke")
DEMO = load_params("params.yaml", "demo")
LEARNED = ["ipad_vad", "ipad_vad_no_memory", "v_swin_ae", "conv_ae", "mem_ae"]  # the reconstruction models


@pytest.mark.parametrize("name", LEARNED)
@pytest.mark.parametrize("cfg,shape", [(SMOKE, (2, 3, 8, 32, 32)), (DEMO, (1, 3, 16, 64, 64))])
def test_every_model_reconstructs_the_input_shape(name, cfg, shape):
    torch.manual_seed(0)
    m = build_model(name, cfg, clip_len=shape[2]).eval()
    with torch.no_grad():
        out = m(torch.rand(*shape) * 2 - 1)
    assert out["recon"].shape == shape
    assert out["recon"].abs().max() <= 1
    if name == "ipad_vad":
        n = cfg["methods"]["ipad_vad"]["period"]["n_classes"]
        assert out["period_logits"].shape == (shape[0], n) and out["t_p"].shape == (shape[0],)
        assert out["mem_weights"].shape[-1] == cfg["methods"]["ipad_vad"]["memory"]["size"]
        assert torch.allclose(out["mem_weights"].sum(-1), torch.ones(1))


@pytest.mark.parametrize(
    "cfg,shape", [(SMOKE, (2, 3, 8, 32, 32)), (DEMO, (2, 3, 16, 64, 64)), (SMOKE, (2, 3, 8, 30, 30))]
)
def test_ipad_vad_reconstructs_some_frames_as_the_whole_clip_does(cfg, shape):
    """Scoring asks for the centre frame alone: the same values as that frame of the whole clip
    (also where the input is padded to the strides and the decoder's output cropped)."""
    torch.manual_seed(0)
    m = build_model("ipad_vad", cfg, clip_len=shape[2]).eval()
    x = torch.rand(*shape) * 2 - 1
    with torch.no_grad():
        whole = m(x)["recon"]
        for a, b in ((shape[2] // 2, shape[2] // 2 + 1), (0, 1), (shape[2] - 1, shape[2]), (1, shape[2] - 2)):
            torch.testing.assert_close(m(x, frames=(a, b))["recon"], whole[:, :, a:b], rtol=0, atol=0)


def test_encoder_output_strides_and_odd_sizes():
    enc = VideoSwinEncoder(embed_dim=8, depths=(1, 1, 1), heads=(1, 1, 2), window=(2, 4, 4), patch=(2, 4, 4)).eval()
    with torch.no_grad():
        f = enc(torch.randn(1, 3, 10, 40, 56))  # not multiples of patch or window: padded
    assert f.shape == (1, 32, 5, 3, 4) and enc.out_dim == 32


def test_fused_qkv_checkpoint_loads_into_separate_q_k_v():
    """A torchvision Video Swin (fused qkv) loaded into our encoder gives the same features."""
    from torchvision.models.video.swin_transformer import SwinTransformer3d

    torch.manual_seed(0)
    tv = SwinTransformer3d(
        patch_size=[2, 4, 4],
        embed_dim=16,
        depths=[1, 2],
        num_heads=[1, 2],
        window_size=[2, 4, 4],
        stochastic_depth_prob=0.0,
    ).eval()
    with torch.no_grad():
        for p in tv.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    path = os.path.join(tempfile.mkdtemp(), "kinetics_like.pth")
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in tv.state_dict().items()}}, path)
    ours = VideoSwinEncoder(
        embed_dim=16, depths=(1, 2), heads=(1, 2), window=(2, 4, 4), patch=(2, 4, 4), drop_path=0
    ).eval()
    info = load_pretrained(ours, path)
    assert info["missing"] == [] and info["loaded"] > 20
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        ref = tv.norm(tv.features(tv.patch_embed(x))).permute(0, 4, 1, 2, 3)
        assert torch.allclose(ours(x), ref, atol=1e-5)
    from ipad_vad.errors import DataError

    with pytest.raises(DataError, match="never downloaded"):
        load_pretrained(ours, "/nonexistent/swin.pth")


def _tiny_lora_model():
    torch.manual_seed(0)
    return build_model("ipad_vad", SMOKE)


def test_lora_trains_only_adapters_embedding_norms_and_head():
    demo = add_lora(build_model("ipad_vad", DEMO), LoraSettings())
    summary = trainable_summary(demo)
    print(f"LoRA trainable at demo size: {summary['trainable']} of {summary['total']} ({100 * summary['share']:.1f}%)")
    n_lora = sum(p.numel() for n, p in demo.named_parameters() if "lora_" in n)
    assert summary["share"] < 0.05
    assert summary["total"] == count_parameters(build_model("ipad_vad", DEMO)) + n_lora
    pm = add_lora(_tiny_lora_model(), LoraSettings(rank=4, alpha=8))
    out = pm(torch.rand(2, 3, 8, 32, 32) * 2 - 1)
    (out["recon"].mean() + out["period_logits"].mean()).backward()
    with_grad = {n for n, p in pm.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    allowed = ("lora_", "patch_embed", "norm", "period_head")
    assert with_grad and all(any(a in n for a in allowed) for n in with_grad), sorted(with_grad)[:5]
    # B starts at zero (standard LoRA), so on the first step only B gets gradients; A is trainable
    assert any("attn.q.lora_B" in n for n in with_grad) and any("attn.v.lora_B" in n for n in with_grad)
    assert all(p.requires_grad for n, p in pm.named_parameters() if "lora_A" in n)
    assert not any(".attn.k." in n or ".attn.proj." in n or "decoder" in n or "mlp" in n for n in with_grad)


def test_adapter_save_load_gives_identical_outputs_and_is_small(tmp_path):
    base_state = _tiny_lora_model().state_dict()
    pm = add_lora(_tiny_lora_model(), LoraSettings(rank=4, alpha=8))
    with torch.no_grad():  # pretend fine-tuning changed the adapter and the norms
        for p in pm.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    pm.eval()
    x = torch.rand(2, 3, 8, 32, 32) * 2 - 1
    with torch.no_grad():
        ref = pm(x)["recon"]
    save_adapter(pm, tmp_path / "adapter")
    fresh = _tiny_lora_model()
    fresh.load_state_dict(base_state)
    loaded = load_adapter(fresh, tmp_path / "adapter").eval()
    with torch.no_grad():
        assert torch.equal(loaded(x)["recon"], ref)
    merged_base = _tiny_lora_model()
    merged = load_adapter(merged_base, tmp_path / "adapter", merge=True).eval()
    with torch.no_grad():
        assert torch.allclose(merged(x)["recon"], ref, atol=1e-5)
    torch.save(base_state, tmp_path / "base.pt")
    adapter_bytes = (tmp_path / "adapter/adapter_model.safetensors").stat().st_size
    assert adapter_bytes < 0.25 * (tmp_path / "base.pt").stat().st_size


class _Frames:
    def __init__(self, n, seed, size=32):
        g = torch.Generator().manual_seed(seed)
        self.f = (torch.rand(n, size, size, 3, generator=g) * 255).to(torch.uint8).numpy()

    def __len__(self):
        return len(self.f)

    def read(self, idx):
        return self.f[list(idx)]


class _Rendered:
    """Frames of a rendered machine (the press), 32x32: structured, like real footage."""

    def __init__(self, n):
        import numpy as np

        from ipad_vad.data.synth.render import RenderConfig, VideoPlan, render_video

        v = render_video(VideoPlan("S09", "training", 1, 2, {}, "normal"), RenderConfig(size=(32, 32), fps=3), 0)
        self.f = np.stack(v.frames[:n])

    def __len__(self):
        return len(self.f)

    def read(self, idx):
        return self.f[list(idx)]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ipad_vad", "conv_ae"])
def test_tiny_model_overfits_one_batch(name):
    torch.manual_seed(0)
    ds = ClipDataset([VideoRecord(_Rendered(8))], clip_len=8)
    m = build_model(name, SMOKE, clip_len=8)
    t = Trainer(
        m,
        TrainSettings(epochs=150, batch_size=1, lr=2e-3, device="cpu", num_workers=0),
        n_classes=50 if name == "ipad_vad" else None,
        progress=False,
    )
    hist = t.fit(ds)
    first, last = hist[0]["mse"], hist[-1]["mse"]
    print(f"{name}: mse {first:.4f} -> {last:.4f}")
    assert last < first / 5


def test_the_plateau_rule_by_hand():
    """Stop once each of the last `patience` epochs is less than min_drop below the best before them."""
    losses = [1.0, 0.8, 0.79, 0.785]
    assert not plateaued(losses[:2], 0.02, 1)  # 0.8 is 20 % below 1.0
    assert plateaued(losses[:3], 0.02, 1)  # 0.79 > 0.98 * 0.8 = 0.784
    assert not plateaued(losses[:3], 0.01, 1)  # 0.79 < 0.99 * 0.8 = 0.792
    assert not plateaued(losses[:3], 0.02, 2)  # 0.8 is not within 2 % of 1.0
    assert plateaued(losses, 0.02, 2)  # 0.79 and 0.785 both above 0.784
    assert not plateaued([1.0, 1.5, 2.0], 0.0, 1)  # 0: off
    assert not plateaued([1.0], 0.5, 1)  # one epoch has nothing before it


@pytest.mark.slow
def test_training_stops_at_its_plateau_and_a_resumed_run_does_not_train_on():
    """At a learning rate of 1e-12 the loss is flat: the second epoch is the plateau, whatever the cap."""
    ds = ClipDataset([VideoRecord(_Frames(20, 2))], clip_len=8, stride=4)
    s = TrainSettings(epochs=10, batch_size=2, lr=1e-12, device="cpu", num_workers=0, plateau_min_drop=0.01)
    torch.manual_seed(0)
    t = Trainer(build_model("conv_ae", SMOKE, clip_len=8), s, progress=False)
    hist = t.fit(ds)
    assert [h["epoch"] for h in hist] == [1, 2] and [h["plateau"] for h in hist] == [False, True]
    assert t.fit(ds) == hist  # already at its plateau: no further epoch
    capped = Trainer(
        build_model("conv_ae", SMOKE, clip_len=8),
        TrainSettings(**{**s.__dict__, "plateau_min_drop": 0.0}),
        progress=False,
    )
    assert len(capped.fit(ds)) == 10  # the rule off: every epoch of the cap


def test_one_cycle_rises_over_its_warmup_then_falls_to_its_floor():
    """OneCycleLR as make_scheduler sets it up: lr / 25 -> lr over the warmup share, cosine down to lr / 25e4."""
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([w], lr=1.0)
    sched = make_scheduler(opt, "one_cycle", 0.01, 0.25, 100)
    rates = []
    for _ in range(100):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert rates[0] == pytest.approx(0.01 / 25)
    assert max(rates) == pytest.approx(0.01) and int(np.argmax(rates)) in (24, 25)
    assert rates[-1] == pytest.approx(0.01 / 25e4, rel=0.1)
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)  # Adam's momentum left alone
    assert make_scheduler(opt, "constant", 0.01, 0.25, 100) is None


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["constant", "one_cycle"])
def test_checkpoint_resume_continues_identically(tmp_path, schedule):
    """Interrupted after epoch 1 and resumed: the same weights and losses as a straight run (with a
    schedule: the rate restored where the checkpoint left it)."""
    ds = ClipDataset([VideoRecord(_Frames(20, 2)), VideoRecord(_Frames(14, 3))], clip_len=8, stride=2)
    s = TrainSettings(epochs=3, batch_size=2, lr=1e-3, device="cpu", num_workers=0, seed=7, schedule=schedule)

    def model():
        torch.manual_seed(0)
        return build_model("ipad_vad", SMOKE, drop_path=0.1)

    straight = Trainer(model(), s, n_classes=200, progress=False)
    straight.fit(ds)

    class Interrupted(Exception):
        pass

    def stop(epoch, metrics):
        raise Interrupted  # after epoch 1's checkpoint: the process killed there

    first = Trainer(model(), s, n_classes=200, checkpoint=tmp_path / "ck.pt", on_epoch_end=stop, progress=False)
    with pytest.raises(Interrupted):
        first.fit(ds)
    resumed = Trainer(model(), s, n_classes=200, checkpoint=tmp_path / "ck.pt", progress=False)
    hist = resumed.fit(ds, resume=True)
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    for (n, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), n
    assert [h["loss"] for h in hist] == [h["loss"] for h in straight.history]


@pytest.mark.slow
def test_a_checkpoint_of_another_schedule_is_refused_with_its_name(tmp_path):
    ds = ClipDataset([VideoRecord(_Frames(20, 2))], clip_len=8, stride=2)
    s = TrainSettings(epochs=1, batch_size=2, lr=1e-3, device="cpu", num_workers=0, schedule="one_cycle")
    Trainer(build_model("conv_ae", SMOKE, clip_len=8), s, checkpoint=tmp_path / "ck.pt", progress=False).fit(ds)
    longer = TrainSettings(**{**s.__dict__, "epochs": 3})
    t = Trainer(build_model("conv_ae", SMOKE, clip_len=8), longer, checkpoint=tmp_path / "ck.pt", progress=False)
    with pytest.raises(ValueError, match="ck.pt: made by a run of .* scheduled steps"):
        t.fit(ds)


@pytest.mark.slow
def test_training_with_spawned_workers_inside_a_prefect_flow(tmp_path):
    """DataLoader workers started by fork die inside Prefect task runs; the loop spawns them."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "job.py"
    script.write_text(
        textwrap.dedent("""
        import torch
        from prefect import flow, task
        from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord
        from ipad_vad.train.loop import Trainer, TrainSettings
        from tests.helpers import build_model
        from tests.test_models import SMOKE, _Frames

        @task
        def train():
            ds = ClipDataset([VideoRecord(_Frames(24, 1))], clip_len=8, stride=4)
            t = Trainer(build_model("conv_ae", SMOKE, clip_len=8),
                        TrainSettings(epochs=2, batch_size=2, num_workers=2, device="cpu"), progress=False)
            return len(t.fit(ds))

        @flow
        def job():
            return train()

        if __name__ == "__main__":
            assert job() == 2
            print("ok")
    """)
    )
    import os

    from .conftest import ROOT

    env = dict(  # spawned workers import the dataset's classes too; the ephemeral server starts slowly under load
        os.environ, PYTHONPATH=str(ROOT), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120"
    )
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=600, env=env)
    assert r.returncode == 0 and "ok" in r.stdout, r.stdout[-2000:] + r.stderr[-3000:]
