"""One word per concept on the command line (issue 28, names): `ipad method` (detection methods),
`ipad registry` (MLflow registered models), `ipad adapt` / `ipad method adapt` (the per-device step).
The old spellings (`ipad model`, `ipad models`, `ipad finetune`, `ipad model finetune`) stay for one
release as hidden aliases: the same command, its same help and result, after a one-line note."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

ROOT = Path(__file__).resolve().parents[1]

OLD_TO_NEW = [
    ("model", "method"),
    ("model list", "method list"),
    ("model train", "method train"),
    ("model finetune", "method adapt"),
    ("model evaluate", "method evaluate"),
    ("method finetune", "method adapt"),
    ("models", "registry"),
    ("models list", "registry list"),
    ("finetune", "adapt"),
]


def _ipad(args: list[str], **kw):
    return CliRunner().invoke(app, args, prog_name="ipad", **kw)


def _words(text: str) -> str:
    return " ".join(text.split())  # the help's box padding depends on the command path's length


def test_the_top_level_help_shows_the_new_names_only():
    out = _ipad(["--help"]).stdout
    commands = {line.strip("│ ").split(" ")[0] for line in out.splitlines() if line.startswith("│ ")}
    assert {"method", "registry", "adapt"} <= commands
    assert not {"model", "models", "finetune"} & commands


@pytest.mark.parametrize("old,new", OLD_TO_NEW)
def test_an_old_spelling_shows_the_new_commands_help_after_a_one_line_note(old, new):
    was, now = _ipad([*old.split(), "--help"]), _ipad([*new.split(), "--help"])
    assert was.exit_code == now.exit_code == 0
    assert _words(was.stdout).replace(f"ipad {old} ", f"ipad {new} ") == _words(now.stdout)
    k = max(i for i, w in enumerate(old.split()) if w in ("model", "models", "finetune")) + 1  # up to the last old word
    said, meant = " ".join(old.split()[:k]), " ".join(new.split()[:k])
    assert (
        was.stderr
        == f"note: `ipad {said}` is renamed `ipad {meant}` (issue 28); the old spelling goes in the next release\n"
    )
    assert now.stderr == ""


def test_an_old_group_without_arguments_shows_the_new_groups_help():
    was, now = _ipad(["models"]), _ipad(["registry"])
    assert _words(was.stdout).replace("ipad models ", "ipad registry ") == _words(now.stdout)
    assert "`ipad registry`" in was.stderr


def test_an_old_spelling_gives_the_same_result(tmp_path, monkeypatch):
    opts = ["--params", str(ROOT / "params.yaml"), "--profile", "smoke"]
    was, now = _ipad(["model", "list", *opts]), _ipad(["method", "list", *opts])
    assert was.exit_code == now.exit_code == 0 and "knn" in now.stdout
    assert was.stdout == now.stdout and "`ipad method`" in was.stderr
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    was, now = _ipad(["models", "list", *opts]), _ipad(["registry", "list", *opts])
    assert was.exit_code == now.exit_code == 0 and "sqlite:" in now.stdout
    assert was.stdout == now.stdout and "`ipad registry`" in was.stderr
