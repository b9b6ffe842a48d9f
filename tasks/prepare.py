from prefect import task

from ipad_vad.io_utils import read_dataframe
from ipad_vad.jobs.layout import prepared
from ipad_vad.preprocess.cache import cache_scene
from ipad_vad.preprocess.optical_flow import flow_scene
from ipad_vad.preprocess.period import period_scene

from .common import IO_RETRIES


@task(name="preprocess", **IO_RETRIES)
def cache_task(p: dict, scene: str) -> dict:
    return cache_scene(read_dataframe(p["data"]["manifest"]), scene, tuple(p["clip"]["size"]), prepared(p, scene, "cache"))


@task(name="optical-flow", **IO_RETRIES)
def flow_task(p: dict, scene: str) -> dict:
    f = p["optical_flow"]
    return flow_scene(prepared(p, scene, "cache"), scene, prepared(p, scene, "flow"), f["method"], tuple(f["size"]))


@task(name="period", **IO_RETRIES)
def period_task(p: dict, scene: str) -> dict:
    per = p["period"]
    return period_scene(read_dataframe(p["data"]["manifest"]), scene, prepared(p, scene, "cache"),
                        prepared(p, scene, "periods"), prepared(p, scene, "flow"), per["signal"], per["min_frames"],
                        per["max_frames"], per["use_annotations"])
