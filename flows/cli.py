"""The `ipad` console script: the library's commands (``ipad_vad.cli``) plus the pipeline steps,
each of which runs its Prefect flow (``flows/steps.py``). DVC stages call these. The orchestration
layer adds itself to the library's app here; the library never imports this package."""

from __future__ import annotations

import gc
from pathlib import Path

import typer

from ipad_vad.cli import app, storage_app
from ipad_vad.cli import main as _library_main
from ipad_vad.cli_aliases import RenamedCommand
from ipad_vad.cli_common import ProfileOpt, command_params, console

MethodOpt = typer.Option(None, "--method", help="one method (default: every method of pipeline.methods)")


def _check_params(profile: str | None) -> None:
    """Validate ./params.yaml (the file every flow reads) and its profile before any Prefect server or
    flow run starts: a bad setting (an unknown method in pipeline.methods, issue 29) is then a one-line
    error, not a failed flow run's traceback after a temporary server has started."""
    command_params(None, profile)


def _run_flow(name: str, **kw):
    _check_params(kw.get("profile"))
    from flows import steps
    from flows.naming import tagged
    from ipad_vad.data.fault_points import reach

    with tagged():  # the pipeline's tag (IPAD_PIPELINE_ID) on this step's flow and task runs
        res = steps.get(name)(**kw)
    reach("step-done")  # crash tests: a pipeline step's flow finished, the DVC stage and repro around it not
    return res


@app.command("validate")
def step_validate(profile: str | None = ProfileOpt):
    """Pipeline step: the validation gate (`ipad data validate` as a flow run: manifest, great-expectations
    checks, reports). Exits 1 when the gate fails."""
    from ipad_vad.errors import ValidationFailed

    try:
        res = _run_flow("validate_flow", profile=profile)
    except ValidationFailed as e:
        console().print(str(e), style="red")
        raise typer.Exit(code=1) from None
    console().print(f"validation passed: {res['videos']} videos kept, {res['excluded']} excluded", highlight=False)


@app.command("prepare")
def step_prepare(
    scene: str | None = typer.Option(None, "--scene", help="one scene (a device's stage)"),
    pretrain: bool = typer.Option(False, "--pretrain", help="every scene of pipeline.pretrain_scenes, in one process"),
    profile: str | None = ProfileOpt,
):
    """Pipeline step: decoded cache, optical flow and period estimation for one scene, or for every
    pretraining scene (--pretrain)."""
    if (scene is None) == (not pretrain):
        raise typer.BadParameter("give --scene SCENE or --pretrain")
    res = _run_flow("prepare_flow", scene=scene, role="pretrain" if pretrain else None, profile=profile)
    for name, r in ({scene: res} if scene else res).items():
        console().print(
            f"{name}: cycle {r['cycle_frames']} frames (estimated {r['estimated_cycle_frames']}"
            + (f", error {r['error_frames']} frames" if r["error_frames"] is not None else "")
            + ")"
        )
    if pretrain and not res:
        console().print("no pretrain scenes (pipeline.pretrain_scenes is empty): nothing to prepare")


@app.command("pretrain")
def step_pretrain(method: str | None = MethodOpt, profile: str | None = ProfileOpt):
    """Pipeline step: fit a method's base model on the pretrain scenes (and register it when the method
    competes for devices)."""
    console().print(_run_flow("pretrain_flow", method=method, profile=profile))


@app.command("adapt")
def step_adapt(
    device: str = typer.Option(..., "--device"),
    method: str | None = MethodOpt,
    evaluate: bool = typer.Option(
        False,
        "--evaluate",
        help="then score the device with the adapted model and calibrate its alert threshold (`ipad evaluate"
        " --scene DEVICE`, its own flow run, in this process: dvc.yaml's adapt_evaluate stages)",
    ),
    profile: str | None = ProfileOpt,
):
    """Pipeline step: adapt a method (lora | full | refit) to one device; with --evaluate, evaluate it too."""
    console().print(_run_flow("adapt_flow", device=device, method=method, profile=profile))
    if evaluate:
        step_evaluate(scene=device, method=method, profile=profile)


app.command("finetune", hidden=True, cls=RenamedCommand)(step_adapt)  # the old spelling, for one release


