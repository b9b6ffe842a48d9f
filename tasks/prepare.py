import mlflow
from prefect import task

from ipad_vad.io_utils import read_dataframe, write_json
from ipad_vad.jobs.layout import prepared, prepared_summary
from ipad_vad.preprocess.cache import cache_scene
from ipad_vad.preprocess.optical_flow import flow_scene
from ipad_vad.preprocess.period import period_scene
from ipad_vad.registry import tracking

from .common import IO_RETRIES, log


@task(name="preprocess", **IO_RETRIES)
def cache_task(p: dict, scene: str) -> dict:
    with tracking.run(f"preprocess {scene}", "prepare", scene, manifest=p["data"]["manifest"]):
        res = cache_scene(
            read_dataframe(p["data"]["manifest"]), scene, tuple(p["clip"]["size"]), prepared(p, scene, "cache")
        )
        mlflow.log_metrics({"frames": res["frames"], "videos": res["videos"]})
    log("%s: decoded %d frames of %d video(s) at %s", scene, res["frames"], res["videos"], p["clip"]["size"])
    return res


@task(name="optical-flow", **IO_RETRIES)
def flow_task(p: dict, scene: str) -> dict:
    f = p["optical_flow"]
    with tracking.run(f"optical flow {scene}", "prepare", scene, manifest=p["data"]["manifest"]):
        res = flow_scene(prepared(p, scene, "cache"), scene, prepared(p, scene, "flow"), f["method"], tuple(f["size"]))
    log("%s: optical flow (%s) of %d video(s) at %s", scene, f["method"], res["videos"], f["size"])
    return res


@task(name="period", **IO_RETRIES)
def period_task(p: dict, scene: str) -> dict:
    per = p["period"]
    with tracking.run(f"period {scene}", "prepare", scene, manifest=p["data"]["manifest"]):
        res = period_scene(
            read_dataframe(p["data"]["manifest"]),
            scene,
            prepared(p, scene, "cache"),
            prepared(p, scene, "periods"),
            prepared(p, scene, "flow"),
            per["signal"],
            per["min_frames"],
            per["max_frames"],
            per["use_annotations"],
        )
        if isinstance(res.get("cycle_frames"), (int, float)):
            mlflow.log_metric("cycle_frames", res["cycle_frames"])
    err = res.get("error_frames")
    log(
        "%s: cycle %s frames (estimated %s%s)",
        scene,
        res.get("cycle_frames"),
        res.get("estimated_cycle_frames"),
        "" if err is None else f", {err} frames from the annotated period",
    )
    return res


@task(name="prepared-summary")
def summary_task(p: dict, role: str, results: dict) -> None:
    """Each scene's cycle of a role's prepared data (``<prepared_root>/<role>/scenes.json``)."""
    keys = ("cycle_frames", "estimated_cycle_frames", "error_frames")
    write_json(prepared_summary(p, role), {s: {k: r.get(k) for k in keys} for s, r in results.items()})
