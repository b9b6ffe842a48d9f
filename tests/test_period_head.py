"""The period head f_p (seed 000 eq. 2) as a clock (issue 25): where the phase is in the layout of the
features, a head that keeps the layout (``period.pool``) learns it; one vector per clip cannot."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ipad_vad.models.period_head import PeriodHead, circular_mean_phase, period_targets, phase_accuracy

N_CLASSES = 20  # ±5 % of a cycle: within one class of the truth


def cycle_features(phase: torch.Tensor, size: int = 4, channels: int = 4) -> torch.Tensor:
    """Features (B, C, D=2, size, size) of a part going round a circle once per cycle: a blob in channel
    0 whose mass is the same at every phase, so the clip's mean feature says nothing of it."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    c = (size - 1) / 2
    cx, cy = c + c * torch.cos(2 * torch.pi * phase), c + c * torch.sin(2 * torch.pi * phase)
    blob = torch.exp(-((xx - cx[:, None, None]) ** 2 + (yy - cy[:, None, None]) ** 2) / 0.8)
    blob = blob / blob.sum((1, 2), keepdim=True)
    f = torch.zeros(len(phase), channels, 2, size, size)
    f[:, 0] = blob[:, None]
    f[:, 1:] = 1.0
    return f


def trained_head(pool: tuple[int, int, int], steps: int = 400) -> PeriodHead:
    torch.manual_seed(0)
    head = PeriodHead(4, N_CLASSES, pool=pool)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(steps):
        phase = torch.rand(64)
        loss = F.cross_entropy(head(cycle_features(phase)), period_targets(phase, N_CLASSES))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return head.eval()


@pytest.mark.parametrize("pool, learns", [((1, 4, 4), True), ((1, 1, 1), False)])
def test_a_period_head_learns_the_phase_of_a_cycle_only_if_it_keeps_the_layout(pool, learns):
    head = trained_head(pool)
    phase = (torch.arange(200) + 0.5) / 200  # every phase of a normal cycle
    with torch.no_grad():
        t_p = head(cycle_features(phase)).argmax(-1).numpy()
    acc = phase_accuracy(t_p, phase.numpy(), np.zeros(200), N_CLASSES)
    if learns:
        assert acc["within_tolerance"] >= 0.9 and acc["mean_circular_error"] < 0.03
    else:
        assert acc["within_tolerance"] <= 0.3  # chance is 0.1: the pooled vector carries no phase


def test_phase_accuracy_by_hand():
    """Class centres against the annotated phase, circularly; anomalous or unannotated clips left out."""
    t_p = np.array([0, 9, 5, 3, 7])
    phase = np.array([0.99, 0.5, 0.3, np.nan, 0.1])
    label = np.array([0, 0, 0, 0, 1])
    acc = phase_accuracy(t_p, phase, label, 10)  # class k stands for (k + 0.5) / 10
    # errors: |0.05 - 0.99| -> 0.06 circular; |0.95 - 0.5| = 0.45; |0.55 - 0.3| = 0.25
    assert acc["clips"] == 3
    assert acc["exact_class"] == 0.0
    assert acc["within_tolerance"] == 0.0
    assert acc["mean_circular_error"] == pytest.approx((0.06 + 0.45 + 0.25) / 3)
    assert phase_accuracy(t_p, phase, np.ones(5), 10) is None
    acc = phase_accuracy(np.array([9, 0]), np.array([0.97, 0.02]), np.zeros(2), 10)
    assert acc["exact_class"] == 1.0 and acc["within_tolerance"] == 1.0


