"""The 16 scenes: S01-S12 synthetic devices and R01-R04, the real-domain twins of S01-S04
(same machine and cycle length, different domain), mirroring IPAD (seed 000 §3, Fig. 3).

Cycle lengths are nominal seconds (the paper: 5-30 s); frames per cycle = seconds x the profile's
``fps``, so CPU profiles shrink time without changing the machines.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SceneSpec:
    name: str
    device: str
    cycle_seconds: float
    domain: str  # "synthetic" or "real"
    twin: str | None = None  # the synthetic scene a real-domain scene mirrors


_SYNTHETIC = [
    ("S01", "conveyor", 5),
    ("S02", "lift_table", 8),
    ("S03", "cutter", 6),
    ("S04", "drill", 10),
    ("S05", "gripper", 12),
    ("S06", "crane", 24),
    ("S07", "forklift", 30),
    ("S08", "rotary_indexer", 7),
    ("S09", "press", 5),
    ("S10", "sorter", 9),
    ("S11", "piston", 5),
    ("S12", "labeller", 8),
]

SCENES: dict[str, SceneSpec] = {n: SceneSpec(n, d, float(s), "synthetic") for n, d, s in _SYNTHETIC}
for i in range(1, 5):
    twin = SCENES[f"S{i:02d}"]
    SCENES[f"R{i:02d}"] = SceneSpec(f"R{i:02d}", twin.device, twin.cycle_seconds, "real", twin.name)
