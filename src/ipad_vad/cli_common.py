"""What every command module of `ipad` shares: the --params/--profile options, a command's params, the
console and the import report. The library's commands (``cli.py``, ``alerts_cli.py``) and the
orchestration layer's (``flows/cli.py``) import these public names from here, so that no module
reaches into another's private helpers and ``alerts_cli`` does not import the ``cli`` that registers
it (issue 28). Imports stay light (rich and the settings load inside the functions): `ipad --help`
answers at once.
"""

from __future__ import annotations

from pathlib import Path

import typer

DEFAULT_PARAMS = Path("params.yaml")
ParamsOpt = typer.Option(
    None, "--params", help="params file (default: ./params.yaml if there is one, else built-in defaults)"
)
ProfileOpt = typer.Option(None, "--profile", help="profile overlay (smoke|demo|paper); default: params.yaml `profile`")


def command_params(params: Path | None, profile: str | None) -> dict:
    """The params of a command: a file named by --params must exist (issue 16: a missing file was
    silently replaced by the built-in defaults); without --params, ./params.yaml if there is one, else
    the schema's defaults (every key, as `load_params` gives them: readers have no defaults of their own)."""
    from .config import load_params

    if params is None and not DEFAULT_PARAMS.is_file():
        from .params_schema import with_defaults

        return with_defaults({})
    return load_params(DEFAULT_PARAMS if params is None else params, profile)


def console():
    """The CLI's console. Text is printed literally: no rich markup (a path like
    ``cam [2]/[v2] broken.mp4`` or a detail ``[n_frames=812, n_labels=790]`` would lose its
    brackets) and no highlighting; colour comes only from ``style=`` (issue 16)."""
    from rich.console import Console

    return Console(stderr=False, markup=False, highlight=False)


def styled(text: str, style: str):
    from rich.text import Text

    return Text(text, style=style)


def print_import(report, out: Path) -> None:
    """The report of an import (`ipad data import`, `ipad alerts export`): counts, then one plain line per
    completed, relabelled, quarantined or ignored file."""
    con = console()
    con.print(
        f"imported {len(report.imported)}, relabelled {len(report.relabelled)}, unchanged {len(report.unchanged)}, "
        f"quarantined {len(report.quarantined)}, ignored {len(report.ignored)}  -> {out}"
    )
    # plain lines, not a table: paths stay whole (copyable) however narrow the terminal
    for r in report.reconciled:
        con.print(f"completed an interrupted import: {r} written again", soft_wrap=True)
    for r in report.relabelled:
        con.print(f"relabelled {r['as']} from {r['labels']}", soft_wrap=True)
    for q in report.quarantined:
        con.print(styled("quarantined", "red"), f"{q['path']}: {q['reason']}", soft_wrap=True)
    for q in report.ignored:
        con.print(f"ignored {q['path']}: {q['reason']}", soft_wrap=True)
    con.print(f"report: {report.path or 'not written (the disk is full)'}")
