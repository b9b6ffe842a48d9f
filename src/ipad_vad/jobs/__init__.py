"""The pipeline's jobs as library functions over the project's file layout (paths from params):
pretrain a method, adapt it to a device, evaluate a scene, calibrate a device's alerts, report,
promote. Orchestration (Prefect tasks and flows, DVC stages) wraps these; nothing here knows about
either. Settings are typed (``jobs/settings.py``); which data a job reads is an explicit argument
(``jobs/data.py``: the prepared cache or the frame folders)."""
