"""What a detection method is: the small core every method implements (``Method``); what only some
methods can do are opt-in abilities, mixins in ``abilities.py`` (LoRA adaptation, window scoring, a
memory bank), that callers ask for with ``isinstance``.

A method declares, in one class that registers itself (``@register``, as timm's ``@register_model``):

* **settings**: the typed schema of its section ``methods.<name>`` (``Settings``, a pydantic model
  extending ``MethodSettings``): an unknown key, a wrong type or a value out of range is a ConfigError
  naming ``methods.<name>.<key>`` when the method is built - at the start of every stage and job that
  uses it, and for every method of ``pipeline.methods`` when a pipeline run starts
  (``jobs/settings.PipelineSettings``);
* **build**: its pure ``nn.Module`` (in ``models/``) from its settings (and the shared sections it
  names in ``shared_params``);
* **fit**: how it learns from normal footage. Default: the shared gradient trainer
  (``train/loop.py``) minimising the method's ``training_loss`` (default: reconstruct the clip; a
  prediction method predicts a frame); a memory-bank method overrides ``fit`` with a refit;
* **adaptation**: how it adapts to a device, one of the shared implementations in
  ``methods/adaptation.py``: ``lora`` (adapters on the modules named by ``lora_targets``: a
  ``LoRAMixin``), ``full`` (every parameter), ``refit`` (``fit`` again on the device's footage).
  ``methods.<name>.adaptation`` may pick another of the method's ``adaptations``;
* **score**: its output per clip as *named score components* (``ScoreComponent``) in a typed
  ``ClipScores``; components marked ``window`` are computed over a video's sequence of clips (the
  sliding-window period error of seed 000 §4.3) from the clips' period positions (a
  ``WindowScoringMixin``); a memory bank of normal clips is a ``MemoryBankMixin``;
* **pseudo-anomalies** (seed 002): ``methods.<name>.pseudo_anomalies`` (probabilities p_s, p_order,
  p_t) replaces training clips by PAs (``pseudo/``) that the model must still map to the normal clip
  - an option of every method trained by gradient (``training_input``);
* **variants**: an ablation is a method whose ``variant_of`` names another, declared in that method's
  file below it (as timm registers a family's variants in its file); its settings are that method's
  section with its own merged over it and its ``overrides`` fixed over both;
* **localise** (optional, issue 26): where in the frame a clip deviates (``Localisation``), for an
  alert's heat map and box; the reference detector gives its per-cell residuals, the reconstruction
  methods their per-pixel error of the centre frame; others give none;
* **save / load**: ``model.pt`` holds the method's name, the params it was built from and the state
  dict, so a saved model rebuilds itself without params.yaml (a bank of any size included:
  ``from_state`` may size the module from the state dict).

Every score component is "higher = more anomalous". The method's combined score is the weighted sum
of its normalised components (``weights``); evaluation, calibration, the registered model and
streaming all iterate over ``components`` and never assume a particular one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar, Literal, get_args

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from ..errors import ConfigError, DataError
from ..io_utils import atomic_path, write_json
from ..models.sliding_window import Anchor
from ..pseudo.settings import PseudoMix

ADAPTATIONS = ("lora", "full", "refit")


PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
Channels = Annotated[list[PosInt], Field(min_length=1)]


class MethodSettings(BaseModel):
    """The keys every ``methods.<name>`` section may hold; a method's ``Settings`` extends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    adaptation: str | None = None  # one of the method's ``adaptations`` (default: its first)
    # the footage a device's adaptation reads: share = adapt.fraction of it (the rest held out to calibrate the
    # alert threshold) | all = all of its training footage where the device has calibration recordings (the
    # components' map and the threshold then set on those, which no model trained on; without any: the share)
    adapt_footage: Literal["share", "all"] = "share"
    pseudo_anomalies: PseudoMix = PseudoMix()  # seed 002: PAs in its training batches (off by default)


