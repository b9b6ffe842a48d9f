"""Issue 26, 3: a threshold for 0.5 alerts an hour set on 15 minutes of normal footage. Read off the
footage itself it is the footage's highest peak (no alert allowed in a quarter of an hour), which
alerts several times an hour on more footage of the same kind; the exponential tail (alerts/tail.py)
extrapolates the alerts above a lower level to the rate asked."""

import numpy as np
import pytest

from ipad_vad.alerts.calibration import (
    Calibration,
    count_alerts,
    fit_calibration,
    fit_shift_calibration,
    heldout_calibration,
    hold_level,
)
from ipad_vad.alerts.tail import exponential_tail_threshold, survival_levels
from ipad_vad.config import load_params
from ipad_vad.jobs.settings import AlertSettings

from .conftest import ROOT

P = load_params(str(ROOT / "params.yaml"), "smoke")
FPS = 2.0
FRAMES = int(0.25 * 3600 * FPS)  # 15 minutes of calibration footage


def _alert(**kw) -> AlertSettings:
    # one hot frame an alert, no merging, no hysteresis: an alert is a frame above the threshold, so the
    # true rate of i.i.d. Exp(1) frame scores above t is FPS * 3600 * exp(-t) an hour
    return AlertSettings.from_params(
        {
            **P,
            "alert": {
                **P["alert"],
                "min_frames": 1,
                "merge_gap": 0,
                "merge_stretch": 0.0,
                "release_margin": 0.0,
                "smooth": 1,
                "hold_quantile": 0.0,
                **kw,
            },
        }
    )


BASE = Calibration("knn", 0.0, 0.005, ("d",), (0.0,), (1.0,), (1.0,))  # the score is the value itself


def test_survival_levels_by_hand():
    levels = np.array([1.0, 2.0, 3.0, 4.0])
    assert survival_levels(levels, np.array([3, 3, 1, 1])).tolist() == [3.0, 3.0, 4.0]
    # hysteresis can split an alert as the threshold rises (2 -> 3): no alert of the tail is added
    assert survival_levels(levels, np.array([3, 2, 3, 0])).tolist() == [2.0, 4.0, 4.0]


def test_the_tail_fit_recovers_a_known_exponential_tail():
    """u + sigma ln(n_u / (hours r)) by hand on scores whose tail is exponential with mean 1."""
    x = np.zeros(100)
    x[[10, 50, 90]] = 5.0 + np.array([0.5, 1.0, 1.5])  # three alerts 0.5, 1.0, 1.5 above u = 5
    fit = exponential_tail_threshold(x, 5.0, rate=0.5, hours=0.5, count=lambda s, t: count_alerts(s, t, 1, 0, 0.0, 1))
    assert fit.alerts == 3 and fit.sigma == pytest.approx(1.0)  # the mean excess
    assert fit.threshold == pytest.approx(5.0 + fit.sigma * np.log(3 / 0.25))
    two = np.zeros(100)
    two[[10, 50]] = [6.0, 7.0]
    assert exponential_tail_threshold(two, 5.0, 0.5, 0.5, lambda s, t: count_alerts(s, t, 1, 0, 0.0, 1)) is None


def test_fifteen_minutes_set_a_threshold_that_holds_its_rate_where_the_highest_peak_does_not():
    true_rate = lambda t: FPS * 3600 * np.exp(-t)  # noqa: E731 (alerts an hour above t)
    logs = {"exponential": [], "empirical": []}
    for seed in range(12):
        x = np.random.default_rng(seed).exponential(size=FRAMES)
        for rule in logs:
            cal = fit_shift_calibration(BASE, {"d": x}, _alert(tail=rule), FPS, "15 minutes")
            logs[rule].append(np.log(true_rate(cal.threshold) / 0.5))
            assert cal.extra["shift_calibration"]["tail"] == rule
            if rule == "empirical":
                assert cal.threshold == pytest.approx(x.max())  # no alert allowed: the highest peak
                assert "tail" not in cal.basis()
            else:  # what `ipad score` prints says how the threshold was read
                assert f"exponential tail over {cal.extra['shift_calibration']['alerts']} alerts" in cal.basis()
    # the highest peak of 15 minutes alerts about 5 times too often over more of the same footage ...
    assert np.exp(np.median(logs["empirical"])) > 3
    # ... the exponential tail holds the 0.5 an hour asked within a factor of 2 (median over the seeds)
    assert abs(np.median(logs["exponential"])) < np.log(2)
    assert np.mean(np.abs(logs["exponential"])) < np.mean(np.abs(logs["empirical"]))


