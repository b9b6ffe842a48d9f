"""What DVC tracks is what ran: the active profile resolved into one file that every stage's
``params:`` names.

DVC compares a stage's params with ``dvc.lock`` key by key in a file, but it cannot merge the
``profiles:`` overlays of params.yaml. So the first stage of dvc.yaml (``params``: ``ipad params
resolve``) writes ``params.resolved.yaml``: params.yaml with its own ``profile:`` merged in, the tree
every ``ipad`` command reads. Every other stage lists its keys from that file, so a change inside
the active profile reruns exactly the stages that read the changed value; ``dvc repro`` reads the
file after the ``params`` stage has rewritten it.

What could still make ``dvc.lock`` lie is refused with a one-line error:

* inside ``dvc repro`` (DVC sets ``DVC_STAGE`` for each stage command) a profile other than
  params.yaml's own ``profile:`` (``IPAD_PROFILE`` or ``--profile``): DVC would record the file's;
* a stage that reads a tree other than params.resolved.yaml's (``dvc repro --single-item`` after an
  edit of params.yaml, or a hand-edited resolved file);
* and, when the file is written, a profile that changes a key dvc.yaml's templating reads
  (``${pipeline.devices}`` ...): DVC takes those from params.yaml's base values.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

RESOLVED_NAME = "params.resolved.yaml"
DVC_STAGE_ENV = "DVC_STAGE"  # set by DVC (>= 3.49) for every stage command it runs
PROFILE_ENV = "IPAD_PROFILE"
HEADER = (
    "# Written by `ipad params resolve` (the `params` stage of dvc.yaml) from {source}, profile {profile!r}:\n"
    "# the settings every stage reads, which dvc.yaml's stages list as params. Edit {source}, not this file.\n"
)
_TEMPLATE = re.compile(r"\$\{\s*([^}\s]+)\s*\}")

_writing = False  # set while the tree to write (or to compare with the file) is loaded: no check then


def resolved_path(params_path: str | Path) -> Path:
    """params.yaml -> params.resolved.yaml beside it."""
    params_path = Path(params_path)
    return params_path.with_name(params_path.name.rsplit(".", 1)[0] + ".resolved.yaml")


def inside_dvc_stage() -> str | None:
    """The DVC stage this process runs in (``dvc repro``), or None."""
    return os.environ.get(DVC_STAGE_ENV) or None


def check_inside_dvc(path: Path, active: str | None, own: str | None) -> None:
    """Called by ``config.load_params`` for every params file loaded (`active`: the profile asked for,
    `own`: the file's ``profile:``): inside a DVC stage, refuse a profile other than the file's own
    and a tree other than params.resolved.yaml's (see the module)."""
    stage = inside_dvc_stage()
    if not stage or _writing:
        return
    if active != own:
        how = f"{PROFILE_ENV}={active}" if os.environ.get(PROFILE_ENV) == active else f"--profile {active}"
        raise ConfigError(
            f"{path}: {how} inside dvc repro (stage {stage}): dvc.lock records the file's own profile "
            f"{own!r}; set `profile: {active}` in {path.name} instead"
        )
    resolved = resolved_path(path)
    if not resolved.is_file():
        raise ConfigError(
            f"{resolved}: missing inside dvc repro (stage {stage}); the `params` stage writes it "
            f"(`dvc repro` runs it first)"
        )
    from .config import load_params

    with _resolving():
        tree = load_params(path, own)  # whatever load_params returns is what the file must hold
    if _read(resolved) != plain(tree):
        raise ConfigError(
            f"{resolved}: not {path.name} resolved (stage {stage}); after editing {path.name} run "
            f"`dvc repro` (its `params` stage resolves the file first), not a single stage"
        )


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e


def template_keys(dvc_yaml: str | Path) -> list[str]:
    """The params keys dvc.yaml's templating reads (``${pipeline.devices}``; not ``${item...}``, not
    what its comments say)."""
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(k)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            keys.update(m.group(1) for m in _TEMPLATE.finditer(node))

    tree = _read(Path(dvc_yaml))
    walk(tree)
    from .method_index import STAGE_ITEMS, STAGE_ITEMS_KEYS

    if STAGE_ITEMS in (tree or {}).get("vars", []):  # the per-method stages run over items written from these
        keys.update(STAGE_ITEMS_KEYS)
    return sorted(k for k in keys if k.split(".")[0] not in ("item", "method_stages"))


def _lookup(tree: dict, key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_template_keys(path: Path, tree: dict, dvc_yaml: Path) -> None:
    """DVC fills dvc.yaml's ``${...}`` (stage lists, output folders) from params.yaml's base values:
    a profile that changes one would run stages over other scenes or folders than DVC records."""
    base = _read(path)
    for key in template_keys(dvc_yaml):
        if _lookup(base, key) != _lookup(tree, key):
            raise ConfigError(
                f"{path}: profile {tree.get('profile')!r} sets {key}, which {dvc_yaml.name} reads from "
                f"the base values (DVC cannot see profiles there); put it in the base sections "
                f"(scripts/smoke_params.py writes such a file)"
            )


@contextlib.contextmanager
def _resolving() -> Iterator[None]:
    global _writing
    _writing = True
    try:
        yield
    finally:
        _writing = False


def resolve(path: str | Path) -> dict[str, Any]:
    """params.yaml resolved with its own ``profile:`` (never ``IPAD_PROFILE``: DVC could not see it)."""
    from .config import load_params

    path = Path(path)
    raw = _read(path) if path.is_file() else None
    own = raw.get("profile") if isinstance(raw, dict) else None
    env = os.environ.get(PROFILE_ENV)
    if env and env != own:
        raise ConfigError(
            f"{path}: {PROFILE_ENV}={env} is not what `ipad params resolve` records (DVC tracks "
            f"the file's own profile {own!r}); set `profile: {env}` in {path.name} instead"
        )
    with _resolving():
        return load_params(path)  # the checks of every load (a missing file, bad values) included


def write_resolved(path: str | Path, dvc_yaml: str | Path | None = None) -> tuple[Path, str | None]:
    """Write params.resolved.yaml beside `path` (atomically); returns its path and the profile."""
    from .io_utils import atomic_path

    path = Path(path)
    tree = resolve(path)
    dvc_yaml = Path(dvc_yaml) if dvc_yaml else path.with_name("dvc.yaml")
    if dvc_yaml.is_file():
        check_template_keys(path, tree, dvc_yaml)
        from .method_index import STAGE_ITEMS, check_stage_items

        if STAGE_ITEMS in (_read(dvc_yaml) or {}).get("vars", []):  # the per-method stages' items
            check_stage_items(path)
    out = resolved_path(path)
    text = HEADER.format(source=path.name, profile=tree.get("profile")) + dump(tree)
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    return out, tree.get("profile")


def plain(node: Any) -> Any:
    """The tree as YAML gives it back (tuples of typed defaults as lists)."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [plain(v) for v in node]
    return node


def dump(tree: dict[str, Any]) -> str:
    """The tree as YAML in the file's order (what `ipad params show` prints)."""
    return yaml.safe_dump(plain(tree), sort_keys=False, default_flow_style=None, width=120)
