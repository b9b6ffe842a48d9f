"""The CLI's old spellings, kept for one release as hidden aliases (issue 28, names): ``ipad model``
is ``ipad method``, ``ipad models`` is ``ipad registry``, ``ipad finetune`` is ``ipad adapt`` and
``ipad model finetune`` is ``ipad method adapt``. An alias is the new command registered again under
its old name (hidden, with one of these classes): it runs (or shows the help of) exactly that command,
after a one-line note on stderr. Typer only: ``ipad --help`` stays fast."""

from __future__ import annotations

import typer
from typer.core import TyperCommand, TyperGroup

RENAMED = {"model": "method", "models": "registry", "finetune": "adapt"}  # old word -> new word
_NOTED = "ipad.renamed_noted"  # in the click context's meta (shared by a command and its group)


def note_renamed(ctx: typer.Context, args: list[str], group: bool) -> None:
    """Print once per invocation: the old spelling typed and the new one (the group's next word
    included, so ``ipad model finetune`` gives one line naming ``ipad method adapt``)."""
    if ctx.meta.get(_NOTED):
        return
    ctx.meta[_NOTED] = True
    old = ctx.command_path.split()
    if group and args and args[0] in RENAMED:
        old.append(args[0])
    new = old[:1] + [RENAMED.get(w, w) for w in old[1:]]
    typer.echo(
        f"note: `{' '.join(old)}` is renamed `{' '.join(new)}` (issue 28); the old spelling goes in the next release",
        err=True,
    )


class RenamedGroup(TyperGroup):
    """A command group registered again under its old name (``app.add_typer(..., hidden=True, cls=...)``)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        note_renamed(ctx, args, group=True)  # before parsing: also for --help and for no arguments (the help)
        return super().parse_args(ctx, args)


class RenamedCommand(TyperCommand):
    """A command registered again under its old name (``app.command(old, hidden=True, cls=...)(f)``)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        note_renamed(ctx, args, group=False)
        return super().parse_args(ctx, args)
