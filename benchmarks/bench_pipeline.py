"""Pipeline timing for a profile (default demo), measured in a fresh clone of this repository:

* wall time of every DVC stage (`dvc repro -s <stage>`, in pipeline order, each stage's `ipad` step
  running its Prefect flow against a local Prefect server);
* the time of a no-op `dvc repro` afterwards;
* the rerun after new footage for one device (`ipad ingest`: import, `dvc add`, `dvc repro`) as a
  ratio to the full run.

The footage is the profile's synthetic data imported into data/ipad and versioned with `dvc add`
(the path real footage takes). Writes benchmarks/results/bench_pipeline.json, and the full run's
results table as benchmarks/results/pipeline_<profile>_results.{md,json}.

    python benchmarks/bench_pipeline.py [--profile demo] [--device R01]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import prefect_server, write_result

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def sh(cmd: str, cwd: Path, env: dict) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=env, shell=True, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--device", default="R01")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ipad-bench-"))
    repo = work / "project"
    sh(f"git clone -q {ROOT} {repo}", work, os.environ)
    sh(f"{sys.executable} scripts/smoke_params.py {args.profile} params.yaml", repo, os.environ)
    (repo / "params.yaml").write_text(
        (repo / "params.yaml").read_text().replace("root: data/synth", "root: data/ipad", 1)
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        PATH=f"{BIN}:{os.environ['PATH']}",
        PREFECT_HOME=str(work / "prefect"),
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        MLFLOW_TRACKING_URI=f"sqlite:///{repo / 'mlflow.db'}",
        IPAD_PIPELINE_ID="bench",
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="b@b",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="b@b",
    )
    server = prefect_server(env, port, "--no-services")
    try:
        sh(f"ipad data synth --profile {args.profile} --out ../footage", repo, env)
        sh("ipad data import ../footage --out data/ipad", repo, env)
        sh("dvc config core.analytics false && dvc add -q data/ipad && git add -A && git commit -qm footage", repo, env)
        stages = [line.split()[0] for line in sh("dvc stage list", repo, env).splitlines() if line.strip()]
        times = {}
        for stage in stages:
            t = time.perf_counter()
            sh(f"dvc repro -s {stage}", repo, env)
            times[stage] = round(time.perf_counter() - t, 2)
            print(f"{stage:26s} {times[stage]:8.1f} s", flush=True)
        full = sum(times.values())
        for f in ("results.md", "results.json"):  # the full run's results table, kept beside the timings
            shutil.copy(repo / "reports" / f, ROOT / "benchmarks/results" / f"pipeline_{args.profile}_{f}")
        t = time.perf_counter()
        noop_out = sh("dvc repro", repo, env)
        noop = time.perf_counter() - t
        assert "Running stage" not in noop_out, noop_out
        # new footage for one device: one of its test videos re-recorded as a training video
        landing = work / "landing" / args.device / "training"
        landing.mkdir(parents=True)
        frames = sorted((repo / "data/ipad" / args.device / "training/frames/01").iterdir(), key=lambda p: int(p.stem))
        import cv2

        first = cv2.imread(str(frames[0]))
        w = cv2.VideoWriter(
            str(landing / "new_recording.mkv"), cv2.VideoWriter_fourcc(*"FFV1"), 2.5, (first.shape[1], first.shape[0])
        )
        for f in frames[::-1]:
            w.write(cv2.imread(str(f)))
        w.release()
        t = time.perf_counter()
        out = sh(f"ipad ingest {work / 'landing'} --no-commit", repo, env)
        rerun = time.perf_counter() - t
    finally:
        server.terminate()
    groups = {}
    for stage, s in times.items():
        groups[stage.split("@")[0]] = round(groups.get(stage.split("@")[0], 0) + s, 2)
    result = {
        "profile": args.profile,
        "stage_seconds": times,
        "stage_group_seconds": groups,
        "full_run_seconds": round(full, 1),
        "noop_repro_seconds": round(noop, 2),
        "new_footage_device": args.device,
        "new_footage_rerun_seconds": round(rerun, 1),
        "new_footage_rerun_ratio_to_full": round(rerun / full, 3),
        "stages_rerun": [s for s in stages if f"'{s}'" in out],
    }
    write_result("bench_pipeline", result)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
