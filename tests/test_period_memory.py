"""Eq. 1-6 of seed 000 against hand computations on tiny tensors."""

import numpy as np
import pytest
import torch

from ipad_vad.models.period_memory import PeriodMemory, memory_entropy


@pytest.fixture(autouse=True)
def _no_grad():  # these tests compare values; gradients are tested elsewhere
    with torch.no_grad():
        yield


MEM = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]]  # M = 4 slots, C = 2
F0 = [[1.0, 2.0], [0.0, 1.0]]  # sample 0: N = 2 tokens
F1 = [[2.0, 0.0], [1.0, -1.0]]  # sample 1
P = [[0.7, 0.3], [0.2, 0.8]]  # period scores: sample 0 -> t_p = 0, sample 1 -> t_p = 1


def _module(**kw):
    m = PeriodMemory(mem_size=4, dim=2, n_classes=2, **kw)
    with torch.no_grad():
        m.memory.copy_(torch.tensor(MEM))
    return m


def _softmax_rows(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_eq1_to_6_per_sample_by_hand():
    m = _module()
    out, w_hat, t_p = m(torch.tensor([F0, F1]), torch.tensor(P))
    assert t_p.tolist() == [0, 1]  # eq. 2
    assert m.slot_of(torch.tensor([0, 1])).tolist() == [0, 2]  # eq. 3: t * M / n_classes
    # eq. 1 by hand: w = F M^T
    w0 = np.array([[1, 2, 3, -1], [0, 1, 1, 0]], float)
    w1 = np.array([[2, 0, 2, -2], [1, -1, 0, -1]], float)
    # eq. 4: only the mapped column is boosted, by (1 + P_s[t_p]); each sample its own
    w0b, w1b = w0.copy(), w1.copy()
    w0b[:, 0] *= 1.7
    w1b[:, 2] *= 1.8
    exp0, exp1 = _softmax_rows(w0b), _softmax_rows(w1b)  # eq. 5 (over memory slots)
    assert np.allclose(w_hat[0].numpy(), exp0, atol=1e-6)
    assert np.allclose(w_hat[1].numpy(), exp1, atol=1e-6)
    assert np.allclose(out[0].numpy(), exp0 @ np.array(MEM), atol=1e-6)  # eq. 6
    assert np.allclose(out[1].numpy(), exp1 @ np.array(MEM), atol=1e-6)
    # without period scores nothing is boosted (the memAE memory)
    _, plain, none = m(torch.tensor([F0, F1]))
    assert none is None and np.allclose(plain[0].numpy(), _softmax_rows(w0), atol=1e-6)
    # boosting touched only the mapped slot: the ratios between other slots are unchanged
    r_b = w_hat[0, 0, 1:] / w_hat[0, 0, 1]
    r_p = plain[0, 0, 1:] / plain[0, 0, 1]
    assert torch.allclose(r_b, r_p)


def test_eq5_as_printed_normalises_columns_over_tokens():
    m = _module(softmax_over="tokens")
    _, w_hat, _ = m(torch.tensor([F0]), torch.tensor([P[0]]))
    w0b = np.array([[1.7, 2, 3, -1], [0, 1, 1, 0]], float)
    e = np.exp(w0b)
    assert np.allclose(w_hat[0].numpy(), e / e.sum(axis=0, keepdims=True), atol=1e-6)
    assert np.allclose(w_hat[0].sum(0).numpy(), 1.0)


def test_official_neighbour_boost_wraps_around():
    m = PeriodMemory(mem_size=10, dim=1, n_classes=10, boost_radius=1)
    with torch.no_grad():
        m.memory.fill_(1.0)
    probs = torch.zeros(1, 10)
    probs[0, 0] = 0.5  # t_p = 0 -> slot 0; neighbours 9 and 1
    probs[0, 1:] = 0.5 / 9
    _, w_hat, _ = m(torch.ones(1, 1, 1), probs)
    w = np.ones(10)
    w[[9, 0, 1]] *= 1.5
    assert np.allclose(w_hat[0, 0].numpy(), np.exp(w) / np.exp(w).sum(), atol=1e-6)


def test_hard_shrinkage_zeroes_small_weights_and_renormalises():
    m = PeriodMemory(mem_size=4, dim=2, n_classes=2, shrink_threshold=0.2)
    with torch.no_grad():
        m.memory.copy_(torch.tensor(MEM))
    _, w_hat, _ = m(torch.tensor([F0]))
    raw = _softmax_rows(np.array([[1, 2, 3, -1], [0, 1, 1, 0]], float))
    kept = np.where(raw > 0.2, raw, 0)
    assert np.allclose(w_hat[0].numpy(), kept / kept.sum(1, keepdims=True), atol=1e-5)


def test_entropy_term():
    w = torch.tensor([[[0.5, 0.5, 0.0, 0.0]]])
    assert memory_entropy(w).item() == pytest.approx(np.log(2), abs=1e-6)
