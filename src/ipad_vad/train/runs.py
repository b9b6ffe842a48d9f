"""Param-driven jobs: pretrain a model on some scenes, fine-tune a per-device LoRA adapter, train a
baseline, evaluate on a scene. Everything comes from the params dict (params.yaml + profile) and the
validated manifest; results are files in an output folder. No tracking or orchestration here: the
pipeline wraps these functions.

Saved model (``model.pt``): {"name", "model_cfg", "clip", "state_dict"} — enough to rebuild it.
Saved adapter: a peft adapter folder (``adapter_config.json`` + ``adapter_model.safetensors``)
beside an ``ipad_adapter.json`` naming the base model it belongs to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from ..data.clip_dataset import ClipDataset
from ..data.periods import read_period_file
from ..errors import ConfigError, DataError
from ..io_utils import atomic_path, write_dataframe, write_json
from ..models.factory import build_model
from .lora import LoraSettings, add_lora, load_adapter, save_adapter, trainable_summary
from .loop import Trainer, TrainSettings, resolve_device


def clip_settings(params: dict) -> tuple[int, int, tuple[int, int]]:
    c = params["clip"]
    return int(c["length"]), int(c.get("stride", 1)), tuple(c["size"])


def dataset(params: dict, manifest: pd.DataFrame, split: str, scenes: list[str], stride: int | None = None) -> ClipDataset:
    """Clips of `scenes`. When the pipeline's prepared data of a scene exist (see
    ``pipeline/layout.py``), frames come from the decoded cache and phases from the period stage, and
    training clips stay inside whole cycles; otherwise from the frame folders and annotations."""
    length, default_stride, size = clip_settings(params)
    missing = sorted(set(scenes) - set(manifest.scene))
    if missing:
        raise DataError("manifest", f"scenes not in the validated manifest: {missing}")
    stride = stride or (params["clip"].get("train_stride", default_stride) if split == "training" else default_stride)
    videos = []
    for scene in scenes:
        cache, periods = _prepared_roots(params, scene)
        if cache is not None:
            _check_cache(cache, scene, manifest[(manifest.scene == scene) & (manifest.split == split)])
        videos += ClipDataset.from_manifest(manifest, split, [scene], size, length, stride, cache_root=cache,
                                            periods_root=periods,
                                            crop_to_cycles=split == "training" and periods is not None).videos
    return ClipDataset(videos, clip_len=length, stride=stride)


def _check_cache(cache_root: Path, scene: str, rows: pd.DataFrame) -> None:
    """The decoded cache must hold exactly the manifest's videos: a stale or foreign cache is an
    error, never silently mixed with this manifest's labels."""
    from ..preprocess.cache import read_index

    index = read_index(cache_root, scene)["videos"]
    for r in rows.itertuples(index=False):
        got = index.get(f"{r.split}/{r.video}", {}).get("n_frames")
        if got != r.n_frames:
            raise DataError(Path(cache_root) / scene, f"prepared cache does not match the manifest: {r.split}/{r.video} "
                            f"has {r.n_frames} frames in the manifest, {got} in the cache (rerun `ipad prepare --scene {scene}`)")


def _prepared_roots(params: dict, scene: str) -> tuple[Path | None, Path | None]:
    """The pipeline's cache and period roots of a scene when they exist, else (None, None)."""
    if "prepared_root" not in params.get("pipeline", {}):
        return None, None
    from ..pipeline.layout import prepared

    try:
        cache, periods = prepared(params, scene, "cache"), prepared(params, scene, "periods")
    except ConfigError:
        return None, None
    return (cache if (cache / scene).is_dir() else None), (periods if (periods / scene).is_dir() else None)


def save_model(model: torch.nn.Module, name: str, params: dict, path: str | Path) -> Path:
    state = {"name": name, "model_cfg": params["model"], "clip": params["clip"],
             "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict]:
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "model file not found")
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(state["name"], state["model_cfg"], clip_len=state["clip"]["length"])
    model.load_state_dict(state["state_dict"])
    return model, state


def _n_classes(model: torch.nn.Module) -> int | None:
    head = getattr(model, "period_head", None)
    return head.n_classes if head is not None else None


def train_model(params: dict, manifest: pd.DataFrame, scenes: list[str], out_dir: str | Path,
                name: str | None = None, on_epoch_end: Callable | None = None, progress: bool = True) -> dict:
    """Train `name` (default params model.name) from scratch on the training videos of `scenes`
    (IPAD-VAD pretraining on synthetic scenes, or a baseline). Resumes from out_dir/checkpoint.pt."""
    name = name or params["model"]["name"]
    out_dir = Path(out_dir)
    torch.manual_seed(int(params["train"].get("seed", 0)))
    model = build_model(name, params["model"], clip_len=params["clip"]["length"])
    weights = params["model"].get("pretrained_encoder")
    loaded = None
    if weights and hasattr(model, "encoder"):
        from ..models.pretrained import load_pretrained

        loaded = load_pretrained(model.encoder, weights)  # e.g. a Kinetics Video Swin-T file
    settings = TrainSettings.from_params(params["train"])
    ds = dataset(params, manifest, "training", scenes)
    trainer = Trainer(model, settings, _n_classes(model), out_dir / "checkpoint.pt",
                      on_epoch_end=on_epoch_end, progress=progress)
    history = trainer.fit(ds)
    path = save_model(trainer.model, name, params, out_dir / "model.pt")
    result = {"model": name, "scenes": scenes, "clips": len(ds), "history": history, "path": str(path),
              "pretrained_encoder": {"path": weights, **loaded} if loaded else None,
              "parameters": sum(p.numel() for p in model.parameters())}
    write_json(out_dir / "train.json", result)
    return result


