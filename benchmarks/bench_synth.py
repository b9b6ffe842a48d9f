"""Generator throughput (frames/s, rendering + JPEG encoding + writing) per profile.

smoke and demo are generated whole; paper (256x256, 30 fps, ~600k frames in total) is measured on a
subset (--paper-scenes, fewer videos) because the whole would take long on a laptop: the rate is
what matters. Writes benchmarks/results/bench_synth.json.

    python benchmarks/bench_synth.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import write_result

from ipad_vad.config import load_params
from ipad_vad.data.synth.generator import SynthConfig, generate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paper-scenes", default="S01,R01")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rows = {}
    for profile in ("smoke", "demo", "paper"):
        p = load_params(ROOT / "params.yaml", profile)["synth"]
        over = {"workers": args.workers}
        if profile == "paper":
            over.update(scenes=args.paper_scenes.split(","), train_videos=1, test_videos=2)
        cfg = SynthConfig.from_params(p, **over)
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            summary = generate(Path(tmp) / "ipad", cfg)
            dt = time.perf_counter() - t
        n = summary["n_frames"]
        rows[profile] = {
            "frames": n,
            "seconds": round(dt, 2),
            "frames_per_s": round(n / dt, 1),
            "size": list(cfg.size),
            "scenes": len(cfg.scenes),
            "videos": len(summary["videos"]),
            "subset": profile == "paper",
        }
        print(profile, rows[profile])
    write_result("bench_synth", {"workers": args.workers, "results": rows})


if __name__ == "__main__":
    main()
