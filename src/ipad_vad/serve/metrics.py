"""The Prometheus metrics of `ipad serve` (``GET /metrics``), in a registry of their own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class ServeMetrics:
    def __init__(self):
        r = self.registry = CollectorRegistry()
        self.frames = Counter("ipad_serve_frames", "frames received per camera", ["camera"], registry=r)
        self.scored = Counter("ipad_serve_scored_frames", "frames scored per camera", ["camera"], registry=r)
        self.fps = Gauge(
            "ipad_serve_camera_fps", "frames received per second, last few seconds", ["camera"], registry=r
        )
        self.lag = Gauge("ipad_serve_lag_frames", "frames received but not yet scored", ["camera"], registry=r)
        self.lag_s = Gauge(
            "ipad_serve_lag_seconds", "seconds since the newest scored frame arrived", ["camera"], registry=r
        )
        self.queue = Gauge(
            "ipad_serve_queue_depth",
            "frames waiting between the camera's reader and the scorer",
            ["camera"],
            registry=r,
        )
        self.up = Gauge(
            "ipad_serve_camera_up",
            "1 while the camera delivers frames, 0 stalled / disconnected / ended",
            ["camera"],
            registry=r,
        )
        self.alerts = Counter("ipad_serve_alerts", "alerts raised per camera", ["camera"], registry=r)
        self.faults = Counter(
            "ipad_serve_faults",
            "camera faults (stalled, corrupt_frame, wrong_size, missing_frame, disconnected, source_error, ended)",
            ["camera", "kind"],
            registry=r,
        )
        self.model_version = Gauge(
            "ipad_serve_model_version", "the registry version scoring each device's cameras", ["device"], registry=r
        )
        self.model_swaps = Counter(
            "ipad_serve_model_swaps", "champion changes applied without a restart", ["device"], registry=r
        )
        self.model_failures = Counter(
            "ipad_serve_model_load_failures",
            "new champion versions that failed to load (the old version kept scoring)",
            ["device"],
            registry=r,
        )
        self.shared_bases = Gauge(
            "ipad_serve_shared_bases",
            "base models held once for the LoRA champions of several devices (an adapter per device on each)",
            registry=r,
        )
        self.base_adapters = Gauge(
            "ipad_serve_base_adapters", "device adapters on each shared base", ["base"], registry=r
        )
        self.model_bytes = Gauge(
            "ipad_serve_model_bytes",
            "bytes of the weights and banks of every model held (a tensor shared by several devices counted once)",
            registry=r,
        )
        self.batch = Histogram(
            "ipad_serve_batch_clips",
            "clips per model forward (all cameras of a model together)",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_cameras = Histogram(
            "ipad_serve_batch_cameras",
            "cameras whose clips shared one forward",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.forward = Histogram(
            "ipad_serve_forward_seconds", "seconds per model forward", ["model"], buckets=SECONDS_BUCKETS, registry=r
        )