@app.command("evaluate")
def step_evaluate(
    scene: str | None = typer.Option(None, "--scene", help="default: every pretrain scene"),
    method: str | None = MethodOpt,
    profile: str | None = ProfileOpt,
):
    """Pipeline step: score a scene (or every pretrain scene) with a method; AUCs; a device's alert calibration."""
    res = _run_flow("evaluate_flow", scene=scene, method=method, profile=profile)
    console().print(", ".join(f"{k}: AUC {100 * v['auc']:.1f} %" for k, v in res.items()))  # percent, as everywhere


@app.command("report")
def step_report(profile: str | None = ProfileOpt):
    """Pipeline step: the Table-2-style results table (Markdown and JSON) and the per-scene plots."""
    _run_flow("report_flow", profile=profile)
    p = command_params(Path("params.yaml"), profile)
    console().print((Path(p["pipeline"]["reports_root"]) / "results.md").read_text())


@app.command("promote")
def step_promote(device: str = typer.Option(..., "--device"), profile: str | None = ProfileOpt):
    """Pipeline step: register the device's best method; `champion` only if it reaches
    pipeline.promote_min_auc and beats the current one."""
    r = _run_flow("promote_flow", device=device, profile=profile)
    cands = ", ".join(f"{m} {a:.1f} %" for m, a in r["candidates"].items())  # AUCs in percent
    console().print(
        f"{r['model']} v{r['version']}: {r['method']} (candidates: {cands}) -> {r['alias']}"
        + (f" (champion v{r['previous_champion']}: {r['previous_auc']:.1f} %)" if r["previous_champion"] else "")
        + (
            ""
            if r.get("usable", True)
            else f"; below promote_min_auc {r['min_auc']:g} %: {device} has no usable detector"
        ),
        markup=False,
    )


@app.command("pipeline")
def step_pipeline(
    profile: str | None = ProfileOpt,
    devices: str | None = typer.Option(None, "--devices", help="only these devices (retraining)"),
    spread: bool = typer.Option(
        False, "--spread", help="adapt each device as its own flow run on the gpu pool's workers"
    ),
):
    """The whole pipeline as one Prefect flow (validate -> prepare -> pretrain -> adapt -> evaluate -> report -> promote)."""
    _check_params(profile)
    from flows.pipeline import ipad_pipeline

    ipad_pipeline(profile=profile, devices=devices.split(",") if devices else None, spread=spread)


@app.command("ingest")
def step_ingest(
    landing: Path = typer.Argument(Path("landing"), help="landing folder: <device>/[<split>/]<name>.mp4"),
    devices: str | None = typer.Option(None, "--devices", help="only these devices"),
    no_commit: bool = typer.Option(False, "--no-commit", help="do not git-commit the new data version"),
    profile: str | None = ProfileOpt,
):
    """Ingest new footage, version it (dvc add), rerun the affected devices' stages (dvc repro).

    Runs the retraining flow (flows/retrain.py); ingesting the same files again changes nothing.
    """
    from ipad_vad.errors import DataError

    _check_params(profile)
    from flows.retrain import retrain_on_footage

    if not landing.is_dir():  # before any flow run: one line, not a failed flow's logs around it
        raise DataError(
            landing, "landing folder does not exist (cameras drop footage at <landing>/<device>/[<split>/]<name>.mp4)"
        )
    res = retrain_on_footage(str(landing), devices.split(",") if devices else None, profile, not no_commit)
    console().print(res)


@storage_app.command("poll")
def storage_poll(
    devices: str | None = typer.Option(None, "--devices", help="only these devices"),
    no_commit: bool = typer.Option(False, "--no-commit", help="do not commit (then nothing is archived)"),
    no_push: bool = typer.Option(False, "--no-push", help="do not dvc pull/push"),
    profile: str | None = ProfileOpt,
):
    """Ingest what is new in the landing prefix and retrain the affected devices (the flow behind
    the ipad-retrain-on-footage deployment)."""
    _check_params(profile)
    from flows.landing import retrain_from_landing

    console().print(retrain_from_landing(devices.split(",") if devices else None, profile, not no_commit, not no_push))


def main() -> None:
    try:
        _library_main()
    finally:
        # Skip the garbage collector's passes over what torch, MLflow and Prefect built when the
        # interpreter shuts down (1-4 s a process, ~70 processes in `make demo`): the process ends
        # and the OS takes the memory back. Exit handlers still run (Prefect and MLflow flush there).
        gc.freeze()


if __name__ == "__main__":
    main()
