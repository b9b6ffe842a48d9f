"""The typed settings of params.yaml, one file per section: each file holds the section's pydantic
model *and* its defaults (the value used when params.yaml leaves a key out). Pydantic only: nothing
here imports torch, numpy or another part of the library, so the whole tree is checked on every
command.

=====================  =================================================================
section                file
=====================  =================================================================
data, validation       settings/data.py, settings/validation.py
clip                   settings/clip.py
pipeline               settings/pipeline.py (also ``method_files``: the registered methods)
optical_flow, period   settings/optical_flow.py, settings/period.py
model                  settings/model.py (the Video Swin encoder/decoder)
train, adapt           settings/train.py, settings/adapt.py
evaluate, alert        settings/evaluate.py, settings/alert.py
score                  settings/score.py (with ``score.evidence``: what an alert carries)
storage                settings/storage.py (the environment's overrides: storage/s3_settings.py)
synth                  settings/synth.py
pseudo_anomalies       settings/pseudo_anomalies.py (also ``methods.<name>.pseudo_anomalies``)
serve                  settings/serve.py (also a serve config file's ``serve:``)
feedback               settings/feedback.py
methods.<name>         each method's ``Settings`` in methods/<name>.py (checked when it is built)
=====================  =================================================================

``params_schema.Params`` assembles them into the root; ``config.load_params`` returns params.yaml
with the profile applied and every key the schema knows filled with its default, and
``config.load_settings`` the same as the typed root.
"""
