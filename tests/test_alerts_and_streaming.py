"""Calibrated scores, alert spans, and streaming scoring against the offline evaluation code."""

import dataclasses
import threading
import time

import cv2
import numpy as np
import pytest
import torch

from ipad_vad.alerts.alert_tracker import AlertTracker, find_alerts
from ipad_vad.alerts.calibration import Calibration, fit_calibration
from ipad_vad.config import load_params
from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord
from ipad_vad.errors import DataError
from ipad_vad.evaluate.protocols import frame_auc, normalise
from ipad_vad.evaluate.scoring import score_clips
from ipad_vad.inference.frame_sources import open_footage
from ipad_vad.inference.stream_scorer import StreamScorer, structural_latency
from ipad_vad.methods import get_method
from ipad_vad.models.sliding_window import period_error

from .helpers import ArraySource

SMOKE = load_params("params.yaml", "smoke")
T, SIZE = 8, (32, 32)
METHOD = get_method("ipad_vad", {**SMOKE, "clip": {**SMOKE["clip"], "length": T}})
WEIGHTS = {"recon_error": 0.5, "period_error": 0.5}


def test_calibration_statistics_and_threshold_by_hand():
    r = -np.array([30, 32, 34, 28.0])  # reconstruction error (-PSNR) of four normal frames
    ep = np.array([0, 2, 4, 2.0])
    cal = fit_calibration("ipad_vad", {"recon_error": r, "period_error": ep}, WEIGHTS, 0.25, n_classes=200)
    assert cal.components == ("recon_error", "period_error")
    assert cal.means == pytest.approx((r.mean(), 2.0)) and cal.stds == pytest.approx((r.std(), np.sqrt(2.0)))
    s = 0.5 * (r - r.mean()) / r.std() + 0.5 * (ep - 2) / np.sqrt(2)
    assert np.allclose(cal.score({"recon_error": r, "period_error": ep}), s)
    assert cal.threshold == pytest.approx(np.sort(s)[3])  # the 0.75 quantile, 'higher': the top frame
    assert Calibration.from_dict(cal.to_dict()) == cal
    with pytest.raises(ValueError, match="false_alarm_rate"):
        fit_calibration("ipad_vad", {"recon_error": r, "period_error": ep}, WEIGHTS, 0.0)
    # a component with weight 0 is left out of the score and its statistics
    alone = fit_calibration(
        "ipad_vad", {"recon_error": r, "period_error": ep}, {"recon_error": 1, "period_error": 0}, 0.25
    )
    assert alone.components == ("recon_error",) and np.allclose(
        alone.score({"recon_error": r}), (r - r.mean()) / r.std()
    )


