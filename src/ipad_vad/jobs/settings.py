"""Typed views of the params sections the jobs read (params.yaml with its profile applied): the
schema sections of ``settings/`` themselves (their types, ranges and defaults), read from a params
dict with a one-line ConfigError for a bad key, plus the checks that need more than one section."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from ..errors import ConfigError
from ..settings.adapt import Adapt
from ..settings.alert import Alert
from ..settings.evaluate import Evaluate
from ..settings.pipeline import Pipeline


class _FromParams:
    """A section read from a params dict: ``params[section]`` checked by its schema."""

    section: ClassVar[str]

    @classmethod
    def from_params(cls, params: dict):
        from ..params_schema import validate_section

        return validate_section(cls, params[cls.section], f"{cls.section} settings", cls.section)


class EvaluateSettings(Evaluate, _FromParams):
    section: ClassVar[str] = "evaluate"

    def scorer(self, p: dict, method, progress: bool = False):
        """How the evaluation scores `method`'s clips (``evaluate/scoring.ClipScorer``): this section's
        batch size, on ``train.device`` with ``train.amp``."""
        from ..evaluate.scoring import ClipScorer
        from ..train.loop import resolve_device

        return ClipScorer(
            method, self.batch_size, str(resolve_device(p["train"]["device"])), p["train"]["amp"], progress
        )


class AlertSettings(Alert, _FromParams):
    section: ClassVar[str] = "alert"


class AdaptSettings(Adapt, _FromParams):
    section: ClassVar[str] = "adapt"

    def train_settings(self, p: dict):
        from ..train.loop import TrainSettings

        return TrainSettings.from_params(
            p["train"],
            epochs=self.epochs,
            lr=self.lr,
            schedule=self.schedule,
            fraction=self.fraction,
            fraction_mode=self.fraction_mode,
        )

    def lora_settings(self):
        from ..train.lora import LoraSettings

        return LoraSettings(**dict(self.lora))


class PipelineSettings(Pipeline, _FromParams):
    section: ClassVar[str] = "pipeline"

    @classmethod
    def from_params(cls, p: dict, build: Iterable[str] | None = None) -> PipelineSettings:
        """The section, its methods built (each checks ``methods.<m>`` against its typed Settings) and
        the methods that compete for a champion among those evaluated. `build`: only these methods
        (a pipeline step builds those it runs, a preprocessing step none: no torch); default: every
        method of pipeline.methods, as a pipeline run's start."""
        s = super().from_params(p)
        for m in s.methods if build is None else build:
            from ..methods import get_method  # here: methods/ imports torch

            get_method(m, p)
        outside = [m for m in s.promote_methods if m not in s.methods]
        if outside:
            raise ConfigError(
                f"pipeline.promote_methods {outside} are not in pipeline.methods (they must be evaluated)"
            )
        return s
