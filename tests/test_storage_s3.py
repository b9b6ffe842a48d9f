"""Object storage against a real S3 API over HTTP on loopback (moto's server, started here): the
landing prefix and its ledger, verified downloads, archive, the DVC remote, MLflow artifacts on S3,
and the retraining flow polling the landing prefix (ingest once, resume after a kill, bad objects
reported by key and left in landing)."""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from ipad_vad.errors import DataError
from ipad_vad.storage.landing import LandingZone, verify
from ipad_vad.storage.ledger import Ledger
from ipad_vad.storage.s3_settings import S3Settings

from .conftest import VENV_BIN, sh

BUCKET = "ipad-test"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "IPAD_S3_ENDPOINT_URL": f"http://{host}:{port}",
        "IPAD_S3_BUCKET": BUCKET,
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    settings = S3Settings.from_params({})
    settings.client().create_bucket(Bucket=BUCKET)
    yield {"env": env, "settings": settings, "url": env["IPAD_S3_ENDPOINT_URL"]}
    for k, v in old.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    server.stop()


def _clear(s3, prefix=""):
    c = s3["settings"].client()
    for o in c.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []):
        c.delete_object(Bucket=BUCKET, Key=o["Key"])


def test_settings_come_from_the_environment_and_never_hold_credentials():
    s = S3Settings.from_params(
        {"bucket": "from-params", "endpoint_url": "http://params:9000", "landing_prefix": "in"},
        env={"IPAD_S3_BUCKET": "from-env"},
    )
    assert (s.bucket, s.endpoint_url, s.landing_prefix) == ("from-env", "http://params:9000", "in/")
    assert not any("secret" in str(v).lower() for v in s.__dict__.values())
    with pytest.raises(Exception, match="IPAD_S3_BUCKET"):
        S3Settings.from_params({}, env={})


