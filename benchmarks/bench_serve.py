"""`ipad serve` (one process, every camera) against one `ipad score --follow` process per camera
(issue 27), side by side in one run on this machine, with each demo device's reference-detector
(knn) champion at demo size.

    python benchmarks/bench_serve.py [--cameras 1,2,4,...] [--rates demo,30] [--seconds 20] [--modes serve,score]

Setup: the demo devices' footage as `make demo` generates it (the synth generator with the demo
profile's settings, only the device scenes); a knn champion per device (bank and calibration from the
device's training footage: tests/serve_helpers.register_champion) in a throw-away MLflow registry.
Camera i watches device i mod 4, playing that device's test video 02 (normal cycles and anomalies)
in a loop.

1. Where the time goes (``breakdown``), per frame, in the process that scores: JPEG decode, resize to
   the model size, frames into clips (``take_clips``), the forward split into descriptor, bank search
   (``nearest``) and the local residual, window/alert bookkeeping (``accept``) and the server's CSV +
   alert output (``Server._emit``) - at the batch `ipad score` uses (``score.max_latency``) and at the
   larger batches that many cameras give one forward in `ipad serve`.
2. Cameras sustained in real time (``realtime``): for N cameras (doubling) a player copies each
   camera's frames into its own filling folder at the camera's fps (the demo's nominal fps,
   ``synth.fps``, and 30 fps) for ``--seconds``; either ONE `ipad serve` scores them all, or N
   `ipad score --follow` processes score one each (started and loaded before the player starts).
   A camera keeps up when, at the end of the play, the frames it has not yet scored are within its
   latency allowance (one clip + one batch + one second of frames: the clip and batch are waited for
   by design, the second covers the polling). Also recorded: frames/s scored, CPU seconds of the
   scoring process(es) per camera-second and their memory, so that a count capped by ``--cameras``
   can be read against the machine. Each mode's doubling stops at its first N that does not keep up.

Writes benchmarks/results/bench_serve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # serve_helpers: the champion builder the serve tests use
from _common import write_result  # noqa: E402
from ipad_vad.config import load_params  # noqa: E402

IPAD = str(Path(sys.executable).parent / "ipad")
CAMERA_VIDEO = "02"  # test video of each device the cameras play (mixed: normal cycles and anomalies)
SLACK_S = 1.0  # latency allowance beyond one clip + one batch: polling of the folders


# ------------------------------------------------------------------------------------------- setup
def build(work: Path, p: dict) -> dict:
    """Generate the devices' footage, register a knn champion per device; returns where things are."""
    from ipad_vad.data.frames import decode_frame
    from ipad_vad.data.synth.generator import SynthConfig, generate
    from ipad_vad.inference.frame_sources import _frame_files
    from serve_helpers import register_champion

    devices = list(p["pipeline"]["devices"])
    synth = work / "synth"
    t = time.perf_counter()
    generate(synth, SynthConfig.from_params(p["synth"], scenes=devices, workers=1))
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    banks = {}
    for i, dev in enumerate(devices):
        normal = np.concatenate([np.stack([decode_frame(f) for f in _frame_files(v)])
                                 for v in sorted((synth / dev / "training" / "frames").iterdir())])
        register_champion(work, dev, i, params=p, normal=normal)
        banks[dev] = len(normal) * 3 // 4 - p["clip"]["length"] + 1
    return {"devices": devices, "synth": synth, "generate_s": round(gen_s, 1),
            "register_s": round(time.perf_counter() - t, 1), "bank_clips": banks,
            "footage": {d: synth / d / "testing" / "frames" / CAMERA_VIDEO for d in devices}}