def test_the_shipped_threshold_carries_its_hysteresis_and_an_alert_hovering_at_it_stays_one():
    """alert.release_margin (issue 26): the release is the threshold minus the margin, travels with the
    calibration, and keeps a score that dips just under the threshold one alert where without it the
    tracker closes and re-raises (a planned stop scored near the threshold counted three times)."""
    r = np.array([0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    cal = fit_calibration("knn", {"distance": r}, {"distance": 1.0}, 0.1, release_margin=0.5, min_frames=1, merge_gap=0)
    z = (r - r.mean()) / r.std()
    assert cal.threshold == pytest.approx(z[9]) and cal.release == pytest.approx(z[9] - 0.5)
    assert Calibration.from_dict(cal.to_dict()).release == cal.release
    assert fit_calibration("knn", {"distance": r}, {"distance": 1.0}, 0.1).release is None  # 0: no hysteresis
    with pytest.raises(ValueError, match="release_margin"):
        fit_calibration("knn", {"distance": r}, {"distance": 1.0}, 0.1, release_margin=-1.0)
    t = cal.threshold
    hover = np.array([0, t + 0.2, t - 0.3, t + 0.1, t - 0.2, t + 0.3, 0, 0, 0])  # dips 0.2-0.3 under it
    idx = np.arange(len(hover))
    assert [(a.start, a.end) for a in find_alerts(idx, hover, t, 1, 0, cal.release, 1)] == [(1, 5)]
    assert len(find_alerts(idx, hover, t, 1, 0, None, 1)) == 3  # no hysteresis: raised three times


def test_reconstruction_only_calibration_ranks_like_scene_norm():
    rng = np.random.default_rng(0)
    psnr = [rng.normal(30, 2, 50), rng.normal(28, 2, 60)]
    labels = [rng.integers(0, 2, 50), rng.integers(0, 2, 60)]
    cal = fit_calibration("conv_ae", {"recon_error": -rng.normal(31, 1, 40)}, {"recon_error": 1.0}, 0.01)
    calibrated = frame_auc(np.concatenate(labels), cal.score({"recon_error": -np.concatenate(psnr)}))
    scene = frame_auc(np.concatenate(labels), np.concatenate(normalise([-p for p in psnr], "scene")))
    assert calibrated == pytest.approx(scene)


def test_alert_tracker_events_by_hand():
    scores = [0, 5, 0, 0, 0, 5, 5, 0, 5, 0, 0, 0, 0]
    tr = AlertTracker(threshold=1.0, min_frames=2, merge_gap=2)
    events = [(f, e.kind, e.alert.start, e.alert.end) for f, s in enumerate(scores) for e in tr.update(f, s)]
    # frame 1 alone is a blip (3 cold frames follow, more than the gap of 2); 5, 6 and 8 are one alert
    assert events == [(6, "start", 5, 6), (11, "end", 5, 8)]
    [a] = tr.alerts
    assert (a.start, a.end, a.hot_frames, a.peak_score) == (5, 8, 3, 5.0)
    assert tr.close() == []
    # an alert still open at the end of the stream ends at its last hot frame
    assert [(a.start, a.end) for a in find_alerts(range(5), [0, 3, 3, 0, 3], 1.0, 2, 2)] == [(1, 4)]
    # skipped frames count as cold
    assert [(a.start, a.end) for a in find_alerts([1, 2, 10, 11], [3, 3, 3, 3], 1.0, 2, 2)] == [(1, 2), (10, 11)]
    with pytest.raises(ValueError, match="increase"):
        tr.update(3, 0.0)


def test_alert_tracker_merge_stretch_by_hand():
    """merge_stretch: a long alert's dips longer than merge_gap stay inside it; a short alert's do not."""
    hot, cold = [5.0], [0.0]
    long_dip = hot * 20 + cold * 5 + hot * 3  # 20 frames hot, a dip of 5 cold frames, hot again
    short_dip = hot * 4 + cold * 5 + hot * 3  # 4 frames hot, the same dip
    spans = lambda s, **kw: [(a.start, a.end) for a in find_alerts(range(len(s)), s, 1.0, 2, 2, **kw)]  # noqa: E731
    assert spans(long_dip) == [(0, 19), (25, 27)]  # merge_gap 2: two alerts
    # stretched: 20 frames * 0.25 = a gap of 5 frames after the long alert; after the short one 4 * 0.25 -> 2
    assert spans(long_dip, merge_stretch=0.25, merge_gap_max=60) == [(0, 27)]
    assert spans(short_dip, merge_stretch=0.25, merge_gap_max=60) == [(0, 3), (9, 11)]
    # the stretch is capped: merge_gap_max 4 < the 5 cold frames
    assert spans(long_dip, merge_stretch=0.25, merge_gap_max=4) == [(0, 19), (25, 27)]
    # never below merge_gap: a cap under it changes nothing
    assert spans(hot * 3 + cold * 2 + hot * 3, merge_stretch=0.1, merge_gap_max=0) == [(0, 7)]
    # online: the long alert's end is announced only once the stretched gap has passed
    tr = AlertTracker(1.0, 2, 2, merge_stretch=0.25, merge_gap_max=60)
    ends = [f for f, s in enumerate(hot * 20 + cold * 8) for e in tr.update(f, s) if e.kind == "end"]
    assert ends == [25]  # the last hot frame 19, five cold frames 20-24 still inside, frame 25 the sixth
    with pytest.raises(ValueError, match="merge_stretch"):
        AlertTracker(1.0, merge_stretch=-0.1)


def test_alert_tracker_hold_by_hand():
    """hold: an alert's cold frames above the hold (a stopped machine's score between its peaks) do not
    count towards the gap that ends it; frames at normal scores do; hold_max bounds the frames held."""
    peak, stopped, calm = [5.0], [0.6], [0.0]
    stop = peak * 2 + stopped * 6 + peak * 2 + stopped * 6 + peak * 2  # three peaks of one stop
    spans = lambda s, **kw: [(a.start, a.end) for a in find_alerts(range(len(s)), s, 1.0, 2, 2, **kw)]  # noqa: E731
    assert spans(stop) == [(0, 1), (8, 9), (16, 17)]  # the release (the threshold) ends each peak
    assert spans(stop, hold=0.5) == [(0, 17)]  # 0.6 > hold: one alert, its end the last hot frame
    assert spans(stop, hold=0.7) == [(0, 1), (8, 9), (16, 17)]  # the stop's score under the hold: as before
    # a gap at normal scores ends the alert as merge_gap says, held frames before it or not
    assert spans(peak * 2 + stopped * 4 + calm * 3 + peak * 2, hold=0.5) == [(0, 1), (9, 10)]
    assert spans(peak * 2 + stopped * 4 + calm * 2 + peak * 2, hold=0.5) == [(0, 9)]
    # hold_max: at most 4 held frames in one gap, the 5th and 6th count (2 = merge_gap), so the next peak is inside
    assert spans(stop, hold=0.5, hold_max=4) == [(0, 17)]
    assert spans(stop, hold=0.5, hold_max=3) == [(0, 1), (8, 9), (16, 17)]  # 3 held, 3 counted > merge_gap
    # only an alert under way is held: a single hot frame (min_frames 2) followed by held scores is a blip
    assert spans(peak + stopped * 6 + peak * 2, hold=0.5) == [(7, 8)]
    # online: the end is announced once the counted gap has passed after the held frames
    tr = AlertTracker(1.0, 2, 2, hold=0.5)
    ends = [f for f, s in enumerate(peak * 2 + stopped * 3 + calm * 3) for e in tr.update(f, s) if e.kind == "end"]
    assert ends == [7]  # frames 2-4 held, 5 and 6 inside the gap of 2, frame 7 the third cold one
    with pytest.raises(ValueError, match="hold_max"):
        AlertTracker(1.0, hold=0.5, hold_max=-1)


def test_alert_metrics_counts_the_alerts_the_calibration_ships():
    """jobs/calibrate.alert_metrics feeds the calibration's own tracker: its stretch, release and
    smoothing decide the alerts counted, as they do when the calibration is served."""
    import pandas as pd

    from ipad_vad.jobs.calibrate import alert_metrics

    hot, cold = [5.0], [0.0]
    e = hot * 20 + cold * 5 + hot * 3 + cold * 10 + hot * 3  # one long anomaly with a dip, then a blip
    labels = [1] * 28 + [0] * 13
    scored = pd.DataFrame({"video_index": 0, "video": "v", "center": range(len(e)), "label": labels, "e": e})
    cal = Calibration("m", 1.0, 0.01, ("e",), (0.0,), (1.0,), (1.0,), min_frames=2, merge_gap=2)
    plain = alert_metrics(scored, cal)
    assert (plain["videos"][0]["alerts"], plain["spans_alerted"], plain["false_alerts"]) == (3, 1, 1)
    stretched = alert_metrics(scored, dataclasses.replace(cal, merge_stretch=0.25, merge_gap_max=60))
    assert (stretched["videos"][0]["alerts"], stretched["spans_alerted"], stretched["false_alerts"]) == (2, 1, 1)
    # the tracker's own checks apply: a release above the threshold is refused
    with pytest.raises(ValueError, match="release"):
        alert_metrics(scored, dataclasses.replace(cal, release=2.0))


def _frames(n=60, seed=0):
    """A moving square on a textured background: a cycle of 12 frames, frames 30-37 anomalous (red)."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(40, 90, (*SIZE, 3), dtype=np.uint8)
    out = np.repeat(bg[None], n, 0)
    for i in range(n):
        x = 2 + (i % 12) * 2
        out[i, 10:18, x : x + 6] = (200, 30, 30) if 30 <= i < 38 else (30, 200, 30)
    return out


@pytest.fixture(scope="module")
def model_and_cal():
    torch.manual_seed(0)
    m = METHOD.build().eval()
    cal = Calibration(
        method="ipad_vad",
        threshold=0.5,
        false_alarm_rate=0.01,
        components=("recon_error", "period_error"),
        means=(20.0, 10.0),
        stds=(2.0, 5.0),
        weights=(0.5, 0.5),
        n_classes=m.period_head.n_classes,
        window=9,  # the shipped sliding window and its anchor (evaluate.window, evaluate.period_anchor)
        period_step=16.7,
        period_anchor="window",
        clip_len=T,
        frame_size=SIZE,
        source_size=SIZE,
        min_frames=2,
        merge_gap=3,
    )
    return m, cal


def _offline(model, cal, frames, method=METHOD):
    ds = ClipDataset([VideoRecord(ArraySource(frames))], clip_len=T, stride=1)
    df = score_clips(method, model, ds, batch_size=5)
    if "t_p" in df:  # the evaluation's own E_p code, not the method's
        df["period_error"] = period_error(
            df.t_p.to_numpy(), cal.n_classes, cal.window, cal.period_step, cal.period_anchor
        )
    return df.center.to_numpy(), cal.score(df)


@pytest.mark.parametrize("batch", [1, 3, 7])
def test_streaming_gives_the_offline_evaluation_scores_and_alerts(model_and_cal, batch):
    model, cal = model_and_cal
    frames = _frames()
    centers, offline = _offline(model, cal, frames)
    # a threshold that makes alerts happen on these scores, in the widest gap between them around their 0.7
    # quantile: streaming batches the clips otherwise, so its scores equal these to float noise, not bit
    # for bit (the circular-mean t_p reads the logits' last bits), and no score may sit within that noise
    v = np.sort(offline)
    lo, hi = int(0.6 * len(v)), int(0.8 * len(v))
    i = lo + int(np.argmax(np.diff(v[lo : hi + 1])))
    assert v[i + 1] - v[i] > 1e-3
    cal = Calibration(**{**cal.__dict__, "threshold": float((v[i] + v[i + 1]) / 2)})
    s = StreamScorer(METHOD, model, cal, batch_clips=batch)
    got = []
    lag = structural_latency(T, cal.window, batch)
    for i, f in enumerate(frames):
        new = s.push(f)
        got += new
        if got:  # each frame's score is out no later than `lag` frames after it arrived
            assert i - got[-1].frame <= lag
    got += s.close()
    assert [g.frame for g in got] == list(centers)
    assert np.allclose([g.score for g in got], offline, atol=1e-4)
    expected = find_alerts(centers, offline, cal.threshold, cal.min_frames, cal.merge_gap)
    assert [(a.start, a.end) for a in s.tracker.alerts] == [(a.start, a.end) for a in expected] and expected
    for ev in s.events:  # raised within the structural latency of the frame that made it known
        if ev.kind == "start" and ev.arrived < len(frames) - 1:
            assert ev.at_frame <= ev.arrived <= ev.at_frame + lag


def test_a_tracker_adopts_new_settings_mid_alert():
    """AlertTracker.adopt (a new champion swapped in): an open alert goes on under the new threshold,
    release and smoothing, the smoothing reading the scores fed before the swap."""
    tr = AlertTracker(1.0, 2, 2)
    for f in range(4):
        tr.update(f, 5.0)
    tr.adopt(AlertTracker(4.0, 2, 2, release=2.0, smooth=3))
    assert (tr.threshold, tr.release, tr.merge_gap) == (4.0, 2.0, 2)
    tr.update(4, 0.0)  # evidence: the one score smooth 1 held and this one, (5 + 0) / 2 = 2.5 > the release 2
    tr.update(5, 0.0)  # (5 + 0 + 0) / 3 = 1.67: cold
    tr.close()
    assert [(a.start, a.end) for a in tr.alerts] == [(0, 4)]  # kept as before the swap (smooth 1): (0, 3)
    short = AlertTracker(1.0, 2, 2, smooth=3)
    for f, v in enumerate([5.0, 5.0, 5.0]):
        short.update(f, v)
    short.adopt(AlertTracker(1.0, 2, 2))  # back to smooth 1: only the newest score counts
    short.update(3, 0.0)
    assert short._recent.maxlen == 1 and list(short._recent) == [0.0]
    held = AlertTracker(1.0, 2, 2)
    for f, v in enumerate([5.0, 5.0, 0.6, 0.6]):  # two frames into the gap of 2
        held.update(f, v)
    held.adopt(AlertTracker(1.0, 2, 2, hold=0.5, hold_max=10))  # the new champion's hold ...
    assert (held.hold, held.hold_max) == (0.5, 10)
    for f, v in enumerate([0.6, 0.6, 5.0], start=4):  # ... holds the rest of the gap: one alert
        held.update(f, v)
    held.close()
    assert [(a.start, a.end) for a in held.alerts] == [(0, 6)]


def test_a_swapped_model_scores_under_its_calibration(model_and_cal):
    """StreamScorer.swap_model: the new calibration's alert settings, smoothing included, apply from the
    swap; a model that does not fit the stream is refused and changes nothing."""
    model, cal = model_and_cal
    s = StreamScorer(METHOD, model, cal, batch_clips=1)
    new = dataclasses.replace(cal, threshold=cal.threshold + 1.0, release=cal.threshold, smooth=4, merge_gap=5)
    assert s.swap_model(METHOD, model, new)
    assert s.cal is new and (s.tracker.threshold, s.tracker.release, s.tracker.merge_gap) == (
        new.threshold,
        new.threshold - 1.0,
        5,
    )
    assert s.tracker._recent.maxlen == 4
    assert not s.swap_model(METHOD, model, dataclasses.replace(cal, clip_len=cal.clip_len + 1))
    assert s.cal is new


def test_bad_frames_are_rejected_with_the_stream_and_problem(model_and_cal, tmp_path):
    model, cal = model_and_cal
    with pytest.raises(DataError, match="camera7 frame 0: expected a colour frame"):
        StreamScorer(METHOD, model, cal, name="camera7").push(np.zeros((*SIZE, 1), np.uint8))
    with pytest.raises(DataError, match="frames are 48x64 .* trained on 32x32"):
        StreamScorer(METHOD, model, cal, name="camera7").push(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(DataError, match="dtype float32"):
        StreamScorer(METHOD, model, cal).push(np.zeros((*SIZE, 3), np.float32))
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(DataError, match="notes.txt: not a video file"):
        open_footage(junk, SIZE)
    broken = tmp_path / "cam.mp4"
    broken.write_bytes(b"\x00" * 4096)
    with pytest.raises(DataError, match="cam.mp4"):
        open_footage(broken, SIZE)
    grey = tmp_path / "grey"
    grey.mkdir()
    for i in range(3):
        cv2.imwrite(str(grey / f"{i}.png"), np.zeros(SIZE, np.uint8))
    with pytest.raises(DataError, match=r"grey/0.png: expected a colour \(3-channel\) frame, got 1"):
        next(open_footage(grey, SIZE).frames)
    with pytest.raises(DataError, match="frames are 32x32 .* trained on 64x64"):
        folder = tmp_path / "ok"
        folder.mkdir()
        cv2.imwrite(str(folder / "0.jpg"), np.zeros((*SIZE, 3), np.uint8))
        open_footage(folder, SIZE, expected_size=(64, 64))


def test_a_grey_video_is_refused_like_a_grey_frame_folder(tmp_path):
    """Issue 29, 6: decord decodes a grey video to three identical channels, so it was scored as colour.
    Grey is what the file stores, for folders and videos alike: a grey pixel format is refused, naming
    the file, whether read whole or followed; a colour video is scored even when its first frame is
    grey (all black here), as a 3-channel JPEG of a grey scene is."""

    def write(path, fourcc, colour, frames):
        w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 5.0, SIZE[::-1], isColor=colour)
        for f in frames:
            w.write(f if colour else cv2.cvtColor(f, cv2.COLOR_RGB2GRAY))
        w.release()

    frames = _frames(20)
    write(tmp_path / "grey.mkv", "FFV1", False, frames)
    with pytest.raises(
        DataError,
        match=r"grey\.mkv: expected a colour \(3-channel\) frame, got 1 channel\(s\) "
        r"\(a grey video: pixel format 'Y800'\)",
    ):
        open_footage(tmp_path / "grey.mkv", SIZE)
    with pytest.raises(DataError, match=r"grey\.mkv: expected a colour \(3-channel\) frame, got 1 channel"):
        open_footage(tmp_path / "grey.mkv", SIZE, follow=True, poll_s=0.01, idle_timeout=0.1)
    dark = np.concatenate([np.zeros_like(frames[:1]), frames[1:]])  # a colour camera's black first frame
    write(tmp_path / "colour.mkv", "FFV1", True, dark)
    footage = open_footage(tmp_path / "colour.mkv", SIZE)
    assert len(list(footage.frames)) == 20


def test_a_frame_folder_with_a_gap_is_refused_naming_the_frame_after_it(tmp_path):
    """Issue 16: scores are rows by frame number; a gap would give every later row the wrong file."""
    folder = tmp_path / "gap"
    folder.mkdir()
    for i in (0, 1, 2, 4, 5):
        cv2.imwrite(str(folder / f"{i}.jpg"), np.zeros((*SIZE, 3), np.uint8))
    with pytest.raises(DataError, match=r"4\.jpg: frame 3 is missing before 4\.jpg"):
        open_footage(folder, SIZE)


def test_follow_a_filling_folder_scores_like_the_finished_folder(model_and_cal, tmp_path):
    model, cal = model_and_cal
    frames = _frames(40)
    folder = tmp_path / "live"
    folder.mkdir()

    def camera():
        for i, f in enumerate(frames):
            part = folder / f".{i}.tmp.png"  # written whole, then renamed: a camera's atomic write
            cv2.imwrite(str(part), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
            part.rename(folder / f"{i}.png")
            time.sleep(0.002)

    th = threading.Thread(target=camera)
    th.start()
    live = open_footage(folder, SIZE, follow=True, poll_s=0.01, idle_timeout=0.5)
    s = StreamScorer(METHOD, model, cal, batch_clips=2)
    got = [g.score for f in live.frames for g in s.push(f)] + [g.score for g in s.close()]
    th.join()
    assert s.frames_seen == len(frames)
    finished = StreamScorer(METHOD, model, cal, batch_clips=5)
    ref = [g.score for f in open_footage(folder, SIZE).frames for g in finished.push(f)] + [
        g.score for g in finished.close()
    ]
    assert np.allclose(got, ref, atol=1e-4) and len(got) == len(frames) - T + 1


def test_a_video_file_scores_like_its_frames_pushed_one_by_one(model_and_cal, tmp_path):
    model, cal = model_and_cal
    frames = _frames(30)
    w = cv2.VideoWriter(str(tmp_path / "cam.mkv"), cv2.VideoWriter_fourcc(*"FFV1"), 5.0, SIZE[::-1])
    for f in frames:
        w.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    w.release()
    footage = open_footage(tmp_path / "cam.mkv", SIZE, expected_size=SIZE)
    assert footage.fps == pytest.approx(5.0) and footage.native_size == SIZE
    a, b = StreamScorer(METHOD, model, cal, batch_clips=4), StreamScorer(METHOD, model, cal, batch_clips=1)
    got = [g.score for f in footage.frames for g in a.push(f)] + [g.score for g in a.close()]
    ref = [g.score for f in frames for g in b.push(f)] + [g.score for g in b.close()]
    assert np.allclose(got, ref, atol=1e-4) and len(got) == 30 - T + 1  # FFV1 is lossless


def test_streaming_a_method_without_window_components_equals_offline(tmp_path):
    """The reference detector (one clip-level component, no lookahead) streams like it evaluates."""
    from ipad_vad.methods.base import FitHooks
    from ipad_vad.train.loop import TrainSettings

    knn = get_method("knn", {**SMOKE, "clip": {**SMOKE["clip"], "length": T}})
    normal = ClipDataset([VideoRecord(ArraySource(_frames(30)))], clip_len=T, stride=1)
    model = knn.fit(normal, tmp_path, TrainSettings(), FitHooks(progress=False)).model
    frames = _frames()
    ds = ClipDataset([VideoRecord(ArraySource(frames))], clip_len=T, stride=1)
    df = score_clips(knn, model, ds, batch_size=5)
    cal = fit_calibration("knn", df, knn.weights(), 0.1, clip_len=T, frame_size=SIZE)
    s = StreamScorer(knn, model, cal, batch_clips=1)
    lag = structural_latency(T, 1, 1)
    got = []
    for i, f in enumerate(frames):
        got += s.push(f)
        if got:
            assert i - got[-1].frame <= lag
    got += s.close()
    assert [g.frame for g in got] == list(df.center)
    assert np.allclose([g.components["distance"] for g in got], df.distance, atol=1e-5)
    with pytest.raises(ValueError, match="calibration of knn given for a ipad_vad model"):
        StreamScorer(METHOD, model, cal)


def test_score_footage_takes_fps_and_labels_from_the_manifest_and_always_writes_the_event_log(model_and_cal, tmp_path):
    """A frame folder has no fps of its own: where it is a video of the manifest, its fps gives seconds
    and its labels are drawn and written beside the alerts; with no alert the events log still exists
    (empty), as the summary names it."""
    from dataclasses import replace

    import pandas as pd

    from ipad_vad.inference.champion import LoadedScorer
    from ipad_vad.inference.footage_context import manifest_context
    from ipad_vad.inference.score_footage import score_footage

    model, cal = model_and_cal
    folder = tmp_path / "S01" / "testing" / "frames" / "01"
    folder.mkdir(parents=True)
    for i, f in enumerate(_frames(40)):
        cv2.imwrite(str(folder / f"{i:03d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    labels = np.zeros(40, np.uint8)
    labels[30:38] = 1
    np.save(tmp_path / "01.npy", labels)
    manifest = tmp_path / "manifest.parquet"
    pd.DataFrame(
        [
            {
                "scene": "S01",
                "split": "testing",
                "video": "01",
                "fps": 2.0,
                "frames_dir": str(folder),
                "label_path": str(tmp_path / "01.npy"),
            }
        ]
    ).to_parquet(manifest)
    ctx = manifest_context(manifest, folder)
    assert ctx.fps == 2.0 and ctx.labels.tolist() == labels.tolist()
    assert manifest_context(manifest, tmp_path).fps is None  # not a manifest video: nothing known
    quiet = LoadedScorer(METHOD, model, replace(cal, threshold=1e9), "test:model", None)
    res = score_footage(quiet, folder, tmp_path / "out", "01", context=ctx)
    assert res["alerts"] == [] and res["fps"] == 2.0 and res["fps_from"] == "manifest"
    assert res["labels_from"] == "S01/testing/01"
    log = tmp_path / "out" / "01.alerts.jsonl"
    assert res["outputs"]["events"] == str(log) and log.is_file() and log.read_text() == ""
    df = pd.read_csv(tmp_path / "out" / "01.scores.csv")
    assert df.time_s.tolist() == (df.frame / 2.0).tolist()
    assert df.label.tolist() == labels[df.frame].tolist() and (tmp_path / "out" / "01.png").is_file()