def test_landing_listing_ledger_download_and_archive(s3, tmp_path):
    _clear(s3)
    zone = LandingZone(s3["settings"])
    a, b = tmp_path / "a.mp4", tmp_path / "b.npy"
    a.write_bytes(os.urandom(5000))
    b.write_bytes(os.urandom(300))
    zone.upload("R01", a)
    zone.upload("press-3", b, split="testing")
    zone.client.put_object(Bucket=BUCKET, Key="landing/stray.mp4", Body=b"x")  # not under a device: ignored
    objs = zone.list_objects()
    assert [(o.device, o.relpath) for o in objs] == [("R01", "a.mp4"), ("press-3", "testing/b.npy")]
    ledger = Ledger()
    assert zone.new_objects(ledger) == objs
    path, sha = zone.download(objs[0], tmp_path / "staging")
    assert path.read_bytes() == a.read_bytes() and sha == hashlib.sha256(a.read_bytes()).hexdigest()
    ledger.mark(objs[0].key, objs[0].etag, "committed")
    ledger.mark(objs[1].key, objs[1].etag, "rejected", reason="not a video")
    ledger.save(zone.client, BUCKET, s3["settings"].ledger_key)
    again = Ledger.load(zone.client, BUCKET, s3["settings"].ledger_key)
    assert again.entries == ledger.entries and zone.new_objects(again) == []
    b.write_bytes(os.urandom(300))  # the same key uploaded again with new content is new footage
    zone.upload("press-3", b, split="testing")
    assert [o.relpath for o in zone.new_objects(again)] == ["testing/b.npy"]
    dst = zone.archive(objs[0].key, objs[0].etag)
    assert dst == "archive/R01/a.mp4"
    keys = [o["Key"] for o in zone.client.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert "archive/R01/a.mp4" in keys and "landing/R01/a.mp4" not in keys


def test_verify_rejects_size_and_checksum_mismatches_naming_the_object(tmp_path):
    f = tmp_path / "x.mp4"
    f.write_bytes(b"hello world")
    md5 = hashlib.md5(b"hello world").hexdigest()
    assert (
        verify(f, {"ContentLength": 11, "ETag": f'"{md5}"'}, "s3://b/k") == hashlib.sha256(b"hello world").hexdigest()
    )
    with pytest.raises(DataError, match="s3://b/k: download has 11 bytes, the object 12"):
        verify(f, {"ContentLength": 12, "ETag": f'"{md5}"'}, "s3://b/k")
    with pytest.raises(DataError, match="s3://b/k: MD5 checksum mismatch"):
        verify(f, {"ContentLength": 11, "ETag": '"' + "0" * 32 + '"'}, "s3://b/k")
    with pytest.raises(DataError, match="SHA-256 checksum mismatch"):
        verify(f, {"ContentLength": 11, "ETag": '"abc-2"', "ChecksumSHA256": "AAAA"}, "s3://b/k")
    # a multipart ETag carries no MD5: the size and the SHA-256 are what is checked
    import base64

    good = base64.b64encode(hashlib.sha256(b"hello world").digest()).decode()
    assert verify(f, {"ContentLength": 11, "ETag": '"abc-2"', "ChecksumSHA256": good}, "s3://b/k")


def _git_env(extra):
    return dict(
        os.environ,
        PATH=f"{VENV_BIN}:{os.environ['PATH']}",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@t",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@t",
        **extra,
    )


def test_dvc_push_and_pull_round_trip_through_the_s3_remote(s3, tmp_path):
    repo = tmp_path / "repo"
    (repo / "data/ipad/R01").mkdir(parents=True)
    shutil.copytree(Path(__file__).resolve().parents[1] / "infra", repo / "infra")
    rng = np.random.default_rng(0)
    for i in range(5):
        (repo / f"data/ipad/R01/{i}.bin").write_bytes(rng.bytes(2000 + i))
    env = _git_env(s3["env"])
    sh("git init -q && dvc init -q && dvc config core.analytics false && bash infra/dvc-remote.sh", repo, env)
    cfg = (repo / ".dvc/config").read_text()
    assert f"s3://{BUCKET}/dvc" in cfg and s3["url"] in cfg and "secret" not in cfg.lower()
    sh("dvc add -q data/ipad && git add -A && git commit -qm v1 && dvc push", repo, env)
    before = {p.name: p.read_bytes() for p in (repo / "data/ipad/R01").iterdir()}
    client = s3["settings"].client()
    assert client.list_objects_v2(Bucket=BUCKET, Prefix="dvc/")["KeyCount"] >= 5
    clone = tmp_path / "clone"
    sh(f"git clone -q {repo} {clone}", tmp_path, env)
    assert not (clone / "data/ipad").exists()
    sh("dvc pull", clone, env)  # a fresh worker: data from the S3 remote only
    after = {p.name: p.read_bytes() for p in (clone / "data/ipad/R01").iterdir()}
    assert after == before


@pytest.mark.slow
def test_mlflow_server_stores_artifacts_on_s3_and_reads_them_back(s3, tmp_path):
    import mlflow

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, **s3["env"], MLFLOW_S3_ENDPOINT_URL=s3["url"])
    server = subprocess.Popen(
        [
            str(VENV_BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'mlflow.db'}",
            "--artifacts-destination",
            f"s3://{BUCKET}/mlartifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        cwd=tmp_path,
        stdout=open(tmp_path / "server.log", "w"),
        stderr=subprocess.STDOUT,
    )
    try:
        import urllib.request

        for _ in range(90):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(1)
        mlflow.set_tracking_uri(f"http://127.0.0.1:{port}")
        (tmp_path / "calibration.json").write_text(json.dumps({"threshold": 1.25}))
        experiment = mlflow.create_experiment("s3-artifacts")  # this server's, not one cached from other tests
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.log_artifact(str(tmp_path / "calibration.json"), artifact_path="evaluation")
        got = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="evaluation/calibration.json", dst_path=str(tmp_path / "back")
        )
        assert json.loads(Path(got).read_text()) == {"threshold": 1.25}
        keys = [
            o["Key"] for o in s3["settings"].client().list_objects_v2(Bucket=BUCKET, Prefix="mlartifacts/")["Contents"]
        ]
        assert any(k.endswith("evaluation/calibration.json") and run.info.run_id in k for k in keys), keys
    finally:
        mlflow.set_tracking_uri(None)
        server.terminate()
        server.wait(timeout=30)


# ---- the retraining flow polling the landing prefix (slow: dvc repro of a device) ----------------


def _video(path: Path, frames_dir: Path, reverse: bool = False) -> Path:
    files = sorted(frames_dir.iterdir(), key=lambda p: int(p.stem))
    frames = [cv2.imread(str(p)) for p in files]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 2.0, (w, h))
    for f in frames[::-1] if reverse else frames:
        writer.write(f)
    writer.release()
    return path


@pytest.fixture(scope="module")
def project(smoke_project, s3):
    env = dict(smoke_project["env"], **s3["env"])
    sh(
        "bash infra/dvc-remote.sh && git add .dvc/config && git commit -qm 'dvc remote on S3'",
        smoke_project["path"],
        env,
    )
    return {**smoke_project, "env": env}


