"""`ipad serve` (issue 27): many cameras in one process against a real MLflow registry (SQLite in a
temporary folder) holding a reference-detector champion per device."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ipad_vad.errors import ConfigError, DataError

from .serve_helpers import (
    T,
    frames,
    register_champion,
    register_lora_again,
    register_lora_champions,
    write_folder,
)

ANOMALY = (40, 50)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    old, env = os.getcwd(), dict(os.environ)
    os.chdir(root)
    os.environ.update(MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}", MLFLOW_REQUIREMENTS_INFERENCE_TIMEOUT="1")
    os.environ.pop("IPAD_PIPELINE_ID", None)
    versions = {"R01": register_champion(root, "R01", 0), "R02": register_champion(root, "R02", 1)}
    yield {"root": root, "versions": versions}
    os.chdir(old)
    os.environ.clear()
    os.environ.update(env)


def _settings(out, **kw):
    from ipad_vad.serve.settings import ServeSettings

    return ServeSettings(
        **{
            "out": str(out),
            "port": 0,
            "poll_s": 0.05,
            "stall_s": 0.6,
            "flush_s": 0.2,
            "idle_exit_s": 2.5,
            "backoff_s": 0.05,
            "backoff_max_s": 0.2,
            "frame_retries": 2,
            "registry_poll_s": 3600,
            **kw,
        }
    )


def _server(cameras, out, frames_api=None, **kw):
    from ipad_vad.serve.config import check_config
    from ipad_vad.serve.server import Server

    cfg, _ = check_config({"cameras": cameras}, "test.yaml", api_cameras=tuple(frames_api or ()))
    return Server(cfg, _settings(out, **kw), frames=frames_api, where="test.yaml")


def _stalling(video, at, pause):
    for i, f in enumerate(video):
        if i == at:
            time.sleep(pause)
        yield f


def _jsonl(p, folder=None):
    """The events of a JSONL file; with `folder`, the files they name (thumbnails, heat maps) relative to it."""
    text = Path(p).read_text()
    if folder is not None:
        text = text.replace(json.dumps(str(folder))[1:-1] + "/", "")
    return [json.loads(line) for line in text.splitlines()]


def test_three_cameras_two_devices_alerts_faults_and_scores_like_ipad_score(registry, tmp_path):
    from ipad_vad.inference.champion import load_scorer
    from ipad_vad.inference.score_footage import score_footage

    anomalous = write_folder(tmp_path / "cam-a", frames(90, 0, ANOMALY))
    corrupt = write_folder(tmp_path / "cam-c", frames(60, 1))
    (corrupt / "00020.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image at all")
    wrong = frames(60, 1)
    wrong = [f if i != 33 else np.zeros((48, 40, 3), np.uint8) for i, f in enumerate(wrong)]
    server = _server(
        [
            {"name": "cam-a", "device": "R01", "source": str(anomalous)},
            {"name": "cam-b", "device": "R02"},
            {"name": "cam-c", "device": "R02", "source": str(corrupt)},
        ],
        tmp_path / "out",
        {"cam-b": _stalling(wrong, 30, 1.5)},
    )
    server.load_models()
    server.open_outputs()
    host, port = server.start_http()
    assert host == "127.0.0.1"  # loopback unless configured
    got = {}
    th = threading.Thread(target=lambda: got.setdefault("rc", server.run()))
    th.start()
    time.sleep(1.0)
    body = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5).read().decode()
    health = json.loads(urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5).read())
    th.join(60)
    assert not th.is_alive() and got["rc"] == 0
    out = tmp_path / "out"

    # /metrics is Prometheus text with the per-camera families
    from prometheus_client.parser import text_string_to_metric_families

    fams = {f.name: f for f in text_string_to_metric_families(body)}
    for name in (
        "ipad_serve_frames",
        "ipad_serve_lag_frames",
        "ipad_serve_alerts",
        "ipad_serve_model_version",
        "ipad_serve_batch_clips",
        "ipad_serve_queue_depth",
        "ipad_serve_camera_fps",
    ):
        assert name in fams, sorted(fams)
    versions = {s.labels["device"]: s.value for s in fams["ipad_serve_model_version"].samples}
    assert versions == {"R01": 1.0, "R02": 1.0}
    assert health["status"] == "ok" and set(health["cameras"]) == {"cam-a", "cam-b", "cam-c"}

    # the anomalous camera: scores and alerts identical to `ipad score` on the same folder
    score_footage(load_scorer("R01"), anomalous, tmp_path / "ref", "cam-a")
    ref_df = pd.read_csv(tmp_path / "ref" / "cam-a.scores.csv")
    df = pd.read_csv(out / "cam-a.scores.csv")
    assert df.frame.tolist() == ref_df.frame.tolist() == list(range(T // 2, 90 - (T - T // 2 - 1)))
    assert np.allclose(df.score, ref_df.score, rtol=0, atol=1e-6) and (df.hot == ref_df.hot).all()
    assert list(df.columns) == list(ref_df.columns) + ["model_version"]  # `ipad score`'s columns, alert included
    assert df.alert.any() and (df.alert == ref_df.alert).all()
    assert set(df.model_version.astype(str)) == {"1"}
    events = _jsonl(out / "cam-a.alerts.jsonl", out)  # with what each alert carries (region, thumbnail, ...)
    assert events == _jsonl(tmp_path / "ref" / "cam-a.alerts.jsonl", tmp_path / "ref")
    starts = [e for e in events if e["event"] == "start"]
    assert starts and all(
        e["alert_id"].startswith("cam-a:")
        and e["device"] == "R01"
        and e["model_version"] == "1"
        and e["evidence"]["region"]["box"]
        and (out / e["evidence"]["thumbnail"]).exists()
        for e in starts
    )
    alerts = [(e["start"], e["end"]) for e in events if e["event"] == "end"]
    assert alerts and all(ANOMALY[0] - T // 2 <= s and e < ANOMALY[1] + T // 2 for s, e in alerts), alerts
    # the other cameras: no alert; the stall, the wrongly sized and the corrupt frame reported
    for cam in ("cam-b", "cam-c"):
        assert _jsonl(out / f"{cam}.alerts.jsonl") == []
    faults_b = [e["event"] for e in _jsonl(out / "cam-b.faults.jsonl")]
    assert "stalled" in faults_b and "resumed" in faults_b and "wrong_size" in faults_b, faults_b
    faults_c = _jsonl(out / "cam-c.faults.jsonl")
    faults_c = [e for e in faults_c if e["event"] != "stalled"]  # the folder stops filling at its end: stalled
    assert [e["event"] for e in faults_c] == ["corrupt_frame"] and "00020.png" in faults_c[0]["detail"]

    def around(bad, n):  # the source's numbering; no clip spans the bad frame (the stream restarts after it)
        return list(range(T // 2, bad - (T - T // 2 - 1))) + list(range(bad + 1 + T // 2, n - (T - T // 2 - 1)))

    assert pd.read_csv(out / "cam-c.scores.csv").frame.tolist() == around(20, 60)
    assert pd.read_csv(out / "cam-b.scores.csv").frame.tolist() == around(33, 60)
    final = server.metrics.registry
    assert final.get_sample_value("ipad_serve_faults_total", {"camera": "cam-c", "kind": "corrupt_frame"}) == 1
    assert final.get_sample_value("ipad_serve_faults_total", {"camera": "cam-b", "kind": "stalled"}) == 1
    assert final.get_sample_value("ipad_serve_alerts_total", {"camera": "cam-a"}) == len(alerts)


def test_devices_whose_lora_champions_adapt_one_base_hold_it_once_and_score_like_ipad_score(registry, tmp_path):
    from ipad_vad.inference.champion import load_scorer
    from ipad_vad.inference.score_footage import score_footage
    from ipad_vad.inference.shared_base import tensor_bytes

    versions = register_lora_champions(registry["root"], {"R03": 3, "R04": 4})
    videos = {"cam-3": frames(80, 3, ANOMALY), "cam-4": frames(60, 4)}
    go = threading.Event()

    def gated(video):  # cam-3: its first 30 frames, then the rest once R03's champion has moved
        for i, f in enumerate(video):
            if i == 30:
                go.wait(120)
            yield f

    server = _server(
        [{"name": "cam-3", "device": "R03"}, {"name": "cam-4", "device": "R04"}],
        tmp_path / "out",
        {"cam-3": gated(videos["cam-3"]), "cam-4": iter(videos["cam-4"])},
        idle_exit_s=0,
    )
    th = threading.Thread(target=server.run)
    th.start()
    while not server.metrics.registry.get_sample_value("ipad_serve_scored_frames_total", {"camera": "cam-3"}):
        time.sleep(0.05)
    (base,) = server.bases.values()
    first = base.views[f"R03_v{versions['R03']}"]
    v2 = register_lora_again(registry["root"], "R03")  # the same adapter as a new version: scores unchanged
    assert server.check_champion("R03") == v2  # added to the shared base beside v1 while cam-4 is scored
    while server.devices["R03"].version != v2:
        time.sleep(0.05)
    go.set()
    th.join(60)
    assert not th.is_alive()
    # one base, an adapter per device (R03's first version dropped after the swap): the adapted layers'
    # base weights are the same tensors for both devices
    assert list(server.bases.values()) == [base]
    assert (
        sorted(base.views) == [f"R03_v{v2}", f"R04_v{versions['R04']}"] and first.adapter not in base.peft.peft_config
    )
    m3, m4 = server.devices["R03"].model, server.devices["R04"].model
    assert m3.shared is m4.shared is base and m3.adapter != m4.adapter
    own = {d: load_scorer(d) for d in ("R03", "R04")}  # as `ipad score --device` loads them: merged, one model each
    weights = [n for n, _ in base.peft.named_parameters() if "base_layer.weight" in n]
    assert len(weights) == sum(
        1 for n, _ in own["R03"].model.named_parameters() if n.startswith("encoder.") and n.endswith(".weight")
    )  # each adapted weight held once, not once per device
    for m, dev in ((m3, "R03"), (m4, "R04")):  # each device's own bank
        assert torch.equal(m.matcher.bank, own[dev].model.matcher.bank)
    reg = server.metrics.registry
    assert reg.get_sample_value("ipad_serve_shared_bases") == 1
    assert reg.get_sample_value("ipad_serve_base_adapters", {"base": base.key[:16]}) == 2
    # memory: the two devices' own models less one copy of the base's weights, plus the LoRA matrices
    separate = sum(tensor_bytes([*ld.model.parameters(), *ld.model.buffers()]) for ld in own.values())
    base_weights = tensor_bytes(p for n, p in own["R03"].model.named_parameters() if not n.startswith("matcher."))
    lora = tensor_bytes(p for n, p in base.peft.named_parameters() if ".lora_" in n)
    assert 0 < lora < base_weights
    assert reg.get_sample_value("ipad_serve_model_bytes") == separate - base_weights + lora
    # scores, hot and alert columns: `ipad score` with each device's own champion on the same footage
    for cam, dev in (("cam-3", "R03"), ("cam-4", "R04")):
        ref = score_footage(own[dev], write_folder(tmp_path / cam, videos[cam]), tmp_path / "ref", cam)
        ref_df, df = pd.read_csv(ref["outputs"]["scores"]), pd.read_csv(tmp_path / "out" / f"{cam}.scores.csv")
        assert list(df.columns) == list(ref_df.columns) + ["model_version"]
        assert df.frame.tolist() == ref_df.frame.tolist() and len(df) == len(videos[cam]) - T + 1
        # float32 of the adapter applied beside the shared base against merged into it: equal to about 1e-6
        # relative (a CI run under load measured 2.5e-5 on scores of -39.8)
        assert np.allclose(df.score, ref_df.score, rtol=1e-6, atol=1e-6), (df.score - ref_df.score).abs().max()
        assert (df.hot == ref_df.hot).all() and (df.alert == ref_df.alert).all()
        used = df.model_version.astype(str).tolist()
        assert used[0] == versions[dev] and used[-1] == (v2 if dev == "R03" else versions[dev])
    assert pd.read_csv(tmp_path / "out" / "cam-3.scores.csv").alert.any()  # the anomaly alerts through the adapter


def test_a_champion_moved_mid_stream_is_picked_up_and_a_failing_version_is_reported(registry, tmp_path):
    from ipad_vad.serve.server import _load_champion

    done = threading.Event()
    sent, scored = {}, {}

    def slow(video):  # half the frames, then the rest once the test has moved the alias twice
        for i, f in enumerate(video):
            if i == len(video) // 2:
                done.wait(120)
            time.sleep(0.01)
            sent[i] = time.monotonic()
            yield f

    def loader(device, version, min_auc):
        if version == "3":
            raise RuntimeError("artifact store unreachable")
        return _load_champion(device, version, min_auc)

    server = _server([{"name": "cam", "device": "R01"}], tmp_path / "out", {"cam": slow(frames(200, 0))}, idle_exit_s=0)
    server.loader = loader
    server.on_scored = lambda cam, frames, t: scored.update(dict.fromkeys(frames, t))
    th = threading.Thread(target=server.run)
    th.start()
    while server.metrics.registry.get_sample_value("ipad_serve_scored_frames_total", {"camera": "cam"}) in (None, 0.0):
        time.sleep(0.05)
    v2 = register_champion(registry["root"], "R01", 0, threshold_margin=2.0, version_note="b")
    assert server.check_champion("R01") == v2  # loaded here, swapped by the loop between batches
    while server.devices["R01"].version != v2:
        time.sleep(0.05)
    v3 = register_champion(registry["root"], "R01", 0, threshold_margin=3.0, version_note="c")
    assert v3 == "3" and server.check_champion("R01") is None
    done.set()
    th.join(60)
    df = pd.read_csv(tmp_path / "out" / "cam.scores.csv")
    assert df.frame.tolist() == list(range(T // 2, 200 - (T - T // 2 - 1)))  # no frame lost
    used = df.model_version.astype(str).tolist()
    assert used[0] == "1" and used[-1] == v2 and used == sorted(used)  # one switch, between batches
    ev = _jsonl(tmp_path / "out" / "serve.events.jsonl")
    assert [e["event"] for e in ev] == ["model_swapped", "model_load_failed"]
    assert "artifact store unreachable" in ev[1]["detail"] and ev[1]["version"] == "3"
    assert server.devices["R01"].version == v2
    # no frame waited long for its score, the swaps included: from the frame that completed its clip
    # (T - T//2 - 1 later) to its score, within a flush and a generous margin for this busy machine
    waits = [scored[f] - sent[f + T - T // 2 - 1] for f in scored if f + T - T // 2 - 1 in sent]
    assert len(waits) > 150 and max(waits) < server.s.flush_s + 2.0, max(waits)
    # the registry's alias is left as the test moved it
    import mlflow

    mlflow.MlflowClient().set_registered_model_alias("ipad-vad-R01", "champion", registry["versions"]["R01"])


def test_config_errors_are_one_line_naming_the_problem(registry, tmp_path):
    from ipad_vad.serve.config import load_config
    from ipad_vad.serve.server import Server

    cam = tmp_path / "cam"
    write_folder(cam, frames(3, 0))

    def err(cfg: dict) -> str:
        f = tmp_path / "serve.yaml"
        f.write_text(json.dumps(cfg))
        with pytest.raises(ConfigError) as e:
            c, s = load_config(f)
            Server(c, s, where=str(f)).load_models()
        assert "\n" not in str(e.value) and str(f) in str(e.value)
        return str(e.value)

    assert "'R99'" in err({"cameras": [{"name": "x", "device": "R99", "source": str(cam)}]})
    assert "duplicate camera name 'x'" in err(
        {
            "cameras": [
                {"name": "x", "device": "R01", "source": str(cam)},
                {"name": "x", "device": "R01", "source": str(cam)},
            ]
        }
    )
    msg = err({"cameras": [{"name": "x", "device": "R01", "source": "/nonexistent/dir/cam1"}]})
    assert "'x'" in msg and "/nonexistent/dir/cam1" in msg and "unreachable" in msg
    assert "fps_typo" in err({"cameras": [{"name": "x", "device": "R01", "source": str(cam), "fps_typo": 2}]})
    assert "serve.prot" in err({"serve": {"prot": 1}, "cameras": [{"name": "x", "device": "R01", "source": str(cam)}]})


def test_an_unwritable_event_log_is_an_error_naming_it(registry, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "cam.alerts.jsonl").symlink_to("/dev/full")  # a full disk
    server = _server([{"name": "cam", "device": "R01"}], out, {"cam": iter(frames(90, 0, ANOMALY))})
    with pytest.raises(DataError) as e:
        server.run()
    assert str(out / "cam.alerts.jsonl") in str(e.value) and "\n" not in str(e.value)


def test_sigterm_drains_the_clips_and_exits_0(registry, tmp_path):
    cam = write_folder(tmp_path / "cam", frames(60, 0))
    cfg = tmp_path / "serve.yaml"
    cfg.write_text(
        json.dumps(
            {
                "serve": {"out": str(tmp_path / "out"), "port": 0, "poll_s": 0.05},
                "cameras": [{"name": "cam", "device": "R01", "source": str(cam)}],
            }
        )
    )
    p = subprocess.Popen(
        [str(Path(sys.executable).parent / "ipad"), "serve", str(cfg), "--profile", "smoke"],
        cwd=registry["root"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    scores = tmp_path / "out" / "cam.scores.csv"
    deadline = time.time() + 120
    while (
        time.time() < deadline
        and p.poll() is None  # a crashed server fails the test now, not in 120 s
        and (not scores.exists() or len(scores.read_text().splitlines()) < 20)
    ):
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, out[-3000:]
    df = pd.read_csv(scores)  # every received frame scored, the stream closed: the last frames too
    assert df.frame.tolist() == list(range(T // 2, 60 - (T - T // 2 - 1))), out[-2000:]