def finetune(params: dict, manifest: pd.DataFrame, scene: str, base_path: str | Path, out_dir: str | Path,
             on_epoch_end: Callable | None = None, progress: bool = True) -> dict:
    """LoRA fine-tuning of a pretrained model on one device's training data (a fraction of it)."""
    f = params["finetune"]
    base, state = load_model(base_path)
    if not hasattr(base, "encoder"):
        raise ConfigError(f"{base_path}: LoRA needs a Video Swin model, got {state['name']}")
    torch.manual_seed(int(params["train"].get("seed", 0)))
    lora = LoraSettings(**f.get("lora", {}))
    model = add_lora(base, lora)
    settings = TrainSettings.from_params(params["train"], epochs=f.get("epochs"), lr=f.get("lr"),
                                         fraction=f.get("fraction"), fraction_mode=f.get("fraction_mode"))
    ds = dataset(params, manifest, "training", [scene])
    out_dir = Path(out_dir)
    trainer = Trainer(model, settings, _n_classes(base), out_dir / "checkpoint.pt",
                      on_epoch_end=on_epoch_end, progress=progress)
    history = trainer.fit(ds)
    adapter = save_adapter(trainer.model, out_dir / "adapter")
    summary = trainable_summary(trainer.model)
    meta = {"base": str(base_path), "base_name": state["name"], "scene": scene, "lora": lora.__dict__,
            "fraction": settings.fraction, "clips_used": int(np.ceil(settings.fraction * len(ds))), "history": history,
            "trainable": summary, "adapter_bytes": sum(p.stat().st_size for p in adapter.iterdir())}
    write_json(out_dir / "ipad_adapter.json", meta)
    return meta


def full_finetune(params: dict, manifest: pd.DataFrame, scene: str, base_path: str | Path, out_dir: str | Path,
                  on_epoch_end: Callable | None = None, progress: bool = True) -> dict:
    """Fine-tune every parameter of a (small) pretrained model on the same share of a device's data
    as LoRA gets; saves a whole model.pt. For baselines without attention layers to adapt."""
    f = params["finetune"]
    model, state = load_model(base_path)
    torch.manual_seed(int(params["train"].get("seed", 0)))
    settings = TrainSettings.from_params(params["train"], epochs=f.get("epochs"), lr=f.get("lr"),
                                         fraction=f.get("fraction"), fraction_mode=f.get("fraction_mode"))
    ds = dataset(params, manifest, "training", [scene])
    out_dir = Path(out_dir)
    trainer = Trainer(model, settings, _n_classes(model), out_dir / "checkpoint.pt", on_epoch_end=on_epoch_end,
                      progress=progress)
    history = trainer.fit(ds)
    path = save_model(trainer.model, state["name"], {"model": state["model_cfg"], "clip": state["clip"]},
                      out_dir / "model.pt")
    result = {"base": str(base_path), "scene": scene, "history": history, "path": str(path),
              "clips_used": int(np.ceil(settings.fraction * len(ds)))}
    write_json(out_dir / "finetune.json", result)
    return result


def load_finetuned(out_dir: str | Path, merge: bool = True) -> torch.nn.Module:
    meta_p = Path(out_dir) / "ipad_adapter.json"
    if not meta_p.is_file():
        raise DataError(out_dir, "not a fine-tuned model folder (ipad_adapter.json missing)")
    meta = json.loads(meta_p.read_text())
    base, _ = load_model(meta["base"])
    return load_adapter(base, Path(out_dir) / "adapter", merge=merge)


def scene_cycle_frames(manifest: pd.DataFrame, scene: str, periods_root: str | Path | None = None) -> float | None:
    """A scene's cycle length in frames: from the period stage when given, else the median of the
    training videos' annotations."""
    if periods_root and (Path(periods_root) / scene / "periods.json").is_file():
        return float(json.loads((Path(periods_root) / scene / "periods.json").read_text())["cycle_frames"])
    lengths = []
    for p in manifest[(manifest.scene == scene) & (manifest.split == "training")].period_path:
        if p:
            lengths += np.diff(read_period_file(p)["cycle_starts"]).tolist()
    return float(np.median(lengths)) if lengths else None


def evaluate(params: dict, manifest: pd.DataFrame, scene: str, model: torch.nn.Module, out_dir: str | Path | None = None,
             progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """Score every test clip of `scene`; AUCs under both protocols, per-type AUC. Writes
    scores.parquet and metrics.json into out_dir when given."""
    from ..data.synth.anomalies import CODE_TO_NAME
    from ..evaluate.metrics import add_scores, scene_metrics
    from ..evaluate.scoring import score_clips
    from ..evaluate.sliding_window import expected_step

    e = params["evaluate"]
    ds = dataset(params, manifest, "testing", [scene], stride=1)
    device = str(resolve_device(params["train"].get("device", "auto")))
    df = score_clips(model, ds, e.get("batch_size", 16), device, progress=progress, amp=params["train"].get("amp", True))
    n_classes = _n_classes(model)
    step = expected_step(n_classes, 1, scene_cycle_frames(manifest, scene, _prepared_roots(params, scene)[1])) if n_classes else 1.0
    window, weight = int(e.get("window", 5)), float(e.get("period_weight", 0.5))
    metrics = scene_metrics(df, n_classes, CODE_TO_NAME, window, step, weight)
    metrics.update({"scene": scene, "n_clips": len(df), "n_anomalous": int((df.label == 1).sum()),
                    "period_step": step, "period_weight": weight if n_classes else 0.0})
    scored = add_scores(df, n_classes, window, step, weight, "scene")
    if out_dir is not None:
        write_dataframe(Path(out_dir) / "scores.parquet", scored)
        write_json(Path(out_dir) / "metrics.json", metrics)
    return scored, metrics
