"""Drop dvc.lock's entries for stages dvc.yaml no longer defines (a renamed or merged stage).

DVC rewrites dvc.lock stage by stage and never removes an entry whose stage is gone
(treeverse/dvc#5293), so after renames the file describes stages that no longer exist, and every
stage of every `dvc repro` re-parses and re-writes the dead entries (on 2026-12-02 63 of 127
entries, 97 of 269 KB: about 0.4 s a stage). `make demo` runs this before `dvc repro`;
tests/test_params_dvc.py checks that the committed dvc.lock holds only live stages.

    python scripts/prune_dvc_lock.py [--check]     # --check: exit 1 listing the stale entries
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dvc.repo import Repo
from dvc.utils.serialize import dumps_yaml, load_yaml, parse_yaml_for_update


def stale_entries(root: str | Path = ".") -> list[str]:
    root = Path(root)
    lock = root / "dvc.lock"
    if not lock.is_file():
        return []
    with Repo(str(root)) as repo:
        top = (root / "dvc.yaml").resolve()
        live = {stage.name for stage in repo.index.stages if Path(stage.path).resolve() == top and stage.name}
    return [name for name in (load_yaml(lock).get("stages") or {}) if name not in live]


def prune(root: str | Path = ".") -> list[str]:
    """Remove the stale entries from dvc.lock (DVC's own YAML round trip, written atomically: a
    temporary file renamed over it); returns their names."""
    stale = stale_entries(root)
    if stale:
        lock = Path(root) / "dvc.lock"
        doc = parse_yaml_for_update(lock.read_text(), str(lock))
        for name in stale:
            del doc["stages"][name]
        tmp = lock.with_name(f".{lock.name}.tmp")
        tmp.write_text(dumps_yaml(doc))
        os.replace(tmp, lock)
    return stale


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_entries()
        if stale:
            print(f"dvc.lock: {len(stale)} entries for stages dvc.yaml does not define: {', '.join(stale)}")
            print("run: python scripts/prune_dvc_lock.py")
            return 1
        return 0
    stale = prune()
    if stale:
        print(f"dvc.lock: removed {len(stale)} entries of stages dvc.yaml no longer defines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
