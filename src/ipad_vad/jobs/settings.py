"""Typed views of the params sections the jobs read (params.yaml with its profile applied)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar

from ..errors import ConfigError


class _Section:
    """A typed params section: unknown keys are an error naming them."""

    section: ClassVar[str]

    @classmethod
    def from_params(cls, p: dict):
        d = dict(p.get(cls.section) or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"{cls.section}: unknown keys {unknown}; known: {sorted(known)}")
        return cls(**d)


@dataclass(frozen=True)
class EvaluateSettings(_Section):
    section: ClassVar[str] = "evaluate"
    batch_size: int = 32
    window: int = 5  # sliding-window size n (seed 000 §4.3)
    period_weight: float = 0.5  # weight of E_p in IPAD-VAD's combined score


@dataclass(frozen=True)
class AlertSettings(_Section):
    section: ClassVar[str] = "alert"
    false_alarm_rate: float = 0.005
    min_frames: int = 2
    merge_gap: int = 8
    min_calibration_frames: int = 32
    # issue 26: the threshold set on long normal footage (alerts/calibration.fit_shift_calibration)
    alerts_per_hour: float = 0.5  # at most this many alerts per nominal hour of that footage ...
    threshold_margin: float = 0.0  # ... then raised by this (calibrated units)
    release_margin: float = 0.0  # hysteresis: an alert ends below threshold - this
    smooth: int = 1  # evidence: the mean of this many frame scores


@dataclass(frozen=True)
class FinetuneSettings(_Section):
    section: ClassVar[str] = "finetune"
    epochs: int = 3
    lr: float = 5e-4
    fraction: float = 0.2  # share of a device's training clips every adaptation sees
    fraction_mode: str = "contiguous"
    lora: dict = field(default_factory=dict)

    @classmethod
    def from_params(cls, p: dict) -> "FinetuneSettings":
        s = super().from_params(p)
        if not 0 < s.fraction <= 1:
            raise ConfigError(f"finetune.fraction must be in (0, 1], got {s.fraction}")
        return s

    def train_settings(self, p: dict):
        from ..train.loop import TrainSettings

        return TrainSettings.from_params(p["train"], epochs=self.epochs, lr=self.lr, fraction=self.fraction,
                                         fraction_mode=self.fraction_mode)

    def lora_settings(self):
        from ..train.lora import LoraSettings

        return LoraSettings(**self.lora)


@dataclass(frozen=True)
class PipelineSettings(_Section):
    section: ClassVar[str] = "pipeline"
    scenes: list
    pretrain_scenes: list
    devices: list
    methods: list  # the report's rows: every method in src/ipad_vad/methods/ named here
    promote_methods: list  # the methods that compete for a device's champion
    promote_margin: float = 0.0  # AUC points the new best must beat the champion by
    promote_min_auc: float = 0.0  # AUC in percent (70): below it a version is never champion: no usable detector
    pretrain_data: str = "pretrain"
    prepared_root: str = "data/prepared"
    models_root: str = "models"
    eval_root: str = "eval"
    plots_root: str = "plots"
    metrics_root: str = "metrics"
    reports_root: str = "reports"
    registry_root: str = "registry"

    @classmethod
    def from_params(cls, p: dict) -> "PipelineSettings":
        from ..methods import get_method, method_names

        s = super().from_params(p)
        known = method_names()
        for key in ("methods", "promote_methods"):
            bad = [m for m in getattr(s, key) if m not in known]
            if bad:
                raise ConfigError(f"pipeline.{key}: unknown methods {bad}; known: {known}")
        for m in s.methods:  # each method checks its section methods.<m> against its typed Settings
            get_method(m, p)
        if not 0.0 <= s.promote_min_auc <= 100.0:
            raise ConfigError(f"pipeline.promote_min_auc must lie in [0, 100] (an AUC in percent), got {s.promote_min_auc}")
        if 0.0 < s.promote_min_auc <= 1.0:  # a fraction, as the setting was before issue 29: 0.7 would pass anything
            raise ConfigError(f"pipeline.promote_min_auc is an AUC in percent, got {s.promote_min_auc} "
                              f"(write {100 * s.promote_min_auc:g} for an AUC of {s.promote_min_auc:g})")
        outside = [m for m in s.promote_methods if m not in s.methods]
        if outside:
            raise ConfigError(f"pipeline.promote_methods {outside} are not in pipeline.methods (they must be evaluated)")
        return s
