"""The non-parametric reference detector (DESIGN §9): the distance of a clip to its nearest
neighbours among the normal clips of a device, in a lighting-robust descriptor.

Descriptor of a clip (N, 3, T, H, W) in [-1, 1]: `frames` frames evenly spaced over the clip, each
area-downsampled to `size` and, with ``normalise="frame"``, brightness-normalised per frame
(zero mean, unit standard deviation over its pixels and channels, so a global lighting change or
gain drops out while colour differences between parts stay), flattened and concatenated:
d(x) in R^{frames * 3 * h * w}.

Scores (``score``):

* ``global``: the mean Euclidean distance to the k nearest descriptors of the bank of normal clips,
  divided by sqrt(dim) (an RMS difference per descriptor element).
* ``local`` (issue 12): the k nearest bank clips are retrieved by that distance, then each is
  compared cell by cell: the residual d(x) - d(b_j), seen as ``frames`` images (3, h, w), is scored
  by its worst ``cell`` x ``cell`` block after the local light offset is removed
  (``models/local_error.py``), averaged over the frames; the score is the smallest of the k:
  s(x) = min_j sum_f w_f e(r_{j,f}). A small wrong part is a large residual in one cell, where the
  global distance spreads it over the whole clip; a light spot that moves between recordings is a
  smooth offset, removed before the cells are scored. With ``shift`` > 0 each cell is compared with
  the bank clip moved by up to ``shift`` descriptor pixels in each direction and the best alignment
  counts (camera jitter; a part shifted further still shows).

  Camera shift (``camera_shift`` S > 0; 0: off). A camera nudged or drifting moves the whole view by
  more than the jitter ``shift`` absorbs, and then every cell with an edge errs at once. Before the
  cells are compared, each frame of each candidate bank clip is moved as a whole by the offset
  (dy, dx), |dy|, |dx| <= S, that best matches the query's frame,

      (dy, dx)_f = argmin  sum over the interior pixels p of  u_p (g(q_f)_p - g(b_f moved by (dy, dx))_p)^2,

  g the grey level (the mean over channels) and u the **still-scene weights**, u_p ∝ 1 / (v_p + median
  v), v_p the variance of pixel p's grey level over the bank's centre frames: the walls, the frame and
  the floor decide where the camera looks, the moving parts (which differ between a clip and its
  neighbours by their phase) count little. Frame by frame (a clip may hold the moment the camera
  moved; ties keep the clip where it is), and
  the strip the moved frame does not show (|dy| rows, |dx| columns at the edge the view moved away
  from) is not compared: there the residual is 0, since no normal footage says what belongs there. A
  part moved on its own (a shifted part) is a few cells of the frame and does not decide the
  offset; the ``shift`` alignment of each cell then works on top of the frame's. docs/alerts.md
  measures it on shifts with the camera nudged.

  Clipped pixels (``censor_clipped``; off: compared as values). A light switched on clips the bright
  parts of the view at white, and the per-frame normalisation then leaves every edge off by contrast.
  With it on, a query frame with pixels clipped at white or black (within ``clipped_within`` grey
  levels) is compared with each bank frame after the bank frame is brought to the query's levels over
  the elements that held no clipped pixel, and each clipped element counts only where the bank cannot
  explain its bound (``models/clipped.py`` has the equations); a frame with nothing clipped is compared
  as before, bit for bit. The query's flags come from its pixels (``query_descriptors``), so only the clip's own
  descriptor (``ClipDescriptor``) is censored.

  Frame weights w_f (``frame_weight``): ``uniform`` (1/frames each) or ``centre``: a triangle that
  peaks at the clip's centre frame and reaches zero ``centre_width`` x half the clip away,

      w_f ∝ max(0, 1 - |f - (F-1)/2| / (centre_width * (F+1)/2)),  normalised to sum 1.

  The score of a clip is the score of its centre frame (the evaluation labels it by that frame), yet
  with uniform weights a wrong part seen 7 frames before the centre counts as much as one at it: the
  score of the normal frames around every anomaly rises, and a short look anomaly (a wrong shape for
  3 of the 9 sampled frames) is diluted. Centre weights localise it while the frames around still
  carry the motion (pause, speed, order). Measured in docs/quality.md §2.1.

  Persistence (``persist`` frames, 1: off): each cell's errors over the frames that carry weight are
  opened along time first (``models/local_error.temporal_opening``): a cell counts at a frame only
  by the error it holds over ``persist`` consecutive frames, so a deviation that passes through (a
  person walking across the view) counts less than one that stays (a wrong or stuck part),

      s(x) = min_j sum_f w_f max_c o_{j,c,f},   o_{j,c,.} = opening of e(r_{j,.})_c over f;

  with ``persist_reach`` r > 0 the deviation may move up to r cells a frame and still hold:
  o = min(e, opening of D_r(e)), D_r the maximum over the (2r + 1)^2 cells around. It cuts a person
  walking through and, with it, the timing faults (a pause, a speed change, steps out of order),
  which do not stay at a place either: off by default (docs/alerts.md, persistence).

  Persistence of what is new at a place (``persist_scope="novel"``; ``"all"``: the whole error, as
  above). A timing fault (a pause, a speed change, steps out of order) puts a part where the clip's
  neighbours do not have it *now*, but where normal footage has it at another moment; a person
  walking through, or a wrong part, shows at a place what normal footage never shows there. Each
  cell's **novelty** is its error against the best normal patch of that cell at any time,

      n_{c,f} = min( e_{j,c,f},  min_{m, |dy|,|dx| <= shift} e_c(q_f - M_m shifted by (dy, dx)) ),

  M: the centre frames of the bank's clips, evenly thinned to ``novelty_frames`` (the memory of how
  each place looks in normal footage; derived from the bank, never saved), e_c the cell's error with its
  own light offset removed (the patch's mean over channels and pixels; taken with the clip's own
  error e_j so that n <= e). Only the novel part must hold over ``persist`` frames, what is merely at
  the wrong time counts as it is:

      o'_{j,c,f} = (e_{j,c,f} - n_{c,f}) + opening of n_{c,.} over f  (with ``persist_reach`` as above),

  so 0 <= o' <= e: a passer-by (new and passing) is cut, a wrong part (new and staying) and a
  timing fault (not new) are kept. docs/alerts.md measures it.

  Looks an operator marked normal (``tolerate_marked``; operator feedback, issue 26). A false alarm an
  operator marks becomes a training recording of its device (``alerts/feedback.py``), and its clips join
  the bank like any footage (``bank_marked``: the bank clips centred on the alert's own frames, not on
  the context exported around them). As a clip of the bank it explains a query only at the same moment
  of the cycle, so a marked worker walking through teaches the bank that one walk: the next one, at
  another moment, deviates as much. With
  ``tolerate_marked`` the marked footage also says how each place *may* look, at any moment: each cell's
  novelty n (above; its memory M now of the unmarked clips only) is replaced, where it is larger, by the
  cell's error against the best patch of that cell in the marked clips' centre frames T (evenly thinned
  to ``novelty_frames``, at every shift within ``shift`` pixels),

      e'_{j,c,f} = (e_{j,c,f} - n_{c,f}) + min(n_{c,f}, t_{c,f}),   t_{c,f} = min_{m in T, shifts} e_c(q_f - T_m),

  so 0 <= e' <= e: what is new at a place and looks as the marked footage looked there is tolerated;
  what is merely at the wrong time (a timing fault: e - n) counts as it is, and a look new to the
  marked footage too (a wrong part: t >= n) counts as it is. Without marked clips in the bank the score
  is the same bit for bit. docs/alerts.md (operator feedback) measures it: the marked frames lower
  what is new in the shift's light and camera more than they teach the next walker.

Each bank clip keeps the index of the recording it comes from (``bank_recording``; -1: unknown, in
models saved before it was kept), so that ``without_recording`` gives the detector as if it had never
seen one recording: the alert threshold is then calibrated on footage the bank holds, each recording
against the others (``methods/knn.py``, ``bank_footage: all``). It also keeps the centre frame of each bank
clip in its recording (``bank_frame``; -1: unknown), so that an alert can show the normal frame its
clip was matched with (``local_map``: the per-cell residual to the nearest normal clip and that clip's
bank index, issue 26).

No learning: `bank` is a buffer filled by ``set_bank``, stored as float16 (a dense bank of 32 x 32
descriptors is large; half precision changes no nearest neighbour that matters); its size varies
with the footage, and a saved state of any bank size loads into a detector of another size (the bank
buffers take the saved size: ``load_state_dict``, also when peft loads an adapter that carries a bank).

The matching is independent of what the descriptor holds: ``descriptor`` may be any module with
``frames``, ``channels``, ``size`` and ``dim`` (a clip's descriptor is ``frames`` maps of ``channels`` x
``size``, flattened), and ``score_descriptors`` scores descriptors computed elsewhere - the feature
bank (``models/feature_bank.py``) matches a learned encoder's feature maps with this same machinery.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from .clipped import bounds, clipped_flags, matched_levels
from .local_error import cell_errors, local_error, temporal_opening

RESIDUAL_BYTES = 4 << 20  # local residuals of as many clips together as fit this (one residual, float32): cache-sized
NOVELTY_BYTES = 32 << 20  # novelty: the distances of as many query frames to the memory together as fit this
PERSIST_SCOPES = ("all", "novel")  # persistence: of the whole cell error | of its novel part (module docstring)


class ClipDescriptor(nn.Module):
    channels = 3  # RGB

    def __init__(self, frames: int = 5, size: tuple[int, int] = (16, 16), normalise: str = "frame"):
        super().__init__()
        if normalise not in ("frame", "none"):
            raise ValueError(f"normalise must be 'frame' or 'none', got {normalise!r}")
        self.frames, self.size, self.normalise = int(frames), tuple(int(s) for s in size), normalise

    @property
    def dim(self) -> int:
        return self.frames * self.channels * self.size[0] * self.size[1]

    def sampled(self, x: torch.Tensor) -> torch.Tensor:
        """The ``frames`` frames evenly spaced over clips x (N, C, T, H, W): (N, frames, C, H, W), float."""
        idx = torch.linspace(0, x.shape[2] - 1, self.frames).round().long().to(x.device)
        return x.float().index_select(2, idx).transpose(1, 2).contiguous()

    def describe(self, f: torch.Tensor) -> torch.Tensor:
        """The descriptor (N, dim) of sampled frames f (N, frames, C, H, W; ``sampled``)."""
        N, frames, C, H, W = f.shape
        f = F.adaptive_avg_pool2d(f.reshape(N * frames, C, H, W), self.size).reshape(N, frames, -1)
        if self.normalise == "frame":
            f = (f - f.mean(-1, keepdim=True)) / f.std(-1, keepdim=True).clamp_min(1e-3)
        return f.reshape(N, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.describe(self.sampled(x))


# where the candidates of the local score come from: the k nearest of the whole bank, or of each of its
# recordings (then a bank grown by a recording holds every candidate it held before, so no clip scores
# higher: operator feedback only ever lowers scores; k x recordings candidates to score). A bank pooled
# over several scenes (a base's, fitted on the pretraining scenes) is matched as a whole either way: no
# feedback lands there, and its many recordings (24 in the demo) would cost k x 24 candidates a clip.
RETRIEVE_FROM = ("bank", "each_recording")


class KnnReference(nn.Module):
    def __init__(
        self,
        frames: int = 5,
        size: tuple[int, int] = (16, 16),
        normalise: str = "frame",
        k: int = 1,
        score: str = "global",
        cell: int = 4,
        offset_cell: int = 0,
        retrieve_pool: int = 1,
        retrieve_from: str = "bank",
        shift: int = 0,
        camera_shift: int = 0,
        censor_clipped: bool = False,
        clipped_within: int = 10,
        frame_weight: str = "uniform",
        centre_width: float = 0.5,
        persist: int = 1,
        persist_reach: int = 0,
        persist_scope: str = "all",
        novelty_frames: int = 256,
        tolerate_marked: bool = False,
        bank_size: int = 0,
        chunk: int = 4096,
        descriptor: nn.Module | None = None,
    ):
        super().__init__()
        if score not in ("global", "local"):
            raise ValueError(f"score must be 'global' or 'local', got {score!r}")
        # `descriptor`: another descriptor of the same layout (frames, channels, size, dim); then frames,
        # size and normalise are its own
        self.descriptor = descriptor if descriptor is not None else ClipDescriptor(frames, size, normalise)
        self.k, self.chunk, self.score = int(k), int(chunk), score
        self.cell, self.offset_cell, self.retrieve_pool = int(cell), int(offset_cell), int(retrieve_pool)
        if retrieve_from not in RETRIEVE_FROM:
            raise ValueError(f"retrieve_from must be one of {RETRIEVE_FROM}, got {retrieve_from!r}")
        self.retrieve_from = retrieve_from
        self.shift = int(shift)
        if camera_shift < 0:
            raise ValueError(f"camera_shift must be at least 0 pixels, got {camera_shift}")
        self.camera_shift = int(camera_shift)
        if not 0 <= clipped_within < 128:
            raise ValueError(f"clipped_within must be 0-127 grey levels, got {clipped_within}")
        self.censor_clipped, self.clipped_within = bool(censor_clipped), int(clipped_within)
        if frame_weight not in ("uniform", "centre"):
            raise ValueError(f"frame_weight must be 'uniform' or 'centre', got {frame_weight!r}")
        if not 0 < centre_width <= 1:
            raise ValueError(f"centre_width must be in (0, 1], got {centre_width}")
        self.frame_weight, self.centre_width = frame_weight, float(centre_width)
        if persist < 1:
            raise ValueError(f"persist must be at least 1 frame, got {persist}")
        self.persist, self.persist_reach = int(persist), int(persist_reach)
        if persist_scope not in PERSIST_SCOPES:
            raise ValueError(f"persist_scope must be one of {PERSIST_SCOPES}, got {persist_scope!r}")
        if novelty_frames < 1:
            raise ValueError(f"novelty_frames must be at least 1, got {novelty_frames}")
        self.persist_scope, self.novelty_frames = persist_scope, int(novelty_frames)
        self.tolerate_marked = bool(tolerate_marked)
        self.register_buffer(
            "frame_weights",
            self.weights_of_frames(self.descriptor.frames, frame_weight, centre_width),
            persistent=False,
        )
        if score == "local":  # fail at build time, not on the first clip
            local_error(torch.zeros(1, self.descriptor.channels, *self.descriptor.size), self.cell, self.offset_cell)
            local_error(torch.zeros(1, self.descriptor.channels, *self.descriptor.size), self.retrieve_pool)
        self.register_buffer("bank", torch.zeros(bank_size, self.descriptor.dim, dtype=torch.float16))
        self.register_buffer("bank_recording", torch.full((bank_size,), -1, dtype=torch.long))
        self.register_buffer("bank_frame", torch.full((bank_size,), -1, dtype=torch.long))
        # the bank clips centred on frames of alerts an operator marked false alarms (tolerate_marked)
        self.register_buffer("bank_marked", torch.zeros(bank_size, dtype=torch.bool))
        self.register_buffer("pooled", torch.tensor(False))  # the bank holds several scenes' clips (set_bank)
        # (bank identity, float32 copy, retrieval view, per-recording groups): converted once, not per batch
        self._bank32: tuple | None = None
        self._novelty: tuple | None = None  # (bank identity, the novelty memory): built once per bank content
        self._tolerated: tuple | None = None  # (bank identity, the marked clips' memory): built once per bank content
        self._still: tuple | None = None  # (bank identity, the still-pixel weights of camera_aligned)

    @staticmethod
    def weights_of_frames(n_frames: int, frame_weight: str, centre_width: float) -> torch.Tensor:
        """w_f of the local score (module docstring), summing to 1."""
        if frame_weight == "uniform":
            w = torch.ones(n_frames)
        else:
            w = 1 - (torch.arange(n_frames) - (n_frames - 1) / 2).abs() / (centre_width * (n_frames + 1) / 2)
            w = w.clamp_min(0)
        return w / w.sum()

    @property
    def map_shape(self) -> tuple[int, ...]:
        """A descriptor seen as its maps: (frames, channels, h, w)."""
        return (self.descriptor.frames, self.descriptor.channels, *self.descriptor.size)

    @property
    def used_frames(self) -> torch.Tensor:
        """The indices of the descriptor's frames that carry weight in the local score (``frame_weight``:
        ``centre`` gives the clip's ends none; frames the score never reads need not be computed)."""
        return (self.frame_weights > 0).nonzero().flatten()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """The bank buffers take the size of the saved bank (a bank's size varies with the footage)."""
        saved_bank = state_dict.get(prefix + "bank")
        if saved_bank is not None and prefix + "bank_frame" not in state_dict:  # saved before it was kept: unknown
            state_dict[prefix + "bank_frame"] = torch.full((saved_bank.shape[0],), -1, dtype=torch.long)
        if saved_bank is not None and prefix + "pooled" not in state_dict:  # saved before it was kept
            state_dict[prefix + "pooled"] = torch.tensor(False)
        if saved_bank is not None and prefix + "bank_marked" not in state_dict:  # saved before it was kept: none
            state_dict[prefix + "bank_marked"] = torch.zeros(saved_bank.shape[0], dtype=torch.bool)
        for name in ("bank", "bank_recording", "bank_frame", "bank_marked"):
            saved = state_dict.get(prefix + name)
            if saved is not None and saved.shape != self._buffers[name].shape:
                self._buffers[name] = torch.empty(
                    saved.shape, dtype=self._buffers[name].dtype, device=self._buffers[name].device
                )
        self._bank32 = self._novelty = self._tolerated = self._still = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def banks(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(the bank in float32, its retrieval view), computed once per bank content (set_bank,
        load_state_dict, .to()), not per batch."""
        key = (self.bank.data_ptr(), self.bank._version, self.bank.device)
        if self._bank32 is None or self._bank32[0] != key:
            bank = self.bank.float()
            view = self.retrieval_view(bank)
            groups = None
            if self.per_recording:
                rows = [torch.nonzero(self.bank_recording == r).flatten() for r in self.bank_recording.unique()]
                groups = [(r, view[r]) for r in rows] if len(rows) > 1 else None
            self._bank32 = (key, bank, view, groups)
        return self._bank32[1:3]

    @property
    def per_recording(self) -> bool:
        """Candidates from each recording: ``retrieve_from="each_recording"`` and a bank of one scene."""
        return self.retrieve_from == "each_recording" and not bool(self.pooled)

    def recording_groups(self) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        """With candidates from each recording (``per_recording``: ``retrieve_from="each_recording"``, the
        bank not pooled) and two recordings or more: per recording (its bank rows, their retrieval view),
        cached with ``banks``; else None."""
        self.banks()
        return self._bank32[3]

    def retrieval_view(self, d: torch.Tensor) -> torch.Tensor:
        """Descriptors area-pooled by ``retrieve_pool`` for the nearest-neighbour search of the local
        score (4x fewer multiplications at 2; the residual is then taken at full size)."""
        if self.score != "local" or self.retrieve_pool <= 1:
            return d
        shape = self.map_shape
        x = F.avg_pool2d(d.unflatten(-1, shape).flatten(0, 1), self.retrieve_pool)
        return x.reshape(len(d), -1)  # only the ranking of the neighbours is used

    @torch.no_grad()
    def set_bank(
        self,
        descriptors: torch.Tensor,
        recording: torch.Tensor | None = None,
        frame: torch.Tensor | None = None,
        pooled: bool = False,
        marked: torch.Tensor | None = None,
    ) -> None:
        """The normal clips' descriptors (n, dim) and, if known, the recording each comes from (n,) and
        its centre frame in that recording (n,); `pooled`: the clips come from several scenes (a base's
        bank), matched as a whole whatever ``retrieve_from``; `marked` (n,; None: none): the clips centred
        on frames of alerts an operator marked false alarms (``tolerate_marked``)."""
        if descriptors.ndim != 2 or descriptors.shape[1] != self.descriptor.dim:
            raise ValueError(f"bank descriptors must be (n, {self.descriptor.dim}), got {tuple(descriptors.shape)}")
        n = len(descriptors)
        recording = torch.full((n,), -1) if recording is None else torch.as_tensor(recording)
        if recording.shape != (n,):
            raise ValueError(f"recording must have one entry per bank descriptor ({n}), got {tuple(recording.shape)}")
        self.bank = descriptors.detach().to(self.bank.device, torch.float16).contiguous()
        self.bank_recording = recording.long().to(self.bank.device)
        frame = torch.full((n,), -1) if frame is None else torch.as_tensor(frame)
        if frame.shape != (n,):
            raise ValueError(f"frame must have one entry per bank descriptor ({n}), got {tuple(frame.shape)}")
        self.bank_frame = frame.long().to(self.bank.device)
        self.pooled = torch.tensor(bool(pooled), device=self.bank.device)
        marked = torch.zeros(n, dtype=torch.bool) if marked is None else torch.as_tensor(marked)
        if marked.shape != (n,):
            raise ValueError(f"marked must have one entry per bank descriptor ({n}), got {tuple(marked.shape)}")
        self.bank_marked = marked.bool().to(self.bank.device)

    def without_recording(self, recording: int) -> KnnReference | None:
        """A detector whose bank leaves out every clip of `recording`; None when the bank's provenance
        is unknown or nothing else would be left.

        With ``retrieve_from="each_recording"`` the detector scores a clip among k x R candidates (R: the
        bank's recordings); left one out it would have k x (R - 1), and its best residual would sit
        higher than the device's own scoring ever gives: a threshold calibrated that way alerts fewer
        anomalous spans (docs/methods/knn.md). So it takes k' = ceil(k R / (R - 1)) of each remaining
        recording: as many candidates as the full bank gives (R = 2: the 2k nearest of the one left)."""
        if (self.bank_recording < 0).any():
            return None
        keep = self.bank_recording != int(recording)
        if not keep.any():
            return None
        other = copy.copy(self)  # shares the settings and the descriptor; new buffers
        if self.per_recording:
            n_all = len(self.bank_recording.unique())
            n_left = len(self.bank_recording[keep].unique())
            other.k = math.ceil(self.k * n_all / n_left)
        other._buffers = dict(
            self._buffers,
            bank=self.bank[keep],
            bank_recording=self.bank_recording[keep],
            bank_frame=self.bank_frame[keep],
            bank_marked=self.bank_marked[keep],
        )
        other._bank32 = other._novelty = other._tolerated = other._still = None
        return other

    def nearest(self, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(distances, bank indices) of the k nearest bank entries of descriptors `d` (N, dim); with
        ``retrieve_from="each_recording"`` the k nearest of each recording of the bank, side by side
        (N, k x recordings; a recording with fewer clips pads with its farthest)."""
        if len(self.bank) == 0:
            raise RuntimeError("the reference bank is empty: fit the detector on normal footage first")
        q = self.retrieval_view(d.float())
        groups = self.recording_groups()
        if groups is not None:
            parts = [self._nearest_in(q, view, rows) for rows, view in groups]
            return torch.cat([v for v, _ in parts], 1), torch.cat([i for _, i in parts], 1)
        return self._nearest_in(q, self.banks()[1], None)

    def _nearest_in(
        self, d: torch.Tensor, bank: torch.Tensor, rows: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The k nearest of retrieval views `d` among the retrieval views `bank` (the bank's `rows`;
        None: all of it), as bank indices."""
        k = min(self.k, len(bank))
        best = idx = None
        for s in range(0, len(bank), self.chunk):  # bounded memory for large banks
            dist = torch.cdist(d, bank[s : s + self.chunk])
            ids = torch.arange(s, s + dist.shape[1], device=d.device).expand_as(dist)
            best = dist if best is None else torch.cat([best, dist], 1)
            idx = ids if idx is None else torch.cat([idx, ids], 1)
            top = best.topk(min(k, best.shape[1]), dim=1, largest=False)
            best, idx = top.values, idx.gather(1, top.indices)
        if rows is not None:
            idx = rows[idx]
            if k < self.k:  # a short recording: its farthest repeated, so every group has k columns
                pad = self.k - k
                best = torch.cat([best, best[:, -1:].expand(-1, pad)], 1)
                idx = torch.cat([idx, idx[:, -1:].expand(-1, pad)], 1)
        return best, idx

    def distance(self, d: torch.Tensor) -> torch.Tensor:
        """Mean distance of descriptors `d` (N, dim) to their k nearest bank entries, / sqrt(dim)
        (the global score; of the whole bank whatever ``retrieve_from``)."""
        return self._nearest_in(self.retrieval_view(d.float()), self.banks()[1], None)[0].mean(1) / math.sqrt(
            self.descriptor.dim
        )

    def local_distance(self, d: torch.Tensor, clipped: torch.Tensor | None = None) -> torch.Tensor:
        """min over the k nearest bank clips of the frame-weighted worst-cell residual (module docstring).

        Speed (issue 27), the result unchanged bit for bit: frames whose weight is 0 (``centre``: the
        clip's ends) add exactly 0 to the sum, so their residuals are not computed; and the clips are
        taken a few at a time (``RESIDUAL_BYTES`` per residual tensor; each clip's residuals are its
        own): a large batch, e.g. many cameras' clips in one forward, then costs per clip what a small
        one costs instead of spilling its (clips x k x frames x shifts) temporaries out of the caches.
        `clipped`: the query's clipped elements (``query_descriptors``; None: none), censored in the residual."""
        _, idx = self.nearest(d)
        shape, w, used = self.map_shape, self.frame_weights, self.used_frames
        bank = self.banks()[0]
        d = d.float()
        chunk = max(1, RESIDUAL_BYTES // (4 * idx.shape[1] * len(used) * math.prod(shape[1:])))
        out = []
        for s in range(0, len(d), chunk):
            q = d[s : s + chunk, None].unflatten(-1, shape)  # n, 1, F, 3, h, w
            b = bank[idx[s : s + chunk]].unflatten(-1, shape)  # n, k, F, 3, h, w
            c = self._flags(clipped, slice(s, s + chunk), used)
            if len(used) < len(w):
                q = q.index_select(2, used)
            worst = self._cells(q, b, used, c).flatten(-2).amax(-1)  # n, k, frames used (opened: _cells)
            if len(used) < len(w):
                worst = worst.new_zeros(*worst.shape[:2], len(w)).index_copy_(2, used, worst)
            out.append((worst * w).sum(-1).amin(1))
        return torch.cat(out) if out else d.new_zeros(0)

    def _flags(self, clipped: torch.Tensor | None, rows: slice, used: torch.Tensor) -> torch.Tensor | None:
        """The clipped flags of the query rows `rows` as maps of their `used` frames (n, 1, F used, C, h, w);
        None where no element of them is clipped (then the residual is q - b, bit for bit)."""
        if clipped is None:
            return None
        c = clipped[rows, None].unflatten(-1, self.map_shape).index_select(2, used)
        return c if bool(c.any()) else None

    def _cells(
        self, q: torch.Tensor, b: torch.Tensor, used: torch.Tensor, clipped: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Cell errors of the query's `used` frames q (n, 1, F used, 3, h, w) against the same frames of
        the bank clips b (n, k, F, 3, h, w) -> (n, k, F used, h // cell, w // cell): each cell at its best
        alignment within ``shift`` pixels, the query's `clipped` elements censored, opened along the
        frames by ``persist``."""
        cells = self.aligned_cells(q, b.index_select(2, used) if len(used) < b.shape[2] else b, clipped)
        if self.tolerates():  # the novel part the marked footage shows at that place, tolerated (module docstring)
            novel = torch.minimum(cells, self.novelty(q[:, 0]).unsqueeze(1))
            cells = cells - novel + torch.minimum(novel, self.tolerance(q[:, 0]).unsqueeze(1))
        if self.persist <= 1:
            return cells
        if self.persist_scope == "all":
            return self._opened(cells)
        novel = torch.minimum(cells, self.novelty(q[:, 0]).unsqueeze(1))  # n, k, F, h', w' (module docstring)
        return cells - novel + self._opened(novel)

    def camera_aligned(self, q: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The bank clips' frames b (n, k, F, C, h, w) each moved as a whole by the offset within
        ``camera_shift`` pixels that best matches the query's frame q (n, 1, F, C, h, w): the least squared
        residual of their grey levels (the mean over channels) over the interior pixels (module docstring,
        camera shift); frame by frame, since a clip may hold the moment the camera moved. The strip the
        moved frame does not show takes the query's own pixels (not compared). 0: b as it is."""
        S = self.camera_shift
        if S <= 0:
            return b
        lead, (C, h, w) = b.shape[:3], b.shape[3:]
        padded = F.pad(b.flatten(0, 2), (S, S, S, S), mode="replicate").unflatten(0, lead)  # n, k, F, C, h+2S, w+2S
        # (S, S) is the bank frame where it is: first, so that a tie keeps it
        offsets = [(S, S)] + [(dy, dx) for dy in range(2 * S + 1) for dx in range(2 * S + 1) if (dy, dx) != (S, S)]
        grey_q, grey_b = q.mean(-3)[..., S : h - S, S : w - S], padded.mean(-3)
        still = self.still_weights()[..., S : h - S, S : w - S]
        cost = torch.stack(
            [
                ((grey_q - grey_b[..., dy + S : dy + h - S, dx + S : dx + w - S]).pow(2) * still).sum((-2, -1))
                for dy, dx in offsets
            ]
        )  # offsets, n, k, F
        off = torch.tensor(offsets, device=b.device)[cost.argmin(0)]  # n, k, F, 2: where each frame's view starts
        rows = torch.arange(h, device=b.device) + off[..., :1]  # n, k, F, h: rows of the padded frame
        cols = torch.arange(w, device=b.device) + off[..., 1:]  # n, k, F, w
        index = (rows[..., :, None] * (w + 2 * S) + cols[..., None, :]).flatten(-2)  # n, k, F, h w
        moved = padded.flatten(-2).gather(-1, index.unsqueeze(-2).expand(*lead, C, h * w)).unflatten(-1, (h, w))
        shown = ((rows >= S) & (rows < S + h))[..., :, None] & ((cols >= S) & (cols < S + w))[..., None, :]
        return torch.where(shown.unsqueeze(-3), moved, q.expand_as(b))

    def still_weights(self) -> torch.Tensor:
        """Per descriptor pixel (h, w), how much it counts in the camera's offset: 1 / (v + median v), v the
        variance of its grey level over the bank's centre frames (evenly thinned to ``novelty_frames``),
        normalised to sum 1. The still scene (walls, the frame, the floor) decides where the camera looks;
        the moving parts, which differ between a clip and its neighbours by their phase, count little.
        Built once per bank content."""
        bank = self.banks()[0]
        key = self._bank32[0]
        if self._still is None or self._still[0] != key:
            F_ = self.map_shape[0]
            centre = bank.unflatten(-1, self.map_shape)[:, F_ // 2].mean(1)  # N, h, w: grey
            keep = torch.linspace(0, len(centre) - 1, min(self.novelty_frames, len(centre))).round().long()
            v = centre[keep.to(centre.device)].var(0, unbiased=False) if len(keep) > 1 else torch.zeros_like(centre[0])
            w = 1 / (v + v.median().clamp_min(1e-6))
            self._still = (key, w / w.sum())
        return self._still[1]

    def aligned_cells(self, q: torch.Tensor, b: torch.Tensor, clipped: torch.Tensor | None = None) -> torch.Tensor:
        """Cell errors of the residuals q - b (n, k, F, 3, h, w) -> (n, k, F, h // cell, w // cell), each
        cell at its best alignment within ``shift`` pixels, after the bank clips are moved as a whole by
        the camera's offset within ``camera_shift`` pixels (``camera_aligned``); the query's `clipped`
        elements (n, 1, F, 3, h, w; None: none) censored (``models/clipped.py``)."""
        b = self.camera_aligned(q, b)
        if clipped is None:

            def residual(bank):
                return q - bank
        else:  # the bank brought to the query's measured levels once, the bounds applied at each shift
            b, (lower, upper) = matched_levels(q, b, clipped), bounds(clipped)

            def residual(bank):
                return (q - bank).clamp_(lower, upper)

        if self.shift <= 0:
            cells = cell_errors(residual(b), self.cell, self.offset_cell)
        else:  # each cell against the bank clip shifted by up to `shift` pixels: the best alignment (jitter)
            s, (h, w) = self.shift, self.descriptor.size
            padded = F.pad(b.flatten(0, 2), (s, s, s, s), mode="replicate").unflatten(0, b.shape[:3])
            cells = torch.stack(
                [
                    cell_errors(residual(padded[..., dy : dy + h, dx : dx + w]), self.cell, self.offset_cell)
                    for dy in range(2 * s + 1)
                    for dx in range(2 * s + 1)
                ]
            ).amin(0)
        return cells

    def _opened(self, cells: torch.Tensor) -> torch.Tensor:
        """Cell errors (n, k, F, h', w') opened along the F frames by ``persist``, a deviation allowed to
        move ``persist_reach`` cells a frame."""
        if self.persist_reach <= 0:
            return temporal_opening(cells, 2, self.persist)
        r = self.persist_reach  # a deviation may move by up to r cells a frame and still hold
        near = F.max_pool2d(cells.flatten(0, 2), 2 * r + 1, 1, r).unflatten(0, cells.shape[:3])
        return torch.minimum(cells, temporal_opening(near, 2, self.persist))

    def _cell_vectors(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames (m, C, h, w) as the patches of their cells, each less its own mean (its light offset):
        (cells, m, C * cell * cell)."""
        m, C, h, w = frames.shape
        c = self.cell
        v = frames.reshape(m, C, h // c, c, w // c, c).permute(2, 4, 0, 1, 3, 5).reshape((h // c) * (w // c), m, -1)
        return v - v.mean(-1, keepdim=True)

    def tolerates(self) -> bool:
        """Whether marked looks are tolerated: ``tolerate_marked`` on and the bank holds marked clips and
        unmarked ones (module docstring)."""
        return self.tolerate_marked and bool(self.bank_marked.any()) and not bool(self.bank_marked.all())

    def _patch_memory(self, rows: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The cell patches of the centre frames of the bank clips `rows` (None: all; evenly thinned to
        ``novelty_frames``), at every shift within ``shift`` pixels, offsets removed, as (the patches
        transposed (cells, C * cell * cell, m), their squared norms (cells, 1, m)), m = frames x
        (2 shift + 1)^2."""
        bank = self.banks()[0]
        F_, C, h, w = self.map_shape
        centre = bank.unflatten(-1, self.map_shape)[:, F_ // 2]  # N, C, h, w
        if rows is not None:
            centre = centre[rows]
        keep = torch.linspace(0, len(centre) - 1, min(self.novelty_frames, len(centre))).round().long()
        frames, s = centre[keep.to(centre.device)], self.shift
        if s > 0:
            padded = F.pad(frames, (s, s, s, s), mode="replicate")
            frames = torch.cat(
                [padded[..., dy : dy + h, dx : dx + w] for dy in range(2 * s + 1) for dx in range(2 * s + 1)]
            )
        v = self._cell_vectors(frames)
        return v.transpose(1, 2).contiguous(), v.pow(2).sum(-1).unsqueeze(1)

    def novelty_memory(self) -> tuple[torch.Tensor, torch.Tensor]:
        """How each cell looks in normal footage (M, module docstring): ``_patch_memory`` of the bank's
        clips, of its unmarked ones where marked looks are tolerated (``tolerates``); built once per bank
        content."""
        self.banks()
        key = self._bank32[0]
        if self._novelty is None or self._novelty[0] != key:
            rows = (~self.bank_marked).nonzero().flatten() if self.tolerates() else None
            self._novelty = (key, *self._patch_memory(rows))
        return self._novelty[1:]

    def tolerance_memory(self) -> tuple[torch.Tensor, torch.Tensor]:
        """How each cell may look by the operator's marks (T, module docstring): ``_patch_memory`` of the
        bank's marked clips; built once per bank content."""
        self.banks()
        key = self._bank32[0]
        if self._tolerated is None or self._tolerated[0] != key:
            self._tolerated = (key, *self._patch_memory(self.bank_marked.nonzero().flatten()))
        return self._tolerated[1:]

    def novelty(self, q: torch.Tensor) -> torch.Tensor:
        """Each cell's error against the best patch of that cell in the novelty memory (module docstring):
        query maps (n, F, C, h, w) -> (n, F, h // cell, w // cell)."""
        return self._patch_errors(q, *self.novelty_memory())

    def tolerance(self, q: torch.Tensor) -> torch.Tensor:
        """Each cell's error against the best patch of that cell in the marked clips (t, module docstring):
        query maps (n, F, C, h, w) -> (n, F, h // cell, w // cell)."""
        return self._patch_errors(q, *self.tolerance_memory())

    def _patch_errors(self, q: torch.Tensor, memory: torch.Tensor, norms: torch.Tensor) -> torch.Tensor:
        """Each cell's error against the best patch of that cell in a patch memory (``_patch_memory``)."""
        n, F_, C, h, w = q.shape
        v = self._cell_vectors(q.reshape(n * F_, C, h, w))  # cells, n F, D
        chunk = max(1, NOVELTY_BYTES // (4 * norms.numel()))
        best = torch.cat(  # |v - m|^2 = |v|^2 + |m|^2 - 2 v.m, its minimum over the memory's m
            [
                torch.baddbmm(norms, v[:, s : s + chunk], memory, alpha=-2).amin(-1)
                + v[:, s : s + chunk].pow(2).sum(-1)
                for s in range(0, v.shape[1], chunk)
            ],
            1,
        )  # cells, n F
        e = best.clamp_min(0) / (self.cell * self.cell)  # as cell_errors: summed over channels, mean over pixels
        return e.T.reshape(n, F_, h // self.cell, w // self.cell)

    @torch.no_grad()
    def local_map(self, d: torch.Tensor, clipped: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Where descriptors `d` (N, dim) differ from normal: (the frame-weighted residual map to the
        nearest normal clip (N, h', w'), that clip's bank index (N,)). ``local``: the cell errors
        (h // cell, w // cell) of the one of the k nearest that gives the score; ``global``: the
        squared residual per descriptor pixel (h, w) to the nearest. The alert's heat map (issue 26);
        `clipped` as the score's (``local``)."""
        w = self.frame_weights
        if self.score == "local":
            cells, j, _ = self.scoring_neighbour(d, clipped=clipped)  # N, F used, h', w'
            return (cells * w[self.used_frames][:, None, None]).sum(1), j
        _, idx = self.nearest(d)
        shape = self.map_shape
        q = d.float().unflatten(-1, shape)  # N, F, C, h, w
        r = (q - self.banks()[0][idx[:, 0]].unflatten(-1, shape)).pow(2).sum(2)  # N, F, h, w
        return (r * w[:, None, None]).sum(1), idx[:, 0]

    @torch.no_grad()
    def scoring_neighbour(
        self, d: torch.Tensor, opened: bool = True, clipped: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Of the k nearest normal clips of descriptors `d` (N, dim), the one that gives the local score
        (``local_distance``): its cell errors over the frames that carry weight (N, F used, h', w'; opened
        along the frames by ``persist`` as the score's, or as aligned, before any opening, with `opened`
        False), its bank index (N,) and the local score it gives (N,; the score's own with `opened`);
        `clipped`: the query's clipped elements, censored as in the score."""
        _, idx = self.nearest(d)
        shape, w, used = self.map_shape, self.frame_weights, self.used_frames  # as the score's frames
        q = d.float()[:, None].unflatten(-1, shape).index_select(2, used)  # N, 1, F used, C, h, w
        b = self.banks()[0][idx].unflatten(-1, shape)  # N, k, F, C, h, w
        c = self._flags(clipped, slice(None), used)
        cells = self._cells(q, b, used, c) if opened else self.aligned_cells(q, b.index_select(2, used), c)
        worst = (cells.flatten(-2).amax(-1) * w[used]).sum(-1)  # N, k: the local score of each neighbour
        j = worst.argmin(1)
        rows = torch.arange(len(d), device=d.device)
        return cells[rows, j], idx[rows, j], worst[rows, j]

    def score_descriptors(self, d: torch.Tensor, clipped: torch.Tensor | None = None) -> torch.Tensor:
        """The score (``score``: local or global) of descriptors `d` (N, dim); `clipped`: the query's
        clipped elements (``query_descriptors``), censored in the local score."""
        return self.local_distance(d, clipped) if self.score == "local" else self.distance(d)

    def censors(self) -> bool:
        """Whether the query's clipped pixels are censored: ``censor_clipped`` on, the score local, and the
        descriptor the clip's own pixels (``ClipDescriptor``; a learned descriptor's maps are never)."""
        return self.censor_clipped and self.score == "local" and isinstance(self.descriptor, ClipDescriptor)

    def query_descriptors(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Clips x (N, C, T, H, W) as (their descriptors (N, dim), their clipped elements when ``censors``,
        else None: ``models/clipped.clipped_flags`` of the frames the local score reads); the frames are
        sampled once for both."""
        if not self.censors():
            return self.descriptor(x), None
        f = self.descriptor.sampled(x)
        return self.descriptor.describe(f), self._clipped_of(f)

    def _clipped_of(self, f: torch.Tensor) -> torch.Tensor:
        """The clipped elements of the descriptor's sampled frames f (``ClipDescriptor.sampled``)."""
        return clipped_flags(f, self.descriptor.size, self.clipped_within, self.used_frames)

    def forward(self, x: torch.Tensor) -> dict:
        return {"distance": self.score_descriptors(*self.query_descriptors(x))}

    @classmethod
    def from_state_dict(cls, state_dict: dict, **settings) -> KnnReference:
        n = int(state_dict["bank"].shape[0])
        model = cls(**settings, bank_size=n)
        # a model saved before the bank's provenance was kept: unknown (-1), calibrated on held-out footage
        state_dict = {"bank_recording": torch.full((n,), -1, dtype=torch.long), **state_dict}
        model.load_state_dict(state_dict)
        return model
