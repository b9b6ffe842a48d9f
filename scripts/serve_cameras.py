"""`make serve-cameras`: after `make demo`, every demo device's test videos become live cameras: each
data/synth/<device>/testing/frames/<video> folder is copied frame by frame, at the generator's fps, into
<serve.out>/live/<device>-<video>/ (a filling folder, as a camera writes it), and `ipad serve` scores
them all (config: <serve.out>/cameras.yaml; /metrics and /healthz on serve.host:serve.port). The videos
loop. Ctrl-C (or SIGTERM) drains and stops."""

import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from ipad_vad.config import load_params


def main() -> int:
    p = load_params("params.yaml")
    root = Path(p["data"]["root"])
    fps = float(p.get("synth", {}).get("fps") or 0) or None
    out = Path(p.get("serve", {}).get("out", "serve"))
    videos = [
        (dev, v)
        for dev in p["pipeline"]["devices"]
        for v in sorted((root / dev / "testing" / "frames").glob("*"))
        if v.is_dir()
    ]
    if not videos:
        print(f"error: no test footage under {root}/<device>/testing/frames: run `make demo` first", file=sys.stderr)
        return 2
    live = out / "live"
    shutil.rmtree(live, ignore_errors=True)
    cams = []
    for dev, v in videos:
        (live / f"{dev}-{v.name}").mkdir(parents=True)
        cams.append(
            {
                "name": f"{dev}-{v.name}",
                "device": dev,
                "source": str(live / f"{dev}-{v.name}"),
                **({"fps": fps} if fps else {}),
            }
        )
    stop = threading.Event()
    threading.Thread(target=_play, args=(videos, live, fps or 2.0, stop), daemon=True).start()
    cfg = out / "cameras.yaml"
    cfg.write_text(yaml.safe_dump({"cameras": cams}, sort_keys=False))
    print(f"{len(cams)} cameras of {len(p['pipeline']['devices'])} devices -> {cfg}")
    # Ctrl-C reaches `ipad serve` too (same process group) and it drains; this script must not kill it
    # meanwhile (subprocess.call kills its child on KeyboardInterrupt), and a SIGTERM sent to this script
    # is passed on to the server, which drains the same way.
    server = subprocess.Popen([str(Path(sys.executable).parent / "ipad"), "serve", str(cfg), *sys.argv[1:]])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: server.send_signal(signal.SIGTERM))
    try:
        return server.wait()
    finally:
        stop.set()


def _play(videos, live: Path, fps: float, stop: threading.Event) -> None:
    """Copy each video's frames into its camera folder at `fps`, numbering on across loops."""
    files = [sorted(v.iterdir()) for _, v in videos]
    n = 0
    while not stop.wait(1.0 / fps):
        for (dev, v), fs in zip(videos, files):
            src = fs[n % len(fs)]
            dst = live / f"{dev}-{v.name}" / f"{n:06d}{src.suffix}"
            shutil.copyfile(src, dst.with_suffix(".part"))
            dst.with_suffix(".part").rename(dst)  # whole frames only
        n += 1


if __name__ == "__main__":
    sys.exit(main())
