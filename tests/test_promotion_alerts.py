"""Issue 26: a champion that never rings is no use to the plant. On the demo of 2026-12-06 R04's best
AUC (IPAD-VAD, 85.0) alerted none of its 11 labelled spans at its calibrated threshold while the
reference detector (80.7) alerted 2, and promotion, ranking by AUC alone, made IPAD-VAD champion.
With ``pipeline.promote_alerting`` a candidate that alerts goes first: in the pick (report and
promotion alike) and against the registered champion (a real MLflow store)."""

import json

import mlflow
import pytest

from ipad_vad.config import load_params
from ipad_vad.registry.promotion import ALERTS_TAG, alerts_on_test, best_candidate, promote

from .conftest import ROOT

ORDER = ["ipad_vad", "infp", "knn"]
R04 = {"ipad_vad": 85.0, "infp": 50.2, "knn": 80.7}  # the demo's R04, AUC in percent


def _alerts(spans_alerted: int, anomalous_spans: int = 11) -> dict:
    return {
        "alerts": {
            "threshold": 3.0,
            "threshold_from": "calibration footage, 0.25 h",
            "target_false_alarm_rate": 0.005,
            "test_false_alarm_rate": 0.0,
            "test_recall": 0.18 if spans_alerted else 0.0,
            "auc_calibrated": 0.8,
            "anomalous_spans": anomalous_spans,
            "spans_alerted": spans_alerted,
            "false_alerts": 0,
            "false_alerts_per_1000": 0.0,
        }
    }


def test_whether_a_threshold_alerts_is_read_from_the_evaluation():
    assert alerts_on_test(_alerts(2)) is True
    assert alerts_on_test(_alerts(0)) is False
    assert alerts_on_test(_alerts(0, anomalous_spans=0)) is None  # no labelled span: nothing to tell
    assert alerts_on_test({"auc": {}}) is None  # alerts not measured


def test_the_pick_prefers_a_method_that_alerts_among_those_that_reach_the_minimum():
    alerting = {"ipad_vad": False, "infp": False, "knn": True}
    assert best_candidate(R04, ORDER) == "ipad_vad"  # AUC alone, as before
    assert best_candidate(R04, ORDER, alerting, min_auc=70) == "knn"
    # an alerting method below the minimum is no champion: the best usable one is picked instead
    assert best_candidate({**R04, "knn": 65.0}, ORDER, alerting, min_auc=70) == "ipad_vad"
    # none alerts (R03 of the demo), or nothing is known: AUC decides
    assert best_candidate(R04, ORDER, dict.fromkeys(ORDER, False), min_auc=70) == "ipad_vad"
    assert best_candidate(R04, ORDER, dict.fromkeys(ORDER), min_auc=70) == "ipad_vad"
    # several alert: the best AUC among them, the order breaking ties
    both = {"ipad_vad": True, "infp": False, "knn": True}
    assert best_candidate(R04, ORDER, both, min_auc=70) == "ipad_vad"
    assert best_candidate({**R04, "knn": 85.0}, ORDER, both, min_auc=70) == "ipad_vad"


@pytest.mark.parametrize("weigh_alerts, expected", [(True, "knn"), (False, "ipad_vad")])
def test_the_report_names_the_method_promotion_would_pick(tmp_path, weigh_alerts, expected):
    from ipad_vad.jobs.layout import eval_dir
    from ipad_vad.jobs.report import report

    p = json.loads(json.dumps(load_params(str(ROOT / "params.yaml"), "smoke")))
    p["pipeline"].update(
        scenes=["S01", "R04"],
        pretrain_scenes=["S01"],
        devices=["R04"],
        methods=ORDER,
        promote_methods=ORDER,
        promote_min_auc=70,
        promote_alerting=weigh_alerts,
        **{k: str(tmp_path / k) for k in ("eval_root", "reports_root", "metrics_root", "plots_root")},
    )
    spans = {"ipad_vad": 0, "infp": 0, "knn": 2}
    for scene in ("S01", "R04"):
        for m in ORDER:
            d = eval_dir(p, scene, m)
            d.mkdir(parents=True)
            ev = {
                "label": m.upper(),
                "weights": {"score": 1.0},
                "auc": {"scene_norm": {"score": R04[m] / 100}, "video_norm": {"score": R04[m] / 100}},
                "auc_per_type": {},
                **(_alerts(spans[m]) if scene == "R04" else {}),
            }
            (d / "metrics.json").write_text(json.dumps(ev))
    res = report(p, plots=False)
    u = res["usable"]["R04"]
    assert u["method"] == expected and u["usable"] is True
    assert u["alerts"] is (expected == "knn")
    md = (tmp_path / "reports_root/results.md").read_text()
    row = "| R04 | KNN | 80.7 | yes | yes |" if weigh_alerts else "| R04 | IPAD_VAD | 85.0 | no | yes |"
    assert row in md
    assert ("alerts a labelled span goes first" in md) is weigh_alerts