def _landing_keys(s3):
    c = s3["settings"].client()
    return sorted(o["Key"] for o in c.list_objects_v2(Bucket=BUCKET, Prefix="landing/").get("Contents", []))


@pytest.mark.slow
def test_retrain_flow_ingests_new_landing_footage_once_and_reports_bad_objects(project, s3, tmp_path):
    _clear(s3, "landing/")
    _clear(s3, "ipad/")  # the ledger of the earlier tests' objects
    path, env = project["path"], project["env"]
    zone = LandingZone(s3["settings"])
    frames = path / "data/ipad/R01/training/frames/01"
    zone.upload("R01", _video(tmp_path / "cam_evening.mkv", frames, reverse=True))
    (tmp_path / "notes.mp4").write_text("this is not a video")
    zone.upload("R01", tmp_path / "notes.mp4")
    good = _video(tmp_path / "cut.mkv", frames).read_bytes()
    (tmp_path / "cut.mkv").write_bytes(good[: len(good) // 3])  # truncated in transit
    zone.upload("R01", tmp_path / "cut.mkv")
    lock = (path / "dvc.lock").read_text()
    r = sh(["ipad", "storage", "poll"], path, env)
    out = r.stdout + r.stderr  # the flow's prints go to its log (stderr)
    ledger = Ledger.load(zone.client, BUCKET, s3["settings"].ledger_key)
    states = {e["key"]: e["state"] for e in ledger.entries.values()}
    assert states == {
        "landing/R01/cam_evening.mkv": "archived",
        "landing/R01/notes.mp4": "rejected",
        "landing/R01/cut.mkv": "rejected",
    }, states
    assert "rejected s3://ipad-test/landing/R01/notes.mp4" in out and "landing/R01/cut.mkv" in out
    assert _landing_keys(s3) == ["landing/R01/cut.mkv", "landing/R01/notes.mp4"]  # bad objects stay
    assert "archive/R01/cam_evening.mkv" in [
        o["Key"] for o in zone.client.list_objects_v2(Bucket=BUCKET, Prefix="archive/")["Contents"]
    ]
    assert (path / "dvc.lock").read_text() != lock  # R01's stages reran on the new data version
    assert "adapt_evaluate@ipad_vad-R01" in out and "promote@R01" in out
    log = sh("git log --oneline -1", path, env).stdout
    assert "ingest 1 landing object(s) for R01" in log
    assert zone.client.list_objects_v2(Bucket=BUCKET, Prefix="dvc/")["KeyCount"] > 0  # pushed
    # a second poll finds nothing new: nothing ingested, nothing rerun, the ledger unchanged
    r = sh(["ipad", "storage", "poll"], path, env)
    assert "nothing new" in r.stdout + r.stderr
    assert Ledger.load(zone.client, BUCKET, s3["settings"].ledger_key).entries == ledger.entries


@pytest.mark.slow
def test_a_poll_killed_between_download_and_commit_loses_nothing(project, s3, tmp_path):
    _clear(s3, "landing/")
    path, env = project["path"], project["env"]
    zone = LandingZone(s3["settings"])
    frames = path / "data/ipad/R01/testing/frames/01"
    key = zone.upload("R01", _video(tmp_path / "night_shift.mkv", frames, reverse=True))
    staged = path / "landing_s3/R01/night_shift.mkv"
    head = sh("git rev-parse HEAD", path, env).stdout
    proc = subprocess.Popen(
        ["ipad", "storage", "poll"],
        cwd=path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(1200):  # kill it as soon as the footage is downloaded, before it is committed
        if staged.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert staged.exists(), proc.stdout.read().decode()[-3000:]
    assert _landing_keys(s3) == [key]  # still in landing
    assert sh("git rev-parse HEAD", path, env).stdout == head  # nothing committed
    ledger = Ledger.load(zone.client, BUCKET, s3["settings"].ledger_key)
    assert {e["key"]: e["state"] for e in ledger.entries.values()}.get(key) in (None, "downloaded")
    out = sh(["ipad", "storage", "poll"], path, env).stdout  # the next poll picks it up again
    ledger = Ledger.load(zone.client, BUCKET, s3["settings"].ledger_key)
    assert {e["key"]: e["state"] for e in ledger.entries.values()}[key] == "archived"
    assert _landing_keys(s3) == [] and "adapt_evaluate@ipad_vad-R01" in out
    assert sh("git rev-parse HEAD", path, env).stdout != head