# --------------------------------------------------------------------------------------- breakdown
def breakdown(setup: dict, p: dict, work: Path, batches: list[int]) -> dict:
    """Seconds per frame of each stage of the hot path (one device's champion, its camera's footage)."""
    from ipad_vad.data.frames import decode_frame, resize_frame
    from ipad_vad.evaluate.scoring import score_batch
    from ipad_vad.inference.champion import load_scorer
    from ipad_vad.inference.frame_sources import _frame_files
    from ipad_vad.serve.config import check_config
    from ipad_vad.serve.server import NEVER, Server, ServeOptions
    from ipad_vad.serve.settings import ServeSettings

    dev = setup["devices"][0]
    files = _frame_files(setup["footage"][dev])
    ld = load_scorer(dev)
    size = tuple(ld.calibration.frame_size)
    out = {"frames": len(files), "frame_size": list(size)}
    t = time.perf_counter()
    imgs = [decode_frame(f) for f in files]
    out["decode_jpeg"] = (time.perf_counter() - t) / len(files)
    t = time.perf_counter()
    for im in imgs:
        resize_frame(im, size)
    out["resize"] = (time.perf_counter() - t) / len(files)
    out["resize_note"] = f"footage {imgs[0].shape[0]}x{imgs[0].shape[1]}, model {size[0]}x{size[1]}"
    model, method = ld.model.eval(), ld.method
    per_batch = {}
    for b in batches:
        cfg, _ = check_config({"cameras": [{"name": "c", "device": dev}]}, "bench", api_cameras=("c",))
        server = Server(cfg, ServeSettings(out=str(work / f"breakdown-{b}"), port=0), ServeOptions(),
                        loader=lambda d, v, m: ld)
        server.load_models()
        server.open_outputs()
        cam = server.cameras[0]
        sc = cam.scorer
        stages = dict.fromkeys(("push", "take_clips", "descriptor", "bank_search", "local_residual",
                                "forward_total", "accept_window_alerts", "csv_and_events"), 0.0)
        n_frames = 0
        reps = max(1, (4 * max(batches)) // len(imgs) + 1)
        stream = [im for _ in range(reps) for im in imgs]
        i = 0
        while i < len(stream):
            t = time.perf_counter()
            for im in stream[i:i + (b if sc.frames_seen else b + sc.T - 1)]:
                sc.push(im)
                i += 1
            stages["push"] += time.perf_counter() - t
            if not sc.pending:
                break
            t = time.perf_counter()
            x = sc.take_clips()
            stages["take_clips"] += time.perf_counter() - t
            with torch.no_grad():
                t = time.perf_counter()
                d = model.descriptor(x)
                t1 = time.perf_counter()
                model.nearest(d)
                t2 = time.perf_counter()
                model.local_distance(d)  # nearest again inside: subtracted below
                t3 = time.perf_counter()
            stages["descriptor"] += t1 - t
            stages["bank_search"] += t2 - t1
            stages["local_residual"] += (t3 - t2) - (t2 - t1)
            t = time.perf_counter()
            res = score_batch(method, model, x, False)
            stages["forward_total"] += time.perf_counter() - t
            t = time.perf_counter()
            scores = sc.accept(res)
            stages["accept_window_alerts"] += time.perf_counter() - t
            t = time.perf_counter()
            server._emit(cam, scores)
            stages["csv_and_events"] += time.perf_counter() - t
            n_frames += len(x)
        server.outputs.close()
        assert sc.batch == NEVER
        per_batch[str(b)] = {k: round(v / n_frames * 1e6, 1) for k, v in stages.items()}
        print("breakdown batch", b, per_batch[str(b)], flush=True)
    out["decode_jpeg"] = round(out["decode_jpeg"] * 1e6, 1)
    out["resize"] = round(out["resize"] * 1e6, 1)
    out["us_per_frame_by_batch"] = per_batch
    out["note"] = ("microseconds per frame (one clip per frame); forward_total = descriptor + bank_search + "
                   "local_residual as score_batch runs them; push: frames into the stream scorer's buffer "
                   "(its own size check and resize included)")
    return out


# ---------------------------------------------------------------------------------------- realtime
class Player(threading.Thread):
    """Copies frame n of every camera's footage into its live folder at t0 + n / fps (whole files:
    written as .part, renamed)."""

    def __init__(self, sources: list[list[Path]], folders: list[Path], fps: float, seconds: float):
        super().__init__(daemon=True)
        self.sources, self.folders, self.fps, self.seconds = sources, folders, fps, seconds
        self.played = 0
        self.behind_s = 0.0

    def run(self) -> None:
        t0 = time.monotonic()
        n_total = int(self.seconds * self.fps)
        for n in range(n_total):
            wait = t0 + n / self.fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                self.behind_s = max(self.behind_s, -wait)
            for fs, folder in zip(self.sources, self.folders):
                src = fs[n % len(fs)]
                dst = folder / f"{n:06d}{src.suffix}"
                part = dst.with_suffix(".part")
                shutil.copyfile(src, part)
                part.rename(dst)
            self.played = n + 1


def _cpu_s(pids: list[int]) -> float:
    """utime + stime (seconds) of these processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / tick


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _metrics(port: int) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out: dict = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            if "camera" in s.labels:
                out.setdefault(s.name, {})[s.labels["camera"]] = s.value
    return out


def realtime(mode: str, n: int, fps: float, seconds: float, setup: dict, p: dict, run_dir: Path, env: dict) -> dict:
    """N cameras at `fps` for `seconds`, scored by one `ipad serve` (mode serve) or N `ipad score
    --follow` (mode score)."""
    import yaml

    from ipad_vad.inference.frame_sources import _frame_files
    from ipad_vad.inference.stream_scorer import batch_for_latency

    shutil.rmtree(run_dir, ignore_errors=True)
    devices = setup["devices"]
    T = int(p["clip"]["length"])
    cams = [(f"cam{i:03d}", devices[i % len(devices)]) for i in range(n)]
    folders = []
    for name, _ in cams:
        (run_dir / "live" / name).mkdir(parents=True)
        folders.append(run_dir / "live" / name)
    sources = [_frame_files(setup["footage"][dev]) for _, dev in cams]
    logs = run_dir / "logs"
    logs.mkdir()
    procs, port = [], None
    t_start = time.perf_counter()
    if mode == "serve":
        port = _free_port()
        cfg = run_dir / "cameras.yaml"
        cfg.write_text(yaml.safe_dump({
            "serve": {"out": str(run_dir / "out"), "stall_s": 3600, "idle_exit_s": 0},
            "cameras": [{"name": c, "device": d, "source": str(f), "fps": fps} for (c, d), f in zip(cams, folders)]}))
        procs.append(subprocess.Popen([IPAD, "serve", str(cfg), "--port", str(port), "--profile", "demo"], cwd=ROOT,
                                      env=env, stdout=open(logs / "serve.log", "w"), stderr=subprocess.STDOUT))
        while True:
            if procs[0].poll() is not None:
                raise SystemExit(f"ipad serve exited {procs[0].returncode}: {(logs / 'serve.log').read_text()[-2000:]}")
            try:
                h = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read())
                if h.get("status") == "ok":
                    break
            except OSError:
                pass
            time.sleep(0.5)
    else:
        for (c, d), f in zip(cams, folders):
            procs.append(subprocess.Popen(
                [IPAD, "score", str(f), "--follow", "--idle-timeout", "0", "--device", d, "--profile", "demo",
                 "--out", str(run_dir / "out")], cwd=ROOT, env=env, stdout=open(logs / f"{c}.log", "w"),
                stderr=subprocess.STDOUT))
        for (c, _), pr in zip(cams, procs):  # loaded: the model line is printed before the first frame is read
            while "threshold" not in (logs / f"{c}.log").read_text():
                if pr.poll() is not None:
                    raise SystemExit(f"ipad score exited {pr.returncode}: {(logs / f'{c}.log').read_text()[-2000:]}")
                time.sleep(0.5)
    startup_s = time.perf_counter() - t_start
    pids = [pr.pid for pr in procs]
    time.sleep(2.0)  # the loaded processes settle (thread pools, first polls)
    player = Player(sources, folders, fps, seconds)
    cpu0, t0, load = _cpu_s(pids), time.perf_counter(), round(os.getloadavg()[0], 1)  # other work on the machine
    player.start()
    player.join()
    wall = time.perf_counter() - t0
    cpu = _cpu_s(pids) - cpu0
    rss = _rss_mb(pids)
    played = player.played
    if mode == "serve":
        m = _metrics(port)
        scored = {c: int(m.get("ipad_serve_scored_frames_total", {}).get(c, 0)) for c, _ in cams}
        # scored frames are frames T//2 ..: the frames behind the newest scored one
        behind = {c: played - (scored[c] + T // 2) for c in scored}
    for pr in procs:
        pr.send_signal(signal.SIGTERM)
    for pr in procs:
        try:
            pr.wait(120)
        except subprocess.TimeoutExpired:
            pr.kill()
    if mode == "score":  # frames read when SIGTERM came: what the scores reach (+ the frames no clip centres on)
        behind = {}
        for c, _ in cams:
            f = run_dir / "out" / f"{c}.scores.csv"
            last = -1
            if f.is_file():
                lines = f.read_text().splitlines()
                if len(lines) > 1:
                    last = int(float(lines[-1].split(",")[0]))
            behind[c] = played - (last + (T - T // 2))
    batch = batch_for_latency(T, 1, int(p["alert"]["min_frames"]), int(p["score"]["max_latency"] or T))
    allowance = T + batch + int(np.ceil(fps * SLACK_S))
    keeps_up = all(b <= allowance for b in behind.values())
    row = {"mode": mode, "cameras": n, "camera_fps": fps, "played_frames_per_camera": played, "load_avg_1m": load,
           "play_s": round(wall, 1), "player_behind_s": round(player.behind_s, 2),
           "startup_s": round(startup_s, 1), "processes": len(procs),
           "frames_per_s_needed": round(n * fps, 1),
           "frames_per_s_scored": round(sum(max(0, played - b) for b in behind.values()) / wall, 1),
           "max_frames_behind": max(behind.values()), "allowance_frames": allowance, "keeps_up": keeps_up,
           "cpu_s_per_camera_s": round(cpu / (n * wall), 4), "cpu_share_of_machine": round(cpu / (wall * os.cpu_count()), 3),
           "rss_mb_total": round(rss), "rss_mb_per_camera": round(rss / n, 1)}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", default="1,2,4,8,16,32,64,128,256", help="N to try (each mode stops at its first miss)")
    ap.add_argument("--rates", default="demo,30", help="camera fps: demo (synth.fps of the demo profile) and/or numbers")
    ap.add_argument("--seconds", type=float, default=20.0, help="play time per run")
    ap.add_argument("--modes", default="serve,score")
    ap.add_argument("--batches", default="9,64,256", help="breakdown: clips per forward")
    ap.add_argument("--skip-breakdown", action="store_true")
    ap.add_argument("--out", default="bench_serve")
    args = ap.parse_args()
    p = load_params(ROOT / "params.yaml", "demo")
    demo_fps = float(p["synth"]["fps"])
    rates = [demo_fps if r == "demo" else float(r) for r in args.rates.split(",")]
    ns = [int(x) for x in args.cameras.split(",")]
    modes = args.modes.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench_serve_"))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
           "MLFLOW_REQUIREMENTS_INFERENCE_TIMEOUT": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("IPAD_PIPELINE_ID", None)
    old_cwd = os.getcwd()
    os.environ.update({k: env[k] for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REQUIREMENTS_INFERENCE_TIMEOUT")})
    os.environ.pop("IPAD_PIPELINE_ID", None)
    t_all = time.perf_counter()
    try:
        os.chdir(work)  # the registry's artifacts land in the work folder
        setup = build(work, p)
        print("setup", {k: v for k, v in setup.items() if k in ("generate_s", "register_s", "bank_clips")}, flush=True)
        result = {"profile": "demo", "method": "knn", "clip": [p["clip"]["length"], *p["clip"]["size"]],
                  "devices": setup["devices"], "bank_clips": setup["bank_clips"], "demo_fps": demo_fps,
                  "seconds_per_run": args.seconds, "setup_s": {"generate": setup["generate_s"], "register": setup["register_s"]}}
        if not args.skip_breakdown:
            result["breakdown"] = breakdown(setup, p, work, [int(b) for b in args.batches.split(",")])
        os.chdir(old_cwd)
        runs, summary = [], {}
        for fps in rates:
            for mode in modes:
                best = 0
                for n in ns:
                    row = realtime(mode, n, fps, args.seconds, setup, p, work / f"rt-{mode}-{n}", env)
                    runs.append(row)
                    if not row["keeps_up"]:
                        break
                    best = n
                summary.setdefault(f"{fps:g}fps", {})[mode] = {
                    "cameras_sustained": best, "capped_by_tried": best == ns[-1],
                    "cameras_by_cpu": _by_cpu([r for r in runs if r["mode"] == mode and r["camera_fps"] == fps and r["keeps_up"]])}
            s = summary[f"{fps:g}fps"]
            if "serve" in s and "score" in s and s["score"]["cameras_sustained"]:
                s["ratio_serve_over_score"] = round(s["serve"]["cameras_sustained"] / s["score"]["cameras_sustained"], 2)
        result.update(summary=summary, runs=runs, total_s=round(time.perf_counter() - t_all, 1),
                      command=" ".join(["python benchmarks/bench_serve.py", *sys.argv[1:]]))
    finally:
        os.chdir(old_cwd)
        shutil.rmtree(work, ignore_errors=True)
    write_result(args.out, result)


def _by_cpu(rows: list[dict]) -> int | None:
    """Cameras the machine's CPUs would carry at the CPU cost per camera of the largest run that kept up."""
    if not rows:
        return None
    r = max(rows, key=lambda r: r["cameras"])
    return int(os.cpu_count() / r["cpu_s_per_camera_s"]) if r["cpu_s_per_camera_s"] > 0 else None


if __name__ == "__main__":
    main()