def test_the_circular_mean_of_the_head_wraps_round_the_cycle_and_sits_between_classes():
    """t_p = n / 2pi * arg(sum_k p_k e^{2 pi i k / n}) mod n, against hand-computed distributions."""

    def logits(p):  # a distribution p as logits
        return torch.log(torch.as_tensor(p, dtype=torch.float64).clamp_min(1e-30)).float()

    p = np.zeros((4, 10))
    p[0, 3] = 1  # one class: the class itself
    p[1, [9, 0]] = 0.5  # across the wrap: 9.5, not 4.5
    p[2, [2, 3]] = [0.25, 0.75]  # between classes, nearer 3
    p[3, [1, 6]] = [0.8, 0.2]  # two modes half a cycle apart: the stronger one, undisturbed
    t = circular_mean_phase(logits(p)).numpy()
    z = 0.25 * np.exp(2j * np.pi * 2 / 10) + 0.75 * np.exp(2j * np.pi * 3 / 10)
    assert t[0] == pytest.approx(3, abs=1e-4)
    assert t[1] == pytest.approx(9.5, abs=1e-4)
    assert t[2] == pytest.approx(np.angle(z) * 10 / (2 * np.pi), abs=1e-4) and 2.5 < t[2] < 3
    assert t[3] == pytest.approx(1, abs=1e-4)
    # phase_accuracy reads a t_p between classes by the class it rounds to
    acc = phase_accuracy(np.array([2.6, 9.6]), np.array([0.31, 0.01]), np.zeros(2), 10)
    assert acc["exact_class"] == 1.0  # 2.6 -> class 3 (0.3-0.4); 9.6 -> class 0 (0.0-0.1)


def test_ipad_vad_reads_t_p_as_its_settings_say():
    from ipad_vad.config import load_params
    from ipad_vad.methods import get_method

    smoke = load_params("params.yaml", "smoke")
    x = torch.randn(5, 200)
    for readout, want in (("argmax", x.argmax(-1).float()), ("circular_mean", circular_mean_phase(x))):
        m = get_method(
            "ipad_vad",
            {
                **smoke,
                "methods": {
                    **smoke["methods"],
                    "ipad_vad": {
                        **smoke["methods"]["ipad_vad"],
                        "period": {**smoke["methods"]["ipad_vad"]["period"], "readout": readout},
                    },
                },
            },
        )
        assert torch.equal(m.read_phase(x).float(), want)


class _Clips(torch.utils.data.Dataset):
    """Clips (3, T=2, 16, 16) of a dot going round a circle, one clip per phase, as a ClipDataset
    gives them (one video)."""

    def __init__(self, phases: torch.Tensor):
        self.phases = phases
        self.video_slices = [range(len(phases))]

    def __len__(self) -> int:
        return len(self.phases)

    def __getitem__(self, i: int) -> dict:
        p = float(self.phases[i])
        clip = torch.full((3, 2, 16, 16), -1.0)
        x, y = 7.5 + 6 * np.cos(2 * np.pi * p), 7.5 + 6 * np.sin(2 * np.pi * p)
        clip[:, :, round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2] = 1.0
        return {"clip": clip, "phase": p, "center": i, "video_len": len(self.phases), "label": 0}


class _TinyPeriodModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.encoder = torch.nn.Sequential(torch.nn.Conv3d(3, 4, 1), torch.nn.AdaptiveAvgPool3d((1, 4, 4)))
        self.period_head = PeriodHead(4, N_CLASSES, pool=(1, 4, 4))


def test_the_period_head_is_fitted_to_the_phase_on_the_frozen_encoder():
    """train/period_head_fit: the head alone learns the clock from the encoder's features of the training
    clips; the encoder is not touched."""
    from ipad_vad.train.loop import TrainSettings
    from ipad_vad.train.period_head_fit import fit_period_head

    model = _TinyPeriodModel()
    encoder = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    test = _Clips((torch.arange(100) + 0.25) / 100)  # phases between the training ones

    def accuracy():
        with torch.no_grad():
            x = torch.stack([test[i]["clip"] for i in range(len(test))])
            t_p = model.period_head(model.encoder(x)).argmax(-1).numpy()
        return phase_accuracy(t_p, test.phases.numpy(), np.zeros(len(test)), N_CLASSES)["within_tolerance"]

    before = accuracy()
    settings = TrainSettings(batch_size=32, device="cpu", threads=1)
    info = fit_period_head(model, _Clips(torch.arange(100) / 100), settings, N_CLASSES, 300, 1e-2, 1.0)
    assert info["clips"] == 100 and info["steps"] == 300 and info["train_within_tolerance"] >= 0.9
    assert before <= 0.3 and accuracy() >= 0.9
    assert all(torch.equal(v, model.encoder.state_dict()[k]) for k, v in encoder.items())
    # nothing to fit: no steps, nothing changed
    assert fit_period_head(model, _Clips(torch.arange(100) / 100), settings, N_CLASSES, 0, 1e-2, 1.0) == {
        "clips": 100,
        "steps": 0,
    }


