"""The typed schema of params.yaml (issue 16, 4; issue 28): the root that assembles the sections,
each of which is one file with its keys' types, ranges *and defaults* (``settings/``; ``serve:``
in ``serve/settings.py``, beside the server that also reads it from a serve config).

``config.load_params`` validates the file — its base sections and every profile overlay merged over
them — before any work starts. An unknown key (``lenght: 16``), a wrongly typed value
(``clip: {length: "sixteen"}``) or one out of range is a ``ConfigError`` naming the file, the key,
the value and what is allowed, never a traceback from deep inside a stage. Keys may be left out: the
loaded dict has every key the schema knows, those left out with their defaults (``with_defaults``),
so no reader needs a default of its own; values given are kept as written.

``methods.<name>`` sections belong to their methods: here their names must be registered methods
(files in ``methods/``); their keys are checked against the method's own typed schema (its
``Settings``, ``methods/base.py``) when the method is built - for every method of
``pipeline.methods`` when a pipeline run starts (``jobs/settings.PipelineSettings``), and by every
stage or job that builds one. Not here: that would import every method, and torch, on every command.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError, field_validator
from pydantic_core import to_jsonable_python

from .errors import ConfigError
from .settings._base import Section
from .settings.adapt import Adapt
from .settings.alert import Alert
from .settings.clip import Clip
from .settings.data import Data
from .settings.evaluate import Evaluate
from .settings.feedback import FeedbackSettings
from .settings.model import Model
from .settings.optical_flow import OpticalFlow
from .settings.period import Period
from .settings.pipeline import Pipeline, method_files
from .settings.pseudo_anomalies import PseudoSettings
from .settings.score import Score
from .settings.serve import ServeSettings
from .settings.storage import Storage
from .settings.synth import Synth
from .settings.train import Train
from .settings.validation import Validation

__all__ = ["Params", "check_params", "method_files", "settings_of", "validate_section", "with_defaults"]


class Params(Section):
    """The root: every section of params.yaml (``profiles`` excepted: config.py resolves them)."""

    profile: str | None = None
    data: Data = Data()
    validation: Validation = Validation()
    clip: Clip = Clip()
    pipeline: Pipeline = Pipeline()
    optical_flow: OpticalFlow = OpticalFlow()
    period: Period = Period()
    model: Model = Model()
    methods: dict[str, dict[str, Any] | None] = {}  # each method's own Settings (methods/<name>.py)
    pseudo_anomalies: PseudoSettings = PseudoSettings()
    train: Train = Train()
    adapt: Adapt = Adapt()
    evaluate: Evaluate = Evaluate()
    storage: Storage = Storage()
    alert: Alert = Alert()
    score: Score = Score()
    serve: ServeSettings = ServeSettings()  # `ipad serve` (serve/settings.py)
    feedback: FeedbackSettings = FeedbackSettings()  # `ipad alerts` marks and export (settings/feedback.py)
    synth: Synth = Synth()

    @field_validator("methods")
    @classmethod
    def _known_methods(cls, v):
        unknown = sorted(set(v) - set(method_files()))
        if unknown:
            raise ValueError(f"unknown methods {unknown}; known: {method_files()}")
        return v


def _section_model(field) -> type[BaseModel] | None:
    """The settings model of a field (a section or a subsection), or None (a plain value)."""
    return next(
        (
            a
            for a in getattr(field.annotation, "__args__", (field.annotation,))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ),
        None,
    )


def with_defaults(raw: dict, model: type[BaseModel] = Params) -> dict:
    """`raw` (a params dict, or a section of it under the schema `model`) with every key the schema
    knows and `raw` leaves out (or leaves empty: ``alert:``) added with its default, as plain YAML
    values (lists, not tuples). Values given are kept as written, in their order: the shipped
    params.yaml, which sets nearly every key, reads exactly as before."""
    out = dict(raw)
    for name, field in model.model_fields.items():
        sub = _section_model(field)
        if name not in out or (out[name] is None and sub is not None):
            out[name] = to_jsonable_python(field.get_default(call_default_factory=True))
        elif sub is not None and isinstance(out[name], dict):
            out[name] = with_defaults(out[name], sub)
    return out


def _known_keys(loc: tuple, model: Any) -> list[str]:
    """The keys allowed where an unknown key `loc` was found (under the schema `model`)."""
    for part in loc[:-1]:
        fields = getattr(model, "model_fields", {})
        model = _section_model(fields[part]) if part in fields else None
        if model is None:
            return []
    return sorted(model.model_fields)


def validate_section(model: type[BaseModel], raw: dict, where: str, prefix: str = ""):
    """`raw` validated by the schema `model`, or a ConfigError naming every problem (`where`: the file
    and profile, or the section; `prefix`: the section's key path, before each key named)."""
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            key = ".".join([prefix] * bool(prefix) + [str(p) for p in err["loc"]])
            if err["type"] == "extra_forbidden":
                lines.append(f"{key}: unknown key; known here: {_known_keys(err['loc'], model)}")
            elif err["type"] == "value_error":  # a check of ours: its message names what is wrong
                lines.append(f"{key}: {err['msg'].removeprefix('Value error, ')}")
            else:
                lines.append(f"{key} = {err.get('input')!r}: {err['msg']}")
        raise ConfigError(f"{where}: " + "; ".join(lines)) from None


RENAMED_SECTIONS = {"finetune": "adapt"}  # old key -> new key (issue 28): a file with the old one is refused


def _refuse_renamed(raw: dict, where: str) -> None:
    for old, new in RENAMED_SECTIONS.items():
        if old in raw:
            raise ConfigError(f"{where}: {old}: renamed to {new} (issue 28)")


def check_params(raw: dict, where: str) -> None:
    """Raise ConfigError for every problem of params dict `raw` (`where`: the file and profile)."""
    _refuse_renamed(raw, where)
    validate_section(Params, with_defaults(raw), where)


def settings_of(params: dict, where: str = "params") -> Params:
    """The typed tree of a params dict (``config.load_params``'s, or one a test or job built):
    checked, with the defaults of what it leaves out."""
    _refuse_renamed(params, where)
    return validate_section(Params, with_defaults(params), where)
