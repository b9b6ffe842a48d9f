"""Score a stream of frames as they arrive, with the evaluation's clip and sliding-window logic.

Works for any method: the clip-level components come from ``Method.score_batch``, the window
components (IPAD-VAD's period error E_p, eq. 7-8) from ``Method.window_values_at`` over the clips'
period positions. Frame f gets the score of the clip centred on it (frames f - T//2 ...
f + T - T//2 - 1), as in evaluation (``data/clip_dataset.py``), and a window component needs the
method's ``lookahead`` clips after it (for E_p: (n-1)/2). So the score of frame f is known once frame

    f + (T - T//2 - 1) + lookahead + (batch - 1)

has arrived: with T = 16, n = 5 and one clip per batch, 9 frames later. Clips are batched for
throughput; the batch size is chosen so that this latency plus the alert's `min_frames` stays
within `max_latency` frames (default: one clip). The first T//2 and last T - T//2 - 1 frames of a
stream have no score (no clip is centred there), exactly as in evaluation.

Scores equal file scoring of the same frames: the clips, the model call (``score_batch``) and the
window components (truncated at the ends of the stream) are the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from ..alerts.alert_tracker import AlertEvent, AlertTracker
from ..alerts.calibration import Calibration
from ..data.frames import resize_frame
from ..errors import DataError
from ..evaluate.scoring import score_batch
from ..methods.abilities import lookahead, window_components
from ..methods.base import Method


@dataclass
class FrameScore:
    frame: int
    components: dict[str, float]  # the method's raw component values
    t_p: float  # period position in classes (between them with period.readout circular_mean; -1 without a head)
    score: float
    hot: bool

    def row(self) -> dict:
        return {"frame": self.frame, **self.components, "t_p": self.t_p, "score": self.score, "hot": self.hot}


def structural_latency(clip_len: int, window: int, batch: int, min_frames: int = 1) -> int:
    """Frames between a frame's arrival and the first moment its alert can be raised."""
    return (clip_len - clip_len // 2 - 1) + (window - 1) // 2 + (batch - 1) + (min_frames - 1)


def batch_for_latency(clip_len: int, window: int, min_frames: int, max_latency: int, cap: int = 64) -> int:
    return int(np.clip(max_latency - structural_latency(clip_len, window, 1, min_frames) + 1, 1, cap))


class StreamScorer:
    """``push(frame)`` RGB uint8 (H, W, 3) frames in order; get back the FrameScores (and, in
    ``events``, the alert events) that became known. ``close()`` at the end of the stream."""

    def __init__(
        self,
        method: Method,
        model: torch.nn.Module,
        calibration: Calibration,
        device: str | torch.device = "cpu",
        batch_clips: int | None = None,
        max_latency: int | None = None,
        amp: bool = True,
        name: str = "stream",
        check_size: bool = True,
    ):
        c = self.cal = calibration
        if c.method != method.name:
            raise ValueError(f"calibration of {c.method} given for a {method.name} model")
        self.method, self.ctx = method, c.context()
        self.window_names = [n for n in window_components(method) if n in c.components]
        self.lookahead = lookahead(method, self.ctx) if self.window_names else 0
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.amp, self.name, self.check_size = amp, name, check_size
        self.T, self.size = c.clip_len, tuple(c.frame_size)
        self.max_latency = max_latency if max_latency is not None else c.clip_len
        self.batch = batch_clips or batch_for_latency(self.T, 2 * self.lookahead + 1, c.min_frames, self.max_latency)
        self.latency = structural_latency(self.T, 2 * self.lookahead + 1, self.batch, c.min_frames)
        self.tracker = AlertTracker.from_calibration(c)
        self._frames: list[np.ndarray] = []  # frames not yet uploaded (model-sized uint8)
        self._tail: torch.Tensor | None = None  # the last T - 1 uploaded frames, on the device
        self._n_in = 0  # frames pushed
        self._pending = 0  # clips waiting for a batch
        self._values: dict[str, list[float]] = {n: [] for n in method.clip_components}  # clips still needed, in order
        self._t_p: list[float] = []
        self._emitted = 0  # clips whose frame score has been emitted
        self._offset = 0  # clips dropped from the front of _values / _t_p (long streams)
        self.events: list[AlertEvent] = []

    @property
    def frames_seen(self) -> int:
        return self._n_in

    def push(self, frame: np.ndarray) -> list[FrameScore]:
        self._frames.append(self._prepare(frame))
        self._n_in += 1
        if self._n_in >= self.T:
            self._pending += 1
        if self._pending >= self.batch:
            return self.accept(score_batch(self.method, self.model, self.take_clips(), self.amp))
        return []

    def push_many(self, frames: Iterable[np.ndarray]) -> list[FrameScore]:
        out: list[FrameScore] = []
        for f in frames:
            out += self.push(f)
        return out

    def close(self) -> list[FrameScore]:
        out = self.accept(score_batch(self.method, self.model, self.take_clips(), self.amp)) if self._pending else []
        out += self._emit(final=True)
        self.events += self.tracker.close()
        return out

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame)
        where = f"{self.name} frame {self._n_in}"
        if frame.dtype != np.uint8:
            raise DataError(where, f"frames must be uint8 RGB, got dtype {frame.dtype}")
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise DataError(
                where,
                f"expected a colour frame (H, W, 3), got shape {frame.shape}: "
                f"{'grey' if frame.ndim == 2 or frame.shape[-1] == 1 else 'wrong channel count'}",
            )
        src = self.cal.source_size
        if self.check_size and self._n_in == 0 and src and tuple(frame.shape[:2]) not in (tuple(src), self.size):
            raise DataError(
                where,
                f"frames are {frame.shape[0]}x{frame.shape[1]} (HxW) but this device's model was "
                f"trained on {src[0]}x{src[1]} footage: another camera or framing needs its own "
                "model (pass check_size=False / --any-size to score anyway)",
            )
        return resize_frame(frame, self.size)

    def swap_model(self, method: Method, model: torch.nn.Module, calibration: Calibration) -> bool:
        """Score the clips from now on with another model of the same shape (a new champion of the
        device: same method, clip length, frame size and window), its calibration (threshold, alert
        settings) applying to the frames emitted from now on. False, and nothing changed, when the new
        model does not fit this stream (it needs a stream of its own)."""
        c = calibration
        window_names = [n for n in window_components(method) if n in c.components]
        ahead = lookahead(method, c.context()) if window_names else 0
        if (
            method.name != self.method.name
            or c.clip_len != self.T
            or tuple(c.frame_size) != self.size
            or ahead != self.lookahead
            or window_names != self.window_names
        ):
            return False
        self.method, self.cal, self.ctx = method, c, c.context()
        self.model = model.eval().to(self.device)
        self.tracker.adopt(AlertTracker.from_calibration(c))  # an alert under way goes on under the new settings
        return True

    @property
    def pending(self) -> int:
        """Clips complete but not yet scored."""
        return self._pending

    @torch.no_grad()
    def take_clips(self) -> torch.Tensor:
        """The pending clips as the model's input (n, 3, T, H, W), taken out of the stream: score them
        (``score_batch``, alone or inside a larger batch of other streams' clips) and hand the result to
        ``accept`` before taking more. Each frame crosses to the device once, as uint8; the overlapping
        clips are views built there (a clip batch as float32 on the host would be T x 4 times the bytes)."""
        n, T = self._pending, self.T
        new = torch.from_numpy(np.stack(self._frames)).to(self.device, non_blocking=True)
        buf = new if self._tail is None else torch.cat([self._tail, new])
        buf = buf[-(T - 1 + n) :]
        windows = buf.unfold(0, T, 1)  # (n, H, W, 3, T), no copy
        x = windows.permute(0, 3, 4, 1, 2).float().div_(127.5).sub_(1.0)  # as data/clip_dataset.py
        self._pending = 0
        self._frames.clear()
        self._tail = buf[-(T - 1) :].clone()
        return x

    def accept(self, res) -> list[FrameScore]:
        """The scores (``ClipScores``) of the clips last taken by ``take_clips``; returns the frame
        scores that became known."""
        for j, n in enumerate(res.names):
            self._values[n] += res.values[:, j].cpu().tolist()
        self._t_p += res.phase.cpu().tolist() if res.phase is not None else [-1] * len(res)
        return self._emit(final=False)

    def _emit(self, final: bool) -> list[FrameScore]:
        c, out = self.cal, []
        half_w = self.lookahead
        ready = len(self._t_p) if final else len(self._t_p) - half_w
        for i in range(self._emitted, max(self._emitted, ready)):
            values = {n: v[i] for n, v in self._values.items()}
            if self.window_names:
                values.update(self.method.window_values_at(self._t_p, i, self.ctx))
            score = float(c.score({n: [v] for n, v in values.items()})[0])
            fs = FrameScore(self._offset + i + self.T // 2, values, float(self._t_p[i]), score, score > c.threshold)
            for ev in self.tracker.update(fs.frame, score):
                ev.arrived = self._n_in - 1
                self.events.append(ev)
            out.append(fs)
        self._emitted = max(self._emitted, ready)
        # keep only what later windows still need
        keep = max(0, self._emitted - half_w)
        if keep > 4096:
            for v in self._values.values():
                del v[:keep]
            del self._t_p[:keep]
            self._emitted -= keep
            self._offset += keep
        return out
