from prefect import task

from ipad_vad.data.manifest import build_manifest, write_scene_manifests
from ipad_vad.data.validation import apply_policy, validate_manifest, write_report
from ipad_vad.io_utils import write_dataframe


@task(name="validate", retries=0)  # a failed gate stops the pipeline; retrying cannot fix data
def validate_task(p: dict) -> dict:
    d, v = p["data"], p["validation"]
    manifest = build_manifest(d["root"], scenes=d.get("scenes") or None, sample_decode=v["sample_decode"])
    report = validate_manifest(manifest, min_frames=p["clip"]["length"])
    try:
        kept = apply_policy(manifest, report, v["on_failure"])
    finally:
        write_report(report, v["report_dir"])
    write_dataframe(d["manifest"], kept)
    write_scene_manifests(kept, d["manifests"], {"pretrain": list(p["pipeline"]["pretrain_scenes"])})
    return {"videos": len(kept), "excluded": len(report.excluded), "passed": report.success}
