"""What an operator needs to decide on an alert in seconds (issue 26, 4): where in the frame it
deviates, the anomalous frame beside the nearest normal one, the score's components and the model
version. ``ipad score`` (``inference/score_footage.py``) feeds an ``AlertEvidence`` the frames and
frame scores as they stream and asks it to ``explain`` each alert event; it writes, beside the
outputs,

* ``<name>.alert<k>.png``: the anomalous frame (the alert's peak, at the footage's own resolution)
  with the heat map and the region's box over it | the nearest normal frame;
* ``<name>.alert<k>.heat.npy``: the heat map (the method's grid, e.g. 8 x 8 cells for the reference
  detector);

and returns what the JSON-lines event names: the alert's id, the region box in frame pixels, the
file paths, the components at the peak, the model version.

**Where** comes from the method's ``localise`` (``methods/base.py``): the reference detector's
per-cell residual to its nearest normal clip (``KnnReference.local_map``), the reconstruction
methods' per-pixel error of the centre frame; a method without it gives no region (the event says
so) and the PNG shows the frame alone. The region is the connected set of cells around the map's
maximum whose heat is at least ``score.evidence.box_share`` of it, as a box in frame pixels.

**The nearest normal frame** (reference detector): the bank stores descriptors, not frames, so
each bank clip keeps the training recording it came from and its centre frame (``bank_recording``,
``bank_frame``); the frame is read back from that recording of the device's training footage as
the validated manifest lists it (``manifest_normal_frames``: the recordings in the manifest's order,
as the bank was fitted). Where it cannot be found (a model saved before the frame was kept, the
data folder not on this machine, a manifest that changed since) the right half says why and so does
the event; nothing is searched again (a search of the footage per alert would cost seconds).

The anomalous frame shown is the alert's peak frame: the tracker's peak where its clip is still at
hand (the clips around the best-scoring hot frame of the current span are kept), else the best frame
kept, which the event names (``frame``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io_utils import atomic_path
from .operator_settings import EvidenceSettings

NormalFrame = Callable[[int, int], tuple["np.ndarray | None", str]]  # (recording, frame) -> (image | None, what / why)


@dataclass
class _Peak:
    frame: int
    score: float
    components: dict[str, float]
    clip: np.ndarray  # (T, h, w, 3) model-sized uint8, centred on `frame`


def region_box(heat: np.ndarray, frame_hw: tuple[int, int], share: float) -> list[int] | None:
    """[x0, y0, x1, y1] in pixels of a frame of size `frame_hw` (x1, y1 exclusive): the bounding box of
    the 4-connected cells around the maximum of `heat` (h, w) whose value is at least `share` of it.
    None for an empty or flat map (nothing stands out)."""
    import cv2

    heat = np.nan_to_num(np.asarray(heat, np.float64), nan=0.0)
    if heat.size == 0 or heat.max() <= 0 or heat.max() == heat.min():
        return None
    y, x = np.unravel_index(int(heat.argmax()), heat.shape)
    _, comp = cv2.connectedComponents((heat >= share * heat.max()).astype(np.uint8), connectivity=4)
    ys, xs = np.nonzero(comp == comp[y, x])
    H, W = frame_hw
    h, w = heat.shape
    return [
        int(math.floor(xs.min() * W / w)),
        int(math.floor(ys.min() * H / h)),
        int(math.ceil((xs.max() + 1) * W / w)),
        int(math.ceil((ys.max() + 1) * H / h)),
    ]


def read_native_frames(path: str | Path, indices) -> np.ndarray:
    """Frames `indices` of a video file or frame folder at their own resolution (N, H, W, 3) RGB uint8."""
    from ..data.frames import JpegFolderSource
    from ..data.video_reader import VideoFileSource

    path = Path(path)
    src = JpegFolderSource(path) if path.is_dir() else VideoFileSource(path)
    return src.read(list(indices))


def manifest_normal_frames(manifest: str | Path | None, scene: str | None) -> NormalFrame:
    """The training frame of recording r (its index among `scene`'s training videos in the manifest's
    order, as the bank was fitted: ``jobs/data.clip_dataset``), frame f; or None and why not."""
    rows = None
    why = "no validated manifest (data.manifest) to find the device's training footage in"
    if scene and manifest and Path(manifest).is_file():
        from ..data.manifest import scene_rows
        from ..io_utils import read_dataframe

        try:
            rows = scene_rows(read_dataframe(manifest), scene, "training").reset_index(drop=True)
        except Exception as e:  # noqa: BLE001 - scoring goes on; the alerts say why the frame is missing
            why = f"the manifest {manifest} cannot be read ({e})"
    elif not scene:
        why = "the device of the model is not known (scored with a model URI that names none)"

    def get(recording: int, frame: int):
        if recording < 0 or frame < 0:
            return None, "the model's bank does not record which frames its clips came from (saved before issue 26)"
        if rows is None:
            return None, why
        if recording >= len(rows):
            return None, f"training recording {recording} of {scene} is not in the manifest {manifest} (changed since?)"
        r = rows.iloc[recording]
        what = f"{scene}/training/{r.video} frame {frame}"
        try:
            return read_native_frames(r.frames_dir, [frame])[0], what
        except Exception as e:  # noqa: BLE001 - the footage moved or is gone: the alert goes out without it
            return None, f"{what} cannot be read ({e})"

    return get


class AlertEvidence:
    """Keeps the recent clips of a stream and explains its alert events (module docstring)."""

    def __init__(
        self,
        method,
        model,
        calibration,
        out_dir: str | Path,
        name: str,
        footage: str | Path,
        settings: EvidenceSettings | None = None,
        ring: int = 64,
        device="cpu",
        normal_frame: NormalFrame | None = None,
        model_version: str | None = None,
        model_uri: str | None = None,
    ):
        self.method, self.model, self.cal = method, model, calibration
        self.out_dir, self.name, self.footage = Path(out_dir), name, Path(footage)
        self.settings = settings or EvidenceSettings()
        self.device, self.normal_frame = device, normal_frame
        self.model_version, self.model_uri = model_version, model_uri
        self.T = calibration.clip_len
        self._frames: deque[tuple[int, np.ndarray]] = deque(maxlen=max(ring, self.T + 1))
        self._n = 0
        self._peak: _Peak | None = None
        self._last_hot = -(10**9)
        rel = calibration.release
        self._level = calibration.threshold if rel is None else min(rel, calibration.threshold)
        # a span's peak is kept over the gaps the tracker still merges (a stretched alert's: merge_gap_max;
        # a held one's: hold_max more, or for ever without a limit)
        c = calibration
        stretched = max(c.merge_gap, c.merge_gap_max if c.merge_stretch > 0 else 0)
        held = 0 if c.hold is None else (c.hold_max or 10**9)
        self._gap = stretched + held + max(1, c.smooth)
        self._ids: dict[int, int] = {}  # alert start frame (of the footage) -> its number k in this footage
        self.offset = 0  # footage frame number of the stream's frame 0 (a server restarts a camera's stream)

    def restart(self, offset: int) -> None:
        """A new stream of the same footage whose frame 0 is footage frame `offset` (``ipad serve`` after a
        bad frame): the recent frames are dropped; alert numbers go on."""
        self._frames.clear()
        self._n, self._peak, self._last_hot, self.offset = 0, None, -(10**9), offset

    def use_model(self, method, model, calibration, model_version: str | None, model_uri: str | None) -> None:
        """A new champion scores the stream from now on (a live swap): later alerts are explained by it."""
        self.method, self.model, self.cal = method, model, calibration
        self.model_version, self.model_uri = model_version, model_uri

    # -- feeding -------------------------------------------------------------------------------
    def push(self, frame: np.ndarray) -> None:
        """The next model-sized frame of the stream (as pushed to the scorer)."""
        self._frames.append((self._n, frame))
        self._n += 1

    def observe(self, fs) -> None:
        """A frame score as emitted (``FrameScore``): the best hot frame of the current span keeps its clip."""
        if math.isnan(fs.score) or fs.score <= self._level:
            return
        if fs.frame - self._last_hot > self._gap:
            self._peak = None  # a new span
        self._last_hot = fs.frame
        if self._peak is None or fs.score > self._peak.score:
            clip = self._clip(fs.frame)
            if clip is not None:
                self._peak = _Peak(fs.frame, float(fs.score), dict(fs.components), clip)

    def _clip(self, centre: int) -> np.ndarray | None:
        first = centre - self.T // 2
        got = {i: f for i, f in self._frames if first <= i < first + self.T}
        return np.stack([got[i] for i in range(first, first + self.T)]) if len(got) == self.T else None

    # -- explaining ----------------------------------------------------------------------------
    def alert_number(self, alert) -> int:
        return self._ids.setdefault(alert.start + self.offset, len(self._ids) + 1)

    def alert_id(self, alert) -> str:
        return f"{self.name}:{self.alert_number(alert)}"

    def explain(self, ev) -> dict:
        """What the event of alert ``ev.alert`` carries: id, model, and (``enabled``) the evidence."""
        a = ev.alert
        k = self.alert_number(a)
        version = None if self.model_version is None else str(self.model_version)  # the registry's spelling
        out = {"alert_id": f"{self.name}:{k}", "model_version": version, "model_uri": self.model_uri}
        if not self.settings.enabled:
            return out
        peak = self._peak
        if peak is None or peak.frame != a.peak_frame:
            clip = self._clip(a.peak_frame)
            if clip is not None:
                peak = _Peak(a.peak_frame, a.peak_score, {}, clip)
        if peak is None:
            out["evidence"] = {"missing": "the clip of the alert's peak is no longer at hand"}
            return out
        out["evidence"] = self._evidence(peak, k)
        return out

    def _evidence(self, peak: _Peak, k: int) -> dict:
        import torch

        x = torch.from_numpy(peak.clip).to(self.device).permute(3, 0, 1, 2)[None].float().div(127.5).sub(1.0)
        loc = self.method.localise(self.model, x)
        try:
            anomalous = read_native_frames(self.footage, [peak.frame + self.offset])[0]
        except Exception:  # noqa: BLE001 - the footage is a stream being written; the model-sized frame does
            anomalous = peak.clip[self.T // 2]
        H, W = anomalous.shape[:2]
        ev: dict = {
            "frame": peak.frame + self.offset,
            "score": round(peak.score, 4),
            "components": self._components(peak),
            "frame_size": [H, W],
        }
        heat = box = None
        if loc is None:
            ev["region"] = None
            ev["region_missing"] = f"{self.method.name} gives no spatial map (Method.localise)"
        else:
            heat = loc.heat[0].float().cpu().numpy()
            box = region_box(heat, (H, W), self.settings.box_share)
            ev["region"] = {
                "box": box,
                "box_format": "x0, y0, x1, y1 in frame pixels (x1, y1 exclusive)",
                "heat_max": round(float(heat.max()), 6),
                "heat_shape": list(heat.shape),
            }
            heat_path = self.out_dir / f"{self.name}.alert{k}.heat.npy"
            with atomic_path(heat_path) as tmp, open(tmp, "wb") as fh:
                np.save(fh, heat.astype(np.float32))
            ev["heatmap"] = str(heat_path)
        normal, normal_what = None, "this method keeps no normal footage to compare with"
        if loc is not None and loc.recording is not None and self.normal_frame is not None:
            normal, normal_what = self.normal_frame(int(loc.recording[0]), int(loc.frame[0]))
        elif loc is not None and loc.recording is not None:
            normal_what = "no device footage given to find the nearest normal frame in"
        ev["nearest_normal"] = {"found": normal is not None, "what": normal_what}
        if loc is not None and loc.nearest is not None:
            ev["nearest_normal"]["bank_index"] = int(loc.nearest[0])
        png = self.out_dir / f"{self.name}.alert{k}.png"
        write_evidence_png(
            png,
            anomalous,
            heat,
            box,
            normal,
            self.settings,
            f"{self.name} alert {k}: frame {peak.frame + self.offset}, score {peak.score:.2f}",
            f"nearest normal: {normal_what}" if normal is not None else f"no nearest normal: {normal_what}",
        )
        ev["thumbnail"] = str(png)
        return ev

    def _components(self, peak: _Peak) -> dict:
        """Each calibrated component at the peak: raw value, z-score and its weighted share of the score."""
        out = {}
        for name, mu, sd, w in zip(self.cal.components, self.cal.means, self.cal.stds, self.cal.weights):
            v = peak.components.get(name)
            if v is None:
                continue
            z = (float(v) - mu) / sd
            out[name] = {"value": round(float(v), 6), "z": round(z, 4), "weight": w, "contribution": round(w * z, 4)}
        return out


def write_evidence_png(
    path: Path,
    frame: np.ndarray,
    heat: np.ndarray | None,
    box: list[int] | None,
    normal: np.ndarray | None,
    settings: EvidenceSettings,
    title: str,
    normal_title: str,
) -> Path:
    """anomalous frame (heat map and box over it) | nearest normal frame, each `thumb_height` high."""
    import cv2

    th = settings.thumb_height

    def fit(img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        return cv2.resize(
            img, (max(1, round(w * th / h)), th), interpolation=cv2.INTER_AREA if h > th else cv2.INTER_NEAREST
        )

    H, W = frame.shape[:2]
    left = frame.astype(np.float32)
    if heat is not None and heat.max() > heat.min():
        norm = (heat - heat.min()) / (heat.max() - heat.min())
        big = cv2.resize(norm.astype(np.float32), (W, H), interpolation=cv2.INTER_NEAREST)
        colour = cv2.cvtColor(cv2.applyColorMap((big * 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
        a = settings.heat_alpha * big[..., None]
        left = left * (1 - a) + colour.astype(np.float32) * a
    left = fit(np.clip(left, 0, 255).astype(np.uint8))
    if box is not None:
        s = th / H
        cv2.rectangle(
            left, (int(box[0] * s), int(box[1] * s)), (int(box[2] * s) - 1, int(box[3] * s) - 1), (255, 0, 0), 2
        )
    right = fit(normal) if normal is not None else np.full((th, left.shape[1], 3), 64, np.uint8)
    gap = np.full((th, 4, 3), 255, np.uint8)
    img = np.concatenate([left, gap, right], 1)
    banner = np.full((22, img.shape[1], 3), 255, np.uint8)
    cv2.putText(banner, title[:90], (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(
        banner, normal_title[:60], (left.shape[1] + 8, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA
    )
    img = np.concatenate([banner, img], 0)
    ok, enc = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError(f"cannot encode {path}")
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(enc.tobytes())
    return path
