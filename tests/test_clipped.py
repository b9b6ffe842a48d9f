"""Pixels clipped at white or black compared as the bounds they are (``models/clipped.py``, issue 26):
the flags against a hand count, the censored residual against a hand count, and a light switched on
that clips the bright half of a view scoring as normal while a white object on a dark wall does not."""

from __future__ import annotations

import pytest
import torch

from ipad_vad.models.clipped import BLACK, WHITE, censored_residual, clipped_flags
from ipad_vad.models.knn_reference import KnnReference


def _levels(v: torch.Tensor) -> torch.Tensor:
    """uint8 grey levels as the clips hold them, in [-1, 1]."""
    return v.float() / 127.5 - 1


def test_clipped_flags_mark_each_area_that_held_a_pixel_at_white_or_black():
    """One frame of 4 x 4 pixels, 2 channels, pooled to 2 x 2: an area with a pixel at 254 is WHITE with
    `within` 2 (253 and above), not with `within` 0; a pixel at 1 makes its area BLACK; an area with
    both is both; the other channel of the same pixels is untouched. With `within` 0 only 255 and 0
    count."""
    v = torch.full((1, 2, 1, 4, 4), 128)
    v[0, 0, 0, 0, 0] = 254  # top-left area, channel 0
    v[0, 0, 0, 3, 3] = 1  # bottom-right area, channel 0
    v[0, 0, 0, 0, 3], v[0, 0, 0, 1, 2] = 255, 0  # top-right area, channel 0: both
    flags = clipped_flags(_levels(v).transpose(1, 2), size=(2, 2), within=2).reshape(2, 2, 2)
    assert flags[0].tolist() == [[WHITE, WHITE | BLACK], [0, BLACK]]
    assert flags[1].eq(0).all()
    strict = clipped_flags(_levels(v).transpose(1, 2), size=(2, 2), within=0).reshape(2, 2, 2)
    assert strict[0].tolist() == [[0, WHITE | BLACK], [0, 0]]  # 254 and 1 are no longer clipped; 255 and 0 are


def test_the_censored_residual_against_a_hand_count():
    """Bank b = [0, 1, 2, 3], query q = [0, 2, 4, q3] with its last element clipped at white: over the
    three measured elements q has mean 2 and standard deviation 2, b mean 1 and standard deviation 1,
    so b' = 2 (b - 1) + 2 = [0, 2, 4, 6]; r = [0, 0, 0, max(0, q3 - 6)]. At black the bound is
    min(0, q3 - 6); with both bits 0. A frame with nothing clipped: q - b exactly."""
    b = torch.tensor([0.0, 1.0, 2.0, 3.0]).reshape(1, 1, 1, 4, 1)
    flags = torch.tensor([0, 0, 0, WHITE], dtype=torch.uint8).reshape(1, 1, 1, 4, 1)

    def r(q3: float, f: torch.Tensor = flags) -> list[float]:
        q = torch.tensor([0.0, 2.0, 4.0, q3]).reshape(1, 1, 1, 4, 1)
        return censored_residual(q, b, f).flatten().tolist()

    assert r(10.0) == pytest.approx([0, 0, 0, 4], abs=1e-6)  # brighter than the bank explains: counts
    assert r(5.0) == pytest.approx([0, 0, 0, 0], abs=1e-6)  # a bright region that clipped: explained
    assert r(5.0, flags * 0 + torch.tensor([0, 0, 0, BLACK], dtype=torch.uint8).reshape(flags.shape)) == (
        pytest.approx([0, 0, 0, -1], abs=1e-6)
    )
    assert r(10.0, flags * 0 + torch.tensor([0, 0, 0, WHITE | BLACK], dtype=torch.uint8).reshape(flags.shape)) == (
        pytest.approx([0, 0, 0, 0], abs=1e-6)
    )
    q = torch.tensor([0.3, 2.0, 4.0, 10.0]).reshape(1, 1, 1, 4, 1)
    assert torch.equal(censored_residual(q, b, torch.zeros_like(flags)), q - b)


