"""`ipad score` throughput and alert latency, per stream.

    python benchmarks/bench_score.py [--sizes demo,paper] [--device auto] [--frames 240]

For each size (profile) it measures, with the IPAD-VAD model of that profile:
* frames/s of one stream through the StreamScorer (what `ipad score` runs), with the batch chosen
  for at most one clip of alert latency, and with a throughput batch (32 clips); on a GPU with and
  without bf16 autocast; on a CPU also end to end from a JPEG frame folder (decoding included);
* how many 30 fps streams that is in real time (frames/s / 30, streams sharing the device in turn);
* the end-to-end alert latency in frames: a stream whose frames 120.. carry an object that does not
  belong there, scored against a calibration fitted on the same camera's normal frames; latency =
  the frame at which the alert event is emitted minus the first anomalous frame.

Weights are random (throughput depends on the architecture, not on the weights; the latency test's
anomaly is a large saturated object, which raises the reconstruction error of any autoencoder).
Writes benchmarks/results/bench_score.json (bench_score_gpu.json on cuda).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from _common import write_result  # noqa: E402

from ipad_vad.alerts.calibration import Calibration, fit_calibration  # noqa: E402
from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.inference.frame_sources import open_footage  # noqa: E402
from ipad_vad.inference.stream_scorer import StreamScorer, batch_for_latency, structural_latency  # noqa: E402
from ipad_vad.methods import get_method  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STREAM_FPS = 30
ANOMALY_AT = 120
CYCLE = 60  # frames per machine cycle of the benchmark's camera


def camera(
    n: int, size: tuple[int, int], cycle: int = CYCLE, anomaly_from: int | None = None, seed: int = 0
) -> np.ndarray:
    """One camera (fixed background) watching a periodic machine: a part moving across a textured
    background, sensor noise drawn with `seed`; optionally a magenta object from `anomaly_from`."""
    h, w = size
    bg = np.random.default_rng(0).integers(40, 110, (h // 8, w // 8, 3), dtype=np.uint8)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    rng = np.random.default_rng(seed)
    out = np.repeat(bg[None], n, 0)
    for i in range(n):
        x = int((w - w // 4) * (i % cycle) / cycle)
        out[i, h // 3 : h // 3 + h // 5, x : x + w // 5] = (40, 180, 60)
        if anomaly_from is not None and i >= anomaly_from:
            cv2.circle(out[i], (w // 4, 2 * h // 3), h // 6, (255, 0, 255), -1)
        out[i] = np.clip(out[i].astype(np.int16) + rng.integers(-3, 4, out[i].shape), 0, 255).astype(np.uint8)
    return out


def stream_rate(method, model, cal, frames, device, batch, amp) -> float:
    s = StreamScorer(method, model, cal, device, batch_clips=batch, amp=amp, check_size=False)
    s.push_many(frames[: cal.clip_len + batch])  # warm-up (cudnn / oneDNN plans)
    s = StreamScorer(method, model, cal, device, batch_clips=batch, amp=amp, check_size=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    s.push_many(frames)
    s.close()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(frames) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default=None, help="default: demo on a CPU, demo,paper on a GPU")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--frames", type=int, default=240)
    args = ap.parse_args()
    device = torch.device(
        "cuda"
        if args.device == "auto" and torch.cuda.is_available()
        else ("cpu" if args.device == "auto" else args.device)
    )
    sizes = (args.sizes or ("demo,paper" if device.type == "cuda" else "demo")).split(",")
    results = {}
    for size in sizes:
        p = load_params(ROOT / "params.yaml", size)
        T, hw = p["clip"]["length"], tuple(p["clip"]["size"])
        a = p["alert"]
        torch.manual_seed(0)
        method = get_method("ipad_vad", p)
        model = method.build().eval().to(device)
        ctx = method.context(CYCLE)  # n_classes, evaluate.window, the period step of a CYCLE-frame cycle
        window = ctx.window
        lat_batch = batch_for_latency(T, window, a["min_frames"], p["score"]["max_latency"] or T)
        # calibration from this camera's normal frames (another recording: seed 1)
        normal = camera(args.frames, hw, seed=1)
        clip_only = method.clip_components  # the probe's calibration: no window components, so none is computed
        probe = StreamScorer(
            method,
            model,
            Calibration(
                method=method.name,
                threshold=0.0,
                false_alarm_rate=0.01,
                components=clip_only,
                means=(0.0,) * len(clip_only),
                stds=(1.0,) * len(clip_only),
                weights=(1.0,) * len(clip_only),
                clip_len=T,
                frame_size=hw,
            ),
            device,
            batch_clips=8,
            check_size=False,
        )  # clip components and t_p of every clip
        scored = probe.push_many(normal) + probe.close()
        values = {n: np.array([s.components[n] for s in scored]) for n in clip_only}
        values.update(method.window_values(np.array([s.t_p for s in scored]), ctx))  # the period error E_p
        cal = fit_calibration(
            method.name,
            values,
            method.weights(),
            a["false_alarm_rate"],
            **asdict(ctx),
            clip_len=T,
            frame_size=hw,
            min_frames=a["min_frames"],
            merge_gap=a["merge_gap"],
            merge_stretch=a["merge_stretch"],
            merge_gap_max=a["merge_gap_max"],
            release_margin=a["release_margin"],
            hold_quantile=a["hold_quantile"],
            hold_max=a["hold_max"],
        )  # the alert settings the pipeline's held-out calibration ships (jobs/calibrate)
        frames = camera(args.frames, hw, seed=2)
        row = {
            "clip": [T, *hw],
            "latency_batch": lat_batch,
            "structural_latency_frames": structural_latency(T, window, lat_batch, a["min_frames"]),
        }
        modes = [("latency_batch", lat_batch, True), ("throughput_batch_32", 32, True)]
        if device.type == "cuda":
            modes += [("throughput_batch_32_fp32", 32, False)]
        for label, batch, amp in modes:
            fps = stream_rate(method, model, cal, frames, device, batch, amp)
            row[label] = {
                "batch": batch,
                "bf16": amp and device.type == "cuda",
                "frames_per_s": round(fps, 1),
                "streams_30fps_realtime": int(fps // STREAM_FPS),
            }
            print(size, label, row[label], flush=True)
        if device.type == "cpu":  # end to end from a JPEG folder: decoding included
            with tempfile.TemporaryDirectory() as d:
                for i, f in enumerate(camera(args.frames, (256, 256), seed=2)):
                    cv2.imwrite(f"{d}/{i}.jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
                s = StreamScorer(method, model, cal, device, batch_clips=lat_batch, check_size=False)
                t = time.perf_counter()
                for f in open_footage(d, hw).frames:
                    s.push(f)
                s.close()
                fps = args.frames / (time.perf_counter() - t)
            row["from_jpeg_folder_256px"] = {
                "batch": lat_batch,
                "frames_per_s": round(fps, 1),
                "streams_30fps_realtime": int(fps // STREAM_FPS),
            }
            print(size, "from_jpeg_folder_256px", row["from_jpeg_folder_256px"], flush=True)
        # alert latency on a stream whose frames ANOMALY_AT.. carry a foreign object
        s = StreamScorer(method, model, cal, device, batch_clips=lat_batch, check_size=False)
        at = None
        for i, f in enumerate(camera(ANOMALY_AT + 3 * T, hw, seed=3, anomaly_from=ANOMALY_AT)):
            s.push(f)
            starts = [e for e in s.events if e.kind == "start" and e.alert.end >= ANOMALY_AT]
            if starts and at is None:
                at = i
        false_before = [e.alert.start for e in s.events if e.kind == "start" and e.alert.end < ANOMALY_AT]
        row["alert_latency_frames"] = (at - ANOMALY_AT) if at is not None else None
        row["alert_latency_ms_at_30fps"] = (
            round(1000 * row["alert_latency_frames"] / STREAM_FPS) if at is not None else None
        )
        row["false_alerts_before_anomaly"] = len(false_before)
        print(size, "latency", row["alert_latency_frames"], "frames", flush=True)
        results[size] = row
        del model
    write_result(
        "bench_score_gpu" if device.type == "cuda" else "bench_score",
        {"device": str(device), "stream_fps": STREAM_FPS, "results": results},
    )


if __name__ == "__main__":
    main()
