"""The library's commands of `ipad`: data, methods, scoring, the registry, storage.

The pipeline steps (`ipad prepare | pretrain | adapt | evaluate | report | promote | pipeline |
ingest`, `ipad storage poll`) run Prefect flows; they are added to this app by the orchestration
layer (``flows/cli.py``, the console script), so the library never imports ``flows/``. Imports are
lazy (inside the commands) so that `ipad --help` answers at once.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

# The helpers every command module shares are public in cli_common.py (flows/cli.py and alerts_cli.py
# import them from there); cli.py calls them by these short local names.
from .cli_aliases import RenamedCommand, RenamedGroup
from .cli_common import DEFAULT_PARAMS, ParamsOpt, ProfileOpt
from .cli_common import command_params as _params
from .cli_common import console as _console
from .cli_common import print_import as _print_import
from .cli_common import styled as _styled

app = typer.Typer(
    help="ipad-vad: industrial process video anomaly detection pipeline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Data: import footage, generate synthetic data, validate, inspect.", no_args_is_help=True)
app.add_typer(data_app, name="data")
method_app = typer.Typer(
    help="Detection methods (src/ipad_vad/methods/): list, train, adapt to a device, evaluate.", no_args_is_help=True
)
app.add_typer(method_app, name="method")
app.add_typer(method_app, name="model", hidden=True, cls=RenamedGroup)  # the old spelling, for one release


@data_app.command("import")
def data_import(
    src: Path = typer.Argument(..., help="an IPAD tree, a folder of video files, or one video file"),
    out: Path = typer.Option(None, "--out", help="data folder (default: params data.root)"),
    scene: str | None = typer.Option(None, "--scene", help="scene for videos not in a <scene>/ folder"),
    split: str = typer.Option(
        "training",
        "--split",
        help="split for videos not in a <split>/ folder: training | testing | calibration (long normal "
        "footage the alert threshold is set on, docs/own-footage.md)",
    ),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Import footage into the IPAD layout. Bad videos are quarantined (listed), never abort the rest.

    Naming: SRC/<scene>/<split>/<name>.mp4, SRC/<scene>/<name>.mp4 (+ --split), or SRC/<name>.mp4
    (+ --scene). Test labels: <name>.npy beside the video. Re-importing a file changes nothing, except
    a corrected label file, which replaces its labels (a new data version, "relabelled"); a video may
    be in one split only (a byte-identical copy under another split is quarantined).
    """
    from .data.importer import DiskFull, import_source
    from .progress import rich_progress

    p = _params(params, profile)
    st = _settings(p)
    out = out or Path(st.data.root)
    try:
        report = import_source(
            src,
            out,
            scene=scene,
            split=split,
            jpeg_quality=st.data.jpeg_quality,
            min_frames=st.clip.length,
            progress=rich_progress,
        )
    except DiskFull as e:  # what was imported before the disk filled, then the one-line error (main)
        _print_import(e.report, out)
        raise
    _print_import(report, out)
    if report.quarantined:
        raise typer.Exit(code=0 if report.changed or report.unchanged else 1)