def test_long_footage_is_read_as_it_is_and_a_short_tail_falls_back():
    x = np.random.default_rng(0).exponential(size=int(30 * 3600 * FPS))  # 30 h: 15 alerts allowed >= tail_alerts
    cal = fit_shift_calibration(BASE, {"d": x}, _alert(tail="exponential", tail_alerts=10), FPS, "30 hours")
    assert "sigma" not in cal.extra["shift_calibration"]
    assert count_alerts(x, cal.threshold, 1, 0, 0.0, 1) <= 15
    calm = np.zeros(FRAMES)
    calm[[100, 900]] = [9.0, 9.5]  # two alerts above everything else: no tail to fit
    cal = fit_shift_calibration(BASE, {"d": calm}, _alert(tail="exponential"), FPS, "two peaks")
    assert "sigma" not in cal.extra["shift_calibration"] and cal.threshold == pytest.approx(9.5)


def test_a_long_alert_that_dips_counts_once_when_stretched():
    """alert.merge_stretch in the threshold's search: a machine stopped for a minute whose score dips
    under the release for 12 frames (6 s, more than merge_gap) is four alerts at merge_stretch 0 and one
    at 0.5 (its first 24 hot frames already hold gaps of 12 frames, then more); allowed one alert on
    this footage, the threshold then stays at the held-out one instead of rising above the stop."""
    x = np.zeros(FRAMES)
    stop = np.tile(np.r_[np.full(24, 5.0), np.zeros(12)], 4)[:-12]  # 4 hot runs of 24, 3 dips of 12
    x[1000 : 1000 + len(stop)] = stop
    kw = dict(min_frames=2, merge_gap=8, release_margin=0.0, smooth=1, tail="empirical", alerts_per_hour=4.0)
    assert count_alerts(x, 1.0, 2, 8, 0.0, 1) == 4
    assert count_alerts(x, 1.0, 2, 8, 0.0, 1, merge_stretch=0.5, merge_gap_max=60) == 1
    assert count_alerts(x, 1.0, 2, 8, 0.0, 1, merge_stretch=0.5, merge_gap_max=11) == 4  # capped under 12
    off = fit_shift_calibration(BASE, {"d": x}, _alert(**kw), FPS, "a stop")
    on = fit_shift_calibration(BASE, {"d": x}, _alert(**kw, merge_stretch=0.5, merge_gap_max=60), FPS, "a stop")
    assert off.threshold == 5.0 and off.merge_stretch == 0.0  # 4 alerts > 1 allowed: at the stop's top (hot is >)
    assert on.threshold == BASE.threshold and (on.merge_stretch, on.merge_gap_max) == (0.5, 60)
    assert on.extra["shift_calibration"]["alerts_on_footage"] == 1
    assert Calibration.from_dict(on.to_dict()) == on  # the tracker's settings ship with the threshold


def test_the_hold_is_a_high_quantile_of_the_calibration_footage():
    """alert.hold_quantile: the hold is that quantile of the normal footage's scores, by hand, never
    above the release; the held-out calibration's own hold is recorded and given back."""
    x = np.random.default_rng(0).uniform(0.0, 1.0, FRAMES)
    base = fit_calibration("knn", {"d": x}, {"d": 1.0}, 0.005, release_margin=0.5, hold_quantile=0.5)
    z = (x - x.mean()) / x.std()  # the held-out calibration's scores
    assert base.hold == pytest.approx(np.quantile(z, 0.5)) and base.hold < base.release
    assert fit_calibration("knn", {"d": x}, {"d": 1.0}, 0.005, release_margin=5.0, hold_quantile=0.9).hold == (
        pytest.approx(np.quantile(z, 0.995, method="higher") - 5.0)  # clamped to the release
    )
    assert fit_calibration("knn", {"d": x}, {"d": 1.0}, 0.005).hold is None  # 0: off
    cal = fit_shift_calibration(
        base, {"d": x}, _alert(tail="empirical", hold_quantile=0.99, hold_max=240), FPS, "a calm shift"
    )
    assert cal.hold == pytest.approx(np.quantile(z, 0.99)) and cal.hold_max == 240
    assert cal.extra["shift_calibration"]["hold_quantile"] == 0.99
    assert Calibration.from_dict(cal.to_dict()) == cal
    back = heldout_calibration(cal)
    assert (back.hold, back.hold_max) == (base.hold, base.hold_max)
    assert hold_level(np.r_[np.nan, 1.0, 2.0, 3.0], 0.5, 9.0) == 2.0  # NaN (no clip centred) left out
    with pytest.raises(ValueError, match="hold_quantile"):
        hold_level(x, 1.0, 9.0)
