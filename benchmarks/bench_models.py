"""Model cost: parameter counts, scoring clips/s (the method's forward and score components) and
training-step time (the method's own loss: reconstruction, or INFP's prediction) per model at the demo and
paper sizes (this CPU, and the GPU when one is present: batched, bf16 autocast), and LoRA trainable
parameters vs full fine-tuning. Writes benchmarks/results/bench_models.json.

    python benchmarks/bench_models.py [--sizes demo,paper] [--repeat 3]

On a CPU the paper size is measured with batch 1 and few repeats (a step takes seconds); ratios to
conAE of the same size and batch, measured in the same run, are the comparable figures.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from _common import write_result

from ipad_vad.config import load_params
from ipad_vad.methods import get_method, method_names
from ipad_vad.models import count_parameters
from ipad_vad.train.loop import TrainSettings
from ipad_vad.train.lora import LoraSettings, add_lora, trainable_summary

ROOT = Path(__file__).resolve().parents[1]
# the methods measured are the registered ones with a learned model (IPAD-VAD, V-Swin-T, conAE,
# memAE); left out: the no-memory ablation (IPAD-VAD's architecture less its memory) here, and any
# model without parameters (the kNN reference's bank) below
SKIP = {"ipad_vad_no_memory", "infp_baseline", "infp_fusion", "infp_filter"}  # ablations: their parent's size


def _time(fn, repeat: int, sync) -> float:
    fn()  # warm-up
    sync()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="demo,paper")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    device = torch.device(
        "cuda"
        if args.device == "auto" and torch.cuda.is_available()
        else ("cpu" if args.device == "auto" else args.device)
    )
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    amp = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    )
    results = {}
    for size in args.sizes.split(","):
        p = load_params(ROOT / "params.yaml", size)
        T, (H, W) = p["clip"]["length"], p["clip"]["size"]
        batch = 8 if (device.type == "cuda" or size != "paper") else 1
        repeat = args.repeat if (device.type == "cuda" or size != "paper") else 1
        x = torch.rand(batch, 3, T, H, W, device=device) * 2 - 1
        rows = {}
        for name in method_names():
            if name in SKIP:
                continue
            torch.manual_seed(0)
            method = get_method(name, p)
            m = method.build()
            # only the models the shared trainer steps on clips (``Method.takes_pseudo_anomalies``): not the kNN
            # reference (nothing to train), the feature bank (a bank to fit before any forward) nor local
            # patterns (fitted in stages on region crops); their fitting is timed by bench_quality's fit column
            if not method.takes_pseudo_anomalies or count_parameters(m) == 0:
                continue
            m = m.to(device)
            opt = torch.optim.Adam(m.parameters(), lr=1e-4)

            # bound defaults: each pass's closures run within that pass; the `del` below frees the model
            def fwd(method=method, m=m, x=x):
                with torch.no_grad(), amp:
                    method.score_batch(m.eval(), x)

            def step(method=method, m=m, x=x, opt=opt):
                m.train()
                with amp:
                    loss, _ = method.training_loss(m, {"clip": x}, TrainSettings())
                opt.zero_grad()
                loss.backward()
                opt.step()

            t_fwd, t_step = _time(fwd, repeat, sync), _time(step, repeat, sync)
            rows[name] = {
                "parameters": count_parameters(m),
                "forward_clips_per_s": round(batch / t_fwd, 2),
                "train_step_s": round(t_step, 4),
            }
            print(size, name, rows[name], flush=True)
            del m, opt, fwd, step  # the closures' defaults hold the model too
        base = rows["conv_ae"]
        for r in rows.values():
            r["forward_speed_vs_conv_ae"] = round(r["forward_clips_per_s"] / base["forward_clips_per_s"], 3)
            r["train_step_vs_conv_ae"] = round(r["train_step_s"] / base["train_step_s"], 3)
        lora_rows = {}
        for name in ("ipad_vad", "infp"):
            method = get_method(name, p)
            settings = LoraSettings(**p["adapt"]["lora"])
            lora = trainable_summary(
                add_lora(method.build(), settings, method.lora_targets, name, method.lora_modules_to_save(settings))
            )
            full = count_parameters(method.build())
            lora_rows[name] = {
                "trainable": lora["trainable"],
                "full_finetune_trainable": full,
                "share": round(lora["trainable"] / full, 4),
            }
        results[size] = {"clip": [T, H, W], "batch": batch, "models": rows, "lora": lora_rows}
    write_result(
        "bench_models_gpu" if device.type == "cuda" else "bench_models", {"device": str(device), "results": results}
    )


if __name__ == "__main__":
    main()
