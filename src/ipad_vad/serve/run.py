"""`ipad serve CONFIG.yaml`: load the config and the champions, listen, serve until SIGTERM / Ctrl-C."""

from __future__ import annotations

import logging
import signal
from pathlib import Path


def serve_main(config: Path, params: dict, host: str | None = None, port: int | None = None) -> int:
    from ..params_schema import settings_of
    from ..registry.tracking import configure
    from ..train.loop import resolve_device
    from .config import load_config
    from .server import ServeOptions, Server

    cfg, settings = load_config(config, params)
    if host is not None or port is not None:
        settings = settings.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v is not None})
    s = settings_of(params)  # {} without a params.yaml: the defaults
    sc = s.score  # as `ipad score`: max_latency 0 is one clip per batch, unset (None) one clip of latency
    options = ServeOptions(
        device=str(resolve_device(sc.device)),
        max_latency=None if sc.max_latency is None else (sc.max_latency or 1),
        batch_clips=sc.batch_clips or None,
        amp=s.train.amp,
        min_auc=float(s.pipeline.promote_min_auc),
        evidence=sc.evidence,
        manifest=s.data.manifest,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    log = logging.getLogger("ipad.serve")
    configure()
    server = Server(cfg, settings, options, where=str(config))
    server.load_models()
    server.open_outputs()
    addr = server.start_http()
    for d, ld in server.devices.items():
        log.info("device %s: %s (%s), threshold %.3f", d, ld.uri, ld.method.label, ld.calibration.threshold)
    log.info(
        "serving %d camera(s) on %s; http://%s:%d/metrics and /healthz; outputs in %s",
        len(cfg.cameras),
        options.device,
        addr[0],
        addr[1],
        settings.out,
    )
    stop = lambda *_: server.stop()  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return server.run()