class WeightedSettings(MethodSettings):
    """Settings of a method whose combined score weighs its components by fixed ``weights`` (never
    tuned on labels; ``Method.weights`` normalises them). A subclass redeclares ``weights`` with its
    component names as the keys (``dict[Literal[...], float]``) and its defaults."""

    weights: dict[str, Annotated[float, Field(ge=0)]] = {}

    @model_validator(mode="after")
    def _positive_sum(self):
        if sum(self.weights.values()) <= 0:
            keys = get_args(get_args(type(self).model_fields["weights"].annotation)[0])
            over = f" over {', '.join(keys)}" if keys else ""
            raise ValueError(f"weights: a positive sum{over}, got {self.weights}")
        return self


@dataclass(frozen=True)
class ScoreComponent:
    """One named anomaly score of a method (higher = more anomalous)."""

    name: str  # column name in score tables, e.g. "recon_error"
    label: str  # what it is, for reports
    window: bool = False  # computed over a video's clip sequence from the period positions (eq. 7-8)


@dataclass(frozen=True)
class ScoreContext:
    """Scene-level settings a method's window components need (stored with a device's calibration so
    that streaming computes exactly what evaluation did)."""

    n_classes: int = 0  # period classes; 0: the method has no period head
    window: int = 5  # sliding-window size n (eq. 7)
    period_step: float = 1.0  # classes a normal machine advances per clip
    # the reference line through the centre clip's t_p (eq. 8) or fitted to the window
    # (models/sliding_window.py); "centre" here so that a calibration stored before the choice reads as it was made
    period_anchor: Anchor = "centre"


@dataclass(frozen=True)
class ClipScores:
    """Per-clip output of a method for a batch: ``values[:, j]`` is clip-level component
    ``names[j]``; ``phase`` the period position t_p of each clip (None without a period head)."""

    names: tuple[str, ...]
    values: torch.Tensor  # (N, len(names)) float32
    phase: torch.Tensor | None = None  # (N,) class units: long (argmax) or float (between classes)

    def __post_init__(self):
        if self.values.ndim != 2 or self.values.shape[1] != len(self.names):
            raise ValueError(f"ClipScores: values of shape {tuple(self.values.shape)} for components {self.names}")

    def __getitem__(self, name: str) -> torch.Tensor:
        try:
            return self.values[:, self.names.index(name)]
        except ValueError:
            raise KeyError(f"no score component {name!r}; this method has {self.names}") from None

    def __len__(self) -> int:
        return self.values.shape[0]


@dataclass(frozen=True)
class Localisation:
    """Where a batch of clips deviates (``Method.localise``, issue 26): ``heat`` (N, h, w), higher =
    more anomalous, over the whole frame at the method's own grid (cells, descriptor or model pixels);
    for a memory-bank method, the normal clip each was matched with: ``nearest`` its bank index and,
    where the bank knows them (-1: unknown), the training recording and centre frame it came from."""

    heat: torch.Tensor  # (N, h, w)
    nearest: torch.Tensor | None = None  # (N,) bank index
    recording: torch.Tensor | None = None  # (N,) index among the device's training recordings
    frame: torch.Tensor | None = None  # (N,) centre frame of the matched clip in that recording


@dataclass
class FitHooks:
    """Callbacks of a fit (trackers live outside the library core)."""

    on_epoch_end: Callable[[int, dict], None] | None = None
    progress: bool = True


@dataclass
class FitResult:
    model: nn.Module
    history: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)


