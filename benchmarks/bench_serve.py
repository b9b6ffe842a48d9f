"""`ipad serve` (one process, every camera) against one `ipad score --follow` process per camera
(issue 27), side by side in one run on this machine, with each demo device's reference-detector
(knn) champion at demo size.

    python benchmarks/bench_serve.py [--cameras 1,2,4,...] [--rates demo,30] [--seconds 20] [--modes serve,score]
    python benchmarks/bench_serve.py --modes swap,memory --skip-breakdown --out bench_serve_swap_memory  # ~3 min

Setup: the demo devices' footage as `make demo` generates it (the synth generator with the demo
profile's settings, only the device scenes); a knn champion per device (bank and calibration from the
device's training footage: tests/serve_helpers.register_champion) in a throw-away MLflow registry.
Camera i watches device i mod 4, playing that device's test video 02 (normal cycles and anomalies)
in a loop.

1. Where the time goes (``breakdown``), per frame, in the process that scores: JPEG decode, resize to
   the model size, frames into clips (``take_clips``), the forward split into descriptor (with the
   clipped flags where censored), bank search (``nearest``) and the local residual, window/alert
   bookkeeping (``accept``) and the server's CSV + alert output (``Server._emit``) - at the batch
   `ipad score` uses (``score.max_latency``) and at the larger batches that many cameras give one
   forward in `ipad serve`.
2. Cameras sustained in real time (``realtime``): for N cameras (doubling) a player copies each
   camera's frames into its own filling folder at the camera's fps (the demo's nominal fps,
   ``synth.fps``, and 30 fps) for ``--seconds``; either ONE `ipad serve` scores them all, or N
   `ipad score --follow` processes score one each (started and loaded before the player starts).
   A camera keeps up when, at the end of the play, the frames it has not yet scored are within its
   latency allowance (one clip + one batch + one second of frames: the clip and batch are waited for
   by design, the second covers the polling). Also recorded: frames/s scored, CPU seconds of the
   scoring process(es) per camera-second and their memory, so that a count capped by ``--cameras``
   can be read against the machine. Each mode's doubling stops at its first N that does not keep up.
3. A champion swap under load (``swap``, mode ``swap``): one in-process ``Server`` scores
   ``--swap-cameras`` cameras (the API's frame iterators, paced at ``--swap-fps``) for ``--swap-seconds``;
   halfway the champion alias of the first device moves to a second registered version and the
   server's registry poller picks it up. Per frame: the time from the arrival of the frame that
   completed its clip to its score (the wait the clip's own later frames impose left out), so the
   batching and the swap remain. Recorded: frames lost (a scored frame missing from any camera's
   contiguous range), the batch period (clips per batch / fps), the median wait before the swap, the
   longest wait of frames that became ready from one batch period before the alias moved to three
   after the new version scored, and the same over a window of equal length before the swap (what
   load alone does); ``max_extra_delay_batches`` = (longest wait around the swap - median) / batch
   period: the target is <= 1.
4. Memory of N devices' LoRA champions (``memory``, mode ``memory``): a base of each adapting method at
   demo size (IPAD-VAD's Video Swin; the feature bank, each device with its own bank of demo size)
   and N adapters (random low-rank matrices: memory does not depend on training), loaded in a fresh
   process either as `ipad score` and `ipad serve` with ``serve.share_lora_bases: false`` load them
   (each merged into a model of its own: ``methods/adaptation.load_adapted``) or shared (one base, N
   named adapters: ``inference/shared_base.SharedBase``): RSS growth and bytes of distinct tensors,
   and the scores of both compared.

Writes benchmarks/results/<--out>.json (default bench_serve.json).
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
    from serve_helpers import register_champion

    from ipad_vad.data.frames import decode_frame
    from ipad_vad.data.synth.generator import SynthConfig, generate
    from ipad_vad.inference.frame_sources import _frame_files

    devices = list(p["pipeline"]["devices"])
    synth = work / "synth"
    t = time.perf_counter()
    generate(synth, SynthConfig.from_params(p["synth"], scenes=devices, workers=1))
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    banks = {}
    for i, dev in enumerate(devices):
        normal = np.concatenate(
            [
                np.stack([decode_frame(f) for f in _frame_files(v)])
                for v in sorted((synth / dev / "training" / "frames").iterdir())
            ]
        )
        register_champion(work, dev, i, params=p, normal=normal)
        banks[dev] = len(normal) * 3 // 4 - p["clip"]["length"] + 1
    return {
        "devices": devices,
        "synth": synth,
        "generate_s": round(gen_s, 1),
        "register_s": round(time.perf_counter() - t, 1),
        "bank_clips": banks,
        "footage": {d: synth / d / "testing" / "frames" / CAMERA_VIDEO for d in devices},
    }


# --------------------------------------------------------------------------------------- breakdown
def breakdown(setup: dict, p: dict, work: Path, batches: list[int]) -> dict:
    """Seconds per frame of each stage of the hot path (one device's champion, its camera's footage)."""
    from ipad_vad.data.frames import decode_frame, resize_frame
    from ipad_vad.evaluate.scoring import score_batch
    from ipad_vad.inference.champion import load_scorer
    from ipad_vad.inference.frame_sources import _frame_files
    from ipad_vad.serve.config import check_config
    from ipad_vad.serve.server import NEVER, ServeOptions, Server
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
        server = Server(
            cfg, ServeSettings(out=str(work / f"breakdown-{b}"), port=0), ServeOptions(), loader=lambda d, v, m: ld
        )
        server.load_models()
        server.open_outputs()
        cam = server.cameras[0]
        sc = cam.scorer
        stages = dict.fromkeys(
            (
                "push",
                "take_clips",
                "descriptor",
                "bank_search",
                "local_residual",
                "forward_total",
                "accept_window_alerts",
                "csv_and_events",
            ),
            0.0,
        )
        n_frames = 0
        reps = max(1, (4 * max(batches)) // len(imgs) + 1)
        stream = [im for _ in range(reps) for im in imgs]
        i = 0
        while i < len(stream):
            t = time.perf_counter()
            for im in stream[i : i + (b if sc.frames_seen else b + sc.T - 1)]:
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
                d, flags = model.query_descriptors(x)  # and the clipped elements where censored
                t1 = time.perf_counter()
                model.nearest(d)
                t2 = time.perf_counter()
                model.local_distance(d, flags)  # nearest again inside: subtracted below
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
    out["note"] = (
        "microseconds per frame (one clip per frame); forward_total = descriptor (clipped flags included where "
        "censored) + bank_search + local_residual as score_batch runs them; push: frames into the stream scorer's buffer "
        "(its own size check and resize included)"
    )
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
        cfg.write_text(
            yaml.safe_dump(
                {
                    "serve": {"out": str(run_dir / "out"), "stall_s": 3600, "idle_exit_s": 0},
                    "cameras": [
                        {"name": c, "device": d, "source": str(f), "fps": fps} for (c, d), f in zip(cams, folders)
                    ],
                }
            )
        )
        procs.append(
            subprocess.Popen(
                [IPAD, "serve", str(cfg), "--port", str(port), "--profile", "demo"],
                cwd=ROOT,
                env=env,
                stdout=open(logs / "serve.log", "w"),
                stderr=subprocess.STDOUT,
            )
        )
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
            procs.append(
                subprocess.Popen(
                    [
                        IPAD,
                        "score",
                        str(f),
                        "--follow",
                        "--idle-timeout",
                        "0",
                        "--device",
                        d,
                        "--profile",
                        "demo",
                        "--out",
                        str(run_dir / "out"),
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=open(logs / f"{c}.log", "w"),
                    stderr=subprocess.STDOUT,
                )
            )
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
    row = {
        "mode": mode,
        "cameras": n,
        "camera_fps": fps,
        "played_frames_per_camera": played,
        "load_avg_1m": load,
        "play_s": round(wall, 1),
        "player_behind_s": round(player.behind_s, 2),
        "startup_s": round(startup_s, 1),
        "processes": len(procs),
        "frames_per_s_needed": round(n * fps, 1),
        "frames_per_s_scored": round(sum(max(0, played - b) for b in behind.values()) / wall, 1),
        "max_frames_behind": max(behind.values()),
        "allowance_frames": allowance,
        "keeps_up": keeps_up,
        "cpu_s_per_camera_s": round(cpu / (n * wall), 4),
        "cpu_share_of_machine": round(cpu / (wall * os.cpu_count()), 3),
        "rss_mb_total": round(rss),
        "rss_mb_per_camera": round(rss / n, 1),
    }
    print(json.dumps(row), flush=True)
    return row


# ------------------------------------------------------------------------------------------ swap
def swap(setup: dict, p: dict, work: Path, n: int, fps: float, seconds: float) -> dict:
    """N cameras scored in one in-process Server; halfway, the first device's champion alias moves."""
    import mlflow
    from serve_helpers import register_champion

    from ipad_vad.data.frames import decode_frame
    from ipad_vad.inference.frame_sources import _frame_files
    from ipad_vad.registry import device_model_name
    from ipad_vad.serve.config import check_config
    from ipad_vad.serve.server import ServeOptions, Server
    from ipad_vad.serve.settings import ServeSettings

    devices = setup["devices"]
    dev = devices[0]
    name = device_model_name(dev)
    client = mlflow.MlflowClient()
    v1 = client.get_model_version_by_alias(name, "champion").version
    normal = np.concatenate(
        [
            np.stack([decode_frame(f) for f in _frame_files(v)])
            for v in sorted((setup["synth"] / dev / "training" / "frames").iterdir())
        ]
    )
    v2 = register_champion(work, dev, 0, threshold_margin=0.5, version_note="-swap", params=p, normal=normal)
    client.set_registered_model_alias(name, "champion", v1)  # v2 waits, registered, until the alias moves
    footage = {d: [decode_frame(f) for f in _frame_files(setup["footage"][d])] for d in devices}
    cams = [(f"cam{i:03d}", devices[i % len(devices)]) for i in range(n)]
    total = int(seconds * fps)
    sent: dict[str, dict[int, float]] = {c: {} for c, _ in cams}
    scored: dict[str, dict[int, float]] = {c: {} for c, _ in cams}
    t0 = time.monotonic() + 1.0

    def paced(cam, video):
        for i in range(total):
            wait = t0 + i / fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            sent[cam][i] = time.monotonic()
            yield video[i % len(video)]

    sc = p.get("score", {}) or {}
    T = int(p["clip"]["length"])
    options = ServeOptions(
        max_latency=None if sc.get("max_latency") is None else (sc["max_latency"] or 1),
        batch_clips=sc.get("batch_clips") or None,
        min_auc=0.0,
    )
    cfg, _ = check_config(
        {"cameras": [{"name": c, "device": d} for c, d in cams]}, "bench", api_cameras=tuple(c for c, _ in cams)
    )
    settings = ServeSettings(out=str(work / "swap-out"), port=0, registry_poll_s=0.5, stall_s=3600, idle_exit_s=0)
    server = Server(cfg, settings, options, frames={c: paced(c, footage[d]) for c, d in cams}, where="bench")
    server.on_scored = lambda cam, frames, t: scored[cam].update(dict.fromkeys(frames, t))
    server.load_models()
    server.open_outputs()
    load = round(os.getloadavg()[0], 1)  # other work on the machine
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    time.sleep(max(0.0, t0 + seconds / 2 - time.monotonic()))
    t_move = time.monotonic()
    client.set_registered_model_alias(name, "champion", v2)
    while server.devices[dev].version != str(v2) and th.is_alive():
        time.sleep(0.01)
    t_swapped = time.monotonic()
    th.join(seconds + 120)
    client.set_registered_model_alias(name, "champion", v1)
    batch = server.cameras[0].batch
    period = batch / fps
    ahead = T - T // 2 - 1  # knn: no window component, no lookahead
    waits = []  # (ready time, wait, camera's device)
    lost = 0
    for c, d in cams:
        expected = set(range(T // 2, total - ahead))
        lost += len(expected - set(scored[c]))
        waits += [(sent[c][f + ahead], t - sent[c][f + ahead], d) for f, t in scored[c].items() if f + ahead in sent[c]]
    # the new version's first scored frame
    first_new = min(
        (
            sent[c][f + ahead]
            for c, d in cams
            if d == dev
            for f, v in zip(*_versions(work / "swap-out" / f"{c}.scores.csv"))
            if v == str(v2) and f + ahead in sent[c]
        ),
        default=t_swapped,
    )
    lo, hi = t_move - period, max(t_swapped, first_new) + 3 * period
    warm = t0 + 3.0
    before = [w for r, w, _ in waits if warm <= r < lo]
    around = [w for r, w, _ in waits if lo <= r <= hi]
    control = [w for r, w, _ in waits if lo - (hi - lo) - 1.0 <= r < lo - 1.0]
    median = float(np.median(before))
    row = {
        "cameras": n,
        "camera_fps": fps,
        "seconds": seconds,
        "frames_per_camera": total,
        "load_avg_1m": load,
        "device_swapped": dev,
        "cameras_of_device": sum(d == dev for _, d in cams),
        "versions": [str(v1), str(v2)],
        "frames_lost": lost,
        "batch_clips": batch,
        "batch_period_s": round(period, 3),
        "alias_moved_to_swapped_s": round(t_swapped - t_move, 3),
        "wait_median_before_s": round(median, 4),
        "wait_p99_before_s": round(float(np.percentile(before, 99)), 4),
        "wait_max_around_swap_s": round(max(around), 4),
        "frames_around_swap": len(around),
        "wait_max_same_window_before_s": round(max(control), 4) if control else None,
        "max_extra_delay_batches": round((max(around) - median) / period, 2),
        "max_extra_delay_batches_without_swap": round((max(control) - median) / period, 2) if control else None,
        "target_max_extra_batches": 1,
        "note": "wait: from the arrival of the frame completing a frame's clip to its score; window: from one "
        "batch period before the alias moved to three after the new version scored its first frame",
    }
    # a swap can only be judged on a server that keeps up: its waits before the swap within two batches
    row["kept_up_before_swap"] = row["wait_p99_before_s"] <= 2 * period
    row["met"] = row["frames_lost"] == 0 and row["max_extra_delay_batches"] <= 1 and row["kept_up_before_swap"]
    print("swap", json.dumps(row), flush=True)
    return row


def _versions(csv: Path) -> tuple[list[int], list[str]]:
    import pandas as pd

    df = pd.read_csv(csv, usecols=["frame", "model_version"])
    return df.frame.tolist(), df.model_version.astype(str).tolist()


# ---------------------------------------------------------------------------------------- memory
MEMORY_METHODS = ("ipad_vad", "feature_bank")
BANK_CLIPS = 200  # the feature bank's clips per device (the demo devices' banks: 103-222)


def make_adapters(method_name: str, p: dict, n: int, work: Path) -> list[Path]:
    """A random base of `method_name` and n LoRA adapters over it, saved as adapt() saves them."""
    from ipad_vad.jobs.settings import AdaptSettings
    from ipad_vad.methods import get_method, load_model_file
    from ipad_vad.methods.base import write_method_json
    from ipad_vad.train.lora import add_lora, save_adapter

    method = get_method(method_name, p)
    folder = work / f"mem-{method_name}"
    torch.manual_seed(0)
    method.save(method.build(), folder / "base" / "model.pt")
    lora = AdaptSettings.from_params(p).lora_settings()
    to_save = getattr(method, "lora_modules_to_save", lambda s: None)(lora)
    out = []
    for i in range(n):
        _, base = load_model_file(folder / "base" / "model.pt")
        pm = add_lora(base, lora, method.lora_targets, method_name, to_save)
        g = torch.Generator().manual_seed(i)
        with torch.no_grad():
            for name, t in pm.named_parameters():
                if ".lora_B." in name:
                    t.copy_(torch.randn(t.shape, generator=g) * 0.01)
            matcher = getattr(pm.get_base_model(), "matcher", None)
            if matcher is not None:  # the device's own bank, in the adapter
                from ipad_vad.models.feature_bank import active

                m = active(matcher)
                m.set_bank(
                    torch.randn(BANK_CLIPS, m.descriptor.dim, generator=g), torch.zeros(BANK_CLIPS, dtype=torch.long)
                )
        d = folder / f"dev{i:02d}"
        save_adapter(pm, d / "adapter")
        write_method_json(d, method, base=str(folder / "base" / "model.pt"))
        out.append(d)
    return out


MEMORY_CHILD = r"""
import json, os, sys, torch
from pathlib import Path
torch.set_num_threads(1)
from ipad_vad.inference.shared_base import SharedBase, tensor_bytes
from ipad_vad.methods.adaptation import load_adapted
from ipad_vad.evaluate.scoring import score_batch
from ipad_vad.registry.idempotency import content_key
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")) * 1024
mode, dirs, clip = sys.argv[1], [Path(d) for d in sys.argv[2].split(",")], [int(x) for x in sys.argv[3].split(",")]
base = json.loads((dirs[0] / "method.json").read_text())["base"]
x = torch.rand(2, 3, *clip, generator=torch.Generator().manual_seed(0)) * 2 - 1  # the same clips in both modes
load_adapted(dirs[0])  # imports and first-load work out of the measurement
import gc; gc.collect()
r0 = rss()
if mode == "separate":
    models = [load_adapted(d) for d in dirs]
    held = [t for _, m in models for t in (*m.parameters(), *m.buffers())]
    method = models[0][0]
    run = lambda i: score_batch(method, models[i][1].eval(), x, False).values
else:
    shared = SharedBase(base, content_key(base))
    views = [shared.add(f"d{i}", d / "adapter") for i, d in enumerate(dirs)]
    held = shared.tensors()
    method = shared.method
    run = lambda i: score_batch(method, views[i], x, False).values
gc.collect()
out = {"rss_bytes": rss() - r0, "tensor_bytes": tensor_bytes(held)}
with torch.no_grad():
    out["scores"] = [run(i).flatten().tolist() for i in (0, len(dirs) - 1)]
print("RESULT", json.dumps(out))
"""


def memory(p: dict, work: Path, ns: list[int], env: dict) -> dict:
    clip = [int(p["clip"]["length"]), *p["clip"]["size"]]
    rows = []
    for method_name in MEMORY_METHODS:
        dirs = make_adapters(method_name, p, max(ns), work)
        for n in ns:
            got = {}
            for mode in ("separate", "shared"):
                r = subprocess.run(
                    [sys.executable, "-c", MEMORY_CHILD, mode, ",".join(map(str, dirs[:n])), ",".join(map(str, clip))],
                    env={**env, "OMP_NUM_THREADS": "1"},
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
                line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")), None)
                if line is None:
                    raise SystemExit(f"memory child ({method_name}, {mode}, {n}) failed: {r.stderr[-2000:]}")
                got[mode] = json.loads(line[len("RESULT ") :])
            diff = max(
                abs(a - b) for s, t in zip(got["separate"]["scores"], got["shared"]["scores"]) for a, b in zip(s, t)
            )
            row = {
                "method": method_name,
                "devices": n,
                **{f"{m}_{k}_mb": round(got[m][f"{k}_bytes"] / 2**20, 2) for m in got for k in ("rss", "tensor")},
                "max_score_difference": diff,
            }
            row["tensor_ratio_shared_over_separate"] = round(row["shared_tensor_mb"] / row["separate_tensor_mb"], 3)
            rows.append(row)
            print("memory", json.dumps(row), flush=True)
    return {
        "rows": rows,
        "bank_clips_per_device": BANK_CLIPS,
        "note": "RSS growth of a fresh process loading N devices' LoRA champions (after one warm-up load), and "
        "bytes of distinct tensors; separate: each merged into its own model (`ipad score`, or serve with "
        "serve.share_lora_bases false); shared: one base, N peft adapters (ipad serve); adapters random "
        "(rank and targets of adapt.lora), feature-bank banks random of bank_clips_per_device clips",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--cameras", default="1,2,4,8,16,32,64,128,256", help="N to try (each mode stops at its first miss)"
    )
    ap.add_argument(
        "--rates", default="demo,30", help="camera fps: demo (synth.fps of the demo profile) and/or numbers"
    )
    ap.add_argument("--seconds", type=float, default=20.0, help="play time per run")
    ap.add_argument("--modes", default="serve,score", help="serve, score (cameras sustained), swap, memory")
    ap.add_argument("--swap-cameras", type=int, default=4)
    ap.add_argument("--swap-fps", type=float, default=5.0)
    ap.add_argument("--swap-seconds", type=float, default=30.0)
    ap.add_argument("--memory-devices", default="8", help="memory: N devices (each a fresh process per mode)")
    ap.add_argument("--batches", default="9,64,256", help="breakdown: clips per forward")
    ap.add_argument("--skip-breakdown", action="store_true")
    ap.add_argument("--out", default="bench_serve")
    args = ap.parse_args()
    p = load_params(ROOT / "params.yaml", "demo")
    demo_fps = float(p["synth"]["fps"])
    rates = [demo_fps if r == "demo" else float(r) for r in args.rates.split(",")]
    ns = [int(x) for x in args.cameras.split(",")]
    modes = args.modes.split(",")
    realtime_modes = [m for m in modes if m in ("serve", "score")]
    work = Path(tempfile.mkdtemp(prefix="bench_serve_"))
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
        "MLFLOW_REQUIREMENTS_INFERENCE_TIMEOUT": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("IPAD_PIPELINE_ID", None)
    old_cwd = os.getcwd()
    os.environ.update({k: env[k] for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REQUIREMENTS_INFERENCE_TIMEOUT")})
    os.environ.pop("IPAD_PIPELINE_ID", None)
    t_all = time.perf_counter()
    try:
        os.chdir(work)  # the registry's artifacts land in the work folder
        setup = build(work, p)
        print("setup", {k: v for k, v in setup.items() if k in ("generate_s", "register_s", "bank_clips")}, flush=True)
        result = {
            "profile": "demo",
            "method": "knn",
            "clip": [p["clip"]["length"], *p["clip"]["size"]],
            "devices": setup["devices"],
            "bank_clips": setup["bank_clips"],
            "demo_fps": demo_fps,
            "seconds_per_run": args.seconds,
            "setup_s": {"generate": setup["generate_s"], "register": setup["register_s"]},
        }
        if not args.skip_breakdown:
            result["breakdown"] = breakdown(setup, p, work, [int(b) for b in args.batches.split(",")])
        if "swap" in modes:
            result["swap"] = swap(setup, p, work, args.swap_cameras, args.swap_fps, args.swap_seconds)
        if "memory" in modes:
            result["memory"] = memory(p, work, [int(x) for x in args.memory_devices.split(",")], env)
        os.chdir(old_cwd)
        runs, summary = [], {}
        for fps in rates if realtime_modes else []:
            for mode in realtime_modes:
                best = 0
                for n in ns:
                    row = realtime(mode, n, fps, args.seconds, setup, p, work / f"rt-{mode}-{n}", env)
                    runs.append(row)
                    if not row["keeps_up"]:
                        break
                    best = n
                summary.setdefault(f"{fps:g}fps", {})[mode] = {
                    "cameras_sustained": best,
                    "capped_by_tried": best == ns[-1],
                    "cameras_by_cpu": _by_cpu(
                        [r for r in runs if r["mode"] == mode and r["camera_fps"] == fps and r["keeps_up"]]
                    ),
                }
            s = summary[f"{fps:g}fps"]
            if "serve" in s and "score" in s and s["score"]["cameras_sustained"]:
                s["ratio_serve_over_score"] = round(
                    s["serve"]["cameras_sustained"] / s["score"]["cameras_sustained"], 2
                )
        result.update(
            summary=summary,
            runs=runs,
            total_s=round(time.perf_counter() - t_all, 1),
            command=" ".join(["python benchmarks/bench_serve.py", *sys.argv[1:]]),
        )
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
