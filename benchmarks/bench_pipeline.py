"""`make demo` in a fresh clone of this repository, timed stage by stage, and what DVC reruns after.

* **make demo, setup excluded**: `scripts/demo.sh` (what `make demo` runs after `make setup`) in a
  fresh `git clone` of HEAD whose `.venv` is this checkout's; the whole wall time and `dvc repro`'s.
* **per stage**, from the Prefect log's timestamps of that run: a stage's *work* (its first to its
  last log line) and its *overhead* (the rest of the span to the next stage's first log line: the
  process start and imports, the flow-run set-up, the exit, DVC hashing outputs and writing dvc.lock).
  `--timeline LOG` computes the same from any `make demo` log without running anything (how the
  "before" figures in docs/pipeline.md were made: benchmarks/results/demo_log_20261202_before.txt);
* a **no-op `dvc repro`** afterwards;
* **new footage for one device** (`--new-footage R01`): the footage imported into data/ipad and
  versioned with `dvc add` (the path real footage takes), a full `dvc repro`, then one of the device's
  recordings re-recorded as new training footage through `ipad ingest`: the rerun as a share of the
  full run and the stages it ran. It costs a second full run, so it is optional.

`--cache-dir DIR` shares a DVC cache (e.g. this checkout's, so that `dvc repro` here afterwards
restores the clone's outputs from DVC's run cache instead of running them); every stage is still
run (`--force`), and the JSON records the choice. Writes benchmarks/results/bench_pipeline.json.

    python benchmarks/bench_pipeline.py [--profile demo] [--cache-dir .dvc/cache] [--new-footage R01]
    python benchmarks/bench_pipeline.py --timeline demo.log
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from _common import prefect_server, write_result

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGE = re.compile(r"^Running stage '([^']+)':")
PREFECT = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \| ")


def timeline(lines: list[str]) -> dict[str, dict]:
    """Per stage of a `dvc repro` log, from its Prefect log lines' clock: ``work`` (first to last line
    of the stage), ``span`` (first line to the next stage's first line) and ``overhead`` (span - work).
    Stages without Prefect lines (params, synth) get none; the last stage has no span."""
    firsts: list[tuple[str, float | None, float | None]] = []
    day, last_clock = 0.0, -1.0
    for line in lines:
        m = STAGE.match(line)
        if m:
            firsts.append((m.group(1), None, None))
            continue
        m = PREFECT.match(line)
        if m and firsts:
            clock = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1000
            if clock < last_clock - 3600:  # past midnight
                day += 86400
            last_clock = clock
            name, first, _ = firsts[-1]
            firsts[-1] = (name, first if first is not None else day + clock, day + clock)
    out = {}
    logged = [(n, a, b) for n, a, b in firsts if a is not None]
    for i, (name, first, last) in enumerate(logged):
        row = {"work": round(last - first, 2)}
        if i + 1 < len(logged):
            row["span"] = round(logged[i + 1][1] - first, 2)
            row["overhead"] = round(row["span"] - row["work"], 2)
        out[name] = row
    return out


def summary(stages: dict[str, dict]) -> dict:
    """Sums per stage group (the name before '@') and the overhead's median and total."""
    groups: dict[str, dict] = {}
    for name, row in stages.items():
        g = groups.setdefault(name.split("@")[0], {"stages": 0, "work": 0.0, "overhead": 0.0})
        g["stages"] += 1
        g["work"] = round(g["work"] + row["work"], 1)
        g["overhead"] = round(g["overhead"] + row.get("overhead", 0.0), 1)
    over = [r["overhead"] for r in stages.values() if "overhead" in r]
    return {
        "stages_logged": len(stages),
        "work_seconds": round(sum(r["work"] for r in stages.values()), 1),
        "overhead_seconds": round(sum(over), 1),
        "overhead_median_per_stage": round(median(over), 2) if over else None,
        "groups": groups,
    }


def sh(cmd: str, cwd: Path, env: dict) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=env, shell=True, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout


def streamed(cmd: str, cwd: Path, env: dict, log: Path) -> tuple[list[str], float]:
    """Run `cmd`, echoing and keeping its output (stdout and stderr together) in `log`; its lines and wall time."""
    t = time.perf_counter()
    lines = []
    with (
        subprocess.Popen(
            cmd, cwd=cwd, env=env, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc,
        log.open("w") as out,
    ):
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            out.write(line)
            if STAGE.match(line) or "dvc repro took" in line:
                print(f"{time.perf_counter() - t:7.0f} s  {line.rstrip()}", flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed (exit {proc.returncode}); its output: {log}")
    return lines, time.perf_counter() - t


def env_for(work: Path, repo: Path, port: int | None = None) -> dict:
    env = dict(
        os.environ,
        PATH=f"{BIN}:{os.environ['PATH']}",
        # the clone's code, not this checkout's: the shared .venv's editable install points here, and
        # PYTHONPATH comes before its finder (an edit here while the benchmark runs must not reach it)
        PYTHONPATH=os.pathsep.join([str(repo / "src"), str(repo)]),
        PREFECT_HOME=str(work / "prefect"),
        MLFLOW_TRACKING_URI=f"sqlite:///{repo / 'mlflow.db'}",
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="b@b",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="b@b",
    )
    env.pop("PREFECT_API_URL", None)
    if port is not None:
        env["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    return env


def clone(work: Path, name: str, profile: str, cache_dir: str | None) -> Path:
    repo = work / name
    sh(f"git clone -q {ROOT} {repo}", work, os.environ)
    (repo / ".venv").symlink_to(ROOT / ".venv")  # setup excluded: this checkout's environment
    doc = (repo / "params.yaml").read_text()
    (repo / "params.yaml").write_text(re.sub(r"(?m)^profile: \S+", f"profile: {profile}", doc, count=1))
    if cache_dir:
        sh(f"dvc cache dir {Path(cache_dir).resolve()}", repo, env_for(work, repo))
    return repo


def demo_run(work: Path, profile: str, cache_dir: str | None) -> dict:
    repo = clone(work, "demo", profile, cache_dir)
    env = env_for(work, repo)
    env["IPAD_REPRO_ARGS"] = "--force"  # a shared cache's run cache must not restore what is measured
    lines, wall = streamed("bash scripts/demo.sh", repo, env, work / "demo.log")
    took = [int(m[1]) for line in lines if (m := re.search(r"dvc repro took (\d+) s", line))]
    stages = timeline(lines)
    t = time.perf_counter()
    noop = sh("dvc repro", repo, env_for(work, repo))
    noop_s = time.perf_counter() - t
    assert "Running stage" not in noop, noop
    shutil.copy(work / "demo.log", ROOT / "benchmarks/results/bench_pipeline_demo.log")
    return {
        "make_demo_seconds_setup_excluded": round(wall, 1),
        "dvc_repro_seconds": took[0] if took else None,
        "stages_run": sum(1 for line in lines if STAGE.match(line)),
        "per_stage": stages,
        "summary": summary(stages),
        "noop_repro_seconds": round(noop_s, 2),
    }


def ingest_stages(out: str) -> list[str]:
    """The stages an `ipad ingest` reran, from the summary it prints (``'stages_run': [...]``; DVC's own
    "Running stage" lines stay inside the flow's task and are not printed)."""
    m = re.search(r"'stages_run':\s*\[(.*?)\]", out, re.S)
    return re.findall(r"'([^']+)'", m.group(1)) if m else []


def new_footage_run(work: Path, profile: str, device: str, cache_dir: str | None) -> dict:
    repo = clone(work, "footage", profile, cache_dir)
    (repo / "params.yaml").write_text(
        (repo / "params.yaml").read_text().replace("root: data/synth", "root: data/ipad", 1)
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = env_for(work, repo, port)
    env["IPAD_PIPELINE_ID"] = "bench"
    server = prefect_server(env, port, "--no-services")
    try:
        sh(f"ipad data synth --profile {profile} --out ../synth_footage", repo, env)
        sh("ipad data import ../synth_footage --out data/ipad", repo, env)
        sh("dvc add -q data/ipad && git add -A && git commit -qm footage", repo, env)
        t = time.perf_counter()
        sh("dvc repro --force", repo, env)
        full = time.perf_counter() - t
        landing = work / "landing" / device / "training"
        landing.mkdir(parents=True)
        frames = sorted((repo / "data/ipad" / device / "training/frames/01").iterdir(), key=lambda p: int(p.stem))
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
    return {
        "device": device,
        "full_run_seconds": round(full, 1),
        "rerun_seconds": round(rerun, 1),
        "rerun_ratio_to_full": round(rerun / full, 3),
        "stages_rerun": ingest_stages(out),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--cache-dir", help="a DVC cache to share (default: the clone's own, empty)")
    ap.add_argument("--new-footage", metavar="DEVICE", help="also time new footage for this device (a second full run)")
    ap.add_argument("--timeline", metavar="LOG", help="only print the per-stage work and overhead of a make demo log")
    args = ap.parse_args()
    if args.timeline:
        stages = timeline(Path(args.timeline).read_text().splitlines())
        for name, row in stages.items():
            print(f"{name:36s} work {row['work']:7.1f} s  overhead {row.get('overhead', float('nan')):5.1f} s")
        import json

        print(json.dumps(summary(stages), indent=2))
        return
    work = Path(tempfile.mkdtemp(prefix="ipad-bench-"))
    result = {"profile": args.profile, "cache": "shared: " + args.cache_dir if args.cache_dir else "the clone's own"}
    result["demo"] = demo_run(work, args.profile, args.cache_dir)
    if args.new_footage:
        result["new_footage"] = new_footage_run(work, args.profile, args.new_footage, args.cache_dir)
    write_result("bench_pipeline", result)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
