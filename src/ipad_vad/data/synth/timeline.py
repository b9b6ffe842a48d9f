"""The timeline of a video: for every frame, which cycle, which step and how far into it.

A device's cycle is a sequence of steps with fractions of the cycle (e.g. gripper: reach, grip,
carry, release, return). Normal cycles run the steps in order over ``L_k`` frames, with ``L_k``
varying a little from cycle to cycle. Timeline anomalies edit one cycle:

* ``pause``        — the machine holds its pose for a while (labels: the held frames);
* ``speed``        — a stretch of the cycle runs 2.2x faster or slower (labels: that stretch);
* ``order``        — two steps swap places (labels: the frames of both swapped steps);
* ``missing_step`` — a step is skipped, the cycle ends early (labels: from the skip to the cycle end).

Cycle starts (first frame of step 0 of each cycle) are the ground truth written to `periods/`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class State:
    cycle: int
    step: int
    u: float  # progress in the step, [0, 1)
    phase: float  # nominal progress in the cycle, [0, 1)


@dataclass
class Timeline:
    states: list[State]
    cycle_starts: list[int]
    labels: np.ndarray  # uint8 per frame (timeline anomalies only)
    types: np.ndarray  # int16 anomaly code per frame (timeline anomalies only)

    def __len__(self) -> int:
        return len(self.states)


def _cycle_states(cycle: int, order: list[int], fracs: np.ndarray, n: int) -> list[tuple[State, bool]]:
    """States of one cycle running the steps `order` over `n` frames (flag: step is out of order)."""
    total = fracs[order].sum()
    bounds = np.concatenate([[0], np.cumsum(fracs[order]) / total])
    out = []
    for f in range(n):
        x = f / n
        k = min(int(np.searchsorted(bounds, x, side="right")) - 1, len(order) - 1)
        u = (x - bounds[k]) / (bounds[k + 1] - bounds[k])
        step = order[k]
        phase = float(fracs[:step].sum() + u * fracs[step])
        out.append((State(cycle, step, float(u), phase), order[k] != sorted(order)[k]))
    return out


def build_timeline(
    fracs,
    cycle_len: int,
    n_cycles: int,
    rng: np.random.Generator,
    jitter: float,
    events: dict[int, tuple[str, dict]],
    codes: dict[str, int],
) -> Timeline:
    """`events`: cycle index -> (timeline anomaly type, parameters)."""
    fracs = np.asarray(fracs, dtype=np.float64)
    fracs = fracs / fracs.sum()
    n_steps = len(fracs)
    states: list[State] = []
    labels: list[int] = []
    types: list[int] = []
    starts: list[int] = []
    for c in range(n_cycles):
        L = max(n_steps * 2, int(round(cycle_len * (1 + jitter * rng.standard_normal()))))
        starts.append(len(states))
        kind, p = events.get(c, (None, {}))
        code = codes.get(kind, 0)
        if kind is None or kind == "pause":
            seq = [(s, False) for s, _ in _cycle_states(c, list(range(n_steps)), fracs, L)]
            if kind == "pause":
                at = int(p["at"] * L)
                hold = max(2, int(p["length"] * L))
                seq = seq[: at + 1] + [(seq[at][0], True)] * hold + seq[at + 1 :]
        elif kind == "speed":
            seq = [(s, False) for s, _ in _cycle_states(c, list(range(n_steps)), fracs, L)]
            a, b = int(p["start"] * L), int(p["end"] * L)
            # resample the stretch [a, b) at `factor` frames per original frame
            n_new = max(2, int(round((b - a) / p["factor"])))
            idx = a + np.arange(n_new) * (b - a) / n_new  # `factor` original frames per new frame
            stretch = []
            for x in idx:
                lo = seq[int(x)][0]
                stretch.append((_interp(lo, seq[min(int(x) + 1, len(seq) - 1)][0], x - int(x)), True))
            seq = seq[:a] + stretch + seq[b:]
        elif kind == "order":
            i, j = p["swap"]
            order = list(range(n_steps))
            order[i], order[j] = order[j], order[i]
            seq = _cycle_states(c, order, fracs, L)
        elif kind == "missing_step":
            order = [s for s in range(n_steps) if s != p["skip"]]
            n = int(round(L * (1 - fracs[p["skip"]])))
            seq = [(s, s.step > p["skip"] or False) for s, _ in _cycle_states(c, order, fracs, n)]
            # nominal phase of the remaining steps keeps their place in the full cycle
        else:
            raise ValueError(f"not a timeline anomaly: {kind}")
        for s, anomalous in seq:
            states.append(s)
            labels.append(int(anomalous))
            types.append(code if anomalous else 0)
    return Timeline(states, starts, np.asarray(labels, np.uint8), np.asarray(types, np.int16))


def _interp(a: State, b: State, t: float) -> State:
    if a.step != b.step or a.cycle != b.cycle:
        return a if t < 0.5 else b
    return State(a.cycle, a.step, a.u + (b.u - a.u) * t, a.phase + (b.phase - a.phase) * t)