@data_app.command("validate")
def data_validate(
    root: Path = typer.Option(None, "--root", help="data folder (default: params data.root)"),
    manifest_out: Path = typer.Option(
        None, "--manifest", help="validated manifest to write (default: params data.manifest)"
    ),
    report_dir: Path = typer.Option(None, "--report-dir", help="where result.json and summary.md go"),
    on_failure: str | None = typer.Option(
        None, "--on-failure", help="fail | exclude (default: params validation.on_failure)"
    ),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Build the manifest of the data folder and run the great-expectations gate over it.

    Writes the validated manifest (what every later stage reads), the full GX result as JSON and a
    Markdown summary. Exits 1 with the failed checks and files when the gate fails.
    """
    from .errors import ValidationFailed
    from .jobs.validate import validate_footage
    from .progress import rich_progress

    p = _params(params, profile)
    con = _console()
    try:
        done = validate_footage(p, root, manifest_out, report_dir, on_failure, progress=rich_progress)
    except ValidationFailed as e:
        con.print(str(e), style="red")
        con.print(f"Full result: {Path(report_dir or _settings(p).validation.report_dir) / 'result.json'}")
        raise typer.Exit(code=1) from None
    report = done.report
    con.print(report.summary(), style="green" if report.success else "yellow")
    if report.excluded:
        con.print(
            f"excluded {len(report.excluded)} video(s) (validation.on_failure=exclude), listed in {done.result.parent / 'summary.md'}"
        )
    con.print(f"manifest: {done.manifest} ({len(done.kept)} videos)   result: {done.result}")


@data_app.command("synth")
def data_synth(
    out: Path = typer.Option(None, "--out", help="output folder (default: params data.root)"),
    profile: str | None = ProfileOpt,
    seed: int | None = typer.Option(None, "--seed", help="random seed (default: params synth.seed)"),
    scenes: str | None = typer.Option(None, "--scenes", help="comma-separated subset, e.g. S01,R01"),
    workers: int | None = typer.Option(None, "--workers", help="render processes (default: params synth.workers)"),
    force: bool = typer.Option(
        False, "--force", help="replace an existing output folder (only once the new one is complete)"
    ),
    params: Path | None = ParamsOpt,
):
    """Generate synthetic IPAD-like footage (S01-S12 machines, R01-R04 real-domain twins).

    Writes the IPAD layout with labels, per-frame anomaly types and cycle starts. Deterministic per
    seed: same settings, same bytes. Sizes come from the profile (smoke | demo | paper).
    """
    import time

    from .data.synth.generator import SynthConfig, generate
    from .progress import rich_progress

    p = _params(params, profile)
    cfg = SynthConfig.from_params(
        _settings(p).synth.model_dump(), seed=seed, workers=workers, scenes=scenes.split(",") if scenes else None
    )
    out = out or Path(_settings(p).data.root)
    t0 = time.perf_counter()
    summary = generate(out, cfg, force=force, progress=rich_progress)
    dt = time.perf_counter() - t0
    n = summary["n_frames"]
    _console().print(
        f"generated {len(summary['videos'])} videos, {n} frames of {cfg.size[0]}x{cfg.size[1]} "
        f"for {len(cfg.scenes)} scenes in {dt:.1f} s ({n / dt:.0f} frames/s) -> {out}"
    )


@data_app.command("preview")
def data_preview(
    root: Path = typer.Option(None, "--root", help="data folder (default: params data.root)"),
    out: Path = typer.Option(Path("reports/preview.png"), "--out", help="PNG to write"),
    scenes: str | None = typer.Option(None, "--scenes", help="comma-separated subset"),
    pseudo: bool = typer.Option(
        False,
        "--pseudo",
        help="pseudo-anomalies (params pseudo_anomalies) of training clips next to their normal source instead",
    ),
    seed: int = typer.Option(0, "--seed", help="--pseudo: which clips and PAs"),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Contact sheet: per scene, normal frames next to anomalous frames labelled with their type
    (--pseudo: next to pseudo-anomalies made from them)."""
    p = _params(params, profile)
    root = root or Path(_settings(p).data.root)
    from .errors import DataError

    if not root.is_dir():
        raise DataError(root, "no such data folder (an IPAD-layout tree: <scene>/training/frames/...)")
    subset = scenes.split(",") if scenes else None
    if pseudo:
        from .pseudo.contact_sheet import pseudo_sheet

        try:
            path = pseudo_sheet(root, out, p, subset, seed)
        except ValueError as e:  # no scene with training footage
            raise DataError(root, str(e).removeprefix(f"{root}: ")) from None
    else:
        from .data.synth.preview import contact_sheet

        path = contact_sheet(root, out, subset)
    _console().print(f"contact sheet: {path}")


@data_app.command("info")
def data_info(
    manifest: Path = typer.Option(None, "--manifest", help="a manifest file (parquet/csv)"),
    root: Path = typer.Option(None, "--root", help="or a data folder to scan"),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Per-scene table: videos, frames, anomalous frames, frame size, fps."""
    from rich.table import Table

    from .data.manifest import build_manifest
    from .io_utils import read_dataframe
    from .progress import rich_progress

    p = _params(params, profile)
    d = _settings(p).data
    if root is not None:
        df = build_manifest(root, progress=rich_progress)
    else:
        df = read_dataframe(manifest or Path(d.manifest))
    t = Table(
        "scene",
        "train videos",
        "train frames",
        "test videos",
        "test frames",
        "anomalous",
        "calibration frames",
        "size",
        "fps",
        title=f"{len(df)} videos",
    )
    for scene, g in df.groupby("scene", sort=True):
        tr, te = g[g.split == "training"], g[g.split == "testing"]
        anom = int(te.n_anomalous.sum())
        n_te = int(te.n_frames.sum())
        fps = sorted({round(x, 2) for x in g.fps.dropna()})
        sizes = sorted({f"{h}x{w}" for h, w in zip(g.height, g.width)})
        t.add_row(
            scene,
            str(len(tr)),
            str(int(tr.n_frames.sum())),
            str(len(te)),
            str(n_te),
            f"{anom} ({100 * anom / max(n_te, 1):.0f}%)",
            str(int(g[g.split == "calibration"].n_frames.sum())),
            ",".join(sizes),
            ",".join(map(str, fps)) or "-",
        )
    _console().print(t)


@data_app.command("scenes")
def data_scenes(
    root: Path = typer.Option(None, "--root", help="data folder (default: params data.root)"),
    devices: str | None = typer.Option(
        None, "--devices", help="scenes to adapt and register (default: all but --pretrain)"
    ),
    pretrain: str | None = typer.Option(
        None, "--pretrain", help="scenes the base models learn from (default: none: the devices' own training footage)"
    ),
    params: Path | None = ParamsOpt,
):
    """Write which scenes of a data folder the pipeline runs over, and their roles, into params.yaml.

    Example: ipad data scenes --root data/ipad --devices press-3,cutter.B   (then: dvc repro)
    """
    from .jobs.scene_roles import plan_roles, write_roles

    params = params or DEFAULT_PARAMS  # the file these roles are written into
    root = root or Path(_settings(_params(params, None)).data.root)
    roles = plan_roles(root, devices.split(",") if devices else None, pretrain.split(",") if pretrain else None)
    changes = write_roles(params, root, roles)
    con = _console()
    con.print(
        f"devices: {roles['devices']}; pretrain scenes: {roles['pretrain_scenes'] or 'none (pretrain on the devices)'}"
    )
    for c in changes:
        con.print(f"  {c}", highlight=False)
    con.print(f"{params} {'updated' if changes else 'unchanged'}; next: dvc repro")


def _settings(p: dict):
    """The typed tree of a command's params (without a params.yaml the command has {}: the defaults)."""
    from .params_schema import settings_of

    return settings_of(p)


def _scenes_arg(scenes: str | None, p: dict, key: str) -> list[str]:
    if scenes:
        return scenes.split(",")
    val = getattr(_settings(p).pipeline, key)
    if not val:
        raise typer.BadParameter(f"give --scenes (or set pipeline.{key} in params.yaml)")
    return list(val)


def _epoch_printer(label: str):
    con = _console()

    def show(epoch: int, m: dict) -> None:
        parts = ", ".join(f"{k} {v:.4f}" for k, v in m.items() if k not in ("epoch", "plateau"))
        stop = " - its plateau (train.plateau): training stops" if m.get("plateau") else ""
        con.print(f"{label} epoch {epoch}: {parts}{stop}", highlight=False)

    return show


def _manifest(p: dict, manifest: Path | None):
    from .io_utils import read_dataframe

    return read_dataframe(manifest or Path(_settings(p).data.manifest))


DataOpt = typer.Option(
    "frames", "--data", help="frames: the manifest's frame folders | prepared: the pipeline's decoded cache and periods"
)


@method_app.command("list")
def method_list(params: Path | None = ParamsOpt, profile: str | None = ProfileOpt):
    """The registered detection methods (src/ipad_vad/methods/): components, adaptation, parameters."""
    from rich.table import Table

    from .methods import get_method, method_names
    from .models import count_parameters

    p = _params(params, profile)
    t = Table("method", "label", "score components (weight)", "adaptation", "parameters", title="methods")
    for name in method_names():
        m = get_method(name, p)
        try:
            n = f"{count_parameters(m.build()):,}"
        except (KeyError, TypeError):
            n = "-"
        t.add_row(name, m.label, ", ".join(f"{c} ({w:g})" for c, w in m.weights().items()), m.adaptation, n)
    _console().print(t)


@method_app.command("train")
def method_train(
    out: Path = typer.Option(..., "--out", help="output folder: model.pt, checkpoint.pt, method.json"),
    method: str = typer.Option(..., "--method", help="a method of `ipad method list`, e.g. ipad_vad, knn"),
    scenes: str | None = typer.Option(
        None, "--scenes", help="training scenes, e.g. S01,S02 (default: pipeline.pretrain_scenes)"
    ),
    manifest: Path | None = typer.Option(None, "--manifest", help="validated manifest (default: data.manifest)"),
    data: str = DataOpt,
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Fit a method from scratch on the training videos of some scenes. Resumes from
    OUT/checkpoint.pt if a run was interrupted."""
    from .jobs.data import DataSource
    from .jobs.pretrain import fit_method
    from .methods import FitHooks

    p = _params(params, profile)
    res = fit_method(
        p,
        method,
        _manifest(p, manifest),
        _scenes_arg(scenes, p, "pretrain_scenes"),
        out,
        DataSource(data),
        FitHooks(on_epoch_end=_epoch_printer(method)),
    )
    last = res["history"][-1] if res["history"] else {}
    _console().print(
        f"{method}: {res['parameters']:,} parameters, {res['clips']} clips, {len(res['history'])} epochs"
        + (f", final loss {last['loss']:.4f}" if "loss" in last else "")
        + f" -> {res['path']}"
    )


@method_app.command("adapt")
def method_adapt(
    scene: str = typer.Option(..., "--scene", help="the device to adapt to, e.g. R01"),
    base: Path = typer.Option(..., "--base", help="a pretrained model.pt (its method is stored in it)"),
    out: Path = typer.Option(..., "--out", help="output folder: method.json + adapter/ or model.pt"),
    manifest: Path | None = typer.Option(None, "--manifest"),
    data: str = DataOpt,
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Adapt a pretrained model to one device as its method declares (methods.<name>.adaptation:
    lora | full | refit) on adapt.fraction of the device's training clips."""
    from .jobs.adapt import adapt_to_device
    from .jobs.data import DataSource
    from .methods import FitHooks, load_model_file

    p = _params(params, profile)
    method, _ = load_model_file(base)
    info = adapt_to_device(
        p,
        method.name,
        scene,
        FitHooks(on_epoch_end=_epoch_printer(f"{scene} {method.name}")),
        manifest=_manifest(p, manifest),
        base_path=base,
        out_dir=out,
        source=DataSource(data),
    )
    extra = ""
    if "trainable" in info:
        t = info["trainable"]
        extra = f"trained {t['trainable']:,} of {t['total']:,} parameters ({100 * t['share']:.1f}%), "
    _console().print(
        f"{scene}: {method.name} adapted by {info['adaptation']}: {extra}{info['clips_used']} clips; "
        f"{info['bytes'] / 1e6:.2f} MB -> {out}"
    )


method_app.command("finetune", hidden=True, cls=RenamedCommand)(method_adapt)  # the old spelling, for one release


@method_app.command("evaluate")
def method_evaluate(
    scene: str = typer.Option(..., "--scene"),
    model: Path = typer.Option(..., "--model", help="a model.pt, or an adapted folder (with method.json)"),
    out: Path = typer.Option(..., "--out", help="output folder: scores.parquet, metrics.json"),
    manifest: Path | None = typer.Option(None, "--manifest"),
    data: str = DataOpt,
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Score every test clip of a scene; frame-level AUC under both protocols (combined score and
    each component), per anomaly type."""
    from rich.table import Table

    from .io_utils import write_dataframe, write_json
    from .jobs.data import DataSource
    from .jobs.evaluate import evaluate
    from .methods import get_method, load_model_file
    from .methods.adaptation import load_adapted

    p = _params(params, profile)
    saved, m = load_adapted(model) if model.is_dir() else load_model_file(model)
    method = get_method(saved.name, p) if "methods" in p else saved
    scored, metrics, _ = evaluate(p, method, m, _manifest(p, manifest), scene, DataSource(data))
    write_dataframe(out / "scores.parquet", scored)
    write_json(out / "metrics.json", metrics)
    kinds = list(metrics["auc"]["scene_norm"])
    t = Table("protocol", *kinds, title=f"{scene}: frame-level AUC (%) ({method.label})")
    for proto, aucs in metrics["auc"].items():  # metrics.json keeps fractions; shown in percent, as everywhere
        t.add_row(proto, *[f"{100 * aucs[k]:.1f}" for k in kinds])
    con = _console()
    con.print(t)
    if metrics["auc_per_type"]:
        con.print(
            "AUC (%) per type (scene norm): "
            + ", ".join(f"{k} {100 * v:.1f}" for k, v in metrics["auc_per_type"].items())
        )
    con.print(f"-> {out}")


class ScoreFormat(StrEnum):
    """Formats of the per-frame scores table: a choice on the command line, so that a wrong one is
    refused before anything loads (issue 29)."""

    csv = "csv"
    parquet = "parquet"


@app.command("score")
def score(
    paths: list[Path] = typer.Argument(
        ..., help="video files or frame folders (one growing file/folder with --follow)"
    ),
    device: str | None = typer.Option(None, "--device", help="score with this device's champion from the registry"),
    model_uri: str | None = typer.Option(
        None, "--model-uri", help="any MLflow model URI instead, e.g. models:/ipad-vad-R01/3"
    ),
    out: Path = typer.Option(Path("scores"), "--out", help="output folder"),
    fmt: ScoreFormat | None = typer.Option(None, "--format", help="per-frame scores (default: params score.format)"),
    follow: bool = typer.Option(
        False, "--follow", help="keep reading frames as they arrive (a growing file or folder)"
    ),
    idle_timeout: float | None = typer.Option(
        None, "--idle-timeout", help="--follow: stop after this many seconds without frames (0: never)"
    ),
    accelerator: str | None = typer.Option(
        None, "--accelerator", help="auto | cpu | cuda (default: params score.device)"
    ),
    batch_clips: int | None = typer.Option(
        None, "--batch-clips", help="clips per model call (default: largest within score.max_latency)"
    ),
    any_size: bool = typer.Option(False, "--any-size", help="score footage whose resolution differs from the device's"),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Score footage with a device's champion: per-frame scores, alert intervals (JSON), a plot.

    Scores are calibrated on the device's normal footage and the threshold was chosen at evaluation
    (alert.false_alarm_rate); both travel with the registered model version. Every good input is
    scored; every bad one is reported (its file and the problem) and the exit status is then 2.

    --follow ends after --idle-timeout seconds without a frame, or on Ctrl-C (SIGINT) or SIGTERM: the
    frames read until then are scored and every output written, exit status 0; a second Ctrl-C aborts.
    """
    from contextlib import nullcontext

    from rich.table import Table

    from .errors import IpadError
    from .inference.accelerator import scoring_device
    from .inference.champion import load_scorer
    from .inference.footage_context import manifest_context
    from .inference.score_footage import score_footage
    from .inference.stop import StopOnSignals
    from .registry.tracking import configure

    if follow and len(paths) != 1:
        raise typer.BadParameter("--follow takes exactly one file or folder")
    p = _params(params, profile)
    st = _settings(p)
    sc = st.score
    # settings first, then the model (issue 29): a bad one is refused before anything loads
    dev = (
        scoring_device(accelerator, "--accelerator")
        if accelerator
        else scoring_device(sc.device, f"score.device of {params or DEFAULT_PARAMS}")
    )
    fmt = fmt.value if fmt else sc.format
    from .alerts.operator_settings import EvidenceSettings

    evidence = EvidenceSettings.from_params(p)
    configure()
    loaded = load_scorer(device, model_uri, float(st.pipeline.promote_min_auc))
    con = _console()
    cal = loaded.calibration
    con.print(
        f"model {loaded.uri} ({loaded.method.label}): threshold {cal.threshold:.3f} ({cal.basis()}), "
        f"clips of {cal.clip_len} at {cal.frame_size[0]}x{cal.frame_size[1]}, on {dev}"
    )

    def on_event(ev, fps):
        a = ev.alert
        when = f" t={a.start / fps:.1f}s" if fps else ""
        if ev.kind == "start":
            con.print(_styled("ALERT", "red"), f"from frame {a.start}{when} (raised when frame {ev.arrived} arrived)")
        else:
            con.print(f"alert over: frames {a.start}-{a.end}, peak {a.peak_score:.2f} at {a.peak_frame}")

    # what each alert carries (issue 26, 4): region, PNG beside the nearest normal frame of the device's footage
    from .alerts.evidence import manifest_normal_frames
    from .inference.score_footage import device_of_uri

    scene = device or device_of_uri(loaded.uri)
    normal_frame = manifest_normal_frames(st.data.manifest, scene)
    stems = [q.stem if q.is_file() else q.name for q in paths]
    names = [
        s if stems.count(s) == 1 else "_".join(q.resolve().parts[-3:]).replace(".", "_") for s, q in zip(stems, paths)
    ]
    timeout = idle_timeout if idle_timeout is not None else sc.idle_timeout
    t = Table(
        "footage", "frames", "alerts", "first alert (frame)", "frames/s", title=f"ipad score -> {out}/<footage>.*"
    )
    failed: list[IpadError] = []
    # following: a signal ends the stream and the outputs are written (inference/stop.py), not lost
    stopping = StopOnSignals("stopping: scoring the frames read, then writing the outputs (again to abort)")
    for path, name in zip(paths, names):
        try:
            with stopping if follow else nullcontext():
                res = score_footage(
                    loaded,
                    path,
                    out,
                    name,
                    fmt,
                    dev,
                    batch_clips or (sc.batch_clips or None),
                    (cal.clip_len if sc.max_latency is None else sc.max_latency) or 1,
                    st.train.amp,
                    follow,
                    sc.poll_s,
                    timeout or None,
                    any_size,
                    on_event,
                    manifest_context(st.data.manifest, path),
                    stop=stopping if follow else None,
                    evidence=evidence,
                    normal_frame=normal_frame,
                    device_name=scene,
                )
        except IpadError as e:  # bad input: report it, score the rest
            failed.append(e)
            t.add_row(name, "-", "-", "-", "-")
            continue
        if res.get("stopped_by"):
            con.print(f"{name}: stopped by {res['stopped_by']} after {res['frames']} frames; outputs written")
        first = res["alerts"][0]["start"] if res["alerts"] else "-"
        t.add_row(name, str(res["frames"]), str(len(res["alerts"])), str(first), f"{res['frames_per_s']:.1f}")
    con.print(t)
    for e in failed:
        print(f"error: {e}", file=sys.stderr)
    if failed:
        print(f"error: {len(failed)} of {len(paths)} input(s) not scored (above)", file=sys.stderr)
        raise typer.Exit(code=2)


storage_app = typer.Typer(help="Object storage (S3 / MinIO): the landing prefix for new footage.", no_args_is_help=True)
app.add_typer(storage_app, name="storage")


def _zone(params: Path, profile: str | None):
    from .storage.landing import LandingZone
    from .storage.s3_settings import S3Settings

    return LandingZone(S3Settings.from_params(_settings(_params(params, profile)).storage.model_dump()))


@storage_app.command("check")
def storage_check(
    create: bool = typer.Option(False, "--create", help="create the bucket if it does not exist"),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Reach the bucket (endpoint and credentials from the environment); optionally create it."""
    from botocore.exceptions import ClientError

    zone = _zone(params, profile)
    try:
        zone.client.head_bucket(Bucket=zone.s.bucket)
    except ClientError as e:
        if not create:
            raise typer.BadParameter(
                f"bucket {zone.s.url()} not reachable at {zone.s.endpoint_url or 'AWS'}: {e}"
            ) from None
        zone.client.create_bucket(Bucket=zone.s.bucket)
    _console().print(f"{zone.s.url()} at {zone.s.endpoint_url or 'AWS'}: ok")


@storage_app.command("upload")
def storage_upload(
    files: list[Path] = typer.Argument(..., help="video files (and .npy labels of test videos)"),
    device: str = typer.Option(..., "--device"),
    split: str | None = typer.Option(None, "--split", help="training (default) | testing"),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Drop footage into the landing prefix (with a SHA-256 checksum the download verifies)."""
    zone = _zone(params, profile)
    for f in files:
        if not f.is_file():
            raise typer.BadParameter(f"{f}: no such file")
        _console().print(f"{f} -> {zone.s.url(zone.upload(device, f, split))}", highlight=False)


@storage_app.command("landing")
def storage_landing(params: Path | None = ParamsOpt, profile: str | None = ProfileOpt):
    """What is in the landing prefix, and what the ledger says about each object."""
    from rich.table import Table

    from .storage.ledger import Ledger

    zone = _zone(params, profile)
    ledger = Ledger.load(zone.client, zone.s.bucket, zone.s.ledger_key)
    t = Table("key", "device", "bytes", "state", title=zone.s.url(zone.s.landing_prefix))
    for o in zone.list_objects():
        st = ledger.state(o.key, o.etag) or "new"
        reason = ledger.entries.get(ledger.ident(o.key, o.etag), {}).get("reason", "")
        t.add_row(o.key, o.device, str(o.size), st + (f": {reason}" if reason else ""))
    _console().print(t)


registry_app = typer.Typer(
    help="The MLflow model registry: registered models and their versions.", no_args_is_help=True
)
app.add_typer(registry_app, name="registry")
app.add_typer(registry_app, name="models", hidden=True, cls=RenamedGroup)  # the old spelling, for one release
from .alerts_cli import alerts_app  # noqa: E402 - `ipad alerts` (issue 26, 5): typer only, commands import lazily

app.add_typer(alerts_app, name="alerts")


@registry_app.command("list")
def registry_list(params: Path | None = ParamsOpt, profile: str | None = ProfileOpt):
    """Each device's registered model: champion and challenger versions with their AUC, and whether
    the device has a usable detector (a champion at or above pipeline.promote_min_auc)."""
    from rich.table import Table

    from .registry import BASE_PREFIX
    from .registry.promotion import list_models
    from .registry.tracking import configure, tracking_uri

    min_auc = float(_settings(_params(params, profile)).pipeline.promote_min_auc)
    configure()
    t = Table(
        title=f"registry: {tracking_uri()}",
        caption=f"usable: a champion with AUC >= {min_auc:g} % "
        "(pipeline.promote_min_auc); `ipad score --device` refuses the others",
    )
    t.add_column("model", no_wrap=True)  # a model's name is what one types next: never cut
    for col in ("vers.", "champ.", "AUC", "chall.", "AUC", "usable"):  # fits 80 columns
        t.add_column(col, no_wrap=True)
    for r in list_models(min_auc=min_auc):
        f = lambda v: f"{v:.1f}" if v is not None else "-"  # noqa: E731  (AUC in percent)
        use = "-" if r["name"].startswith(BASE_PREFIX) else "yes" if r["usable"] else "no"
        t.add_row(
            r["name"],
            str(r["versions"]),
            f"v{r['champion']}" if r["champion"] else "-",
            f(r["champion_auc"]),
            f"v{r['challenger']}" if r["challenger"] else "-",
            f(r["challenger_auc"]),
            use,
        )
    _console().print(t)


runs_app = typer.Typer(help="MLflow runs of the pipeline.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("finish")
def runs_finish(
    failed: bool = typer.Option(False, "--failed", help="the pipeline failed (a stage did)"),
    pipeline_id: str | None = typer.Option(
        None, "--pipeline-id", envvar="IPAD_PIPELINE_ID", help="default: $IPAD_PIPELINE_ID"
    ),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """End the pipeline's parent MLflow run (FINISHED, or FAILED with --failed) with its settings, the
    mean AUC per method and the report: what `make demo` runs after `dvc repro`."""
    from .errors import ConfigError
    from .jobs.pipeline_run import finish_pipeline_run

    if not pipeline_id:
        raise ConfigError("no pipeline id: pass --pipeline-id or set IPAD_PIPELINE_ID (the id the stages ran with)")
    res = finish_pipeline_run(_params(params, profile), pipeline_id, failed)
    _console().print(
        f"MLflow run pipeline-{pipeline_id} ({res['run_id']}) ended {res['status']}; "
        f"mean AUC logged for {len(res['summary'])} method row(s)",
        highlight=False,
    )


@app.command("serve")
def serve(
    config: Path = typer.Argument(..., help="YAML: cameras (name, device, source) and optional serve: overrides"),
    host: str | None = typer.Option(
        None, "--host", help="address of /metrics and /healthz (default: serve.host, 127.0.0.1)"
    ),
    port: int | None = typer.Option(None, "--port", help="their port (default: serve.port; 0: any free port)"),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Score many cameras in one process, each with its device's champion, until SIGTERM (src/ipad_vad/serve/)."""
    from .serve.run import serve_main

    raise typer.Exit(code=serve_main(config, _params(params, profile), host, port))


params_app = typer.Typer(
    help="Settings: a profile resolved into the tree the commands read (what DVC tracks).", no_args_is_help=True
)
app.add_typer(params_app, name="params")


@params_app.command("show")
def params_show(params: Path | None = ParamsOpt, profile: str | None = ProfileOpt):
    """Print the resolved settings (YAML) of a profile: params.yaml's base sections with the profile's
    overlay merged in and every default filled, exactly as every command reads them."""
    from .params_resolve import dump

    print(dump(_params(params, profile)), end="")


@params_app.command("resolve")
def params_resolve(params: Path = typer.Option(DEFAULT_PARAMS, "--params", help="params file")):
    """Write params.resolved.yaml beside the params file: its own `profile:` resolved (never IPAD_PROFILE).
    The first stage of dvc.yaml runs this; every other stage lists its params from that file."""
    from .params_resolve import write_resolved

    out, profile = write_resolved(params)
    _console().print(f"{out} written (profile {profile!r})")


def main() -> None:
    from .errors import IpadError

    try:
        app()
    except IpadError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