class Method:
    """Base class; subclasses set the class attributes and override what differs."""

    name: ClassVar[str]
    label: ClassVar[str]
    components: ClassVar[tuple[ScoreComponent, ...]]
    adaptations: ClassVar[tuple[str, ...]] = ("full",)  # the first is the default (lora: a LoRAMixin)
    shared_params: ClassVar[tuple[str, ...]] = ()  # params sections the model is built from besides methods.<name>
    Settings: ClassVar[type[MethodSettings]] = MethodSettings  # the schema of methods.<name>
    variant_of: ClassVar[str | None] = None  # an ablation of this method: its section merged under this one's
    overrides: ClassVar[dict] = {}  # settings an ablation fixes
    takes_pseudo_anomalies: ClassVar[bool] = True  # trained by gradient on clips: PAs are an option
    # the method's own setting for the share of a device's footage it adapts on (Table 3's 1/5), where
    # adapt.fraction does not set it; None: adapt.fraction
    adapt_share_setting: ClassVar[str | None] = None
    reads_flow: ClassVar[bool] = False  # the model reads optical flow (flow-mixup PAs possible)

    def __init__(self, params: dict):
        from ..config import deep_merge
        from ..params_schema import validate_section, with_defaults

        self.params = with_defaults(
            params
        )  # a saved model's params (model.pt) hold only the sections it was built from
        methods = params.get("methods") or {}
        self.cfg = dict(methods.get(self.name) or {})
        if self.variant_of:
            # the parent's section, or its schema defaults where params have none (an override such as
            # `weights: {semantic: 0}` is a change to the parent's weights, not all of them)
            parent = methods.get(self.variant_of) or self.Settings().model_dump(mode="json", exclude_none=True)
            self.cfg = deep_merge(deep_merge(parent, self.cfg), self.overrides)
        self.settings = validate_section(self.Settings, self.cfg, f"{self.name} settings", f"methods.{self.name}")
        self.pseudo_mix = self.settings.pseudo_anomalies
        if self.pseudo_mix.active and not self.takes_pseudo_anomalies:
            raise ConfigError(
                f"methods.{self.name}.pseudo_anomalies: {self.name} is not trained by gradient on clips; "
                f"pseudo-anomalies are no option for it"
            )
        if self.pseudo_mix.temporal > 0 and not self.reads_flow:
            raise ConfigError(
                f"methods.{self.name}.pseudo_anomalies.temporal: {self.name} does not read optical flow; "
                f"flow-mixup PAs are no option for it (spatial and order are)"
            )
        self._mixer = None
        self.adaptation = self.settings.adaptation or self.adaptations[0]
        if self.adaptation not in self.adaptations:
            raise ConfigError(
                f"methods.{self.name}.adaptation: {self.adaptation!r} is not possible for {self.name}; "
                f"choose one of {list(self.adaptations)}"
            )

    # -- the model -----------------------------------------------------------------------------
    def build(self) -> nn.Module:
        raise NotImplementedError

    def from_state(self, state_dict: dict) -> nn.Module:
        """The module for a saved state dict (override when its shapes depend on data)."""
        model = self.build()
        model.load_state_dict(state_dict)
        return model

    @property
    def clip_len(self) -> int:
        return int(self.params["clip"]["length"])

    def model_params(self) -> dict:
        """What ``model.pt`` stores to rebuild the model: clip settings, the shared sections and the
        method's own section."""
        keep = {"clip": self.params["clip"], "methods": {self.name: self.cfg}}
        for k in self.shared_params:
            keep[k] = self.params[k]
        return copy.deepcopy(keep)

    # -- fitting -------------------------------------------------------------------------------
    def fit(
        self, dataset, out_dir: str | Path, settings, hooks: FitHooks | None = None, model: nn.Module | None = None
    ) -> FitResult:
        """Learn from the clips of `dataset` (normal footage). Default: the shared gradient trainer,
        resuming from ``out_dir/checkpoint.pt``; `model` continues from given weights (fine-tuning)."""
        from ..train.loop import Trainer
        from .abilities import WindowScoringMixin

        hooks = hooks or FitHooks()
        n_classes = self.n_classes if isinstance(self, WindowScoringMixin) else 0  # period targets of a period head
        loaded = None
        encoder = self.encoder_checkpoint() if model is None else None
        if encoder:
            setting, path, loader = encoder
            model = self.build()
            loaded = {setting: {"path": str(path), **loader(model.encoder, Path(path))}}
        model = model if model is not None else self.build()
        trainer = Trainer(
            model,
            settings,
            n_classes or None,
            Path(out_dir) / "checkpoint.pt",
            on_epoch_end=hooks.on_epoch_end,
            progress=hooks.progress,
            loss_fn=lambda m, b: self.training_loss(m, b, settings),
        )
        history = trainer.fit(dataset)
        return FitResult(trainer.model, history, loaded or {})

    def encoder_checkpoint(self) -> tuple[str, str, Callable[[nn.Module, Path], dict]] | None:
        """A local checkpoint the model's encoder starts from when fitted from scratch: (the setting that
        names it, its path, the loader that puts it into ``model.encoder``). None: from scratch. Nothing
        is ever downloaded."""
        return None

    def training_loss(self, model: nn.Module, batch: dict, settings) -> tuple[torch.Tensor, dict]:
        """The loss of one training step on a prepared batch (``batch["clip"]`` (N, 3, T, H, W) in [-1, 1])
        and its named parts for the history. Default: reconstruct the (normal) clip from the
        ``training_input`` (``train/losses.py``)."""
        from ..train.losses import reconstruction_loss

        return reconstruction_loss(model(self.training_input(batch)), batch, settings.loss)

    @property
    def mixer(self):
        """The PA mixer of ``methods.<name>.pseudo_anomalies`` (None: PAs off)."""
        if self._mixer is None and self.pseudo_mix.active:
            from ..pseudo.mixing import PseudoAnomalyMixer
            from ..pseudo.settings import PseudoSettings

            self._mixer = PseudoAnomalyMixer(PseudoSettings.from_params(self.params), self.pseudo_mix)
        return self._mixer

    def training_input(self, batch: dict) -> torch.Tensor:
        """What the model is fed in a training step: the batch's clips, each replaced by a spatial or
        frame-order PA with the method's probabilities (the target stays ``batch["clip"]``, eq. 4)."""
        if self.mixer is None or (self.pseudo_mix.spatial == 0 and self.pseudo_mix.order == 0):
            return batch["clip"]
        from ..pseudo.mixing import torch_rng

        return self.mixer.frames(batch["clip"], torch_rng())[0]

    # -- scoring -------------------------------------------------------------------------------
    @property
    def clip_components(self) -> tuple[str, ...]:
        """The components ``score_batch`` returns (the others are window components)."""
        return tuple(c.name for c in self.components if not c.window)

    def weights(self) -> dict[str, float]:
        """Weight of each component in the combined score (sums to 1): the settings' ``weights``
        normalised (``WeightedSettings``; a component they do not name weighs 0), else equal."""
        given = getattr(self.settings, "weights", None)
        if given is None:
            return {c.name: 1.0 / len(self.components) for c in self.components}
        raw = {c.name: float(given.get(c.name, 0.0)) for c in self.components}
        return {k: v / sum(raw.values()) for k, v in raw.items()}

    def active_components(self) -> tuple[str, ...]:
        return tuple(n for n, w in self.weights().items() if w > 0)

    def score_batch(self, model: nn.Module, x: torch.Tensor) -> ClipScores:
        """The clip-level components of a batch of clips (N, 3, T, H, W) in [-1, 1]."""
        raise NotImplementedError

    def localise(self, model: nn.Module, x: torch.Tensor) -> Localisation | None:
        """Where clips (N, 3, T, H, W) in [-1, 1] deviate: a spatial map per clip from the method's
        local scores (an alert's heat map and box). None: this method cannot tell (the default)."""
        return None

    # -- persistence ---------------------------------------------------------------------------
    def save(self, model: nn.Module, path: str | Path) -> Path:
        state = {
            "method": self.name,
            "params": self.model_params(),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        }
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            # through a file object: torch names the archive's records after a path's file name, which
            # here is a random temporary one, so the same model would differ byte for byte on every save
            # and a rerun could not be recognised as unchanged (registry/idempotency.py)
            torch.save(state, fh)
        return Path(path)

    def describe(self) -> dict:
        return {
            "method": self.name,
            "label": self.label,
            "adaptation": self.adaptation,
            "components": [c.name for c in self.components],
            "weights": self.weights(),
        }


def load_model_file(path: str | Path) -> tuple[Method, nn.Module]:
    """Rebuild a saved ``model.pt`` (any method) without params.yaml."""
    from . import get_method_class

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "model file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        name, params, sd = state["method"], state["params"], state["state_dict"]
    except (KeyError, TypeError) as e:
        raise DataError(path, f"not a model file of this version of ipad-vad (missing {e})") from None
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a corrupt file
        raise DataError(path, f"cannot read model file: {e}") from None
    method = get_method_class(name)(params)
    return method, method.from_state(sd)


def write_method_json(out_dir: str | Path, method: Method, **extra) -> None:
    write_json(Path(out_dir) / "method.json", {**method.describe(), **extra})
