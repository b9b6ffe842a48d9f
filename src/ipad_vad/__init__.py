"""ipad-vad: industrial process video anomaly detection (IPAD-VAD and friends).

The library knows nothing of Prefect or DVC: `tasks/` and `flows/` wrap it, `dvc.yaml` calls the
`ipad` CLI (``ipad_vad.cli``). Imports here stay light so that ``ipad --help`` is instant.
"""

__version__ = "0.1.0"