def _scene() -> torch.Tensor:
    """A view (3, 64, 64) at uint8 levels: a dark textured wall, a mid-grey part, a striped bright floor;
    no pixel within 10 levels of white or black (``clipped_within``'s default)."""
    g = torch.Generator().manual_seed(0)
    s = -0.4 + 0.1 * torch.randn(3, 64, 64, generator=g)
    s[:, 10:30, 20:44] = torch.tensor([0.1, -0.2, -0.4])[:, None, None] + 0.1 * torch.randn(3, 20, 24, generator=g)
    s[:, 40:] = 0.4 + 0.3 * torch.sin(torch.arange(64) / 3.0) + 0.05 * torch.randn(3, 24, 64, generator=g)
    return _levels(((s.clamp(-1, 1) + 1) * 127.5).round())


def _lit(view: torch.Tensor, gain: float) -> torch.Tensor:
    """The view with the light raised by `gain`, clipped at 255 as a camera does."""
    return _levels(((view + 1) * 127.5 * gain).round().clamp(0, 255))


def test_a_light_switched_on_that_clips_the_bright_floor_scores_as_normal_and_a_white_object_does_not():
    """A light raised by 30 % clips the brighter stripes of the floor (a seventh of the view): without the
    censoring the per-frame normalisation leaves every stripe edge off by contrast and the clip errs;
    with it the score is 0. A white object on the dark wall clips too, and scores as high as before.
    Footage that clips nothing scores the same bit for bit."""
    view = _scene()
    lit = _lit(view, 1.3)
    assert 0.1 < float((lit >= 1 - 1e-6).float().mean()) < 0.4
    thing = lit.clone()
    thing[:, 4:8, 4:8] = 1.0  # a white object on the dark wall

    def clip(v: torch.Tensor) -> torch.Tensor:
        return v[None, :, None].expand(1, 3, 3, 64, 64).contiguous()

    scores = {}
    for censor in (False, True):
        m = KnnReference(frames=3, size=(16, 16), score="local", cell=4, offset_cell=8, shift=1, censor_clipped=censor)
        m.set_bank(m.descriptor(clip(view)))
        scores[censor] = [m(clip(v))["distance"].item() for v in (view, lit, thing)]
    assert scores[False][0] == scores[True][0]  # nothing clipped: bit for bit
    assert scores[False][1] > 0.02  # the light switched on errs at the clipped stripes
    assert scores[True][1] == pytest.approx(0.0, abs=1e-4)  # censored: explained
    assert scores[True][2] > 0.5 and scores[True][2] == pytest.approx(scores[False][2], rel=0.05)


def test_a_descriptor_other_than_the_clips_own_pixels_is_not_censored():
    """``KnnReference.query_descriptors``' flags are None off, with the global score, or when the matcher's
    descriptor is not ``ClipDescriptor`` (the feature bank's learned maps hold no pixel to censor)."""
    x = torch.ones(1, 3, 3, 8, 8)  # every pixel at white
    flags = lambda model: model.query_descriptors(x)[1]  # noqa: E731
    on = KnnReference(frames=3, size=(4, 4), score="local", cell=2, censor_clipped=True)
    assert flags(on) is not None and bool(flags(on).eq(WHITE).all())
    assert torch.equal(on.query_descriptors(x)[0], on.descriptor(x))  # the same descriptor, sampled once
    assert flags(KnnReference(frames=3, size=(4, 4), score="local", cell=2)) is None
    assert flags(KnnReference(frames=3, size=(4, 4), score="global", censor_clipped=True)) is None

    class Learned(torch.nn.Module):  # a descriptor of the same layout that is no pixel: a feature map
        frames, channels, size, dim = 3, 3, (4, 4), 3 * 3 * 4 * 4

    other = KnnReference(score="local", cell=2, censor_clipped=True, descriptor=Learned())
    assert other.censors() is False
    with pytest.raises(ValueError, match="clipped_within must be 0-127"):
        KnnReference(censor_clipped=True, clipped_within=200)