@pytest.fixture()
def client(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # this test's store, whatever URI an earlier test set globally
    c = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    c.create_registered_model("ipad-vad-R04")
    return c


def _version(client, tmp_path, tags: dict | None = None) -> str:
    v = client.create_model_version("ipad-vad-R04", source=str(tmp_path / "model"), tags=tags)
    return str(v.version)


def test_a_champion_that_alerts_none_gives_way_to_one_that_alerts_whatever_the_aucs(client, tmp_path):
    name = "ipad-vad-R04"
    v = [_version(client, tmp_path) for _ in range(5)]
    d = promote(name, v[0], 85.0, min_auc=70, client=client, alerts=False)
    assert d.promoted and client.get_model_version(name, v[0]).tags[ALERTS_TAG] == "false"
    d = promote(name, v[1], 80.7, min_auc=70, client=client, alerts=True)  # lower AUC, but it rings
    assert d.promoted and str(d.previous_champion) == v[0] and d.alerts is True
    d = promote(name, v[2], 95.0, min_auc=70, client=client, alerts=False)  # far better AUC, silent
    assert d.alias == "challenger"
    d = promote(name, v[3], 81.0, margin=1.0, min_auc=70, client=client, alerts=True)  # both alert: the margin rule
    assert d.alias == "challenger"
    d = promote(name, v[4], 82.0, margin=1.0, min_auc=70, client=client, alerts=True)
    assert d.promoted
    assert str(client.get_model_version_by_alias(name, "champion").version) == v[4]
    assert len(client.search_model_versions(f"name='{name}'")) == 5  # nothing lost


def test_a_champion_registered_before_the_tag_is_read_by_its_measured_recall(client, tmp_path):
    """A version registered before ``alerts_on_test`` holds ``recall_measured_test``: 0 means no
    anomalous frame reached its threshold, so it alerted none; a recall above 0 tells nothing."""
    name = "ipad-vad-R04"
    silent = _version(client, tmp_path, {"recall_measured_test": "0.000000"})
    assert promote(name, silent, 85.0, min_auc=70, client=client).promoted  # as before the tag: AUC alone
    ringing = _version(client, tmp_path)
    assert promote(name, ringing, 80.7, min_auc=70, client=client, alerts=True).promoted
    unknown = _version(client, tmp_path, {"recall_measured_test": "0.180000", "auc_pct": "85.0000"})
    client.set_registered_model_alias(name, "champion", unknown)
    d = promote(name, _version(client, tmp_path), 80.0, min_auc=70, client=client, alerts=True)
    assert d.alias == "challenger"  # the old champion may alert: AUC decides (85.0 > 80.0)


def test_a_recalibrated_version_with_the_same_auc_replaces_its_champion(client, tmp_path):
    """The demo rerun of 2026-12-06 gave R02's reference detector a new threshold (6.95 -> 9.02) at the
    same AUC; with ties kept by the champion the new version stayed challenger and `ipad score` went on
    with the old threshold. A tie now goes to the newer version; a margin still has to be beaten."""
    name = "ipad-vad-R04"
    old, new, newer = (_version(client, tmp_path) for _ in range(3))
    assert promote(name, old, 89.5263, min_auc=70, client=client, alerts=True).promoted
    d = promote(name, new, 89.5263, min_auc=70, client=client, alerts=True)
    assert d.promoted and str(d.previous_champion) == old
    assert promote(name, newer, 89.5263, margin=0.5, min_auc=70, client=client, alerts=True).alias == "challenger"
