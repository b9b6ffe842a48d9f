"""`ipad alerts`: the alerts `ipad score` wrote, and an operator's marks on them (issue 26, 5;
``alerts/feedback.py``). Registered on the main app by one line in ``cli.py``."""

from __future__ import annotations

from pathlib import Path

import typer

from .cli_common import ParamsOpt, ProfileOpt, command_params, console, print_import

alerts_app = typer.Typer(
    help="Alerts of `ipad score`: list them, mark false alarms or confirm them, export the marked footage as data.",
    no_args_is_help=True,
)

ScoresOpt = typer.Option(Path("scores"), "--scores", help="the scores folder of `ipad score --out`")
DataOpt = typer.Option(None, "--data", help="data folder (default: params data.root)")


def _setup(params: Path | None, profile: str | None, data: Path | None):
    from .alerts.operator_settings import FeedbackSettings

    p = command_params(params, profile)
    from .params_schema import settings_of

    return p, FeedbackSettings.from_params(p), data or Path(settings_of(p).data.root)


@alerts_app.command("list")
def alerts_list(scores: Path = ScoresOpt, params: Path | None = ParamsOpt, profile: str | None = ProfileOpt):
    """Every alert in the scores folder: id, footage, device, span, peak, model version, mark."""
    from .alerts.feedback import list_alerts, read_marks

    _, settings, _ = _setup(params, profile, None)
    alerts, marks = list_alerts(scores), read_marks(scores, settings)
    con = console()
    for a in alerts:
        m = marks.get(a.id) or {}
        mark = m.get("verdict", "-") + (f" -> {m['exported']['as']}" if m.get("exported") else "")
        con.print(
            f"{a.id}  {a.footage}  device {a.device or '?'}  {a.span_s}  peak {a.peak_score:.2f} at frame "
            f"{a.peak_frame}  model v{a.model_version or '?'}  mark {mark}"
            + (f"  png {a.thumbnail}" if a.thumbnail else ""),
            soft_wrap=True,
        )
    con.print(f"{len(alerts)} alert(s) in {scores}; marks: {scores / settings.marks_file}")


def _mark(alert_id: str, verdict: str, scores: Path, data: Path | None, note: str, params, profile) -> None:
    from .alerts.feedback import FALSE_ALARM, mark_alert

    _, settings, root = _setup(params, profile, data)
    m = mark_alert(scores, alert_id, verdict, root, settings, note)
    split = "training (normal)" if verdict == FALSE_ALARM else "test (labelled anomalous)"
    console().print(
        f"{alert_id}: marked {verdict}; `ipad alerts export` imports its frames into {root}/{m['device']} "
        f"as {split} footage"
    )


@alerts_app.command("false-alarm")
def alerts_false_alarm(
    alert_id: str = typer.Argument(..., help="an id of `ipad alerts list`, e.g. cam01:3"),
    scores: Path = ScoresOpt,
    data: Path | None = DataOpt,
    note: str = typer.Option("", "--note", help="why (kept with the mark)"),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Mark an alert a false alarm: its footage becomes normal training footage of its device."""
    from .alerts.feedback import FALSE_ALARM

    _mark(alert_id, FALSE_ALARM, scores, data, note, params, profile)


@alerts_app.command("confirm")
def alerts_confirm(
    alert_id: str = typer.Argument(..., help="an id of `ipad alerts list`"),
    scores: Path = ScoresOpt,
    data: Path | None = DataOpt,
    note: str = typer.Option("", "--note", help="what it was (kept with the mark)"),
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Confirm an alert: its footage becomes labelled test footage of its device."""
    _mark(alert_id, "confirmed", scores, data, note, params, profile)


@alerts_app.command("export")
def alerts_export(
    scores: Path = ScoresOpt,
    data: Path | None = DataOpt,
    params: Path | None = ParamsOpt,
    profile: str | None = ProfileOpt,
):
    """Import the footage of every marked, not yet exported alert (`ipad data import`'s path); then
    version it (`ipad ingest` / `dvc add`) and retrain."""
    from .alerts.feedback import export_marks

    p, settings, root = _setup(params, profile, data)
    from .params_schema import settings_of

    st = settings_of(p)
    clip_len = st.clip.length  # as `ipad data import`: a recording needs one clip
    from .jobs.data import prepared_cycle_frames

    # the devices' cycle lengths where the period stage found them (a device not prepared: context_frames alone)
    cycles = {d: c for d in st.pipeline.devices if (c := prepared_cycle_frames(p, d)) is not None}
    res = export_marks(scores, root, settings, st.data.jpeg_quality, clip_len, clip_len, cycles)
    con = console()
    if res.report is not None:
        print_import(res.report, root)
    for e in res.exported:
        con.print(f"{e['alert']} ({e['verdict']}) -> {e['as']}", soft_wrap=True)
    for f in res.failed:
        con.print(f"not exported {f['alert']}: {f['reason']}", soft_wrap=True)
    if not res.exported and not res.failed:
        con.print("nothing to export: every marked alert is exported already (ipad alerts list)")
    if res.exported:
        con.print(f"next: version the data (ipad ingest, or dvc add {root}) and retrain the devices")
    if res.failed:
        raise typer.Exit(code=1)
