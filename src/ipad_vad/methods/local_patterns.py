"""Local patterns and the Legendre state machine (seed 003, issue 15): regions of the camera where
parts move, each described per frame by a backbone + ITAM image attention trained to align with
captions (eq. 1), the dynamics of each region's features over tubes of L frames modelled by the SMM
(Legendre motion components, eq. 2-6) that predicts them Δt ahead (``models/local_patterns/``).

Substitutes for what cannot be had here (docs/methods/local-patterns.md):

* **regions**: the paper's region proposal network (RegionCLIP) cannot be downloaded; a fixed
  camera's moving parts are found from the optical flow of its normal training footage
  (``models/local_patterns/regions.py``: connected components of the mean flow magnitude, merged
  with overlapping neighbours, squared and enlarged by 25 % as §3.1), ``regions: grid`` (or no
  motion at all) an n x n grid. Fitted per camera on its normal training footage and saved with the
  model: the base model holds the regions of every pretraining scene (a clip is scored with those of
  the nearest camera by a frame descriptor - no scene name is used), a device's adapted model its own.
* **captions**: CLIP's sentences cannot be made; the generator knows what every region of every
  frame shows (``data/synth/captions.py``, asked through the data layer's side information,
  ``data/side_info.py``): for each region the polygon it overlaps most gives two
  sentences, the paper's action ("pick-and-place gripper carry middle") and appearance ("red disc")
  groups; "still background" where nothing is drawn. The text encoder is a token embedding + one
  self-attention layer over a vocabulary built from these captions, trained from scratch.
  Captions exist for generated footage only (``<data.root>/synth.json``); on footage without them
  (a user's own) the spatial part is not trained - it keeps its random initialisation, a fixed
  random convolutional descriptor - and a log line says so. ``clip_checkpoint``: a local
  TorchScript CLIP-like image encoder used as the backbone instead (never downloaded).
* Devices: only the image branch is used (as the paper at inference); adapting to a device (``full``)
  keeps the spatial part, finds the device camera's regions, fine-tunes the SMM on all of the device's
  training footage and rebuilds the normal features and tubes from it (``adapt_footage: all``: the
  map and threshold are then set on the device's calibration recordings).

Score components (higher = more anomalous), each region's value over that region's mean on normal
training footage, then the max over regions:

* ``prediction_error``: the SMM's squared error of predicting the region's (standardised) features
  at a frame from the tube of L frames ending Δt before it (abnormal dynamics predict badly: seed
  003's score), averaged over the clip's centre frame and ``context`` frames each side;
* ``spatial_novelty``: the distance of the region's feature to the nearest normal feature of the same
  region (a novel spatial pattern: a wrong colour, shape or position), averaged over the same frames;
* ``tube_novelty``: the distance of the region's tube (its features over the L frames ending at a
  frame, concatenated) to the nearest normal tube of the same region, averaged over the same frames.
  The SMM's prediction cannot see a pause - a still region is the easiest dynamics to predict - but a
  region standing still at a pose it always passes through, moving faster, or passing its poses in
  another order is a tube no normal one is near (the reference detector's clip matching, on the
  learned region features; docs/methods/local-patterns.md).

Combined with fixed weights (``weights``, no labels). Ablations: ``local_patterns_no_itam`` (backbone
features only), ``local_patterns_no_smm`` (a plain MLP predictor); O and L via ``order``/``length``.

Measured (docs/methods/local-patterns.md, three generator seeds): 69.9 mean AUC with the tube novelty
(65.9 without it) against the reference detector's 87.4; the defaults (threshold 0.5 and tiled bands,
24-pixel crops, 10 ITAM epochs, a 2048-feature bank, scores over the centre frame +- 2, 15 SMM epochs)
are what raised seed 0 from 55.3 to 65.0, each step recorded there with what did not help.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Annotated, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from ..data.sampling import contiguous_share_ends
from ..data.side_info import NO_SIDE_INFO, SideInfo, side_info
from ..models.local_patterns.backbone import load_image_encoder
from ..models.local_patterns.itam import contrastive_loss
from ..models.local_patterns.model import LocalPatterns, LocalPatternsConfig, camera_key, tube_windows
from ..models.local_patterns.regions import grid_regions, mean_flow_magnitude, motion_regions
from . import register
from .base import Channels, ClipScores, FitHooks, FitResult, Method, PosInt, ScoreComponent, WeightedSettings

log = logging.getLogger(__name__)

PREDICTION_ERROR = ScoreComponent(
    "prediction_error", "SMM error of predicting a region's features Δt ahead (max over regions)"
)
SPATIAL_NOVELTY = ScoreComponent(
    "spatial_novelty", "distance of a region's feature to its nearest normal one (max over regions)"
)
TUBE_NOVELTY = ScoreComponent(
    "tube_novelty", "distance of a region's features over L frames to its nearest normal tube (max over regions)"
)
COMPONENTS = Literal["prediction_error", "spatial_novelty", "tube_novelty"]
Share = Annotated[float, Field(gt=0, le=1)]
BACKGROUND = "still background"


class LocalPatternsSettings(WeightedSettings):
    regions: Literal["flow", "grid"] = "flow"  # flow: where the training footage moves | grid: grid x grid
    grid: PosInt = 2
    max_regions: PosInt = 6
    flow_threshold: Share = 0.5  # moving: mean flow magnitude above this share of its maximum
    min_side: Annotated[float, Field(ge=0, le=1)] = 0.2  # a region's side at least this share of the frame
    max_side: Share = 0.35  # a larger moving region is cut into tiles of at most this side
    crop: PosInt = 24  # region crops of crop x crop pixels
    widths: Channels = [16, 32]  # backbone convolutions (two)
    visual: PosInt = 32  # V_d
    hidden: PosInt = 32  # H_d
    queries: PosInt = 4  # N_q
    embed: PosInt = 16  # E_d
    heads: PosInt = 2
    itam: bool = True  # False: backbone features only (ablation)
    smm: bool = True  # False: a plain predictor (ablation)
    order: PosInt = 4  # O Legendre motion components
    length: PosInt = 5  # L frames of a tube
    dt: PosInt = 1  # predicted Δt frames ahead
    context: int = Field(2, ge=0)  # scores averaged over the centre frame and this many frames each side
    channels: PosInt = 8  # M state machines side by side (the paper: 1)
    itam_epochs: int = Field(10, ge=0)
    smm_epochs: int = Field(15, ge=0)
    adapt_epochs: int = Field(5, ge=0)  # the SMM fine-tuned on a device
    # a device's SMM and banks on all of its training footage, its map and threshold on its calibration
    # recordings (MethodSettings.adapt_footage; docs/quality.md §15: three seeds 69.9 -> 70.7, devices 67.0 -> 70.2)
    adapt_footage: Literal["share", "all"] = "all"
    lr: Annotated[float, Field(gt=0)] = 1e-3
    batch_size: PosInt = 128
    temperature: Annotated[float, Field(gt=0)] = 0.07
    bank_size: PosInt = 2048  # normal features kept per region
    tube_bank_size: PosInt = 1024  # normal tubes kept per region (L x N features each)
    clip_checkpoint: str = ""  # a local TorchScript image encoder instead of the backbone; never downloaded
    # equal, never tuned on labels; tube_novelty since the nineteenth session: 65.9 -> 69.9 mean AUC, every seed
    weights: dict[COMPONENTS, Annotated[float, Field(ge=0)]] = {
        "prediction_error": 1.0,
        "spatial_novelty": 1.0,
        "tube_novelty": 1.0,
    }

    @model_validator(mode="after")
    def _two_widths(self):
        if len(self.widths) != 2:
            raise ValueError(f"widths: two backbone convolutions, got {self.widths}")
        return self


def _tokenise(sentences: list[str], vocab: dict[str, int], max_len: int) -> torch.Tensor:
    out = torch.zeros(len(sentences), max_len, dtype=torch.long)
    for i, s in enumerate(sentences):
        ids = [vocab.get(w, 1) for w in s.split()][:max_len]
        out[i, : len(ids)] = torch.as_tensor(ids)
    return out


@register
class LocalPatternsMethod(Method):
    name = "local_patterns"
    label = "Local patterns + SMM"
    components = (PREDICTION_ERROR, SPATIAL_NOVELTY, TUBE_NOVELTY)
    adaptations = ("full",)
    shared_params = ("optical_flow",)
    takes_pseudo_anomalies = False  # fitted in stages on region crops, not by the shared trainer on clips
    Settings = LocalPatternsSettings

    def __init__(self, params: dict):
        super().__init__(params)
        s = self.settings
        self.config = LocalPatternsConfig(
            s.crop,
            tuple(s.widths),
            s.visual,
            s.hidden,
            s.queries,
            s.embed,
            s.heads,
            s.itam,
            s.smm,
            s.order,
            s.length,
            s.dt,
            s.channels,
            context=s.context,
        )
        flow = self.params["optical_flow"]
        self.flow_method, self.flow_size = flow["method"], tuple(flow["size"])

    # -- the model -------------------------------------------------------------------------------
    def _module(
        self, vocab: int = 2, cameras: int = 0, regions: int = 1, bank: int = 0, tube_bank: int = 0
    ) -> LocalPatterns:
        cfg = LocalPatternsConfig(**{**self.config.__dict__, "vocab": vocab})
        if not self.settings.clip_checkpoint:
            return LocalPatterns(cfg, cameras=cameras, regions=regions, bank=bank, tube_bank=tube_bank)
        encoder = load_image_encoder(self.settings.clip_checkpoint)
        with torch.no_grad():
            visual = encoder(torch.zeros(1, 3, cfg.crop, cfg.crop)).shape[-1]
        return LocalPatterns(cfg, encoder, visual, cameras, regions, bank, tube_bank)

    def build(self) -> nn.Module:
        """An unfitted module that scores already: one camera with grid regions and one zero normal
        feature and tube per region (fit replaces them with the footage's cameras, regions and features)."""
        n = self.settings.grid
        model = self._module(2, 1, n * n, 1, 1)
        with torch.no_grad():
            model.boxes[0] = torch.tensor(grid_regions(n))
            model.valid.fill_(True)
            model.bank_valid.fill_(True)
            model.tube_bank_valid.fill_(True)
        return model

    def from_state(self, state_dict: dict) -> nn.Module:
        """The module sized from the state dict; one saved before tubes were kept gets an empty tube bank
        (its ``tube_novelty`` is 0)."""
        vocab = state_dict["text.embedding.weight"].shape[0] if "text.embedding.weight" in state_dict else 2
        K, R, M = state_dict["bank"].shape[:3]
        tubes = state_dict["tube_bank"].shape[2] if "tube_bank" in state_dict else 0
        model = self._module(vocab, K, R, M, tubes)
        model.load_state_dict({**{k: v for k, v in model.state_dict().items() if k.startswith("tube_")}, **state_dict})
        return model

    # -- fitting ---------------------------------------------------------------------------------
    def _footage(self, dataset, fraction: float) -> list[tuple[object, int, np.ndarray]]:
        """(video record, first frame, frames (n, H, W, 3) uint8) of each video's contiguous share."""
        ends = contiguous_share_ends(dataset, fraction)
        out = []
        for vi, v in enumerate(dataset.videos):
            lo, hi = v.span or (0, len(v.source))
            hi = min(hi, ends.get(vi, lo))
            if hi - lo >= self.config.length + self.config.dt + 1:
                out.append((v, lo, v.source.read(range(lo, hi))))
        if not out:
            raise ValueError("no training footage long enough for a tube to fit local_patterns on")
        return out

    def _regions(self, videos: list[np.ndarray]) -> list[tuple]:
        s = self.settings
        if s.regions == "flow":
            mag = np.mean([mean_flow_magnitude(f, self.flow_method, self.flow_size) for f in videos], 0)
            boxes = motion_regions(mag, s.flow_threshold, s.max_regions, 0.25, s.min_side, s.max_side)
            if boxes:
                return boxes
            log.info("local_patterns: no motion in a camera's footage; grid regions instead")
        return grid_regions(s.grid)

    def _side_info(self) -> SideInfo:
        """What the data layer knows of the data root's footage beyond its frames: captions for generated
        footage, nothing (``NO_SIDE_INFO``) for any other."""
        return side_info(self.params["data"]["root"])

    def _captions(
        self, video, first: int, n: int, boxes: list[tuple], side: SideInfo
    ) -> list[list[tuple[str, str]]] | None:
        """(action, appearance) per frame and region of a training video; None where its footage has no captions."""
        frames = side.region_captions(video.scene, video.split, video.video)
        if frames is None or len(frames) < first + n:
            return None
        out = []
        for f in range(first, first + n):
            row = []
            for b in boxes:
                best, area = None, 0.0
                for rc in frames[f]:
                    w = min(b[2], rc.box[2]) - max(b[0], rc.box[0])
                    h = min(b[3], rc.box[3]) - max(b[1], rc.box[1])
                    if w > 0 and h > 0 and w * h > area:
                        best, area = rc, w * h
                row.append((best.action, best.appearance) if best else (BACKGROUND, BACKGROUND))
            out.append(row)
        return out

    def fit(
        self, dataset, out_dir, settings, hooks: FitHooks | None = None, model: nn.Module | None = None
    ) -> FitResult:
        """Regions per camera -> crops -> (from scratch, with captions) ITAM by eq. 1 -> region features
        -> the SMM (or plain predictor) by the MSE of predicting v(t + dt) -> normal feature banks and
        scales. `model` (adapting to a device): its spatial part is kept, the predictor fine-tuned."""
        hooks = hooks or FitHooks()
        s = self.settings
        torch.manual_seed(int(settings.seed))
        footage = self._footage(dataset, settings.fraction)
        cameras: dict[str, list[int]] = defaultdict(list)
        for i, (v, _, _) in enumerate(footage):
            cameras[v.scene or "camera"].append(i)
        names = list(cameras)
        boxes = {c: self._regions([footage[i][2] for i in cameras[c]]) for c in names}
        R = max(len(b) for b in boxes.values())
        side = self._side_info() if model is None and s.itam else NO_SIDE_INFO
        captions = {
            i: self._captions(v, lo, len(f), boxes[v.scene or "camera"], side) for i, (v, lo, f) in enumerate(footage)
        }
        sentences = sorted({w for c in captions.values() if c for row in c for pair in row for w in pair})
        vocab = {w: i + 2 for i, w in enumerate(sorted({t for x in sentences for t in x.split()}))}  # 0 pad, 1 unknown
        base = model
        longest = max(len(f) for _, _, f in footage) * 8
        model = self._module(
            len(vocab) + 2 if base is None else (base.text.embedding.num_embeddings if base.text is not None else 2),
            len(names),
            R,
            min(s.bank_size, longest),
            min(s.tube_bank_size, longest),
        )
        if base is not None:
            own = model.state_dict()
            model.load_state_dict(
                {
                    k: (v if k in ("feat_mean", "feat_std") or v.shape == own[k].shape else own[k])
                    for k, v in base.state_dict().items()
                    if k in own
                    and not k.startswith(("cam_keys", "boxes", "valid", "bank", "tube_", "pred_scale", "novelty_scale"))
                },
                strict=False,
            )
        with torch.no_grad():
            for k, c in enumerate(names):
                frames = torch.cat([torch.from_numpy(footage[i][2]) for i in cameras[c]]).permute(0, 3, 1, 2).float()
                model.cam_keys[k] = camera_key(frames / 127.5 - 1).mean(0)
                model.boxes[k, : len(boxes[c])] = torch.tensor(boxes[c])
                model.valid[k, : len(boxes[c])] = True
        cam_of = {i: names.index(v.scene or "camera") for i, (v, _, _) in enumerate(footage)}
        crops = []
        with torch.no_grad():
            for i, (_, _, f) in enumerate(footage):
                x = torch.from_numpy(f).permute(0, 3, 1, 2).float() / 127.5 - 1
                crops.append(
                    torch.cat(
                        [
                            model.crops(x[j : j + 256], torch.full((len(x[j : j + 256]),), cam_of[i]))
                            for j in range(0, len(x), 256)
                        ]
                    )
                )
        history = []
        if base is None and s.itam:
            if any(captions.values()):
                history += self._fit_itam(model, crops, captions, vocab, cam_of)
            else:
                log.warning(
                    "local_patterns: the training footage has no captions (not generated by the synth stage); "
                    "ITAM is not trained - the spatial part keeps its random initialisation"
                )
        model.eval()
        with torch.no_grad():
            raw = [
                torch.cat(
                    [
                        model.image_features(c.flatten(0, 1)[j : j + 1024]).flatten(1)
                        for j in range(0, len(c) * c.shape[1], 1024)
                    ]
                ).unflatten(0, c.shape[:2])
                for c in crops
            ]
            if base is None:
                allf = torch.cat([r.flatten(0, 1) for r in raw])
                model.feat_mean.copy_(allf.mean(0))
                model.feat_std.copy_(allf.std(0).clamp_min(1e-4))
            feats = [(r - model.feat_mean) / model.feat_std for r in raw]  # n, R, N
        epochs = s.smm_epochs if base is None else s.adapt_epochs
        history += self._fit_predictor(model, feats, cam_of, boxes, names, epochs)
        self._banks(model, feats, cam_of, names, boxes)
        if hooks.on_epoch_end and history:
            hooks.on_epoch_end(len(history), history[-1])
        return FitResult(
            model.eval(),
            history,
            {
                "cameras": len(names),
                "regions": {c: len(boxes[c]) for c in names},
                "captioned_videos": sum(1 for c in captions.values() if c),
            },
        )

    def _fit_itam(self, model: LocalPatterns, crops, captions, vocab, cam_of) -> list[dict]:
        """Backbone + ITAM (image and text attention) by the contrastive loss of eq. 1."""
        s = self.settings
        xs, acts, apps = [], [], []
        for i in range(len(crops)):
            if not captions.get(i):
                continue
            valid = model.valid[cam_of[i]]
            for f, row in enumerate(captions[i]):
                for r, (a, p) in enumerate(row):
                    if valid[r]:
                        xs.append((i, f, r))
                        acts.append(a)
                        apps.append(p)
        act_ids = torch.as_tensor(np.unique(acts, return_inverse=True)[1])
        app_ids = torch.as_tensor(np.unique(apps, return_inverse=True)[1])
        act_tok, app_tok = _tokenise(acts, vocab, self.config.max_len), _tokenise(apps, vocab, self.config.max_len)
        params = [p for n, p in model.named_parameters() if not n.startswith("predictor")]
        opt = torch.optim.Adam(params, lr=s.lr)
        model.train()
        history = []
        for epoch in range(s.itam_epochs):
            order, total, steps = torch.randperm(len(xs)), 0.0, 0
            for j in range(0, len(xs), s.batch_size):
                idx = order[j : j + s.batch_size]
                if len(idx) < 2:
                    continue
                x = torch.stack([crops[xs[k][0]][xs[k][1], xs[k][2]] for k in idx.tolist()])
                image = model.image_features(x)
                texts = [model.text(act_tok[idx]), model.text(app_tok[idx])]
                same = [act_ids[idx][:, None] == act_ids[idx][None], app_ids[idx][:, None] == app_ids[idx][None]]
                loss = contrastive_loss(image, texts, same, s.temperature)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total, steps = total + loss.item(), steps + 1
            history.append({"epoch": epoch + 1, "itam_loss": total / max(steps, 1)})
            log.info("local_patterns ITAM epoch %d: loss %.4f", epoch + 1, history[-1]["itam_loss"])
        return history

    def _tubes(self, model, feats, cam_of):
        """(tubes (n, L, N), targets (n, N), camera (n,), region (n,)) of every valid region and time."""
        L, dt = self.config.length, self.config.dt
        tubes, targets, cams, regs = [], [], [], []
        for i, f in enumerate(feats):
            n = len(f) - L - dt + 1
            if n <= 0:
                continue
            idx = torch.arange(n)[:, None] + torch.arange(L)[None]
            for r in torch.nonzero(model.valid[cam_of[i]]).flatten().tolist():
                tubes.append(f[idx, r])
                targets.append(f[L - 1 + dt : L - 1 + dt + n, r])
                cams.append(torch.full((n,), cam_of[i]))
                regs.append(torch.full((n,), r))
        return torch.cat(tubes), torch.cat(targets), torch.cat(cams), torch.cat(regs)

    def _fit_predictor(self, model, feats, cam_of, boxes, names, epochs) -> list[dict]:
        """The SMM (or the plain predictor): MSE of v^(t + dt) against v(t + dt) on normal tubes."""
        s = self.settings
        tubes, targets, cams, regs = self._tubes(model, feats, cam_of)
        opt = torch.optim.Adam(model.predictor.parameters(), lr=s.lr)
        model.predictor.train()
        history = []
        for epoch in range(epochs):
            order, total, steps = torch.randperm(len(tubes)), 0.0, 0
            for j in range(0, len(tubes), s.batch_size):
                idx = order[j : j + s.batch_size]
                loss = F.mse_loss(model.predictor(tubes[idx]), targets[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total, steps = total + loss.item(), steps + 1
            history.append({"epoch": epoch + 1, "prediction_mse": total / max(steps, 1)})
        model.predictor.eval()
        with torch.no_grad():
            err = torch.cat(
                [
                    (model.predictor(tubes[j : j + 4096]) - targets[j : j + 4096]).pow(2).mean(-1)
                    for j in range(0, len(tubes), 4096)
                ]
            )
            for k in range(len(names)):
                for r in range(len(boxes[names[k]])):
                    sel = (cams == k) & (regs == r)
                    if sel.any():
                        model.pred_scale[k, r] = err[sel].mean().clamp_min(1e-6)
        return history

    @torch.no_grad()
    def _banks(self, model, feats, cam_of, names, boxes) -> None:
        """Each region's normal features and normal tubes (its features over L consecutive frames), each
        evenly thinned to its bank's size, and their novelty scales (``_normal_bank``)."""
        L = self.config.length
        for k, c in enumerate(names):
            seqs = [feats[i] for i in cam_of if cam_of[i] == k]  # n, R, N each
            for r in range(len(boxes[c])):
                frames = [f[:, r] for f in seqs]
                runs = [tube_windows(f, L, 0) for f in frames]  # n - L + 1, L N
                for bank, valid, scale, x in (
                    (model.bank, model.bank_valid, model.novelty_scale, frames),
                    (model.tube_bank, model.tube_bank_valid, model.tube_scale, runs),
                ):
                    kept, scale[k, r] = _normal_bank(x, bank.shape[2], L)
                    bank[k, r, : len(kept)] = kept
                    valid[k, r, : len(kept)] = True

    # -- scoring ---------------------------------------------------------------------------------
    def score_batch(self, model: nn.Module, x: torch.Tensor) -> ClipScores:
        out = model(x)
        return ClipScores(self.clip_components, torch.stack([out[n].float() for n in self.clip_components], 1))


def _normal_bank(seqs: list[torch.Tensor], size: int, apart: int) -> tuple[torch.Tensor, torch.Tensor | float]:
    """(at most `size` of the rows of `seqs` (each recording's (n, D) in time order), evenly thinned, in
    float16; their novelty scale: the mean distance of 256 of the rows to the nearest kept row more than
    `apart` frames away in time or in another recording)."""
    f = torch.cat(seqs)
    when = torch.cat([torch.stack([torch.full((len(x),), i), torch.arange(len(x))], 1) for i, x in enumerate(seqs)])
    keep = torch.linspace(0, len(f) - 1, min(size, len(f))).round().long()
    q = torch.linspace(0, len(f) - 1, min(256, len(f))).round().long()
    d = torch.cdist(f[q], f[keep].half().float())
    near = (when[q, None, 0] == when[None, keep, 0]) & ((when[q, None, 1] - when[None, keep, 1]).abs() <= apart)
    d = d.masked_fill(near, float("inf")).amin(1)
    d = d[torch.isfinite(d)]
    return f[keep].half(), (d.mean().clamp_min(1e-6) if len(d) else 1.0)


@register
class LocalPatternsNoItam(LocalPatternsMethod):
    """Seed 003's ablation without ITAM: region features are the backbone's tokens mean-pooled, no image
    attention and no text alignment - and hence no training signal for the backbone, which keeps its
    random initialisation (a fixed random convolutional descriptor; a decision: the paper does not say
    how its "w/o ITAM" backbone is trained). The SMM and the normal banks as ``local_patterns``.
    Settings: ``methods.local_patterns`` with ``methods.local_patterns_no_itam`` merged over it."""

    name = "local_patterns_no_itam"
    label = "Local patterns without ITAM"
    variant_of = "local_patterns"
    overrides = {"itam": False}


@register
class LocalPatternsNoSmm(LocalPatternsMethod):
    """Seed 003's ablation without the SMM: a plain MLP predicts a region's features dt ahead from the
    tube's L concatenated features (``models/local_patterns/smm.PlainPredictor``) instead of the Legendre
    state machine. Settings: ``methods.local_patterns`` with ``methods.local_patterns_no_smm`` merged over it."""

    name = "local_patterns_no_smm"
    label = "Local patterns without SMM"
    variant_of = "local_patterns"
    overrides = {"smm": False}
