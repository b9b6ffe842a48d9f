"""Write a params.yaml whose *base* values are a profile's (DVC reads only the base values: stage
lists such as pipeline.scenes come from there), and beside a dvc.yaml its stage_items.yaml (the
per-method stages over the profile's methods and devices). Used by the end-to-end tests:

    python scripts/smoke_params.py smoke OUT/params.yaml
"""

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from ipad_vad.config import deep_merge  # noqa: E402

profile, out = sys.argv[1], Path(sys.argv[2])
raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
profiles = raw.pop("profiles")
resolved = deep_merge(raw, profiles[profile])
resolved["profile"] = profile
resolved["profiles"] = profiles
out.write_text(yaml.safe_dump(resolved, sort_keys=False))
if (out.parent / "dvc.yaml").is_file():  # a DVC project: its per-method stages over these methods and devices
    from ipad_vad.method_index import write_stage_items  # noqa: E402

    write_stage_items(out)