def test_the_head_fit_stops_where_its_loss_meets_the_targets_own_entropy():
    """The stopping rule (train/period_head_fit.py): the loss minus the soft targets' entropy is the
    divergence from the targets; the fit stops at the first step where it is within `tol`, and a head
    already there takes no step at all."""
    from ipad_vad.models.period_head import period_soft_targets
    from ipad_vad.train.loop import TrainSettings
    from ipad_vad.train.period_head_fit import fit_period_head

    clips, settings = _Clips(torch.arange(100) / 100), TrainSettings(batch_size=32, device="cpu", threads=1)
    model = _TinyPeriodModel()
    info = fit_period_head(model, clips, settings, N_CLASSES, 3000, 1e-2, 1.0, tol=0.1)
    assert info["converged"] and 0 < info["steps"] < 3000 and 0 <= info["divergence"] <= 0.1
    # the floor by hand: one target's circular Gaussian over the classes, the same entropy for every class
    w = np.exp(-0.5 * np.minimum(np.arange(N_CLASSES), N_CLASSES - np.arange(N_CLASSES)) ** 2)
    w /= w.sum()
    floor = -(w * np.log(w)).sum()
    assert floor == pytest.approx(float(-(period_soft_targets(torch.tensor([0]), N_CLASSES, 1.0).log() * w).sum()))
    assert info["loss"] == pytest.approx(floor + info["divergence"], abs=1e-5)
    again = fit_period_head(model, clips, settings, N_CLASSES, 3000, 1e-2, 1.0, tol=0.1)
    assert again["steps"] == 0 and again["converged"] and again["loss"] == pytest.approx(info["loss"], abs=1e-6)
    # without a tolerance it runs every step and never claims to have converged
    capped = fit_period_head(_TinyPeriodModel(), clips, settings, N_CLASSES, 50, 1e-2, 1.0)
    assert capped["steps"] == 50 and not capped["converged"] and capped["divergence"] > 0.1


def test_soft_period_targets_wrap_round_the_cycle():
    from ipad_vad.models.period_head import period_soft_targets

    s = period_soft_targets(torch.tensor([0, 5]), 10, 1.0)
    assert torch.allclose(s.sum(-1), torch.ones(2))
    assert s[0, 1] == pytest.approx(s[0, 9]) and s[0, 0] > s[0, 1] > s[0, 2]  # the last class neighbours the first
    assert torch.equal(period_soft_targets(torch.tensor([3]), 10, 0.0), F.one_hot(torch.tensor([3]), 10).float())


def test_a_head_fitted_on_all_of_the_footage_reads_more_of_it_than_the_adaptation():
    """``period.fit_footage: all``: the adaptation's trainer reads its share (``adapt.fraction``) of each
    recording, the head all of it; with the share alone the head learns only the phases it saw."""
    from ipad_vad.train.loop import TrainSettings
    from ipad_vad.train.period_head_fit import fit_period_head

    clips = _Clips(torch.arange(100) / 100)
    share = TrainSettings(batch_size=32, device="cpu", threads=1, fraction=0.2, fraction_mode="contiguous")
    x = torch.stack([clips[i]["clip"] for i in range(50, 100)])  # the second half of the cycle

    def second_half(model) -> float:
        with torch.no_grad():
            t_p = model.period_head(model.encoder(x)).argmax(-1).numpy()
        return phase_accuracy(t_p, clips.phases[50:].numpy(), np.zeros(50), N_CLASSES)["within_tolerance"]

    fifth = _TinyPeriodModel()
    assert fit_period_head(fifth, clips, share, N_CLASSES, 300, 1e-2, 1.0)["clips"] == 20
    everything = _TinyPeriodModel()
    assert fit_period_head(everything, clips, share, N_CLASSES, 300, 1e-2, 1.0, fraction=1.0)["clips"] == 100
    assert second_half(fifth) <= 0.2 and second_half(everything) >= 0.9  # the fifth never shows it
